//! `dkim-autopilot/deferred` v1: work a transient failure put off, with how often it
//! was put off already. A deferred check or reconcile page carries that payload whole
//! (`work.payload`), so it is read by the same parser as when it fires by itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{body, follow_up, open_nested, read_names, reconcile, write, Schema};
use crate::core::deferral::Deferred;
use crate::core::rejection::Rejection;
use crate::core::replicas::check_listed;
use crate::core::request::{DnsMode, OffboardRequest, OffboardTrigger, OnboardRequest, Trigger};
use crate::core::work::Work;

/// The body exactly as serialised. `P` is how a nested payload is held: written as
/// this release writes it (`Box<RawValue>`), read as a value to be parsed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeferredBody<P> {
    deferrals: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    work: WorkBody<P>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum WorkBody<P> {
    Onboard(OnboardBody),
    FollowUp {
        payload: P,
    },
    Offboard(OffboardBody),
    Reconcile {
        payload: P,
    },
    /// Written since DEED replicas came (unreleased); earlier releases never wrote it.
    Replicate(ReplicateBody),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplicateBody {
    domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    /// The replica Regions still to settle.
    regions: Vec<String>,
    requested_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OnboardBody {
    domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hosted_zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    trigger: TriggerBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    /// The custom event's `dnsMode`; absent in payloads written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dns_mode: Option<DnsMode>,
    /// The custom event's `sesRegions`; absent in payloads written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ses_regions: Option<Vec<String>>,
    started_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum TriggerBody {
    Custom,
    HostedZoneCreated,
    DomainRegistered,
    Reconcile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OffboardBody {
    domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hosted_zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    /// `custom` (with `source`) or `domainDeleted`.
    trigger: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    requested_at: DateTime<Utc>,
}

impl Deferred {
    /// The deferral schedule's `Input`.
    pub fn to_input(&self) -> String {
        let nested = |input: String| RawValue::from_string(input).expect("payloads are JSON");
        let work = match &self.work {
            Work::Onboard {
                request,
                started_at,
            } => {
                let (trigger, source) = match &request.trigger {
                    Trigger::Custom { source } => (TriggerBody::Custom, Some(source.clone())),
                    Trigger::HostedZoneCreated => (TriggerBody::HostedZoneCreated, None),
                    Trigger::DomainRegistered => (TriggerBody::DomainRegistered, None),
                    Trigger::Reconcile => (TriggerBody::Reconcile, None),
                };
                WorkBody::Onboard(OnboardBody {
                    domain: request.domain.to_string(),
                    hosted_zone_id: request.hosted_zone_id.as_ref().map(ToString::to_string),
                    tenant_id: request.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
                    trigger,
                    source,
                    dns_mode: request.dns_mode,
                    ses_regions: request.ses_regions.clone(),
                    started_at: *started_at,
                })
            }
            Work::FollowUp(follow_up) => WorkBody::FollowUp {
                payload: nested(follow_up.to_input()),
            },
            Work::Offboard {
                request,
                requested_at,
            } => {
                let (trigger, source) = match &request.trigger {
                    OffboardTrigger::Custom { source } => ("custom", Some(source.clone())),
                    OffboardTrigger::DomainDeleted => ("domainDeleted", None),
                };
                WorkBody::Offboard(OffboardBody {
                    domain: request.domain.to_string(),
                    hosted_zone_id: request.hosted_zone_id.as_ref().map(ToString::to_string),
                    tenant_id: request.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
                    trigger: trigger.to_owned(),
                    source,
                    requested_at: *requested_at,
                })
            }
            Work::Reconcile(run) => WorkBody::Reconcile {
                payload: nested(run.to_input()),
            },
            Work::Replicate {
                domain,
                tenant_id,
                regions,
                requested_at,
            } => WorkBody::Replicate(ReplicateBody {
                domain: domain.to_string(),
                tenant_id: tenant_id.as_ref().map(|t| t.as_str().to_owned()),
                regions: regions.clone(),
                requested_at: *requested_at,
            }),
        };
        write(
            Schema::Deferred,
            &DeferredBody {
                deferrals: self.deferrals,
                last_error: self.last_error.clone(),
                work,
            },
        )
    }
}

pub(super) fn read(map: Map<String, Value>) -> Result<Deferred, Rejection> {
    let deferred: DeferredBody<Value> = body(Schema::Deferred, map)?;
    let work = match deferred.work {
        WorkBody::Onboard(onboard) => read_onboard(onboard)?,
        WorkBody::FollowUp { payload } => Work::FollowUp(follow_up::read(open_nested(
            payload,
            "work.payload",
            Schema::FollowUp,
        )?)?),
        WorkBody::Offboard(offboard) => read_offboard(offboard)?,
        WorkBody::Reconcile { payload } => Work::Reconcile(reconcile::read(open_nested(
            payload,
            "work.payload",
            Schema::Reconcile,
        )?)?),
        WorkBody::Replicate(replicate) => read_replicate(replicate)?,
    };
    Ok(Deferred {
        work,
        deferrals: deferred.deferrals,
        last_error: deferred.last_error,
    })
}

/// An onboarding read back from a schedule, as strictly as the event it came from.
fn read_onboard(body: OnboardBody) -> Result<Work, Rejection> {
    let (domain, hosted_zone_id, tenant_id) = read_names(
        &body.domain,
        body.hosted_zone_id.as_deref(),
        body.tenant_id.as_deref(),
        "work.",
    )?;
    let in_context = |r: Rejection| {
        r.with_domain(body.domain.clone())
            .with_tenant(body.tenant_id.clone())
    };
    if let Some(regions) = &body.ses_regions {
        check_listed(regions)
            .map_err(|e| in_context(Rejection::invalid_event("work.sesRegions", e)))?;
    }
    let trigger = match (body.trigger, body.source.as_deref()) {
        (TriggerBody::Custom, Some(source)) if !source.trim().is_empty() => Trigger::Custom {
            source: source.to_owned(),
        },
        (TriggerBody::Custom, _) => {
            return Err(in_context(Rejection::invalid_event(
                "work.source",
                "is required for a custom trigger",
            )))
        }
        (TriggerBody::HostedZoneCreated, _) => Trigger::HostedZoneCreated,
        (TriggerBody::DomainRegistered, _) => Trigger::DomainRegistered,
        (TriggerBody::Reconcile, _) => Trigger::Reconcile,
    };
    Ok(Work::Onboard {
        request: OnboardRequest {
            dns_mode: body.dns_mode,
            ses_regions: body.ses_regions,
            domain,
            hosted_zone_id,
            tenant_id,
            trigger,
        },
        started_at: body.started_at,
    })
}

/// An offboarding read back from a schedule, as strictly as its event.
fn read_offboard(body: OffboardBody) -> Result<Work, Rejection> {
    let (domain, hosted_zone_id, tenant_id) = read_names(
        &body.domain,
        body.hosted_zone_id.as_deref(),
        body.tenant_id.as_deref(),
        "work.",
    )?;
    let trigger = match (body.trigger.as_str(), body.source) {
        ("custom", Some(source)) if !source.trim().is_empty() => OffboardTrigger::Custom { source },
        ("domainDeleted", _) => OffboardTrigger::DomainDeleted,
        (other, _) => {
            return Err(Rejection::invalid_event(
                "work.trigger",
                format!("is \"{other}\"; expected \"custom\" with a source, or \"domainDeleted\""),
            )
            .with_domain(body.domain.clone()))
        }
    };
    Ok(Work::Offboard {
        request: OffboardRequest {
            domain,
            hosted_zone_id,
            tenant_id,
            trigger,
        },
        requested_at: body.requested_at,
    })
}

/// Replicas to settle, read back: a domain, and DEED Regions each named once.
fn read_replicate(body: ReplicateBody) -> Result<Work, Rejection> {
    let (domain, _, tenant_id) =
        read_names(&body.domain, None, body.tenant_id.as_deref(), "work.")?;
    let refused = |problem: String| {
        Rejection::invalid_event("work.regions", problem).with_domain(body.domain.clone())
    };
    if body.regions.is_empty() {
        return Err(refused(
            "is empty; a replication names at least one Region".into(),
        ));
    }
    check_listed(&body.regions).map_err(refused)?;
    Ok(Work::Replicate {
        domain,
        tenant_id,
        regions: body.regions,
        requested_at: body.requested_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::chain::{Chain, FollowUp};
    use crate::core::ids::{DomainName, HostedZoneId, TenantId};
    use crate::core::reconcile::ReconcileRun;
    use crate::core::records::DkimTokens;
    use crate::core::schedule::{parse, Scheduled};
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn onboarding() -> Work {
        Work::Onboard {
            request: OnboardRequest {
                dns_mode: None,
                ses_regions: None,
                domain: DomainName::parse("example.com").unwrap(),
                hosted_zone_id: Some(HostedZoneId::parse("Z1").unwrap()),
                tenant_id: Some(TenantId::parse("acme").unwrap()),
                trigger: Trigger::Custom {
                    source: "my.saas".into(),
                },
            },
            started_at: t("2026-11-28T10:00:00Z"),
        }
    }

    fn check() -> Work {
        Work::FollowUp(FollowUp::Published {
            chain: Chain {
                attempt: 4,
                restarts: 1,
                ..Chain::starting(
                    DomainName::parse("example.com").unwrap(),
                    None,
                    t("2026-11-28T10:00:00Z"),
                )
            },
            zone: HostedZoneId::parse("Z1").unwrap(),
            tokens: DkimTokens::parse(&["a1", "b2", "c3"]).unwrap(),
        })
    }

    fn replicate() -> Work {
        Work::Replicate {
            domain: DomainName::parse("example.com").unwrap(),
            tenant_id: Some(TenantId::parse("acme").unwrap()),
            regions: vec!["us-west-2".into(), "eu-west-1".into()],
            requested_at: t("2026-11-28T10:00:00Z"),
        }
    }

    #[test]
    fn a_replication_names_deed_regions_each_once() {
        let base: Value = serde_json::from_str(&Deferred::fresh(replicate()).to_input()).unwrap();
        assert_eq!(base["work"]["kind"], "replicate");
        let refused = |regions: Value, expected: &str| {
            let mut v = base.clone();
            v["work"]["regions"] = regions;
            let text = parse(v).unwrap_err().to_string();
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        };
        refused(json!([]), "work.regions");
        refused(json!(["us-west-2", "us-west-2"]), "\"us-west-2\" twice");
        refused(
            json!(["cn-north-1"]),
            "\"cn-north-1\", a Region where SES offers no",
        );
        let mut bad_domain = base.clone();
        bad_domain["work"]["domain"] = json!("com");
        assert!(parse(bad_domain)
            .unwrap_err()
            .to_string()
            .contains("public suffix"));
    }

    fn read_back(input: &str) -> Deferred {
        match parse(serde_json::from_str(input).unwrap()).unwrap() {
            Scheduled::Deferred(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_kind_of_work_round_trips() {
        let offboarding = Work::Offboard {
            request: OffboardRequest {
                domain: DomainName::parse("example.com").unwrap(),
                hosted_zone_id: None,
                tenant_id: None,
                trigger: OffboardTrigger::DomainDeleted,
            },
            requested_at: t("2026-11-28T10:00:00Z"),
        };
        let reconcile = Work::Reconcile(ReconcileRun::requested(true, Some("run-1")));
        for work in [onboarding(), check(), offboarding, reconcile, replicate()] {
            let deferred = Deferred {
                work: work.clone(),
                deferrals: 2,
                last_error: Some("ses:VerifyDomainDkim Throttling".into()),
            };
            let input = deferred.to_input();
            assert!(
                input.starts_with(
                    r#"{"schema":"dkim-autopilot/deferred","version":1,"deferrals":2,"#
                ),
                "{input}"
            );
            assert_eq!(read_back(&input), deferred);
        }
        let nested = Deferred::fresh(check()).to_input();
        assert!(
            nested.contains(r#""work":{"kind":"followUp","payload":{"schema":"dkim-autopilot/follow-up","version":1,"stage":"verify""#),
            "{nested}"
        );
    }

    #[test]
    fn deferred_work_is_checked_like_the_event_it_came_from() {
        let base: Value = serde_json::from_str(&Deferred::fresh(onboarding()).to_input()).unwrap();
        let refused = |change: &dyn Fn(&mut Value), expected: &str| {
            let mut v = base.clone();
            change(&mut v);
            let text = parse(v).unwrap_err().to_string();
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        };
        refused(&|v| v["work"]["domain"] = json!("com"), "public suffix");
        refused(
            &|v| {
                v["work"].as_object_mut().unwrap().remove("source");
            },
            "work.source",
        );
        refused(
            &|v| v["work"]["hostedZoneId"] = json!("Z/1"),
            "work.hostedZoneId",
        );
        refused(&|v| v["work"]["kind"] = json!("dance"), "malformed");
        let nested: Value = serde_json::from_str(&Deferred::fresh(check()).to_input()).unwrap();
        let mut v2 = nested.clone();
        v2["work"]["payload"]["version"] = json!(2);
        assert!(parse(v2).unwrap_err().to_string().contains("work.payload"));
        let mut wrong = nested;
        wrong["work"]["payload"]["schema"] = json!("dkim-autopilot/reconcile");
        assert!(parse(wrong)
            .unwrap_err()
            .to_string()
            .contains("reads dkim-autopilot/follow-up"));
    }
}
