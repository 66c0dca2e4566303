//! Looking a domain's records up in public DNS, where handed-over records live, and
//! judging each answer (`core::handover::diagnose`).

use futures_util::future::join_all;

use super::super::Context;
use crate::core::handover::{count, diagnose, FailedLookup, RecordCheck};
use crate::core::ids::DomainName;
use crate::core::records::CnameRecord;
use crate::core::sending::RecordSet;

/// Every record looked up at once; returns the verdicts and the slowest answer's time.
pub async fn look_up(cx: &Context<'_>, wanted: &[CnameRecord]) -> (Vec<RecordCheck>, u128) {
    let answers = join_all(wanted.iter().map(|r| cx.dns.cname(&r.name))).await;
    let checks: Vec<RecordCheck> = wanted
        .iter()
        .zip(&answers)
        .map(|(record, (answer, _))| diagnose(record, answer))
        .collect();
    let slowest_ms = answers
        .iter()
        .map(|(_, took)| took.as_millis())
        .max()
        .unwrap_or(0);
    (checks, slowest_ms)
}

/// Whether public DNS serves all of them, or could not be asked (a failed lookup is
/// never taken for an absent record).
pub fn served_or_unknown(checks: &[RecordCheck]) -> bool {
    let counts = count(checks);
    counts.present as usize == checks.len() || counts.could_not_check > 0
}

/// The sending record sets of a handed-over domain as public DNS serves them, every
/// name and type asked at once; the lookups that failed, apart.
pub async fn sending_sets(
    cx: &Context<'_>,
    domain: &DomainName,
) -> (Vec<RecordSet>, Vec<FailedLookup>) {
    let wanted = cx.settings.sending.wanted(domain);
    let answers = join_all(
        wanted
            .iter()
            .map(|r| cx.dns.record_set(&r.name, r.record_type)),
    )
    .await;
    let (mut sets, mut failed) = (Vec::new(), Vec::new());
    for (record, answer) in wanted.iter().zip(answers) {
        match answer {
            Ok(Some(set)) if !sets.contains(&set) => sets.push(set),
            Ok(_) => {}
            Err(reason) => failed.push(FailedLookup {
                name: record.name.clone(),
                record_type: record.record_type,
                reason,
            }),
        }
    }
    (sets, failed)
}
