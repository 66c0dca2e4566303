//! The sending records in Route 53 (MAIL FROM MX and SPF, DMARC), planned by the one
//! model in `core::sending::desired`: read what the names hold, plan, write what is
//! missing, and tell the world about what stands in the way. DKIM's CNAMEs never go
//! in these batches: every change here is a conditional `CREATE` or exact `DELETE`
//! that may fail, and DKIM must not wait on it.

use futures_util::future::try_join_all;
use tracing::{info, warn};

use super::super::Context;
use super::outcomes::send;
use super::public_dns;
use crate::aws::AwsError;
use crate::core::handover::{diagnose_sending, FailedLookup, RecordCheck};
use crate::core::ids::{DomainName, HostedZoneId, TenantId};
use crate::core::outcome::records_conflict;
use crate::core::sending::desired::SendingPlan;
use crate::core::sending::dmarc::{self, DmarcRecord};
use crate::core::sending::txt::text_of;
use crate::core::sending::{Change, RecordSet, RecordType};
use crate::core::zone::pick_zone_named;

const OP_DNS: &str = "dns:TXT";

/// What the sending names of `domain` hold in `zone`, each read at once.
pub async fn read(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    domain: &DomainName,
) -> Result<Vec<RecordSet>, AwsError> {
    let names = cx.settings.sending.names(domain);
    let listed = try_join_all(
        names
            .iter()
            .map(|name| cx.aws.route53.record_sets_at(zone, name)),
    )
    .await?;
    Ok(listed.into_iter().flatten().collect())
}

/// The plan for `domain` from what `zone` holds, with its organisational domain's
/// DMARC record read alongside.
pub async fn observe(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    domain: &DomainName,
) -> Result<SendingPlan, AwsError> {
    let (sets, org) = tokio::try_join!(
        read(cx, zone, domain),
        organisational_dmarc(cx, domain, true)
    )?;
    Ok(cx.settings.sending.plan(domain, &sets, org))
}

/// The organisational domain's DMARC record, when `domain` is below one and DMARC is
/// on: from the Route 53 zone that holds it when this account has that zone and the
/// scope lets the function read it, else from public DNS (`DNS_RESOLVERS`); a
/// handed-over domain (`route53` false) asks public DNS only. A lookup that fails is
/// an error to retry, never "no record": writing a record of our own could weaken the
/// organisation's `sp=`.
pub async fn organisational_dmarc(
    cx: &Context<'_>,
    domain: &DomainName,
    route53: bool,
) -> Result<Option<(DomainName, DmarcRecord)>, AwsError> {
    let Some(org) = cx.settings.sending.organisational_domain(domain) else {
        return Ok(None);
    };
    let name = dmarc::record_name(&org);
    let zones = match route53 {
        true => cx.aws.route53.zones_named(&org).await?,
        false => Vec::new(),
    };
    let readable = pick_zone_named(&org, &zones)
        .ok()
        .flatten()
        .filter(|z| cx.settings.scope.allows_zone(&z.id));
    let texts: Vec<String> = match readable {
        Some(zone) => cx
            .aws
            .route53
            .record_sets_at(&zone.id, &name)
            .await?
            .into_iter()
            .filter(|s| s.record_type == RecordType::Txt)
            .flat_map(|s| s.values)
            .map(|v| text_of(&v))
            .collect(),
        None => match cx.dns.record_set(&name, RecordType::Txt).await {
            Ok(set) => set
                .into_iter()
                .flat_map(|s| s.values)
                .map(|v| text_of(&v))
                .collect(),
            Err(problem) => {
                return Err(AwsError {
                    operation: OP_DNS,
                    code: "DnsLookupFailed".into(),
                    message: format!("{name}: {problem}"),
                    transient: true,
                })
            }
        },
    };
    Ok(DmarcRecord::find(texts.iter().map(String::as_str)).map(|record| (org, record)))
}

/// Bring the sending records of `domain` in `zone` to the plan. All changes go in one
/// batch; a batch Route 53 refuses (`InvalidChangeBatch`: a set changed since it was
/// read) is re-read, re-planned and sent again one record set at a time, so what
/// conflicts is left out and the rest still goes in. Returns the plan as it stood
/// before the write, and what was written.
/// `plan`: what `observe` just found.
pub async fn heal(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    domain: &DomainName,
    plan: SendingPlan,
) -> Result<Healed, AwsError> {
    let changes = plan.changes();
    if changes.is_empty() {
        return Ok(Healed {
            plan,
            written: Vec::new(),
            left_out: Vec::new(),
        });
    }
    match write(cx, zone, &changes).await {
        Ok(()) => Ok(Healed {
            written: plan.written(),
            plan,
            left_out: Vec::new(),
        }),
        Err(err) if err.is_code("InvalidChangeBatch") => {
            warn!(%domain, %zone, message = %err.message, "sending records changed since read; re-read, and each part on its own");
            let plan = observe(cx, zone, domain).await?;
            let mut healed = Healed {
                plan,
                written: Vec::new(),
                left_out: Vec::new(),
            };
            for part in healed.plan.parts() {
                let what = describe(&part);
                match write(cx, zone, &part).await {
                    Ok(()) => healed.written.extend(what),
                    Err(err) if err.is_code("InvalidChangeBatch") => {
                        warn!(%domain, %zone, part = ?what, message = %err.message, "sending record changed again; left for the next look");
                        healed.left_out.extend(what);
                    }
                    Err(err) => return Err(err),
                }
            }
            Ok(healed)
        }
        Err(err) => Err(err),
    }
}

/// What a heal found and did.
#[derive(Debug, Clone)]
pub struct Healed {
    pub plan: SendingPlan,
    /// `name TYPE` of each record set written.
    pub written: Vec<String>,
    /// Parts Route 53 refused twice: someone is editing them; the next look retries.
    pub left_out: Vec<String>,
}

/// Take exactly what is ours away from `domain`'s sending names; `name TYPE` of each
/// set changed. A set changed meanwhile makes Route 53 refuse the batch: retried later.
pub async fn remove(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    domain: &DomainName,
) -> Result<Vec<String>, AwsError> {
    let sets = read(cx, zone, domain).await?;
    let changes = cx.settings.sending.plan_removal(domain, &sets);
    write(cx, zone, &changes).await.map_err(|err| AwsError {
        transient: err.transient || err.is_code("InvalidChangeBatch"),
        ..err
    })?;
    let mut removed = describe(&changes);
    removed.dedup();
    Ok(removed)
}

/// `Domain Records Conflict` for each name where something not ours stands.
pub async fn report_conflicts(
    cx: &Context<'_>,
    domain: &DomainName,
    tenant: Option<&TenantId>,
    zone: Option<&HostedZoneId>,
    plan: &SendingPlan,
) -> Result<(), AwsError> {
    for conflict in plan.conflicts() {
        info!(%domain, name = %conflict.name, record_type = %conflict.record_type, found = ?conflict.found, wanted = %conflict.wanted, "sending record conflict; nothing written there");
        send(cx, &records_conflict(domain, tenant, zone, &conflict)).await?;
    }
    Ok(())
}

async fn write(cx: &Context<'_>, zone: &HostedZoneId, changes: &[Change]) -> Result<(), AwsError> {
    if changes.is_empty() {
        return Ok(());
    }
    cx.aws
        .route53
        .change_sets(zone, changes, "dkim-autopilot: sending records")
        .await
}

fn describe(changes: &[Change]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for change in changes {
        let set = change.set();
        let name = format!("{} {}", set.name, set.record_type);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The MAIL FROM and DMARC records in public DNS, when on, judged by the same plan as
/// the Route 53 path. The organisational domain's DMARC record is looked up too; a
/// failed lookup makes the DMARC record "could not check".
pub async fn in_public_dns(cx: &Context<'_>, domain: &DomainName) -> Vec<RecordCheck> {
    let setup = &cx.settings.sending;
    if !setup.is_on() {
        return Vec::new();
    }
    let ((sets, mut failed), org) = tokio::join!(
        public_dns::sending_sets(cx, domain),
        organisational_dmarc(cx, domain, false)
    );
    let org = match org {
        Ok(org) => org,
        Err(err) => {
            for record in setup
                .wanted(domain)
                .iter()
                .filter(|r| r.name.starts_with("_dmarc."))
            {
                failed.push(FailedLookup {
                    name: record.name.clone(),
                    record_type: record.record_type,
                    reason: err.message.clone(),
                });
            }
            None
        }
    };
    diagnose_sending(setup, domain, &sets, &failed, org)
}
