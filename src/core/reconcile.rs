//! Reconcile: the desired state of every in-scope public hosted zone's domain is an
//! SES identity whose Easy DKIM status is Success, with its three CNAMEs in place.
//! This module is the pure part: the run's payload (a cursor through the account,
//! carried from page to page in one-time schedules), its counts, and the plan for
//! one zone from what was observed.

use serde::{Deserialize, Serialize};

use super::identity::DkimStatus;
use super::identity::{MailFromState, MailFromStatus};
use super::records::{plan_repair, CnameRecord, DkimTokens, RecordRepair};
use super::replicas::ReplicaStatus;
use super::scope::Skip;
use super::sending::desired::SendingPlan;

/// How many domains a dry run lists in `Reconcile Finished`, all actions together;
/// the counts are always complete. Keeps the schedule input small.
pub const DRY_RUN_LIST_CAP: usize = 50;

/// Where a run is: first the hosted zones, then the SES identities (for orphans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "phase",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Cursor {
    Zones {
        /// `ListHostedZones` marker of the page to read; `None` for the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
        /// Zones of that page already done.
        #[serde(default)]
        skip: u32,
    },
    Identities {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_token: Option<String>,
        #[serde(default)]
        skip: u32,
    },
}

impl Default for Cursor {
    fn default() -> Self {
        Self::Zones {
            marker: None,
            skip: 0,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconcileCounts {
    pub zones_seen: u32,
    pub in_scope: u32,
    pub already_verified: u32,
    pub onboarded: u32,
    pub repaired: u32,
    pub restarted: u32,
    /// Pending with no follow-up chain: a chain was started.
    pub chains_started: u32,
    /// A follow-up chain was already running: left alone.
    pub chains_running: u32,
    pub skipped: u32,
    pub orphaned: u32,
    pub orphans_deleted: u32,
    /// Work a transient failure put off into its own deferral schedule.
    pub deferred: u32,
    pub errors: u32,
    /// The sending records of verified domains; absent while MAIL FROM and DMARC are
    /// off (and in runs written before they existed).
    #[serde(default, skip_serializing_if = "SendingCounts::is_empty")]
    pub sending: SendingCounts,
    /// Verified identities' key lengths; absent with `DKIM_KEY_LENGTH=keep` (and in
    /// runs written before it existed).
    #[serde(default, skip_serializing_if = "KeyLengthCounts::is_empty")]
    pub key_length: KeyLengthCounts,
    /// DEED replicas of verified parents, one per (domain, replica Region); absent
    /// without `SES_REPLICA_REGIONS` (and in runs written before it existed).
    #[serde(default, skip_serializing_if = "ReplicaCounts::is_empty")]
    pub replicas: ReplicaCounts,
}

/// Replicas, counted per verified parent and replica Region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplicaCounts {
    #[serde(default)]
    pub verified: u32,
    #[serde(default)]
    pub pending: u32,
    /// SES refused the replica (logged with its reason).
    #[serde(default)]
    pub failed: u32,
    /// SES in that Region would not answer: put off alone.
    #[serde(default)]
    pub unreachable: u32,
    /// Missing, so created (a dry run: would be).
    #[serde(default)]
    pub created: u32,
    /// Identities in a replica Region whose parent is gone (reported, never deleted).
    #[serde(default)]
    pub orphaned: u32,
}

impl ReplicaCounts {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    pub fn add(&mut self, status: ReplicaStatus) {
        match status {
            ReplicaStatus::Verified => self.verified += 1,
            ReplicaStatus::Pending => self.pending += 1,
            ReplicaStatus::Failed => self.failed += 1,
            ReplicaStatus::Unreachable => self.unreachable += 1,
            // Only a dry run sees one left missing: it would be created.
            ReplicaStatus::Missing => self.created += 1,
        }
    }
}

/// Key lengths, counted over a run's verified domains whose lengths were read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyLengthCounts {
    /// Identities whose current key is 1024 bits.
    #[serde(default)]
    pub current1024: u32,
    #[serde(default)]
    pub current2048: u32,
    /// Next keys moved to the configured length (a dry run: would be).
    #[serde(default)]
    pub changed: u32,
    /// Due, but changed less than a day ago: left for a later run.
    #[serde(default)]
    pub waiting: u32,
    /// SES refused the change (logged).
    #[serde(default)]
    pub refused: u32,
}

impl KeyLengthCounts {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Each sending part, counted over a run's verified domains.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendingCounts {
    /// MAIL FROM MX sets written (missing, or gone after ready).
    #[serde(default)]
    pub mx_written: u32,
    #[serde(default)]
    pub spf_written: u32,
    #[serde(default)]
    pub dmarc_written: u32,
    /// Domains whose own DMARC record (not ours) was left alone.
    #[serde(default)]
    pub dmarc_existing: u32,
    /// Domains covered by their organisational domain's DMARC record.
    #[serde(default)]
    pub dmarc_covered: u32,
    /// Identities SES was asked to use the MAIL FROM domain for (a chain watches it).
    #[serde(default)]
    pub mail_from_set: u32,
    /// Identities whose MAIL FROM SES reports `Success`.
    #[serde(default)]
    pub mail_from_verified: u32,
    /// Names where something not ours stands in the way.
    #[serde(default)]
    pub conflicts: u32,
}

impl SendingCounts {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Count what one domain's plan found and would write.
    pub fn add(&mut self, plan: &SendingPlan) {
        use super::sending::dmarc::DmarcState;
        use super::sending::mail_from::PartState;
        if let Some(p) = &plan.mail_from {
            self.mx_written += u32::from(p.mx == PartState::Written);
            self.spf_written += u32::from(p.spf == PartState::Written);
        }
        match plan.dmarc.as_ref().map(|p| &p.state) {
            Some(DmarcState::Written) => self.dmarc_written += 1,
            Some(DmarcState::Existing(_)) => self.dmarc_existing += 1,
            Some(DmarcState::CoveredBy { .. }) => self.dmarc_covered += 1,
            _ => {}
        }
        self.conflicts += plan.conflicts().len() as u32;
    }
}

/// What MAIL FROM needs of a verified domain with no chain on it: SES asked to use the
/// MAIL FROM domain when it uses none, another, or gave up (`Failed`), and only when
/// the MX there is ours. `Pending` and `TemporaryFailure` mean SES is looking already.
pub fn mail_from_needs_setting(
    plan: &SendingPlan,
    state: Option<&MailFromState>,
    wanted: Option<&str>,
) -> bool {
    let Some(wanted) = wanted.filter(|_| plan.mail_from_usable()) else {
        return false;
    };
    match state {
        Some(MailFromState::Set { domain, status }) if domain == wanted => {
            *status == MailFromStatus::Failed
        }
        _ => true,
    }
}

/// One domain and what a dry run would do to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Planned {
    pub action: String,
    pub domain: String,
    /// The sending records it would write (`name TYPE`); absent for DKIM's actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
}

/// A run of the reconcile, at some point of its way through the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconcileRun {
    #[serde(default)]
    pub dry_run: bool,
    /// Names the run's continuation schedules; a redelivered page meets its own.
    /// `None` on a fresh run from the recurring schedule: the function picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(default)]
    pub cursor: Cursor,
    /// Invocations this run has taken so far.
    #[serde(default)]
    pub pages: u32,
    #[serde(default)]
    pub counts: ReconcileCounts,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<Planned>,
}

impl ReconcileRun {
    /// A fresh run, as a `Reconcile Requested` event asks for it.
    pub fn requested(dry_run: bool, event_id: Option<&str>) -> Self {
        Self {
            dry_run,
            run_id: event_id.map(run_id_from),
            cursor: Cursor::default(),
            pages: 0,
            counts: ReconcileCounts::default(),
            planned: Vec::new(),
        }
    }

    /// Note what a dry run would do, up to the cap.
    pub fn plan_note(&mut self, action: &str, domain: &str) {
        self.plan_records(action, domain, Vec::new());
    }

    /// `plan_note`, naming the records the action would write.
    pub fn plan_records(&mut self, action: &str, domain: &str, records: Vec<String>) {
        if self.dry_run && self.planned.len() < DRY_RUN_LIST_CAP {
            self.planned.push(Planned {
                action: action.to_owned(),
                domain: domain.to_owned(),
                records,
            });
        }
    }
}

/// A run id fit for a schedule name: `[0-9A-Za-z_.-]`, at most 36 characters.
pub fn run_id_from(text: &str) -> String {
    let id: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(36)
        .collect();
    if id.is_empty() {
        "run".to_owned()
    } else {
        id
    }
}

/// What one in-scope zone's domain needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneAction {
    Skip(Skip),
    /// No identity, or DKIM never started: an ordinary onboarding.
    Onboard,
    AlreadyVerified,
    /// Verified, but a record is missing or changed.
    RepairDrift(RecordRepair),
    /// Failed or TemporaryFailure with no chain: a chain that restarts verification.
    Restart(DkimTokens),
    /// Pending with no chain: a chain that watches it.
    StartChain(DkimTokens),
    /// A follow-up chain is on it already.
    LeaveAlone,
}

impl ZoneAction {
    /// The word a dry run lists it under.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Skip(_) => "skip",
            Self::Onboard => "onboard",
            Self::AlreadyVerified => "alreadyVerified",
            Self::RepairDrift(_) => "repair",
            Self::Restart(_) => "restart",
            Self::StartChain(_) => "startChain",
            Self::LeaveAlone => "chainRunning",
        }
    }
}

/// What was observed of one in-scope, not opted-out zone's domain.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub status: DkimStatus,
    pub tokens: Option<&'a DkimTokens>,
    pub chain_running: bool,
    /// The `_domainkey` CNAMEs, read only for a verified domain.
    pub records: Option<&'a [CnameRecord]>,
    /// The three records SES wants for `tokens`.
    pub wanted: &'a [CnameRecord],
}

/// The plan for one zone. Level-triggered: the same observation gives the same plan,
/// and after acting on it the next observation plans nothing new.
pub fn plan_zone(observed: Observed<'_>) -> ZoneAction {
    match (observed.status, observed.tokens) {
        (DkimStatus::Success, Some(_)) => match observed.records {
            Some(existing) => {
                let repair = plan_repair(observed.wanted, observed.wanted, existing);
                if repair.is_empty() {
                    ZoneAction::AlreadyVerified
                } else {
                    ZoneAction::RepairDrift(repair)
                }
            }
            None => ZoneAction::AlreadyVerified,
        },
        _ if observed.chain_running => ZoneAction::LeaveAlone,
        (DkimStatus::Pending, Some(tokens)) => ZoneAction::StartChain(tokens.clone()),
        (DkimStatus::Failed | DkimStatus::TemporaryFailure, Some(tokens)) => {
            ZoneAction::Restart(tokens.clone())
        }
        _ => ZoneAction::Onboard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::DomainName;
    use crate::core::records::dkim_records;

    fn tokens() -> DkimTokens {
        DkimTokens::parse(&["a1", "b2", "c3"]).unwrap()
    }

    fn wanted() -> Vec<CnameRecord> {
        dkim_records(
            &DomainName::parse("example.com").unwrap(),
            &tokens(),
            &crate::core::records::SigningZone::parse("dkim.amazonses.com").unwrap(),
            1800,
        )
    }

    fn observed<'a>(
        status: DkimStatus,
        tokens: Option<&'a DkimTokens>,
        chain_running: bool,
        records: Option<&'a [CnameRecord]>,
        wanted: &'a [CnameRecord],
    ) -> Observed<'a> {
        Observed {
            status,
            tokens,
            chain_running,
            records,
            wanted,
        }
    }

    #[test]
    fn each_state_gets_its_action() {
        let (t, w) = (tokens(), wanted());
        let plan = |s, tk, chain, rec| plan_zone(observed(s, tk, chain, rec, &w));
        assert_eq!(
            plan(DkimStatus::IdentityMissing, None, false, None),
            ZoneAction::Onboard
        );
        assert_eq!(
            plan(DkimStatus::NotStarted, None, false, None),
            ZoneAction::Onboard
        );
        assert_eq!(
            plan(DkimStatus::Success, Some(&t), false, Some(&w[..])),
            ZoneAction::AlreadyVerified
        );
        let drift = plan(DkimStatus::Success, Some(&t), true, Some(&w[..2]));
        assert_eq!(
            drift.name(),
            "repair",
            "drift is healed even while a chain runs"
        );
        let ZoneAction::RepairDrift(repair) = drift else {
            unreachable!()
        };
        assert_eq!(repair.upserts, [w[2].clone()]);
        assert_eq!(
            plan(DkimStatus::Failed, Some(&t), false, None),
            ZoneAction::Restart(t.clone())
        );
        assert_eq!(
            plan(DkimStatus::TemporaryFailure, Some(&t), false, None).name(),
            "restart"
        );
        assert_eq!(
            plan(DkimStatus::Pending, Some(&t), false, None),
            ZoneAction::StartChain(t.clone())
        );
        for status in [
            DkimStatus::Pending,
            DkimStatus::Failed,
            DkimStatus::IdentityMissing,
        ] {
            assert_eq!(
                plan(status, Some(&t), true, None),
                ZoneAction::LeaveAlone,
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_hijacked_record_is_drift_too() {
        let (t, w) = (tokens(), wanted());
        let mut existing = w.clone();
        existing[0].value = "evil.example.net".into();
        let plan = plan_zone(observed(
            DkimStatus::Success,
            Some(&t),
            false,
            Some(&existing),
            &w,
        ));
        let ZoneAction::RepairDrift(repair) = plan else {
            panic!("{plan:?}")
        };
        assert_eq!(repair.upserts, [w[0].clone()]);
        assert!(repair.deletes.is_empty());
    }

    #[test]
    fn dry_runs_list_what_they_would_do_up_to_a_cap() {
        let mut run = ReconcileRun::requested(true, Some("7bf73129-1428-4cd3-a780-95db273d1602"));
        for i in 0..(DRY_RUN_LIST_CAP + 10) {
            run.plan_note("onboard", &format!("d{i}.com"));
        }
        assert_eq!(run.planned.len(), DRY_RUN_LIST_CAP, "capped");
        let mut real = ReconcileRun::requested(false, None);
        real.plan_note("onboard", "d.com");
        assert!(real.planned.is_empty());
        assert_eq!(run_id_from("2026-11-28T00:00:00Z"), "2026-11-28T000000Z");
        assert_eq!(run_id_from("///"), "run");
    }

    #[test]
    fn mail_from_is_set_where_ses_uses_none_or_gave_up_and_the_mx_is_ours() {
        use crate::core::sending::desired::SendingSetup;
        use crate::core::sending::mail_from::{MailFromSetup, MxFailureBehavior};
        use crate::core::sending::{RecordSet, RecordType};
        let setup = SendingSetup {
            ses_region: "us-east-1".into(),
            ttl: 300,
            mail_from: Some(MailFromSetup {
                subdomain: "bounce".into(),
                on_mx_failure: MxFailureBehavior::UseDefaultValue,
            }),
            dmarc: None,
        };
        let domain = DomainName::parse("example.com").unwrap();
        let ours = setup.plan(&domain, &[], None);
        let foreign = setup.plan(
            &domain,
            &[RecordSet {
                name: "bounce.example.com".into(),
                record_type: RecordType::Mx,
                ttl: 300,
                values: vec!["10 mx.example.net.".into()],
            }],
            None,
        );
        let wanted = Some("bounce.example.com");
        let set = |status| MailFromState::Set {
            domain: "bounce.example.com".into(),
            status,
        };
        assert!(mail_from_needs_setting(&ours, None, wanted));
        assert!(mail_from_needs_setting(
            &ours,
            Some(&MailFromState::NotSet),
            wanted
        ));
        assert!(mail_from_needs_setting(
            &ours,
            Some(&set(MailFromStatus::Failed)),
            wanted
        ));
        for looking in [
            MailFromStatus::Pending,
            MailFromStatus::TemporaryFailure,
            MailFromStatus::Success,
        ] {
            assert!(!mail_from_needs_setting(&ours, Some(&set(looking)), wanted));
        }
        let elsewhere = MailFromState::Set {
            domain: "mail.example.com".into(),
            status: MailFromStatus::Success,
        };
        assert!(mail_from_needs_setting(&ours, Some(&elsewhere), wanted));
        assert!(
            !mail_from_needs_setting(&foreign, None, wanted),
            "never over a foreign MX"
        );
        assert!(!mail_from_needs_setting(&ours, None, None), "MAIL FROM off");
    }
}
