//! Replicate: DEED replicas of a verified parent, in the Regions an earlier look could
//! not settle (SES there would not answer, or still reported pending). Each Region is
//! looked at again; the ones that settle are told, and only those still unsettled are
//! put off again, alone.

use chrono::{DateTime, Utc};
use tracing::info;

use super::steps::replicas::{announce, ensure, states, unsettled};
use super::{Context, Response, Stop};
use crate::core::identity::DkimStatus;
use crate::core::ids::{DomainName, TenantId};
use crate::core::outcome::replicas_json;

pub async fn replicate(
    cx: &Context<'_>,
    domain: DomainName,
    tenant: Option<TenantId>,
    regions: Vec<String>,
    requested_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let tenant = tenant.as_ref();
    let stop = Stop::about(&domain, tenant);
    // Only Regions still configured: a later deployment may have dropped one.
    let replicas: Vec<_> = cx.aws.replicas.among(&regions).collect();
    if replicas.is_empty() {
        let reason = format!("no Region of {regions:?} is in SES_REPLICA_REGIONS any more");
        info!(%domain, %reason, "replication dropped");
        return Ok(Response::Ignored { reason });
    }
    // A replica copies a verified parent: one offboarded or failed since gets none.
    let parent = cx.aws.ses.dkim_state(&domain).await.map_err(&stop)?;
    if parent.status != DkimStatus::Success {
        let reason = format!(
            "the parent identity in {} is {}, not verified; no replica is made",
            cx.settings.replica_regions.parent(),
            parent.status.as_str()
        );
        info!(%domain, %reason, "replication dropped");
        return Ok(Response::Ignored { reason });
    }
    let looked = ensure(cx, &domain, replicas.into_iter()).await;
    announce(cx, &domain, tenant, &looked)
        .await
        .map_err(&stop)?;
    if let Some((rest, err)) = unsettled(&domain, tenant, &looked, requested_at) {
        return Err(Stop::Partly {
            rest: Box::new(rest),
            err,
        });
    }
    Ok(Response::Replicated {
        domain: domain.to_string(),
        replicas: replicas_json(&states(&looked)),
    })
}
