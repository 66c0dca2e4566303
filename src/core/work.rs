//! Work: what one invocation does, whichever trigger brought it. Every kind can be
//! done again from scratch (each step is idempotent), so a transient failure puts the
//! same work off into a schedule (`deferral`) and the dispatcher runs it again later.

use chrono::{DateTime, Utc};

use super::chain::FollowUp;
use super::ids::{DomainName, HostedZoneId, TenantId};
use super::reconcile::ReconcileRun;
use super::request::{OffboardRequest, OnboardRequest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    Onboard {
        request: OnboardRequest,
        /// When the first attempt began: the follow-up's deadline counts from here.
        started_at: DateTime<Utc>,
    },
    /// One look of a follow-up chain.
    FollowUp(FollowUp),
    Offboard {
        request: OffboardRequest,
        /// When the offboarding was first asked for: chains started before it end.
        requested_at: DateTime<Utc>,
    },
    /// A reconcile page; the run carries its own cursor.
    Reconcile(ReconcileRun),
    /// DEED replicas of a verified parent still to settle, in these Regions only: a
    /// Region SES would not answer (or still reports pending) comes back alone.
    Replicate {
        domain: DomainName,
        tenant_id: Option<TenantId>,
        regions: Vec<String>,
        /// When the replicas were first asked for.
        requested_at: DateTime<Utc>,
    },
}

impl Work {
    /// The domain the work is about; a reconcile is about the whole account.
    pub fn domain(&self) -> Option<&DomainName> {
        match self {
            Self::Onboard { request, .. } => Some(&request.domain),
            Self::FollowUp(follow_up) => Some(follow_up.domain()),
            Self::Offboard { request, .. } => Some(&request.domain),
            Self::Replicate { domain, .. } => Some(domain),
            Self::Reconcile(_) => None,
        }
    }

    /// The hosted zone the work names: the trigger's, or the chain's.
    pub fn zone(&self) -> Option<&HostedZoneId> {
        match self {
            Self::Onboard { request, .. } => request.hosted_zone_id.as_ref(),
            Self::FollowUp(follow_up) => follow_up.hosted_zone_id(),
            Self::Offboard { request, .. } => request.hosted_zone_id.as_ref(),
            Self::Replicate { .. } | Self::Reconcile(_) => None,
        }
    }

    pub fn tenant_id(&self) -> Option<&TenantId> {
        match self {
            Self::Onboard { request, .. } => request.tenant_id.as_ref(),
            Self::FollowUp(follow_up) => follow_up.chain().tenant_id.as_ref(),
            Self::Offboard { request, .. } => request.tenant_id.as_ref(),
            Self::Replicate { tenant_id, .. } => tenant_id.as_ref(),
            Self::Reconcile(_) => None,
        }
    }

    /// `onboard`, `check`, `offboard`, `replicate` or `reconcile`, for responses, logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Onboard { .. } => "onboard",
            Self::FollowUp(_) => "check",
            Self::Offboard { .. } => "offboard",
            Self::Replicate { .. } => "replicate",
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

    /// When the work began: a chain's onboarding, an onboarding's or offboarding's
    /// first attempt. `None` for a reconcile page.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Onboard { started_at, .. } => Some(*started_at),
            Self::FollowUp(f) => Some(f.chain().onboarding_started_at),
            Self::Offboard { requested_at, .. } | Self::Replicate { requested_at, .. } => {
                Some(*requested_at)
            }
            Self::Reconcile(_) => None,
        }
    }
}
