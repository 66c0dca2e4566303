//! Easy DKIM key length: what the operator asked for (`DKIM_KEY_LENGTH`), and whether
//! an identity's next key must be moved to it now.
//!
//! SES sets the length of the identity's *next* key (`NextSigningKeyLength`, changed
//! with `PutEmailIdentityDkimSigningAttributes`); the current key keeps its length
//! until SES next generates one. SES refuses a second change within a day, so the
//! function remembers its own change in a tag on the identity, which `GetEmailIdentity`
//! returns with the lengths, and never asks twice within `CHANGE_INTERVAL`.
//! Sources: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_PutEmailIdentityDkimSigningAttributes.html
//! and https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_DkimSigningAttributes.html
//! ("This can be changed at most once per day").

use chrono::{DateTime, TimeDelta, Utc};

use super::identity::{KeyLength, Signing};

/// SES allows one change of an identity's next key length a day.
pub const CHANGE_INTERVAL: TimeDelta = TimeDelta::hours(24);

/// The identity tag that says when this function last changed the key length (RFC 3339).
pub const CHANGED_AT_TAG: &str = "dkim-autopilot:key-length-changed-at";

/// `DKIM_KEY_LENGTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLengthPolicy {
    /// Leave every identity's key length as it is; never call the API.
    Keep,
    /// Move every verified identity's next key to this length.
    Set(KeyLength),
}

impl KeyLengthPolicy {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "2048" => Ok(Self::Set(KeyLength::Rsa2048)),
            "1024" => Ok(Self::Set(KeyLength::Rsa1024)),
            "keep" => Ok(Self::Keep),
            other => Err(format!("\"{other}\" must be 2048, 1024 or keep")),
        }
    }

    /// Whether the function must read each verified identity's lengths to apply this.
    pub fn acts(&self) -> bool {
        matches!(self, Self::Set(_))
    }
}

/// What to do about one verified identity's key length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDecision {
    /// `keep`, or the next key already has the configured length.
    Leave,
    /// SES reported no next key length (not an Easy DKIM identity, or a Region that
    /// does not report it): nothing is known to change.
    Unknown,
    /// This function changed the length less than a day ago: SES would refuse.
    TooSoon { until: DateTime<Utc> },
    /// Ask SES for a next key of length `to`.
    Change { from: KeyLength, to: KeyLength },
}

/// The decision for an identity SES signs for as `signing` says, at `now`.
pub fn decide(policy: KeyLengthPolicy, signing: &Signing, now: DateTime<Utc>) -> KeyDecision {
    let KeyLengthPolicy::Set(wanted) = policy else {
        return KeyDecision::Leave;
    };
    let Some(next) = signing.next_key_length else {
        return KeyDecision::Unknown;
    };
    if next == wanted {
        return KeyDecision::Leave;
    }
    match signing.key_changed_at {
        Some(at) if now < at + CHANGE_INTERVAL => KeyDecision::TooSoon {
            until: at + CHANGE_INTERVAL,
        },
        _ => KeyDecision::Change {
            from: next,
            to: wanted,
        },
    }
}

/// The tag's value as this function writes it; `None` for any other text (a tag
/// someone edited by hand counts as never written, so it cannot block a change forever).
pub fn parse_changed_at(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The ARN of the SES identity `domain`, in the partition and account of the function
/// whose ARN is `function_arn` (`arn:<partition>:lambda:<region>:<account>:function:…`),
/// in `ses_region` (`None`: the function's own Region). `None` when the function's ARN
/// is not one.
pub fn identity_arn(function_arn: &str, ses_region: Option<&str>, domain: &str) -> Option<String> {
    let parts: Vec<&str> = function_arn.split(':').collect();
    match parts.as_slice() {
        ["arn", partition, "lambda", region, account, "function", ..]
            if !partition.is_empty() && !region.is_empty() && account.len() == 12 =>
        {
            let region = ses_region.unwrap_or(region);
            Some(format!(
                "arn:{partition}:ses:{region}:{account}:identity/{domain}"
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours_ago: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(now - TimeDelta::hours(hours_ago))
    }

    fn signing(next: Option<KeyLength>, changed: Option<DateTime<Utc>>) -> Signing {
        Signing {
            current_key_length: Some(KeyLength::Rsa1024),
            next_key_length: next,
            key_changed_at: changed,
            ..Signing::default()
        }
    }

    #[test]
    fn the_setting_reads_three_words_and_names_the_rule_otherwise() {
        assert_eq!(
            KeyLengthPolicy::parse("2048"),
            Ok(KeyLengthPolicy::Set(KeyLength::Rsa2048))
        );
        assert_eq!(
            KeyLengthPolicy::parse("1024"),
            Ok(KeyLengthPolicy::Set(KeyLength::Rsa1024))
        );
        assert_eq!(KeyLengthPolicy::parse("keep"), Ok(KeyLengthPolicy::Keep));
        let err = KeyLengthPolicy::parse("4096").unwrap_err();
        assert!(err.contains("4096") && err.contains("keep"), "{err}");
        assert!(!KeyLengthPolicy::Keep.acts());
    }

    #[test]
    fn the_next_length_decides_not_the_current_one() {
        let now = Utc::now();
        let policy = KeyLengthPolicy::Set(KeyLength::Rsa2048);
        // Current 1024, next already 2048: SES will use 2048 at its next key.
        let s = signing(Some(KeyLength::Rsa2048), None);
        assert_eq!(decide(policy, &s, now), KeyDecision::Leave);
        let s = signing(Some(KeyLength::Rsa1024), None);
        assert_eq!(
            decide(policy, &s, now),
            KeyDecision::Change {
                from: KeyLength::Rsa1024,
                to: KeyLength::Rsa2048
            }
        );
        assert_eq!(
            decide(policy, &signing(None, None), now),
            KeyDecision::Unknown
        );
    }

    #[test]
    fn keep_never_changes_anything() {
        let now = Utc::now();
        let s = signing(Some(KeyLength::Rsa1024), None);
        assert_eq!(decide(KeyLengthPolicy::Keep, &s, now), KeyDecision::Leave);
    }

    #[test]
    fn a_change_within_the_day_waits_for_the_day_to_pass() {
        let now = Utc::now();
        let policy = KeyLengthPolicy::Set(KeyLength::Rsa2048);
        let s = signing(Some(KeyLength::Rsa1024), at(23, now));
        assert_eq!(
            decide(policy, &s, now),
            KeyDecision::TooSoon {
                until: now + TimeDelta::hours(1)
            }
        );
        let s = signing(Some(KeyLength::Rsa1024), at(24, now));
        assert!(matches!(
            decide(policy, &s, now),
            KeyDecision::Change { .. }
        ));
    }

    #[test]
    fn the_tag_reads_back_what_the_function_writes_and_nothing_else() {
        let now = Utc::now();
        assert_eq!(parse_changed_at(&now.to_rfc3339()), Some(now));
        assert_eq!(parse_changed_at("yesterday"), None);
    }

    #[test]
    fn the_identity_arn_takes_partition_and_account_from_the_function() {
        assert_eq!(
            identity_arn(
                "arn:aws-cn:lambda:cn-north-1:123456789012:function:f",
                Some("cn-northwest-1"),
                "example.com"
            )
            .as_deref(),
            Some("arn:aws-cn:ses:cn-northwest-1:123456789012:identity/example.com")
        );
        assert_eq!(
            identity_arn(
                "arn:aws:lambda:eu-west-1:123456789012:function:f",
                None,
                "a.b"
            )
            .as_deref(),
            Some("arn:aws:ses:eu-west-1:123456789012:identity/a.b")
        );
        assert_eq!(identity_arn("not-an-arn", None, "example.com"), None);
        assert_eq!(
            identity_arn("arn:aws:lambda:us-east-1:1234:function:f", None, "a.b"),
            None
        );
    }
}
