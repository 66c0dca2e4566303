//! Which domains and zones this deployment may touch: the one scope gate every
//! trigger passes (events, checks, deferred work, reconcile pages, offboarding).
//!
//! Three rules, each a reason code of `Domain Skipped`:
//! - `OutOfScope`: the domain is under a `DOMAIN_EXCLUDE` suffix, or under none of a
//!   non-empty `DOMAIN_INCLUDE` (exclude wins);
//! - `ZoneNotAllowed`: its zone is not one of a non-empty `HOSTED_ZONE_IDS`. The
//!   template narrows the IAM policy to those zones, so in AWS even a read of another
//!   zone is AccessDenied: the gate runs before any call that names the zone;
//! - `ZoneOptedOut`: its zone is tagged `dkim-autopilot` = `off` (read from Route 53,
//!   only once the zone is known to be allowed).

use std::fmt;

use super::ids::{DomainName, HostedZoneId};

/// A hosted zone with this tag (value `off`, any case) is never written.
pub const OPT_OUT_TAG_KEY: &str = "dkim-autopilot";
pub const OPT_OUT_TAG_VALUE: &str = "off";

/// `DOMAIN_INCLUDE` / `DOMAIN_EXCLUDE` (a suffix covers itself and every name below
/// it) and `HOSTED_ZONE_IDS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Empty means every domain.
    include: Vec<DomainName>,
    exclude: Vec<DomainName>,
    /// Empty means every zone of the account.
    zones: Vec<HostedZoneId>,
}

/// Why a domain is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    OutOfScope { rule: String },
    ZoneNotAllowed { zone_id: HostedZoneId },
    ZoneOptedOut { zone_id: HostedZoneId },
}

impl Skip {
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutOfScope { .. } => "OutOfScope",
            Self::ZoneNotAllowed { .. } => "ZoneNotAllowed",
            Self::ZoneOptedOut { .. } => "ZoneOptedOut",
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfScope { rule } => write!(f, "out of scope: {rule}"),
            Self::ZoneNotAllowed { zone_id } => write!(
                f,
                "hosted zone {zone_id} is not one of HOSTED_ZONE_IDS, the only zones this deployment may touch"
            ),
            Self::ZoneOptedOut { zone_id } => write!(
                f,
                "hosted zone {zone_id} is tagged {OPT_OUT_TAG_KEY}={OPT_OUT_TAG_VALUE}"
            ),
        }
    }
}

/// A scope setting that cannot be read, with the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidScope {
    pub variable: &'static str,
    pub problem: String,
}

impl Scope {
    /// Comma-separated lists: domain suffixes (each a valid DNS name) and hosted zone
    /// ids. The error names the variable and the item.
    pub fn parse(
        include: Option<&str>,
        exclude: Option<&str>,
        zones: Option<&str>,
    ) -> Result<Self, InvalidScope> {
        let zones = items(zones)
            .map(|id| {
                HostedZoneId::parse(id).map_err(|e| InvalidScope {
                    variable: "HOSTED_ZONE_IDS",
                    problem: format!("item {e}"),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            include: suffixes("DOMAIN_INCLUDE", include)?,
            exclude: suffixes("DOMAIN_EXCLUDE", exclude)?,
            zones,
        })
    }

    /// The domain rule: exclude wins; an empty include list lets everything else in.
    pub fn check(&self, domain: &DomainName) -> Result<(), Skip> {
        if let Some(rule) = self.exclude.iter().find(|s| domain.is_within(s)) {
            return Err(Skip::OutOfScope {
                rule: format!("{domain} is under {rule} in DOMAIN_EXCLUDE"),
            });
        }
        if !self.include.is_empty() && !self.include.iter().any(|s| domain.is_within(s)) {
            return Err(Skip::OutOfScope {
                rule: format!("{domain} is under none of DOMAIN_INCLUDE"),
            });
        }
        Ok(())
    }

    /// The zone rule: with `HOSTED_ZONE_IDS` set, only those zones.
    pub fn check_zone(&self, zone: &HostedZoneId) -> Result<(), Skip> {
        match self.allows_zone(zone) {
            true => Ok(()),
            false => Err(Skip::ZoneNotAllowed {
                zone_id: zone.clone(),
            }),
        }
    }

    /// Both rules, for work that names its domain and maybe its zone.
    pub fn admit(&self, domain: &DomainName, zone: Option<&HostedZoneId>) -> Result<(), Skip> {
        self.check(domain)?;
        zone.map_or(Ok(()), |z| self.check_zone(z))
    }

    pub fn allows_zone(&self, zone: &HostedZoneId) -> bool {
        self.zones.is_empty() || self.zones.contains(zone)
    }

    /// `HOSTED_ZONE_IDS`; empty means every zone.
    pub fn zones(&self) -> &[HostedZoneId] {
        &self.zones
    }
}

fn items(list: Option<&str>) -> impl Iterator<Item = &str> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

fn suffixes(variable: &'static str, list: Option<&str>) -> Result<Vec<DomainName>, InvalidScope> {
    items(list)
        .map(|item| {
            DomainName::parse_suffix(item).map_err(|e| InvalidScope {
                variable,
                problem: format!("item \"{item}\" is not a domain suffix: {e}"),
            })
        })
        .collect()
}

/// Whether a zone's tags opt it out.
pub fn opted_out<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    tags.into_iter()
        .any(|(k, v)| k == OPT_OUT_TAG_KEY && v.trim().eq_ignore_ascii_case(OPT_OUT_TAG_VALUE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str) -> DomainName {
        DomainName::parse(name).unwrap()
    }

    fn z(id: &str) -> HostedZoneId {
        HostedZoneId::parse(id).unwrap()
    }

    #[test]
    fn exclude_wins_and_an_empty_include_lets_everything_in() {
        let all = Scope::parse(None, Some("internal.example.com, co.uk"), None).unwrap();
        assert!(all.check(&d("example.com")).is_ok());
        assert!(all.check(&d("mail.example.com")).is_ok());
        let skip = all.check(&d("a.internal.example.com")).unwrap_err();
        assert_eq!(skip.code(), "OutOfScope");
        assert!(skip.to_string().contains("DOMAIN_EXCLUDE"), "{skip}");
        assert!(
            all.check(&d("shop.co.uk")).is_err(),
            "a public suffix works as a rule"
        );
        assert!(
            all.check(&d("notinternal.example.com")).is_ok(),
            "labels, not characters"
        );

        let some = Scope::parse(
            Some("example.com,Bücher.de."),
            Some("old.example.com"),
            None,
        )
        .unwrap();
        assert!(some.check(&d("example.com")).is_ok());
        assert!(some.check(&d("xn--bcher-kva.de")).is_ok());
        assert!(some.check(&d("old.example.com")).is_err());
        assert!(some
            .check(&d("example.org"))
            .unwrap_err()
            .to_string()
            .contains("DOMAIN_INCLUDE"));
    }

    #[test]
    fn hosted_zone_ids_narrow_the_zones_and_empty_means_all() {
        let every = Scope::default();
        assert!(every.check_zone(&z("Z1")).is_ok());
        let narrowed = Scope::parse(None, None, Some(" Z1 ,/hostedzone/z2,")).unwrap();
        assert_eq!(narrowed.zones(), [z("Z1"), z("Z2")]);
        assert!(narrowed.check_zone(&z("Z2")).is_ok());
        let skip = narrowed.check_zone(&z("Z3")).unwrap_err();
        assert_eq!(skip.code(), "ZoneNotAllowed");
        assert!(skip.to_string().contains("Z3"), "{skip}");
        assert!(narrowed.admit(&d("example.com"), None).is_ok());
        assert_eq!(narrowed.admit(&d("example.com"), Some(&z("Z3"))), Err(skip));
        let both = Scope::parse(None, Some("example.com"), Some("Z1")).unwrap();
        assert_eq!(
            both.admit(&d("example.com"), Some(&z("Z3")))
                .unwrap_err()
                .code(),
            "OutOfScope",
            "the domain rule speaks first"
        );
    }

    #[test]
    fn a_bad_item_is_named_with_its_variable() {
        for (include, exclude, zones, variable, expected) in [
            (
                Some("example.com,*.bad.com"),
                None,
                None,
                "DOMAIN_INCLUDE",
                "item \"*.bad.com\"",
            ),
            (
                None,
                Some("exa mple.com"),
                None,
                "DOMAIN_EXCLUDE",
                "item \"exa mple.com\"",
            ),
            (None, Some("a..b"), None, "DOMAIN_EXCLUDE", "item \"a..b\""),
            (None, None, Some("Z1,Z 2"), "HOSTED_ZONE_IDS", "\"Z 2\""),
        ] {
            let err = Scope::parse(include, exclude, zones).unwrap_err();
            assert_eq!(err.variable, variable);
            assert!(err.problem.contains(expected), "{err:?}");
        }
        assert_eq!(
            Scope::parse(Some(" , "), None, Some(",")).unwrap(),
            Scope::default()
        );
    }

    #[test]
    fn the_opt_out_tag_is_exact_in_key_and_loose_in_case_of_value() {
        assert!(opted_out([("dkim-autopilot", "off")]));
        assert!(opted_out([("env", "prod"), ("dkim-autopilot", " OFF ")]));
        assert!(!opted_out([("dkim-autopilot", "on")]));
        assert!(!opted_out([("DKIM-Autopilot", "off")]));
        assert!(!opted_out([]));
    }
}
