//! The custom MAIL FROM domain: `<subdomain>.<domain>` with exactly one MX,
//! `10 feedback-smtp.<region>.amazonses.com`, and the SPF TXT
//! `"v=spf1 include:amazonses.com ~all"`, so that SPF aligns with the From domain.
//! Source: https://docs.aws.amazon.com/ses/latest/dg/mail-from.html
//!
//! What counts as ours, and so may be written or deleted:
//! - **MX**: a set holding exactly SES's one value. Any other MX there is someone
//!   else's mail: nothing is written, and it is a conflict. A missing MX is written
//!   with `CREATE`, never `UPSERT`, so one that appears meanwhile fails the batch.
//! - **SPF**: our one string. Another `v=spf1` string there is someone's policy (a
//!   name has one SPF record, RFC 7208 §4.5): left alone, a conflict. Other TXT
//!   strings (site verifications) stay beside ours: the set is changed with an exact
//!   `DELETE` of what was read and a `CREATE` of it plus ours, in one batch.
//! - **CNAME** at the name: nothing else may live there (RFC 1034 §3.6.2): a conflict.

use super::txt::{has_version, text_of, value_of};
use super::{invalid, AtName, Change, Conflict, InvalidSetting, RecordSet, RecordType};
use crate::core::ids::DomainName;

pub const SUBDOMAIN_VARIABLE: &str = "MAIL_FROM_SUBDOMAIN";
pub const BEHAVIOR_VARIABLE: &str = "MAIL_FROM_BEHAVIOR_ON_MX_FAILURE";

/// The SPF string SES's guide gives for a custom MAIL FROM domain.
pub const SPF_TEXT: &str = "v=spf1 include:amazonses.com ~all";

/// What SES does with mail when it cannot find the MX (`BehaviorOnMXFailure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MxFailureBehavior {
    /// Send from a subdomain of amazonses.com instead (SES's default).
    #[default]
    UseDefaultValue,
    /// Refuse to send.
    RejectMessage,
}

impl MxFailureBehavior {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::UseDefaultValue => "UseDefaultValue",
            Self::RejectMessage => "RejectMessage",
        }
    }
}

/// `MAIL_FROM_SUBDOMAIN` and `MAIL_FROM_BEHAVIOR_ON_MX_FAILURE`, when MAIL FROM is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFromSetup {
    /// One DNS label, lowercase: `bounce` in `bounce.example.com`.
    pub subdomain: String,
    pub on_mx_failure: MxFailureBehavior,
}

impl MailFromSetup {
    /// Read the two settings: an empty subdomain means MAIL FROM is off (`None`).
    pub fn parse(
        subdomain: Option<&str>,
        behavior: Option<&str>,
    ) -> Result<Option<Self>, InvalidSetting> {
        let on_mx_failure = match behavior.map(str::trim).unwrap_or_default() {
            "" | "UseDefaultValue" => MxFailureBehavior::UseDefaultValue,
            "RejectMessage" => MxFailureBehavior::RejectMessage,
            other => {
                return Err(invalid(
                    BEHAVIOR_VARIABLE,
                    format!("is \"{other}\"; expected \"UseDefaultValue\" or \"RejectMessage\""),
                ))
            }
        };
        let label = subdomain.map(str::trim).unwrap_or_default();
        if label.is_empty() {
            return Ok(None);
        }
        let rule = |rule: &str| invalid(SUBDOMAIN_VARIABLE, format!("is \"{label}\"; {rule}"));
        if label.contains('.') {
            return Err(rule("must be one DNS label, such as \"bounce\""));
        }
        if label.len() > 63 {
            return Err(rule("must be at most 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(rule(
                "must be letters, digits and hyphens (it names an MX host)",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(rule("must not begin or end with a hyphen"));
        }
        Ok(Some(Self {
            subdomain: label.to_ascii_lowercase(),
            on_mx_failure,
        }))
    }

    /// The MAIL FROM domain of `domain`.
    pub fn domain_for(&self, domain: &DomainName) -> String {
        format!("{}.{domain}", self.subdomain)
    }
}

/// The one MX value SES needs, for identities in `ses_region`.
pub fn mx_value(ses_region: &str) -> String {
    format!("10 feedback-smtp.{ses_region}.amazonses.com")
}

/// Whether an MX value is SES's: priority 10 and the host, in any case, with or
/// without the trailing dot.
pub fn is_ses_mx(value: &str, ses_region: &str) -> bool {
    let mut parts = value.split_whitespace();
    let (Some(priority), Some(host), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let wanted = mx_value(ses_region);
    let (wanted_priority, wanted_host) = wanted.split_once(' ').expect("priority and host");
    priority == wanted_priority && host.trim_end_matches('.').eq_ignore_ascii_case(wanted_host)
}

/// Where the MX stands, and where the SPF string stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartState {
    /// Ours, as it should be: nothing to write.
    Present,
    /// Missing: the plan writes it.
    Written,
    /// Someone else's: nothing written, reported.
    Conflict(Conflict),
    /// Not written because the name is someone else's mail host (a foreign MX): an
    /// SPF string there would speak for their servers, not SES's.
    HeldBack,
}

impl PartState {
    /// The word events and plans use for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Written => "written",
            Self::Conflict(_) => "conflict",
            Self::HeldBack => "heldBack",
        }
    }

    pub fn holds(&self) -> bool {
        matches!(self, Self::Present | Self::Written)
    }
}

/// The changes that give `<subdomain>.<domain>` SES's MX and our SPF string, and
/// where each part stands. A foreign SPF never holds the MX back; a foreign MX holds
/// everything back, since the name is then someone else's mail host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFromPlan {
    pub name: String,
    pub mx: PartState,
    pub spf: PartState,
    pub changes: Vec<Change>,
}

/// Plan the MAIL FROM records at `name` from what it holds (`at`).
pub fn plan(name: &str, at: &AtName, ses_region: &str, ttl: i64) -> MailFromPlan {
    let wanted_mx = mx_value(ses_region);
    let spf_value = value_of(SPF_TEXT);
    if let Some(cname) = &at.cname {
        // Nothing else may live beside a CNAME: both parts conflict.
        let conflict = |wanted: &str| {
            PartState::Conflict(Conflict {
                name: name.to_owned(),
                record_type: RecordType::Cname,
                found: cname.values.clone(),
                wanted: wanted.to_owned(),
            })
        };
        return MailFromPlan {
            name: name.to_owned(),
            mx: conflict(&format!("MX {wanted_mx}")),
            spf: conflict(&format!("TXT {spf_value}")),
            changes: Vec::new(),
        };
    }
    let mut changes = Vec::new();
    let mx = match &at.mx {
        Some(set) if set.values.len() == 1 && is_ses_mx(&set.values[0], ses_region) => {
            PartState::Present
        }
        Some(set) => PartState::Conflict(Conflict {
            name: name.to_owned(),
            record_type: RecordType::Mx,
            found: set.values.clone(),
            wanted: wanted_mx.clone(),
        }),
        None => {
            changes.push(Change::Create(RecordSet {
                name: name.to_owned(),
                record_type: RecordType::Mx,
                ttl,
                values: vec![wanted_mx.clone()],
            }));
            PartState::Written
        }
    };
    let spf = match &at.txt {
        _ if matches!(mx, PartState::Conflict(_)) => PartState::HeldBack,
        None => {
            changes.push(Change::Create(txt_set(name, ttl, vec![spf_value])));
            PartState::Written
        }
        Some(set) => {
            let texts: Vec<String> = set.values.iter().map(|v| text_of(v)).collect();
            if texts.iter().any(|t| t == SPF_TEXT) {
                PartState::Present
            } else if texts.iter().any(|t| is_spf(t)) {
                PartState::Conflict(Conflict {
                    name: name.to_owned(),
                    record_type: RecordType::Txt,
                    found: set.values.clone(),
                    wanted: spf_value,
                })
            } else {
                // Keep every string there, ours beside them, in one exact swap.
                let mut values = set.values.clone();
                values.push(spf_value);
                changes.push(Change::Delete(set.clone()));
                changes.push(Change::Create(RecordSet {
                    values,
                    ..set.clone()
                }));
                PartState::Written
            }
        }
    };
    MailFromPlan {
        name: name.to_owned(),
        mx,
        spf,
        changes,
    }
}

/// The changes that take our MX and our SPF string away from `name`, and nothing
/// else: a set that is not exactly ours is left, a foreign TXT string stays.
pub fn plan_removal(at: &AtName, ses_region: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    if let Some(set) = &at.mx {
        if set.values.len() == 1 && is_ses_mx(&set.values[0], ses_region) {
            changes.push(Change::Delete(set.clone()));
        }
    }
    if let Some(set) = &at.txt {
        let (ours, theirs): (Vec<String>, Vec<String>) = set
            .values
            .iter()
            .cloned()
            .partition(|v| text_of(v) == SPF_TEXT);
        if !ours.is_empty() {
            changes.push(Change::Delete(set.clone()));
            if !theirs.is_empty() {
                changes.push(Change::Create(RecordSet {
                    values: theirs,
                    ..set.clone()
                }));
            }
        }
    }
    changes
}

fn is_spf(text: &str) -> bool {
    has_version(text, "v=spf1", &[' '])
}

fn txt_set(name: &str, ttl: i64, values: Vec<String>) -> RecordSet {
    RecordSet {
        name: name.to_owned(),
        record_type: RecordType::Txt,
        ttl,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "bounce.example.com";
    const REGION: &str = "eu-west-1";
    const SES_MX: &str = "10 feedback-smtp.eu-west-1.amazonses.com";
    const OUR_SPF: &str = "\"v=spf1 include:amazonses.com ~all\"";

    fn set(record_type: RecordType, values: &[&str]) -> RecordSet {
        RecordSet {
            name: NAME.to_owned(),
            record_type,
            ttl: 600,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn at(sets: &[RecordSet]) -> AtName {
        AtName::from_sets(NAME, sets)
    }

    #[test]
    fn the_settings_are_one_label_and_one_of_two_behaviours() {
        assert_eq!(MailFromSetup::parse(None, None), Ok(None));
        assert_eq!(
            MailFromSetup::parse(Some("  "), Some("RejectMessage")),
            Ok(None)
        );
        let setup = MailFromSetup::parse(Some("Bounce"), Some("RejectMessage"))
            .unwrap()
            .unwrap();
        assert_eq!(setup.subdomain, "bounce");
        assert_eq!(setup.on_mx_failure, MxFailureBehavior::RejectMessage);
        let domain = DomainName::parse("example.com").unwrap();
        assert_eq!(setup.domain_for(&domain), "bounce.example.com");
        let default = MailFromSetup::parse(Some("mail"), None).unwrap().unwrap();
        assert_eq!(default.on_mx_failure.as_str(), "UseDefaultValue");
    }

    #[test]
    fn a_bad_setting_names_its_variable_and_the_rule() {
        for (label, rule) in [
            ("a.b", "one DNS label"),
            ("_dmarc", "letters, digits and hyphens"),
            ("-x", "hyphen"),
            (&"x".repeat(64), "63 characters"),
        ] {
            let err = MailFromSetup::parse(Some(label), None).unwrap_err();
            assert_eq!(err.variable, SUBDOMAIN_VARIABLE);
            assert!(err.to_string().contains(rule), "{err}");
        }
        let err = MailFromSetup::parse(Some("bounce"), Some("Bounce")).unwrap_err();
        assert_eq!(err.variable, BEHAVIOR_VARIABLE);
        assert!(err.to_string().contains("RejectMessage"), "{err}");
    }

    #[test]
    fn ses_mx_is_matched_loosely_in_form_and_exactly_in_meaning() {
        assert!(is_ses_mx(SES_MX, REGION));
        assert!(is_ses_mx(
            "10 FEEDBACK-SMTP.eu-west-1.amazonses.com.",
            REGION
        ));
        assert!(!is_ses_mx(
            "20 feedback-smtp.eu-west-1.amazonses.com",
            REGION
        ));
        assert!(!is_ses_mx(
            "10 feedback-smtp.us-east-1.amazonses.com",
            REGION
        ));
        assert!(!is_ses_mx("10", REGION));
        assert!(!is_ses_mx("10 a b", REGION));
    }

    #[test]
    fn an_empty_name_gets_the_mx_and_the_spf_created() {
        let plan = plan(NAME, &AtName::default(), REGION, 600);
        assert_eq!(
            (plan.mx.clone(), plan.spf.clone()),
            (PartState::Written, PartState::Written)
        );
        assert_eq!(
            plan.changes,
            vec![
                Change::Create(set(RecordType::Mx, &[SES_MX])),
                Change::Create(set(RecordType::Txt, &[OUR_SPF])),
            ]
        );
    }

    #[test]
    fn records_already_ours_need_nothing() {
        let sets = [
            set(
                RecordType::Mx,
                &["10 feedback-smtp.eu-west-1.amazonses.com."],
            ),
            set(
                RecordType::Txt,
                &["\"google-site-verification=x\"", OUR_SPF],
            ),
        ];
        let plan = plan(NAME, &at(&sets), REGION, 600);
        assert_eq!(
            (plan.mx, plan.spf),
            (PartState::Present, PartState::Present)
        );
        assert!(plan.changes.is_empty());
    }

    #[test]
    fn a_foreign_mx_is_a_conflict_and_nothing_is_written_at_the_name() {
        for values in [
            &["10 mx.example.net."][..],
            &[SES_MX, "20 backup.example.net."][..],
        ] {
            let sets = [set(RecordType::Mx, values)];
            let plan = plan(NAME, &at(&sets), REGION, 600);
            let PartState::Conflict(conflict) = &plan.mx else {
                panic!("{plan:?}")
            };
            assert_eq!(conflict.record_type, RecordType::Mx);
            assert_eq!(conflict.found, sets[0].values);
            assert_eq!(conflict.wanted, SES_MX);
            assert_eq!(plan.spf, PartState::HeldBack);
            assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        }
    }

    #[test]
    fn a_foreign_spf_is_left_and_reported_and_the_mx_still_goes_in() {
        let sets = [set(
            RecordType::Txt,
            &["\"v=spf1 include:_spf.google.com -all\""],
        )];
        let plan = plan(NAME, &at(&sets), REGION, 600);
        assert!(matches!(&plan.spf, PartState::Conflict(c) if c.record_type == RecordType::Txt));
        assert_eq!(plan.mx, PartState::Written);
        assert_eq!(
            plan.changes,
            vec![Change::Create(set(RecordType::Mx, &[SES_MX]))]
        );
    }

    #[test]
    fn other_txt_strings_are_kept_beside_ours_in_one_exact_swap() {
        let theirs = set(RecordType::Txt, &["\"site-verification=abc\""]);
        let plan = plan(NAME, &at(std::slice::from_ref(&theirs)), REGION, 600);
        assert_eq!(plan.spf, PartState::Written);
        assert_eq!(
            plan.changes[1..],
            [
                Change::Delete(theirs),
                Change::Create(set(
                    RecordType::Txt,
                    &["\"site-verification=abc\"", OUR_SPF]
                )),
            ]
        );
    }

    #[test]
    fn a_cname_at_the_name_is_a_conflict_for_both_and_nothing_is_written() {
        let mut cname = set(RecordType::Cname, &["elsewhere.example.net"]);
        cname.ttl = 60;
        let plan = plan(NAME, &at(&[cname]), REGION, 600);
        assert!(plan.changes.is_empty());
        for part in [plan.mx, plan.spf] {
            assert!(
                matches!(&part, PartState::Conflict(c) if c.record_type == RecordType::Cname
                    && c.found == ["elsewhere.example.net"]),
                "{part:?}"
            );
        }
    }

    #[test]
    fn removal_takes_only_what_is_exactly_ours() {
        let mx = set(RecordType::Mx, &[SES_MX]);
        let txt = set(RecordType::Txt, &["\"keep=me\"", OUR_SPF]);
        assert_eq!(
            plan_removal(&at(&[mx.clone(), txt.clone()]), REGION),
            vec![
                Change::Delete(mx),
                Change::Delete(txt),
                Change::Create(set(RecordType::Txt, &["\"keep=me\""])),
            ]
        );
        let only_ours = set(RecordType::Txt, &[OUR_SPF]);
        assert_eq!(
            plan_removal(&at(std::slice::from_ref(&only_ours)), REGION),
            vec![Change::Delete(only_ours)]
        );
        let foreign = [
            set(RecordType::Mx, &["10 mx.example.net."]),
            set(RecordType::Txt, &["\"v=spf1 -all\""]),
        ];
        assert!(plan_removal(&at(&foreign), REGION).is_empty());
    }
}
