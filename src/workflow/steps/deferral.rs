//! Deferral, the shared mechanism: AWS would not let the work finish now (throttled,
//! or a fault that outlasted the SDK's retries). A one-time schedule brings the same
//! work back later; work put off too often is reported as failed instead.

use tracing::{error, warn};

use super::super::{Context, Response};
use super::outcomes::send;
use super::schedules;
use crate::aws::AwsError;
use crate::core::chain::Chain;
use crate::core::deferral::{DeferralDecision, Deferred};
use crate::core::outcome::{verification_failed, Reason};
use crate::core::schedule::ScheduleName;
use crate::core::work::Work;

/// Put `deferred` off after `err`. An `Err` means even that failed: the invocation
/// must fail so that Lambda retries it (and, in the end, keeps it in its failure queue).
pub async fn defer(
    cx: &Context<'_>,
    deferred: Deferred,
    err: AwsError,
) -> Result<Response, AwsError> {
    let subject = deferred.work.subject();
    let kind = deferred.work.kind();
    let (at, deferral) = match cx.settings.deferral.decide(&deferred, cx.now) {
        DeferralDecision::DeferUntil { at, deferral } => (at, deferral),
        DeferralDecision::GiveUp => return give_up(cx, deferred, err).await,
    };
    let next = Deferred {
        deferrals: deferral,
        last_error: Some(format!("{} {}", err.operation, err.code)),
        ..deferred
    };
    let attempt = match &next.work {
        Work::FollowUp(follow_up) => follow_up.chain().attempt,
        _ => 0,
    };
    let schedule = schedules::create(
        cx,
        &ScheduleName::for_deferral(&next.work, deferral),
        at,
        next.to_input(),
        format!(
            "dkim-autopilot: {kind} {subject} again after {} {} (deferral {deferral})",
            err.operation, err.code
        ),
        attempt,
    )
    .await
    .inspect_err(|e| {
        error!(domain = subject, work = kind, code = %e.code, message = %e.message, "could not defer the work either; the invocation fails so Lambda retries it");
    })?;
    warn!(domain = subject, work = kind, deferral, operation = err.operation, code = %err.code, message = %err.message, at = %schedule.at, "AWS would not let the work finish now; deferred");
    Ok(Response::Deferred {
        domain: subject,
        work: kind,
        deferrals: deferral,
        reason_code: err.code.clone(),
        reason: err.to_string(),
        schedule,
    })
}

/// Deferred as often as allowed: tell subscribers it failed, and stop. A domain's
/// subscribers hear of it; an offboarding or a reconcile page that never got through
/// shows in the metrics and their alarm.
async fn give_up(
    cx: &Context<'_>,
    deferred: Deferred,
    err: AwsError,
) -> Result<Response, AwsError> {
    let subject = deferred.work.subject();
    let kind = deferred.work.kind();
    let reason = format!(
        "gave up after {} deferrals; the last attempt failed with {err}",
        deferred.deferrals
    );
    error!(domain = subject, work = kind, deferrals = deferred.deferrals, %reason, "deferrals exhausted");
    let about = match &deferred.work {
        Work::FollowUp(follow_up) => Some(follow_up.chain().clone()),
        // An onboarding is look 0 of its chain.
        Work::Onboard {
            request,
            started_at,
        } => Some(Chain {
            attempt: 0,
            ..Chain::starting(
                request.domain.clone(),
                request.tenant_id.clone(),
                *started_at,
            )
        }),
        // A replica Region that never settled: the parent is verified; the reconcile
        // tries the Region again.
        Work::Offboard { .. } | Work::Reconcile(_) | Work::Replicate { .. } => None,
    };
    if let Some(chain) = about {
        let tokens = match &deferred.work {
            Work::FollowUp(follow_up) => follow_up.tokens(),
            _ => None,
        };
        let why = Reason::new("DeferralsExhausted", reason.clone());
        let event = verification_failed(&chain, deferred.work.zone(), tokens, None, why, cx.now);
        send(cx, &event).await?;
    }
    Ok(Response::DeferralsExhausted {
        domain: subject,
        work: kind,
        deferrals: deferred.deferrals,
        reason,
    })
}
