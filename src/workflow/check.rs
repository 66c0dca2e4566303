//! The follow-up check of a domain whose records are in Route 53: did SES detect
//! them? Repair, restart or report, and schedule the next look until SES says Success
//! or the window closes.
//!
//! The scope gate has let the domain and its zone through (`run`). The offboarding
//! tombstone is read alongside the check's first AWS call (`steps::chain::look`). A
//! zone tagged off is never written: its tag is read only where the check would write
//! (a repair, a restart).

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::steps::chain::{conclude, look, verify_again, Look};
use super::steps::records::{self, names, wanted};
use super::steps::schedules;
use super::steps::scope::skip;
use super::steps::signing::known_or_learned;
use super::steps::zones::opted_out_tag;
use super::{Context, FollowUpRef, Response, Stop};
use crate::aws::AwsError;
use crate::core::chain::{Chain, FollowUp};
use crate::core::ids::HostedZoneId;
use crate::core::policy::Verdict;
use crate::core::records::{plan_repair, DkimTokens, RecordRepair};
use crate::core::schedule::ScheduleName;
use crate::core::scope::Skip;

/// One look: `published` are the tokens whose records the chain wrote into `zone`.
pub async fn check(
    cx: &Context<'_>,
    chain: Chain,
    zone: HostedZoneId,
    published: DkimTokens,
) -> Result<Response, Stop> {
    let stop = Stop::about(&chain.domain, chain.tenant_id.as_ref());
    // What an offboarding that overtook the chain would remove.
    let this = FollowUp::Published {
        chain: chain.clone(),
        zone: zone.clone(),
        tokens: published.clone(),
    };
    let state = match look(cx, &this).await.map_err(&stop)? {
        Look::Ended(response) => return Ok(response),
        Look::Current(state) => state,
    };
    let status = state.status.as_str();
    let verdict = cx.settings.policy.judge(
        state.status,
        chain.onboarding_started_at,
        chain.attempt,
        chain.restarts,
        cx.now,
    );
    info!(domain = %chain.domain, tenant_id = chain.tenant(), attempt = chain.attempt, dkim_status = status, verdict = ?verdict, "DKIM check");
    match verdict {
        Verdict::Done(conclusion) => {
            conclude(cx, &chain, Some(&zone), &published, &state, conclusion)
                .await
                .map_err(&stop)
        }
        Verdict::KeepWaiting { next_check_at } => {
            // SES's own tokens win: someone may have re-verified the domain by hand.
            let current = state.tokens.unwrap_or_else(|| published.clone());
            // A chain written before SES v2 was read learns the zone now, once.
            let signing_zone = known_or_learned(cx, &chain.domain, chain.signing_zone.as_ref())
                .await
                .map_err(&stop)?;
            let next = FollowUp::Published {
                chain: chain.next().signing_in(signing_zone),
                zone: zone.clone(),
                tokens: current.clone(),
            };
            let (repair, follow_up) = repair_and_reschedule(
                cx,
                &next,
                &current,
                (&chain, &published),
                next_check_at,
                false,
            )
            .await
            .map_err(&stop)?;
            let Some(repair) = repair else {
                // Scheduled alongside the repair it turned out must not be made.
                let name = ScheduleName::for_follow_up(&chain.domain, chain.attempt + 1);
                schedules::delete(cx, &name).await.map_err(&stop)?;
                return opted_out(cx, &chain, &zone).await;
            };
            Ok(Response::Waiting {
                domain: chain.domain.to_string(),
                dkim_status: status.to_owned(),
                restored_records: names(&repair.upserts),
                removed_records: names(&repair.deletes),
                follow_up,
            })
        }
        Verdict::Restart { next_check_at } => {
            // A restart always means writing: the tag first, before SES is asked again.
            if opted_out_tag(cx, &zone).await.map_err(&stop)? {
                return opted_out(cx, &chain, &zone).await;
            }
            let (fresh, signing_zone, tokens_changed) =
                verify_again(cx, &chain, &published).await.map_err(&stop)?;
            let next = FollowUp::Published {
                chain: chain.restarted().signing_in(signing_zone),
                zone: zone.clone(),
                tokens: fresh.clone(),
            };
            let (repair, follow_up) =
                repair_and_reschedule(cx, &next, &fresh, (&chain, &published), next_check_at, true)
                    .await
                    .map_err(&stop)?;
            let repair = repair.unwrap_or_default();
            info!(domain = %chain.domain, restarts = chain.restarts + 1, tokens_changed, "DKIM verification restarted");
            Ok(Response::Restarted {
                domain: chain.domain.to_string(),
                dkim_status: status.to_owned(),
                tokens_changed,
                restored_records: names(&repair.upserts),
                removed_records: names(&repair.deletes),
                follow_up,
            })
        }
    }
}

/// The zone's tag says hands off: nothing is written, nothing scheduled.
async fn opted_out(cx: &Context<'_>, chain: &Chain, zone: &HostedZoneId) -> Result<Response, Stop> {
    let why = Skip::ZoneOptedOut {
        zone_id: zone.clone(),
    };
    skip(cx, &chain.domain, chain.tenant_id.as_ref(), Some(zone), why)
        .await
        .map_err(Stop::about(&chain.domain, chain.tenant_id.as_ref()))
}

/// What this look's chain published: its tokens, under the zone it knew then.
type Published<'a> = (&'a Chain, &'a DkimTokens);

/// Bring the records in line with `current` tokens while scheduling `next`: the two
/// do not depend on each other. No repair (`None`) when the zone turned out to be
/// opted out; `tag_read`: the caller already knows it is not.
async fn repair_and_reschedule(
    cx: &Context<'_>,
    next: &FollowUp,
    current: &DkimTokens,
    published: Published<'_>,
    at: DateTime<Utc>,
    tag_read: bool,
) -> Result<(Option<RecordRepair>, FollowUpRef), AwsError> {
    let zone = next
        .hosted_zone_id()
        .expect("a Route 53 chain has its zone");
    tokio::try_join!(
        repair(cx, next, zone, current, published, tag_read),
        schedules::follow_up(cx, next, at)
    )
}

/// Make the zone hold exactly SES's current records, pointing where SES signs; remove
/// the ones this chain published for tokens SES no longer uses (under the zone it
/// knew or the table's), and nothing else. The opt-out tag is read only when there
/// is something to write (`None`: opted out, nothing written).
async fn repair(
    cx: &Context<'_>,
    next: &FollowUp,
    zone: &HostedZoneId,
    current: &DkimTokens,
    (chain, published): Published<'_>,
    tag_read: bool,
) -> Result<Option<RecordRepair>, AwsError> {
    let domain = next.domain();
    let existing = records::read(cx, zone, domain).await?;
    let mut ours = records::ours(cx, domain, published, chain.signing_zone.as_ref());
    ours.extend(records::ours(
        cx,
        domain,
        published,
        next.chain().signing_zone.as_ref(),
    ));
    let repair = plan_repair(
        &wanted(cx, domain, current, next.chain().signing_zone.as_ref()),
        &ours,
        &existing,
    );
    if !repair.is_empty() && !tag_read && opted_out_tag(cx, zone).await? {
        return Ok(None);
    }
    for record in &repair.left_alone {
        warn!(record = %record.name, value = %record.value, "stale DKIM record was changed by someone else; left alone");
    }
    records::apply(cx, zone, &repair, "Easy DKIM records").await?;
    Ok(Some(repair))
}
