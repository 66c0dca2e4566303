//! Telling the world: send the outcome events `core::outcome` builds.

use tracing::{error, warn};

use super::super::{Context, Response};
use crate::aws::AwsError;
use crate::core::outcome::{domain_rejected, OutcomeEvent};
use crate::core::rejection::Rejection;

/// Send an outcome event. Only a transient failure is returned: the work is done, and
/// a bus that refuses the event for good must not undo or repeat it.
pub async fn send(cx: &Context<'_>, event: &OutcomeEvent) -> Result<(), AwsError> {
    match cx.aws.events.publish(event).await {
        Err(err) if !err.transient => {
            error!(code = %err.code, message = %err.message, "could not publish {}", event.kind.detail_type());
            Ok(())
        }
        other => other,
    }
}

/// A refusal: one structured log line, and `Domain Rejected` when it names a domain.
/// Only a transient failure to publish is returned (nothing else is left to redo).
pub async fn report_rejection(
    cx: &Context<'_>,
    rejection: Rejection,
) -> Result<Response, AwsError> {
    let reason_code = rejection.reason.code();
    let reason = rejection.reason.to_string();
    warn!(
        domain = rejection.domain.as_deref(),
        tenant_id = rejection.tenant_id.as_deref(),
        reason_code,
        %reason,
        "rejected"
    );
    if let Some(event) = domain_rejected(&rejection) {
        send(cx, &event).await.inspect_err(|err| {
            error!(operation = err.operation, code = %err.code, message = %err.message, "could not publish Domain Rejected");
        })?;
    }
    Ok(Response::Rejected {
        domain: rejection.domain,
        reason_code: reason_code.to_owned(),
        reason,
    })
}
