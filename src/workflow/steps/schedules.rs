//! This function's one-time schedules: create them (a redelivery meets the one its
//! twin made), find a domain's, and remove the ones an offboarding ended.

use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;

use super::super::{Context, FollowUpRef};
use crate::aws::scheduler::{OneTimeSchedule, Scheduled};
use crate::aws::AwsError;
use crate::core::chain::FollowUp;
use crate::core::ids::DomainName;
use crate::core::schedule::{
    ended_by_offboarding, owned_schedules, round_up_to_second, ScheduleName,
};

/// Create the one-time schedule that brings `follow_up` back at `at`.
pub async fn follow_up(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    at: DateTime<Utc>,
) -> Result<FollowUpRef, AwsError> {
    let purpose = match follow_up {
        FollowUp::AwaitingZone { .. } => "look for the hosted zone again",
        _ => "check SES DKIM verification",
    };
    let chain = follow_up.chain();
    create(
        cx,
        &ScheduleName::for_follow_up(&chain.domain, chain.attempt),
        at,
        follow_up.to_input(),
        format!(
            "dkim-autopilot: {purpose} for {} (attempt {})",
            chain.domain, chain.attempt
        ),
        chain.attempt,
    )
    .await
}

/// A one-time schedule that invokes this function with `input` at `at`; a schedule
/// of that name already there counts as made (a redelivery made it).
pub async fn create(
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

/// Delete one schedule; one already gone counts as deleted.
pub async fn delete(cx: &Context<'_>, name: &ScheduleName) -> Result<(), AwsError> {
    cx.aws
        .scheduler
        .delete(name, &cx.settings.schedule_group)
        .await
}

/// A schedule's input; `None` when it does not exist (it fired, or was deleted).
pub async fn input_of(cx: &Context<'_>, name: &ScheduleName) -> Result<Option<String>, AwsError> {
    cx.aws
        .scheduler
        .input_of(name, &cx.settings.schedule_group)
        .await
}

/// A domain's schedules in the group: listed by name prefix, then kept only when the
/// name is exactly one this function gives the domain.
#[derive(Debug, Default)]
pub struct DomainSchedules {
    /// Its follow-ups and deferrals.
    pub work: Vec<String>,
    /// Whether its offboarding tombstone is there.
    pub tombstone: bool,
}

impl DomainSchedules {
    /// Anything pending at all: work, or a tombstone that leaves the domain alone.
    pub fn any(&self) -> bool {
        self.tombstone || !self.work.is_empty()
    }
}

pub async fn of_domain(cx: &Context<'_>, domain: &DomainName) -> Result<DomainSchedules, AwsError> {
    let listed = cx
        .aws
        .scheduler
        .names_with_prefix(
            &cx.settings.schedule_group,
            &ScheduleName::prefix_for_domain(domain),
        )
        .await?;
    let tombstone = ScheduleName::for_tombstone(domain);
    let (tombstones, work): (Vec<&String>, Vec<&String>) = owned_schedules(domain, &listed)
        .into_iter()
        .partition(|name| name.as_str() == tombstone.as_str());
    Ok(DomainSchedules {
        work: work.into_iter().cloned().collect(),
        tombstone: !tombstones.is_empty(),
    })
}

/// Which of a domain's schedules an offboarding removed, and which it kept.
#[derive(Debug, Default)]
pub struct EndedSchedules {
    pub removed: Vec<String>,
    /// Work started since the offboarding: a newer onboarding's.
    pub kept: Vec<String>,
}

/// Delete the schedules among `names` whose work started before `offboarded_at`, and
/// keep the newer ones. Every input is read at once, then every deletion made at once.
pub async fn remove_ended_by(
    cx: &Context<'_>,
    names: &[String],
    offboarded_at: DateTime<Utc>,
) -> Result<EndedSchedules, AwsError> {
    let names: Vec<ScheduleName> = names
        .iter()
        .filter_map(|n| ScheduleName::parse(n).ok())
        .collect();
    let inputs = try_join_all(names.iter().map(|n| input_of(cx, n))).await?;
    let mut ended = EndedSchedules::default();
    let mut doomed = Vec::new();
    for (name, input) in names.iter().zip(inputs) {
        // `None`: gone since it was listed (it fired, or someone deleted it).
        let Some(input) = input else { continue };
        if ended_by_offboarding(&input, offboarded_at) {
            ended.removed.push(name.as_str().to_owned());
            doomed.push(name);
        } else {
            ended.kept.push(name.as_str().to_owned());
        }
    }
    try_join_all(doomed.iter().map(|n| delete(cx, n))).await?;
    Ok(ended)
}
