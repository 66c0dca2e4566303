//! When a domain is ready to send: every configured part holds. DKIM is always a
//! part; MAIL FROM and DMARC only when their settings turn them on. A chain
//! publishes `Domain Ready to Send` once, the first time this holds.
//!
//! MAIL FROM has a life of its own after DKIM is verified (SES documents the API
//! "for a verified identity"): `Pending` and `TemporaryFailure` mean SES is still
//! looking, so the records are healed and the chain looks again; `Failed` means SES
//! stopped looking, so MAIL FROM is set again, as often as DKIM may be restarted;
//! `Success` is done, though `Failed` can follow it when the MX goes away.

use chrono::{DateTime, Utc};

use super::dmarc::DmarcState;
use crate::core::identity::MailFromStatus;
use crate::core::policy::FollowUpPolicy;

/// Where each part of a domain stands; `None`: the part is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub dkim_verified: bool,
    pub mail_from: Option<MailFromStatus>,
    pub dmarc: Option<DmarcState>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.dkim_verified
            && self
                .mail_from
                .is_none_or(|status| status == MailFromStatus::Success)
            && self.dmarc.as_ref().is_none_or(DmarcState::holds)
    }
}

/// What a look decides for MAIL FROM, once DKIM is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailFromVerdict {
    /// `Success`: this part is done.
    Done,
    /// SES is still looking: heal the records, look again then.
    KeepWaiting { next_check_at: DateTime<Utc> },
    /// SES stopped looking: set MAIL FROM again, look again then.
    SetAgain { next_check_at: DateTime<Utc> },
    /// Set again as often as allowed, or its window closed: report, stop.
    GiveUp { reason: String },
}

/// Judge MAIL FROM: its own window counts from when it was first set
/// (`set_at`), with the same backoff and restart bound as DKIM's.
pub fn judge_mail_from(
    policy: &FollowUpPolicy,
    status: MailFromStatus,
    set_at: DateTime<Utc>,
    attempt: u32,
    restarts: u32,
    now: DateTime<Utc>,
) -> MailFromVerdict {
    if status == MailFromStatus::Success {
        return MailFromVerdict::Done;
    }
    let Some(next_check_at) = policy.next_check_at(set_at, attempt, now) else {
        return MailFromVerdict::GiveUp {
            reason: format!(
                "SES reports MAIL FROM {} {} hours after it was set",
                status.as_str(),
                policy.verification_window.num_hours()
            ),
        };
    };
    match status {
        MailFromStatus::Failed if restarts >= policy.max_restarts => MailFromVerdict::GiveUp {
            reason: format!("SES reports MAIL FROM Failed after {restarts} time(s) set again"),
        },
        MailFromStatus::Failed => MailFromVerdict::SetAgain { next_check_at },
        _ => MailFromVerdict::KeepWaiting { next_check_at },
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::core::sending::Conflict;
    use crate::core::sending::RecordType;

    fn now() -> DateTime<Utc> {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn ready_only_when_every_configured_part_holds() {
        let dkim_only = Readiness {
            dkim_verified: true,
            mail_from: None,
            dmarc: None,
        };
        assert!(dkim_only.is_ready());
        assert!(!Readiness {
            dkim_verified: false,
            ..dkim_only.clone()
        }
        .is_ready());
        let all = Readiness {
            dkim_verified: true,
            mail_from: Some(MailFromStatus::Success),
            dmarc: Some(DmarcState::Written),
        };
        assert!(all.is_ready());
        assert!(!Readiness {
            mail_from: Some(MailFromStatus::Pending),
            ..all.clone()
        }
        .is_ready());
        let conflict = DmarcState::Conflict(Conflict {
            name: "_dmarc.example.com".into(),
            record_type: RecordType::Cname,
            found: vec!["x.example.net".into()],
            wanted: "TXT \"v=DMARC1; p=none\"".into(),
        });
        assert!(!Readiness {
            dmarc: Some(conflict),
            ..all
        }
        .is_ready());
    }

    #[test]
    fn mail_from_waits_heals_sets_again_and_gives_up_in_its_own_window() {
        let policy = FollowUpPolicy::default();
        let set_at = now() - TimeDelta::hours(1);
        let judge =
            |status, restarts, at| judge_mail_from(&policy, status, set_at, 3, restarts, at);
        assert_eq!(
            judge(MailFromStatus::Success, 0, now()),
            MailFromVerdict::Done
        );
        let next = now() + TimeDelta::hours(1);
        for waiting in [MailFromStatus::Pending, MailFromStatus::TemporaryFailure] {
            assert_eq!(
                judge(waiting, 0, now()),
                MailFromVerdict::KeepWaiting {
                    next_check_at: next
                }
            );
        }
        assert_eq!(
            judge(MailFromStatus::Failed, 2, now()),
            MailFromVerdict::SetAgain {
                next_check_at: next
            }
        );
        assert!(matches!(
            judge(MailFromStatus::Failed, 3, now()),
            MailFromVerdict::GiveUp { reason } if reason.contains("3 time(s)")
        ));
        let late = set_at + TimeDelta::hours(72);
        assert!(matches!(
            judge(MailFromStatus::Pending, 0, late),
            MailFromVerdict::GiveUp { reason } if reason.contains("72 hours")
        ));
    }
}
