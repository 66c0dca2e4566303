//! Which domains this deployment may touch: suffix rules from the configuration,
//! and a hosted zone's own opt-out tag. Applied to every trigger.

use std::fmt;

use super::domain::DomainName;
use super::zone::HostedZoneId;

/// A hosted zone with this tag (value `off`, any case) is never written.
pub const OPT_OUT_TAG_KEY: &str = "dkim-autopilot";
pub const OPT_OUT_TAG_VALUE: &str = "off";

/// `DOMAIN_INCLUDE` / `DOMAIN_EXCLUDE`: a suffix covers itself and every name below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Empty means every domain.
    include: Vec<DomainName>,
    exclude: Vec<DomainName>,
}

/// Why a domain is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    OutOfScope { rule: String },
    ZoneOptedOut { zone_id: HostedZoneId },
}

impl Skip {
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutOfScope { .. } => "OutOfScope",
            Self::ZoneOptedOut { .. } => "ZoneOptedOut",
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfScope { rule } => write!(f, "out of scope: {rule}"),
            Self::ZoneOptedOut { zone_id } => write!(
                f,
                "hosted zone {zone_id} is tagged {OPT_OUT_TAG_KEY}={OPT_OUT_TAG_VALUE}"
            ),
        }
    }
}

impl Scope {
    /// Comma-separated suffix lists; each item must be a valid DNS name.
    /// The error names the list and the item.
    pub fn parse(include: Option<&str>, exclude: Option<&str>) -> Result<Self, String> {
        Ok(Self {
            include: suffixes("DOMAIN_INCLUDE", include)?,
            exclude: suffixes("DOMAIN_EXCLUDE", exclude)?,
        })
    }

    /// Exclude wins; an empty include list lets everything else in.
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
}

fn suffixes(variable: &str, list: Option<&str>) -> Result<Vec<DomainName>, String> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            DomainName::parse_suffix(item)
                .map_err(|e| format!("{variable} item \"{item}\" is not a domain suffix: {e}"))
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

    #[test]
    fn exclude_wins_and_an_empty_include_lets_everything_in() {
        let all = Scope::parse(None, Some("internal.example.com, co.uk")).unwrap();
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

        let some = Scope::parse(Some("example.com,Bücher.de."), Some("old.example.com")).unwrap();
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
    fn a_bad_item_is_named_with_its_list() {
        for (include, exclude, expected) in [
            (
                Some("example.com,*.bad.com"),
                None,
                "DOMAIN_INCLUDE item \"*.bad.com\"",
            ),
            (
                None,
                Some("exa mple.com"),
                "DOMAIN_EXCLUDE item \"exa mple.com\"",
            ),
            (None, Some("a..b"), "DOMAIN_EXCLUDE item \"a..b\""),
        ] {
            let err = Scope::parse(include, exclude).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
        assert_eq!(Scope::parse(Some(" , "), None).unwrap(), Scope::default());
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
