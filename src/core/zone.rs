//! Which Route 53 hosted zone may hold a domain's DKIM records.

use super::ids::{DomainName, HostedZoneId};
use super::records::normalise_dns_name;

/// What Route 53 tells us about a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedZone {
    pub id: HostedZoneId,
    /// As Route 53 spells it (trailing dot, maybe escapes).
    pub name: String,
    pub private: bool,
}

impl HostedZone {
    pub fn has_name(&self, name: &DomainName) -> bool {
        normalise_dns_name(&self.name) == name.as_str()
    }

    pub fn contains(&self, domain: &DomainName) -> bool {
        DomainName::parse(&self.name).is_ok_and(|zone| domain.is_within(&zone))
    }
}

/// Why no zone can take the records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneProblem {
    #[error("hosted zone {zone_id} does not exist")]
    NotFound { zone_id: HostedZoneId },
    #[error("hosted zone {zone_id} ({zone_name}) is private; DKIM records must be public")]
    Private {
        zone_id: HostedZoneId,
        zone_name: String,
    },
    #[error("hosted zone {zone_id} ({zone_name}) does not contain {domain}")]
    DoesNotContain {
        zone_id: HostedZoneId,
        zone_name: String,
        domain: DomainName,
    },
    #[error("no public hosted zone contains {domain} (looked for {looked_for})")]
    NoneFound {
        domain: DomainName,
        looked_for: String,
    },
    #[error(
        "{count} public hosted zones are named {zone_name} ({ids}); name one with hostedZoneId"
    )]
    Ambiguous {
        zone_name: String,
        count: usize,
        ids: String,
    },
}

/// Check a zone the event named: it must be public and contain the domain.
pub fn check_named_zone(zone: &HostedZone, domain: &DomainName) -> Result<(), ZoneProblem> {
    if zone.private {
        return Err(ZoneProblem::Private {
            zone_id: zone.id.clone(),
            zone_name: zone.name.clone(),
        });
    }
    if !zone.contains(domain) {
        return Err(ZoneProblem::DoesNotContain {
            zone_id: zone.id.clone(),
            zone_name: zone.name.clone(),
            domain: domain.clone(),
        });
    }
    Ok(())
}

/// From the zones Route 53 listed for one candidate name, the one to use: public,
/// exactly that name (real Route 53 also lists the names after it), and only one.
pub fn pick_zone_named(
    candidate: &DomainName,
    listed: &[HostedZone],
) -> Result<Option<HostedZone>, ZoneProblem> {
    let matching: Vec<&HostedZone> = listed
        .iter()
        .filter(|z| !z.private && z.has_name(candidate))
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [only] => Ok(Some((*only).clone())),
        many => Err(ZoneProblem::Ambiguous {
            zone_name: candidate.to_string(),
            count: many.len(),
            ids: many
                .iter()
                .map(|z| z.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(id: &str, name: &str, private: bool) -> HostedZone {
        HostedZone {
            id: HostedZoneId::parse(id).unwrap(),
            name: name.into(),
            private,
        }
    }

    fn domain(d: &str) -> DomainName {
        DomainName::parse(d).unwrap()
    }

    #[test]
    fn named_zone_must_be_public_and_contain_the_domain() {
        let d = domain("mail.example.com");
        assert!(check_named_zone(&zone("Z1", "example.com.", false), &d).is_ok());
        assert!(check_named_zone(&zone("Z1", "mail.example.com.", false), &d).is_ok());
        assert!(matches!(
            check_named_zone(&zone("Z1", "example.com.", true), &d),
            Err(ZoneProblem::Private { .. })
        ));
        assert!(matches!(
            check_named_zone(&zone("Z1", "other.com.", false), &d),
            Err(ZoneProblem::DoesNotContain { .. })
        ));
        assert!(matches!(
            check_named_zone(&zone("Z1", "deeper.mail.example.com.", false), &d),
            Err(ZoneProblem::DoesNotContain { .. })
        ));
    }

    #[test]
    fn picks_the_one_public_zone_with_exactly_that_name() {
        let c = domain("example.com");
        let listed = [
            zone("Z1", "example.com.", true),
            zone("Z2", "Example.com.", false),
            zone("Z3", "example.com.au.", false),
            zone("Z4", "mail.example.com.", false),
        ];
        assert_eq!(
            pick_zone_named(&c, &listed).unwrap().unwrap().id.as_str(),
            "Z2"
        );
        assert_eq!(pick_zone_named(&c, &listed[..1]).unwrap(), None);
        let twins = [
            zone("Z5", "example.com.", false),
            zone("Z6", "example.com.", false),
        ];
        let err = pick_zone_named(&c, &twins).unwrap_err();
        assert!(err.to_string().contains("Z5, Z6"), "{err}");
    }
}
