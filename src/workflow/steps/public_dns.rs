//! Looking a domain's records up in public DNS, where handed-over records live, and
//! judging each answer (`core::handover::diagnose`).

use futures_util::future::join_all;

use super::super::Context;
use crate::core::handover::{count, diagnose, RecordCheck};
use crate::core::records::CnameRecord;

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
