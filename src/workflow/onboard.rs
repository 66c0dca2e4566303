//! Onboarding into Route 53: a new domain appeared. Find its zone, ask SES for Easy
//! DKIM tokens, publish the three CNAMEs and schedule the first check. A registration
//! whose zone does not exist yet is looked for again on the check's backoff until its
//! window closes; `auto` without a zone hands the records over instead.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::steps::chain::{end, tombstone};
use super::steps::outcomes::send;
use super::steps::records::{self, wanted};
use super::steps::schedules;
use super::steps::scope::skip;
use super::steps::sending::{heal, observe, report_conflicts};
use super::steps::signing;
use super::steps::zones::{find_usable, Usable};
use super::{run_boxed, Context, Response, Stop};
use crate::aws::AwsError;
use crate::core::chain::{Chain, FollowUp};
use crate::core::ids::HostedZoneId;
use crate::core::outcome::{records_published, timed_out, Reason};
use crate::core::records::RecordRepair;
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::request::{DnsMode, OnboardRequest};
use crate::core::schedule::ScheduleName;
use crate::core::scope::Skip;
use crate::core::sending::desired::SendingPlan;
use crate::core::work::Work;
use crate::core::zone::ZoneProblem;

/// `started_at`: when this onboarding first began (earlier than now when it was
/// deferred). `mode`: `Route53`, or `Auto` (hand over when no zone holds the domain).
pub async fn onboard(
    cx: &Context<'_>,
    request: OnboardRequest,
    started_at: DateTime<Utc>,
    mode: DnsMode,
) -> Result<Response, Stop> {
    let stop = Stop::about(&request.domain, request.tenant_id.as_ref());
    // The zone comes first: a domain we cannot publish for must not become an SES identity.
    let zone = find_usable(cx, &request.domain, request.hosted_zone_id.as_ref())
        .await
        .map_err(&stop)?;
    let chain = Chain::starting(
        request.domain.clone(),
        request.tenant_id.clone(),
        started_at,
    )
    .replicated_to(request.ses_regions.clone());
    match zone {
        Err(ZoneProblem::NoneFound { .. }) if mode == DnsMode::Auto => {
            let request = request.handed_over();
            run_boxed(
                cx,
                Work::Onboard {
                    request,
                    started_at,
                },
            )
            .await
        }
        Ok(Usable::Yes(zone)) => publish(cx, chain, zone.id).await,
        Ok(Usable::Skipped(zone, why)) => skipped(cx, &chain, &zone.id, why).await,
        Err(problem @ ZoneProblem::NoneFound { .. }) if request.trigger.zone_may_appear_later() => {
            let at = cx.now + cx.settings.policy.first_check_delay;
            let named_zone = request.hosted_zone_id;
            wait_for_zone(cx, chain, named_zone, Some(at), problem).await
        }
        Err(problem) => Err(rejected(&chain, problem)),
    }
}

/// A look of a chain still waiting for its registration's hosted zone: it may exist by
/// now. The tombstone is read alongside the zone lookup, as every look reads it.
pub async fn look_for_zone_again(
    cx: &Context<'_>,
    chain: Chain,
    named_zone: Option<HostedZoneId>,
) -> Result<Response, Stop> {
    let stop = Stop::about(&chain.domain, chain.tenant_id.as_ref());
    let (zone, tombstone) = tokio::try_join!(
        find_usable(cx, &chain.domain, named_zone.as_ref()),
        tombstone(cx, &chain.domain)
    )
    .map_err(&stop)?;
    if let Some(tombstone) = tombstone.filter(|t| t.ends(chain.onboarding_started_at)) {
        let follow_up = FollowUp::AwaitingZone { chain, named_zone };
        return end(cx, &follow_up, &tombstone, None).await.map_err(&stop);
    }
    match zone {
        Ok(Usable::Yes(zone)) => publish(cx, chain.next(), zone.id).await,
        Ok(Usable::Skipped(zone, why)) => skipped(cx, &chain, &zone.id, why).await,
        Err(problem @ ZoneProblem::NoneFound { .. }) => {
            let policy = &cx.settings.policy;
            let at = policy.next_check_at(chain.onboarding_started_at, chain.attempt, cx.now);
            wait_for_zone(cx, chain.next(), named_zone, at, problem).await
        }
        Err(problem) => Err(rejected(&chain, problem)),
    }
}

/// Tokens from SES, then where SES wants them to point (the identity must exist
/// before SES v2 can say), then the records and the first check at once: both need
/// only the tokens, the signing zone and the hosted zone. `chain`: the look the first
/// check will be.
async fn publish(cx: &Context<'_>, chain: Chain, zone: HostedZoneId) -> Result<Response, Stop> {
    let stop = Stop::about(&chain.domain, chain.tenant_id.as_ref());
    let domain = chain.domain.clone();
    // The sending names are read while SES is asked: neither needs the other.
    let (asked, sending) = tokio::join!(
        async {
            let tokens = cx.aws.ses.verify_domain_dkim(&domain).await?;
            Ok::<_, AwsError>((tokens, signing::learn(cx, &domain).await?))
        },
        observe_sending(cx, &zone, &domain)
    );
    let (tokens, signing_zone) = asked.map_err(&stop)?;
    let chain = chain.signing_in(signing_zone);
    let records = wanted(cx, &domain, &tokens, chain.signing_zone.as_ref());
    let follow_up = FollowUp::Published {
        chain: chain.clone(),
        zone: zone.clone(),
        tokens: tokens.clone(),
    };
    let first_check_at = cx.now + cx.settings.policy.first_check_delay;
    let changes = RecordRepair::publish(records.clone());
    // The sending records go in their own batches beside DKIM's, never in its way.
    let (written, scheduled, ()) = tokio::join!(
        records::apply(cx, &zone, &changes, "Easy DKIM records"),
        schedules::follow_up(cx, &follow_up, first_check_at),
        write_sending(cx, &chain, &zone, sending),
    );
    if let (Err(write_error), Ok(follow_up_ref)) = (&written, &scheduled) {
        if !write_error.transient && !follow_up_ref.already_scheduled {
            // The records will never be there: do not leave a check behind for them.
            let name = ScheduleName::for_follow_up(&domain, chain.attempt);
            let _ = schedules::delete(cx, &name).await;
        }
    }
    written.map_err(&stop)?;
    let follow_up_ref = scheduled.map_err(&stop)?;
    send(cx, &records_published(&chain, &zone, &tokens, cx.now))
        .await
        .map_err(&stop)?;
    info!(
        domain = %domain,
        tenant_id = chain.tenant(),
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

/// What the sending names hold, when the sending records are on.
async fn observe_sending(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    domain: &crate::core::ids::DomainName,
) -> Option<Result<SendingPlan, AwsError>> {
    match cx.settings.sending.is_on() {
        true => Some(observe(cx, zone, domain).await),
        false => None,
    }
}

/// The MAIL FROM and DMARC records, when on: written now so SES and receivers find
/// them early; conflicts are reported. A failure here is only logged: DKIM goes on,
/// and the look that sees DKIM verified heals these records again.
async fn write_sending(
    cx: &Context<'_>,
    chain: &Chain,
    zone: &HostedZoneId,
    observed: Option<Result<SendingPlan, AwsError>>,
) {
    let Some(observed) = observed else {
        return;
    };
    let domain = &chain.domain;
    let written = async {
        let healed = heal(cx, zone, domain, observed?).await?;
        report_conflicts(
            cx,
            domain,
            chain.tenant_id.as_ref(),
            Some(zone),
            &healed.plan,
        )
        .await?;
        Ok::<_, AwsError>(healed)
    };
    match written.await {
        Ok(healed) => {
            info!(%domain, written = ?healed.written, left_out = ?healed.left_out, "sending records written")
        }
        Err(err) => {
            warn!(%domain, error = %err, "sending records not written now; the verified look heals them")
        }
    }
}

/// No zone yet (a registration creates it asynchronously): look again at `at`, or
/// give up when the window has closed (`None`). `chain`: the next look.
async fn wait_for_zone(
    cx: &Context<'_>,
    chain: Chain,
    named_zone: Option<HostedZoneId>,
    at: Option<DateTime<Utc>>,
    problem: ZoneProblem,
) -> Result<Response, Stop> {
    let stop = Stop::about(&chain.domain, chain.tenant_id.as_ref());
    let Some(at) = at else {
        let reason = format!(
            "{problem}; gave up {} hours after onboarding started",
            cx.settings.policy.verification_window.num_hours()
        );
        let why = Reason::new("NoHostedZone", reason.clone());
        let event = timed_out(&chain, named_zone.as_ref(), None, None, why, cx.now);
        send(cx, &event).await.map_err(&stop)?;
        return Ok(Response::TimedOut {
            domain: chain.domain.to_string(),
            reason,
        });
    };
    let domain = chain.domain.to_string();
    let follow_up = FollowUp::AwaitingZone { chain, named_zone };
    let follow_up_ref = schedules::follow_up(cx, &follow_up, at)
        .await
        .map_err(&stop)?;
    info!(domain, retry_at = %at, "no hosted zone yet; onboarding will be retried");
    Ok(Response::RetryLater {
        domain,
        reason: problem.to_string(),
        follow_up: follow_up_ref,
    })
}

/// The zone found is one this function must leave alone: nothing is written.
async fn skipped(
    cx: &Context<'_>,
    chain: &Chain,
    zone: &HostedZoneId,
    why: Skip,
) -> Result<Response, Stop> {
    let tenant = chain.tenant_id.as_ref();
    skip(cx, &chain.domain, tenant, Some(zone), why)
        .await
        .map_err(Stop::about(&chain.domain, tenant))
}

fn rejected(chain: &Chain, problem: ZoneProblem) -> Stop {
    Stop::Rejected(Rejection {
        domain: Some(chain.domain.to_string()),
        tenant_id: chain.tenant().map(str::to_owned),
        reason: RejectReason::Zone(problem),
    })
}
