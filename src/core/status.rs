//! One domain's state as an operator asks about it (`dkimctl status`, `dkimctl plan`):
//! where its records live, SES's DKIM status, each record's state, the follow-up
//! chain, the sending records, each replica Region's state, and what a reconcile would
//! do about it. Pure:
//! `workflow::fleet` observes, this judges, the command prints.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::handover::{diagnose, DnsAnswer, RecordCheck, RecordStatus};
use super::identity::{DkimStatus, MailFromState};
use super::records::{normalise_dns_name, CnameRecord};
use super::replicas::{ReplicaState, ReplicaStatus};

/// Where a domain's records live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RecordsHome {
    /// A public hosted zone of this account (or the DNS account's).
    Route53 { hosted_zone_id: String },
    /// No zone here holds the domain: its records are the tenant's, read in public DNS.
    HandedOver,
    /// The scope gate leaves the domain alone (a domain named on the command line):
    /// its records are not read.
    Skipped { reason: String },
}

/// The follow-up schedules on a domain, and when the next one fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpStatus {
    /// Its follow-ups and deferrals (not the tombstone).
    pub schedules: Vec<String>,
    /// The soonest of their `at()` times; `None` when none could be read.
    pub next_check: Option<DateTime<Utc>>,
    /// An offboarding's tombstone is there: the function leaves the domain alone.
    pub offboarded: bool,
}

/// SES's custom MAIL FROM for the identity, where the feature is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MailFromView {
    /// The MAIL FROM domain SES has set; `None`: none set.
    pub domain: Option<String>,
    /// SES's status (`Success`, `Pending`, ...), or `NotSet`.
    pub status: String,
}

impl MailFromView {
    pub fn of(state: Option<&MailFromState>) -> Self {
        match state {
            Some(MailFromState::Set { domain, status }) => Self {
                domain: Some(domain.clone()),
                status: status.as_str().to_owned(),
            },
            _ => Self {
                domain: None,
                status: "NotSet".into(),
            },
        }
    }
}

/// One replica Region's state (`SES_REPLICA_REGIONS`), as `DKIM Replicas Verified`
/// words it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaView {
    pub region: String,
    /// `verified`, `pending`, `failed`, `unreachable`, or `missing` (none there yet).
    pub status: &'static str,
    /// SES's code and message, where it failed or would not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ReplicaView {
    fn of(state: ReplicaState) -> Self {
        Self {
            region: state.region,
            status: state.status.as_str(),
            reason: state.reason,
        }
    }

    pub fn verified(&self) -> bool {
        self.status == ReplicaStatus::Verified.as_str()
    }
}

/// What a reconcile would do about the domain now: the planner's word for it (see
/// `core::reconcile`), and the records it would write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    pub action: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The actions that change nothing: the rest are changes a reconcile would make.
pub const NO_CHANGE: &[&str] = &["alreadyVerified", "chainRunning", "handedOver", "skip"];

impl DomainStatus {
    /// Left alone by the scope gate (tagged off, or named and out of scope).
    pub fn is_skipped(&self) -> bool {
        matches!(self.records_home, RecordsHome::Skipped { .. })
    }
}

impl PlannedChange {
    pub fn changes_something(&self) -> bool {
        !NO_CHANGE.contains(&self.action)
    }
}

/// Everything `status` shows of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainStatus {
    pub domain: String,
    pub records_home: RecordsHome,
    /// SES's Easy DKIM status (`IdentityMissing` when SES does not know the domain).
    pub dkim_status: &'static str,
    /// The three CNAMEs SES wants, each present, missing or wrong (with what was found).
    pub dkim_records: Vec<RecordCheck>,
    pub follow_up: Option<FollowUpStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<MailFromView>,
    /// MAIL FROM's MX and SPF and DMARC, where those features are on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sending_records: Vec<RecordCheck>,
    /// The verified parent's replica in each of its replica Regions; none where no
    /// replica Region is set, or before the parent is verified (none is made then).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaView>,
    /// The reconcile's plan for it (`plan`).
    pub plan: PlannedChange,
    /// SES has verified DKIM.
    pub verified: bool,
    /// Verified, every record in place, MAIL FROM (when on) in use, and every replica
    /// verified: nothing to do.
    pub well: bool,
}

/// The pieces `judge` needs, as observed.
pub struct Observation {
    pub domain: String,
    pub records_home: RecordsHome,
    pub dkim_status: DkimStatus,
    pub dkim_records: Vec<RecordCheck>,
    pub follow_up: Option<FollowUpStatus>,
    pub mail_from: Option<MailFromView>,
    pub sending_records: Vec<RecordCheck>,
    pub replicas: Vec<ReplicaState>,
    pub plan: PlannedChange,
}

/// A domain is well when SES verified it, every record it needs is there as wanted,
/// MAIL FROM, where it is on, is in use, and each replica Region has verified its
/// replica. A record (or a Region) that could not be checked is not well: "I could not
/// tell" is not "all is well".
pub fn judge(observed: Observation) -> DomainStatus {
    let verified = observed.dkim_status == DkimStatus::Success;
    let present = |checks: &[RecordCheck]| {
        checks
            .iter()
            .all(|c| matches!(c.status, RecordStatus::Present))
    };
    let mail_from_in_use = observed
        .mail_from
        .as_ref()
        .is_none_or(|m| m.status == "Success");
    let replicas: Vec<ReplicaView> = observed.replicas.into_iter().map(ReplicaView::of).collect();
    let well = verified
        && !observed.dkim_records.is_empty()
        && present(&observed.dkim_records)
        && present(&observed.sending_records)
        && mail_from_in_use
        && replicas.iter().all(ReplicaView::verified);
    DomainStatus {
        domain: observed.domain,
        records_home: observed.records_home,
        dkim_status: observed.dkim_status.as_str(),
        dkim_records: observed.dkim_records,
        follow_up: observed.follow_up,
        mail_from: observed.mail_from,
        sending_records: observed.sending_records,
        replicas,
        plan: observed.plan,
        verified,
        well,
    }
}

/// Each wanted record against the zone's CNAMEs at its name, judged as public DNS
/// answers are (`core::handover::diagnose`): the same words for both homes.
pub fn zone_record_checks(wanted: &[CnameRecord], found: &[CnameRecord]) -> Vec<RecordCheck> {
    wanted
        .iter()
        .map(|record| {
            let name = normalise_dns_name(&record.name);
            let values: Vec<String> = found
                .iter()
                .filter(|f| normalise_dns_name(&f.name) == name)
                .map(|f| f.value.clone())
                .collect();
            let answer = match values.is_empty() {
                true => DnsAnswer::NoRecord,
                false => DnsAnswer::Cnames(values),
            };
            diagnose(record, &answer)
        })
        .collect()
}

/// The reconcile's plan, with the replicas it would make: where its plan for the
/// records changes nothing, each Region missing its replica is the change
/// (`createReplica`, as the reconcile's dry run lists it). A change to the records
/// comes first; the replicas follow in the same run.
pub fn with_missing_replicas(plan: PlannedChange, replicas: &[ReplicaState]) -> PlannedChange {
    let missing: Vec<String> = replicas
        .iter()
        .filter(|r| r.status == ReplicaStatus::Missing)
        .map(|r| r.region.clone())
        .collect();
    match missing.is_empty() || plan.changes_something() {
        true => plan,
        false => PlannedChange {
            action: "createReplica",
            records: missing,
            reason: None,
        },
    }
}

/// The soonest of several schedules' next runs.
pub fn next_check(runs: &[Option<DateTime<Utc>>]) -> Option<DateTime<Utc>> {
    runs.iter().flatten().min().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::DomainName;
    use crate::core::records::{dkim_records, DkimTokens};

    fn wanted() -> Vec<CnameRecord> {
        let tokens = DkimTokens::parse(&["a1", "b2", "c3"]).unwrap();
        dkim_records(
            &DomainName::parse("example.com").unwrap(),
            &tokens,
            &crate::core::records::SigningZone::parse("dkim.amazonses.com").unwrap(),
            1800,
        )
    }

    fn observation(status: DkimStatus, records: Vec<RecordCheck>) -> Observation {
        Observation {
            domain: "example.com".into(),
            records_home: RecordsHome::HandedOver,
            dkim_status: status,
            dkim_records: records,
            follow_up: None,
            mail_from: None,
            sending_records: Vec::new(),
            replicas: Vec::new(),
            plan: PlannedChange {
                action: "alreadyVerified",
                records: Vec::new(),
                reason: None,
            },
        }
    }

    #[test]
    fn each_record_is_present_missing_or_wrong_with_what_was_found() {
        let w = wanted();
        let mut found = vec![w[0].clone(), w[1].clone()];
        found[1].value = "elsewhere.example.net".into();
        let mut upper = w[0].clone();
        upper.name = upper.name.to_ascii_uppercase() + ".";
        found[0] = upper;
        let checks = zone_record_checks(&w, &found);
        assert_eq!(
            checks[0].status,
            RecordStatus::Present,
            "names compare as DNS does"
        );
        assert_eq!(
            checks[1].status,
            RecordStatus::WrongValue {
                found: vec!["elsewhere.example.net".into()]
            }
        );
        assert_eq!(checks[2].status, RecordStatus::Missing);
        assert_eq!(checks[2].expected, w[2].value);
    }

    #[test]
    fn well_means_verified_with_every_record_in_place() {
        let w = wanted();
        let all = zone_record_checks(&w, &w);
        assert!(judge(observation(DkimStatus::Success, all.clone())).well);
        let pending = judge(observation(DkimStatus::Pending, all.clone()));
        assert!(!pending.well && !pending.verified);
        let drifted = judge(observation(
            DkimStatus::Success,
            zone_record_checks(&w, &w[..2]),
        ));
        assert!(drifted.verified && !drifted.well);
        let mut unknown = all.clone();
        unknown[0].status = RecordStatus::CouldNotCheck {
            reason: "timeout".into(),
        };
        assert!(!judge(observation(DkimStatus::Success, unknown)).well);
        assert!(
            !judge(observation(DkimStatus::Success, Vec::new())).well,
            "no records known is not well"
        );
        let mut mail_from = observation(DkimStatus::Success, all);
        mail_from.mail_from = Some(MailFromView::of(None));
        let judged = judge(mail_from);
        assert!(!judged.well, "MAIL FROM on and not set");
        assert_eq!(judged.mail_from.unwrap().status, "NotSet");
    }

    fn replica(region: &str, status: ReplicaStatus) -> ReplicaState {
        ReplicaState {
            region: region.into(),
            status,
            created: false,
            reason: None,
        }
    }

    #[test]
    fn well_needs_every_replica_verified_and_a_missing_one_is_the_plan() {
        let w = wanted();
        let with = |replicas: Vec<ReplicaState>| {
            let mut o = observation(DkimStatus::Success, zone_record_checks(&w, &w));
            o.replicas = replicas;
            judge(o)
        };
        let both = with(vec![
            replica("us-west-2", ReplicaStatus::Verified),
            replica("eu-west-1", ReplicaStatus::Verified),
        ]);
        assert!(both.well);
        assert_eq!(both.replicas[1].status, "verified");
        for status in [
            ReplicaStatus::Pending,
            ReplicaStatus::Missing,
            ReplicaStatus::Failed,
            ReplicaStatus::Unreachable,
        ] {
            let one = with(vec![
                replica("us-west-2", ReplicaStatus::Verified),
                replica("eu-west-1", status),
            ]);
            assert!(!one.well, "{}", status.as_str());
        }

        let replicas = [
            replica("us-west-2", ReplicaStatus::Missing),
            replica("eu-west-1", ReplicaStatus::Pending),
            replica("ap-south-1", ReplicaStatus::Missing),
        ];
        let steady = PlannedChange {
            action: "alreadyVerified",
            records: Vec::new(),
            reason: None,
        };
        let plan = with_missing_replicas(steady.clone(), &replicas);
        assert_eq!(plan.action, "createReplica");
        assert_eq!(plan.records, ["us-west-2", "ap-south-1"]);
        assert_eq!(
            with_missing_replicas(steady.clone(), &replicas[1..2]),
            steady
        );
        let repair = PlannedChange {
            action: "repair",
            ..steady
        };
        assert_eq!(with_missing_replicas(repair.clone(), &replicas), repair);
    }

    #[test]
    fn the_next_check_is_the_soonest_run() {
        let later = DateTime::from_timestamp(2_000_000_000, 0).unwrap();
        let sooner = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        assert_eq!(next_check(&[Some(later), None, Some(sooner)]), Some(sooner));
        assert_eq!(next_check(&[None]), None);
    }

    #[test]
    fn changes_are_told_from_no_change() {
        let change = |action| PlannedChange {
            action,
            records: Vec::new(),
            reason: None,
        };
        assert!(change("onboard").changes_something());
        assert!(change("repair").changes_something());
        assert!(!change("chainRunning").changes_something());
        assert!(!change("alreadyVerified").changes_something());
    }
}
