//! Onboarding: a new domain appeared. Find its zone, ask SES for Easy DKIM tokens,
//! publish the three CNAMEs and schedule the first check.

use chrono::{DateTime, Utc};

use super::publish::{publish_and_schedule, wait_for_zone};
use super::zones::find_zone;
use super::{Context, Response, Stop};
use crate::core::follow_up::{FollowUp, Stage};
use crate::core::inbound::OnboardRequest;
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::zone::ZoneProblem;

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
