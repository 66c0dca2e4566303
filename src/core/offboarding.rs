//! Offboarding's rules: which DKIM records go (exactly SES's, never a foreign one),
//! and how the removal is reported.

use serde_json::json;

use super::domain::DomainName;
use super::outcome::{OutcomeDetail, OutcomeEvent, OutcomeKind};
use super::records::{dkim_record, CnameRecord, DkimToken};

/// What to do with the CNAMEs under `_domainkey.<domain>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordRemoval {
    /// Holding exactly `<token>.<dkim domain>` at `<token>._domainkey.<domain>`, as
    /// found: a Route 53 DELETE must repeat the record, TTL included.
    pub deletes: Vec<CnameRecord>,
    /// Everything else there: another provider's selector, a record someone edited.
    pub left_alone: Vec<CnameRecord>,
}

/// Plan the removal of the records SES wants for `tokens` from `existing` (the
/// CNAMEs under `_domainkey.<domain>`). A record whose value differs in any way is
/// not ours to delete.
pub fn plan_removal(
    domain: &DomainName,
    tokens: &[&DkimToken],
    dkim_record_domain: &str,
    existing: &[CnameRecord],
) -> RecordRemoval {
    let ours: Vec<CnameRecord> = tokens
        .iter()
        .map(|token| dkim_record(domain, token, dkim_record_domain, 0))
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

/// What one offboarding removed, and what it left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removal {
    pub schedules: Vec<String>,
    pub records: Vec<String>,
    pub identity: bool,
    pub left_alone: Vec<String>,
}

impl Removal {
    pub fn is_empty(&self) -> bool {
        self.schedules.is_empty() && self.records.is_empty() && !self.identity
    }
}

/// `DKIM Removed`. Its `outcomeId` is made of the domain and what was removed: the
/// same removal reported twice has one id, and a repeat that removes nothing has one
/// id per domain however often it comes.
pub fn removed_event(
    domain: &DomainName,
    tenant_id: Option<&str>,
    hosted_zone_id: Option<&str>,
    removal: &Removal,
) -> OutcomeEvent {
    let mut schedules = removal.schedules.clone();
    schedules.sort();
    let mut records = removal.records.clone();
    records.sort();
    let removed = json!({
        "schedules": schedules,
        "records": records,
        "identity": removal.identity,
    });
    let removed_text = removed.to_string();
    OutcomeEvent::new(
        OutcomeKind::Removed,
        &[domain.as_str(), &removed_text],
        OutcomeDetail {
            domain: Some(domain.to_string()),
            tenant_id: tenant_id.map(str::to_owned),
            hosted_zone_id: hosted_zone_id.map(str::to_owned),
            removed: Some(removed),
            left_alone: removal.left_alone.clone(),
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::records::DkimTokens;

    fn record(name: &str, value: &str, ttl: i64) -> CnameRecord {
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
            record(
                "aaa1._domainkey.example.com",
                "aaa1.dkim.amazonses.com",
                300,
            ),
            record("bbb2._domainkey.example.com", "elsewhere.example.net", 1800),
            record("google._domainkey.example.com", "google.example.net", 1800),
            record(
                "old9._domainkey.example.com",
                "old9.dkim.amazonses.com",
                1800,
            ),
            record(
                "ccc3._domainkey.example.com",
                "ccc3.dkim.eu-south-1.amazonses.com",
                1800,
            ),
        ];
        let plan = plan_removal(
            &domain,
            &tokens.iter().collect::<Vec<_>>(),
            "dkim.amazonses.com",
            &existing,
        );
        assert_eq!(plan.deletes, [existing[0].clone()], "as found, TTL 300");
        assert_eq!(plan.left_alone, existing[1..]);
        let none = plan_removal(&domain, &[], "dkim.amazonses.com", &existing);
        assert!(none.deletes.is_empty() && none.left_alone.len() == existing.len());
    }

    #[test]
    fn the_outcome_says_what_went_and_its_id_follows_the_removal() {
        let domain = DomainName::parse("example.com").unwrap();
        let removal = Removal {
            schedules: vec!["dkim-example.com-2".into(), "dkim-example.com-2-d1".into()],
            records: vec!["a._domainkey.example.com".into()],
            identity: true,
            left_alone: vec!["google._domainkey.example.com".into()],
        };
        let event = removed_event(&domain, Some("t-1"), Some("Z1"), &removal);
        let detail: serde_json::Value = serde_json::from_str(&event.detail_json()).unwrap();
        assert_eq!(
            detail["removed"],
            json!({"schedules": ["dkim-example.com-2", "dkim-example.com-2-d1"],
                "records": ["a._domainkey.example.com"], "identity": true})
        );
        assert_eq!(
            detail["leftAlone"],
            json!(["google._domainkey.example.com"])
        );
        assert_eq!(detail["tenantId"], "t-1");
        assert_eq!(detail["hostedZoneId"], "Z1");
        let mut reordered = removal.clone();
        reordered.schedules.reverse();
        assert_eq!(
            removed_event(&domain, None, None, &reordered)
                .detail
                .outcome_id,
            event.detail.outcome_id
        );
        let nothing = removed_event(&domain, None, None, &Removal::default());
        assert!(Removal::default().is_empty());
        assert_ne!(nothing.detail.outcome_id, event.detail.outcome_id);
        let json: serde_json::Value = serde_json::from_str(&nothing.detail_json()).unwrap();
        assert_eq!(
            json["removed"],
            json!({"schedules": [], "records": [], "identity": false})
        );
        assert!(json.get("leftAlone").is_none());
    }
}
