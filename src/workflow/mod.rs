//! The use cases, each told as a story: onboard a domain; check on it later; put
//! off what AWS would not let finish now.

mod check;
mod defer;
mod handover;
mod offboard;
mod onboard;
mod publish;
mod reconcile;
mod zones;

pub use check::check;
pub use defer::defer;
pub use offboard::offboard;
pub use onboard::onboard;
pub use reconcile::reconcile;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::aws::{Aws, AwsError};
use crate::config::Settings;
use crate::core::deferral::Work;
use crate::core::records::CnameRecord;
use crate::core::rejection::{RejectReason, Rejection};

/// What one invocation works with. `now` is an input so time can be tested.
pub struct Context<'a> {
    pub aws: &'a Aws,
    pub settings: &'a Settings,
    /// This function's ARN, the target of every follow-up schedule.
    pub function_arn: &'a str,
    pub now: DateTime<Utc>,
    /// When the invocation must have answered (Lambda's deadline); `None`: no limit.
    /// Long work (a reconcile page) stops in time and hands the rest to a schedule.
    pub deadline: Option<std::time::Instant>,
    /// Public DNS, where handed-over records are looked up.
    pub dns: &'a crate::dns::PublicDns,
}

/// Why a workflow stopped short.
#[derive(Debug)]
pub enum Stop {
    /// Permanent: report it and acknowledge the event.
    Rejected(Rejection),
    /// Fail the invocation so Lambda delivers it again.
    Transient(AwsError),
}

impl Stop {
    /// AWS errors, sorted into retry or reject, about this domain.
    pub fn aws(err: AwsError, domain: &impl ToString, tenant: Option<&str>) -> Self {
        if err.transient {
            return Self::Transient(err);
        }
        Self::Rejected(Rejection {
            domain: Some(domain.to_string()),
            tenant_id: tenant.map(str::to_owned),
            reason: RejectReason::Aws {
                operation: err.operation,
                code: err.code,
                message: err.message,
            },
        })
    }
}

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
            Self::Restarted { .. } => "restarted",
            Self::Failed { .. } => "verificationFailed",
            Self::TimedOut { .. } => "timedOut",
            Self::Rejected { .. } => "rejected",
            Self::Ignored { .. } => "ignored",
            Self::Deferred { .. } => "deferred",
            Self::DeferralsExhausted { .. } => "deferralsExhausted",
            Self::Skipped { .. } => "skipped",
            Self::Removed { .. } => "removed",
            Self::ReconcileContinues { .. } => "reconcileContinues",
            Self::ReconcileFinished { .. } => "reconcileFinished",
        }
    }

    /// The `ReasonCode` dimension, where one applies.
    pub fn reason_code(&self) -> Option<&str> {
        match self {
            Self::Rejected { reason_code, .. }
            | Self::Deferred { reason_code, .. }
            | Self::Skipped { reason_code, .. } => Some(reason_code),
            _ => None,
        }
    }
}

/// Do one piece of work: an onboarding, a check, an offboarding or a reconcile page.
pub async fn run(cx: &Context<'_>, work: Work) -> Result<Response, Stop> {
    match work {
        Work::Onboard {
            request,
            started_at,
        } => onboard(cx, request, started_at).await,
        Work::FollowUp(follow_up) => check(cx, follow_up).await,
        Work::Offboard {
            request,
            requested_at,
        } => offboard(cx, request, requested_at).await,
        Work::Reconcile(run) => reconcile(cx, run).await,
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
