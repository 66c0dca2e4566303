//! The use cases, each told as a story: onboard a domain; check on it later.

mod check;
mod onboard;
mod publish;
mod zones;

pub use check::check;
pub use onboard::onboard;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::aws::{Aws, AwsError};
use crate::config::Settings;
use crate::core::records::CnameRecord;
use crate::core::rejection::{RejectReason, Rejection};

/// What one invocation works with. `now` is an input so time can be tested.
pub struct Context<'a> {
    pub aws: &'a Aws,
    pub settings: &'a Settings,
    /// This function's ARN, the target of every follow-up schedule.
    pub function_arn: &'a str,
    pub now: DateTime<Utc>,
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
    RetryLater {
        domain: String,
        reason: String,
        follow_up: FollowUpRef,
    },
    Verified {
        domain: String,
        attempt: u32,
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
