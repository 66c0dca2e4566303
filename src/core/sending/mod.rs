//! Ready to send, not only DKIM-ready: the records the big mailbox providers ask of a
//! bulk sender beside DKIM, and the rules that keep them ours.
//!
//! - A custom MAIL FROM domain `<subdomain>.<domain>` with one MX to SES's feedback
//!   endpoint and an SPF TXT, so SPF aligns with the From domain (`mail_from.rs`).
//! - A DMARC TXT at `_dmarc.<domain>`, unless the domain already has one or its
//!   organisational domain covers it (`dmarc.rs`).
//!
//! Everything here is pure: it takes what Route 53 (or public DNS) holds as
//! `RecordSet`s and returns the changes to make, and the conflicts to report. The
//! settings that turn each part on are parsed here too (`MailFromSetup`,
//! `DmarcSetup`), so the cold-start check and the plans share one definition.
//!
//! The change model is Route 53's: a record set is a name, a type, a TTL and its
//! values; a `CREATE` fails if the set appeared meanwhile and a `DELETE` must repeat
//! the set exactly as it is. So nothing here ever overwrites (`UPSERT`) a set that
//! holds anything but ours: a concurrent edit makes the batch fail instead of being
//! lost.

pub mod desired;
pub mod dmarc;
pub mod mail_from;
pub mod readiness;
pub mod txt;

use std::fmt;

/// The record types the sending records use (DKIM's CNAMEs included, to name a
/// conflicting CNAME).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    Cname,
    Mx,
    Txt,
}

impl RecordType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Cname => "CNAME",
            Self::Mx => "MX",
            Self::Txt => "TXT",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Route 53 record set: lowercase name without a trailing dot, and its values as
/// Route 53 holds them (`10 host.` for MX, `"quoted" "strings"` for TXT).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordSet {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: RecordType,
    pub ttl: i64,
    pub values: Vec<String>,
}

/// One change of a batch. `Delete` repeats a set exactly as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create(RecordSet),
    Delete(RecordSet),
}

impl Change {
    pub fn set(&self) -> &RecordSet {
        match self {
            Self::Create(set) | Self::Delete(set) => set,
        }
    }
}

/// A name that holds something that is not ours where SES (or DMARC) needs a record:
/// nothing is written there, and it is reported with what was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// The values found there, as Route 53 (or DNS) holds them.
    pub found: Vec<String>,
    /// What SES (or the DMARC setting) needs there.
    pub wanted: String,
}

/// What the records of one name hold: the sets of each type found there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AtName {
    pub cname: Option<RecordSet>,
    pub mx: Option<RecordSet>,
    pub txt: Option<RecordSet>,
}

impl AtName {
    /// The sets read at `name`, whatever their order; other names and types ignored.
    pub fn from_sets(name: &str, sets: &[RecordSet]) -> Self {
        let mut at = Self::default();
        for set in sets.iter().filter(|s| s.name == name) {
            let slot = match set.record_type {
                RecordType::Cname => &mut at.cname,
                RecordType::Mx => &mut at.mx,
                RecordType::Txt => &mut at.txt,
            };
            *slot = Some(set.clone());
        }
        at
    }
}

/// Why a sending setting was refused at cold start: the variable and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} {problem}")]
pub struct InvalidSetting {
    pub variable: &'static str,
    pub problem: String,
}

pub(crate) fn invalid(variable: &'static str, problem: impl Into<String>) -> InvalidSetting {
    InvalidSetting {
        variable,
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, record_type: RecordType, values: &[&str]) -> RecordSet {
        RecordSet {
            name: name.to_owned(),
            record_type,
            ttl: 300,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn the_sets_at_a_name_are_sorted_by_type_and_others_ignored() {
        let sets = [
            set(
                "bounce.example.com",
                RecordType::Mx,
                &["10 mx.example.net."],
            ),
            set("bounce.example.com", RecordType::Txt, &["\"hello\""]),
            set("other.example.com", RecordType::Cname, &["x.example.net"]),
        ];
        let at = AtName::from_sets("bounce.example.com", &sets);
        assert_eq!(at.mx, Some(sets[0].clone()));
        assert_eq!(at.txt, Some(sets[1].clone()));
        assert_eq!(at.cname, None);
    }

    #[test]
    fn record_types_are_named_as_route53_names_them() {
        let types = [RecordType::Cname, RecordType::Mx, RecordType::Txt];
        let names: Vec<String> = types.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["CNAME", "MX", "TXT"]);
        assert_eq!(serde_json::to_value(RecordType::Mx).unwrap(), "MX");
    }
}
