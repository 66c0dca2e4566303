//! Look at the fleet, write nothing: the story behind `dkimctl status` and
//! `dkimctl plan`. Find the domains (every public zone in scope and every SES domain
//! identity in scope, or only the domains named), read what can be read in batches
//! (tags ten zones a call, DKIM and MAIL FROM states a hundred identities a call, the
//! schedule group's names a hundred a call), then each domain's records, its
//! follow-up's next check, each replica Region's state for a verified parent, and what
//! the reconcile's own planner would do about it.

use tracing::warn;

use super::steps::public_dns::{look_up, served_or_unknown};
use super::steps::records::{read, wanted};
use super::steps::replicas;
use super::steps::sending::{self, organisational_dmarc};
use super::steps::signing;
use super::steps::zones::{find_usable, Usable};
use super::Context;
use crate::aws::AwsError;
use crate::core::handover::{diagnose_sending, RecordCheck};
use crate::core::identity::{DkimState, DkimStatus, MailFromState};
use crate::core::ids::{DomainName, HostedZoneId};
use crate::core::reconcile::{mail_from_needs_setting, plan_zone, Observed, ZoneAction};
use crate::core::schedule::{owned_schedules, ScheduleName};
use crate::core::scope::{opted_out, Skip};
use crate::core::status::{
    judge, next_check, with_missing_replicas, zone_record_checks, DomainStatus, FollowUpStatus,
    MailFromView, Observation, PlannedChange, RecordsHome,
};

/// `ListHostedZones` returns at most 100 zones per call.
const ZONES_PER_LISTING: i32 = 100;

/// Where one domain was found, before anything else is read.
enum Place {
    Zone(HostedZoneId),
    HandedOver,
    Skipped(Skip),
}

/// Told after each domain is done: (done, of how many).
pub type Progress<'p> = &'p dyn Fn(usize, usize);

/// What was seen: each domain's status, and how many zones the scope's suffixes
/// (`DOMAIN_INCLUDE`, `DOMAIN_EXCLUDE`) or `HOSTED_ZONE_IDS` leave out. Those are
/// counted, not listed: in an account where the function owns a few zones of many,
/// a row for each of the others would bury the answer.
pub struct Fleet {
    pub domains: Vec<DomainStatus>,
    pub zones_out_of_scope: usize,
}

/// The status of every domain in scope (`named` empty) or of the domains named, in
/// the order found (zones first, then identities with no zone here). A zone tagged
/// off is listed, as skipped: someone chose that, and the reconcile reports it.
pub async fn observe(
    cx: &Context<'_>,
    named: &[DomainName],
    progress: Progress<'_>,
) -> Result<Fleet, AwsError> {
    let (places, zones_out_of_scope) = match named.is_empty() {
        true => every_domain(cx).await?,
        false => (named_domains(cx, named).await?, 0),
    };
    let domains: Vec<DomainName> = places.iter().map(|(d, _)| d.clone()).collect();
    let mail_from_on = cx.settings.sending.mail_from.is_some();
    let (states, mail_from_states, schedules) = tokio::try_join!(
        cx.aws.ses.dkim_states(&domains),
        async {
            match mail_from_on {
                true => cx.aws.ses.mail_from_states(&domains).await,
                false => Ok(Vec::new()),
            }
        },
        cx.aws.scheduler.all_names(&cx.settings.schedule_group),
    )?;
    let mut statuses = Vec::with_capacity(places.len());
    for (done, ((domain, place), (_, state))) in places.iter().zip(&states).enumerate() {
        let mail_from = mail_from_states
            .iter()
            .find(|(d, _)| d == domain)
            .map(|(_, s)| s);
        let status = match place {
            Place::Skipped(skip) => skipped(domain, state, skip),
            _ => one_domain(cx, domain, place, state, mail_from, &schedules).await?,
        };
        statuses.push(status);
        progress(done + 1, places.len());
    }
    Ok(Fleet {
        domains: statuses,
        zones_out_of_scope,
    })
}

/// Every public zone the scope allows (not tagged off), named by its domain; then the
/// SES domain identities in scope that no zone here holds: handed over, or orphans.
async fn every_domain(cx: &Context<'_>) -> Result<(Vec<(DomainName, Place)>, usize), AwsError> {
    let mut zones = Vec::new();
    let mut out_of_scope = 0;
    let mut marker: Option<String> = None;
    loop {
        let (listed, next) = cx
            .aws
            .route53
            .zones_page(marker.as_deref(), ZONES_PER_LISTING)
            .await?;
        for zone in listed.into_iter().filter(|z| !z.private) {
            match cx.settings.scope.allows_zone(&zone.id) {
                true => zones.push(zone),
                false => out_of_scope += 1,
            }
        }
        match next {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    let ids: Vec<HostedZoneId> = zones.iter().map(|z| z.id.clone()).collect();
    let tags = cx.aws.route53.zone_tags(&ids).await?;
    let tagged_off = |id: &HostedZoneId| {
        tags.iter().any(|(zone, pairs)| {
            zone == id && opted_out(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        })
    };
    let mut places: Vec<(DomainName, Place)> = Vec::with_capacity(zones.len());
    for zone in &zones {
        let Ok(domain) = DomainName::parse(&zone.name) else {
            continue;
        };
        if cx.settings.scope.check(&domain).is_err() {
            out_of_scope += 1;
            continue;
        }
        let place = match tagged_off(&zone.id) {
            true => Place::Skipped(Skip::ZoneOptedOut {
                zone_id: zone.id.clone(),
            }),
            false => Place::Zone(zone.id.clone()),
        };
        places.push((domain, place));
    }
    let mut token: Option<String> = None;
    loop {
        let (identities, next) = cx.aws.ses.domain_identities_page(token.as_deref()).await?;
        for identity in identities {
            let Ok(domain) = DomainName::parse(&identity) else {
                continue;
            };
            if places.iter().any(|(d, _)| *d == domain) || cx.settings.scope.check(&domain).is_err()
            {
                continue;
            }
            // Below a zone of this account (`shop.example.com` in `example.com`)?
            let place = match find_usable(cx, &domain, None).await? {
                Ok(Usable::Yes(zone)) => Place::Zone(zone.id),
                Ok(Usable::Skipped(..)) => continue,
                Err(_) => Place::HandedOver,
            };
            places.push((domain, place));
        }
        match next {
            Some(next) => token = Some(next),
            None => return Ok((places, out_of_scope)),
        }
    }
}

/// The domains named, each through the scope gate and to its zone, as onboarding
/// finds it.
async fn named_domains(
    cx: &Context<'_>,
    named: &[DomainName],
) -> Result<Vec<(DomainName, Place)>, AwsError> {
    let mut places = Vec::with_capacity(named.len());
    for domain in named {
        let place = match cx.settings.scope.check(domain) {
            Err(skip) => Place::Skipped(skip),
            Ok(()) => match find_usable(cx, domain, None).await? {
                Ok(Usable::Yes(zone)) => Place::Zone(zone.id),
                Ok(Usable::Skipped(_, skip)) => Place::Skipped(skip),
                Err(_) => Place::HandedOver,
            },
        };
        places.push((domain.clone(), place));
    }
    Ok(places)
}

fn skipped(domain: &DomainName, state: &DkimState, skip: &Skip) -> DomainStatus {
    judge(Observation {
        domain: domain.to_string(),
        records_home: RecordsHome::Skipped {
            reason: skip.to_string(),
        },
        dkim_status: state.status,
        dkim_records: Vec::new(),
        follow_up: None,
        mail_from: None,
        sending_records: Vec::new(),
        replicas: Vec::new(),
        plan: PlannedChange {
            action: "skip",
            records: Vec::new(),
            reason: Some(skip.to_string()),
        },
    })
}

/// One domain's records, follow-up and plan.
async fn one_domain(
    cx: &Context<'_>,
    domain: &DomainName,
    place: &Place,
    state: &DkimState,
    mail_from: Option<&MailFromState>,
    schedule_names: &[String],
) -> Result<DomainStatus, AwsError> {
    let follow_up = follow_up(cx, domain, schedule_names).await?;
    let chain_running = follow_up
        .as_ref()
        .is_some_and(|f| f.offboarded || !f.schedules.is_empty());
    let verified = state.status == DkimStatus::Success;
    let mail_from_view = cx
        .settings
        .sending
        .mail_from
        .is_some()
        .then(|| MailFromView::of(mail_from));
    let replicas_on = verified && !cx.aws.replicas.is_empty();
    let (records_home, dkim_records, sending_records, replicas, plan) = match place {
        Place::Zone(zone) => {
            let found = match state.tokens.is_none() {
                true => Vec::new(),
                false => read(cx, zone, domain).await?,
            };
            // With replica Regions, SES v2 is asked anyway (the parent's tag names the
            // domain's own Regions); that one read names the zone too, as in the
            // reconcile.
            let signing_now = match replicas_on {
                true => signing::read(cx, domain).await?,
                false => None,
            };
            // Judged where SES signs, as the reconcile judges it.
            let wanted = match (&state.tokens, verified) {
                (Some(tokens), true) => {
                    let known = signing_now.as_ref();
                    let zone = signing::of_verified(cx, domain, tokens, &found, known).await?;
                    wanted(cx, domain, tokens, zone.as_ref())
                }
                (Some(tokens), false) => {
                    let zone = signing::learn(cx, domain).await?;
                    wanted(cx, domain, tokens, zone.as_ref())
                }
                (None, _) => Vec::new(),
            };
            let action = plan_zone(Observed {
                status: state.status,
                tokens: state.tokens.as_ref(),
                chain_running,
                records: verified.then_some(found.as_slice()),
                wanted: &wanted,
            });
            let (sending_records, mut plan) =
                zone_sending(cx, zone, domain, mail_from, chain_running).await?;
            if !verified {
                // A reconcile looks at sending records only once DKIM is verified.
                plan = None;
            }
            let home = RecordsHome::Route53 {
                hosted_zone_id: zone.to_string(),
            };
            let own = signing_now.and_then(|s| s.replica_regions);
            let replicas = match replicas_on {
                true => replicas::read_own(cx, domain, own.as_deref()).await,
                false => Vec::new(),
            };
            // The reconcile makes a verified parent's missing replicas.
            let planned =
                with_missing_replicas(plan.unwrap_or_else(|| planned(&action)), &replicas);
            (
                home,
                zone_record_checks(&wanted, &found),
                sending_records,
                replicas,
                planned,
            )
        }
        _ => {
            let signing_now = match &state.tokens {
                Some(_) => signing::learn_all(cx, domain).await?,
                None => None,
            };
            let wanted = match &state.tokens {
                Some(tokens) => {
                    let zone = signing_now.as_ref().and_then(|s| s.zone.as_ref());
                    wanted(cx, domain, tokens, zone)
                }
                None => Vec::new(),
            };
            let (checks, _) = look_up(cx, &wanted).await;
            // Not an orphan while a chain watches it or public DNS serves (or cannot
            // tell about) its records: the reconcile's own test.
            let served = verified && served_or_unknown(&checks);
            let elsewhere = chain_running || served;
            let plan = PlannedChange {
                action: if elsewhere { "handedOver" } else { "orphaned" },
                records: Vec::new(),
                reason: (!elsewhere).then(|| {
                    match cx.settings.delete_orphaned_identities {
                        true => "no zone here, no chain, records not served: the reconcile deletes the identity (DELETE_ORPHANED_IDENTITIES)",
                        false => "no zone here, no chain, records not served: the reconcile reports it",
                    }
                    .to_owned()
                }),
            };
            let sending_records = sending::in_public_dns(cx, domain).await;
            // Verified and served: the reconcile makes its missing replicas, as for a
            // zone's domain (an orphan's are not looked at).
            let replicas = match replicas_on && served {
                true => {
                    let own = signing_now.and_then(|s| s.replica_regions);
                    replicas::read_own(cx, domain, own.as_deref()).await
                }
                false => Vec::new(),
            };
            let plan = with_missing_replicas(plan, &replicas);
            (
                RecordsHome::HandedOver,
                checks,
                sending_records,
                replicas,
                plan,
            )
        }
    };
    Ok(judge(Observation {
        domain: domain.to_string(),
        records_home,
        dkim_status: state.status,
        dkim_records,
        follow_up,
        mail_from: mail_from_view,
        sending_records,
        replicas,
        plan,
    }))
}

/// The zone's sending records judged, and the reconcile's sending plan for a verified
/// domain (`None`: nothing to do there).
async fn zone_sending(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    domain: &DomainName,
    mail_from: Option<&MailFromState>,
    chain_running: bool,
) -> Result<(Vec<RecordCheck>, Option<PlannedChange>), AwsError> {
    let setup = &cx.settings.sending;
    if !setup.is_on() {
        return Ok((Vec::new(), None));
    }
    let (sets, org) = tokio::try_join!(
        sending::read(cx, zone, domain),
        organisational_dmarc(cx, domain, true)
    )?;
    let checks = diagnose_sending(setup, domain, &sets, &[], org.clone());
    let plan = setup.plan(domain, &sets, org);
    let wanted = setup.mail_from_name(domain);
    let planned = if !plan.is_empty() {
        Some(PlannedChange {
            action: "repairSending",
            records: plan.written(),
            reason: None,
        })
    } else if mail_from_needs_setting(&plan, mail_from, wanted.as_deref()) && !chain_running {
        Some(PlannedChange {
            action: "setMailFrom",
            records: wanted
                .map(|n| format!("{n} MAIL FROM"))
                .into_iter()
                .collect(),
            reason: None,
        })
    } else {
        None
    };
    Ok((checks, planned))
}

/// The reconcile's action in the plan's words, with the records it would write.
fn planned(action: &ZoneAction) -> PlannedChange {
    let records = match action {
        ZoneAction::RepairDrift(repair) => repair
            .upserts
            .iter()
            .map(|r| format!("{} CNAME {}", r.name, r.value))
            .chain(
                repair
                    .deletes
                    .iter()
                    .map(|r| format!("delete {} CNAME {}", r.name, r.value)),
            )
            .collect(),
        _ => Vec::new(),
    };
    PlannedChange {
        action: action.name(),
        records,
        reason: match action {
            ZoneAction::Skip(skip) => Some(skip.to_string()),
            _ => None,
        },
    }
}

/// The domain's follow-ups from the group's names (listed once for the fleet), and
/// when the next fires: one `GetSchedule` per follow-up, since `ListSchedules` does
/// not return the expression.
async fn follow_up(
    cx: &Context<'_>,
    domain: &DomainName,
    names: &[String],
) -> Result<Option<FollowUpStatus>, AwsError> {
    let owned = owned_schedules(domain, names);
    if owned.is_empty() {
        return Ok(None);
    }
    let tombstone = ScheduleName::for_tombstone(domain);
    let (tombstones, work): (Vec<&String>, Vec<&String>) = owned
        .into_iter()
        .partition(|name| name.as_str() == tombstone.as_str());
    let mut runs = Vec::with_capacity(work.len());
    for name in &work {
        let run = cx
            .aws
            .scheduler
            .next_run(name, &cx.settings.schedule_group)
            .await?;
        if run.is_none() {
            warn!(%domain, schedule = %name, "a listed follow-up is gone or has no at() time");
        }
        runs.push(run);
    }
    Ok(Some(FollowUpStatus {
        schedules: work.into_iter().cloned().collect(),
        next_check: next_check(&runs),
        offboarded: !tombstones.is_empty(),
    }))
}
