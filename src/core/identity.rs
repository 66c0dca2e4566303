//! What SES holds for a domain identity: its Easy DKIM status and tokens, in the
//! core's words (the `aws::ses` adapter maps SES's answers into these).

use chrono::{DateTime, Utc};

use super::records::{DkimTokens, SigningZone};

/// SES's DKIM verification status for one identity, plus "the identity is gone".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimStatus {
    Success,
    Pending,
    Failed,
    TemporaryFailure,
    NotStarted,
    IdentityMissing,
}

impl DkimStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Pending => "Pending",
            Self::Failed => "Failed",
            Self::TemporaryFailure => "TemporaryFailure",
            Self::NotStarted => "NotStarted",
            Self::IdentityMissing => "IdentityMissing",
        }
    }
}

/// What SES currently holds for a domain identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimState {
    pub status: DkimStatus,
    pub tokens: Option<DkimTokens>,
}

impl DkimState {
    /// SES does not know the domain.
    pub const MISSING: Self = Self {
        status: DkimStatus::IdentityMissing,
        tokens: None,
    };
}

/// An Easy DKIM key length (SES v2 `DkimSigningKeyLength`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLength {
    Rsa1024,
    Rsa2048,
}

impl KeyLength {
    /// SES's own word for it, as events and logs carry it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Rsa1024 => "RSA_1024_BIT",
            Self::Rsa2048 => "RSA_2048_BIT",
        }
    }
}

/// How SES signs for an identity, as SES v2 `GetEmailIdentity` tells it. Every part is
/// optional: an identity whose DKIM never started, or a Region that does not report a
/// part yet, leaves it out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signing {
    /// The zone the CNAMEs must point into (`SigningHostedZone`).
    pub zone: Option<SigningZone>,
    pub current_key_length: Option<KeyLength>,
    pub next_key_length: Option<KeyLength>,
    /// When this function last changed the next key's length (its tag on the
    /// identity), so that it never asks SES twice within a day.
    pub key_changed_at: Option<DateTime<Utc>>,
    /// The domain's own replica Regions, as its onboarding narrowed them (a tag on
    /// the identity); `None`: every configured Region.
    pub replica_regions: Option<Vec<String>>,
}

/// SES's custom MAIL FROM state for one identity. SES judges it by the MX alone:
/// `Success` once it detects the MX, `Failed` when it cannot find it (72 hours
/// after the setup began) or it no longer exists. Source:
/// https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_MailFromAttributes.html
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailFromState {
    /// No custom MAIL FROM domain is set on the identity.
    NotSet,
    Set {
        domain: String,
        status: MailFromStatus,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailFromStatus {
    Pending,
    Success,
    Failed,
    TemporaryFailure,
}

impl MailFromStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Success => "Success",
            Self::Failed => "Failed",
            Self::TemporaryFailure => "TemporaryFailure",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Pending" => Some(Self::Pending),
            "Success" => Some(Self::Success),
            "Failed" => Some(Self::Failed),
            "TemporaryFailure" => Some(Self::TemporaryFailure),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_from_statuses_read_back_as_ses_names_them() {
        use MailFromStatus::*;
        for status in [Pending, Success, Failed, TemporaryFailure] {
            assert_eq!(MailFromStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(MailFromStatus::parse("success"), None);
    }
}
