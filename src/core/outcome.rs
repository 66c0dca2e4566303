//! What happened, told twice: as the invocation's response and as an EventBridge
//! event that other systems (a SaaS onboarding workflow) can wait for.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
