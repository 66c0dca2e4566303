//! One Lambda invocation: parse, do the work (or put it off), report.

use std::io::Write;

use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::value::RawValue;
use tracing::info;

use crate::aws::{Aws, AwsError};
use crate::config::Settings;
use crate::core::deferral::Deferred;
use crate::core::inbound::{parse_invocation, Invocation};
use crate::core::metrics::InvocationMetrics;
use crate::core::work::Work;
use crate::dns::PublicDns;
use crate::workflow::{defer, report_rejection, run, Context, Response, Stop};

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

/// The Lambda entry point. The payload is taken raw so its size is checked before
/// parsing. Every invocation leaves its metrics in the log.
pub async fn handle(
    aws: &Aws,
    dns: &PublicDns,
    settings: &Settings,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Response, RetryableError> {
    let cx = Context {
        aws,
        settings,
        function_arn: &event.context.invoked_function_arn,
        now: Utc::now(),
        deadline: Some(deadline_of(&event.context)),
        dns,
    };
    let calls_before = aws.calls.snapshot();
    let result = handle_payload(&cx, event.payload.get()).await;
    let (outcome, reason_code, seconds_to_verification) = match &result {
        Ok(response) => (
            response.metric_outcome(),
            response.reason_code().map(str::to_owned),
            match response {
                Response::Verified {
                    elapsed_seconds, ..
                } => Some(*elapsed_seconds),
                _ => None,
            },
        ),
        Err(err) => ("failedInvocation", Some(err.0.code.clone()), None),
    };
    let reconcile = match &result {
        Ok(Response::ReconcileFinished { counts, .. }) => Some(counts),
        _ => None,
    };
    let metrics = InvocationMetrics {
        function_name: &event.context.env_config.function_name,
        outcome,
        reason_code: reason_code.as_deref(),
        calls: aws.calls.snapshot().since(&calls_before),
        seconds_to_verification,
        reconcile,
        at: Utc::now(),
    };
    write_metrics(&metrics);
    result
}

/// Lambda's deadline (milliseconds since the epoch) as a point on this process's clock.
fn deadline_of(context: &lambda_runtime::Context) -> std::time::Instant {
    let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let left = context.deadline.saturating_sub(now_ms);
    std::time::Instant::now() + std::time::Duration::from_millis(left)
}

/// EMF documents go to stdout, one line each, as CloudWatch Logs reads them.
fn write_metrics(metrics: &InvocationMetrics<'_>) {
    let mut out = std::io::stdout().lock();
    for document in metrics.documents() {
        let _ = writeln!(out, "{document}");
    }
}

/// Everything but the clock and the Lambda context, so tests can set both.
pub async fn handle_payload(cx: &Context<'_>, raw: &str) -> Result<Response, RetryableError> {
    let pending = match parse_invocation(raw) {
        Ok(Invocation::Onboard(request)) => {
            info!(domain = %request.domain, trigger = %request.trigger.describe(), "onboarding");
            Deferred::fresh(Work::Onboard {
                request,
                started_at: cx.now,
            })
        }
        Ok(Invocation::FollowUp(follow_up)) => Deferred::fresh(Work::FollowUp(follow_up)),
        Ok(Invocation::Offboard(request)) => {
            info!(domain = %request.domain, trigger = %request.trigger.describe(), "offboarding");
            Deferred::fresh(Work::Offboard {
                request,
                requested_at: cx.now,
            })
        }
        Ok(Invocation::Reconcile(run)) => Deferred::fresh(Work::Reconcile(run)),
        Ok(Invocation::Deferred(deferred)) => {
            info!(subject = %deferred.work.subject(), work = deferred.work.kind(), deferrals = deferred.deferrals, last_error = deferred.last_error.as_deref(), "deferred work is back");
            deferred
        }
        Ok(Invocation::Ignore { reason }) => {
            info!(%reason, "event ignored");
            return Ok(Response::Ignored { reason });
        }
        // Nothing to redo: a transient failure to report it fails the invocation.
        Err(rejection) => {
            return report_rejection(cx, rejection)
                .await
                .map_err(RetryableError)
        }
    };
    let result = match run(cx, pending.work.clone()).await {
        Ok(response) => Ok(response),
        Err(Stop::Rejected(rejection)) => report_rejection(cx, rejection).await,
        Err(Stop::Transient(err)) => Err(err),
        Err(Stop::Partly { rest, err }) => {
            let rest = Deferred {
                work: *rest,
                ..pending
            };
            return defer(cx, rest, err).await.map_err(RetryableError);
        }
    };
    match result {
        Ok(response) => Ok(response),
        Err(err) => defer(cx, pending, err).await.map_err(RetryableError),
    }
}
