//! Offboarding: a domain leaves. Look at everything at once (its zone and DKIM
//! records, SES's tokens, its schedules), leave the tombstone that ends its chains,
//! then remove what is exactly ours: the schedules, the records holding exactly SES's
//! values, the identity. Tell the world what went and what was left.
//!
//! Idempotent: a second delivery finds nothing left to remove and says so; a domain
//! never onboarded is the same. The race with an onboarding is settled by start time
//! (see `core::tombstone`).

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::publish::{
    create_schedule, delete_records, domain_schedules, publish_outcome, remove_schedules_ended_by,
    skip,
};
use super::zones::{find_zone, zone_opted_out};
use super::{Context, Response, Stop};
use crate::aws::AwsError;
use crate::core::domain::DomainName;
use crate::core::offboarding::{plan_removal, removed_event, RecordRemoval, Removal};
use crate::core::policy::DkimStatus;
use crate::core::records::CnameRecord;
use crate::core::request::OffboardRequest;
use crate::core::scope::Skip;
use crate::core::tombstone::{read_tombstone, Tombstone};
use crate::core::zone::HostedZoneId;

/// `requested_at`: when the offboarding was first asked for; work started before it ends.
pub async fn offboard(
    cx: &Context<'_>,
    request: OffboardRequest,
    requested_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let domain = &request.domain;
    let tenant = request.tenant_id.as_ref();
    let stop = |e| Stop::aws(e, domain, tenant.map(|t| t.as_str()));
    if let Err(out_of_scope) = cx.settings.scope.check(domain) {
        return skip(
            cx,
            domain,
            tenant,
            request.hosted_zone_id.as_ref(),
            out_of_scope,
        )
        .await
        .map_err(stop);
    }
    let (zone, state, schedules) = tokio::try_join!(
        observe_zone(cx, domain, request.hosted_zone_id.as_ref()),
        cx.aws.ses.dkim_state(domain),
        domain_schedules(cx, domain),
    )
    .map_err(stop)?;
    if let Some(zone) = zone.as_ref().filter(|z| z.opted_out) {
        let opted_out = Skip::ZoneOptedOut {
            zone_id: zone.id.clone(),
        };
        return skip(cx, domain, tenant, Some(&zone.id), opted_out)
            .await
            .map_err(stop);
    }
    // First, so that no chain started before now can bring the domain back.
    let tombstone = Tombstone {
        domain: domain.clone(),
        offboarded_at: requested_at,
    };
    leave_tombstone(cx, &tombstone).await.map_err(stop)?;

    let tokens: Vec<_> = state.tokens.iter().flat_map(|t| t.iter()).collect();
    let records = match &zone {
        Some(zone) => plan_removal(
            domain,
            &tokens,
            &cx.settings.dkim_record_domain,
            &zone.records,
        ),
        None => RecordRemoval::default(),
    };
    let delete_identity =
        cx.settings.delete_identity_on_offboard && state.status != DkimStatus::IdentityMissing;
    let (schedules, (), ()) = tokio::try_join!(
        remove_schedules_ended_by(cx, &schedules, requested_at),
        async {
            match &zone {
                Some(zone) => delete_records(cx, &zone.id, &records.deletes).await,
                None => Ok(()),
            }
        },
        async {
            if delete_identity {
                cx.aws.ses.delete_identity(domain).await
            } else {
                Ok(())
            }
        },
    )
    .map_err(stop)?;

    let removal = Removal {
        schedules: schedules.removed,
        records: names(&records.deletes),
        identity: delete_identity,
        left_alone: names(&records.left_alone),
    };
    let zone_id = zone
        .as_ref()
        .map(|z| z.id.to_string())
        .or(request.hosted_zone_id.as_ref().map(ToString::to_string));
    for record in &records.left_alone {
        warn!(%domain, record = %record.name, value = %record.value, "DKIM record not exactly SES's; left alone");
    }
    info!(
        %domain,
        tenant_id = tenant.map(|t| t.as_str()),
        hosted_zone_id = zone_id.as_deref(),
        schedules = ?removal.schedules,
        kept_schedules = ?schedules.kept,
        records = ?removal.records,
        identity = removal.identity,
        nothing_removed = removal.is_empty(),
        "DKIM removed"
    );
    let event = removed_event(
        domain,
        tenant.map(|t| t.as_str()),
        zone_id.as_deref(),
        &removal,
    );
    publish_outcome(cx, &event).await.map_err(stop)?;
    Ok(Response::Removed {
        domain: domain.to_string(),
        removed_schedules: removal.schedules,
        removed_records: removal.records,
        identity_deleted: removal.identity,
        left_alone: removal.left_alone,
    })
}

/// The zone that may hold the domain's records, with those records and its opt-out
/// tag; `None` when there is no such zone (the identity and schedules still go).
struct ObservedZone {
    id: HostedZoneId,
    records: Vec<CnameRecord>,
    opted_out: bool,
}

async fn observe_zone(
    cx: &Context<'_>,
    domain: &DomainName,
    named: Option<&HostedZoneId>,
) -> Result<Option<ObservedZone>, AwsError> {
    let zone = match find_zone(cx, domain, named).await? {
        Ok(zone) => zone,
        Err(problem) => {
            warn!(%domain, %problem, "no zone to remove DKIM records from");
            return Ok(None);
        }
    };
    let (records, opted_out) = tokio::try_join!(
        cx.aws.route53.dkim_cnames(&zone.id, domain),
        zone_opted_out(cx, &zone.id),
    )?;
    Ok(Some(ObservedZone {
        id: zone.id,
        records,
        opted_out,
    }))
}

/// Write the tombstone. One left by an earlier offboarding is replaced when this one
/// is later: the later offboarding ends the chains started before it.
async fn leave_tombstone(cx: &Context<'_>, tombstone: &Tombstone) -> Result<(), AwsError> {
    let name = tombstone.schedule_name();
    let write = || {
        create_schedule(
            cx,
            &name,
            tombstone.expires_at(&cx.settings.policy, &cx.settings.deferral),
            tombstone.to_input(),
            format!(
                "dkim-autopilot: {} was offboarded; ends its earlier follow-ups",
                tombstone.domain
            ),
            0,
        )
    };
    if !write().await?.already_scheduled {
        return Ok(());
    }
    let group = &cx.settings.schedule_group;
    let existing = cx.aws.scheduler.input_of(&name, group).await?;
    let earlier = existing
        .and_then(|input| serde_json::from_str(&input).ok())
        .and_then(|value| read_tombstone(value).ok())
        .is_none_or(|t| t.offboarded_at < tombstone.offboarded_at);
    if earlier {
        cx.aws.scheduler.delete(&name, group).await?;
        write().await?;
    }
    Ok(())
}

fn names(records: &[CnameRecord]) -> Vec<String> {
    records.iter().map(|r| r.name.clone()).collect()
}
