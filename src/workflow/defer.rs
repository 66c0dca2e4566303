//! Deferral: AWS would not let the work finish now (throttled, or a fault that
//! outlasted the SDK's retries). A one-time schedule brings the same work back
//! later; work put off too often is reported as failed instead.

use tracing::{error, warn};

use super::publish::{announce, create_schedule, Reason};
use super::{Context, Response};
use crate::aws::AwsError;
use crate::core::deferral::{schedule_name, DeferralDecision, Deferred, Work};
use crate::core::follow_up::{FollowUp, Stage};
use crate::core::outcome::OutcomeKind;

/// Put `deferred` off after `err`. An `Err` means even that failed: the invocation
/// must fail so that Lambda retries it (and, in the end, keeps it in its failure queue).
pub async fn defer(
    cx: &Context<'_>,
    deferred: Deferred,
    err: AwsError,
) -> Result<Response, AwsError> {
    let domain = deferred.work.subject();
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
        Work::FollowUp(follow_up) => follow_up.attempt,
        _ => 0,
    };
    let schedule = create_schedule(
        cx,
        &schedule_name(&next.work, deferral),
        at,
        next.to_input(),
        format!(
            "dkim-autopilot: {kind} {domain} again after {} {} (deferral {deferral})",
            err.operation, err.code
        ),
        attempt,
    )
    .await
    .inspect_err(|e| {
        error!(domain, work = kind, code = %e.code, message = %e.message, "could not defer the work either; the invocation fails so Lambda retries it");
    })?;
    warn!(domain, work = kind, deferral, operation = err.operation, code = %err.code, message = %err.message, at = %schedule.at, "AWS would not let the work finish now; deferred");
    Ok(Response::Deferred {
        domain,
        work: kind,
        deferrals: deferral,
        reason_code: err.code.clone(),
        reason: err.to_string(),
        schedule,
    })
}

/// Deferred as often as allowed: tell subscribers it failed, and stop.
async fn give_up(
    cx: &Context<'_>,
    deferred: Deferred,
    err: AwsError,
) -> Result<Response, AwsError> {
    let domain = deferred.work.subject();
    let kind = deferred.work.kind();
    let reason = format!(
        "gave up after {} deferrals; the last attempt failed with {err}",
        deferred.deferrals
    );
    error!(domain, work = kind, deferrals = deferred.deferrals, %reason, "deferrals exhausted");
    // A domain's subscribers hear of it; an offboarding or a reconcile page that
    // never got through shows in the metrics and their alarm.
    if let Some(about) = about(deferred.work) {
        announce(
            cx,
            OutcomeKind::VerificationFailed,
            &about,
            about.published_tokens.as_ref(),
            None,
            Some(Reason::new("DeferralsExhausted", reason.clone())),
        )
        .await?;
    }
    Ok(Response::DeferralsExhausted {
        domain,
        work: kind,
        deferrals: deferred.deferrals,
        reason,
    })
}

/// The follow-up an outcome event describes; an onboarding is attempt 0 of its chain.
fn about(work: Work) -> Option<FollowUp> {
    match work {
        Work::FollowUp(follow_up) => Some(follow_up),
        Work::Offboard { .. } | Work::Reconcile(_) => None,
        Work::Onboard {
            request,
            started_at,
        } => Some(FollowUp {
            stage: Stage::Verify,
            dns_mode: crate::core::request::DnsMode::Route53,
            domain: request.domain,
            hosted_zone_id: request.hosted_zone_id,
            tenant_id: request.tenant_id,
            attempt: 0,
            restarts: 0,
            onboarding_started_at: started_at,
            published_tokens: None,
        }),
    }
}
