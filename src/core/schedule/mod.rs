//! What this function's own schedules carry back to it, and what they are called.
//!
//! Four payload schemas, each versioned: a follow-up check, deferred work, a reconcile
//! page and an offboarding tombstone. Every payload is `{"schema", "version", …body}`;
//! one parser decides which schema it is, checks the version once, and reads the body
//! strictly (an unknown field is refused). A follow-up chain lives 72 hours across
//! deployments, so every payload a release ever wrote must still be read: the captured
//! ones are in `tests/fixtures/payloads/`, and `tests/payload_compatibility.rs` reads
//! them all.

mod deferred;
mod follow_up;
mod names;
mod reconcile;
mod tombstone;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

pub use names::{
    at_expression, is_valid_at_expression, owned_schedules, parse_at_expression,
    round_up_to_second, ScheduleName, OFFBOARDED_SUFFIX,
};

use super::chain::FollowUp;
use super::deferral::Deferred;
use super::ids::{DomainName, HostedZoneId, TenantId};
use super::reconcile::ReconcileRun;
use super::rejection::{type_name, Rejection};
use super::tombstone::Tombstone;

/// The payload schemas this function writes into its schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    FollowUp,
    Deferred,
    Reconcile,
    Tombstone,
}

impl Schema {
    pub const ALL: [Self; 4] = [
        Self::FollowUp,
        Self::Deferred,
        Self::Reconcile,
        Self::Tombstone,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::FollowUp => "dkim-autopilot/follow-up",
            Self::Deferred => "dkim-autopilot/deferred",
            Self::Reconcile => "dkim-autopilot/reconcile",
            Self::Tombstone => "dkim-autopilot/tombstone",
        }
    }

    /// The version this release writes; it reads every version written so far (one).
    pub fn version(self) -> u32 {
        1
    }

    /// How a body's own errors name it: `(follow-up)`, `(deferred)`, …
    fn label(self) -> &'static str {
        match self {
            Self::FollowUp => "(follow-up)",
            Self::Deferred => "(deferred)",
            Self::Reconcile => "(reconcile)",
            Self::Tombstone => "(tombstone)",
        }
    }
}

/// A payload one of this function's schedules carried, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheduled {
    FollowUp(FollowUp),
    Deferred(Deferred),
    Reconcile(ReconcileRun),
    Tombstone(Tombstone),
}

impl Scheduled {
    /// When the work it carries began (a chain's onboarding, a deferred onboarding's or
    /// offboarding's first attempt); `None` for a reconcile page or a tombstone.
    pub fn work_started_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::FollowUp(f) => Some(f.chain().onboarding_started_at),
            Self::Deferred(d) => d.work.started_at(),
            Self::Reconcile(_) | Self::Tombstone(_) => None,
        }
    }
}

/// The one parser: which schema, which version, then the body, every field checked.
pub fn parse(value: Value) -> Result<Scheduled, Rejection> {
    let (schema, body) = open(value)?;
    match schema {
        Schema::FollowUp => follow_up::read(body).map(Scheduled::FollowUp),
        Schema::Deferred => deferred::read(body).map(Scheduled::Deferred),
        Schema::Reconcile => reconcile::read(body).map(Scheduled::Reconcile),
        Schema::Tombstone => tombstone::read(body).map(Scheduled::Tombstone),
    }
}

/// `parse` of a schedule's `Input` text.
pub fn parse_input(input: &str) -> Result<Scheduled, Rejection> {
    let value = serde_json::from_str(input)
        .map_err(|e| Rejection::invalid_event("(payload)", format!("is not valid JSON: {e}")))?;
    parse(value)
}

/// Whether an offboarding at `offboarded_at` removes the schedule carrying `input`:
/// work that started before it, and whatever this function cannot read (it would
/// only be refused when it fires). A tombstone is never removed this way.
pub fn ended_by_offboarding(input: &str, offboarded_at: DateTime<Utc>) -> bool {
    let names_tombstone = serde_json::from_str::<Value>(input)
        .ok()
        .is_some_and(|v| v.get("schema").and_then(Value::as_str) == Some(Schema::Tombstone.name()));
    if names_tombstone {
        return false;
    }
    parse_input(input)
        .ok()
        .and_then(|s| s.work_started_at())
        .is_none_or(|started| started < offboarded_at)
}

/// The schema a payload names and its body (without `schema` and `version`), once its
/// version is one this function reads.
fn open(value: Value) -> Result<(Schema, Map<String, Value>), Rejection> {
    let Value::Object(mut map) = value else {
        return Err(Rejection::invalid_event(
            "(payload)",
            "must be a JSON object",
        ));
    };
    let schema = match map.get("schema") {
        Some(Value::String(s)) => {
            Schema::ALL
                .into_iter()
                .find(|k| k.name() == s)
                .ok_or_else(|| {
                    let known: Vec<String> = Schema::ALL
                        .iter()
                        .map(|k| format!("\"{}\"", k.name()))
                        .collect();
                    Rejection::invalid_event(
                        "schema",
                        format!(
                            "is \"{s}\"; this function reads {} and {}",
                            known[..known.len() - 1].join(", "),
                            known[known.len() - 1]
                        ),
                    )
                })?
        }
        Some(other) => {
            return Err(Rejection::invalid_event(
                "schema",
                format!("must be a string, got {}", type_name(other)),
            ))
        }
        None => return Err(Rejection::invalid_event("schema", "is missing")),
    };
    let version = map.remove("version");
    if version != Some(Value::from(schema.version())) {
        return Err(Rejection::invalid_event(
            "version",
            format!(
                "is {}; this function reads version {}",
                version.unwrap_or(Value::Null),
                schema.version()
            ),
        ));
    }
    map.remove("schema");
    Ok((schema, map))
}

/// A payload carried inside another one (a deferred check, a deferred reconcile page)
/// at `field`: it must be `expected`, at a version this function reads.
fn open_nested(
    value: Value,
    field: &str,
    expected: Schema,
) -> Result<Map<String, Value>, Rejection> {
    let named = |key: &str| value.get(key).cloned().unwrap_or(Value::Null);
    let (schema, version) = (named("schema"), named("version"));
    match open(value) {
        Ok((schema, body)) if schema == expected => Ok(body),
        _ => Err(Rejection::invalid_event(
            field,
            format!(
                "is {} version {}; this function reads {} version {}",
                schema.as_str().unwrap_or("(no schema)"),
                version,
                expected.name(),
                expected.version()
            ),
        )),
    }
}

/// A body read strictly into its type.
fn body<T: DeserializeOwned>(schema: Schema, body: Map<String, Value>) -> Result<T, Rejection> {
    serde_json::from_value(Value::Object(body))
        .map_err(|e| Rejection::invalid_event(schema.label(), format!("is malformed: {e}")))
}

/// `{"schema": …, "version": …, <body's fields>}`, as this release writes it.
fn write<T: Serialize>(schema: Schema, body: &T) -> String {
    #[derive(Serialize)]
    struct Envelope<'a, T> {
        schema: &'static str,
        version: u32,
        #[serde(flatten)]
        body: &'a T,
    }
    serde_json::to_string(&Envelope {
        schema: schema.name(),
        version: schema.version(),
        body,
    })
    .expect("a schedule payload always serialises")
}

/// The domain, hosted zone and tenant a payload names, each checked as strictly as in
/// the event it came from; `path` prefixes the field names.
fn read_names(
    domain: &str,
    hosted_zone_id: Option<&str>,
    tenant_id: Option<&str>,
    path: &str,
) -> Result<(DomainName, Option<HostedZoneId>, Option<TenantId>), Rejection> {
    let in_context = |r: Rejection| {
        r.with_domain(domain)
            .with_tenant(tenant_id.map(str::to_owned))
    };
    let parsed = DomainName::parse(domain)
        .map_err(|e| Rejection::from(e).with_tenant(tenant_id.map(str::to_owned)))?;
    let zone = hosted_zone_id
        .map(HostedZoneId::parse)
        .transpose()
        .map_err(|e| {
            in_context(Rejection::invalid_event(
                format!("{path}hostedZoneId"),
                e.to_string(),
            ))
        })?;
    let tenant = tenant_id
        .map(TenantId::parse)
        .transpose()
        .map_err(|rule| in_context(Rejection::invalid_event(format!("{path}tenantId"), rule)))?;
    Ok((parsed, zone, tenant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::chain::Chain;
    use crate::core::records::DkimTokens;
    use crate::core::request::{OffboardRequest, OffboardTrigger, OnboardRequest, Trigger};
    use crate::core::work::Work;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn d(name: &str) -> DomainName {
        DomainName::parse(name).unwrap()
    }

    fn chain(domain: &str, started: &str) -> FollowUp {
        FollowUp::Published {
            chain: Chain {
                attempt: 3,
                ..Chain::starting(d(domain), None, t(started))
            },
            zone: HostedZoneId::parse("Z1").unwrap(),
            tokens: DkimTokens::parse(&["a1", "b2", "c3"]).unwrap(),
        }
    }

    fn rejected(value: Value) -> String {
        parse(value).unwrap_err().to_string()
    }

    #[test]
    fn the_schema_and_version_are_checked_once_for_every_kind() {
        assert!(rejected(json!({"version": 1})).contains("schema` is missing"));
        assert!(rejected(json!({"schema": 7, "version": 1})).contains("must be a string"));
        let unknown = rejected(json!({"schema": "dkim-autopilot/other", "version": 1}));
        for schema in Schema::ALL {
            assert!(unknown.contains(schema.name()), "{unknown}");
            let v2 = rejected(json!({"schema": schema.name(), "version": 2}));
            assert!(v2.contains("reads version 1"), "{v2}");
            let none = rejected(json!({"schema": schema.name()}));
            assert!(none.contains("is null"), "{none}");
        }
        assert!(rejected(json!([1])).contains("JSON object"));
    }

    #[test]
    fn a_tombstone_round_trips_and_is_read_strictly() {
        let tombstone = Tombstone {
            domain: d("Example.com"),
            offboarded_at: t("2026-11-28T10:00:00Z"),
        };
        let value: Value = serde_json::from_str(&tombstone.to_input()).unwrap();
        assert_eq!(
            value,
            json!({"schema": "dkim-autopilot/tombstone", "version": 1, "domain": "example.com",
                "offboardedAt": "2026-11-28T10:00:00Z"})
        );
        assert_eq!(
            parse(value.clone()).unwrap(),
            Scheduled::Tombstone(tombstone)
        );
        let mut extra = value.clone();
        extra["domains"] = "x".into();
        assert!(rejected(extra).contains("(tombstone)"));
        let mut bad = value;
        bad["domain"] = "co.uk".into();
        assert!(parse(bad).is_err());
    }

    #[test]
    fn schedules_are_ended_by_when_their_work_started() {
        let at = t("2026-11-28T10:00:00Z");
        let old = chain("example.com", "2026-11-28T09:00:00Z");
        let new = chain("example.com", "2026-11-28T11:00:00Z");
        assert!(ended_by_offboarding(&old.to_input(), at));
        assert!(!ended_by_offboarding(&new.to_input(), at));
        let deferred = |work| Deferred {
            work,
            deferrals: 1,
            last_error: Some("ses:VerifyDomainDkim Throttling".into()),
        };
        let onboarding = |started: &str| Work::Onboard {
            request: OnboardRequest {
                dns_mode: None,
                ses_regions: None,
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
            parse_input(&old_onboarding).unwrap().work_started_at(),
            Some(t("2026-11-28T09:59:00Z"))
        );
        assert!(ended_by_offboarding(&old_onboarding, at));
        assert!(!ended_by_offboarding(&new_onboarding, at));
        assert!(ended_by_offboarding(
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
            !ended_by_offboarding(&this_offboarding.to_input(), at),
            "the offboarding's own deferral"
        );
        let tombstone = Tombstone {
            domain: d("example.com"),
            offboarded_at: t("2026-11-27T00:00:00Z"),
        };
        assert!(!ended_by_offboarding(&tombstone.to_input(), at));
        assert!(!ended_by_offboarding(
            "{\"schema\":\"dkim-autopilot/tombstone\",\"version\":9}",
            at
        ));
        assert!(ended_by_offboarding("{\"schema\":\"something else\"}", at));
        assert!(ended_by_offboarding("not json", at));
    }
}
