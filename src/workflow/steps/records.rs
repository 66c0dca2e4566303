//! DNS record changes: the records SES wants for a domain as this deployment writes
//! them, what a zone holds, and the one Route 53 change builder every write goes
//! through.

use super::super::Context;
use super::signing;
use crate::aws::route53::RecordChange;
use crate::aws::AwsError;
use crate::core::ids::{DomainName, HostedZoneId};
use crate::core::records::{dkim_records, CnameRecord, DkimTokens, RecordRepair, SigningZone};

/// The records SES wants for these tokens, pointing into `zone` (SES's signing zone;
/// `None`: the table's), as this deployment writes them.
pub fn wanted(
    cx: &Context<'_>,
    domain: &DomainName,
    tokens: &DkimTokens,
    zone: Option<&SigningZone>,
) -> Vec<CnameRecord> {
    let target = signing::target(cx, zone);
    dkim_records(domain, tokens, target, cx.settings.dkim_record_ttl)
}

/// Every record this function may have written for `tokens`: under SES's signing zone
/// and under the table's (records written before SES named one).
pub fn ours(
    cx: &Context<'_>,
    domain: &DomainName,
    tokens: &DkimTokens,
    zone: Option<&SigningZone>,
) -> Vec<CnameRecord> {
    signing::ours(cx, zone)
        .into_iter()
        .flat_map(|z| dkim_records(domain, tokens, z, cx.settings.dkim_record_ttl))
        .collect()
}

/// The zone's DKIM CNAMEs for `domain` (every CNAME under `_domainkey.<domain>`).
pub async fn read(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    domain: &DomainName,
) -> Result<Vec<CnameRecord>, AwsError> {
    cx.aws.route53.dkim_cnames(zone, domain).await
}

/// Apply `changes` in one atomic Route 53 batch; nothing to change costs no call.
/// Route 53 refuses a whole batch whose DELETE no longer matches what is there
/// (`InvalidChangeBatch`: someone changed the record since it was read); like a
/// throttle, that is tried again later, after a fresh read.
pub async fn apply(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    changes: &RecordRepair,
    purpose: &str,
) -> Result<(), AwsError> {
    if changes.is_empty() {
        return Ok(());
    }
    let batch: Vec<(RecordChange, &CnameRecord)> = changes
        .upserts
        .iter()
        .map(|r| (RecordChange::Upsert, r))
        .chain(changes.deletes.iter().map(|r| (RecordChange::Delete, r)))
        .collect();
    let stale_read = !changes.deletes.is_empty();
    cx.aws
        .route53
        .change(zone, &batch, &format!("dkim-autopilot: {purpose}"))
        .await
        .map_err(|err| AwsError {
            transient: err.transient || (stale_read && err.is_code("InvalidChangeBatch")),
            ..err
        })
}

pub fn names(records: &[CnameRecord]) -> Vec<String> {
    records.iter().map(|r| r.name.clone()).collect()
}
