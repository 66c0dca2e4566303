//! What an invocation answers: what happened, in a form a person or a workflow can
//! read. It is also the source of the `Outcome` and `ReasonCode` metric dimensions.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::records::CnameRecord;

/// The invocation's response: what happened, in a form a person or a workflow can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Response {
    Published {
        domain: String,
        hosted_zone_id: String,
        records: Vec<CnameRecord>,
        follow_up: FollowUpRef,
    },
    /// The records were handed to the tenant (`DKIM Records Required`).
    HandedOver {
        domain: String,
        records: Vec<crate::core::handover::HandedOverRecord>,
        follow_up: FollowUpRef,
    },
    /// Handed-over records SES has not found yet; `checks` when this check looked
    /// them up (`reported`: a `DKIM Records Pending` event went out).
    AwaitingRecords {
        domain: String,
        dkim_status: String,
        reported: bool,
        checks: Vec<crate::core::handover::RecordCheck>,
        follow_up: FollowUpRef,
    },
    RetryLater {
        domain: String,
        reason: String,
        follow_up: FollowUpRef,
    },
    Verified {
        domain: String,
        attempt: u32,
        /// From the start of onboarding to this check.
        elapsed_seconds: i64,
    },
    /// DKIM is verified; SES is asked to use the custom MAIL FROM domain and the
    /// chain watches it (`mail_from_status`: SES's, `None` just after it was set).
    AwaitingMailFrom {
        domain: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        mail_from_status: Option<String>,
        /// `name TYPE` of each sending record set written by this look.
        written_records: Vec<String>,
        follow_up: FollowUpRef,
    },
    /// Every configured part holds (`Domain Ready to Send`).
    ReadyToSend {
        domain: String,
        parts: serde_json::Value,
    },
    /// DKIM is verified but a part will not hold without someone's help.
    NotReadyToSend {
        domain: String,
        reason_code: String,
        reason: String,
        parts: serde_json::Value,
    },
    /// DEED replicas a deferral brought back, all settled now (verified or refused).
    Replicated {
        domain: String,
        replicas: serde_json::Value,
    },
    Waiting {
        domain: String,
        dkim_status: String,
        restored_records: Vec<String>,
        removed_records: Vec<String>,
        follow_up: FollowUpRef,
    },
    Restarted {
        domain: String,
        dkim_status: String,
        tokens_changed: bool,
        restored_records: Vec<String>,
        removed_records: Vec<String>,
        follow_up: FollowUpRef,
    },
    Failed {
        domain: String,
        reason: String,
    },
    TimedOut {
        domain: String,
        reason: String,
    },
    Rejected {
        domain: Option<String>,
        reason_code: String,
        reason: String,
    },
    Ignored {
        reason: String,
    },
    /// AWS would not let the work finish now; a schedule brings it back.
    Deferred {
        domain: String,
        work: &'static str,
        deferrals: u32,
        reason_code: String,
        reason: String,
        schedule: FollowUpRef,
    },
    /// Out of scope, or its zone opted out: nothing was changed.
    Skipped {
        domain: String,
        reason_code: String,
        reason: String,
    },
    /// An offboarding: what it removed (nothing, on a second delivery); also a
    /// check whose chain an offboarding ended (its own schedules and records).
    Removed {
        domain: String,
        removed_schedules: Vec<String>,
        removed_records: Vec<String>,
        identity_deleted: bool,
        /// The Regions whose DEED replica was deleted (before the identity).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        removed_replicas: Vec<String>,
        /// Records at DKIM names that were not exactly SES's: left in place.
        left_alone: Vec<String>,
    },
    /// A reconcile page is done; the run goes on in `schedule`.
    ReconcileContinues {
        run_id: String,
        pages: u32,
        counts: crate::core::reconcile::ReconcileCounts,
        schedule: FollowUpRef,
    },
    ReconcileFinished {
        run_id: String,
        dry_run: bool,
        pages: u32,
        counts: crate::core::reconcile::ReconcileCounts,
        planned: Vec<crate::core::reconcile::Planned>,
    },
    /// Deferred as often as allowed; reported as failed.
    DeferralsExhausted {
        domain: String,
        work: &'static str,
        deferrals: u32,
        reason: String,
    },
}

impl Response {
    /// The `Outcome` dimension of the metrics.
    pub fn metric_outcome(&self) -> &'static str {
        match self {
            Self::Published { .. } => "published",
            Self::RetryLater { .. } => "retryLater",
            Self::HandedOver { .. } => "handedOver",
            Self::AwaitingRecords { .. } => "awaitingRecords",
            Self::Verified { .. } => "verified",
            Self::Waiting { .. } => "waiting",
            Self::AwaitingMailFrom { .. } => "awaitingMailFrom",
            Self::ReadyToSend { .. } => "readyToSend",
            Self::NotReadyToSend { .. } => "notReadyToSend",
            Self::Restarted { .. } => "restarted",
            Self::Failed { .. } => "verificationFailed",
            Self::TimedOut { .. } => "timedOut",
            Self::Rejected { .. } => "rejected",
            Self::Ignored { .. } => "ignored",
            Self::Deferred { .. } => "deferred",
            Self::DeferralsExhausted { .. } => "deferralsExhausted",
            Self::Skipped { .. } => "skipped",
            Self::Removed { .. } => "removed",
            Self::Replicated { .. } => "replicated",
            Self::ReconcileContinues { .. } => "reconcileContinues",
            Self::ReconcileFinished { .. } => "reconcileFinished",
        }
    }

    /// The `ReasonCode` dimension, where one applies.
    pub fn reason_code(&self) -> Option<&str> {
        match self {
            Self::Rejected { reason_code, .. }
            | Self::Deferred { reason_code, .. }
            | Self::Skipped { reason_code, .. }
            | Self::NotReadyToSend { reason_code, .. } => Some(reason_code),
            _ => None,
        }
    }
}

/// The follow-up schedule an invocation created (or found already there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpRef {
    pub schedule_name: String,
    pub schedule_group: String,
    pub at: DateTime<Utc>,
    pub attempt: u32,
    pub already_scheduled: bool,
}
