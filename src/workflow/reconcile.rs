//! Reconcile: walk the account's public hosted zones, compare each zone's domain with
//! its desired state (an SES identity whose Easy DKIM status is Success, its three
//! CNAMEs in place), act on the difference, then look for identities whose zone is
//! gone; report once at the end. Level-triggered: a second pass over a reconciled
//! account changes nothing. Each invocation does one bounded page and hands the rest
//! to a one-time schedule that carries the cursor.

use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::steps::deferral::defer;
use super::steps::key_length::{self, KeyOutcome};
use super::steps::outcomes::send;
use super::steps::public_dns::{look_up, served_or_unknown};
use super::steps::readiness::watch_again;
use super::steps::records::{self, names, wanted};
use super::steps::replicas;
use super::steps::schedules;
use super::steps::scope::skip;
use super::steps::sending::{self, report_conflicts};
use super::steps::signing;
use super::steps::zones::find;
use super::{run_boxed, Context, FollowUpRef, Response, Stop};
use crate::aws::AwsError;
use crate::core::chain::{Chain, FollowUp, MailFromWatch};
use crate::core::deferral::Deferred;
use crate::core::handover::count;
use crate::core::identity::{DkimStatus, KeyLength, Signing};
use crate::core::identity::{MailFromState, MailFromStatus};
use crate::core::ids::{DomainName, HostedZoneId};
use crate::core::key_length::{decide, KeyDecision};
use crate::core::outcome::{domain_orphaned, drift_repaired, reconcile_finished};
use crate::core::reconcile::{
    mail_from_needs_setting, plan_zone, run_id_from, Cursor, Observed, ReconcileRun, ZoneAction,
};
use crate::core::records::DkimTokens;
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::replicas::ReplicaStatus;
use crate::core::request::{OnboardRequest, Trigger};
use crate::core::schedule::ScheduleName;
use crate::core::scope::{opted_out, Skip};
use crate::core::work::Work;
use crate::core::zone::HostedZone;

/// Stop a page this long before Lambda's deadline: one domain's work (a paced
/// `VerifyDomainDkim` and the SDK's retries) fits in it.
const DEADLINE_MARGIN: Duration = Duration::from_secs(15);
/// `ListHostedZones` returns at most 100 zones per call.
const ZONES_PER_LISTING: i32 = 100;
/// The next page starts this soon after the last one.
const NEXT_PAGE_DELAY_SECONDS: i64 = 5;

/// One page of a run (a fresh run from the recurring schedule or a request, or the
/// continuation a page left).
pub async fn reconcile(cx: &Context<'_>, mut run: ReconcileRun) -> Result<Response, Stop> {
    // The recurring schedule's payload names no run: this invocation starts one.
    let run_id = run
        .run_id
        .get_or_insert_with(|| run_id_from(&cx.now.format("%Y%m%dT%H%M%SZ").to_string()))
        .clone();
    info!(run_id, dry_run = run.dry_run, page = run.pages + 1, cursor = ?run.cursor, "reconcile page");
    let next = match run.cursor.clone() {
        Cursor::Zones { marker, skip } => zones_page(cx, &mut run, marker, skip).await,
        Cursor::Identities { next_token, skip } => {
            identities_page(cx, &mut run, next_token, skip).await
        }
    }
    .map_err(|err| stop(err, &run_id))?;
    run.pages += 1;
    match next {
        Some(cursor) => {
            run.cursor = cursor;
            continue_later(cx, run).await
        }
        None => finish(cx, run).await,
    }
}

/// Zones `skip..` of the listing page at `marker`, as many as the page size and the
/// deadline allow. Returns where the next invocation starts, `None` when done.
async fn zones_page(
    cx: &Context<'_>,
    run: &mut ReconcileRun,
    marker: Option<String>,
    skip_done: u32,
) -> Result<Option<Cursor>, AwsError> {
    let (listed, next_marker) = cx
        .aws
        .route53
        .zones_page(marker.as_deref(), ZONES_PER_LISTING)
        .await?;
    let budget = cx.settings.reconcile_page_size as usize;
    let todo: Vec<HostedZone> = listed
        .iter()
        .skip(skip_done as usize)
        .take(budget)
        .cloned()
        .collect();
    let done = reconcile_zones(cx, run, &todo).await?;
    let position = skip_done as usize + done;
    Ok(if position < listed.len() {
        Some(Cursor::Zones {
            marker,
            skip: position as u32,
        })
    } else if let Some(next) = next_marker {
        Some(Cursor::Zones {
            marker: Some(next),
            skip: 0,
        })
    } else {
        Some(Cursor::Identities {
            next_token: None,
            skip: 0,
        })
    })
}

/// Observe, plan and act for these zones, in order; returns how many were done
/// before the deadline came near. What can be read in batches is read first: the
/// zones' tags (ten per call) and the DKIM states (a hundred per call).
async fn reconcile_zones(
    cx: &Context<'_>,
    run: &mut ReconcileRun,
    zones: &[HostedZone],
) -> Result<usize, AwsError> {
    // A zone outside HOSTED_ZONE_IDS is not the function's to read or write: counted
    // as skipped, with no event per zone.
    let allowed = |z: &HostedZone| !z.private && cx.settings.scope.allows_zone(&z.id);
    let named: Vec<(&HostedZone, Option<DomainName>)> = zones
        .iter()
        .map(|z| {
            (
                z,
                allowed(z)
                    .then(|| DomainName::parse(&z.name).ok())
                    .flatten(),
            )
        })
        .collect();
    let public: Vec<_> = named
        .iter()
        .filter(|(_, d)| d.is_some())
        .map(|(z, _)| z.id.clone())
        .collect();
    let tags = cx.aws.route53.zone_tags(&public).await?;
    let is_opted_out = |zone: &HostedZone| {
        tags.iter().any(|(id, pairs)| {
            *id == zone.id && opted_out(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        })
    };
    let wanted_domains: Vec<DomainName> = named
        .iter()
        .filter_map(|(z, d)| d.as_ref().map(|d| (z, d)))
        .filter(|(z, d)| cx.settings.scope.check(d).is_ok() && !is_opted_out(z))
        .map(|(_, d)| d.clone())
        .collect();
    // MAIL FROM's states are read beside DKIM's, a hundred a call, when it is on.
    let (states, mail_from_states) =
        tokio::try_join!(cx.aws.ses.dkim_states(&wanted_domains), async {
            match cx.settings.sending.mail_from.is_some() {
                true => cx.aws.ses.mail_from_states(&wanted_domains).await,
                false => Ok(Vec::new()),
            }
        })?;

    for (done, (zone, domain)) in named.iter().enumerate() {
        // At least one zone per page, so a short timeout still makes progress.
        if done > 0 && near_deadline(cx) {
            info!(done, "reconcile page stops before the deadline");
            return Ok(done);
        }
        run.counts.zones_seen += 1;
        let Some(domain) = domain else {
            if allowed(zone) {
                warn!(zone = %zone.id, name = %zone.name, "a zone whose name is not a domain dkim-autopilot can onboard; skipped");
            }
            run.counts.skipped += 1;
            continue;
        };
        if let Err(out) = cx.settings.scope.check(domain) {
            skip_domain(cx, run, zone, domain, out).await?;
            continue;
        }
        run.counts.in_scope += 1;
        if is_opted_out(zone) {
            let reason = Skip::ZoneOptedOut {
                zone_id: zone.id.clone(),
            };
            skip_domain(cx, run, zone, domain, reason).await?;
            continue;
        }
        let Some((_, state)) = states.iter().find(|(d, _)| d == domain) else {
            continue;
        };
        let verified = state.status == DkimStatus::Success;
        let records = match verified {
            true => Some(records::read(cx, &zone.id, domain).await?),
            false => None,
        };
        let chain_running = match verified {
            true => false,
            false => schedules::of_domain(cx, domain).await?.any(),
        };
        // A verified domain's key length, and the replica Regions its onboarding chose
        // (a tag), can only be told by SES v2: read once, it names the signing zone too.
        let key_length_acts = cx.settings.key_length.acts();
        let signing_now = match verified && (key_length_acts || !cx.aws.replicas.is_empty()) {
            true => signing::read(cx, domain).await?,
            false => None,
        };
        // Only a verified domain's records are compared here; a chain started for the
        // others learns where SES signs at its first look.
        let wanted = match (&state.tokens, &records) {
            (Some(tokens), Some(existing)) => {
                let known = signing_now.as_ref();
                let zone = signing::of_verified(cx, domain, tokens, existing, known).await?;
                wanted(cx, domain, tokens, zone.as_ref())
            }
            (Some(tokens), None) => wanted(cx, domain, tokens, None),
            (None, _) => Vec::new(),
        };
        let action = plan_zone(Observed {
            status: state.status,
            tokens: state.tokens.as_ref(),
            chain_running,
            records: records.as_deref(),
            wanted: &wanted,
        });
        let found = Found {
            domain,
            zone: &zone.id,
            tokens: state.tokens.as_ref(),
        };
        act(cx, run, found, action).await?;
        if let (Some(read), Some(tokens), true) = (&signing_now, &state.tokens, key_length_acts) {
            let identity = key_length::Identity {
                domain,
                tenant: None,
                zone: Some(&zone.id),
                tokens,
            };
            reconcile_key_length(cx, run, identity, read).await?;
        }
        if verified && !cx.aws.replicas.is_empty() {
            // The domain's own Regions, if its onboarding narrowed them (a tag on the
            // parent, read above).
            let own = signing_now
                .as_ref()
                .and_then(|s| s.replica_regions.as_deref());
            reconcile_replicas(cx, run, domain, own).await?;
        }
        if verified && cx.settings.sending.is_on() {
            let mail_from = mail_from_states
                .iter()
                .find(|(d, _)| d == domain)
                .map(|(_, s)| s);
            reconcile_sending(cx, run, &zone.id, domain, state.tokens.as_ref(), mail_from).await?;
        }
    }
    Ok(zones.len())
}

/// A verified domain's key length: count it, and move its next key to the setting
/// where due (a dry run only counts and lists it). A transient failure defers the
/// page, which a second pass redoes without harm: the change is made once.
async fn reconcile_key_length(
    cx: &Context<'_>,
    run: &mut ReconcileRun,
    identity: key_length::Identity<'_>,
    signing: &Signing,
) -> Result<(), AwsError> {
    let counts = &mut run.counts.key_length;
    match signing.current_key_length {
        Some(KeyLength::Rsa1024) => counts.current1024 += 1,
        Some(KeyLength::Rsa2048) => counts.current2048 += 1,
        None => {}
    }
    if run.dry_run {
        match decide(cx.settings.key_length, signing, cx.now) {
            KeyDecision::Change { to, .. } => {
                counts.changed += 1;
                let change = format!("next key {}", to.as_str());
                run.plan_records("changeKeyLength", identity.domain.as_str(), vec![change]);
            }
            KeyDecision::TooSoon { .. } => counts.waiting += 1,
            KeyDecision::Leave | KeyDecision::Unknown => {}
        }
        return Ok(());
    }
    match key_length::align(cx, identity, signing).await? {
        KeyOutcome::Changed { .. } => counts.changed += 1,
        KeyOutcome::Waiting => counts.waiting += 1,
        KeyOutcome::Refused => counts.refused += 1,
        KeyOutcome::Left => {}
    }
    Ok(())
}

/// A verified parent's DEED replicas: one `GetEmailIdentity` per replica Region, each
/// on that Region's budget; a missing replica is created (a dry run lists it), told
/// in `DKIM Replicas Verified`, and a Region that does not settle is put off alone.
async fn reconcile_replicas(
    cx: &Context<'_>,
    run: &mut ReconcileRun,
    domain: &DomainName,
    own: Option<&[String]>,
) -> Result<(), AwsError> {
    let chosen = replicas::chosen(cx, own);
    if run.dry_run {
        let states = replicas::read(domain, chosen.into_iter()).await;
        let missing: Vec<String> = states
            .iter()
            .filter(|s| s.status == ReplicaStatus::Missing)
            .map(|s| s.region.clone())
            .collect();
        for state in &states {
            run.counts.replicas.add(state.status);
        }
        if !missing.is_empty() {
            run.plan_records("createReplica", domain.as_str(), missing);
        }
        return Ok(());
    }
    let looked = replicas::ensure(cx, domain, chosen.into_iter()).await;
    for one in &looked {
        run.counts.replicas.add(one.state.status);
        run.counts.replicas.created += u32::from(one.state.created);
    }
    // News only when a replica was made: a steady fleet sends nothing per run.
    if looked.iter().any(|one| one.state.created) {
        replicas::announce(cx, domain, None, &looked).await?;
    }
    if let Some((work, err)) = replicas::unsettled(domain, None, &looked, cx.now) {
        Box::pin(defer(cx, Deferred::fresh(work), err)).await?;
        run.counts.deferred += 1;
    }
    Ok(())
}

/// Identities in the replica Regions whose parent is gone: one `ListEmailIdentities`
/// per Region (1,000 a page), then the parents' states, 100 a call. Reported, never
/// deleted: SES keeps no record of who made them.
async fn orphaned_replicas(cx: &Context<'_>, run: &mut ReconcileRun) -> Result<(), AwsError> {
    for replica in cx.aws.replicas.iter() {
        let domains: Vec<DomainName> = replica
            .domains()
            .await?
            .iter()
            .filter_map(|name| DomainName::parse(name).ok())
            .filter(|d| cx.settings.scope.check(d).is_ok())
            .collect();
        for (domain, state) in cx.aws.ses.dkim_states(&domains).await? {
            if state.status != DkimStatus::IdentityMissing {
                continue;
            }
            run.counts.replicas.orphaned += 1;
            let region = &replica.region;
            run.plan_records("orphanedReplica", domain.as_str(), vec![region.clone()]);
            warn!(%domain, %region, parent_region = cx.settings.replica_regions.parent(), "identity in a replica Region whose parent is gone; left alone");
        }
    }
    Ok(())
}

/// A transient failure defers the page; a permanent one (access denied) ends the run
/// with a rejection that says which call was refused.
fn stop(err: AwsError, run_id: &str) -> Stop {
    if err.transient {
        return Stop::Transient(err);
    }
    Stop::Rejected(Rejection {
        domain: None,
        tenant_id: None,
        reason: RejectReason::Aws {
            operation: err.operation,
            code: format!("{} (reconcile {run_id})", err.code),
            message: err.message,
        },
    })
}

fn near_deadline(cx: &Context<'_>) -> bool {
    cx.deadline
        .is_some_and(|deadline| Instant::now() + DEADLINE_MARGIN >= deadline)
}

async fn skip_domain(
    cx: &Context<'_>,
    run: &mut ReconcileRun,
    zone: &HostedZone,
    domain: &DomainName,
    reason: Skip,
) -> Result<(), AwsError> {
    run.counts.skipped += 1;
    run.plan_note("skip", domain.as_str());
    if !run.dry_run {
        skip(cx, domain, None, Some(&zone.id), reason).await?;
    }
    Ok(())
}

/// One zone's domain, as the page observed it.
struct Found<'a> {
    domain: &'a DomainName,
    zone: &'a HostedZoneId,
    tokens: Option<&'a DkimTokens>,
}

/// Carry out one zone's plan (or, in a dry run, only count and list it). Onboarding
/// and chains go through the dispatcher, as any trigger's would; a transient failure
/// of one domain's work becomes that work's own deferral, and the page goes on.
async fn act(
    cx: &Context<'_>,
    run: &mut ReconcileRun,
    found: Found<'_>,
    action: ZoneAction,
) -> Result<(), AwsError> {
    let domain = found.domain;
    let work = match &action {
        ZoneAction::AlreadyVerified => {
            run.counts.already_verified += 1;
            return Ok(());
        }
        ZoneAction::LeaveAlone => {
            run.counts.chains_running += 1;
            return Ok(());
        }
        ZoneAction::Skip(_) => {
            run.counts.skipped += 1;
            return Ok(());
        }
        _ if run.dry_run => {
            run.plan_note(action.name(), domain.as_str());
            count_action(run, &action);
            return Ok(());
        }
        ZoneAction::RepairDrift(repair) => {
            run.plan_note(action.name(), domain.as_str());
            records::apply(cx, found.zone, repair, "Easy DKIM records").await?;
            let restored = names(&repair.upserts);
            let run_id = run.run_id.clone().unwrap_or_default();
            info!(%domain, ?restored, "DKIM drift repaired");
            if let Some(tokens) = found.tokens {
                let event = drift_repaired(domain, found.zone, tokens, &restored, &[], &run_id);
                send(cx, &event).await?;
            }
            count_action(run, &action);
            return Ok(());
        }
        ZoneAction::Onboard => Work::Onboard {
            request: OnboardRequest {
                dns_mode: None,
                ses_regions: None,
                domain: domain.clone(),
                hosted_zone_id: Some(found.zone.clone()),
                tenant_id: None,
                trigger: Trigger::Reconcile,
            },
            started_at: cx.now,
        },
        // The chain's first look runs now: SES's status decides whether it restarts
        // verification (bounded as always) or keeps watching.
        ZoneAction::Restart(tokens) | ZoneAction::StartChain(tokens) => {
            Work::FollowUp(FollowUp::Published {
                chain: Chain::starting(domain.clone(), None, cx.now),
                zone: found.zone.clone(),
                tokens: tokens.clone(),
            })
        }
    };
    run.plan_note(action.name(), domain.as_str());
    match run_boxed(cx, work.clone()).await {
        Ok(Response::Skipped { .. }) => run.counts.skipped += 1,
        Ok(_) => count_action(run, &action),
        Err(Stop::Transient(err)) => {
            Box::pin(defer(cx, Deferred::fresh(work), err)).await?;
            run.counts.deferred += 1;
        }
        Err(Stop::Partly { rest, err }) => {
            Box::pin(defer(cx, Deferred::fresh(*rest), err)).await?;
            run.counts.deferred += 1;
        }
        Err(Stop::Rejected(rejection)) => {
            warn!(%domain, reason = %rejection, "reconcile could not act on this domain");
            run.counts.errors += 1;
        }
    }
    Ok(())
}

/// A verified domain's sending records: observe, count, and repair what is ours (a
/// dry run only counts and lists it); MAIL FROM is set, and a chain started to watch it
/// to ready, where SES uses none and no chain is on the domain already.
async fn reconcile_sending(
    cx: &Context<'_>,
    run: &mut ReconcileRun,
    zone: &HostedZoneId,
    domain: &DomainName,
    tokens: Option<&DkimTokens>,
    mail_from: Option<&MailFromState>,
) -> Result<(), AwsError> {
    let plan = sending::observe(cx, zone, domain).await?;
    run.counts.sending.add(&plan);
    let wanted = cx.settings.sending.mail_from_name(domain);
    if let Some(MailFromState::Set {
        domain: set,
        status,
    }) = mail_from
    {
        let verified = Some(set) == wanted.as_ref() && *status == MailFromStatus::Success;
        run.counts.sending.mail_from_verified += u32::from(verified);
    }
    let set_mail_from = mail_from_needs_setting(&plan, mail_from, wanted.as_deref())
        && !schedules::of_domain(cx, domain).await?.any();
    run.counts.sending.mail_from_set += u32::from(set_mail_from);
    if run.dry_run {
        if !plan.is_empty() {
            run.plan_records("repairSending", domain.as_str(), plan.written());
        }
        if set_mail_from {
            let mail_from = wanted.map(|name| format!("{name} MAIL FROM"));
            run.plan_records(
                "setMailFrom",
                domain.as_str(),
                mail_from.into_iter().collect(),
            );
        }
        return Ok(());
    }
    report_conflicts(cx, domain, None, Some(zone), &plan).await?;
    let mut repaired = Vec::new();
    if !plan.is_empty() {
        let healed = sending::heal(cx, zone, domain, plan).await?;
        info!(%domain, written = ?healed.written, left_out = ?healed.left_out, "sending records repaired");
        repaired = healed.written;
    }
    // SES already used this MAIL FROM domain (it gave up when the MX went): setting it
    // again is a repair, told as one. Never used: a first setup, watched to ready.
    let used_before = matches!(mail_from, Some(MailFromState::Set { domain: set, .. }) if Some(set) == wanted.as_ref());
    if let (true, Some(setup)) = (set_mail_from, cx.settings.sending.mail_from.as_ref()) {
        cx.aws.ses.set_mail_from_domain(domain, Some(setup)).await?;
        if used_before {
            repaired.push(format!("{} MAIL FROM", setup.domain_for(domain)));
        } else if let Some(tokens) = tokens {
            let watch = MailFromWatch {
                set_at: cx.now,
                first_attempt: 1,
                sets_again: 0,
            };
            let chain = Chain::starting(domain.clone(), None, cx.now);
            let at = cx.now + cx.settings.policy.first_check_delay;
            watch_again(cx, chain, Some(zone), tokens, watch, at, Vec::new(), None).await?;
        }
    }
    if let (Some(tokens), false) = (tokens, repaired.is_empty()) {
        let run_id = run.run_id.clone().unwrap_or_default();
        let event = drift_repaired(domain, zone, tokens, &[], &repaired, &run_id);
        send(cx, &event).await?;
    }
    Ok(())
}

fn count_action(run: &mut ReconcileRun, action: &ZoneAction) {
    let counts = &mut run.counts;
    match action {
        ZoneAction::Onboard => counts.onboarded += 1,
        ZoneAction::RepairDrift(_) => counts.repaired += 1,
        ZoneAction::Restart(_) => counts.restarted += 1,
        ZoneAction::StartChain(_) => counts.chains_started += 1,
        ZoneAction::AlreadyVerified | ZoneAction::LeaveAlone | ZoneAction::Skip(_) => {}
    }
}

/// The account's SES domain identities, page by page: an in-scope identity that no
/// public hosted zone contains any more is an orphan.
async fn identities_page(
    cx: &Context<'_>,
    run: &mut ReconcileRun,
    next_token: Option<String>,
    skip_done: u32,
) -> Result<Option<Cursor>, AwsError> {
    // Once a run, at the start of its identities: the replica Regions' orphans.
    if next_token.is_none() && skip_done == 0 && !cx.aws.replicas.is_empty() {
        orphaned_replicas(cx, run).await?;
    }
    let (identities, following) = cx
        .aws
        .ses
        .domain_identities_page(next_token.as_deref())
        .await?;
    let budget = cx.settings.reconcile_page_size as usize;
    let mut position = skip_done as usize;
    let mut no_zone = Vec::new();
    for identity in identities.iter().skip(skip_done as usize).take(budget) {
        if position > skip_done as usize && near_deadline(cx) {
            break;
        }
        position += 1;
        let Ok(domain) = DomainName::parse(identity) else {
            continue;
        };
        if cx.settings.scope.check(&domain).is_err() {
            continue;
        }
        if find(cx, &domain, None).await?.is_ok() {
            continue;
        }
        no_zone.push(domain);
    }
    // Handed over to a tenant's own DNS: no zone here, and not an orphan.
    let elsewhere = living_elsewhere(cx, &no_zone).await?;
    for domain in no_zone
        .iter()
        .filter(|d| !elsewhere.iter().any(|e| e.domain == **d))
    {
        orphaned(cx, run, domain).await?;
    }
    // A verified parent is a parent wherever its records live: its missing replicas
    // are made as a zone's are.
    if !cx.aws.replicas.is_empty() {
        for served in &elsewhere {
            if let Some(signing) = &served.verified {
                let own = signing.replica_regions.as_deref();
                reconcile_replicas(cx, run, &served.domain, own).await?;
            }
        }
    }
    Ok(if position < identities.len() {
        Some(Cursor::Identities {
            next_token,
            skip: position as u32,
        })
    } else {
        following.map(|token| Cursor::Identities {
            next_token: Some(token),
            skip: 0,
        })
    })
}

async fn orphaned(
    cx: &Context<'_>,
    run: &mut ReconcileRun,
    domain: &DomainName,
) -> Result<(), AwsError> {
    run.counts.orphaned += 1;
    run.plan_note("orphaned", domain.as_str());
    let delete = cx.settings.delete_orphaned_identities && !run.dry_run;
    if delete {
        cx.aws.ses.delete_identity(domain).await?;
        run.counts.orphans_deleted += 1;
    }
    warn!(%domain, deleted = delete, "SES identity whose hosted zone is gone");
    if run.dry_run {
        return Ok(());
    }
    let run_id = run.run_id.as_deref().unwrap_or_default();
    send(cx, &domain_orphaned(domain, run_id, delete)).await
}

/// An identity with no zone here whose DNS lives elsewhere.
struct Elsewhere {
    domain: DomainName,
    /// SES verified it (and public DNS serves its records): how SES signs for it, as
    /// read to judge them (`Signing::default()` when SES v2 could not tell).
    verified: Option<Signing>,
}

/// The SES identities among `domains` (none in a zone of this account) whose DNS
/// lives elsewhere, so they are not orphans: a follow-up chain still watches them, or
/// SES verified them and public DNS serves their records. A DNS failure counts as
/// elsewhere: an identity is never deleted on a failed lookup. One
/// `GetIdentityDkimAttributes` per 100 domains; DNS only for verified ones.
async fn living_elsewhere(
    cx: &Context<'_>,
    domains: &[DomainName],
) -> Result<Vec<Elsewhere>, AwsError> {
    if domains.is_empty() {
        return Ok(Vec::new());
    }
    let mut elsewhere = Vec::new();
    for (domain, state) in cx.aws.ses.dkim_states(domains).await? {
        match (state.status, &state.tokens) {
            (DkimStatus::Success, Some(tokens)) => {
                // Judged against where SES signs: a record under another zone is not
                // served, and an identity is deleted on what this finds.
                let signing = signing::learn_all(cx, &domain).await?.unwrap_or_default();
                let wanted = wanted(cx, &domain, tokens, signing.zone.as_ref());
                let (checks, _) = look_up(cx, &wanted).await;
                if count(&checks).could_not_check > 0 {
                    warn!(%domain, "could not look its DKIM records up in public DNS; not taken for an orphan this time");
                }
                if served_or_unknown(&checks) {
                    elsewhere.push(Elsewhere {
                        domain,
                        verified: Some(signing),
                    });
                }
            }
            _ => {
                if !schedules::of_domain(cx, &domain).await?.work.is_empty() {
                    elsewhere.push(Elsewhere {
                        domain,
                        verified: None,
                    });
                }
            }
        }
    }
    Ok(elsewhere)
}

/// The rest of the run goes on in a one-time schedule named after the run and the
/// page: a redelivered page meets the schedule its twin made, and the run never forks.
async fn continue_later(cx: &Context<'_>, run: ReconcileRun) -> Result<Response, Stop> {
    let name = ScheduleName::for_reconcile_page(&run, "");
    let run_id = run.run_id.clone().unwrap_or_default();
    let schedule: FollowUpRef = schedules::create(
        cx,
        &name,
        cx.now + chrono::TimeDelta::seconds(NEXT_PAGE_DELAY_SECONDS),
        run.to_input(),
        format!("dkim-autopilot: reconcile {run_id}, page {}", run.pages + 1),
        0,
    )
    .await
    .map_err(Stop::Transient)?;
    if schedule.already_scheduled {
        info!(
            run_id,
            page = run.pages,
            "this page's continuation exists already: a twin did this page"
        );
    }
    Ok(Response::ReconcileContinues {
        run_id,
        pages: run.pages,
        counts: run.counts,
        schedule,
    })
}

async fn finish(cx: &Context<'_>, run: ReconcileRun) -> Result<Response, Stop> {
    let run_id = run.run_id.clone().unwrap_or_default();
    info!(run_id, dry_run = run.dry_run, counts = ?run.counts, "reconcile finished");
    send(cx, &reconcile_finished(&run))
        .await
        .map_err(|err| stop(err, &run_id))?;
    Ok(Response::ReconcileFinished {
        run_id,
        dry_run: run.dry_run,
        pages: run.pages,
        counts: run.counts,
        planned: run.planned,
    })
}
