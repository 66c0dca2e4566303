//! The follow-up check: did SES detect the records? Repair, restart or report, and
//! schedule the next look until SES says Success or the window closes.
//!
//! Before anything else: a domain now out of scope is skipped and its chain ends; a
//! zone tagged off is never written (the tag is read only where the check would
//! write: a repair, a restart, a late publication). And the offboarding tombstone is
//! read alongside the check's first AWS call: a chain that started before the domain
//! was offboarded ends here, removing what it published, and never asks SES again
//! (the later-started wins; see `core::tombstone`).

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::handover;
use super::publish::{
    announce, apply_repair, delete_records, domain_schedules, publish_and_schedule,
    remove_schedules_ended_by, schedule, skip, wait_for_zone, wanted_records, Reason,
};
use super::zones::{find_usable_zone, zone_opted_out, Usable};
use super::{Context, FollowUpRef, Response, Stop};
use crate::aws::ses::DkimState;
use crate::aws::AwsError;
use crate::core::domain::DomainName;
use crate::core::follow_up::{FollowUp, ScheduleName, Stage};
use crate::core::offboarding::{plan_removal, RecordRemoval};
use crate::core::outcome::OutcomeKind;
use crate::core::policy::Verdict;
use crate::core::records::{plan_repair, CnameRecord, DkimTokens, RecordRepair};
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::request::DnsMode;
use crate::core::scope::Skip;
use crate::core::tombstone::{read_tombstone, Tombstone};
use crate::core::zone::{HostedZoneId, ZoneProblem};

pub async fn check(cx: &Context<'_>, follow_up: FollowUp) -> Result<Response, Stop> {
    let domain = follow_up.domain.clone();
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let stop = |e| Stop::aws(e, &domain, tenant.as_deref());
    if let Err(out_of_scope) = cx.settings.scope.check(&domain) {
        return skip(
            cx,
            &domain,
            follow_up.tenant_id.as_ref(),
            follow_up.hosted_zone_id.as_ref(),
            out_of_scope,
        )
        .await
        .map_err(stop);
    }
    let started = follow_up.onboarding_started_at;
    match (
        follow_up.stage,
        follow_up.hosted_zone_id.clone(),
        follow_up.published_tokens.clone(),
    ) {
        // A handed-over chain has no zone: it never writes DNS.
        (Stage::Verify, zone, Some(published))
            if zone.is_some() || follow_up.dns_mode == DnsMode::External =>
        {
            let (state, tombstone) =
                tokio::try_join!(cx.aws.ses.dkim_state(&domain), tombstone_of(cx, &domain))
                    .map_err(stop)?;
            if let Some(tombstone) = tombstone.filter(|t| t.ends(started)) {
                return end_chain(cx, &follow_up, &tombstone, Some(&state))
                    .await
                    .map_err(stop);
            }
            verify(cx, follow_up, zone, published, state).await
        }
        _ => {
            let (zone, tombstone) = tokio::try_join!(
                find_usable_zone(cx, &domain, follow_up.hosted_zone_id.as_ref()),
                tombstone_of(cx, &domain)
            )
            .map_err(stop)?;
            if let Some(tombstone) = tombstone.filter(|t| t.ends(started)) {
                return end_chain(cx, &follow_up, &tombstone, None)
                    .await
                    .map_err(stop);
            }
            retry_onboarding(cx, follow_up, zone).await
        }
    }
}

/// The registration's hosted zone may exist by now.
async fn retry_onboarding(
    cx: &Context<'_>,
    follow_up: FollowUp,
    zone: Result<Usable, ZoneProblem>,
) -> Result<Response, Stop> {
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let next = follow_up.next();
    match zone {
        Ok(Usable::Yes(zone)) => publish_and_schedule(cx, next, zone.id).await,
        Ok(Usable::OptedOut(zone)) => skip_opted_out(cx, &follow_up, &zone.id).await,
        Err(problem @ ZoneProblem::NoneFound { .. }) => {
            let policy = &cx.settings.policy;
            let at =
                policy.next_check_at(follow_up.onboarding_started_at, follow_up.attempt, cx.now);
            wait_for_zone(cx, next, at, problem).await
        }
        Err(problem) => Err(Stop::Rejected(Rejection {
            domain: Some(follow_up.domain.to_string()),
            tenant_id: tenant,
            reason: RejectReason::Zone(problem),
        })),
    }
}

/// The zone's tag says hands off: nothing is written, nothing scheduled.
async fn skip_opted_out(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    zone: &HostedZoneId,
) -> Result<Response, Stop> {
    let opted_out = Skip::ZoneOptedOut {
        zone_id: zone.clone(),
    };
    skip(
        cx,
        &follow_up.domain,
        follow_up.tenant_id.as_ref(),
        Some(zone),
        opted_out,
    )
    .await
    .map_err(|e| {
        let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str());
        Stop::aws(e, &follow_up.domain, tenant)
    })
}

/// The domain's offboarding tombstone, if any. One this function cannot read is
/// reported and ignored: the chain carries on rather than remove anything on a guess.
async fn tombstone_of(
    cx: &Context<'_>,
    domain: &DomainName,
) -> Result<Option<Tombstone>, AwsError> {
    let name = ScheduleName::for_tombstone(domain);
    let Some(input) = cx
        .aws
        .scheduler
        .input_of(&name, &cx.settings.schedule_group)
        .await?
    else {
        return Ok(None);
    };
    let read = serde_json::from_str(&input)
        .map_err(|e| e.to_string())
        .and_then(|value| read_tombstone(value).map_err(|r| r.to_string()));
    match read {
        Ok(tombstone) if &tombstone.domain == domain => Ok(Some(tombstone)),
        Ok(tombstone) => {
            warn!(%domain, schedule = name.as_str(), other = %tombstone.domain, "tombstone names another domain; ignored");
            Ok(None)
        }
        Err(problem) => {
            warn!(%domain, schedule = name.as_str(), %problem, "unreadable tombstone; ignored");
            Ok(None)
        }
    }
}

/// The domain was offboarded after this chain started: remove what the chain
/// published (the records holding exactly its values, the schedules of work started
/// before the offboarding) and stop. No `VerifyDomainDkim`, no event: the offboarding
/// told the world already.
async fn end_chain(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    tombstone: &Tombstone,
    state: Option<&DkimState>,
) -> Result<Response, AwsError> {
    let domain = &follow_up.domain;
    let listed = domain_schedules(cx, domain).await?;
    let schedules = remove_schedules_ended_by(cx, &listed, tombstone.offboarded_at).await?;
    let mut records = RecordRemoval::default();
    if let (Some(zone), Some(published)) = (&follow_up.hosted_zone_id, &follow_up.published_tokens)
    {
        // A newer onboarding is running: SES's current records are its own now.
        let newer = state
            .and_then(|s| s.tokens.as_ref())
            .filter(|_| !schedules.kept.is_empty());
        let tokens: Vec<_> = published
            .iter()
            .filter(|t| newer.is_none_or(|n| !n.contains(t)))
            .collect();
        let existing = match cx.aws.route53.dkim_cnames(zone, domain).await {
            Err(err) if err.is_code("NoSuchHostedZone") => Vec::new(),
            other => other?,
        };
        records = plan_removal(domain, &tokens, &cx.settings.dkim_record_domain, &existing);
        if !records.deletes.is_empty() && zone_opted_out(cx, zone).await? {
            let kept = std::mem::take(&mut records.deletes);
            records.left_alone.extend(kept);
        }
        delete_records(cx, zone, &records.deletes).await?;
    }
    info!(
        %domain,
        onboarding_started_at = %follow_up.onboarding_started_at,
        offboarded_at = %tombstone.offboarded_at,
        attempt = follow_up.attempt,
        schedules = ?schedules.removed,
        records = ?names(&records.deletes),
        "follow-up chain ended: the domain was offboarded after it started"
    );
    Ok(Response::Removed {
        domain: domain.to_string(),
        removed_schedules: schedules.removed,
        removed_records: names(&records.deletes),
        identity_deleted: false,
        left_alone: names(&records.left_alone),
    })
}

/// `zone`: `None` when the records were handed over.
async fn verify(
    cx: &Context<'_>,
    follow_up: FollowUp,
    zone: Option<HostedZoneId>,
    published: DkimTokens,
    state: DkimState,
) -> Result<Response, Stop> {
    let domain = follow_up.domain.clone();
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let stop = |e| Stop::aws(e, &domain, tenant.as_deref());
    let status = state.status.as_str();
    let policy = &cx.settings.policy;
    let verdict = policy.judge(
        state.status,
        follow_up.onboarding_started_at,
        follow_up.attempt,
        follow_up.restarts,
        cx.now,
    );
    info!(domain = %domain, tenant_id = tenant.as_deref(), attempt = follow_up.attempt, dkim_status = status, verdict = ?verdict, "DKIM check");
    match (verdict, zone) {
        (Verdict::Verified, _) => {
            let tokens = state.tokens.as_ref().unwrap_or(&published);
            announce(
                cx,
                OutcomeKind::Verified,
                &follow_up,
                Some(tokens),
                Some(status),
                None,
            )
            .await
            .map_err(stop)?;
            Ok(Response::Verified {
                domain: domain.to_string(),
                attempt: follow_up.attempt,
                elapsed_seconds: (cx.now - follow_up.onboarding_started_at)
                    .num_seconds()
                    .max(0),
            })
        }
        (Verdict::TimedOut, _) => {
            let hours = policy.verification_window.num_hours();
            let reason =
                format!("SES still reports {status} {hours} hours after onboarding started");
            let kind = OutcomeKind::VerificationTimedOut;
            announce(
                cx,
                kind,
                &follow_up,
                Some(&published),
                Some(status),
                Some(Reason::new("VerificationWindowClosed", reason.clone())),
            )
            .await
            .map_err(stop)?;
            Ok(Response::TimedOut {
                domain: domain.to_string(),
                reason,
            })
        }
        (Verdict::GiveUp { reason }, _) => {
            let kind = OutcomeKind::VerificationFailed;
            announce(
                cx,
                kind,
                &follow_up,
                Some(&published),
                Some(status),
                Some(Reason::new("RestartsExhausted", reason.clone())),
            )
            .await
            .map_err(stop)?;
            Ok(Response::Failed {
                domain: domain.to_string(),
                reason,
            })
        }
        (Verdict::KeepWaiting { next_check_at }, None) => {
            handover::keep_waiting(
                cx,
                follow_up,
                published,
                state.tokens,
                status,
                next_check_at,
            )
            .await
        }
        (Verdict::Restart { next_check_at }, None) => {
            handover::restart(cx, follow_up, published, status, next_check_at).await
        }
        (Verdict::KeepWaiting { next_check_at }, Some(zone)) => {
            // SES's own tokens win: someone may have re-verified the domain by hand.
            let current = state.tokens.unwrap_or_else(|| published.clone());
            let next = FollowUp {
                published_tokens: Some(current),
                ..follow_up.next()
            };
            let (repair, follow_up_ref) =
                repair_and_reschedule(cx, &next, &zone, &published, next_check_at, false)
                    .await
                    .map_err(stop)?;
            let Some(repair) = repair else {
                // Scheduled alongside the repair it turned out must not be made.
                let name = ScheduleName::for_follow_up(&domain, next.attempt);
                cx.aws
                    .scheduler
                    .delete(&name, &cx.settings.schedule_group)
                    .await
                    .map_err(stop)?;
                return skip_opted_out(cx, &follow_up, &zone).await;
            };
            let follow_up = follow_up_ref;
            Ok(Response::Waiting {
                domain: domain.to_string(),
                dkim_status: status.to_owned(),
                restored_records: names(&repair.upserts),
                removed_records: names(&repair.deletes),
                follow_up,
            })
        }
        (Verdict::Restart { next_check_at }, Some(zone)) => {
            // A restart always means writing: the tag first, before SES is asked again.
            if zone_opted_out(cx, &zone).await.map_err(stop)? {
                return skip_opted_out(cx, &follow_up, &zone).await;
            }
            let fresh = cx.aws.ses.verify_domain_dkim(&domain).await.map_err(stop)?;
            let tokens_changed = fresh != published;
            let next = FollowUp {
                published_tokens: Some(fresh),
                restarts: follow_up.restarts + 1,
                ..follow_up.next()
            };
            let (repair, follow_up) =
                repair_and_reschedule(cx, &next, &zone, &published, next_check_at, true)
                    .await
                    .map_err(stop)?;
            let repair = repair.unwrap_or_default();
            info!(domain = %domain, restarts = next.restarts, tokens_changed, "DKIM verification restarted");
            Ok(Response::Restarted {
                domain: domain.to_string(),
                dkim_status: status.to_owned(),
                tokens_changed,
                restored_records: names(&repair.upserts),
                removed_records: names(&repair.deletes),
                follow_up,
            })
        }
    }
}

/// Bring the records in line with `next`'s tokens while scheduling `next`: the two
/// do not depend on each other. No repair (`None`) when the zone turned out to be
/// opted out; `tag_read`: the caller already knows it is not.
async fn repair_and_reschedule(
    cx: &Context<'_>,
    next: &FollowUp,
    zone: &HostedZoneId,
    published: &DkimTokens,
    at: DateTime<Utc>,
    tag_read: bool,
) -> Result<(Option<RecordRepair>, FollowUpRef), AwsError> {
    let current = next.published_tokens.as_ref().unwrap_or(published);
    tokio::try_join!(
        reconcile(cx, next, zone, current, published, tag_read),
        schedule(cx, next, at)
    )
}

fn names(records: &[CnameRecord]) -> Vec<String> {
    records.iter().map(|r| r.name.clone()).collect()
}

/// Make the zone hold exactly SES's current records; remove the ones this function
/// published for tokens SES no longer uses, and nothing else. The opt-out tag is read
/// only when there is something to write (`None`: opted out, nothing written).
async fn reconcile(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    zone: &HostedZoneId,
    current: &DkimTokens,
    published: &DkimTokens,
    tag_read: bool,
) -> Result<Option<RecordRepair>, AwsError> {
    let existing = cx.aws.route53.dkim_cnames(zone, &follow_up.domain).await?;
    let repair = plan_repair(
        &wanted_records(cx, follow_up, current),
        &wanted_records(cx, follow_up, published),
        &existing,
    );
    if !repair.is_empty() && !tag_read && zone_opted_out(cx, zone).await? {
        return Ok(None);
    }
    for record in &repair.left_alone {
        warn!(record = %record.name, value = %record.value, "stale DKIM record was changed by someone else; left alone");
    }
    apply_repair(cx, zone, &repair).await?;
    Ok(Some(repair))
}
