//! The follow-up check: did SES detect the records? Repair, restart or report, and
//! schedule the next look until SES says Success or the window closes.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::publish::{
    announce, apply_repair, publish_and_schedule, schedule, wait_for_zone, wanted_records, Reason,
};
use super::zones::find_zone;
use super::{Context, FollowUpRef, Response, Stop};
use crate::aws::AwsError;
use crate::core::follow_up::{FollowUp, Stage};
use crate::core::outcome::OutcomeKind;
use crate::core::policy::Verdict;
use crate::core::records::{plan_repair, CnameRecord, DkimTokens, RecordRepair};
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::zone::{HostedZoneId, ZoneProblem};

pub async fn check(cx: &Context<'_>, follow_up: FollowUp) -> Result<Response, Stop> {
    match (
        follow_up.stage,
        follow_up.hosted_zone_id.clone(),
        follow_up.published_tokens.clone(),
    ) {
        (Stage::Verify, Some(zone), Some(published)) => {
            verify(cx, follow_up, zone, published).await
        }
        _ => retry_onboarding(cx, follow_up).await,
    }
}

/// The registration's hosted zone may exist by now.
async fn retry_onboarding(cx: &Context<'_>, follow_up: FollowUp) -> Result<Response, Stop> {
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let zone = find_zone(cx, &follow_up.domain, follow_up.hosted_zone_id.as_ref())
        .await
        .map_err(|e| Stop::aws(e, &follow_up.domain, tenant.as_deref()))?;
    let next = follow_up.next();
    match zone {
        Ok(zone) => publish_and_schedule(cx, next, zone.id).await,
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

async fn verify(
    cx: &Context<'_>,
    follow_up: FollowUp,
    zone: HostedZoneId,
    published: DkimTokens,
) -> Result<Response, Stop> {
    let domain = follow_up.domain.clone();
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let stop = |e| Stop::aws(e, &domain, tenant.as_deref());
    let state = cx.aws.ses.dkim_state(&domain).await.map_err(stop)?;
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
    match verdict {
        Verdict::Verified => {
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
        Verdict::TimedOut => {
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
        Verdict::GiveUp { reason } => {
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
        Verdict::KeepWaiting { next_check_at } => {
            // SES's own tokens win: someone may have re-verified the domain by hand.
            let current = state.tokens.unwrap_or_else(|| published.clone());
            let next = FollowUp {
                published_tokens: Some(current),
                ..follow_up.next()
            };
            let (repair, follow_up) =
                repair_and_reschedule(cx, &next, &zone, &published, next_check_at)
                    .await
                    .map_err(stop)?;
            Ok(Response::Waiting {
                domain: domain.to_string(),
                dkim_status: status.to_owned(),
                restored_records: names(&repair.upserts),
                removed_records: names(&repair.deletes),
                follow_up,
            })
        }
        Verdict::Restart { next_check_at } => {
            let fresh = cx.aws.ses.verify_domain_dkim(&domain).await.map_err(stop)?;
            let tokens_changed = fresh != published;
            let next = FollowUp {
                published_tokens: Some(fresh),
                restarts: follow_up.restarts + 1,
                ..follow_up.next()
            };
            let (repair, follow_up) =
                repair_and_reschedule(cx, &next, &zone, &published, next_check_at)
                    .await
                    .map_err(stop)?;
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
/// do not depend on each other.
async fn repair_and_reschedule(
    cx: &Context<'_>,
    next: &FollowUp,
    zone: &HostedZoneId,
    published: &DkimTokens,
    at: DateTime<Utc>,
) -> Result<(RecordRepair, FollowUpRef), AwsError> {
    let current = next.published_tokens.as_ref().unwrap_or(published);
    tokio::try_join!(
        reconcile(cx, next, zone, current, published),
        schedule(cx, next, at)
    )
}

fn names(records: &[CnameRecord]) -> Vec<String> {
    records.iter().map(|r| r.name.clone()).collect()
}

/// Make the zone hold exactly SES's current records; remove the ones this function
/// published for tokens SES no longer uses, and nothing else.
async fn reconcile(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    zone: &HostedZoneId,
    current: &DkimTokens,
    published: &DkimTokens,
) -> Result<RecordRepair, AwsError> {
    let existing = cx.aws.route53.dkim_cnames(zone, &follow_up.domain).await?;
    let repair = plan_repair(
        &wanted_records(cx, follow_up, current),
        &wanted_records(cx, follow_up, published),
        &existing,
    );
    for record in &repair.left_alone {
        warn!(record = %record.name, value = %record.value, "stale DKIM record was changed by someone else; left alone");
    }
    apply_repair(cx, zone, &repair).await?;
    Ok(repair)
}
