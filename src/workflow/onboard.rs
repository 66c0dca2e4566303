//! Onboarding: a new domain appeared. Find its zone, ask SES for Easy DKIM tokens,
//! publish the three CNAMEs and schedule the first check. A domain whose DNS lives
//! elsewhere (`dnsMode` external, or auto without a zone) has its records handed over.

use chrono::{DateTime, Utc};

use super::handover::hand_over;
use super::publish::{publish_and_schedule, skip, wait_for_zone};
use super::zones::{find_usable_zone, Usable};
use super::{Context, Response, Stop};
use crate::core::follow_up::{FollowUp, Stage};
use crate::core::inbound::{OnboardRequest, Trigger};
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::request::DnsMode;
use crate::core::scope::Skip;
use crate::core::zone::ZoneProblem;

/// `started_at`: when this onboarding first began (earlier than now when it was deferred).
pub async fn onboard(
    cx: &Context<'_>,
    request: OnboardRequest,
    started_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let follow_up = FollowUp {
        stage: Stage::Verify,
        dns_mode: DnsMode::Route53,
        domain: request.domain,
        hosted_zone_id: request.hosted_zone_id,
        tenant_id: request.tenant_id,
        attempt: 1,
        restarts: 0,
        onboarding_started_at: started_at,
        published_tokens: None,
    };
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str());
    let stop = |e| Stop::aws(e, &follow_up.domain, tenant);
    if let Err(out_of_scope) = cx.settings.scope.check(&follow_up.domain) {
        return skip(
            cx,
            &follow_up.domain,
            follow_up.tenant_id.as_ref(),
            None,
            out_of_scope,
        )
        .await
        .map_err(stop);
    }
    // Only an application's own event may hand records over; AWS's triggers mean Route 53.
    let mode = match request.trigger {
        Trigger::Custom { .. } => request.dns_mode.unwrap_or(cx.settings.default_dns_mode),
        _ => DnsMode::Route53,
    };
    if mode == DnsMode::External {
        return hand_over(cx, follow_up).await;
    }
    // The zone comes first: a domain we cannot publish for must not become an SES identity.
    let zone = find_usable_zone(cx, &follow_up.domain, follow_up.hosted_zone_id.as_ref())
        .await
        .map_err(stop)?;
    match zone {
        Err(ZoneProblem::NoneFound { .. }) if mode == DnsMode::Auto => {
            hand_over(cx, follow_up).await
        }
        Ok(Usable::Yes(zone)) => publish_and_schedule(cx, follow_up, zone.id).await,
        Ok(Usable::OptedOut(zone)) => skip(
            cx,
            &follow_up.domain,
            follow_up.tenant_id.as_ref(),
            Some(&zone.id),
            Skip::ZoneOptedOut {
                zone_id: zone.id.clone(),
            },
        )
        .await
        .map_err(stop),
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
