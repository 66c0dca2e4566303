//! Steps shared by onboarding, the follow-up and deferral: publish the records and
//! schedule the first check, wait for a zone, schedule the next look, fix the
//! records, tell the world.

use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use tracing::{error, info};

use super::{Context, FollowUpRef, Response, Stop};
use crate::aws::route53::RecordChange;
use crate::aws::scheduler::{OneTimeSchedule, Scheduled};
use crate::aws::AwsError;
use crate::core::domain::DomainName;
use crate::core::follow_up::TenantId;
use crate::core::follow_up::{owned_schedules, round_up_to_second, FollowUp, ScheduleName, Stage};
use crate::core::outcome::{OutcomeDetail, OutcomeEvent, OutcomeKind};
use crate::core::records::{dkim_records, CnameRecord, DkimTokens, RecordRepair};
use crate::core::scope::Skip;
use crate::core::tombstone::ended_by;
use crate::core::zone::{HostedZoneId, ZoneProblem};

/// Create the one-time schedule that brings `follow_up` back at `at`.
pub(super) async fn schedule(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    at: DateTime<Utc>,
) -> Result<FollowUpRef, AwsError> {
    let purpose = match follow_up.stage {
        Stage::Verify => "check SES DKIM verification",
        Stage::AwaitZone => "look for the hosted zone again",
    };
    create_schedule(
        cx,
        &ScheduleName::for_follow_up(&follow_up.domain, follow_up.attempt),
        at,
        follow_up.to_input(),
        format!(
            "dkim-autopilot: {purpose} for {} (attempt {})",
            follow_up.domain, follow_up.attempt
        ),
        follow_up.attempt,
    )
    .await
}

/// A one-time schedule that invokes this function with `input` at `at`; a schedule
/// of that name already there counts as made (a redelivery made it).
pub(super) async fn create_schedule(
    cx: &Context<'_>,
    name: &ScheduleName,
    at: DateTime<Utc>,
    input: String,
    description: String,
    attempt: u32,
) -> Result<FollowUpRef, AwsError> {
    let at = round_up_to_second(at);
    let scheduled = cx
        .aws
        .scheduler
        .create_one_time(OneTimeSchedule {
            name,
            group: &cx.settings.schedule_group,
            at,
            target_arn: cx.function_arn,
            role_arn: &cx.settings.scheduler_role_arn,
            dead_letter_arn: cx.settings.scheduler_dead_letter_arn.as_deref(),
            input,
            description,
        })
        .await?;
    Ok(FollowUpRef {
        schedule_name: name.as_str().to_owned(),
        schedule_group: cx.settings.schedule_group.clone(),
        at,
        attempt,
        already_scheduled: scheduled == Scheduled::AlreadyScheduled,
    })
}

/// The records SES wants for these tokens, as this deployment writes them.
pub(super) fn wanted_records(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    tokens: &DkimTokens,
) -> Vec<CnameRecord> {
    dkim_records(
        &follow_up.domain,
        tokens,
        &cx.settings.dkim_record_domain,
        cx.settings.dkim_record_ttl,
    )
}

/// Apply a repair in one atomic Route 53 batch (nothing to do costs no call).
pub(super) async fn apply_repair(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    repair: &RecordRepair,
) -> Result<(), AwsError> {
    if repair.is_empty() {
        return Ok(());
    }
    let changes: Vec<(RecordChange, &CnameRecord)> = repair
        .upserts
        .iter()
        .map(|r| (RecordChange::Upsert, r))
        .chain(repair.deletes.iter().map(|r| (RecordChange::Delete, r)))
        .collect();
    cx.aws
        .route53
        .change(zone, &changes, "dkim-autopilot: Easy DKIM records")
        .await
}

/// Why an outcome is a failure: a stable code for machines, a sentence for people.
#[derive(Debug, Clone)]
pub(super) struct Reason {
    pub code: &'static str,
    pub text: String,
}

impl Reason {
    pub fn new(code: &'static str, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }
}

/// Publish an outcome event about `follow_up`'s domain. Only a transient failure
/// is returned, so that Lambda retries the (idempotent) invocation.
pub(super) async fn announce(
    cx: &Context<'_>,
    kind: OutcomeKind,
    follow_up: &FollowUp,
    tokens: Option<&DkimTokens>,
    dkim_status: Option<&str>,
    reason: Option<Reason>,
) -> Result<(), AwsError> {
    let started = follow_up.onboarding_started_at;
    let tokens: Vec<String> = tokens.map(DkimTokens::to_strings).unwrap_or_default();
    let record_names = tokens
        .iter()
        .map(|t| format!("{t}._domainkey.{}", follow_up.domain))
        .collect();
    let started_text = started.to_rfc3339();
    // A redelivered publication repeats its tokens; a redelivered verdict its onboarding.
    let identity: Vec<&str> = match kind {
        OutcomeKind::RecordsPublished => tokens.iter().map(String::as_str).collect(),
        _ => vec![started_text.as_str()],
    };
    let identity: Vec<&str> = [follow_up.domain.as_str()]
        .into_iter()
        .chain(identity)
        .collect();
    let detail = OutcomeDetail {
        domain: Some(follow_up.domain.to_string()),
        tenant_id: follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
        hosted_zone_id: follow_up.hosted_zone_id.as_ref().map(ToString::to_string),
        tokens: tokens.clone(),
        record_names,
        dkim_status: dkim_status.map(str::to_owned),
        attempt: Some(follow_up.attempt),
        restarts: Some(follow_up.restarts),
        onboarding_started_at: Some(started),
        elapsed_seconds: Some((cx.now - started).num_seconds().max(0)),
        reason_code: reason.as_ref().map(|r| r.code.to_owned()),
        reason: reason.map(|r| r.text),
        ..Default::default()
    };
    publish_outcome(cx, &OutcomeEvent::new(kind, &identity, detail)).await
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

/// Leave a domain alone because of its scope: one log line, a `Domain Skipped` event,
/// no AWS change, and a successful invocation.
pub(super) async fn skip(
    cx: &Context<'_>,
    domain: &DomainName,
    tenant_id: Option<&TenantId>,
    hosted_zone_id: Option<&HostedZoneId>,
    skip: Skip,
) -> Result<Response, AwsError> {
    let reason = skip.to_string();
    info!(%domain, reason_code = skip.code(), %reason, "domain skipped");
    let event = OutcomeEvent::new(
        OutcomeKind::DomainSkipped,
        &[domain.as_str(), skip.code(), &reason],
        OutcomeDetail {
            domain: Some(domain.to_string()),
            tenant_id: tenant_id.map(|t| t.as_str().to_owned()),
            hosted_zone_id: hosted_zone_id.map(ToString::to_string),
            reason_code: Some(skip.code().to_owned()),
            reason: Some(reason.clone()),
            ..Default::default()
        },
    );
    publish_outcome(cx, &event).await?;
    Ok(Response::Skipped {
        domain: domain.to_string(),
        reason_code: skip.code().to_owned(),
        reason,
    })
}

/// Publish an outcome event. Only a transient failure is returned: the work is done,
/// and a bus that refuses the event must not undo or repeat it.
pub(super) async fn publish_outcome(
    cx: &Context<'_>,
    event: &OutcomeEvent,
) -> Result<(), AwsError> {
    match cx.aws.events.publish(event).await {
        Err(err) if !err.transient => {
            error!(code = %err.code, message = %err.message, "could not publish {}", event.kind.detail_type());
            Ok(())
        }
        other => other,
    }
}

/// `domain`'s schedules in the group, its tombstone aside: listed by name prefix,
/// then kept only when the name is exactly one this function gives the domain.
pub(super) async fn domain_schedules(
    cx: &Context<'_>,
    domain: &DomainName,
) -> Result<Vec<String>, AwsError> {
    let listed = cx
        .aws
        .scheduler
        .names_with_prefix(
            &cx.settings.schedule_group,
            &ScheduleName::prefix_for_domain(domain),
        )
        .await?;
    let tombstone = ScheduleName::for_tombstone(domain);
    Ok(owned_schedules(domain, &listed)
        .into_iter()
        .filter(|name| name.as_str() != tombstone.as_str())
        .cloned()
        .collect())
}

/// Which of a domain's schedules an offboarding removed, and which it kept.
#[derive(Debug, Default)]
pub(super) struct EndedSchedules {
    pub removed: Vec<String>,
    /// Work started since the offboarding: a newer onboarding's.
    pub kept: Vec<String>,
}

/// Delete the schedules among `names` whose work started before `offboarded_at`, and
/// keep the newer ones. Every input is read at once, then every deletion made at once.
pub(super) async fn remove_schedules_ended_by(
    cx: &Context<'_>,
    names: &[String],
    offboarded_at: DateTime<Utc>,
) -> Result<EndedSchedules, AwsError> {
    let group = &cx.settings.schedule_group;
    let names: Vec<ScheduleName> = names
        .iter()
        .filter_map(|n| ScheduleName::parse(n).ok())
        .collect();
    let inputs = try_join_all(names.iter().map(|n| cx.aws.scheduler.input_of(n, group))).await?;
    let mut ended = EndedSchedules::default();
    let mut doomed = Vec::new();
    for (name, input) in names.iter().zip(inputs) {
        // `None`: gone since it was listed (it fired, or someone deleted it).
        let Some(input) = input else { continue };
        if ended_by(&input, offboarded_at) {
            ended.removed.push(name.as_str().to_owned());
            doomed.push(name);
        } else {
            ended.kept.push(name.as_str().to_owned());
        }
    }
    try_join_all(doomed.iter().map(|n| cx.aws.scheduler.delete(n, group))).await?;
    Ok(ended)
}

/// Delete these records in one atomic batch (nothing to delete costs no call). Route
/// 53 refuses the whole batch when one of them changed since it was read
/// (`InvalidChangeBatch`): like a throttle, that is tried again later, after a fresh read.
pub(super) async fn delete_records(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    records: &[CnameRecord],
) -> Result<(), AwsError> {
    if records.is_empty() {
        return Ok(());
    }
    let changes: Vec<_> = records.iter().map(|r| (RecordChange::Delete, r)).collect();
    cx.aws
        .route53
        .change(zone, &changes, "dkim-autopilot: offboarding")
        .await
        .map_err(|err| AwsError {
            transient: err.transient || err.is_code("InvalidChangeBatch"),
            ..err
        })
}
