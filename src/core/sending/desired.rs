//! A domain's sending records as one desired state, from the settings alone: the
//! MAIL FROM MX and SPF TXT at `<subdomain>.<domain>` and the DMARC TXT at
//! `_dmarc.<domain>`. The onboarding, the MAIL FROM check, the reconcile's drift
//! repair, the offboarding and the hand-over's diagnosis all read this one model;
//! the three DKIM CNAMEs beside them are `core::records`.
//!
//! No per-domain overrides exist: what a domain should hold is recomputed from
//! `SendingSetup` whenever it is needed, so a reconcile or an offboarding a year later
//! reaches the same answer the onboarding did.

use serde_json::{json, Value};

use super::dmarc::{self, DmarcPlan, DmarcRecord, DmarcSetup, DmarcState};
use super::mail_from::{self, MailFromPlan, MailFromSetup, PartState};
use super::txt::value_of;
use super::{AtName, Change, Conflict, RecordSet, RecordType};
use crate::core::ids::DomainName;

/// The sending settings of a deployment; both parts off means today's behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendingSetup {
    /// Where the identities live: the MX points at this Region's feedback endpoint.
    pub ses_region: String,
    /// `DKIM_RECORD_TTL`, for these records too.
    pub ttl: i64,
    pub mail_from: Option<MailFromSetup>,
    pub dmarc: Option<DmarcSetup>,
}

/// One record the domain should hold, as a tenant would publish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedRecord {
    pub name: String,
    pub record_type: RecordType,
    /// As written in a zone file: `10 host` for MX, `"text"` for TXT.
    pub value: String,
}

impl SendingSetup {
    pub fn is_on(&self) -> bool {
        self.mail_from.is_some() || self.dmarc.is_some()
    }

    /// The MAIL FROM domain of `domain`, when MAIL FROM is on.
    pub fn mail_from_name(&self, domain: &DomainName) -> Option<String> {
        self.mail_from.as_ref().map(|m| m.domain_for(domain))
    }

    /// The names whose record sets the plan reads.
    pub fn names(&self, domain: &DomainName) -> Vec<String> {
        let mut names: Vec<String> = self.mail_from_name(domain).into_iter().collect();
        if self.dmarc.is_some() {
            names.push(dmarc::record_name(domain));
        }
        names
    }

    /// The organisational domain whose DMARC record must be looked up, when DMARC is
    /// on and `domain` is below it.
    pub fn organisational_domain(&self, domain: &DomainName) -> Option<DomainName> {
        self.dmarc
            .as_ref()
            .and_then(|_| dmarc::organisational_domain(domain))
    }

    /// Plan every part from the sets read at `names()` (other names ignored) and the
    /// organisational domain's record, if it has one.
    pub fn plan(
        &self,
        domain: &DomainName,
        sets: &[RecordSet],
        org: Option<(DomainName, DmarcRecord)>,
    ) -> SendingPlan {
        let mail_from = self.mail_from_name(domain).map(|name| {
            let at = AtName::from_sets(&name, sets);
            mail_from::plan(&name, &at, &self.ses_region, self.ttl)
        });
        let dmarc = self.dmarc.as_ref().map(|setup| {
            let at = AtName::from_sets(&dmarc::record_name(domain), sets);
            dmarc::plan(domain, &at, org, setup, self.ttl)
        });
        SendingPlan { mail_from, dmarc }
    }

    /// The changes that take away exactly what is ours at `names()`, nothing else.
    pub fn plan_removal(&self, domain: &DomainName, sets: &[RecordSet]) -> Vec<Change> {
        let mut changes = Vec::new();
        if let Some(name) = self.mail_from_name(domain) {
            let at = AtName::from_sets(&name, sets);
            changes.extend(mail_from::plan_removal(&at, &self.ses_region));
        }
        if let Some(setup) = &self.dmarc {
            let at = AtName::from_sets(&dmarc::record_name(domain), sets);
            changes.extend(dmarc::plan_removal(&at, setup));
        }
        changes
    }

    /// The records a tenant publishes for `domain` (hand-over), in a fixed order.
    pub fn wanted(&self, domain: &DomainName) -> Vec<WantedRecord> {
        let mut wanted = Vec::new();
        if let Some(name) = self.mail_from_name(domain) {
            wanted.push(WantedRecord {
                name: name.clone(),
                record_type: RecordType::Mx,
                value: mail_from::mx_value(&self.ses_region),
            });
            wanted.push(WantedRecord {
                name,
                record_type: RecordType::Txt,
                value: value_of(mail_from::SPF_TEXT),
            });
        }
        if let Some(setup) = &self.dmarc {
            wanted.push(WantedRecord {
                name: dmarc::record_name(domain),
                record_type: RecordType::Txt,
                value: value_of(&setup.text()),
            });
        }
        wanted
    }
}

/// Where each part of a domain's sending records stands, and what to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendingPlan {
    pub mail_from: Option<MailFromPlan>,
    pub dmarc: Option<DmarcPlan>,
}

impl SendingPlan {
    pub fn changes(&self) -> Vec<Change> {
        let mail_from = self.mail_from.iter().flat_map(|p| p.changes.iter());
        let dmarc = self.dmarc.iter().flat_map(|p| p.changes.iter());
        mail_from.chain(dmarc).cloned().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.changes().is_empty()
    }

    /// The changes split by the record set they touch: each is a batch of its own when
    /// a combined batch was refused, so one conflicting part never holds back another.
    pub fn parts(&self) -> Vec<Vec<Change>> {
        let mut parts: Vec<Vec<Change>> = Vec::new();
        for change in self.changes() {
            let key = |c: &Change| (c.set().name.clone(), c.set().record_type);
            match parts.iter_mut().find(|p| key(&p[0]) == key(&change)) {
                Some(part) => part.push(change),
                None => parts.push(vec![change]),
            }
        }
        parts
    }

    /// The names and types written (`bounce.example.com MX`), for answers and logs.
    pub fn written(&self) -> Vec<String> {
        let mut written: Vec<String> = Vec::new();
        for change in self.changes() {
            if let Change::Create(set) = change {
                written.push(format!("{} {}", set.name, set.record_type));
            }
        }
        written
    }

    /// Every name where something not ours stands in the way, once each.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut conflicts: Vec<Conflict> = Vec::new();
        let mut add = |c: &Conflict| {
            if !conflicts.contains(c) {
                conflicts.push(c.clone());
            }
        };
        if let Some(plan) = &self.mail_from {
            for part in [&plan.mx, &plan.spf] {
                if let PartState::Conflict(c) = part {
                    add(c);
                }
            }
        }
        if let Some(DmarcState::Conflict(c)) = self.dmarc.as_ref().map(|p| &p.state) {
            add(c);
        }
        conflicts
    }

    /// Whether SES may be asked to use the MAIL FROM domain: the MX is ours (there,
    /// or being written). Never over someone else's MX: with `RejectMessage` that
    /// would stop the domain's mail.
    pub fn mail_from_usable(&self) -> bool {
        self.mail_from.as_ref().is_some_and(|p| p.mx.holds())
    }

    /// Whether the records of every configured part hold (MAIL FROM's SES status
    /// aside, which only SES knows).
    pub fn records_hold(&self) -> bool {
        self.mail_from
            .as_ref()
            .is_none_or(|p| p.mx.holds() && p.spf.holds())
            && self.dmarc.as_ref().is_none_or(|p| p.state.holds())
    }

    /// The `mailFrom` part as events tell it; `status`: SES's, when known.
    pub fn mail_from_detail(&self, status: Option<&str>) -> Option<Value> {
        self.mail_from.as_ref().map(|p| {
            let mut detail = json!({
                "domain": p.name,
                "mx": p.mx.as_str(),
                "spf": p.spf.as_str(),
            });
            if let Some(status) = status {
                detail["status"] = json!(status);
            }
            detail
        })
    }

    /// The `dmarc` part as events tell it.
    pub fn dmarc_detail(&self) -> Option<Value> {
        self.dmarc.as_ref().map(|p| dmarc_detail(&p.state))
    }
}

fn dmarc_detail(state: &DmarcState) -> Value {
    match state {
        DmarcState::Present | DmarcState::Written => json!({"state": state_word(state)}),
        DmarcState::Existing(record) => json!({
            "state": "existing",
            "record": record.text,
            "meetsMinimum": record.meets_minimum(),
        }),
        DmarcState::CoveredBy { domain, record } => json!({
            "state": "coveredBy",
            "domain": domain.as_str(),
            "record": record.text,
            "meetsMinimum": record.meets_minimum(),
        }),
        DmarcState::Conflict(_) => json!({"state": "conflict"}),
    }
}

/// The word a DMARC state goes by in events, counts and plans.
pub fn state_word(state: &DmarcState) -> &'static str {
    match state {
        DmarcState::Present => "present",
        DmarcState::Written => "written",
        DmarcState::Existing(_) => "existing",
        DmarcState::CoveredBy { .. } => "coveredBy",
        DmarcState::Conflict(_) => "conflict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sending::dmarc::DmarcPolicy;
    use crate::core::sending::mail_from::MxFailureBehavior;

    fn setup(mail_from: bool, dmarc: bool) -> SendingSetup {
        SendingSetup {
            ses_region: "eu-west-1".into(),
            ttl: 600,
            mail_from: mail_from.then(|| MailFromSetup {
                subdomain: "bounce".into(),
                on_mx_failure: MxFailureBehavior::UseDefaultValue,
            }),
            dmarc: dmarc.then(|| DmarcSetup {
                policy: DmarcPolicy::None,
                rua: Vec::new(),
            }),
        }
    }

    fn domain() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    fn set(name: &str, record_type: RecordType, values: &[&str]) -> RecordSet {
        RecordSet {
            name: name.into(),
            record_type,
            ttl: 300,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn both_off_reads_and_writes_nothing() {
        let off = setup(false, false);
        assert!(!off.is_on());
        assert!(off.names(&domain()).is_empty());
        let plan = off.plan(&domain(), &[], None);
        assert!(plan.is_empty() && plan.conflicts().is_empty() && plan.records_hold());
        assert!(off.wanted(&domain()).is_empty());
    }

    #[test]
    fn an_empty_domain_gets_every_record_in_one_part_per_set() {
        let on = setup(true, true);
        assert_eq!(
            on.names(&domain()),
            ["bounce.example.com", "_dmarc.example.com"]
        );
        let plan = on.plan(&domain(), &[], None);
        assert_eq!(
            plan.written(),
            [
                "bounce.example.com MX",
                "bounce.example.com TXT",
                "_dmarc.example.com TXT"
            ]
        );
        assert_eq!(plan.parts().len(), 3);
        assert!(plan.mail_from_usable() && plan.records_hold());
        let wanted = on.wanted(&domain());
        assert_eq!(wanted[0].value, "10 feedback-smtp.eu-west-1.amazonses.com");
        assert_eq!(wanted[2].value, "\"v=DMARC1; p=none\"");
    }

    #[test]
    fn an_exact_txt_swap_stays_one_part() {
        let sets = [set(
            "bounce.example.com",
            RecordType::Txt,
            &["\"site-verification=1\""],
        )];
        let plan = setup(true, false).plan(&domain(), &sets, None);
        let parts = plan.parts();
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[1].len(), 2, "delete and create of the TXT together");
    }

    #[test]
    fn a_foreign_mx_is_one_conflict_and_mail_from_is_not_used() {
        let sets = [set(
            "bounce.example.com",
            RecordType::Mx,
            &["10 mx.example.net."],
        )];
        let plan = setup(true, true).plan(&domain(), &sets, None);
        assert_eq!(plan.conflicts().len(), 1);
        assert!(!plan.mail_from_usable() && !plan.records_hold());
        assert_eq!(
            plan.written(),
            ["_dmarc.example.com TXT"],
            "DMARC still goes in"
        );
        assert_eq!(plan.mail_from_detail(None).unwrap()["spf"], "heldBack");
    }

    #[test]
    fn removal_is_only_ours() {
        let on = setup(true, true);
        let sets = [
            set(
                "bounce.example.com",
                RecordType::Mx,
                &["10 feedback-smtp.eu-west-1.amazonses.com"],
            ),
            set(
                "_dmarc.example.com",
                RecordType::Txt,
                &["\"v=DMARC1; p=reject\""],
            ),
        ];
        let changes = on.plan_removal(&domain(), &sets);
        assert_eq!(changes, [Change::Delete(sets[0].clone())]);
    }
}
