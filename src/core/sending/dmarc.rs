//! The DMARC record: a TXT at `_dmarc.<domain>`, `v=DMARC1; p=<policy>[; rua=…]`
//! (RFC 7489 §6.3). Gmail, Yahoo and Outlook.com require one, at least `p=none`, of
//! bulk senders.
//!
//! What this function writes, and what it leaves:
//! - A record the domain already has is the domain owner's, whatever it says: left
//!   alone, and reported with whether it meets the minimum (a `p=` tag).
//! - When the organisational domain (the registrable domain by the public suffix
//!   list, RFC 7489 §3.2) has a record, receivers apply its `sp=` (or `p=`) to this
//!   subdomain (§6.6.3): nothing is written, and the domain is reported as covered.
//! - A record is ours only when it is exactly the value the current settings make.
//!   Changing `DMARC_POLICY` or `DMARC_RUA` later leaves existing records alone: the
//!   operator updates or deletes them, and the reconcile then writes the new value
//!   where none is left.
//! - A CNAME at `_dmarc` is a conflict: nothing is written beside it.

use super::txt::{has_version, text_of, value_of};
use super::{invalid, AtName, Change, Conflict, InvalidSetting, RecordSet, RecordType};
use crate::core::ids::DomainName;

pub const POLICY_VARIABLE: &str = "DMARC_POLICY";
pub const RUA_VARIABLE: &str = "DMARC_RUA";

/// What receivers are asked to do with mail that fails DMARC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmarcPolicy {
    /// Monitor only: the minimum the mailbox providers require.
    None,
    Quarantine,
    Reject,
}

impl DmarcPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Quarantine => "quarantine",
            Self::Reject => "reject",
        }
    }
}

/// `DMARC_POLICY` and `DMARC_RUA`, when DMARC is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcSetup {
    pub policy: DmarcPolicy,
    /// `mailto:` URIs for aggregate reports, in the order given.
    pub rua: Vec<String>,
}

impl DmarcSetup {
    /// Read the two settings: `off` (or unset) means DMARC is off (`None`).
    pub fn parse(policy: Option<&str>, rua: Option<&str>) -> Result<Option<Self>, InvalidSetting> {
        let rua = rua
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|uri| !uri.is_empty())
            .map(mailto)
            .collect::<Result<Vec<_>, _>>()?;
        let policy = match policy.map(str::trim).unwrap_or_default() {
            "" | "off" => {
                if !rua.is_empty() {
                    return Err(invalid(
                        RUA_VARIABLE,
                        "is set, but DMARC_POLICY is off: no record would carry it",
                    ));
                }
                return Ok(None);
            }
            "none" => DmarcPolicy::None,
            "quarantine" => DmarcPolicy::Quarantine,
            "reject" => DmarcPolicy::Reject,
            other => {
                return Err(invalid(
                    POLICY_VARIABLE,
                    format!(
                        "is \"{other}\"; expected \"off\", \"none\", \"quarantine\" or \"reject\""
                    ),
                ))
            }
        };
        Ok(Some(Self { policy, rua }))
    }

    /// The record's text, as this function writes it.
    pub fn text(&self) -> String {
        let mut text = format!("v=DMARC1; p={}", self.policy.as_str());
        if !self.rua.is_empty() {
            text.push_str("; rua=");
            text.push_str(&self.rua.join(","));
        }
        text
    }

    /// Report addresses outside `domain`'s organisational domain: their domain must
    /// publish `<domain>._report._dmarc.<their domain>` to accept the reports
    /// (RFC 7489 §7.1), or receivers drop them.
    pub fn external_report_domains(&self, domain: &DomainName) -> Vec<String> {
        let own = registrable(domain.as_str());
        let mut outside: Vec<String> = self
            .rua
            .iter()
            .filter_map(|uri| uri.rsplit_once('@').map(|(_, d)| d))
            .map(|d| d.split('!').next().unwrap_or(d).to_ascii_lowercase())
            .filter(|d| registrable(d) != own)
            .collect();
        outside.dedup();
        outside
    }
}

/// One `DMARC_RUA` item: `mailto:` and an address, with an optional size limit
/// (`!10m`, RFC 7489 §6.2). Commas and semicolons would break the record.
fn mailto(uri: &str) -> Result<String, InvalidSetting> {
    let rule = |rule: &str| invalid(RUA_VARIABLE, format!("item \"{uri}\" {rule}"));
    let Some(address) = uri
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("mailto:"))
        .map(|_| &uri[7..])
    else {
        return Err(rule(
            "must be a mailto: URI, such as mailto:dmarc@example.com",
        ));
    };
    let (address, size) = match address.split_once('!') {
        Some((address, size)) => (address, Some(size)),
        None => (address, None),
    };
    if let Some(size) = size {
        let digits = size.trim_end_matches(['k', 'm', 'g', 't']);
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || size.len() - digits.len() > 1
        {
            return Err(rule(
                "has a size limit that is not digits and one of k, m, g, t",
            ));
        }
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(rule("must hold an address with an @"));
    };
    if local.is_empty()
        || local
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | ';' | '!' | '<' | '>'))
    {
        return Err(rule(
            "has a local part that is empty or has spaces, commas or semicolons",
        ));
    }
    if DomainName::parse(domain).is_err() {
        return Err(rule("must end in a domain name"));
    }
    Ok(format!(
        "mailto:{address}{}",
        size.map(|s| format!("!{s}")).unwrap_or_default()
    ))
}

fn registrable(name: &str) -> String {
    psl::domain_str(name).unwrap_or(name).to_ascii_lowercase()
}

/// The organisational domain whose record covers `domain`, when it is not `domain`
/// itself (RFC 7489 §3.2: the public suffix and one label more).
pub fn organisational_domain(domain: &DomainName) -> Option<DomainName> {
    let org = registrable(domain.as_str());
    (org != domain.as_str())
        .then(|| DomainName::parse(&org).ok())
        .flatten()
}

/// `_dmarc.<domain>`.
pub fn record_name(domain: &DomainName) -> String {
    format!("_dmarc.{domain}")
}

/// A DMARC record someone published, as far as this function judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcRecord {
    pub text: String,
    /// `p=`, when present.
    pub policy: Option<String>,
    /// `sp=`, when present: what receivers apply to subdomains.
    pub subdomain_policy: Option<String>,
}

impl DmarcRecord {
    /// The DMARC record among a name's TXT texts: the first that starts `v=DMARC1`.
    pub fn find<'a>(texts: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        texts
            .into_iter()
            .find(|t| has_version(t, "v=DMARC1", &[';', ' ']))
            .map(Self::read)
    }

    fn read(text: &str) -> Self {
        let tag = |name: &str| {
            text.split(';')
                .filter_map(|part| part.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
                .map(|(_, value)| value.trim().to_ascii_lowercase())
        };
        Self {
            text: text.to_owned(),
            policy: tag("p"),
            subdomain_policy: tag("sp"),
        }
    }

    /// What the mailbox providers ask at least: a `p=` tag with a policy.
    pub fn meets_minimum(&self) -> bool {
        matches!(
            self.policy.as_deref(),
            Some("none" | "quarantine" | "reject")
        )
    }

    /// What it asks of a subdomain's mail: `sp=`, else `p=`.
    pub fn policy_for_subdomains(&self) -> Option<&str> {
        self.subdomain_policy.as_deref().or(self.policy.as_deref())
    }
}

/// Where a domain's DMARC stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmarcState {
    /// Ours, exactly as the settings make it.
    Present,
    /// Missing: the plan writes it.
    Written,
    /// The domain's own record, not ours: left alone.
    Existing(DmarcRecord),
    /// No record of its own; its organisational domain's applies.
    CoveredBy {
        domain: DomainName,
        record: DmarcRecord,
    },
    /// A CNAME at `_dmarc`: nothing written.
    Conflict(Conflict),
}

impl DmarcState {
    /// Whether this part is done for `Domain Ready to Send`: created, present, or
    /// covered, by a record that meets the minimum.
    pub fn holds(&self) -> bool {
        match self {
            Self::Present | Self::Written => true,
            Self::Existing(record) | Self::CoveredBy { record, .. } => record.meets_minimum(),
            Self::Conflict(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcPlan {
    pub state: DmarcState,
    pub changes: Vec<Change>,
}

/// Plan `_dmarc.<domain>` from what it holds (`at`) and the organisational domain's
/// record, if it has one (`org`; looked up only when `organisational_domain` is some).
pub fn plan(
    domain: &DomainName,
    at: &AtName,
    org: Option<(DomainName, DmarcRecord)>,
    setup: &DmarcSetup,
    ttl: i64,
) -> DmarcPlan {
    let name = record_name(domain);
    let ours = setup.text();
    let nothing = |state| DmarcPlan {
        state,
        changes: Vec::new(),
    };
    if let Some(cname) = &at.cname {
        return nothing(DmarcState::Conflict(Conflict {
            name,
            record_type: RecordType::Cname,
            found: cname.values.clone(),
            wanted: format!("TXT {}", value_of(&ours)),
        }));
    }
    let texts: Vec<String> = at
        .txt
        .iter()
        .flat_map(|set| set.values.iter().map(|v| text_of(v)))
        .collect();
    if let Some(record) = DmarcRecord::find(texts.iter().map(String::as_str)) {
        return nothing(if record.text == ours {
            DmarcState::Present
        } else {
            DmarcState::Existing(record)
        });
    }
    if let Some((domain, record)) = org {
        return nothing(DmarcState::CoveredBy { domain, record });
    }
    let ours = value_of(&ours);
    let changes = match &at.txt {
        None => vec![Change::Create(RecordSet {
            name,
            record_type: RecordType::Txt,
            ttl,
            values: vec![ours],
        })],
        Some(set) => {
            let mut values = set.values.clone();
            values.push(ours);
            vec![
                Change::Delete(set.clone()),
                Change::Create(RecordSet {
                    values,
                    ..set.clone()
                }),
            ]
        }
    };
    DmarcPlan {
        state: DmarcState::Written,
        changes,
    }
}

/// The changes that take our DMARC record away: only a value exactly the one the
/// current settings make; other strings at the name stay.
pub fn plan_removal(at: &AtName, setup: &DmarcSetup) -> Vec<Change> {
    let Some(set) = &at.txt else {
        return Vec::new();
    };
    let ours = setup.text();
    let (mine, theirs): (Vec<String>, Vec<String>) =
        set.values.iter().cloned().partition(|v| text_of(v) == ours);
    if mine.is_empty() {
        return Vec::new();
    }
    let mut changes = vec![Change::Delete(set.clone())];
    if !theirs.is_empty() {
        changes.push(Change::Create(RecordSet {
            values: theirs,
            ..set.clone()
        }));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str) -> DomainName {
        DomainName::parse(name).unwrap()
    }

    fn setup(policy: &str, rua: &str) -> DmarcSetup {
        DmarcSetup::parse(Some(policy), Some(rua)).unwrap().unwrap()
    }

    fn txt(name: &str, values: &[&str]) -> RecordSet {
        RecordSet {
            name: name.to_owned(),
            record_type: RecordType::Txt,
            ttl: 300,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn off_is_the_default_and_the_policies_are_the_rfcs() {
        assert_eq!(DmarcSetup::parse(None, None), Ok(None));
        assert_eq!(DmarcSetup::parse(Some("off"), Some(" ")), Ok(None));
        assert_eq!(setup("none", "").text(), "v=DMARC1; p=none");
        assert_eq!(
            setup(
                "reject",
                "mailto:a@example.com, MAILTO:b@reports.example.net!10m"
            )
            .text(),
            "v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@reports.example.net!10m"
        );
    }

    #[test]
    fn a_bad_setting_names_its_variable_and_the_rule() {
        let cases = [
            ("strict", "", POLICY_VARIABLE, "expected \"off\""),
            (
                "off",
                "mailto:a@example.com",
                RUA_VARIABLE,
                "DMARC_POLICY is off",
            ),
            ("none", "a@example.com", RUA_VARIABLE, "mailto: URI"),
            ("none", "mailto:example.com", RUA_VARIABLE, "with an @"),
            ("none", "mailto:a b@example.com", RUA_VARIABLE, "local part"),
            (
                "none",
                "mailto:a;p=reject@example.com",
                RUA_VARIABLE,
                "local part",
            ),
            ("none", "mailto:a@exa mple.com", RUA_VARIABLE, "domain name"),
            (
                "none",
                "mailto:a@example.com!10x",
                RUA_VARIABLE,
                "size limit",
            ),
        ];
        for (policy, rua, variable, rule) in cases {
            let err = DmarcSetup::parse(Some(policy), Some(rua)).unwrap_err();
            assert_eq!(err.variable, variable, "{policy} {rua}");
            assert!(err.to_string().contains(rule), "{err}");
        }
    }

    #[test]
    fn report_addresses_outside_the_organisational_domain_are_named() {
        let s = setup(
            "none",
            "mailto:a@example.com,mailto:b@reports.example.com,mailto:c@dmarc.example.net!5m",
        );
        assert_eq!(
            s.external_report_domains(&d("mail.example.com")),
            ["dmarc.example.net"]
        );
    }

    #[test]
    fn the_organisational_domain_is_the_registrable_one() {
        assert_eq!(
            organisational_domain(&d("mail.example.com")),
            Some(d("example.com"))
        );
        assert_eq!(
            organisational_domain(&d("a.b.example.co.uk")),
            Some(d("example.co.uk"))
        );
        assert_eq!(organisational_domain(&d("example.com")), None);
    }

    #[test]
    fn an_existing_record_is_read_for_its_policies() {
        let record =
            DmarcRecord::find(["hello", "v=DMARC1; p=Reject; sp=none; rua=mailto:x@y.z"]).unwrap();
        assert_eq!(record.policy.as_deref(), Some("reject"));
        assert_eq!(record.policy_for_subdomains(), Some("none"));
        assert!(record.meets_minimum());
        let weak = DmarcRecord::find(["v=DMARC1; rua=mailto:x@y.z"]).unwrap();
        assert!(!weak.meets_minimum());
        assert_eq!(DmarcRecord::find(["v=spf1 -all"]), None);
    }

    #[test]
    fn a_domain_with_nothing_gets_our_record() {
        let s = setup("none", "mailto:dmarc@example.com");
        let plan = plan(&d("example.com"), &AtName::default(), None, &s, 300);
        assert_eq!(plan.state, DmarcState::Written);
        assert_eq!(
            plan.changes,
            vec![Change::Create(txt(
                "_dmarc.example.com",
                &["\"v=DMARC1; p=none; rua=mailto:dmarc@example.com\""]
            ))]
        );
    }

    #[test]
    fn the_domains_own_record_is_left_whatever_it_says() {
        let s = setup("none", "");
        let sets = [txt("_dmarc.example.com", &["\"v=DMARC1; p=quarantine\""])];
        let at = AtName::from_sets("_dmarc.example.com", &sets);
        let plan = plan(&d("example.com"), &at, None, &s, 300);
        assert!(plan.changes.is_empty());
        assert!(matches!(&plan.state, DmarcState::Existing(r) if r.meets_minimum()));
        assert!(plan.state.holds());
        let weak = [txt("_dmarc.example.com", &["\"v=DMARC1\""])];
        let at = AtName::from_sets("_dmarc.example.com", &weak);
        let plan = super::plan(&d("example.com"), &at, None, &s, 300);
        assert!(!plan.state.holds(), "{:?}", plan.state);
    }

    #[test]
    fn our_own_record_is_present_and_a_changed_setting_does_not_claim_the_old_one() {
        let sets = [txt("_dmarc.example.com", &["\"v=DMARC1; p=none\""])];
        let at = AtName::from_sets("_dmarc.example.com", &sets);
        let now_none = plan(&d("example.com"), &at, None, &setup("none", ""), 300);
        assert_eq!(now_none.state, DmarcState::Present);
        let now_reject = plan(&d("example.com"), &at, None, &setup("reject", ""), 300);
        assert!(matches!(now_reject.state, DmarcState::Existing(_)));
        assert!(now_reject.changes.is_empty());
        assert!(plan_removal(&at, &setup("reject", "")).is_empty());
        assert_eq!(
            plan_removal(&at, &setup("none", "")),
            vec![Change::Delete(sets[0].clone())]
        );
    }

    #[test]
    fn a_subdomain_covered_by_its_organisational_domain_gets_nothing() {
        let org = DmarcRecord::find(["v=DMARC1; p=reject; sp=quarantine"]).unwrap();
        let plan = plan(
            &d("mail.example.com"),
            &AtName::default(),
            Some((d("example.com"), org.clone())),
            &setup("none", ""),
            300,
        );
        assert!(plan.changes.is_empty());
        assert_eq!(
            plan.state,
            DmarcState::CoveredBy {
                domain: d("example.com"),
                record: org
            }
        );
    }

    #[test]
    fn other_strings_at_dmarc_stay_and_a_cname_is_a_conflict() {
        let s = setup("none", "");
        let other = txt("_dmarc.example.com", &["\"note\""]);
        let at = AtName::from_sets("_dmarc.example.com", std::slice::from_ref(&other));
        let plan = plan(&d("example.com"), &at, None, &s, 300);
        assert_eq!(
            plan.changes,
            vec![
                Change::Delete(other.clone()),
                Change::Create(txt(
                    "_dmarc.example.com",
                    &["\"note\"", "\"v=DMARC1; p=none\""]
                )),
            ]
        );
        let mut with_ours = other;
        with_ours.values.push("\"v=DMARC1; p=none\"".to_owned());
        let at = AtName::from_sets("_dmarc.example.com", std::slice::from_ref(&with_ours));
        assert_eq!(
            plan_removal(&at, &s),
            vec![
                Change::Delete(with_ours),
                Change::Create(txt("_dmarc.example.com", &["\"note\""])),
            ]
        );
        let cname = RecordSet {
            record_type: RecordType::Cname,
            values: vec!["x.dmarc.example.net".to_owned()],
            ..txt("_dmarc.example.com", &[])
        };
        let at = AtName::from_sets("_dmarc.example.com", &[cname]);
        let plan = super::plan(&d("example.com"), &at, None, &s, 300);
        assert!(matches!(plan.state, DmarcState::Conflict(_)) && plan.changes.is_empty());
        assert!(!plan.state.holds());
    }
}
