//! Steps shared by onboarding and the follow-up: schedule the next look, fix the
//! records, tell the world.

use chrono::{DateTime, Utc};
use tracing::error;

use super::{Context, FollowUpRef};
use crate::aws::route53::RecordChange;
use crate::aws::scheduler::{OneTimeSchedule, Scheduled};
use crate::aws::AwsError;
use crate::core::follow_up::{round_up_to_second, FollowUp, ScheduleName, Stage};
use crate::core::outcome::{OutcomeDetail, OutcomeEvent, OutcomeKind};
use crate::core::records::{dkim_records, CnameRecord, DkimTokens, RecordRepair};
use crate::core::zone::HostedZoneId;

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
    match cx
        .aws
        .events
        .publish(&OutcomeEvent::new(kind, &identity, detail))
        .await
    {
        // The work is done; a bus that refuses the event must not undo or repeat it.
        Err(err) if !err.transient => {
            error!(domain = %follow_up.domain, code = %err.code, message = %err.message, "could not publish {}", kind.detail_type());
            Ok(())
        }
        other => other,
    }
}
