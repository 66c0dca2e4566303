//! The scope gate's answer: a domain left alone costs one log line and one `Domain
//! Skipped` event, changes nothing, and the invocation succeeds. The rules themselves
//! are `core::scope`'s; `run` applies them to every piece of work before any AWS call,
//! and `zones` to a zone found by name.

use tracing::info;

use super::super::{Context, Response};
use super::outcomes::send;
use crate::aws::AwsError;
use crate::core::ids::{DomainName, HostedZoneId, TenantId};
use crate::core::outcome::domain_skipped;
use crate::core::scope::Skip;

pub async fn skip(
    cx: &Context<'_>,
    domain: &DomainName,
    tenant_id: Option<&TenantId>,
    zone: Option<&HostedZoneId>,
    skip: Skip,
) -> Result<Response, AwsError> {
    let reason = skip.to_string();
    info!(%domain, reason_code = skip.code(), %reason, "domain skipped");
    send(cx, &domain_skipped(domain, tenant_id, zone, &skip)).await?;
    Ok(Response::Skipped {
        domain: domain.to_string(),
        reason_code: skip.code().to_owned(),
        reason,
    })
}
