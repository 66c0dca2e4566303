//! The follow-up policy: given what SES says and what time it is, what to do next.
//! Time is always an argument, so the backoff and the deadline are testable.

use chrono::{DateTime, TimeDelta, Utc};

use super::identity::DkimStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpPolicy {
    pub first_check_delay: TimeDelta,
    /// How long after onboarding started SES may take (it documents up to 72 hours).
    pub verification_window: TimeDelta,
    /// How many times a failed verification is restarted before giving up.
    pub max_restarts: u32,
}

impl Default for FollowUpPolicy {
    fn default() -> Self {
        Self {
            first_check_delay: TimeDelta::minutes(5),
            verification_window: TimeDelta::hours(72),
            max_restarts: 3,
        }
    }
}

/// The wait after check number `attempt` before the next one: quick at first,
/// when most domains verify, then every six hours.
pub fn backoff_after(attempt: u32) -> TimeDelta {
    match attempt {
        0 | 1 => TimeDelta::minutes(15),
        2 => TimeDelta::minutes(30),
        3 => TimeDelta::hours(1),
        4 => TimeDelta::hours(2),
        5 => TimeDelta::hours(4),
        _ => TimeDelta::hours(6),
    }
}

/// What a look of a chain decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The chain ends here, with this outcome.
    Done(Conclusion),
    /// SES is still looking: make sure the records are right and look again then.
    KeepWaiting { next_check_at: DateTime<Utc> },
    /// SES stopped looking: ask again (maybe for new tokens) and look again then.
    Restart { next_check_at: DateTime<Utc> },
}

/// How a chain ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conclusion {
    Verified,
    /// The window closed first.
    TimedOut,
    /// Restarted as often as allowed.
    GiveUp {
        reason: String,
    },
}

impl FollowUpPolicy {
    pub fn deadline(&self, onboarding_started_at: DateTime<Utc>) -> DateTime<Utc> {
        onboarding_started_at + self.verification_window
    }

    /// When to look next after check `attempt`, or `None` once the window has closed.
    /// The last check lands on the deadline itself, so no time is left unobserved.
    pub fn next_check_at(
        &self,
        onboarding_started_at: DateTime<Utc>,
        attempt: u32,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let deadline = self.deadline(onboarding_started_at);
        (now < deadline).then(|| (now + backoff_after(attempt)).min(deadline))
    }

    pub fn judge(
        &self,
        status: DkimStatus,
        onboarding_started_at: DateTime<Utc>,
        attempt: u32,
        restarts: u32,
        now: DateTime<Utc>,
    ) -> Verdict {
        if status == DkimStatus::Success {
            return Verdict::Done(Conclusion::Verified);
        }
        let Some(next_check_at) = self.next_check_at(onboarding_started_at, attempt, now) else {
            return Verdict::Done(Conclusion::TimedOut);
        };
        match status {
            DkimStatus::Success => Verdict::Done(Conclusion::Verified),
            DkimStatus::Pending => Verdict::KeepWaiting { next_check_at },
            _ if restarts < self.max_restarts => Verdict::Restart { next_check_at },
            other => Verdict::Done(Conclusion::GiveUp {
                reason: format!(
                    "SES reports DKIM status {} after {restarts} restart(s) of verification",
                    other.as_str()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    const START: &str = "2026-11-27T00:00:00Z";

    #[test]
    fn backoff_grows_then_levels_off() {
        let delays: Vec<i64> = (1..=8).map(|a| backoff_after(a).num_minutes()).collect();
        assert_eq!(delays, [15, 30, 60, 120, 240, 360, 360, 360]);
    }

    #[test]
    fn success_wins_even_after_the_deadline() {
        let p = FollowUpPolicy::default();
        let late = t("2026-12-01T00:00:00Z");
        assert_eq!(
            p.judge(DkimStatus::Success, t(START), 30, 0, late),
            Verdict::Done(Conclusion::Verified)
        );
    }

    #[test]
    fn pending_waits_with_backoff_capped_at_the_deadline() {
        let p = FollowUpPolicy::default();
        let now = t("2026-11-27T00:05:00Z");
        assert_eq!(
            p.judge(DkimStatus::Pending, t(START), 1, 0, now),
            Verdict::KeepWaiting {
                next_check_at: t("2026-11-27T00:20:00Z")
            }
        );
        let near_end = t("2026-11-29T22:00:00Z");
        assert_eq!(
            p.judge(DkimStatus::Pending, t(START), 20, 0, near_end),
            Verdict::KeepWaiting {
                next_check_at: t("2026-11-30T00:00:00Z")
            }
        );
        assert_eq!(
            p.judge(
                DkimStatus::Pending,
                t(START),
                21,
                0,
                t("2026-11-30T00:00:00Z")
            ),
            Verdict::Done(Conclusion::TimedOut)
        );
    }

    #[test]
    fn failures_restart_a_bounded_number_of_times() {
        let p = FollowUpPolicy {
            max_restarts: 2,
            ..Default::default()
        };
        let now = t("2026-11-27T01:00:00Z");
        for status in [
            DkimStatus::Failed,
            DkimStatus::TemporaryFailure,
            DkimStatus::NotStarted,
            DkimStatus::IdentityMissing,
        ] {
            assert!(
                matches!(
                    p.judge(status, t(START), 3, 1, now),
                    Verdict::Restart { .. }
                ),
                "{status:?}"
            );
            let Verdict::Done(Conclusion::GiveUp { reason }) = p.judge(status, t(START), 3, 2, now)
            else {
                panic!("{status:?} should give up after 2 restarts")
            };
            assert!(
                reason.contains(status.as_str()) && reason.contains("2 restart"),
                "{reason}"
            );
        }
    }

    #[test]
    fn the_chain_of_checks_ends_within_the_window() {
        let p = FollowUpPolicy::default();
        let start = t(START);
        let mut now = start + p.first_check_delay;
        let mut attempt = 1;
        while let Some(next) = p.next_check_at(start, attempt, now) {
            assert!(next > now && next <= p.deadline(start));
            now = next;
            attempt += 1;
        }
        assert_eq!(now, p.deadline(start));
        assert!(attempt < 25, "about 20 checks in 72 hours, got {attempt}");
    }
}
