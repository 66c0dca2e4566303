//! Hand-over: the domain's DNS is not ours to write. SES gets the identity, the
//! tenant gets the three records (`DKIM Records Required`), and the chain watches SES
//! as always; while SES still looks, each reporting look finds the records in public
//! DNS and tells the tenant which are missing or wrong (`DKIM Records Pending`).
//! Route 53 is never called.

use chrono::{DateTime, Utc};
use tracing::info;

use super::steps::chain::{conclude, look, verify_again, Look};
use super::steps::outcomes::send;
use super::steps::public_dns;
use super::steps::records::wanted;
use super::steps::schedules;
use super::steps::sending;
use super::steps::signing::{self, known_or_learned};
use super::{Context, Response, Stop};
use crate::aws::AwsError;
use crate::core::chain::{Chain, FollowUp};
use crate::core::handover::{count, records_report_due, HandedOverRecord, RecordCheck};
use crate::core::identity::DkimStatus;
use crate::core::outcome::{records_pending, records_required};
use crate::core::policy::Verdict;
use crate::core::records::DkimTokens;
use crate::core::request::OnboardRequest;

/// Onboarding with the records handed over: create the identity, hand the records
/// over and schedule the first check.
pub async fn hand_over(
    cx: &Context<'_>,
    request: OnboardRequest,
    started_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let stop = Stop::about(&request.domain, request.tenant_id.as_ref());
    let chain = Chain::starting(request.domain, request.tenant_id, started_at)
        .replicated_to(request.ses_regions);
    let tokens = cx
        .aws
        .ses
        .verify_domain_dkim(&chain.domain)
        .await
        .map_err(&stop)?;
    // The tenant is told where SES signs, not where a table thinks it does.
    let signing_zone = signing::learn(cx, &chain.domain).await.map_err(&stop)?;
    let chain = chain.signing_in(signing_zone);
    let follow_up = FollowUp::HandedOver {
        chain: chain.clone(),
        tokens: tokens.clone(),
    };
    let first_check_at = cx.now + cx.settings.policy.first_check_delay;
    let follow_up_ref = schedules::follow_up(cx, &follow_up, first_check_at)
        .await
        .map_err(&stop)?;
    let records = require(cx, &chain, &tokens).await.map_err(&stop)?;
    info!(domain = %chain.domain, tenant_id = chain.tenant(), schedule = %follow_up_ref.schedule_name, "DKIM records handed over");
    Ok(Response::HandedOver {
        domain: chain.domain.to_string(),
        records,
        follow_up: follow_up_ref,
    })
}

/// One look of a handed-over chain: `published` are the tokens handed over.
pub async fn check(
    cx: &Context<'_>,
    chain: Chain,
    published: DkimTokens,
) -> Result<Response, Stop> {
    let stop = Stop::about(&chain.domain, chain.tenant_id.as_ref());
    let this = FollowUp::HandedOver {
        chain: chain.clone(),
        tokens: published.clone(),
    };
    let state = match look(cx, &this).await.map_err(&stop)? {
        Look::Ended(response) => return Ok(response),
        Look::Current(state) => state,
    };
    let verdict = cx.settings.policy.judge(
        state.status,
        chain.onboarding_started_at,
        chain.attempt,
        chain.restarts,
        cx.now,
    );
    info!(domain = %chain.domain, tenant_id = chain.tenant(), attempt = chain.attempt, dkim_status = state.status.as_str(), verdict = ?verdict, "DKIM check");
    match verdict {
        Verdict::Done(conclusion) => conclude(cx, &chain, None, &published, &state, conclusion)
            .await
            .map_err(&stop),
        Verdict::KeepWaiting { next_check_at } => {
            keep_waiting(
                cx,
                chain,
                published,
                state.tokens,
                state.status,
                next_check_at,
            )
            .await
        }
        Verdict::Restart { next_check_at } => {
            restart(cx, chain, published, state.status, next_check_at).await
        }
    }
}

/// SES is still looking. Its tokens win (someone may have re-verified by hand: then
/// the tenant gets the new records); the records are looked up when a report is due.
async fn keep_waiting(
    cx: &Context<'_>,
    chain: Chain,
    published: DkimTokens,
    ses_tokens: Option<DkimTokens>,
    status: DkimStatus,
    next_check_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let stop = Stop::about(&chain.domain, chain.tenant_id.as_ref());
    let current = ses_tokens.unwrap_or_else(|| published.clone());
    let signing_zone = known_or_learned(cx, &chain.domain, chain.signing_zone.as_ref())
        .await
        .map_err(&stop)?;
    let zone_changed = signing_zone != chain.signing_zone && chain.signing_zone.is_some();
    let chain = chain.signing_in(signing_zone);
    let next = FollowUp::HandedOver {
        chain: chain.next(),
        tokens: current.clone(),
    };
    let report_due = records_report_due(chain.attempt, chain.onboarding_started_at, cx.now);
    let (checks, scheduled) = tokio::join!(
        async {
            match report_due {
                true => look_up(cx, &chain, &current).await,
                false => Vec::new(),
            }
        },
        schedules::follow_up(cx, &next, next_check_at)
    );
    let follow_up_ref = scheduled.map_err(&stop)?;
    if current != published || zone_changed {
        require(cx, next.chain(), &current).await.map_err(&stop)?;
    }
    if report_due {
        let event = records_pending(&chain, &current, status, &checks, cx.now);
        send(cx, &event).await.map_err(&stop)?;
    }
    Ok(Response::AwaitingRecords {
        domain: chain.domain.to_string(),
        dkim_status: status.as_str().to_owned(),
        reported: report_due,
        checks,
        follow_up: follow_up_ref,
    })
}

/// SES stopped looking: ask again; new tokens mean new records for the tenant.
async fn restart(
    cx: &Context<'_>,
    chain: Chain,
    published: DkimTokens,
    status: DkimStatus,
    next_check_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let stop = Stop::about(&chain.domain, chain.tenant_id.as_ref());
    let (fresh, signing_zone, tokens_changed) =
        verify_again(cx, &chain, &published).await.map_err(&stop)?;
    let zone_changed = signing_zone != chain.signing_zone;
    let next = FollowUp::HandedOver {
        chain: chain.restarted().signing_in(signing_zone),
        tokens: fresh.clone(),
    };
    let follow_up_ref = schedules::follow_up(cx, &next, next_check_at)
        .await
        .map_err(&stop)?;
    if tokens_changed || zone_changed {
        require(cx, next.chain(), &fresh).await.map_err(&stop)?;
    }
    info!(domain = %chain.domain, restarts = chain.restarts + 1, tokens_changed, "DKIM verification restarted (records handed over)");
    Ok(Response::Restarted {
        domain: chain.domain.to_string(),
        dkim_status: status.as_str().to_owned(),
        tokens_changed,
        restored_records: Vec::new(),
        removed_records: Vec::new(),
        follow_up: follow_up_ref,
    })
}

/// Each record looked up in public DNS, all at once, and judged.
async fn look_up(cx: &Context<'_>, chain: &Chain, tokens: &DkimTokens) -> Vec<RecordCheck> {
    let domain = &chain.domain;
    let dkim = wanted(cx, domain, tokens, chain.signing_zone.as_ref());
    let ((mut checks, slowest_ms), sending) = tokio::join!(
        public_dns::look_up(cx, &dkim),
        sending::in_public_dns(cx, domain)
    );
    checks.extend(sending);
    let counts = count(&checks);
    info!(domain = %chain.domain, present = counts.present, missing = counts.missing, wrong_value = counts.wrong_value, could_not_check = counts.could_not_check, slowest_ms, "DKIM records looked up in public DNS");
    checks
}

/// `DKIM Records Required`: the records the tenant must publish for these tokens.
async fn require(
    cx: &Context<'_>,
    chain: &Chain,
    tokens: &DkimTokens,
) -> Result<Vec<HandedOverRecord>, AwsError> {
    let mut records: Vec<HandedOverRecord> =
        wanted(cx, &chain.domain, tokens, chain.signing_zone.as_ref())
            .iter()
            .map(HandedOverRecord::from)
            .collect();
    records.extend(HandedOverRecord::sending(
        &cx.settings.sending,
        &chain.domain,
    ));
    send(cx, &records_required(chain, tokens, &records, cx.now)).await?;
    Ok(records)
}
