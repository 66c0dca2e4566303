//! One Lambda invocation: parse, run the workflow, report.

use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::value::RawValue;
use tracing::{error, info, warn};

use crate::aws::{Aws, AwsError};
use crate::config::Settings;
use crate::core::inbound::{parse_invocation, Invocation};
use crate::core::outcome::{OutcomeDetail, OutcomeEvent, OutcomeKind};
use crate::core::rejection::Rejection;
use crate::workflow::{check, onboard, Context, Response, Stop};

/// The invocation failed in a way that may pass on retry; Lambda will retry it.
#[derive(Debug, thiserror::Error)]
#[error("transient AWS failure, will be retried: {0}")]
pub struct RetryableError(#[from] pub AwsError);

impl From<RetryableError> for Diagnostic {
    fn from(err: RetryableError) -> Self {
        Diagnostic {
            error_type: format!("Retryable.{}", err.0.code),
            error_message: err.to_string(),
        }
    }
}

/// The Lambda entry point. The payload is taken raw so its size is checked before parsing.
pub async fn handle(
    aws: &Aws,
    settings: &Settings,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Response, RetryableError> {
    let cx = Context {
        aws,
        settings,
        function_arn: &event.context.invoked_function_arn,
        now: Utc::now(),
    };
    handle_payload(&cx, event.payload.get()).await
}

/// Everything but the clock and the Lambda context, so tests can set both.
pub async fn handle_payload(cx: &Context<'_>, raw: &str) -> Result<Response, RetryableError> {
    let result = match parse_invocation(raw) {
        Ok(Invocation::Onboard(request)) => {
            info!(domain = %request.domain, trigger = %request.trigger.describe(), "onboarding");
            onboard(cx, request).await
        }
        Ok(Invocation::FollowUp(follow_up)) => check(cx, follow_up).await,
        Ok(Invocation::Ignore { reason }) => {
            info!(%reason, "event ignored");
            return Ok(Response::Ignored { reason });
        }
        Err(rejection) => Err(Stop::Rejected(rejection)),
    };
    match result {
        Ok(response) => Ok(response),
        Err(Stop::Rejected(rejection)) => report_rejection(cx, rejection).await,
        Err(Stop::Transient(err)) => {
            error!(operation = err.operation, code = %err.code, message = %err.message, "transient AWS failure; the invocation fails so Lambda retries it");
            Err(RetryableError(err))
        }
    }
}

/// Log the refusal as one structured line; tell subscribers when it concerns a domain.
async fn report_rejection(
    cx: &Context<'_>,
    rejection: Rejection,
) -> Result<Response, RetryableError> {
    let reason_code = rejection.reason.code();
    let reason = rejection.reason.to_string();
    warn!(
        domain = rejection.domain.as_deref(),
        tenant_id = rejection.tenant_id.as_deref(),
        reason_code,
        %reason,
        "rejected"
    );
    if let Some(domain) = &rejection.domain {
        let event = rejected_event(&rejection, domain);
        if let Err(err) = cx.aws.events.publish(&event).await {
            if err.transient {
                return Err(RetryableError(err));
            }
            error!(code = %err.code, message = %err.message, "could not publish Domain Rejected");
        }
    }
    Ok(Response::Rejected {
        domain: rejection.domain,
        reason_code: reason_code.to_owned(),
        reason,
    })
}

fn rejected_event(rejection: &Rejection, domain: &str) -> OutcomeEvent {
    let reason = rejection.reason.to_string();
    OutcomeEvent::new(
        OutcomeKind::DomainRejected,
        &[domain, rejection.reason.code(), &reason],
        OutcomeDetail {
            domain: Some(domain.to_owned()),
            tenant_id: rejection.tenant_id.clone(),
            reason_code: Some(rejection.reason.code().to_owned()),
            reason: Some(reason.clone()),
            ..Default::default()
        },
    )
}
