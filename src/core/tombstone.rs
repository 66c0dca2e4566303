//! The offboarding's tombstone: a one-time schedule `dkim-<domain>-offboarded` that
//! says when the domain left, so that work begun before then cannot bring it back.
//!
//! When an onboarding and an offboarding of the same domain race, the one that
//! started later wins:
//! - An offboarding removes only the schedules whose work started before it did, and
//!   its tombstone ends every follow-up chain (and deferred work) started before it
//!   at that chain's next look: the chain removes the records holding exactly its
//!   values and its schedules, and never calls `VerifyDomainDkim` again.
//! - An onboarding that started after the offboarding is untouched by the tombstone.
//!   Should the offboarding still be running and take its records or identity, its
//!   first check restores them (a missing record is repaired, a missing identity
//!   restarts verification).
//!
//! The tombstone outlives every chain it can end, then fires once as a no-op and
//! Scheduler deletes it.

use chrono::{DateTime, TimeDelta, Utc};

use super::deferral::{DeferralPolicy, MAX_DELAY};
use super::ids::DomainName;
use super::policy::FollowUpPolicy;

/// Scheduler keeps retrying an invocation it could not deliver for up to a day
/// (the retry policy every schedule of this function gets).
pub const SCHEDULER_MAX_EVENT_AGE: TimeDelta = TimeDelta::hours(24);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub domain: DomainName,
    /// When the offboarding was first asked for.
    pub offboarded_at: DateTime<Utc>,
}

impl Tombstone {
    /// Whether work that started at `started_at` ended with this offboarding.
    pub fn ends(&self, started_at: DateTime<Utc>) -> bool {
        started_at < self.offboarded_at
    }

    /// When the tombstone may go: after the last look any chain started before the
    /// offboarding can take (its window, every deferral of that look, and a day of
    /// Scheduler retries), plus an hour. With the defaults: 72 + 6 + 24 + 1 hours.
    pub fn expires_at(&self, policy: &FollowUpPolicy, deferral: &DeferralPolicy) -> DateTime<Utc> {
        let deferrals = MAX_DELAY * i32::try_from(deferral.max_deferrals).unwrap_or(i32::MAX);
        self.offboarded_at
            + policy.verification_window
            + deferrals
            + SCHEDULER_MAX_EVENT_AGE
            + TimeDelta::hours(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn d(name: &str) -> DomainName {
        DomainName::parse(name).unwrap()
    }

    #[test]
    fn the_later_started_wins() {
        let tombstone = Tombstone {
            domain: d("example.com"),
            offboarded_at: t("2026-11-28T10:00:00Z"),
        };
        assert!(tombstone.ends(t("2026-11-28T09:59:59Z")));
        assert!(
            !tombstone.ends(t("2026-11-28T10:00:00Z")),
            "a tie keeps the chain"
        );
        assert!(!tombstone.ends(t("2026-11-28T10:00:01Z")));
    }

    #[test]
    fn it_outlives_every_chain_it_can_end() {
        let tombstone = Tombstone {
            domain: d("example.com"),
            offboarded_at: t("2026-11-28T10:00:00Z"),
        };
        let policy = FollowUpPolicy::default();
        let deferral = DeferralPolicy::default();
        let expires = tombstone.expires_at(&policy, &deferral);
        assert_eq!(expires, t("2026-12-02T17:00:00Z"), "72 + 6 + 24 + 1 hours");
        // The latest look a chain started just before the offboarding can take.
        let started = tombstone.offboarded_at - TimeDelta::seconds(1);
        let last_look = policy.deadline(started)
            + MAX_DELAY * deferral.max_deferrals as i32
            + SCHEDULER_MAX_EVENT_AGE;
        assert!(last_look < expires);
    }
}
