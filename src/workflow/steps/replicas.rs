//! DEED replicas of a verified parent, one per replica Region: created where missing,
//! each Region's state read, told in `DKIM Replicas Verified`; deleted before the
//! parent at offboarding. Each Region stands alone: SES's limits are per Region, so a
//! Region that would not answer (or still reports pending) is put off by itself.
//! Shared by verification (both chains' conclusion), the replicate use case, the
//! reconcile and offboarding.

use futures_util::future::join_all;
use tracing::{info, warn};

use super::super::{Context, Response};
use super::deferral;
use super::outcomes::send;
use crate::aws::replicas::{Created, Replica};
use crate::aws::AwsError;
use crate::core::deferral::Deferred;
use crate::core::identity::DkimStatus;
use crate::core::ids::{DomainName, TenantId};
use crate::core::key_length::identity_arn;
use crate::core::outcome::replicas_verified;
use crate::core::replicas::{origin, ReplicaState, ReplicaStatus};
use crate::core::work::Work;

/// One Region's state, and what kept it from settling when SES would not answer.
pub struct Looked {
    pub state: ReplicaState,
    pub error: Option<AwsError>,
}

/// The replicas of `domain` in `regions`, created where missing, each Region at once
/// (each on its own budget). Never fails: a Region's failure is its state.
pub async fn ensure<'a>(
    cx: &Context<'_>,
    domain: &DomainName,
    regions: impl Iterator<Item = &'a Replica>,
) -> Vec<Looked> {
    let origin = origin(parent_region(cx));
    join_all(regions.map(|replica| ensure_one(replica, domain, &origin))).await
}

async fn ensure_one(replica: &Replica, domain: &DomainName, origin: &str) -> Looked {
    let region = &replica.region;
    let looked = async {
        let (status, created) = match replica.status(domain).await? {
            Some(status) => (status, false),
            None => match replica.create(domain, origin).await? {
                Created::Made(Some(status)) => (status, true),
                // Read only where SES's answer did not tell: it said nothing of DKIM,
                // or another delivery made the replica between the two calls.
                made => {
                    let status = replica.status(domain).await?;
                    let created = made != Created::AlreadyThere;
                    (status.unwrap_or(DkimStatus::NotStarted), created)
                }
            },
        };
        Ok::<_, AwsError>((ReplicaStatus::of(status), created))
    };
    match looked.await {
        Ok((status, created)) => {
            if created {
                info!(%domain, %region, status = status.as_str(), "DEED replica created");
            }
            Looked {
                state: ReplicaState {
                    region: region.clone(),
                    status,
                    created,
                    reason: None,
                },
                error: None,
            }
        }
        Err(err) => unanswered(domain, region, err),
    }
}

/// A Region whose SES failed the call: unreachable for now (and put off), or refused.
fn unanswered(domain: &DomainName, region: &str, err: AwsError) -> Looked {
    let status = if err.transient {
        warn!(%domain, %region, error = %err, "SES in the replica Region would not answer now; this Region is put off alone");
        ReplicaStatus::Unreachable
    } else {
        warn!(%domain, %region, error = %err, "SES refused the replica");
        ReplicaStatus::Failed
    };
    Looked {
        state: ReplicaState {
            region: region.to_owned(),
            status,
            created: false,
            reason: Some(format!("{} {}: {}", err.operation, err.code, err.message)),
        },
        error: err.transient.then_some(err),
    }
}

/// Each Region's replica as it stands, read and never created (`missing` where there
/// is none): what a dry run plans from and `Domain Ready to Send` tells. One
/// `GetEmailIdentity` per Region, the Regions at once.
pub async fn read<'a>(
    domain: &DomainName,
    regions: impl Iterator<Item = &'a Replica>,
) -> Vec<ReplicaState> {
    join_all(regions.map(|replica| async move {
        match replica.status(domain).await {
            Ok(status) => ReplicaState {
                region: replica.region.clone(),
                status: status.map_or(ReplicaStatus::Missing, ReplicaStatus::of),
                created: false,
                reason: None,
            },
            Err(err) => unanswered(domain, &replica.region, err).state,
        }
    }))
    .await
}

/// `read`, in the Regions `domain` belongs in (`own`, the tag its onboarding left or
/// its chain's list, else every configured one).
pub async fn read_own(
    cx: &Context<'_>,
    domain: &DomainName,
    own: Option<&[String]>,
) -> Vec<ReplicaState> {
    read(domain, chosen(cx, own).into_iter()).await
}

/// Tell subscribers how each Region stands (`DKIM Replicas Verified`).
pub async fn announce(
    cx: &Context<'_>,
    domain: &DomainName,
    tenant: Option<&TenantId>,
    looked: &[Looked],
) -> Result<(), AwsError> {
    let states = states(looked);
    let event = replicas_verified(
        domain,
        tenant.map(TenantId::as_str),
        parent_region(cx),
        &states,
    );
    send(cx, &event).await
}

/// The Regions still to settle (unreachable now, or pending), and why: the work that
/// brings them back alone. `None`: every Region settled (verified, or refused for good).
pub fn unsettled(
    domain: &DomainName,
    tenant: Option<&TenantId>,
    looked: &[Looked],
    requested_at: chrono::DateTime<chrono::Utc>,
) -> Option<(Work, AwsError)> {
    let regions: Vec<String> = looked
        .iter()
        .filter(|l| l.state.status.unsettled())
        .map(|l| l.state.region.clone())
        .collect();
    let first = regions.first()?;
    let err = looked
        .iter()
        .find_map(|l| l.error.clone())
        .unwrap_or_else(|| AwsError {
            operation: "ses:GetEmailIdentity",
            code: "ReplicaPending".into(),
            message: format!("SES in {first} has not verified the replica yet"),
            transient: true,
        });
    let work = Work::Replicate {
        domain: domain.clone(),
        tenant_id: tenant.cloned(),
        regions,
        requested_at,
    };
    Some((work, err))
}

/// At verification: every configured Region (or the domain's own few, `narrowed`),
/// told, and what did not settle put off in a schedule of its own. The chain's own
/// answer does not wait for it. A narrowed list is kept on the parent for the reconcile.
/// Returns each Region's state (none when no replica Region applies).
pub async fn after_verified(
    cx: &Context<'_>,
    domain: &DomainName,
    tenant: Option<&TenantId>,
    narrowed: Option<&[String]>,
) -> Result<Vec<ReplicaState>, AwsError> {
    if cx.aws.replicas.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(regions) = narrowed {
        remember(cx, domain, regions).await?;
    }
    let replicas = chosen(cx, narrowed);
    if replicas.is_empty() {
        info!(%domain, "its event named no replica Region; none is made");
        return Ok(Vec::new());
    }
    let looked = ensure(cx, domain, replicas.into_iter()).await;
    announce(cx, domain, tenant, &looked).await?;
    if let Some((work, err)) = unsettled(domain, tenant, &looked, cx.now) {
        let answer = deferral::defer(cx, Deferred::fresh(work), err).await?;
        if let Response::Deferred { schedule, .. } = answer {
            info!(%domain, schedule = schedule.schedule_name, "replica Regions still to settle come back alone");
        }
    }
    Ok(states(&looked))
}

/// The Regions among `configured` this domain's replicas belong in: its own list
/// (the tag its onboarding left), or all of them.
pub fn chosen<'a>(cx: &'a Context<'_>, own: Option<&'a [String]>) -> Vec<&'a Replica> {
    match own {
        Some(regions) => cx.aws.replicas.among(regions).collect(),
        None => cx.aws.replicas.iter().collect(),
    }
}

/// Tag the parent with the domain's own Regions: the reconcile reads it back and makes
/// no replica the event did not ask for. Without the tag, that could not be known.
async fn remember(
    cx: &Context<'_>,
    domain: &DomainName,
    regions: &[String],
) -> Result<(), AwsError> {
    let ses_region = cx.settings.ses_region.as_deref();
    let Some(arn) = identity_arn(cx.function_arn, ses_region, domain.as_str()) else {
        warn!(%domain, function_arn = cx.function_arn, "no identity ARN from the function's ARN; the domain's replica Regions are not remembered");
        return Ok(());
    };
    match cx.aws.sesv2.mark_replica_regions(&arn, regions).await {
        Err(err) if !err.transient => {
            warn!(%domain, error = %err, "could not tag the identity with its replica Regions; the reconcile will replicate it to every configured Region");
            Ok(())
        }
        other => other,
    }
}

/// Offboarding: the replicas go first (SES keeps a parent while replicas remain).
/// Returns the Regions whose replica was deleted. A Region that fails stops the
/// offboarding, which is retried or deferred whole (deleting is idempotent).
pub async fn remove(cx: &Context<'_>, domain: &DomainName) -> Result<Vec<String>, AwsError> {
    let deleted = join_all(cx.aws.replicas.iter().map(|replica| async move {
        replica
            .delete(domain)
            .await
            .map(|gone| gone.then(|| replica.region.clone()))
    }))
    .await;
    let mut regions = Vec::new();
    for result in deleted {
        if let Some(region) = result? {
            regions.push(region);
        }
    }
    if !regions.is_empty() {
        info!(%domain, ?regions, "DEED replicas deleted");
    }
    Ok(regions)
}

pub fn states(looked: &[Looked]) -> Vec<ReplicaState> {
    looked.iter().map(|l| l.state.clone()).collect()
}

/// The parent's Region: `SES_REGION`, or the function's own.
pub fn parent_region<'a>(cx: &'a Context<'_>) -> &'a str {
    cx.settings.replica_regions.parent()
}
