//! What happened, told as an EventBridge event that other systems (a SaaS onboarding
//! workflow) can wait for. Every outcome event is built here, by one constructor per
//! kind; the workflow only sends them. Each event's `outcomeId` is made of what makes
//! that outcome unique, so a redelivered invocation's event is recognisably a repeat.
//! Events only ever gain fields.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::chain::Chain;
use super::handover::{count, HandedOverRecord, RecordCheck};
use super::identity::{DkimStatus, KeyLength, Signing};
use super::ids::{DomainName, HostedZoneId, TenantId};
use super::reconcile::{ReconcileRun, DRY_RUN_LIST_CAP};
use super::records::DkimTokens;
use super::rejection::Rejection;
use super::replicas::ReplicaState;
use super::scope::Skip;
use super::sending::Conflict;

pub const EVENT_SOURCE: &str = "dkim-autopilot";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OutcomeKind {
    RecordsPublished,
    Verified,
    VerificationFailed,
    VerificationTimedOut,
    DomainRejected,
    DomainSkipped,
    DriftRepaired,
    DomainOrphaned,
    Removed,
    ReconcileFinished,
    RecordsRequired,
    RecordsPending,
    ReadyToSend,
    NotReadyToSend,
    RecordsConflict,
    KeyUpgraded,
    ReplicasVerified,
}

impl OutcomeKind {
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::RecordsPublished => "DKIM Records Published",
            Self::Verified => "DKIM Verified",
            Self::VerificationFailed => "DKIM Verification Failed",
            Self::VerificationTimedOut => "DKIM Verification Timed Out",
            Self::DomainRejected => "Domain Rejected",
            Self::DomainSkipped => "Domain Skipped",
            Self::DriftRepaired => "DKIM Drift Repaired",
            Self::DomainOrphaned => "Domain Orphaned",
            Self::Removed => "DKIM Removed",
            Self::ReconcileFinished => "Reconcile Finished",
            Self::RecordsRequired => "DKIM Records Required",
            Self::RecordsPending => "DKIM Records Pending",
            Self::ReadyToSend => "Domain Ready to Send",
            Self::NotReadyToSend => "Domain Not Ready to Send",
            Self::RecordsConflict => "Domain Records Conflict",
            Self::KeyUpgraded => "DKIM Key Upgraded",
            Self::ReplicasVerified => "DKIM Replicas Verified",
        }
    }
}

/// The `detail` of every outcome event; fields that do not apply are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeDetail {
    /// Same for every delivery of the same outcome: subscribers deduplicate on it.
    pub outcome_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub record_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dkim_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onboarding_started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `DKIM Removed`: what an offboarding removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<serde_json::Value>,
    /// `DKIM Removed`: DKIM records it left in place, not holding exactly SES's values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_alone: Vec<String>,
    /// `Reconcile Finished`: the run's id, counts and (dry run) planned actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned: Option<serde_json::Value>,
    /// `DKIM Records Required`: the records the tenant must publish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<serde_json::Value>,
    /// `DKIM Records Pending`: what public DNS answered for each record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<serde_json::Value>,
    /// `Domain Ready to Send` (and not ready): each configured part and its state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<serde_json::Value>,
    /// `Domain Records Conflict`: the name, the type, what was found, what is needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<serde_json::Value>,
    /// `DKIM Drift Repaired`: the sending records (`name TYPE`) put back beside DKIM's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sending_records: Vec<String>,
    /// The zone SES named for the records (SES v2 `SigningHostedZone`), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_zone: Option<String>,
    /// `DKIM Verified`: the identity's key lengths, `{"current": .., "next": ..}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_length: Option<serde_json::Value>,
    /// `DKIM Replicas Verified` (and `Domain Ready to Send`): the parent's SES Region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ses_region: Option<String>,
    /// Each DEED replica Region's state: `[{"region", "status", "created", "reason"}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeEvent {
    pub kind: OutcomeKind,
    pub detail: OutcomeDetail,
}

impl OutcomeEvent {
    /// `identity` is whatever makes this outcome unique: the same inputs give the
    /// same `outcomeId`, so a redelivered invocation's event is recognisably a repeat.
    pub fn new(kind: OutcomeKind, identity: &[&str], mut detail: OutcomeDetail) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(kind.detail_type());
        for part in identity {
            hasher.update([0u8]);
            hasher.update(part);
        }
        detail.outcome_id = hasher
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        Self { kind, detail }
    }

    pub fn detail_json(&self) -> String {
        serde_json::to_string(&self.detail).expect("outcome details always serialise")
    }
}

/// Why an outcome is a failure: a stable code for machines, a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    pub text: String,
}

impl Reason {
    pub fn new(code: &'static str, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }
}

/// What an outcome about one look of a chain says of it.
fn chain_detail(
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    tokens: Option<&DkimTokens>,
    now: DateTime<Utc>,
) -> OutcomeDetail {
    let tokens: Vec<String> = tokens.map(DkimTokens::to_strings).unwrap_or_default();
    OutcomeDetail {
        domain: Some(chain.domain.to_string()),
        tenant_id: chain.tenant().map(str::to_owned),
        hosted_zone_id: zone.map(ToString::to_string),
        record_names: tokens
            .iter()
            .map(|t| format!("{t}._domainkey.{}", chain.domain))
            .collect(),
        tokens,
        attempt: Some(chain.attempt),
        restarts: Some(chain.restarts),
        onboarding_started_at: Some(chain.onboarding_started_at),
        elapsed_seconds: Some(chain.elapsed_seconds(now)),
        signing_zone: chain.signing_zone.as_ref().map(ToString::to_string),
        ..Default::default()
    }
}

/// A verdict on a chain; a redelivered verdict repeats its domain and onboarding.
fn verdict(
    kind: OutcomeKind,
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    tokens: Option<&DkimTokens>,
    status: Option<DkimStatus>,
    reason: Option<Reason>,
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let started = chain.onboarding_started_at.to_rfc3339();
    OutcomeEvent::new(
        kind,
        &[chain.domain.as_str(), &started],
        OutcomeDetail {
            dkim_status: status.map(|s| s.as_str().to_owned()),
            reason_code: reason.as_ref().map(|r| r.code.to_owned()),
            reason: reason.map(|r| r.text),
            ..chain_detail(chain, zone, tokens, now)
        },
    )
}

/// `DKIM Records Published`: the three CNAMEs are in the zone. A redelivered
/// publication repeats its tokens.
pub fn records_published(
    chain: &Chain,
    zone: &HostedZoneId,
    tokens: &DkimTokens,
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let strings = tokens.to_strings();
    let identity: Vec<&str> = [chain.domain.as_str()]
        .into_iter()
        .chain(strings.iter().map(String::as_str))
        .collect();
    OutcomeEvent::new(
        OutcomeKind::RecordsPublished,
        &identity,
        chain_detail(chain, Some(zone), Some(tokens), now),
    )
}

/// `DKIM Verified`: SES says Success. `zone`: `None` for a handed-over domain;
/// `signing`: how SES signs for it, when SES v2 could say.
pub fn verified(
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    tokens: &DkimTokens,
    signing: Option<&Signing>,
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let status = Some(DkimStatus::Success);
    let mut event = verdict(
        OutcomeKind::Verified,
        chain,
        zone,
        Some(tokens),
        status,
        None,
        now,
    );
    if let Some(signing) = signing {
        if let Some(zone) = &signing.zone {
            event.detail.signing_zone = Some(zone.to_string());
        }
        let length = |l: Option<KeyLength>| l.map(|l| l.as_str());
        event.detail.key_length = Some(json!({
            "current": length(signing.current_key_length),
            "next": length(signing.next_key_length),
        }));
    }
    event
}

/// `DKIM Key Upgraded`: SES's next Easy DKIM key for the domain now has length `to`
/// (it was `from`). `keyLength` says how SES signs after the change: the current key
/// keeps its length until SES next generates one. One change a day at most, so the
/// domain, the lengths and the day identify it.
#[allow(clippy::too_many_arguments)]
pub fn key_upgraded(
    domain: &DomainName,
    tenant: Option<&str>,
    zone: Option<&HostedZoneId>,
    tokens: &DkimTokens,
    from: KeyLength,
    after: &Signing,
    to: KeyLength,
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let day = now.format("%Y-%m-%d").to_string();
    OutcomeEvent::new(
        OutcomeKind::KeyUpgraded,
        &[domain.as_str(), from.as_str(), to.as_str(), &day],
        OutcomeDetail {
            domain: Some(domain.to_string()),
            tenant_id: tenant.map(str::to_owned),
            hosted_zone_id: zone.map(ToString::to_string),
            tokens: tokens.to_strings(),
            dkim_status: Some(DkimStatus::Success.as_str().to_owned()),
            signing_zone: after.zone.as_ref().map(ToString::to_string),
            key_length: Some(json!({
                "current": after.current_key_length.map(|l| l.as_str()),
                "next": to.as_str(),
                "previousNext": from.as_str(),
            })),
            ..Default::default()
        },
    )
}

/// `DKIM Replicas Verified`: how each replica Region of a verified parent stands. The
/// same states give the same `outcomeId`: a redelivery repeats; a change is news.
pub fn replicas_verified(
    domain: &DomainName,
    tenant: Option<&str>,
    parent_region: &str,
    states: &[ReplicaState],
) -> OutcomeEvent {
    let mut identity = vec![domain.as_str().to_owned(), parent_region.to_owned()];
    identity.extend(
        states
            .iter()
            .map(|s| format!("{}={}", s.region, s.status.as_str())),
    );
    let identity: Vec<&str> = identity.iter().map(String::as_str).collect();
    OutcomeEvent::new(
        OutcomeKind::ReplicasVerified,
        &identity,
        OutcomeDetail {
            domain: Some(domain.to_string()),
            tenant_id: tenant.map(str::to_owned),
            dkim_status: Some(DkimStatus::Success.as_str().to_owned()),
            ses_region: Some(parent_region.to_owned()),
            replicas: Some(replicas_json(states)),
            ..Default::default()
        },
    )
}

/// The replica states as events and answers carry them.
pub fn replicas_json(states: &[ReplicaState]) -> serde_json::Value {
    serde_json::Value::Array(
        states
            .iter()
            .map(|s| {
                let mut one = json!({
                    "region": s.region,
                    "status": s.status.as_str(),
                    "created": s.created,
                });
                if let Some(reason) = &s.reason {
                    one["reason"] = json!(reason);
                }
                one
            })
            .collect(),
    )
}

/// `DKIM Verification Timed Out`: the window closed before SES verified (or before
/// the registration's zone appeared: no tokens, no status).
pub fn timed_out(
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    tokens: Option<&DkimTokens>,
    status: Option<DkimStatus>,
    reason: Reason,
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let kind = OutcomeKind::VerificationTimedOut;
    verdict(kind, chain, zone, tokens, status, Some(reason), now)
}

/// `DKIM Verification Failed`: restarts or deferrals exhausted.
pub fn verification_failed(
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    tokens: Option<&DkimTokens>,
    status: Option<DkimStatus>,
    reason: Reason,
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let kind = OutcomeKind::VerificationFailed;
    verdict(kind, chain, zone, tokens, status, Some(reason), now)
}

/// `DKIM Records Required`: the records the tenant must publish for these tokens. A
/// redelivery repeats its tokens.
pub fn records_required(
    chain: &Chain,
    tokens: &DkimTokens,
    records: &[HandedOverRecord],
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let strings = tokens.to_strings();
    let identity: Vec<&str> = [chain.domain.as_str()]
        .into_iter()
        .chain(strings.iter().map(String::as_str))
        .collect();
    OutcomeEvent::new(
        OutcomeKind::RecordsRequired,
        &identity,
        OutcomeDetail {
            records: Some(serde_json::to_value(records).expect("records serialise")),
            ..chain_detail(chain, None, Some(tokens), now)
        },
    )
}

/// `DKIM Records Pending`: where each handed-over record stands; one per reporting look.
pub fn records_pending(
    chain: &Chain,
    tokens: &DkimTokens,
    status: DkimStatus,
    checks: &[RecordCheck],
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let started = chain.onboarding_started_at.to_rfc3339();
    let attempt = chain.attempt.to_string();
    OutcomeEvent::new(
        OutcomeKind::RecordsPending,
        &[chain.domain.as_str(), &started, &attempt],
        OutcomeDetail {
            dkim_status: Some(status.as_str().to_owned()),
            checks: Some(serde_json::to_value(checks).expect("checks serialise")),
            counts: Some(serde_json::to_value(count(checks)).expect("counts serialise")),
            ..chain_detail(chain, None, Some(tokens), now)
        },
    )
}

/// The replica Regions a readiness event tells of, beside the parent's Region.
#[derive(Debug, Clone, Copy)]
pub struct Replicas<'a> {
    pub parent_region: &'a str,
    /// Empty: no replica Region applies to the domain, and the event says nothing of it.
    pub states: &'a [ReplicaState],
}

impl Replicas<'_> {
    fn into_detail(self, detail: OutcomeDetail) -> OutcomeDetail {
        if self.states.is_empty() {
            return detail;
        }
        OutcomeDetail {
            ses_region: Some(self.parent_region.to_owned()),
            replicas: Some(replicas_json(self.states)),
            ..detail
        }
    }
}

/// `Domain Ready to Send`: every configured part holds. Published once per chain: a
/// redelivery repeats its domain and onboarding (the replicas' states are news, not
/// identity: a replica that settled between two deliveries makes no second event).
pub fn ready_to_send(
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    parts: serde_json::Value,
    replicas: Replicas<'_>,
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let started = chain.onboarding_started_at.to_rfc3339();
    OutcomeEvent::new(
        OutcomeKind::ReadyToSend,
        &[chain.domain.as_str(), &started],
        replicas.into_detail(OutcomeDetail {
            parts: Some(parts),
            ..chain_detail(chain, zone, None, now)
        }),
    )
}

/// `Domain Not Ready to Send`: DKIM is verified, but a part will not hold without
/// someone's help (a conflict, MAIL FROM given up).
pub fn not_ready_to_send(
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    parts: serde_json::Value,
    reason: Reason,
    replicas: Replicas<'_>,
    now: DateTime<Utc>,
) -> OutcomeEvent {
    let started = chain.onboarding_started_at.to_rfc3339();
    OutcomeEvent::new(
        OutcomeKind::NotReadyToSend,
        &[chain.domain.as_str(), &started],
        replicas.into_detail(OutcomeDetail {
            parts: Some(parts),
            reason_code: Some(reason.code.to_owned()),
            reason: Some(reason.text),
            ..chain_detail(chain, zone, None, now)
        }),
    )
}

/// `Domain Records Conflict`: something not ours stands where a sending record must
/// go; nothing was written there. The same conflict seen again has the same id.
pub fn records_conflict(
    domain: &DomainName,
    tenant_id: Option<&TenantId>,
    zone: Option<&HostedZoneId>,
    conflict: &Conflict,
) -> OutcomeEvent {
    let found = conflict.found.join("\n");
    OutcomeEvent::new(
        OutcomeKind::RecordsConflict,
        &[
            domain.as_str(),
            &conflict.name,
            conflict.record_type.as_str(),
            &found,
        ],
        OutcomeDetail {
            domain: Some(domain.to_string()),
            tenant_id: tenant_id.map(|t| t.as_str().to_owned()),
            hosted_zone_id: zone.map(ToString::to_string),
            conflict: Some(serde_json::to_value(conflict).expect("conflicts serialise")),
            ..Default::default()
        },
    )
}

/// `Domain Rejected`, for a refusal that names a domain.
pub fn domain_rejected(rejection: &Rejection) -> Option<OutcomeEvent> {
    let domain = rejection.domain.as_deref()?;
    let (code, reason) = (rejection.reason.code(), rejection.reason.to_string());
    Some(OutcomeEvent::new(
        OutcomeKind::DomainRejected,
        &[domain, code, &reason],
        OutcomeDetail {
            domain: Some(domain.to_owned()),
            tenant_id: rejection.tenant_id.clone(),
            reason_code: Some(code.to_owned()),
            reason: Some(reason.clone()),
            ..Default::default()
        },
    ))
}

/// `Domain Skipped`: the scope leaves the domain alone.
pub fn domain_skipped(
    domain: &DomainName,
    tenant_id: Option<&TenantId>,
    zone: Option<&HostedZoneId>,
    skip: &Skip,
) -> OutcomeEvent {
    let reason = skip.to_string();
    OutcomeEvent::new(
        OutcomeKind::DomainSkipped,
        &[domain.as_str(), skip.code(), &reason],
        OutcomeDetail {
            domain: Some(domain.to_string()),
            tenant_id: tenant_id.map(|t| t.as_str().to_owned()),
            hosted_zone_id: zone.map(ToString::to_string),
            reason_code: Some(skip.code().to_owned()),
            reason: Some(reason.clone()),
            ..Default::default()
        },
    )
}

/// `DKIM Drift Repaired`; its id comes from the run, so a redelivered page repeats it.
pub fn drift_repaired(
    domain: &DomainName,
    zone: &HostedZoneId,
    tokens: &DkimTokens,
    restored: &[String],
    sending: &[String],
    run_id: &str,
) -> OutcomeEvent {
    // Sending records join the id only when there are some: DKIM-only repairs keep
    // the ids they always had.
    let identity: Vec<&str> = [domain.as_str(), run_id]
        .into_iter()
        .chain(restored.iter().map(String::as_str))
        .chain(sending.iter().map(String::as_str))
        .collect();
    OutcomeEvent::new(
        OutcomeKind::DriftRepaired,
        &identity,
        OutcomeDetail {
            domain: Some(domain.to_string()),
            hosted_zone_id: Some(zone.to_string()),
            tokens: tokens.to_strings(),
            record_names: restored.to_vec(),
            dkim_status: Some(DkimStatus::Success.as_str().to_owned()),
            sending_records: sending.to_vec(),
            ..Default::default()
        },
    )
}

/// `Domain Orphaned`: an SES identity no public zone contains any more.
pub fn domain_orphaned(domain: &DomainName, run_id: &str, deleted: bool) -> OutcomeEvent {
    OutcomeEvent::new(
        OutcomeKind::DomainOrphaned,
        &[domain.as_str(), run_id],
        OutcomeDetail {
            domain: Some(domain.to_string()),
            reason: Some("no public hosted zone in the account contains it any more".to_owned()),
            removed: deleted.then(|| json!({"identity": true})),
            ..Default::default()
        },
    )
}

/// What one offboarding removed, and what it left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removal {
    pub schedules: Vec<String>,
    pub records: Vec<String>,
    pub identity: bool,
    /// The Regions whose DEED replica was deleted (before the parent).
    pub replica_regions: Vec<String>,
    pub left_alone: Vec<String>,
}

impl Removal {
    pub fn is_empty(&self) -> bool {
        self.schedules.is_empty()
            && self.records.is_empty()
            && !self.identity
            && self.replica_regions.is_empty()
    }
}

/// `DKIM Removed`. Its `outcomeId` is made of the domain and what was removed: the
/// same removal reported twice has one id, and a repeat that removes nothing has one
/// id per domain however often it comes.
pub fn removed(
    domain: &DomainName,
    tenant_id: Option<&TenantId>,
    zone: Option<&str>,
    removal: &Removal,
) -> OutcomeEvent {
    let mut schedules = removal.schedules.clone();
    schedules.sort();
    let mut records = removal.records.clone();
    records.sort();
    let mut removed = json!({
        "schedules": schedules,
        "records": records,
        "identity": removal.identity,
    });
    // Only where there were replicas: every other removal keeps its outcomeId.
    if !removal.replica_regions.is_empty() {
        let mut regions = removal.replica_regions.clone();
        regions.sort();
        removed["replicaRegions"] = json!(regions);
    }
    let removed_text = removed.to_string();
    OutcomeEvent::new(
        OutcomeKind::Removed,
        &[domain.as_str(), &removed_text],
        OutcomeDetail {
            domain: Some(domain.to_string()),
            tenant_id: tenant_id.map(|t| t.as_str().to_owned()),
            hosted_zone_id: zone.map(str::to_owned),
            removed: Some(removed),
            left_alone: removal.left_alone.clone(),
            ..Default::default()
        },
    )
}

/// `Reconcile Finished`: the run's counts, and for a dry run what it would have done.
pub fn reconcile_finished(run: &ReconcileRun) -> OutcomeEvent {
    let run_id = run.run_id.clone().unwrap_or_default();
    let dry_run_text = run.dry_run.to_string();
    OutcomeEvent::new(
        OutcomeKind::ReconcileFinished,
        &[&run_id, &dry_run_text],
        OutcomeDetail {
            run_id: Some(run_id.clone()),
            dry_run: Some(run.dry_run),
            counts: Some(serde_json::to_value(&run.counts).expect("counts serialise")),
            planned: run
                .dry_run
                .then(|| json!({"cap": DRY_RUN_LIST_CAP, "domains": run.planned})),
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::HostedZoneId;
    use crate::core::records::DkimTokens;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn chain() -> Chain {
        Chain {
            attempt: 3,
            restarts: 1,
            tenant_id: Some(TenantId::parse("t-1").unwrap()),
            ..Chain::starting(
                DomainName::parse("example.com").unwrap(),
                None,
                t("2026-11-27T04:30:00Z"),
            )
        }
    }

    fn detail(event: &OutcomeEvent) -> serde_json::Value {
        serde_json::from_str(&event.detail_json()).unwrap()
    }

    #[test]
    fn chain_outcomes_tell_the_look_and_its_records() {
        let zone = HostedZoneId::parse("Z1").unwrap();
        let tokens = DkimTokens::parse(&["a1", "b2", "c3"]).unwrap();
        let now = t("2026-11-27T05:00:00Z");
        let published = records_published(&chain(), &zone, &tokens, now);
        assert_eq!(published.kind.detail_type(), "DKIM Records Published");
        let d = detail(&published);
        assert_eq!(d["recordNames"][0], "a1._domainkey.example.com");
        assert_eq!(d["hostedZoneId"], "Z1");
        assert_eq!(
            (d["attempt"].clone(), d["restarts"].clone()),
            (json!(3), json!(1))
        );
        assert_eq!(d["elapsedSeconds"], 1800);
        assert_eq!(d["tenantId"], "t-1");
        assert!(d.get("dkimStatus").is_none() && d.get("reasonCode").is_none());
        // The verdicts of one onboarding share an identity; publications by their tokens.
        let later = now + chrono::TimeDelta::hours(1);
        let v1 = verified(&chain(), Some(&zone), &tokens, None, now);
        let signing = Signing {
            zone: Some(crate::core::records::SigningZone::parse("dkim-c2.amazonses.com").unwrap()),
            current_key_length: Some(KeyLength::Rsa1024),
            next_key_length: Some(KeyLength::Rsa2048),
            key_changed_at: None,
            replica_regions: None,
        };
        let v2 = verified(&chain().next(), None, &tokens, Some(&signing), later);
        assert_eq!(v1.detail.outcome_id, v2.detail.outcome_id);
        assert_eq!(detail(&v1)["dkimStatus"], "Success");
        assert!(detail(&v1).get("signingZone").is_none() && detail(&v1).get("keyLength").is_none());
        assert_eq!(detail(&v2)["signingZone"], "dkim-c2.amazonses.com");
        assert_eq!(
            detail(&v2)["keyLength"],
            json!({"current": "RSA_1024_BIT", "next": "RSA_2048_BIT"})
        );
        let other = DkimTokens::parse(&["d4", "e5", "f6"]).unwrap();
        assert_ne!(
            published.detail.outcome_id,
            records_published(&chain(), &zone, &other, now)
                .detail
                .outcome_id
        );
        let failed = verification_failed(
            &chain(),
            None,
            None,
            None,
            Reason::new("DeferralsExhausted", "gave up"),
            now,
        );
        let d = detail(&failed);
        assert_eq!(
            (d["reasonCode"].as_str(), d["reason"].as_str()),
            (Some("DeferralsExhausted"), Some("gave up"))
        );
        assert!(d.get("tokens").is_none() && d.get("hostedZoneId").is_none());
        let timed = timed_out(
            &chain(),
            None,
            Some(&tokens),
            Some(DkimStatus::Pending),
            Reason::new("VerificationWindowClosed", "late"),
            now,
        );
        assert_eq!(detail(&timed)["dkimStatus"], "Pending");
        assert_ne!(timed.detail.outcome_id, failed.detail.outcome_id);
    }

    #[test]
    fn hand_over_outcomes_carry_the_records_and_their_checks() {
        use crate::core::handover::RecordStatus;
        let tokens = DkimTokens::parse(&["a1", "b2", "c3"]).unwrap();
        let now = t("2026-11-27T05:00:00Z");
        let record = HandedOverRecord {
            name: "a1._domainkey.example.com".into(),
            record_type: "CNAME",
            value: "a1.dkim.amazonses.com".into(),
            ttl: 1800,
        };
        let required = records_required(&chain(), &tokens, std::slice::from_ref(&record), now);
        assert_eq!(detail(&required)["records"][0]["type"], "CNAME");
        let check = RecordCheck {
            name: record.name.clone(),
            record_type: "CNAME",
            expected: record.value.clone(),
            status: RecordStatus::Missing,
        };
        let pending = records_pending(&chain(), &tokens, DkimStatus::Pending, &[check], now);
        let d = detail(&pending);
        assert_eq!(d["checks"][0]["status"], "missing");
        assert_eq!(d["counts"]["missing"], 1);
        assert_ne!(
            pending.detail.outcome_id,
            records_pending(&chain().next(), &tokens, DkimStatus::Pending, &[], now)
                .detail
                .outcome_id,
            "one report per look"
        );
    }

    #[test]
    fn scope_reconcile_and_rejection_outcomes() {
        let domain = DomainName::parse("example.com").unwrap();
        let skip = Skip::ZoneNotAllowed {
            zone_id: HostedZoneId::parse("Z9").unwrap(),
        };
        let skipped = domain_skipped(
            &domain,
            None,
            Some(&HostedZoneId::parse("Z9").unwrap()),
            &skip,
        );
        assert_eq!(detail(&skipped)["reasonCode"], "ZoneNotAllowed");
        let orphan = domain_orphaned(&domain, "run-1", true);
        assert_eq!(detail(&orphan)["removed"], json!({"identity": true}));
        assert!(detail(&domain_orphaned(&domain, "run-1", false))
            .get("removed")
            .is_none());
        let mut run = ReconcileRun::requested(true, Some("run-1"));
        run.plan_note("onboard", "a.com");
        let finished = detail(&reconcile_finished(&run));
        assert_eq!(finished["planned"]["domains"][0]["domain"], "a.com");
        assert_eq!(finished["planned"]["cap"], DRY_RUN_LIST_CAP);
        assert!(
            detail(&reconcile_finished(&ReconcileRun::requested(false, None)))
                .get("planned")
                .is_none()
        );
        let nameless = Rejection::invalid_event("(payload)", "is not JSON");
        assert!(domain_rejected(&nameless).is_none());
        let named = domain_rejected(&nameless.with_domain("example.com")).unwrap();
        assert_eq!(detail(&named)["reasonCode"], "InvalidEvent");
    }

    #[test]
    fn the_removal_says_what_went_and_its_id_follows_the_removal() {
        let domain = DomainName::parse("example.com").unwrap();
        let removal = Removal {
            schedules: vec!["dkim-example.com-2".into(), "dkim-example.com-2-d1".into()],
            records: vec!["a._domainkey.example.com".into()],
            identity: true,
            replica_regions: vec![],
            left_alone: vec!["google._domainkey.example.com".into()],
        };
        let tenant = TenantId::parse("t-1").unwrap();
        let event = removed(&domain, Some(&tenant), Some("Z1"), &removal);
        let d = detail(&event);
        assert_eq!(
            d["removed"],
            json!({"schedules": ["dkim-example.com-2", "dkim-example.com-2-d1"],
                "records": ["a._domainkey.example.com"], "identity": true})
        );
        assert_eq!(d["leftAlone"], json!(["google._domainkey.example.com"]));
        assert_eq!(d["tenantId"], "t-1");
        assert_eq!(d["hostedZoneId"], "Z1");
        let mut reordered = removal.clone();
        reordered.schedules.reverse();
        assert_eq!(
            removed(&domain, None, None, &reordered).detail.outcome_id,
            event.detail.outcome_id
        );
        let nothing = removed(&domain, None, None, &Removal::default());
        assert!(Removal::default().is_empty());
        assert_ne!(nothing.detail.outcome_id, event.detail.outcome_id);
        let json = detail(&nothing);
        assert_eq!(
            json["removed"],
            json!({"schedules": [], "records": [], "identity": false})
        );
        assert!(json.get("leftAlone").is_none());
        let with_replicas = Removal {
            replica_regions: vec!["us-west-2".into(), "eu-west-1".into()],
            ..removal.clone()
        };
        let replicated = removed(&domain, None, None, &with_replicas);
        assert_eq!(
            detail(&replicated)["removed"]["replicaRegions"],
            json!(["eu-west-1", "us-west-2"])
        );
        assert_ne!(replicated.detail.outcome_id, event.detail.outcome_id);
    }

    #[test]
    fn outcome_ids_are_stable_and_distinct() {
        let a = OutcomeEvent::new(
            OutcomeKind::Verified,
            &["example.com", "t0"],
            OutcomeDetail::default(),
        );
        let b = OutcomeEvent::new(
            OutcomeKind::Verified,
            &["example.com", "t0"],
            OutcomeDetail::default(),
        );
        let c = OutcomeEvent::new(
            OutcomeKind::VerificationTimedOut,
            &["example.com", "t0"],
            OutcomeDetail::default(),
        );
        let d = OutcomeEvent::new(
            OutcomeKind::Verified,
            &["example.co", "mt0"],
            OutcomeDetail::default(),
        );
        assert_eq!(a.detail.outcome_id, b.detail.outcome_id);
        assert_ne!(a.detail.outcome_id, c.detail.outcome_id);
        assert_ne!(a.detail.outcome_id, d.detail.outcome_id);
        assert_eq!(a.detail.outcome_id.len(), 32);
    }

    #[test]
    fn details_leave_out_what_does_not_apply() {
        let event = OutcomeEvent::new(
            OutcomeKind::DomainRejected,
            &["x"],
            OutcomeDetail {
                domain: Some("com".into()),
                reason_code: Some("DomainRefused".into()),
                ..Default::default()
            },
        );
        let json: serde_json::Value = serde_json::from_str(&event.detail_json()).unwrap();
        assert_eq!(json["domain"], "com");
        assert_eq!(json["reasonCode"], "DomainRefused");
        assert!(json.get("tenantId").is_none() && json.get("tokens").is_none());
        assert_eq!(OutcomeKind::DomainRejected.detail_type(), "Domain Rejected");
    }

    #[test]
    fn sending_outcomes_tell_their_parts_and_dkim_only_repairs_keep_their_ids() {
        let zone = HostedZoneId::parse("Z1").unwrap();
        let tokens = DkimTokens::parse(&["a1", "b2", "c3"]).unwrap();
        let domain = DomainName::parse("example.com").unwrap();
        let restored = vec!["a1._domainkey.example.com".to_owned()];
        let dkim_only = drift_repaired(&domain, &zone, &tokens, &restored, &[], "run-1");
        assert!(!detail(&dkim_only)
            .as_object()
            .unwrap()
            .contains_key("sendingRecords"));
        let with_mx = drift_repaired(
            &domain,
            &zone,
            &tokens,
            &restored,
            &["bounce.example.com MX".to_owned()],
            "run-1",
        );
        assert_ne!(dkim_only.detail.outcome_id, with_mx.detail.outcome_id);
        assert_eq!(
            detail(&with_mx)["sendingRecords"][0],
            "bounce.example.com MX"
        );

        let now = t("2026-11-27T05:00:00Z");
        let parts =
            json!({"dkim": {"status": "Success"}, "mailFrom": null, "dmarc": {"state": "present"}});
        let none = Replicas {
            parent_region: "us-east-1",
            states: &[],
        };
        let ready = ready_to_send(&chain(), Some(&zone), parts.clone(), none, now);
        assert_eq!(ready.kind.detail_type(), "Domain Ready to Send");
        assert_eq!(detail(&ready)["parts"], parts);
        assert_eq!(detail(&ready)["tenantId"], "t-1");
        assert!(
            detail(&ready).get("replicas").is_none() && detail(&ready).get("sesRegion").is_none(),
            "no replica Region, nothing said of them"
        );
        let again = ready_to_send(&chain().next(), Some(&zone), parts.clone(), none, now);
        assert_eq!(
            ready.detail.outcome_id, again.detail.outcome_id,
            "once per chain"
        );
        let pending = [ReplicaState {
            region: "eu-west-1".into(),
            status: crate::core::replicas::ReplicaStatus::Pending,
            created: false,
            reason: None,
        }];
        let two = Replicas {
            parent_region: "us-east-1",
            states: &pending,
        };
        let with_replicas = ready_to_send(&chain(), Some(&zone), parts.clone(), two, now);
        assert_eq!(detail(&with_replicas)["sesRegion"], "us-east-1");
        assert_eq!(
            detail(&with_replicas)["replicas"],
            json!([{"region": "eu-west-1", "status": "pending", "created": false}])
        );
        assert_eq!(
            with_replicas.detail.outcome_id, ready.detail.outcome_id,
            "the replicas' states are news, not identity"
        );
        let why = Reason::new("RecordsConflict", "in the way");
        let not_ready = not_ready_to_send(&chain(), None, parts, why, two, now);
        assert_eq!(detail(&not_ready)["replicas"][0]["region"], "eu-west-1");
        assert_eq!(detail(&not_ready)["reasonCode"], "RecordsConflict");
        assert_ne!(not_ready.detail.outcome_id, ready.detail.outcome_id);

        let conflict = Conflict {
            name: "bounce.example.com".into(),
            record_type: crate::core::sending::RecordType::Mx,
            found: vec!["10 mx.example.net.".into()],
            wanted: "10 feedback-smtp.us-east-1.amazonses.com".into(),
        };
        let event = records_conflict(&domain, None, Some(&zone), &conflict);
        assert_eq!(event.kind.detail_type(), "Domain Records Conflict");
        assert_eq!(detail(&event)["conflict"]["type"], "MX");
        assert_eq!(detail(&event)["conflict"]["found"][0], "10 mx.example.net.");
        let same = records_conflict(&domain, None, Some(&zone), &conflict);
        assert_eq!(
            event.detail.outcome_id, same.detail.outcome_id,
            "seen again, same id"
        );
    }

    #[test]
    fn a_key_change_is_told_once_a_day_with_both_lengths() {
        let now = Utc::now();
        let domain = DomainName::parse("example.com").unwrap();
        let tokens = DkimTokens::parse(&["aaaa", "bbbb", "cccc"]).unwrap();
        let after = Signing {
            current_key_length: Some(KeyLength::Rsa1024),
            next_key_length: Some(KeyLength::Rsa2048),
            ..Signing::default()
        };
        let (from, to) = (KeyLength::Rsa1024, KeyLength::Rsa2048);
        let event = key_upgraded(&domain, None, None, &tokens, from, &after, to, now);
        assert_eq!(event.kind.detail_type(), "DKIM Key Upgraded");
        let d: serde_json::Value = serde_json::from_str(&event.detail_json()).unwrap();
        assert_eq!(
            d["keyLength"],
            json!({"current": "RSA_1024_BIT", "next": "RSA_2048_BIT", "previousNext": "RSA_1024_BIT"})
        );
        let again = key_upgraded(&domain, None, None, &tokens, from, &after, to, now);
        assert_eq!(event.detail.outcome_id, again.detail.outcome_id);
        let tomorrow = now + chrono::TimeDelta::days(1);
        let later = key_upgraded(&domain, None, None, &tokens, from, &after, to, tomorrow);
        assert_ne!(event.detail.outcome_id, later.detail.outcome_id);
    }

    #[test]
    fn replica_states_are_news_only_when_they_change() {
        use crate::core::replicas::ReplicaStatus;
        let state = |region: &str, status| ReplicaState {
            region: region.into(),
            status,
            created: true,
            reason: None,
        };
        let domain = DomainName::parse("example.com").unwrap();
        let pending = [state("us-west-2", ReplicaStatus::Pending)];
        let verified = [state("us-west-2", ReplicaStatus::Verified)];
        let first = replicas_verified(&domain, None, "us-east-1", &pending);
        let again = replicas_verified(&domain, None, "us-east-1", &pending);
        let later = replicas_verified(&domain, None, "us-east-1", &verified);
        assert_eq!(first.kind.detail_type(), "DKIM Replicas Verified");
        assert_eq!(first.detail.outcome_id, again.detail.outcome_id);
        assert_ne!(first.detail.outcome_id, later.detail.outcome_id);
        let detail: serde_json::Value = serde_json::from_str(&later.detail_json()).unwrap();
        assert_eq!(detail["sesRegion"], "us-east-1");
        assert_eq!(
            detail["replicas"],
            json!([{"region": "us-west-2", "status": "verified", "created": true}])
        );
    }
}
