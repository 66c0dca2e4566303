//! `dkim-autopilot/tombstone` v1: the domain an offboarding removed, and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{body, write, ScheduleName, Schema};
use crate::core::ids::DomainName;
use crate::core::rejection::Rejection;
use crate::core::tombstone::Tombstone;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TombstoneBody {
    domain: String,
    offboarded_at: DateTime<Utc>,
}

impl Tombstone {
    /// The one schedule that carries it: named after the domain, so an onboarding and
    /// every look of a chain find it without listing.
    pub fn schedule_name(&self) -> ScheduleName {
        ScheduleName::for_tombstone(&self.domain)
    }

    /// The tombstone schedule's `Input`.
    pub fn to_input(&self) -> String {
        write(
            Schema::Tombstone,
            &TombstoneBody {
                domain: self.domain.to_string(),
                offboarded_at: self.offboarded_at,
            },
        )
    }
}

pub(super) fn read(map: Map<String, Value>) -> Result<Tombstone, Rejection> {
    let tombstone: TombstoneBody = body(Schema::Tombstone, map)?;
    Ok(Tombstone {
        domain: DomainName::parse(&tombstone.domain)?,
        offboarded_at: tombstone.offboarded_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_schedule_is_named_after_the_domain() {
        let tombstone = Tombstone {
            domain: DomainName::parse("Example.com").unwrap(),
            offboarded_at: "2026-11-28T10:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            tombstone.schedule_name().as_str(),
            "dkim-example.com-offboarded"
        );
    }
}
