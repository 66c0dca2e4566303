//! Onboarding: a new domain appeared. Find its zone, ask SES for Easy DKIM tokens,
//! publish the three CNAMEs and schedule the first check.

use chrono::{DateTime, Utc};
use tracing::info;

use super::publish::{announce, schedule, wanted_records, Reason};
use super::zones::find_zone;
use super::{Context, Response, Stop};
use crate::aws::route53::RecordChange;
use crate::core::follow_up::{FollowUp, ScheduleName, Stage};
use crate::core::inbound::OnboardRequest;
use crate::core::outcome::OutcomeKind;
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::zone::{HostedZoneId, ZoneProblem};

/// `started_at`: when this onboarding first began (earlier than now when it was deferred).
pub async fn onboard(
    cx: &Context<'_>,
    request: OnboardRequest,
    started_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let follow_up = FollowUp {
        stage: Stage::Verify,
        domain: request.domain,
        hosted_zone_id: request.hosted_zone_id,
        tenant_id: request.tenant_id,
        attempt: 1,
        restarts: 0,
        onboarding_started_at: started_at,
        published_tokens: None,
    };
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str());
    // The zone comes first: a domain we cannot publish for must not become an SES identity.
    let zone = find_zone(cx, &follow_up.domain, follow_up.hosted_zone_id.as_ref())
        .await
        .map_err(|e| Stop::aws(e, &follow_up.domain, tenant))?;
    match zone {
        Ok(zone) => publish_and_schedule(cx, follow_up, zone.id).await,
        Err(problem @ ZoneProblem::NoneFound { .. }) if request.trigger.zone_may_appear_later() => {
            let at = cx.now + cx.settings.policy.first_check_delay;
            wait_for_zone(
                cx,
                FollowUp {
                    stage: Stage::AwaitZone,
                    ..follow_up
                },
                Some(at),
                problem,
            )
            .await
        }
        Err(problem) => Err(Stop::Rejected(Rejection {
            domain: Some(follow_up.domain.to_string()),
            tenant_id: tenant.map(str::to_owned),
            reason: RejectReason::Zone(problem),
        })),
    }
}

/// Tokens from SES, then the records and the first check at once: both need only
/// the tokens and the zone.
pub(super) async fn publish_and_schedule(
    cx: &Context<'_>,
    follow_up: FollowUp,
    zone: HostedZoneId,
) -> Result<Response, Stop> {
    let domain = follow_up.domain.clone();
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let stop = |e| Stop::aws(e, &domain, tenant.as_deref());
    let tokens = cx.aws.ses.verify_domain_dkim(&domain).await.map_err(stop)?;
    let follow_up = FollowUp {
        stage: Stage::Verify,
        hosted_zone_id: Some(zone.clone()),
        published_tokens: Some(tokens.clone()),
        ..follow_up
    };
    let records = wanted_records(cx, &follow_up, &tokens);
    let upserts: Vec<_> = records.iter().map(|r| (RecordChange::Upsert, r)).collect();
    let first_check_at = cx.now + cx.settings.policy.first_check_delay;
    let (written, scheduled) = tokio::join!(
        cx.aws
            .route53
            .change(&zone, &upserts, "dkim-autopilot: Easy DKIM records"),
        schedule(cx, &follow_up, first_check_at),
    );
    if let (Err(write_error), Ok(follow_up_ref)) = (&written, &scheduled) {
        if !write_error.transient && !follow_up_ref.already_scheduled {
            // The records will never be there: do not leave a check behind for them.
            let name = ScheduleName::for_follow_up(&domain, follow_up.attempt);
            let _ = cx
                .aws
                .scheduler
                .delete(&name, &cx.settings.schedule_group)
                .await;
        }
    }
    written.map_err(stop)?;
    let follow_up_ref = scheduled.map_err(stop)?;
    announce(
        cx,
        OutcomeKind::RecordsPublished,
        &follow_up,
        Some(&tokens),
        None,
        None,
    )
    .await
    .map_err(stop)?;
    info!(
        domain = %domain,
        tenant_id = tenant.as_deref(),
        hosted_zone_id = %zone,
        schedule = %follow_up_ref.schedule_name,
        first_check_at = %follow_up_ref.at,
        "DKIM records published"
    );
    Ok(Response::Published {
        domain: domain.to_string(),
        hosted_zone_id: zone.to_string(),
        records,
        follow_up: follow_up_ref,
    })
}

/// No zone yet (a registration creates it asynchronously): look again at `at`,
/// or give up when the window has closed (`None`).
pub(super) async fn wait_for_zone(
    cx: &Context<'_>,
    follow_up: FollowUp,
    at: Option<DateTime<Utc>>,
    problem: ZoneProblem,
) -> Result<Response, Stop> {
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let policy = &cx.settings.policy;
    let Some(at) = at else {
        let reason = format!(
            "{problem}; gave up {} hours after onboarding started",
            policy.verification_window.num_hours()
        );
        announce(
            cx,
            OutcomeKind::VerificationTimedOut,
            &follow_up,
            None,
            None,
            Some(Reason::new("NoHostedZone", reason.clone())),
        )
        .await
        .map_err(|e| Stop::aws(e, &follow_up.domain, tenant.as_deref()))?;
        return Ok(Response::TimedOut {
            domain: follow_up.domain.to_string(),
            reason,
        });
    };
    let follow_up_ref = schedule(cx, &follow_up, at)
        .await
        .map_err(|e| Stop::aws(e, &follow_up.domain, tenant.as_deref()))?;
    info!(domain = %follow_up.domain, retry_at = %at, "no hosted zone yet; onboarding will be retried");
    Ok(Response::RetryLater {
        domain: follow_up.domain.to_string(),
        reason: problem.to_string(),
        follow_up: follow_up_ref,
    })
}
