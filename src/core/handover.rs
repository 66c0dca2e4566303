//! Hand-over: the records a tenant publishes at its own DNS provider, what public
//! DNS answers for each of them, and when the tenant is told. Pure: the lookups
//! themselves are the `dns` adapter's.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ids::DomainName;
use super::policy::backoff_after;
use super::records::CnameRecord;
use super::sending::desired::{SendingPlan, SendingSetup, WantedRecord};
use super::sending::dmarc::{DmarcRecord, DmarcState};
use super::sending::mail_from::{self, PartState};
use super::sending::{AtName, RecordSet, RecordType};

/// One record as the tenant is asked to publish it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HandedOverRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub value: String,
    /// A suggestion (`DKIM_RECORD_TTL`): the tenant's provider may impose its own.
    pub ttl: i64,
}

impl From<&CnameRecord> for HandedOverRecord {
    fn from(record: &CnameRecord) -> Self {
        Self {
            name: record.name.clone(),
            record_type: "CNAME",
            value: record.value.clone(),
            ttl: record.ttl,
        }
    }
}

impl From<&WantedRecord> for HandedOverRecord {
    fn from(record: &WantedRecord) -> Self {
        Self {
            name: record.name.clone(),
            record_type: record.record_type.as_str(),
            value: record.value.clone(),
            ttl: 0,
        }
    }
}

impl HandedOverRecord {
    /// The sending records a tenant publishes beside the CNAMEs, with the same TTL.
    pub fn sending(setup: &SendingSetup, domain: &DomainName) -> Vec<Self> {
        setup
            .wanted(domain)
            .iter()
            .map(|r| Self {
                ttl: setup.ttl,
                ..Self::from(r)
            })
            .collect()
    }
}

/// A sending record set public DNS could not be asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLookup {
    pub name: String,
    pub record_type: RecordType,
    pub reason: String,
}

/// Where each sending record of a handed-over domain stands in public DNS, judged by
/// the same plan the Route 53 path writes from. `sets`: what DNS answered; `failed`:
/// what it could not say, never taken for an absent record.
pub fn diagnose_sending(
    setup: &SendingSetup,
    domain: &DomainName,
    sets: &[RecordSet],
    failed: &[FailedLookup],
    org: Option<(DomainName, DmarcRecord)>,
) -> Vec<RecordCheck> {
    let plan = setup.plan(domain, sets, org);
    // The SPF verdict on its own: a foreign MX holds our write back, not the diagnosis.
    let spf_alone = setup.mail_from_name(domain).map(|name| {
        let mut at = AtName::from_sets(&name, sets);
        at.mx = None;
        mail_from::plan(&name, &at, &setup.ses_region, setup.ttl).spf
    });
    let part = |state: &PartState| match state {
        PartState::Present => RecordStatus::Present,
        PartState::Written | PartState::HeldBack => RecordStatus::Missing,
        PartState::Conflict(c) => RecordStatus::Conflict {
            found: c.found.clone(),
        },
    };
    setup
        .wanted(domain)
        .into_iter()
        .enumerate()
        .map(|(i, wanted)| {
            let failure = failed
                .iter()
                .find(|f| f.name == wanted.name && f.record_type == wanted.record_type);
            let status = match failure {
                Some(f) => RecordStatus::CouldNotCheck {
                    reason: f.reason.clone(),
                },
                None => match (wanted.record_type, i, &plan) {
                    (
                        RecordType::Mx,
                        _,
                        SendingPlan {
                            mail_from: Some(p), ..
                        },
                    ) => part(&p.mx),
                    (
                        RecordType::Txt,
                        1,
                        SendingPlan {
                            mail_from: Some(_), ..
                        },
                    ) => part(spf_alone.as_ref().expect("MAIL FROM is on")),
                    (_, _, SendingPlan { dmarc: Some(p), .. }) => match &p.state {
                        DmarcState::Written => RecordStatus::Missing,
                        DmarcState::Conflict(c) => RecordStatus::Conflict {
                            found: c.found.clone(),
                        },
                        state if state.holds() => RecordStatus::Present,
                        DmarcState::Existing(r) | DmarcState::CoveredBy { record: r, .. } => {
                            RecordStatus::WrongValue {
                                found: vec![r.text.clone()],
                            }
                        }
                        _ => RecordStatus::Missing,
                    },
                    _ => RecordStatus::Missing,
                },
            };
            RecordCheck {
                name: wanted.name,
                record_type: wanted.record_type.as_str(),
                expected: wanted.value,
                status,
            }
        })
        .collect()
}

/// What a resolver answered for one name: the only thing the adapter hands in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer {
    /// The CNAME targets found, as the wire spelled them.
    Cnames(Vec<String>),
    /// NXDOMAIN, or the name exists without a CNAME.
    NoRecord,
    /// Timeout, SERVFAIL, refused, no resolver reachable: nothing can be concluded.
    Failed(String),
}

/// The verdict on one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "status",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RecordStatus {
    Present,
    Missing,
    WrongValue {
        found: Vec<String>,
    },
    /// A DNS failure is never a verdict.
    CouldNotCheck {
        reason: String,
    },
    /// Something else stands where the record must go (a foreign MX, another SPF
    /// policy, a CNAME): the tenant must decide.
    Conflict {
        found: Vec<String>,
    },
}

/// One record, what it should hold, and what public DNS says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordCheck {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub expected: String,
    #[serde(flatten)]
    pub status: RecordStatus,
}

/// Compare what DNS answered for `wanted.name` with `wanted.value`: DNS names are
/// case-insensitive and a trailing dot only says "fully qualified".
pub fn diagnose(wanted: &CnameRecord, answer: &DnsAnswer) -> RecordCheck {
    let status = match answer {
        DnsAnswer::Failed(reason) => RecordStatus::CouldNotCheck {
            reason: reason.clone(),
        },
        DnsAnswer::NoRecord => RecordStatus::Missing,
        DnsAnswer::Cnames(found) if found.is_empty() => RecordStatus::Missing,
        DnsAnswer::Cnames(found) if found.iter().all(|f| same_name(f, &wanted.value)) => {
            RecordStatus::Present
        }
        DnsAnswer::Cnames(found) => RecordStatus::WrongValue {
            found: found.iter().map(|f| canonical(f)).collect(),
        },
    };
    RecordCheck {
        name: wanted.name.clone(),
        record_type: "CNAME",
        expected: wanted.value.clone(),
        status,
    }
}

fn canonical(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn same_name(a: &str, b: &str) -> bool {
    canonical(a) == canonical(b)
}

/// How many records are in each state, for the event and the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckCounts {
    pub present: u32,
    pub missing: u32,
    pub wrong_value: u32,
    pub could_not_check: u32,
    /// Only sending records conflict; absent when none does, as before they existed.
    #[serde(skip_serializing_if = "is_zero")]
    pub conflict: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

pub fn count(checks: &[RecordCheck]) -> CheckCounts {
    let mut counts = CheckCounts::default();
    for check in checks {
        match check.status {
            RecordStatus::Present => counts.present += 1,
            RecordStatus::Missing => counts.missing += 1,
            RecordStatus::WrongValue { .. } => counts.wrong_value += 1,
            RecordStatus::CouldNotCheck { .. } => counts.could_not_check += 1,
            RecordStatus::Conflict { .. } => counts.conflict += 1,
        }
    }
    counts
}

const DAY_SECONDS: i64 = 24 * 60 * 60;

/// Whether check `attempt` (made at `now`) tells the tenant where its records stand
/// (`DKIM Records Pending`). The checks are frequent at first; the tenant hears at the
/// first check (5 minutes in), at the third (about 50 minutes in, time to have
/// acted), then at the first check of each new day since onboarding started: four
/// reports in 72 hours, against a dozen checks.
pub fn records_report_due(attempt: u32, started: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    match attempt {
        0 | 2 => false,
        1 | 3 => true,
        n => {
            // Checks are scheduled `backoff_after(n - 1)` apart.
            let previous = now - backoff_after(n - 1);
            let day = |t: DateTime<Utc>| (t - started).num_seconds().div_euclid(DAY_SECONDS);
            day(previous) < day(now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn wanted() -> CnameRecord {
        CnameRecord {
            name: "abc._domainkey.example.com".into(),
            value: "abc.dkim.amazonses.com".into(),
            ttl: 1800,
        }
    }

    #[test]
    fn a_cname_is_compared_without_case_or_trailing_dot() {
        let check = diagnose(
            &wanted(),
            &DnsAnswer::Cnames(vec!["ABC.dkim.AmazonSES.com.".into()]),
        );
        assert_eq!(check.status, RecordStatus::Present);
        assert_eq!(check.record_type, "CNAME");
        assert_eq!(check.expected, "abc.dkim.amazonses.com");
    }

    #[test]
    fn each_answer_gets_exactly_one_verdict() {
        let w = wanted();
        assert_eq!(
            diagnose(&w, &DnsAnswer::NoRecord).status,
            RecordStatus::Missing
        );
        assert_eq!(
            diagnose(&w, &DnsAnswer::Cnames(vec![])).status,
            RecordStatus::Missing
        );
        assert_eq!(
            diagnose(
                &w,
                &DnsAnswer::Cnames(vec!["xyz.dkim.amazonses.com.".into()])
            )
            .status,
            RecordStatus::WrongValue {
                found: vec!["xyz.dkim.amazonses.com".into()]
            }
        );
        // A right value beside a wrong one is still wrong: resolvers pick either.
        assert!(matches!(
            diagnose(
                &w,
                &DnsAnswer::Cnames(vec!["abc.dkim.amazonses.com".into(), "x.example".into()])
            )
            .status,
            RecordStatus::WrongValue { .. }
        ));
        assert_eq!(
            diagnose(&w, &DnsAnswer::Failed("timed out".into())).status,
            RecordStatus::CouldNotCheck {
                reason: "timed out".into()
            }
        );
    }

    #[test]
    fn checks_serialise_with_their_status_flat() {
        let check = diagnose(&wanted(), &DnsAnswer::Cnames(vec!["x.example.".into()]));
        assert_eq!(
            serde_json::to_value(&check).unwrap(),
            serde_json::json!({
                "name": "abc._domainkey.example.com", "type": "CNAME",
                "expected": "abc.dkim.amazonses.com",
                "status": "wrongValue", "found": ["x.example"]
            })
        );
        let counts = count(&[check, diagnose(&wanted(), &DnsAnswer::NoRecord)]);
        assert_eq!(
            (counts.wrong_value, counts.missing, counts.present),
            (1, 1, 0)
        );
    }

    #[test]
    fn the_tenant_hears_at_the_first_and_third_checks_then_daily() {
        let started = DateTime::parse_from_rfc3339("2026-11-27T09:00:00Z")
            .unwrap()
            .to_utc();
        // The chain as the follow-up policy schedules it: 5 minutes, then the backoff.
        let mut at = started + TimeDelta::minutes(5);
        let mut reported = Vec::new();
        for attempt in 1..=16 {
            if at > started + TimeDelta::hours(72) {
                break;
            }
            if records_report_due(attempt, started, at) {
                reported.push((attempt, (at - started).num_minutes()));
            }
            at += backoff_after(attempt);
        }
        assert_eq!(
            reported,
            [(1, 5), (3, 50), (9, 25 * 60 + 50), (13, 49 * 60 + 50)],
            "first, third, then the first check of day 1 and day 2"
        );
        assert!(!records_report_due(
            2,
            started,
            started + TimeDelta::minutes(20)
        ));
        assert!(!records_report_due(0, started, started));
    }

    #[test]
    fn sending_records_are_diagnosed_by_the_same_plan() {
        use crate::core::sending::dmarc::{DmarcPolicy, DmarcSetup};
        use crate::core::sending::mail_from::{MailFromSetup, MxFailureBehavior};
        let setup = SendingSetup {
            ses_region: "us-east-1".into(),
            ttl: 300,
            mail_from: Some(MailFromSetup {
                subdomain: "bounce".into(),
                on_mx_failure: MxFailureBehavior::UseDefaultValue,
            }),
            dmarc: Some(DmarcSetup {
                policy: DmarcPolicy::None,
                rua: Vec::new(),
            }),
        };
        let domain = DomainName::parse("example.com").unwrap();
        let set = |name: &str, record_type, value: &str| RecordSet {
            name: name.into(),
            record_type,
            ttl: 60,
            values: vec![value.into()],
        };
        let status = |checks: &[RecordCheck]| -> Vec<String> {
            checks
                .iter()
                .map(|c| {
                    serde_json::to_value(&c.status).unwrap()["status"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        };
        let nothing = diagnose_sending(&setup, &domain, &[], &[], None);
        assert_eq!(status(&nothing), ["missing", "missing", "missing"]);
        let foreign_mx = [set(
            "bounce.example.com",
            RecordType::Mx,
            "10 mx.example.net.",
        )];
        let checks = diagnose_sending(&setup, &domain, &foreign_mx, &[], None);
        assert_eq!(status(&checks), ["conflict", "missing", "missing"]);
        assert_eq!(count(&checks).conflict, 1);
        let served = [
            set(
                "bounce.example.com",
                RecordType::Mx,
                "10 feedback-smtp.us-east-1.amazonses.com.",
            ),
            set(
                "bounce.example.com",
                RecordType::Txt,
                "\"v=spf1 include:amazonses.com ~all\"",
            ),
            set(
                "_dmarc.example.com",
                RecordType::Txt,
                "\"v=DMARC1; p=reject\"",
            ),
        ];
        let checks = diagnose_sending(&setup, &domain, &served, &[], None);
        assert_eq!(status(&checks), ["present", "present", "present"]);
        let weak = [set(
            "_dmarc.example.com",
            RecordType::Txt,
            "\"v=DMARC1; rua=mailto:x@example.com\"",
        )];
        let failed = [FailedLookup {
            name: "bounce.example.com".into(),
            record_type: RecordType::Mx,
            reason: "SERVFAIL".into(),
        }];
        let checks = diagnose_sending(&setup, &domain, &weak, &failed, None);
        assert_eq!(status(&checks), ["couldNotCheck", "missing", "wrongValue"]);
    }
}
