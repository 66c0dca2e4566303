//! The DKIM records SES asks for: three `<token>._domainkey.<domain>` CNAMEs
//! pointing at `<token>.<signing zone>`, the zone SES publishes the identity's keys
//! under (SES v2 `SigningHostedZone`; the Region table below when SES names none).

use std::fmt;

use super::ids::{DomainName, DKIM_TOKEN_MAX_LEN};

/// Regions where SES publishes Easy DKIM keys under `dkim.<region>.amazonses.com`
/// instead of `dkim.amazonses.com`.
/// Source: Amazon SES endpoints and quotas, "Easy DKIM domains" column
/// (https://docs.aws.amazon.com/general/latest/gr/ses.html). Overridable with
/// `DKIM_RECORD_DOMAIN` should AWS add a region before this table learns of it.
const REGIONS_WITH_REGIONAL_DKIM_DOMAIN: &[&str] = &[
    "af-south-1",
    "ap-northeast-3",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-5",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "il-central-1",
    "me-central-1",
    "us-gov-east-1",
];

/// The zone DKIM CNAMEs point into for identities in `ses_region`, by the table: the
/// fallback for an identity whose signing zone SES did not name.
pub fn dkim_record_domain_for(ses_region: &str) -> SigningZone {
    SigningZone(if REGIONS_WITH_REGIONAL_DKIM_DOMAIN.contains(&ses_region) {
        format!("dkim.{ses_region}.amazonses.com")
    } else {
        "dkim.amazonses.com".to_owned()
    })
}

/// The DNS zone SES publishes an identity's DKIM public keys under (SES v2
/// `DkimAttributes.SigningHostedZone`): each record's value is `<token>.<zone>`.
/// SES documents that it "may vary by Region and cell", so any well-formed DNS name is
/// accepted, whether SES names it or `DKIM_RECORD_DOMAIN` does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct SigningZone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing zone \"{zone}\" {rule}")]
pub struct InvalidSigningZone {
    pub zone: String,
    pub rule: &'static str,
}

/// `<token>.` must fit in front of the zone within DNS's 253 octets.
const MAX_SIGNING_ZONE_OCTETS: usize = 253 - DKIM_TOKEN_MAX_LEN - 1;

impl SigningZone {
    /// A DNS name of at least two labels of letters, digits and hyphens (no label
    /// starting or ending with a hyphen); case and a final dot are folded away.
    pub fn parse(zone: &str) -> Result<Self, InvalidSigningZone> {
        let lower = zone.trim_end_matches('.').to_ascii_lowercase();
        let invalid = |rule| InvalidSigningZone {
            zone: zone.chars().take(64).collect(),
            rule,
        };
        if lower.is_empty() || lower.len() > MAX_SIGNING_ZONE_OCTETS {
            return Err(invalid("must be 1 to 220 characters long"));
        }
        let labels: Vec<&str> = lower.split('.').collect();
        if labels.len() < 2 {
            return Err(invalid("must have at least two labels"));
        }
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !labels.iter().all(label_ok) {
            return Err(invalid(
                "must be labels of letters, digits and inner hyphens, each 1 to 63 long",
            ));
        }
        Ok(Self(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SigningZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The one zone all three of `tokens`' records in `existing` point into, if they are
/// all there and agree: for an identity SES has verified, that zone is the one SES
/// signs under, with no need to ask.
pub fn zone_in_use(
    domain: &DomainName,
    tokens: &DkimTokens,
    existing: &[CnameRecord],
) -> Option<SigningZone> {
    let mut zones = tokens.iter().map(|token| {
        let name = dkim_record_name(domain, token);
        let record = existing.iter().find(|r| r.name == name)?;
        let zone = record
            .value
            .strip_prefix(token.as_str())?
            .strip_prefix('.')?;
        SigningZone::parse(zone).ok()
    });
    let first = zones.next()??;
    zones.all(|z| z.as_ref() == Some(&first)).then_some(first)
}

/// One Easy DKIM token as SES hands it out: lowercase letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct DkimToken(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DKIM token \"{token}\" {rule}")]
pub struct InvalidToken {
    pub token: String,
    pub rule: &'static str,
}

impl DkimToken {
    pub fn parse(token: &str) -> Result<Self, InvalidToken> {
        let invalid = |rule| InvalidToken {
            token: token.chars().take(64).collect(),
            rule,
        };
        if token.is_empty() || token.len() > DKIM_TOKEN_MAX_LEN {
            return Err(invalid("must be 1 to 32 characters long"));
        }
        if !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid("must be letters and digits only"));
        }
        Ok(Self(token.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DkimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Exactly the three distinct tokens Easy DKIM uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimTokens([DkimToken; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTokens {
    #[error("expected 3 DKIM tokens, got {0}")]
    WrongCount(usize),
    #[error("DKIM tokens must be distinct")]
    Duplicate,
    #[error(transparent)]
    Token(#[from] InvalidToken),
}

impl DkimTokens {
    pub fn parse<S: AsRef<str>>(tokens: &[S]) -> Result<Self, InvalidTokens> {
        let parsed = tokens
            .iter()
            .map(|t| DkimToken::parse(t.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut sorted = parsed.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != parsed.len() {
            return Err(InvalidTokens::Duplicate);
        }
        let array: [DkimToken; 3] = parsed
            .try_into()
            .map_err(|v: Vec<DkimToken>| InvalidTokens::WrongCount(v.len()))?;
        Ok(Self(array))
    }

    pub fn iter(&self) -> impl Iterator<Item = &DkimToken> {
        self.0.iter()
    }

    pub fn contains(&self, token: &DkimToken) -> bool {
        self.0.contains(token)
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|t| t.0.clone()).collect()
    }
}

/// A CNAME record: lowercase names, no trailing dots.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CnameRecord {
    pub name: String,
    pub value: String,
    pub ttl: i64,
}

/// The three records SES looks for, in token order.
pub fn dkim_records(
    domain: &DomainName,
    tokens: &DkimTokens,
    zone: &SigningZone,
    ttl: i64,
) -> Vec<CnameRecord> {
    tokens
        .iter()
        .map(|token| dkim_record(domain, token, zone, ttl))
        .collect()
}

pub fn dkim_record(
    domain: &DomainName,
    token: &DkimToken,
    zone: &SigningZone,
    ttl: i64,
) -> CnameRecord {
    CnameRecord {
        name: dkim_record_name(domain, token),
        value: format!("{token}.{zone}"),
        ttl,
    }
}

pub fn dkim_record_name(domain: &DomainName, token: &DkimToken) -> String {
    format!("{token}._domainkey.{domain}")
}

/// Route 53 answers with a trailing dot and may escape characters as `\DDD`;
/// DKIM names and targets only use `[a-z0-9._-]`, so folding case and the dot is enough.
pub fn normalise_dns_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// What to change so the zone holds exactly the records SES wants now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordRepair {
    /// Missing, or pointing elsewhere: written again.
    pub upserts: Vec<CnameRecord>,
    /// Records this function published for tokens SES no longer uses.
    pub deletes: Vec<CnameRecord>,
    /// Records at an old token's name whose value someone else changed: left alone.
    pub left_alone: Vec<CnameRecord>,
}

impl RecordRepair {
    /// Write these records (a first publication).
    pub fn publish(records: Vec<CnameRecord>) -> Self {
        Self {
            upserts: records,
            ..Self::default()
        }
    }

    /// Delete these records, exactly as read.
    pub fn remove(records: Vec<CnameRecord>) -> Self {
        Self {
            deletes: records,
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.deletes.is_empty()
    }
}

/// Compare what SES wants (`wanted`) with what the zone holds (`existing`, the CNAMEs
/// under `_domainkey.<domain>`). Only records this function wrote for `published`
/// tokens, with exactly a value it wrote, are ever deleted. `published` may name a
/// record more than once (the values it may have written under each signing zone).
pub fn plan_repair(
    wanted: &[CnameRecord],
    published: &[CnameRecord],
    existing: &[CnameRecord],
) -> RecordRepair {
    let find = |name: &str| existing.iter().find(|r| r.name == name);
    let mut repair = RecordRepair::default();
    for record in wanted {
        if find(&record.name).is_none_or(|r| r.value != record.value) {
            repair.upserts.push(record.clone());
        }
    }
    let mut stale: Vec<&str> = Vec::new();
    for name in published.iter().map(|p| p.name.as_str()) {
        if !wanted.iter().any(|w| w.name == name) && !stale.contains(&name) {
            stale.push(name);
        }
    }
    for name in stale {
        let ours = |value: &str| published.iter().any(|p| p.name == name && p.value == value);
        match find(name) {
            // DELETE must repeat the record exactly, TTL included.
            Some(current) if ours(&current.value) => repair.deletes.push(current.clone()),
            Some(current) => repair.left_alone.push(current.clone()),
            None => {}
        }
    }
    repair
}

/// What to do with the CNAMEs under `_domainkey.<domain>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordRemoval {
    /// Holding exactly `<token>.<signing zone>` at `<token>._domainkey.<domain>`, as
    /// found: a Route 53 DELETE must repeat the record, TTL included.
    pub deletes: Vec<CnameRecord>,
    /// Everything else there: another provider's selector, a record someone edited.
    pub left_alone: Vec<CnameRecord>,
}

/// Plan the removal of the records SES wants for `tokens` from `existing` (the
/// CNAMEs under `_domainkey.<domain>`), pointing under any of `zones` (the identity's
/// signing zone, and the table's for records written before SES named one). A record
/// whose value differs in any other way is not ours to delete.
pub fn plan_removal(
    domain: &DomainName,
    tokens: &[&DkimToken],
    zones: &[&SigningZone],
    existing: &[CnameRecord],
) -> RecordRemoval {
    let ours: Vec<CnameRecord> = zones
        .iter()
        .flat_map(|zone| {
            tokens
                .iter()
                .map(|token| dkim_record(domain, token, zone, 0))
        })
        .collect();
    let (deletes, left_alone) = existing.iter().cloned().partition(|record| {
        ours.iter()
            .any(|o| o.name == record.name && o.value == record.value)
    });
    RecordRemoval {
        deletes,
        left_alone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> DkimTokens {
        DkimTokens::parse(&[
            "aaaabbbbccccddddeeeeffffgggghhhh",
            "iiiijjjjkkkkllllmmmmnnnnoooopppp",
            "qqqqrrrrssssttttuuuuvvvvwwwwxxxx",
        ])
        .unwrap()
    }

    #[test]
    fn builds_three_cnames_under_domainkey() {
        let domain = DomainName::parse("Example.com").unwrap();
        let records = dkim_records(&domain, &tokens(), &zone("dkim.amazonses.com"), 1800);
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[0],
            CnameRecord {
                name: "aaaabbbbccccddddeeeeffffgggghhhh._domainkey.example.com".into(),
                value: "aaaabbbbccccddddeeeeffffgggghhhh.dkim.amazonses.com".into(),
                ttl: 1800,
            }
        );
        assert!(records[2].name.starts_with("qqqq"));
    }

    fn zone(z: &str) -> SigningZone {
        SigningZone::parse(z).unwrap()
    }

    #[test]
    fn regional_dkim_domains_come_from_one_table() {
        let table = |r| dkim_record_domain_for(r).as_str().to_owned();
        assert_eq!(table("us-east-1"), "dkim.amazonses.com");
        assert_eq!(table("eu-west-1"), "dkim.amazonses.com");
        assert_eq!(table("af-south-1"), "dkim.af-south-1.amazonses.com");
        assert_eq!(table("il-central-1"), "dkim.il-central-1.amazonses.com");
        assert_eq!(table("us-gov-east-1"), "dkim.us-gov-east-1.amazonses.com");
        assert_eq!(REGIONS_WITH_REGIONAL_DKIM_DOMAIN.len(), 11);
    }

    #[test]
    fn tokens_must_be_three_distinct_alphanumerics() {
        assert_eq!(
            DkimTokens::parse(&["a", "b"]).unwrap_err(),
            InvalidTokens::WrongCount(2)
        );
        assert_eq!(
            DkimTokens::parse(&["a", "b", "c", "d"]).unwrap_err(),
            InvalidTokens::WrongCount(4)
        );
        assert_eq!(
            DkimTokens::parse(&["a", "a", "c"]).unwrap_err(),
            InvalidTokens::Duplicate
        );
        assert!(matches!(
            DkimTokens::parse(&["a", "b.evil.com", "c"]).unwrap_err(),
            InvalidTokens::Token(_)
        ));
        assert!(DkimTokens::parse(&["a", "", "c"]).is_err());
        assert!(DkimTokens::parse(&["a", &"b".repeat(33), "c"]).is_err());
        assert_eq!(DkimToken::parse("ABC1").unwrap().as_str(), "abc1");
    }

    #[test]
    fn normalises_route53_names() {
        assert_eq!(
            normalise_dns_name("Abc._domainkey.Example.com."),
            "abc._domainkey.example.com"
        );
    }

    fn record(name: &str, value: &str) -> CnameRecord {
        CnameRecord {
            name: name.into(),
            value: value.into(),
            ttl: 1800,
        }
    }

    #[test]
    fn repair_restores_missing_and_changed_records_only() {
        let wanted = [
            record("a._domainkey.x.com", "a.dkim"),
            record("b._domainkey.x.com", "b.dkim"),
            record("c._domainkey.x.com", "c.dkim"),
        ];
        let existing = [
            record("a._domainkey.x.com", "a.dkim"),
            record("b._domainkey.x.com", "evil.example"),
        ];
        let repair = plan_repair(&wanted, &wanted, &existing);
        assert_eq!(repair.upserts, [wanted[1].clone(), wanted[2].clone()]);
        assert!(repair.deletes.is_empty());
        assert!(plan_repair(&wanted, &wanted, &wanted).is_empty());
    }

    #[test]
    fn repair_deletes_only_stale_records_it_wrote() {
        let wanted = [
            record("n1._domainkey.x.com", "n1.dkim"),
            record("n2._domainkey.x.com", "n2.dkim"),
            record("n3._domainkey.x.com", "n3.dkim"),
        ];
        let published = [
            record("o1._domainkey.x.com", "o1.dkim"),
            record("o2._domainkey.x.com", "o2.dkim"),
            record("o3._domainkey.x.com", "o3.dkim"),
        ];
        let mut changed_by_someone = record("o2._domainkey.x.com", "somewhere.else");
        changed_by_someone.ttl = 60;
        let mut o1_other_ttl = published[0].clone();
        o1_other_ttl.ttl = 300;
        let existing = [
            o1_other_ttl.clone(),
            changed_by_someone.clone(),
            record("google._domainkey.x.com", "google.dkim"),
        ];
        let repair = plan_repair(&wanted, &published, &existing);
        assert_eq!(repair.upserts.len(), 3);
        assert_eq!(
            repair.deletes,
            [o1_other_ttl],
            "deleted with the TTL it has now"
        );
        assert_eq!(repair.left_alone, [changed_by_someone]);
        assert!(!repair.deletes.iter().any(|r| r.name.starts_with("google")));
    }
    fn record_ttl(name: &str, value: &str, ttl: i64) -> CnameRecord {
        CnameRecord {
            name: name.into(),
            value: value.into(),
            ttl,
        }
    }

    #[test]
    fn only_records_holding_exactly_ses_values_go_with_the_ttl_they_have() {
        let domain = DomainName::parse("example.com").unwrap();
        let tokens = DkimTokens::parse(&["aaa1", "bbb2", "ccc3"]).unwrap();
        let existing = [
            record_ttl(
                "aaa1._domainkey.example.com",
                "aaa1.dkim.amazonses.com",
                300,
            ),
            record_ttl("bbb2._domainkey.example.com", "elsewhere.example.net", 1800),
            record_ttl("google._domainkey.example.com", "google.example.net", 1800),
            record_ttl(
                "old9._domainkey.example.com",
                "old9.dkim.amazonses.com",
                1800,
            ),
            record_ttl(
                "ccc3._domainkey.example.com",
                "ccc3.dkim.eu-south-1.amazonses.com",
                1800,
            ),
        ];
        let table = zone("dkim.amazonses.com");
        let plan = plan_removal(
            &domain,
            &tokens.iter().collect::<Vec<_>>(),
            &[&table],
            &existing,
        );
        assert_eq!(plan.deletes, [existing[0].clone()], "as found, TTL 300");
        assert_eq!(plan.left_alone, existing[1..]);
        let none = plan_removal(&domain, &[], &[&table], &existing);
        assert!(none.deletes.is_empty() && none.left_alone.len() == existing.len());
        // Under the identity's own signing zone too, when SES names another.
        let regional = zone("dkim.eu-south-1.amazonses.com");
        let both = plan_removal(
            &domain,
            &tokens.iter().collect::<Vec<_>>(),
            &[&regional, &table],
            &existing,
        );
        assert_eq!(both.deletes, [existing[0].clone(), existing[4].clone()]);
    }

    #[test]
    fn a_signing_zone_is_any_well_formed_dns_name() {
        assert_eq!(zone("DKIM.AmazonSES.com.").as_str(), "dkim.amazonses.com");
        assert_eq!(
            zone("dkim-c2.us-east-1.amazonses.com").as_str(),
            "dkim-c2.us-east-1.amazonses.com"
        );
        for (bad, rule) in [
            ("", "long"),
            ("amazonses", "two labels"),
            ("dkim..amazonses.com", "labels"),
            ("-dkim.amazonses.com", "labels"),
            ("dkim amazonses.com", "labels"),
            ("dkim_x.amazonses.com", "labels"),
        ] {
            let err = SigningZone::parse(bad).unwrap_err();
            assert!(err.to_string().contains(rule), "{bad}: {err}");
        }
        let long = format!("{}.com", "a.".repeat(109));
        assert!(SigningZone::parse(&long).is_err(), "{}", long.len());
    }

    #[test]
    fn the_zone_in_use_is_the_one_all_three_records_agree_on() {
        let domain = DomainName::parse("example.com").unwrap();
        let tokens = DkimTokens::parse(&["aaa1", "bbb2", "ccc3"]).unwrap();
        let cell = zone("dkim-c2.us-east-1.amazonses.com");
        let records = dkim_records(&domain, &tokens, &cell, 1800);
        assert_eq!(zone_in_use(&domain, &tokens, &records), Some(cell.clone()));
        assert_eq!(zone_in_use(&domain, &tokens, &records[..2]), None);
        let mut mixed = records.clone();
        mixed[1] = dkim_record(
            &domain,
            tokens.iter().nth(1).unwrap(),
            &zone("dkim.amazonses.com"),
            1800,
        );
        assert_eq!(zone_in_use(&domain, &tokens, &mixed), None);
        let mut wrong = records.clone();
        wrong[2].value = "elsewhere.example.net".into();
        assert_eq!(zone_in_use(&domain, &tokens, &wrong), None);
    }

    #[test]
    fn repair_deletes_a_stale_record_under_either_zone_it_may_have_written() {
        let domain = DomainName::parse("example.com").unwrap();
        let old = DkimTokens::parse(&["old1", "old2", "old3"]).unwrap();
        let new = DkimTokens::parse(&["new1", "new2", "new3"]).unwrap();
        let (table, cell) = (zone("dkim.amazonses.com"), zone("dkim-c2.amazonses.com"));
        let mut existing = dkim_records(&domain, &old, &table, 1800);
        existing[2].value = "someone.else.example".into();
        let mut published = dkim_records(&domain, &old, &cell, 1800);
        published.extend(dkim_records(&domain, &old, &table, 1800));
        let wanted = dkim_records(&domain, &new, &cell, 1800);
        let repair = plan_repair(&wanted, &published, &existing);
        assert_eq!(repair.deletes, existing[..2]);
        assert_eq!(repair.left_alone, existing[2..]);
        assert_eq!(repair.upserts, wanted);
    }
}
