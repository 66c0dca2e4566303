//! Domain rules: turn what a user or an AWS event gave us into a name that SES and
//! Route 53 accept, or say exactly why not.

use std::fmt;
use std::net::IpAddr;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// SES Easy DKIM tokens are 32 characters long.
pub const DKIM_TOKEN_MAX_LEN: usize = 32;
/// `<token>._domainkey.` must still fit in front of the domain.
const DKIM_NAME_OVERHEAD: usize = DKIM_TOKEN_MAX_LEN + "._domainkey.".len();
/// DNS caps a full name at 253 octets (RFC 1035, without the final dot).
const MAX_NAME_OCTETS: usize = 253;
/// The longest domain whose DKIM record names still fit in DNS.
pub const MAX_DOMAIN_OCTETS: usize = MAX_NAME_OCTETS - DKIM_NAME_OVERHEAD;
const MAX_LABEL_OCTETS: usize = 63;
/// Longer input is refused before any IDNA work, so a huge field costs nothing.
const MAX_INPUT_CHARS: usize = 1024;

/// A domain that passed every rule: lowercase A-labels, no trailing dot, under a
/// known public suffix without being one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

/// Why a domain was refused: the input as given and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRejection {
    pub input: String,
    pub rule: DomainRule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRule {
    Empty,
    InputTooLong { chars: usize },
    Wildcard,
    Underscore,
    IpAddress,
    EmptyLabel,
    InvalidCharacters,
    NotValidIdn,
    LabelTooLong { label: String, octets: usize },
    NameTooLong { octets: usize },
    UnderNoKnownSuffix,
    IsPublicSuffix { suffix: String },
}

impl fmt::Display for DomainRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "is empty"),
            Self::InputTooLong { chars } => {
                write!(f, "is {chars} characters long; input is capped at {MAX_INPUT_CHARS}")
            }
            Self::Wildcard => write!(f, "is a wildcard; DKIM needs one concrete domain"),
            Self::Underscore => write!(f, "contains an underscore, which a mail domain cannot"),
            Self::IpAddress => write!(f, "is an IP address, not a domain"),
            Self::EmptyLabel => write!(f, "has an empty label (leading, doubled or extra trailing dot)"),
            Self::InvalidCharacters => write!(
                f,
                "contains characters not allowed in a host name (letters, digits, hyphens; no leading or trailing hyphen)"
            ),
            Self::NotValidIdn => write!(f, "is not a valid internationalised domain name (IDNA 2008 / UTS #46)"),
            Self::LabelTooLong { label, octets } => write!(
                f,
                "has the label \"{label}\" of {octets} octets; DNS allows {MAX_LABEL_OCTETS}"
            ),
            Self::NameTooLong { octets } => write!(
                f,
                "is {octets} octets long; with \"<token>._domainkey.\" in front the DKIM record names must fit in {MAX_NAME_OCTETS}, so the domain may have at most {MAX_DOMAIN_OCTETS}"
            ),
            Self::UnderNoKnownSuffix => write!(f, "is not under any known public suffix"),
            Self::IsPublicSuffix { suffix } => write!(
                f,
                "is the public suffix \"{suffix}\"; only a domain registered under it can have DKIM records"
            ),
        }
    }
}

impl fmt::Display for DomainRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "domain \"{}\" {}", self.input, self.rule)
    }
}

impl std::error::Error for DomainRejection {}

impl DomainName {
    /// Normalise and check a domain: trim, lowercase, drop one trailing dot, IDN to
    /// punycode, DNS length limits, public suffix rules.
    pub fn parse(input: &str) -> Result<Self, DomainRejection> {
        let refuse = |rule| DomainRejection {
            input: shorten(input),
            rule,
        };
        let chars = input.chars().count();
        if chars > MAX_INPUT_CHARS {
            return Err(refuse(DomainRule::InputTooLong { chars }));
        }
        let trimmed = input.trim().to_lowercase();
        let name = trimmed.strip_suffix('.').unwrap_or(&trimmed);
        if name.is_empty() {
            return Err(refuse(DomainRule::Empty));
        }
        if name.contains('*') {
            return Err(refuse(DomainRule::Wildcard));
        }
        if name.contains('_') {
            return Err(refuse(DomainRule::Underscore));
        }
        if is_ip_address(name) {
            return Err(refuse(DomainRule::IpAddress));
        }
        if name.split('.').any(str::is_empty) {
            return Err(refuse(DomainRule::EmptyLabel));
        }
        let ascii = to_a_labels(name).map_err(refuse)?;
        check_lengths(&ascii).map_err(refuse)?;
        check_public_suffix(&ascii).map_err(refuse)?;
        Ok(Self(ascii))
    }

    /// A name used as a suffix in a scope rule (`example.com`, `co.uk`): the same
    /// normalisation and syntax rules, but a public suffix is allowed.
    pub fn parse_suffix(input: &str) -> Result<Self, DomainRejection> {
        match Self::parse(input) {
            Err(DomainRejection {
                rule: DomainRule::IsPublicSuffix { suffix },
                ..
            }) => Ok(Self(suffix)),
            Err(DomainRejection {
                rule: DomainRule::UnderNoKnownSuffix,
                ..
            }) if !input.contains('.') && !input.trim().is_empty() => {
                let name = input.trim().trim_end_matches('.').to_ascii_lowercase();
                if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    Ok(Self(name))
                } else {
                    Self::parse(input)
                }
            }
            other => other,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` is `zone` itself or a name below it.
    pub fn is_within(&self, zone: &DomainName) -> bool {
        self.0 == zone.0
            || (self.0.len() > zone.0.len()
                && self.0.ends_with(zone.0.as_str())
                && self.0.as_bytes()[self.0.len() - zone.0.len() - 1] == b'.')
    }

    /// The names a hosted zone for this domain could have, deepest first, down to
    /// the registrable domain (a zone for a public suffix is never ours to write).
    pub fn candidate_zone_names(&self) -> Vec<DomainName> {
        let registrable = psl::domain_str(&self.0).unwrap_or(&self.0);
        let mut candidates = vec![self.clone()];
        let mut rest = self.0.as_str();
        while rest.len() > registrable.len() {
            match rest.split_once('.') {
                Some((_, parent)) => {
                    rest = parent;
                    candidates.push(DomainName(rest.to_owned()));
                }
                None => break,
            }
        }
        candidates
    }

    /// The name as people read it (U-labels), for logs and the demo.
    pub fn to_unicode(&self) -> String {
        idna::domain_to_unicode(&self.0).0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Messages quote the input; a megabyte of it helps nobody.
fn shorten(input: &str) -> String {
    const KEEP: usize = 80;
    if input.chars().count() <= KEEP {
        input.to_owned()
    } else {
        let head: String = input.chars().take(KEEP).collect();
        format!("{head}…")
    }
}

fn is_ip_address(name: &str) -> bool {
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok() || name.contains(':')
}

fn to_a_labels(name: &str) -> Result<String, DomainRule> {
    let ascii = Uts46::new()
        .to_ascii(
            name.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Ignore,
        )
        .map_err(|_| {
            if name.is_ascii() {
                DomainRule::InvalidCharacters
            } else {
                DomainRule::NotValidIdn
            }
        })?;
    // IDNA maps full-width and ideographic dots to '.', which can expose empty labels.
    if ascii.split('.').any(str::is_empty) {
        return Err(DomainRule::EmptyLabel);
    }
    Ok(ascii.into_owned())
}

fn check_lengths(ascii: &str) -> Result<(), DomainRule> {
    if let Some(label) = ascii.split('.').find(|l| l.len() > MAX_LABEL_OCTETS) {
        return Err(DomainRule::LabelTooLong {
            label: shorten(label),
            octets: label.len(),
        });
    }
    if ascii.len() > MAX_DOMAIN_OCTETS {
        return Err(DomainRule::NameTooLong {
            octets: ascii.len(),
        });
    }
    Ok(())
}

fn check_public_suffix(ascii: &str) -> Result<(), DomainRule> {
    let suffix = psl::suffix(ascii.as_bytes()).filter(|s| s.is_known());
    let Some(suffix) = suffix else {
        return Err(DomainRule::UnderNoKnownSuffix);
    };
    if suffix.as_bytes().len() == ascii.len() {
        return Err(DomainRule::IsPublicSuffix {
            suffix: ascii.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        DomainName::parse(input)
            .unwrap_or_else(|e| panic!("{input:?} should be accepted: {e}"))
            .to_string()
    }

    fn refused(input: &str) -> DomainRule {
        match DomainName::parse(input) {
            Ok(name) => panic!("{input:?} should be refused, got {name}"),
            Err(e) => e.rule,
        }
    }

    #[test]
    fn normalises_case_whitespace_and_one_trailing_dot() {
        assert_eq!(ok("  Example.COM.  "), "example.com");
        assert_eq!(ok("mail.Tenant.example.co.uk"), "mail.tenant.example.co.uk");
    }

    #[test]
    fn converts_idn_to_punycode() {
        assert_eq!(ok("bücher.de"), "xn--bcher-kva.de");
        assert_eq!(ok("münchen.de"), "xn--mnchen-3ya.de");
        assert_eq!(ok("例え.jp"), "xn--r8jz45g.jp");
        // Already-encoded input is accepted as is.
        assert_eq!(ok("xn--mnchen-3ya.de"), "xn--mnchen-3ya.de");
        let name = DomainName::parse("münchen.de").unwrap();
        assert_eq!(name.to_unicode(), "münchen.de");
    }

    #[test]
    fn refuses_public_suffixes_and_unknown_suffixes() {
        for suffix in ["com", "co.uk", "github.io", "s3.amazonaws.com", "uk"] {
            assert!(
                matches!(refused(suffix), DomainRule::IsPublicSuffix { .. }),
                "{suffix}"
            );
        }
        assert_eq!(
            refused("example.invalidtld"),
            DomainRule::UnderNoKnownSuffix
        );
        assert_eq!(
            refused("bücher.example"),
            DomainRule::UnderNoKnownSuffix,
            "reserved TLD"
        );
        assert_eq!(refused("localhost"), DomainRule::UnderNoKnownSuffix);
        // A name under a private suffix is a domain of its own.
        assert_eq!(ok("someone.github.io"), "someone.github.io");
    }

    #[test]
    fn refuses_malformed_names() {
        assert_eq!(refused(""), DomainRule::Empty);
        assert_eq!(refused("   "), DomainRule::Empty);
        assert_eq!(refused("."), DomainRule::Empty);
        assert_eq!(refused("*.example.com"), DomainRule::Wildcard);
        assert_eq!(refused("_dmarc.example.com"), DomainRule::Underscore);
        assert_eq!(refused("192.0.2.1"), DomainRule::IpAddress);
        assert_eq!(refused("2001:db8::1"), DomainRule::IpAddress);
        assert_eq!(refused("[::1]"), DomainRule::IpAddress);
        assert_eq!(refused("example..com"), DomainRule::EmptyLabel);
        assert_eq!(refused(".example.com"), DomainRule::EmptyLabel);
        assert_eq!(refused("example.com.."), DomainRule::EmptyLabel);
        assert_eq!(refused("exa mple.com"), DomainRule::InvalidCharacters);
        assert_eq!(refused("-example.com"), DomainRule::InvalidCharacters);
        assert_eq!(refused("example-.com"), DomainRule::InvalidCharacters);
        assert_eq!(refused("exa/mple.com"), DomainRule::InvalidCharacters);
        assert_eq!(refused("xn--zz.com"), DomainRule::InvalidCharacters);
    }

    #[test]
    fn enforces_dns_lengths_with_room_for_dkim_prefix() {
        let label63 = "a".repeat(63);
        assert_eq!(ok(&format!("{label63}.com")), format!("{label63}.com"));
        assert!(matches!(
            refused(&format!("{}.com", "a".repeat(64))),
            DomainRule::LabelTooLong { octets: 64, .. }
        ));
        // Exactly MAX_DOMAIN_OCTETS passes, one more fails.
        let longest = format!(
            "{}.{}.{}.ddddd.example.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63)
        );
        assert_eq!(longest.len(), MAX_DOMAIN_OCTETS);
        assert_eq!(ok(&longest), longest);
        let too_long = format!("e.{}", &longest[..]).replacen("ddddd", "dddd", 1);
        assert_eq!(too_long.len(), MAX_DOMAIN_OCTETS + 1);
        assert_eq!(
            refused(&too_long),
            DomainRule::NameTooLong {
                octets: MAX_DOMAIN_OCTETS + 1
            }
        );
        assert_eq!(
            format!("{}._domainkey.{longest}", "t".repeat(DKIM_TOKEN_MAX_LEN)).len(),
            253
        );
        assert!(matches!(
            refused(&"x".repeat(5000)),
            DomainRule::InputTooLong { chars: 5000 }
        ));
    }

    #[test]
    fn rejection_names_the_domain_and_the_rule() {
        let err = DomainName::parse("co.uk").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"co.uk\""), "{text}");
        assert!(text.contains("public suffix"), "{text}");
        let long = DomainName::parse(&"y".repeat(2000))
            .unwrap_err()
            .to_string();
        assert!(
            long.len() < 300,
            "message should quote a shortened input: {long}"
        );
    }

    #[test]
    fn containment_respects_label_boundaries() {
        let zone = DomainName::parse("example.com").unwrap();
        assert!(DomainName::parse("example.com").unwrap().is_within(&zone));
        assert!(DomainName::parse("mail.example.com")
            .unwrap()
            .is_within(&zone));
        assert!(!DomainName::parse("badexample.com")
            .unwrap()
            .is_within(&zone));
        assert!(!DomainName::parse("example.net").unwrap().is_within(&zone));
        assert!(!zone.is_within(&DomainName::parse("mail.example.com").unwrap()));
    }

    #[test]
    fn candidate_zones_run_from_the_name_to_the_registrable_domain() {
        let names = |d: &str| -> Vec<String> {
            DomainName::parse(d)
                .unwrap()
                .candidate_zone_names()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            names("mail.tenant.example.com"),
            [
                "mail.tenant.example.com",
                "tenant.example.com",
                "example.com"
            ]
        );
        assert_eq!(names("example.co.uk"), ["example.co.uk"]);
        assert_eq!(
            names("a.b.example.co.uk"),
            ["a.b.example.co.uk", "b.example.co.uk", "example.co.uk"]
        );
    }
}
