//! Offboarding: a domain leaves. Look at everything at once (its zone and DKIM
//! records, SES's tokens, its schedules), leave the tombstone that ends its chains,
//! then remove what is exactly ours: the schedules, the records holding exactly SES's
//! values, the identity. Tell the world what went and what was left.
//!
//! Idempotent: a second delivery finds nothing left to remove and says so; a domain
//! never onboarded is the same. The race with an onboarding is settled by start time
//! (see `core::tombstone`). A domain the scope leaves alone (its zone not allowed,
//! or tagged off) loses nothing at all: not its records, identity or schedules.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::steps::outcomes::send;
use super::steps::records::{self, names};
use super::steps::replicas;
use super::steps::schedules;
use super::steps::scope::skip;
use super::steps::sending;
use super::steps::signing;
use super::steps::zones::{find, opted_out_tag};
use super::{Context, Response, Stop};
use crate::aws::AwsError;
use crate::core::identity::DkimStatus;
use crate::core::ids::{DomainName, HostedZoneId};
use crate::core::outcome::{removed, Removal};
use crate::core::records::{plan_removal, CnameRecord, RecordRemoval, RecordRepair};
use crate::core::request::OffboardRequest;
use crate::core::schedule::{parse_input, Scheduled};
use crate::core::scope::Skip;
use crate::core::tombstone::Tombstone;

/// `requested_at`: when the offboarding was first asked for; work started before it ends.
pub async fn offboard(
    cx: &Context<'_>,
    request: OffboardRequest,
    requested_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let domain = &request.domain;
    let tenant = request.tenant_id.as_ref();
    let stop = Stop::about(domain, tenant);
    // Where SES signs is read before the identity can go: a record under that zone
    // (or under the table's) is ours to remove.
    let (zone, state, signing, schedules) = tokio::try_join!(
        observe_zone(cx, domain, request.hosted_zone_id.as_ref()),
        cx.aws.ses.dkim_state(domain),
        signing::read(cx, domain),
        schedules::of_domain(cx, domain),
    )
    .map_err(&stop)?;
    if let Some(ObservedZone::Skipped(id, why)) = zone {
        return skip(cx, domain, tenant, Some(&id), why)
            .await
            .map_err(&stop);
    }
    let zone = match zone {
        Some(ObservedZone::Usable { id, records }) => Some((id, records)),
        _ => None,
    };
    // First, so that no chain started before now can bring the domain back.
    let tombstone = Tombstone {
        domain: domain.clone(),
        offboarded_at: requested_at,
    };
    leave_tombstone(cx, &tombstone).await.map_err(&stop)?;

    let tokens: Vec<_> = state.tokens.iter().flat_map(|t| t.iter()).collect();
    let records = match &zone {
        Some((_, existing)) => {
            let signing_zone = signing.as_ref().and_then(|s| s.zone.as_ref());
            plan_removal(domain, &tokens, &signing::ours(cx, signing_zone), existing)
        }
        None => RecordRemoval::default(),
    };
    let delete_identity =
        cx.settings.delete_identity_on_offboard && state.status != DkimStatus::IdentityMissing;
    let sending_on = cx.settings.sending.is_on();
    // A kept identity stops using the MAIL FROM domain whose MX goes away now.
    let clear_mail_from = !delete_identity
        && cx.settings.sending.mail_from.is_some()
        && state.status != DkimStatus::IdentityMissing;
    let (ended, (), sending_removed, replica_regions) = tokio::try_join!(
        schedules::remove_ended_by(cx, &schedules.work, requested_at),
        async {
            match &zone {
                Some((id, _)) => {
                    let removal = RecordRepair::remove(records.deletes.clone());
                    records::apply(cx, id, &removal, "offboarding").await
                }
                None => Ok(()),
            }
        },
        async {
            match (&zone, sending_on) {
                (Some((id, _)), true) => sending::remove(cx, id, domain).await,
                _ => Ok(Vec::new()),
            }
        },
        async {
            match (delete_identity, clear_mail_from) {
                // The replicas first: SES keeps a parent while replicas remain.
                (true, _) => {
                    let regions = replicas::remove(cx, domain).await?;
                    cx.aws.ses.delete_identity(domain).await?;
                    Ok(regions)
                }
                (false, true) => {
                    cx.aws.ses.set_mail_from_domain(domain, None).await?;
                    Ok(Vec::new())
                }
                (false, false) => Ok(Vec::new()),
            }
        },
    )
    .map_err(&stop)?;

    let mut removed_records = names(&records.deletes);
    removed_records.extend(sending_removed);
    let removal = Removal {
        schedules: ended.removed,
        records: removed_records,
        identity: delete_identity,
        replica_regions,
        left_alone: names(&records.left_alone),
    };
    let zone_id = zone
        .as_ref()
        .map(|(id, _)| id.to_string())
        .or(request.hosted_zone_id.as_ref().map(ToString::to_string));
    for record in &records.left_alone {
        warn!(%domain, record = %record.name, value = %record.value, "DKIM record not exactly SES's; left alone");
    }
    info!(
        %domain,
        tenant_id = tenant.map(|t| t.as_str()),
        hosted_zone_id = zone_id.as_deref(),
        schedules = ?removal.schedules,
        kept_schedules = ?ended.kept,
        records = ?removal.records,
        identity = removal.identity,
        replica_regions = ?removal.replica_regions,
        nothing_removed = removal.is_empty(),
        "DKIM removed"
    );
    send(cx, &removed(domain, tenant, zone_id.as_deref(), &removal))
        .await
        .map_err(&stop)?;
    Ok(Response::Removed {
        domain: domain.to_string(),
        removed_schedules: removal.schedules,
        removed_records: removal.records,
        identity_deleted: removal.identity,
        removed_replicas: removal.replica_regions,
        left_alone: removal.left_alone,
    })
}

/// The zone that may hold the domain's records; `None` when there is no such zone
/// (the identity and schedules still go).
enum ObservedZone {
    Usable {
        id: HostedZoneId,
        records: Vec<CnameRecord>,
    },
    /// The scope leaves it alone: nothing about it was read beyond its name.
    Skipped(HostedZoneId, Skip),
}

async fn observe_zone(
    cx: &Context<'_>,
    domain: &DomainName,
    named: Option<&HostedZoneId>,
) -> Result<Option<ObservedZone>, AwsError> {
    let zone = match find(cx, domain, named).await? {
        Ok(zone) => zone,
        Err(problem) => {
            warn!(%domain, %problem, "no zone to remove DKIM records from");
            return Ok(None);
        }
    };
    if let Err(why) = cx.settings.scope.check_zone(&zone.id) {
        return Ok(Some(ObservedZone::Skipped(zone.id, why)));
    }
    let (records, opted_out) = tokio::try_join!(
        records::read(cx, &zone.id, domain),
        opted_out_tag(cx, &zone.id),
    )?;
    Ok(Some(match opted_out {
        true => ObservedZone::Skipped(zone.id.clone(), Skip::ZoneOptedOut { zone_id: zone.id }),
        false => ObservedZone::Usable {
            id: zone.id,
            records,
        },
    }))
}

/// Write the tombstone. One left by an earlier offboarding is replaced when this one
/// is later: the later offboarding ends the chains started before it.
async fn leave_tombstone(cx: &Context<'_>, tombstone: &Tombstone) -> Result<(), AwsError> {
    let name = tombstone.schedule_name();
    let write = || {
        schedules::create(
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
    let earlier = match schedules::input_of(cx, &name)
        .await?
        .map(|i| parse_input(&i))
    {
        Some(Ok(Scheduled::Tombstone(existing))) => {
            existing.offboarded_at < tombstone.offboarded_at
        }
        _ => true,
    };
    if earlier {
        schedules::delete(cx, &name).await?;
        write().await?;
    }
    Ok(())
}
