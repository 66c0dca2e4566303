//! Finding the hosted zone that may hold a domain's records, through the scope gate.

use futures_util::future::join_all;

use super::super::Context;
use crate::aws::AwsError;
use crate::core::ids::{DomainName, HostedZoneId};
use crate::core::scope::{opted_out, Skip};
use crate::core::zone::{check_named_zone, pick_zone_named, HostedZone, ZoneProblem};

/// The zone named by the event (checked), or else the deepest public zone that
/// contains the domain. Every candidate name is asked for at once, so a domain at
/// any depth costs one round trip; asking per exact name works the same against
/// Route 53 and an emulator that only matches exact names. A named zone has passed
/// the scope gate already (`run`); a zone found by name has not: see `find_usable`.
pub async fn find(
    cx: &Context<'_>,
    domain: &DomainName,
    named: Option<&HostedZoneId>,
) -> Result<Result<HostedZone, ZoneProblem>, AwsError> {
    if let Some(id) = named {
        let Some(zone) = cx.aws.route53.hosted_zone(id).await? else {
            return Ok(Err(ZoneProblem::NotFound {
                zone_id: id.clone(),
            }));
        };
        return Ok(check_named_zone(&zone, domain).map(|()| zone));
    }
    let candidates = domain.candidate_zone_names();
    let listings = join_all(
        candidates
            .iter()
            .map(|candidate| cx.aws.route53.zones_named(candidate)),
    )
    .await;
    // Deepest first: the first candidate with a zone wins.
    for (candidate, listed) in candidates.iter().zip(listings) {
        if let Some(zone) = pick_zone_named(candidate, &listed?).transpose() {
            return Ok(zone);
        }
    }
    Ok(Err(ZoneProblem::NoneFound {
        domain: domain.clone(),
        looked_for: candidates
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }))
}

/// A zone that may hold the records, or one the scope leaves alone.
#[derive(Debug)]
pub enum Usable {
    Yes(HostedZone),
    /// Not in `HOSTED_ZONE_IDS` (nothing was asked about it), or tagged off.
    Skipped(HostedZone, Skip),
}

/// `find`, then the gate: a zone found by name must be allowed before anything names
/// it, and then its opt-out tag is read. A zone the event names is read with its tags
/// at once (one round trip); a zone found by name costs one more.
pub async fn find_usable(
    cx: &Context<'_>,
    domain: &DomainName,
    named: Option<&HostedZoneId>,
) -> Result<Result<Usable, ZoneProblem>, AwsError> {
    let (zone, named_opted_out) = match named {
        Some(id) => {
            let (zone, opted) = tokio::try_join!(find(cx, domain, named), opted_out_tag(cx, id))?;
            (zone, Some(opted))
        }
        None => (find(cx, domain, None).await?, None),
    };
    let zone = match zone {
        Ok(zone) => zone,
        Err(problem) => return Ok(Err(problem)),
    };
    if let Err(skip) = cx.settings.scope.check_zone(&zone.id) {
        return Ok(Ok(Usable::Skipped(zone, skip)));
    }
    let opted = match named_opted_out {
        Some(opted) => opted,
        None => opted_out_tag(cx, &zone.id).await?,
    };
    Ok(Ok(match opted {
        true => {
            let skip = Skip::ZoneOptedOut {
                zone_id: zone.id.clone(),
            };
            Usable::Skipped(zone, skip)
        }
        false => Usable::Yes(zone),
    }))
}

/// Whether a hosted zone's tags opt it out (`dkim-autopilot` = `off`). A zone that
/// does not exist has no tags: `find` says what is wrong with it.
pub async fn opted_out_tag(cx: &Context<'_>, zone: &HostedZoneId) -> Result<bool, AwsError> {
    let tags = match cx.aws.route53.zone_tags(std::slice::from_ref(zone)).await {
        Ok(tags) => tags,
        Err(err) if err.is_code("NoSuchHostedZone") => return Ok(false),
        Err(err) => return Err(err),
    };
    Ok(tags
        .iter()
        .any(|(_, pairs)| opted_out(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))))
}
