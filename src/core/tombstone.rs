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
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::deferral::{self, read_deferred, DeferralPolicy, Work, MAX_DELAY};
use super::domain::DomainName;
use super::follow_up::{self, expect_version, read_follow_up, ScheduleName};
use super::policy::FollowUpPolicy;
use super::rejection::Rejection;

pub const SCHEMA: &str = "dkim-autopilot/tombstone";
pub const VERSION: u32 = 1;

/// Scheduler keeps retrying an invocation it could not deliver for up to a day
/// (the retry policy every schedule of this function gets).
pub const SCHEDULER_MAX_EVENT_AGE: TimeDelta = TimeDelta::hours(24);

/// The schedule's `Input`, exactly as serialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TombstonePayload {
    pub schema: String,
    pub version: u32,
    pub domain: String,
    pub offboarded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub domain: DomainName,
    /// When the offboarding was first asked for.
    pub offboarded_at: DateTime<Utc>,
}

impl Tombstone {
    pub fn schedule_name(&self) -> ScheduleName {
        ScheduleName::for_tombstone(&self.domain)
    }

    pub fn to_input(&self) -> String {
        serde_json::to_string(&TombstonePayload {
            schema: SCHEMA.to_owned(),
            version: VERSION,
            domain: self.domain.to_string(),
            offboarded_at: self.offboarded_at,
        })
        .expect("a tombstone always serialises")
    }

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

/// Read a tombstone a schedule carries (or carried back when it expired).
pub fn read_tombstone(value: Value) -> Result<Tombstone, Rejection> {
    expect_version(&value, VERSION)?;
    let payload: TombstonePayload = serde_json::from_value(value)
        .map_err(|e| Rejection::invalid_event("(tombstone)", format!("is malformed: {e}")))?;
    let domain = DomainName::parse(&payload.domain)?;
    Ok(Tombstone {
        domain,
        offboarded_at: payload.offboarded_at,
    })
}

/// When the work a schedule carries began: a follow-up chain's onboarding, a deferred
/// onboarding's or offboarding's first attempt. `None` for anything else (a tombstone,
/// a reconcile page, an input this function cannot read).
pub fn work_started_at(input: &str) -> Option<DateTime<Utc>> {
    let value: Value = serde_json::from_str(input).ok()?;
    match value.get("schema")?.as_str()? {
        follow_up::SCHEMA => read_follow_up(value).ok().map(|f| f.onboarding_started_at),
        deferral::SCHEMA => match read_deferred(value).ok()?.work {
            Work::Onboard { started_at, .. } => Some(started_at),
            Work::FollowUp(f) => Some(f.onboarding_started_at),
            Work::Offboard { requested_at, .. } => Some(requested_at),
            Work::Reconcile(_) => None,
        },
        _ => None,
    }
}

/// Whether an offboarding at `offboarded_at` removes the schedule carrying `input`:
/// work that started before it, and whatever this function cannot read (it would
/// only be refused when it fires). A tombstone is never removed this way.
pub fn ended_by(input: &str, offboarded_at: DateTime<Utc>) -> bool {
    let is_tombstone = serde_json::from_str::<Value>(input)
        .ok()
        .is_some_and(|v| v.get("schema").and_then(Value::as_str) == Some(SCHEMA));
    if is_tombstone {
        return false;
    }
    work_started_at(input).is_none_or(|started| started < offboarded_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::deferral::{schedule_name, Deferred};
    use crate::core::follow_up::{owned_schedules, FollowUp, Stage};
    use crate::core::records::DkimTokens;
    use crate::core::request::{OffboardRequest, OffboardTrigger, OnboardRequest, Trigger};
    use crate::core::zone::HostedZoneId;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn d(name: &str) -> DomainName {
        DomainName::parse(name).unwrap()
    }

    fn chain(domain: &str, started: &str) -> FollowUp {
        FollowUp {
            stage: Stage::Verify,
            dns_mode: crate::core::request::DnsMode::Route53,
            domain: d(domain),
            hosted_zone_id: Some(HostedZoneId::parse("Z1").unwrap()),
            tenant_id: None,
            attempt: 3,
            restarts: 0,
            onboarding_started_at: t(started),
            published_tokens: Some(DkimTokens::parse(&["a1", "b2", "c3"]).unwrap()),
        }
    }

    #[test]
    fn a_tombstone_round_trips_and_is_read_strictly() {
        let tombstone = Tombstone {
            domain: d("Example.com"),
            offboarded_at: t("2026-11-28T10:00:00Z"),
        };
        assert_eq!(
            tombstone.schedule_name().as_str(),
            "dkim-example.com-offboarded"
        );
        let value: Value = serde_json::from_str(&tombstone.to_input()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"schema": SCHEMA, "version": 1, "domain": "example.com",
                "offboardedAt": "2026-11-28T10:00:00Z"})
        );
        assert_eq!(read_tombstone(value.clone()).unwrap(), tombstone);
        let mut v2 = value.clone();
        v2["version"] = 2.into();
        assert!(read_tombstone(v2).is_err());
        let mut extra = value.clone();
        extra["domains"] = "x".into();
        assert!(read_tombstone(extra).is_err());
        let mut bad = value;
        bad["domain"] = "co.uk".into();
        assert!(read_tombstone(bad).is_err());
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

    #[test]
    fn schedules_are_ended_by_when_their_work_started() {
        let at = t("2026-11-28T10:00:00Z");
        let old = chain("example.com", "2026-11-28T09:00:00Z");
        let new = chain("example.com", "2026-11-28T11:00:00Z");
        assert!(ended_by(&old.to_input(), at));
        assert!(!ended_by(&new.to_input(), at));
        let deferred = |work| Deferred {
            work,
            deferrals: 1,
            last_error: Some("ses:VerifyDomainDkim Throttling".into()),
        };
        let onboarding = |started: &str| Work::Onboard {
            request: OnboardRequest {
                dns_mode: None,
                domain: d("example.com"),
                hosted_zone_id: None,
                tenant_id: None,
                trigger: Trigger::Custom {
                    source: "my.saas".into(),
                },
            },
            started_at: t(started),
        };
        let old_onboarding = deferred(onboarding("2026-11-28T09:59:00Z")).to_input();
        let new_onboarding = deferred(onboarding("2026-11-28T10:01:00Z")).to_input();
        assert_eq!(
            work_started_at(&old_onboarding),
            Some(t("2026-11-28T09:59:00Z"))
        );
        assert!(ended_by(&old_onboarding, at));
        assert!(!ended_by(&new_onboarding, at));
        assert!(ended_by(
            &deferred(Work::FollowUp(old.clone())).to_input(),
            at
        ));
        let this_offboarding = deferred(Work::Offboard {
            request: OffboardRequest {
                domain: d("example.com"),
                hosted_zone_id: None,
                tenant_id: None,
                trigger: OffboardTrigger::DomainDeleted,
            },
            requested_at: at,
        });
        assert!(
            !ended_by(&this_offboarding.to_input(), at),
            "the offboarding's own deferral"
        );
        let tombstone = Tombstone {
            domain: d("example.com"),
            offboarded_at: t("2026-11-27T00:00:00Z"),
        };
        assert!(!ended_by(&tombstone.to_input(), at));
        assert!(ended_by("{\"schema\":\"something else\"}", at));
        assert!(ended_by("not json", at));
    }

    #[test]
    fn every_schedule_name_this_function_gives_a_domain_is_found_by_its_listing() {
        for domain in [
            "example.com".to_owned(),
            format!("{}.example.com", "a".repeat(60)),
        ] {
            let follow_up = chain(&domain, "2026-11-28T09:00:00Z");
            let names: Vec<String> = [
                ScheduleName::for_follow_up(&follow_up.domain, 12),
                schedule_name(&Work::FollowUp(follow_up.clone()), 6),
                schedule_name(
                    &Work::Onboard {
                        request: OnboardRequest {
                            dns_mode: None,
                            domain: follow_up.domain.clone(),
                            hosted_zone_id: None,
                            tenant_id: None,
                            trigger: Trigger::DomainRegistered,
                        },
                        started_at: follow_up.onboarding_started_at,
                    },
                    20,
                ),
                schedule_name(
                    &Work::Offboard {
                        request: OffboardRequest {
                            domain: follow_up.domain.clone(),
                            hosted_zone_id: None,
                            tenant_id: None,
                            trigger: OffboardTrigger::DomainDeleted,
                        },
                        requested_at: follow_up.onboarding_started_at,
                    },
                    20,
                ),
                ScheduleName::for_tombstone(&follow_up.domain),
            ]
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect();
            let prefix = ScheduleName::prefix_for_domain(&follow_up.domain);
            assert!(names.iter().all(|n| n.starts_with(&prefix)), "{names:?}");
            assert_eq!(
                owned_schedules(&follow_up.domain, &names).len(),
                names.len(),
                "{names:?}"
            );
        }
    }
}
