//! EventBridge Scheduler: one-time schedules that invoke this function again.

use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, ScheduleState, Target,
};
use chrono::{DateTime, Utc};

use super::error::AwsError;
use crate::core::schedule::{
    at_expression, is_valid_at_expression, parse_at_expression, ScheduleName,
};
use crate::core::tombstone::SCHEDULER_MAX_EVENT_AGE;

#[derive(Debug, Clone)]
pub struct Scheduler {
    client: aws_sdk_scheduler::Client,
}

/// Everything one follow-up schedule needs.
#[derive(Debug, Clone)]
pub struct OneTimeSchedule<'a> {
    pub name: &'a ScheduleName,
    pub group: &'a str,
    pub at: DateTime<Utc>,
    pub target_arn: &'a str,
    pub role_arn: &'a str,
    pub dead_letter_arn: Option<&'a str>,
    pub input: String,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduled {
    Created,
    /// A schedule with this name exists: a redelivered event already made it.
    AlreadyScheduled,
}

/// Scheduler retries a failed Lambda invocation itself; a day covers a long outage
/// (and an offboarding's tombstone outlives it).
const TARGET_MAX_RETRIES: i32 = 10;
const TARGET_MAX_EVENT_AGE_SECONDS: i32 = SCHEDULER_MAX_EVENT_AGE.num_seconds() as i32;

impl Scheduler {
    pub fn new(client: aws_sdk_scheduler::Client) -> Self {
        Self { client }
    }

    pub async fn create_one_time(
        &self,
        schedule: OneTimeSchedule<'_>,
    ) -> Result<Scheduled, AwsError> {
        const OP: &str = "scheduler:CreateSchedule";
        let expression = at_expression(schedule.at);
        // The emulator accepts any expression; AWS would not. Never send a bad one.
        if !is_valid_at_expression(&expression) {
            return Err(AwsError::unexpected(
                OP,
                format!("built an invalid expression {expression}"),
            ));
        }
        let invalid = |e: aws_sdk_scheduler::error::BuildError| AwsError::invalid_input(OP, e);
        let target = Target::builder()
            .arn(schedule.target_arn)
            .role_arn(schedule.role_arn)
            .input(schedule.input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(TARGET_MAX_RETRIES)
                    .maximum_event_age_in_seconds(TARGET_MAX_EVENT_AGE_SECONDS)
                    .build(),
            )
            .set_dead_letter_config(
                schedule
                    .dead_letter_arn
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()
            .map_err(invalid)?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(invalid)?;
        let result = self
            .client
            .create_schedule()
            .name(schedule.name.as_str())
            .group_name(schedule.group)
            .schedule_expression(expression)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .state(ScheduleState::Enabled)
            .description(schedule.description)
            .target(target)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Scheduled::Created),
            Err(e) => {
                let err = AwsError::from_sdk(OP, e);
                if err.is_code("ConflictException") {
                    Ok(Scheduled::AlreadyScheduled)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// The names of the schedules in `group` whose names start with `prefix`.
    pub async fn names_with_prefix(
        &self,
        group: &str,
        prefix: &str,
    ) -> Result<Vec<String>, AwsError> {
        // AWS holds NamePrefix to the rule for names; the emulator takes anything.
        ScheduleName::parse(prefix)
            .map_err(|e| AwsError::invalid_input("scheduler:ListSchedules", e))?;
        self.names(group, Some(prefix)).await
    }

    /// Every schedule name in `group`, a hundred per call.
    pub async fn all_names(&self, group: &str) -> Result<Vec<String>, AwsError> {
        self.names(group, None).await
    }

    async fn names(&self, group: &str, prefix: Option<&str>) -> Result<Vec<String>, AwsError> {
        const OP: &str = "scheduler:ListSchedules";
        let mut names = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .client
                .list_schedules()
                .group_name(group)
                .set_name_prefix(prefix.map(str::to_owned))
                .max_results(100)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))?;
            names.extend(
                output
                    .schedules()
                    .iter()
                    .filter_map(|s| s.name().map(str::to_owned)),
            );
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(names),
            }
        }
    }

    /// A schedule's target input; `None` when no such schedule exists.
    pub async fn input_of(
        &self,
        name: &ScheduleName,
        group: &str,
    ) -> Result<Option<String>, AwsError> {
        let found = self.get(name.as_str(), group).await?;
        Ok(found.and_then(|s| s.target().and_then(|t| t.input()).map(str::to_owned)))
    }

    /// When a one-time schedule fires next; `None` when it is gone. `ListSchedules`
    /// does not return the expression, so this is one `GetSchedule` per schedule.
    pub async fn next_run(
        &self,
        name: &str,
        group: &str,
    ) -> Result<Option<DateTime<Utc>>, AwsError> {
        let found = self.get(name, group).await?;
        Ok(found.and_then(|s| s.schedule_expression().and_then(parse_at_expression)))
    }

    /// `GetSchedule`; `None` when no such schedule exists.
    async fn get(
        &self,
        name: &str,
        group: &str,
    ) -> Result<Option<aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput>, AwsError>
    {
        const OP: &str = "scheduler:GetSchedule";
        match self
            .client
            .get_schedule()
            .name(name)
            .group_name(group)
            .send()
            .await
        {
            Ok(output) => Ok(Some(output)),
            Err(e) => {
                let err = AwsError::from_sdk(OP, e);
                if err.is_code("ResourceNotFoundException") {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Delete a schedule; one already gone counts as deleted.
    pub async fn delete(&self, name: &ScheduleName, group: &str) -> Result<(), AwsError> {
        const OP: &str = "scheduler:DeleteSchedule";
        match self
            .client
            .delete_schedule()
            .name(name.as_str())
            .group_name(group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = AwsError::from_sdk(OP, e);
                if err.is_code("ResourceNotFoundException") {
                    Ok(())
                } else {
                    Err(err)
                }
            }
        }
    }
}
