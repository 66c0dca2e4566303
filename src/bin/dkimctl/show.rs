//! What the operator reads: a table for people, JSON for scripts, a plan in the
//! words of `terraform plan`. Formatting only; the judging is `core::status`.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use dkim_autopilot::core::handover::{RecordCheck, RecordStatus};
use dkim_autopilot::core::status::{DomainStatus, RecordsHome, ReplicaView};
use dkim_autopilot::workflow::fleet::Fleet;

/// One line per domain, then what is wrong with those that are not well.
pub fn status_table(fleet: &Fleet, now: DateTime<Utc>) -> String {
    let statuses = &fleet.domains;
    let header = [
        "DOMAIN",
        "RECORDS",
        "DKIM",
        "CNAMES",
        "NEXT CHECK",
        "MAIL FROM",
        "REPLICAS",
        "PLAN",
        "WELL",
    ];
    let rows: Vec<[String; 9]> = statuses
        .iter()
        .map(|s| {
            [
                s.domain.clone(),
                home(&s.records_home),
                s.dkim_status.to_owned(),
                present_count(&s.dkim_records),
                next_check(s, now),
                s.mail_from
                    .as_ref()
                    .map(|m| m.status.clone())
                    .unwrap_or_else(|| "-".into()),
                verified_count(&s.replicas),
                s.plan.action.to_owned(),
                if s.well { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(&mut out, &header);
    for row in &rows {
        line(&mut out, &row.each_ref().map(String::as_str));
    }
    let unwell: Vec<&DomainStatus> = statuses.iter().filter(|s| !s.well).collect();
    if !unwell.is_empty() {
        let _ = writeln!(out);
        for s in unwell {
            let _ = writeln!(out, "{}:", s.domain);
            for reason in why_not_well(s) {
                let _ = writeln!(out, "  {reason}");
            }
        }
    }
    let well = statuses.iter().filter(|s| s.well).count();
    let skipped = statuses.iter().filter(|s| s.is_skipped()).count();
    let _ = write!(out, "\n{well} of {} domains well", statuses.len() - skipped);
    if skipped > 0 {
        let _ = write!(out, "; {skipped} left alone");
    }
    if fleet.zones_out_of_scope > 0 {
        let _ = write!(
            out,
            "; {} zones out of scope, not shown",
            fleet.zones_out_of_scope
        );
    }
    let _ = writeln!(out, ".");
    out
}

/// Each reason a domain is not well, one line each, in the order to fix them.
pub fn why_not_well(s: &DomainStatus) -> Vec<String> {
    let mut reasons = Vec::new();
    if let RecordsHome::Skipped { reason } = &s.records_home {
        reasons.push(format!("left alone: {reason}"));
        return reasons;
    }
    if !s.verified {
        reasons.push(format!("SES DKIM status is {}", s.dkim_status));
    }
    if s.dkim_records.is_empty() && s.verified {
        reasons.push("SES returned no DKIM tokens".into());
    }
    for check in s.dkim_records.iter().chain(&s.sending_records) {
        if let Some(problem) = record_problem(check) {
            reasons.push(problem);
        }
    }
    if let Some(mail_from) = s.mail_from.as_ref().filter(|m| m.status != "Success") {
        reasons.push(match &mail_from.domain {
            Some(domain) => format!("MAIL FROM {domain} is {}", mail_from.status),
            None => "MAIL FROM is not set".into(),
        });
    }
    for replica in s.replicas.iter().filter(|r| !r.verified()) {
        let why = replica
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        reasons.push(format!(
            "replica in {} is {}{why}",
            replica.region, replica.status
        ));
    }
    if s.plan.changes_something() {
        let why = s
            .plan
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        reasons.push(format!("a reconcile would {}{why}", s.plan.action));
    }
    reasons
}

fn record_problem(check: &RecordCheck) -> Option<String> {
    let what = format!("{} {}", check.name, check.record_type);
    match &check.status {
        RecordStatus::Present => None,
        RecordStatus::Missing => Some(format!("{what} is missing (want {})", check.expected)),
        RecordStatus::WrongValue { found } => Some(format!(
            "{what} is {} (want {})",
            found.join(", "),
            check.expected
        )),
        RecordStatus::CouldNotCheck { reason } => {
            Some(format!("{what} could not be checked: {reason}"))
        }
        RecordStatus::Conflict { found } => Some(format!(
            "{what}: {} stands where it must go (want {})",
            found.join(", "),
            check.expected
        )),
    }
}

fn home(home: &RecordsHome) -> String {
    match home {
        RecordsHome::Route53 { hosted_zone_id } => hosted_zone_id.clone(),
        RecordsHome::HandedOver => "handed over".into(),
        RecordsHome::Skipped { .. } => "skipped".into(),
    }
}

fn present_count(checks: &[RecordCheck]) -> String {
    if checks.is_empty() {
        return "-".into();
    }
    let present = checks
        .iter()
        .filter(|c| matches!(c.status, RecordStatus::Present))
        .count();
    format!("{present}/{}", checks.len())
}

/// "1/2": the replica Regions that verified, of those the domain belongs in.
fn verified_count(replicas: &[ReplicaView]) -> String {
    if replicas.is_empty() {
        return "-".into();
    }
    let verified = replicas.iter().filter(|r| r.verified()).count();
    format!("{verified}/{}", replicas.len())
}

fn next_check(s: &DomainStatus, now: DateTime<Utc>) -> String {
    match &s.follow_up {
        None => "-".into(),
        Some(f) if f.offboarded && f.schedules.is_empty() => "offboarded".into(),
        Some(f) => match f.next_check {
            None => "unknown".into(),
            Some(at) => format!("{} ({})", at.format("%Y-%m-%d %H:%MZ"), relative(at, now)),
        },
    }
}

/// "in 14m", "in 2h05m", "3m ago": how far, in the units a person checks a clock in.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (at - now).num_seconds();
    let span = seconds.unsigned_abs();
    let text = match span {
        0..=59 => format!("{span}s"),
        60..=3599 => format!("{}m", span / 60),
        _ => format!("{}h{:02}m", span / 3600, span % 3600 / 60),
    };
    match seconds >= 0 {
        true => format!("in {text}"),
        false => format!("{text} ago"),
    }
}

/// The changes a reconcile would make, then the domains it would leave alone, then
/// the count per action.
pub fn plan_text(fleet: &Fleet) -> String {
    let statuses = &fleet.domains;
    let mut out = String::new();
    let changing: Vec<&DomainStatus> = statuses
        .iter()
        .filter(|s| s.plan.changes_something())
        .collect();
    let skipped: Vec<&DomainStatus> = statuses.iter().filter(|s| s.is_skipped()).collect();
    for s in changing.iter().chain(&skipped) {
        let sign = match s.plan.action {
            "onboard" | "startChain" | "createReplica" => "+",
            "orphaned" => "!",
            "skip" => "=",
            _ => "~",
        };
        let _ = writeln!(out, "{sign} {}  {}", s.domain, s.plan.action);
        for record in &s.plan.records {
            let _ = writeln!(out, "    {record}");
        }
        if let Some(reason) = &s.plan.reason {
            let _ = writeln!(out, "    ({reason})");
        }
    }
    let unchanged = statuses.len() - changing.len() - skipped.len();
    let mut tail = Vec::new();
    if !skipped.is_empty() {
        tail.push(format!("{} left alone", skipped.len()));
    }
    tail.push(format!("{unchanged} unchanged"));
    if fleet.zones_out_of_scope > 0 {
        tail.push(format!("{} zones out of scope", fleet.zones_out_of_scope));
    }
    if changing.is_empty() {
        let _ = writeln!(
            out,
            "No changes: a reconcile would change nothing ({}).",
            tail.join("; ")
        );
        return out;
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in &changing {
        match counts.iter_mut().find(|(a, _)| *a == s.plan.action) {
            Some((_, n)) => *n += 1,
            None => counts.push((s.plan.action, 1)),
        }
    }
    let listed: Vec<String> = counts.iter().map(|(a, n)| format!("{n} {a}")).collect();
    let _ = writeln!(out, "\nPlan: {}; {}.", listed.join(", "), tail.join("; "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_a_person_reads_a_clock() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let at = |s: i64| DateTime::from_timestamp(1_000_000 + s, 0).unwrap();
        assert_eq!(relative(at(45), now), "in 45s");
        assert_eq!(relative(at(14 * 60 + 59), now), "in 14m");
        assert_eq!(relative(at(2 * 3600 + 5 * 60), now), "in 2h05m");
        assert_eq!(relative(at(-180), now), "3m ago");
    }
}
