//! Durable deferral: work that AWS would not let finish now (throttled, or a
//! transient fault past the SDK's retries) comes back later in a one-time schedule
//! that carries exactly that work. Bounded, jittered, versioned like the follow-up.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::domain::DomainName;
use super::follow_up::{
    expect_version, read_names, validate_follow_up, FollowUp, FollowUpPayload, ScheduleName,
    TenantId,
};
use super::reconcile::ReconcileRun;
use super::rejection::Rejection;
use super::request::{DnsMode, OffboardRequest, OffboardTrigger, OnboardRequest, Trigger};

pub const SCHEMA: &str = "dkim-autopilot/deferred";
pub const VERSION: u32 = 1;

/// The longest a single deferral waits, however many came before it.
pub const MAX_DELAY: TimeDelta = TimeDelta::hours(1);

/// A piece of work the function can do again from scratch: every step is idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    Onboard {
        request: OnboardRequest,
        /// When the first attempt began: the follow-up's deadline counts from here.
        started_at: DateTime<Utc>,
    },
    FollowUp(FollowUp),
    Offboard {
        request: OffboardRequest,
        /// When the offboarding was first asked for: chains started before it end.
        requested_at: DateTime<Utc>,
    },
    /// A reconcile page; the run carries its own cursor.
    Reconcile(ReconcileRun),
}

impl Work {
    /// The domain the work is about; a reconcile is about the whole account.
    pub fn domain(&self) -> Option<&DomainName> {
        match self {
            Self::Onboard { request, .. } => Some(&request.domain),
            Self::FollowUp(follow_up) => Some(&follow_up.domain),
            Self::Offboard { request, .. } => Some(&request.domain),
            Self::Reconcile(_) => None,
        }
    }

    pub fn tenant_id(&self) -> Option<&TenantId> {
        match self {
            Self::Onboard { request, .. } => request.tenant_id.as_ref(),
            Self::FollowUp(follow_up) => follow_up.tenant_id.as_ref(),
            Self::Offboard { request, .. } => request.tenant_id.as_ref(),
            Self::Reconcile(_) => None,
        }
    }

    /// `onboard`, `check`, `offboard` or `reconcile`, for responses, logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Onboard { .. } => "onboard",
            Self::FollowUp(_) => "check",
            Self::Offboard { .. } => "offboard",
            Self::Reconcile(_) => "reconcile",
        }
    }

    /// Who the work is about, for logs and responses: the domain, or the reconcile run.
    pub fn subject(&self) -> String {
        match self {
            Self::Reconcile(run) => format!("reconcile {}", run.run_id.as_deref().unwrap_or("run")),
            other => other.domain().map(ToString::to_string).unwrap_or_default(),
        }
    }
}

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

/// Its own name: the schedule that fired the work still exists while it runs.
pub fn schedule_name(work: &Work, deferral: u32) -> ScheduleName {
    let (domain, suffix) = match work {
        Work::Onboard { request, .. } => (&request.domain, format!("-onboard-d{deferral}")),
        Work::FollowUp(f) => (&f.domain, format!("-{}-d{deferral}", f.attempt)),
        Work::Offboard { request, .. } => (&request.domain, format!("-offboard-d{deferral}")),
        Work::Reconcile(run) => return reconcile_schedule_name(run, &format!("-d{deferral}")),
    };
    ScheduleName::for_domain(domain, &suffix)
}

/// `dkim-reconcile-<run>-<page><suffix>`: a run's pages and their deferrals.
pub fn reconcile_schedule_name(run: &ReconcileRun, suffix: &str) -> ScheduleName {
    let tail = format!("-{}{suffix}", run.pages);
    let room = ScheduleName::MAX_LEN - "dkim-reconcile-".len() - tail.len();
    let id: String = run
        .run_id
        .as_deref()
        .unwrap_or("run")
        .chars()
        .take(room)
        .collect();
    ScheduleName::parse(&format!("dkim-reconcile-{id}{tail}"))
        .expect("run ids use schedule-name characters")
}

/// The schedule's `Input`, exactly as serialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeferredPayload {
    pub schema: String,
    pub version: u32,
    pub deferrals: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub work: WorkPayload,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum WorkPayload {
    Onboard(OnboardPayload),
    FollowUp { payload: FollowUpPayload },
    Offboard(OffboardPayload),
    Reconcile { payload: ReconcileRun },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OffboardPayload {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// `custom` (with `source`) or `domainDeleted`.
    pub trigger: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnboardPayload {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub trigger: TriggerPayload,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The custom event's `dnsMode`; absent in payloads written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_mode: Option<DnsMode>,
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TriggerPayload {
    Custom,
    HostedZoneCreated,
    DomainRegistered,
    Reconcile,
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

    pub fn to_input(&self) -> String {
        let work = match &self.work {
            Work::Onboard {
                request,
                started_at,
            } => {
                let (trigger, source) = match &request.trigger {
                    Trigger::Custom { source } => (TriggerPayload::Custom, Some(source.clone())),
                    Trigger::HostedZoneCreated => (TriggerPayload::HostedZoneCreated, None),
                    Trigger::DomainRegistered => (TriggerPayload::DomainRegistered, None),
                    Trigger::Reconcile => (TriggerPayload::Reconcile, None),
                };
                WorkPayload::Onboard(OnboardPayload {
                    domain: request.domain.to_string(),
                    hosted_zone_id: request.hosted_zone_id.as_ref().map(ToString::to_string),
                    tenant_id: request.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
                    trigger,
                    source,
                    dns_mode: request.dns_mode,
                    started_at: *started_at,
                })
            }
            Work::FollowUp(follow_up) => WorkPayload::FollowUp {
                payload: follow_up.to_payload(),
            },
            Work::Offboard {
                request,
                requested_at,
            } => {
                let (trigger, source) = match &request.trigger {
                    OffboardTrigger::Custom { source } => ("custom", Some(source.clone())),
                    OffboardTrigger::DomainDeleted => ("domainDeleted", None),
                };
                WorkPayload::Offboard(OffboardPayload {
                    domain: request.domain.to_string(),
                    hosted_zone_id: request.hosted_zone_id.as_ref().map(ToString::to_string),
                    tenant_id: request.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
                    trigger: trigger.to_owned(),
                    source,
                    requested_at: *requested_at,
                })
            }
            Work::Reconcile(run) => WorkPayload::Reconcile {
                payload: run.clone(),
            },
        };
        let payload = DeferredPayload {
            schema: SCHEMA.to_owned(),
            version: VERSION,
            deferrals: self.deferrals,
            last_error: self.last_error.clone(),
            work,
        };
        serde_json::to_string(&payload).expect("a deferred payload always serialises")
    }
}

/// Read deferred work a schedule carried back, as strictly as the event it came from.
pub fn read_deferred(value: Value) -> Result<Deferred, Rejection> {
    expect_version(&value, VERSION)?;
    let payload: DeferredPayload = serde_json::from_value(value)
        .map_err(|e| Rejection::invalid_event("(deferred)", format!("is malformed: {e}")))?;
    let work = match payload.work {
        WorkPayload::Onboard(onboard) => validate_onboard(onboard)?,
        WorkPayload::FollowUp { payload: inner } => {
            let (schema, version) = (super::follow_up::SCHEMA, super::follow_up::VERSION);
            if inner.schema != schema || inner.version != version {
                return Err(Rejection::invalid_event(
                    "work.payload",
                    format!(
                        "is {} version {}; this function reads {schema} version {version}",
                        inner.schema, inner.version
                    ),
                ));
            }
            Work::FollowUp(validate_follow_up(inner)?)
        }
        WorkPayload::Offboard(offboard) => validate_offboard(offboard)?,
        WorkPayload::Reconcile { payload } => Work::Reconcile(super::reconcile::read_reconcile(
            serde_json::to_value(payload).expect("a reconcile run serialises"),
        )?),
    };
    Ok(Deferred {
        work,
        deferrals: payload.deferrals,
        last_error: payload.last_error,
    })
}

/// Check an offboarding read back from a schedule as strictly as its event.
pub fn validate_offboard(payload: OffboardPayload) -> Result<Work, Rejection> {
    let (domain, hosted_zone_id, tenant_id) = read_names(
        &payload.domain,
        payload.hosted_zone_id.as_deref(),
        payload.tenant_id.as_deref(),
        "work.",
    )?;
    let trigger = match (payload.trigger.as_str(), payload.source) {
        ("custom", Some(source)) if !source.trim().is_empty() => OffboardTrigger::Custom { source },
        ("domainDeleted", _) => OffboardTrigger::DomainDeleted,
        (other, _) => {
            return Err(Rejection::invalid_event(
                "work.trigger",
                format!("is \"{other}\"; expected \"custom\" with a source, or \"domainDeleted\""),
            )
            .with_domain(payload.domain.clone()))
        }
    };
    Ok(Work::Offboard {
        request: OffboardRequest {
            domain,
            hosted_zone_id,
            tenant_id,
            trigger,
        },
        requested_at: payload.requested_at,
    })
}

/// Check an onboarding read back from a schedule as strictly as the event it came from.
pub fn validate_onboard(payload: OnboardPayload) -> Result<Work, Rejection> {
    let (domain, hosted_zone_id, tenant_id) = read_names(
        &payload.domain,
        payload.hosted_zone_id.as_deref(),
        payload.tenant_id.as_deref(),
        "work.",
    )?;
    let in_context = |r: Rejection| {
        r.with_domain(payload.domain.clone())
            .with_tenant(payload.tenant_id.clone())
    };
    let trigger = match (payload.trigger, payload.source.as_deref()) {
        (TriggerPayload::Custom, Some(source)) if !source.trim().is_empty() => Trigger::Custom {
            source: source.to_owned(),
        },
        (TriggerPayload::Custom, _) => {
            return Err(in_context(Rejection::invalid_event(
                "work.source",
                "is required for a custom trigger",
            )))
        }
        (TriggerPayload::HostedZoneCreated, _) => Trigger::HostedZoneCreated,
        (TriggerPayload::DomainRegistered, _) => Trigger::DomainRegistered,
        (TriggerPayload::Reconcile, _) => Trigger::Reconcile,
    };
    Ok(Work::Onboard {
        request: OnboardRequest {
            dns_mode: payload.dns_mode,
            domain,
            hosted_zone_id,
            tenant_id,
            trigger,
        },
        started_at: payload.started_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::follow_up::Stage;
    use crate::core::records::DkimTokens;
    use crate::core::zone::HostedZoneId;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn onboarding(domain: &str) -> Work {
        Work::Onboard {
            request: OnboardRequest {
                dns_mode: None,
                domain: DomainName::parse(domain).unwrap(),
                hosted_zone_id: Some(HostedZoneId::parse("Z1").unwrap()),
                tenant_id: Some(TenantId::parse("acme").unwrap()),
                trigger: Trigger::Custom {
                    source: "my.saas".into(),
                },
            },
            started_at: t("2026-11-28T10:00:00Z"),
        }
    }

    fn check(domain: &str, attempt: u32) -> Work {
        Work::FollowUp(FollowUp {
            stage: Stage::Verify,
            dns_mode: DnsMode::Route53,
            domain: DomainName::parse(domain).unwrap(),
            hosted_zone_id: Some(HostedZoneId::parse("Z1").unwrap()),
            tenant_id: None,
            attempt,
            restarts: 1,
            onboarding_started_at: t("2026-11-28T10:00:00Z"),
            published_tokens: Some(DkimTokens::parse(&["a1", "b2", "c3"]).unwrap()),
        })
    }

    fn fresh(work: Work) -> Deferred {
        Deferred {
            work,
            deferrals: 0,
            last_error: None,
        }
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
                |i| match policy.decide(&fresh(onboarding(&format!("d{i}.com"))), now) {
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
        let again = policy.decide(&fresh(onboarding("d0.com")), now);
        assert_eq!(
            again,
            policy.decide(&fresh(onboarding("d0.com")), now),
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
        let mut deferred = fresh(check("example.com", 3));
        deferred.deferrals = 1;
        assert!(matches!(
            policy.decide(&deferred, now),
            DeferralDecision::DeferUntil { deferral: 2, .. }
        ));
        deferred.deferrals = 2;
        assert_eq!(policy.decide(&deferred, now), DeferralDecision::GiveUp);
    }

    #[test]
    fn deferrals_have_names_of_their_own() {
        let onboard = schedule_name(&onboarding("example.com"), 1);
        assert_eq!(onboard.as_str(), "dkim-example.com-onboard-d1");
        let follow_up = schedule_name(&check("example.com", 3), 2);
        assert_eq!(follow_up.as_str(), "dkim-example.com-3-d2");
        assert_ne!(
            follow_up,
            ScheduleName::for_follow_up(&DomainName::parse("example.com").unwrap(), 3)
        );
        let long = format!("{}.example.com", "a".repeat(60));
        let name = schedule_name(&check(&long, 12), 6);
        assert!(name.as_str().len() <= 64 && name.as_str().ends_with("-12-d6"));
    }

    #[test]
    fn payloads_round_trip() {
        for work in [onboarding("example.com"), check("example.com", 4)] {
            let deferred = Deferred {
                work: work.clone(),
                deferrals: 2,
                last_error: Some("ses:VerifyDomainDkim Throttling".into()),
            };
            let payload: DeferredPayload = serde_json::from_str(&deferred.to_input()).unwrap();
            assert_eq!((payload.schema.as_str(), payload.version), (SCHEMA, 1));
            assert_eq!(payload.deferrals, 2);
            match (payload.work, work) {
                (WorkPayload::Onboard(p), w @ Work::Onboard { .. }) => {
                    assert_eq!(validate_onboard(p).unwrap(), w)
                }
                (WorkPayload::FollowUp { payload }, Work::FollowUp(f)) => {
                    assert_eq!(payload, f.to_payload())
                }
                other => panic!("kind changed: {other:?}"),
            }
        }
    }

    #[test]
    fn onboard_payloads_are_checked_like_events() {
        let payload = |domain: &str, trigger, source: Option<&str>| OnboardPayload {
            domain: domain.into(),
            hosted_zone_id: None,
            tenant_id: None,
            trigger,
            source: source.map(str::to_owned),
            dns_mode: None,
            started_at: t("2026-11-28T10:00:00Z"),
        };
        assert!(validate_onboard(payload("com", TriggerPayload::HostedZoneCreated, None)).is_err());
        let err =
            validate_onboard(payload("example.com", TriggerPayload::Custom, None)).unwrap_err();
        assert!(err.to_string().contains("work.source"), "{err}");
        assert!(validate_onboard(payload(
            "example.com",
            TriggerPayload::DomainRegistered,
            None
        ))
        .is_ok());
    }
}
