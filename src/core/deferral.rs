//! Durable deferral: work that AWS would not let finish now (throttled, or a
//! transient fault past the SDK's retries) comes back later in a one-time schedule
//! that carries exactly that work (`schedule::deferred`). Bounded and jittered.

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::work::Work;

/// The longest a single deferral waits, however many came before it.
pub const MAX_DELAY: TimeDelta = TimeDelta::hours(1);

/// Work plus how often it was deferred already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    pub work: Work,
    pub deferrals: u32,
    /// Why the previous attempt was deferred (`None` for work never deferred).
    pub last_error: Option<String>,
}

/// How many times and how long to defer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeferralPolicy {
    pub max_deferrals: u32,
    /// The first deferral's delay; it doubles each time, up to `MAX_DELAY`.
    pub base_delay: TimeDelta,
}

impl Default for DeferralPolicy {
    fn default() -> Self {
        Self {
            max_deferrals: 6,
            base_delay: TimeDelta::minutes(2),
        }
    }
}

/// What to do with work that just failed transiently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeferralDecision {
    DeferUntil {
        at: DateTime<Utc>,
        /// The deferral's number: 1 for the first.
        deferral: u32,
    },
    /// Deferred as often as allowed: report it failed.
    GiveUp,
}

impl DeferralPolicy {
    pub fn decide(&self, deferred: &Deferred, now: DateTime<Utc>) -> DeferralDecision {
        if deferred.deferrals >= self.max_deferrals {
            return DeferralDecision::GiveUp;
        }
        let deferral = deferred.deferrals + 1;
        let unit = jitter_unit(&deferred.work.subject(), deferral);
        DeferralDecision::DeferUntil {
            at: now + self.delay(deferral, unit),
            deferral,
        }
    }

    /// Between half and all of the doubled base delay: work deferred together
    /// (a burst that was throttled) comes back spread out, not together.
    pub fn delay(&self, deferral: u32, jitter_unit: f64) -> TimeDelta {
        let doublings = deferral.saturating_sub(1).min(16);
        let full = (self.base_delay * 2i32.pow(doublings)).min(MAX_DELAY);
        let fraction = 0.5 + 0.5 * jitter_unit.clamp(0.0, 1.0);
        TimeDelta::milliseconds((full.num_milliseconds() as f64 * fraction) as i64)
    }
}

/// A number in [0, 1) fixed by the domain and the deferral's number: random enough
/// to spread a burst, and the same on a redelivery (which then meets its schedule).
pub fn jitter_unit(subject: &str, deferral: u32) -> f64 {
    let digest = Sha256::new()
        .chain_update(subject)
        .chain_update(deferral.to_be_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

impl Deferred {
    /// Work as it first arrives: never deferred.
    pub fn fresh(work: Work) -> Self {
        Self {
            work,
            deferrals: 0,
            last_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::DomainName;
    use crate::core::request::{OnboardRequest, Trigger};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn onboarding(domain: &str) -> Deferred {
        Deferred::fresh(Work::Onboard {
            request: OnboardRequest {
                dns_mode: None,
                ses_regions: None,
                domain: DomainName::parse(domain).unwrap(),
                hosted_zone_id: None,
                tenant_id: None,
                trigger: Trigger::Custom {
                    source: "my.saas".into(),
                },
            },
            started_at: t("2026-11-28T10:00:00Z"),
        })
    }

    #[test]
    fn delays_double_up_to_an_hour_and_stay_within_their_jitter_band() {
        let policy = DeferralPolicy::default();
        assert_eq!(policy.delay(1, 0.0), TimeDelta::minutes(1));
        assert_eq!(policy.delay(1, 1.0), TimeDelta::minutes(2));
        assert_eq!(policy.delay(3, 1.0), TimeDelta::minutes(8));
        assert_eq!(policy.delay(9, 1.0), MAX_DELAY);
        assert_eq!(policy.delay(40, 0.0), MAX_DELAY / 2, "no overflow");
    }

    #[test]
    fn a_burst_of_domains_comes_back_spread_out() {
        let policy = DeferralPolicy::default();
        let now = t("2026-11-28T10:00:00Z");
        let mut times: Vec<_> = (0..50)
            .map(
                |i| match policy.decide(&onboarding(&format!("d{i}.com")), now) {
                    DeferralDecision::DeferUntil { at, deferral: 1 } => at,
                    other => panic!("{other:?}"),
                },
            )
            .collect();
        assert!(times
            .iter()
            .all(|at| *at >= now + TimeDelta::minutes(1) && *at <= now + TimeDelta::minutes(2)));
        times.sort();
        times.dedup();
        assert!(times.len() >= 45, "only {} distinct times", times.len());
        let again = policy.decide(&onboarding("d0.com"), now);
        assert_eq!(
            again,
            policy.decide(&onboarding("d0.com"), now),
            "deterministic"
        );
    }

    #[test]
    fn deferral_is_bounded() {
        let policy = DeferralPolicy {
            max_deferrals: 2,
            ..Default::default()
        };
        let now = t("2026-11-28T10:00:00Z");
        let mut deferred = onboarding("example.com");
        deferred.deferrals = 1;
        assert!(matches!(
            policy.decide(&deferred, now),
            DeferralDecision::DeferUntil { deferral: 2, .. }
        ));
        deferred.deferrals = 2;
        assert_eq!(policy.decide(&deferred, now), DeferralDecision::GiveUp);
    }
}
