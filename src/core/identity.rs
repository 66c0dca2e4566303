//! What SES holds for a domain identity: its Easy DKIM status and tokens, in the
//! core's words (the `aws::ses` adapter maps SES's answers into these).

use super::records::DkimTokens;

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
