//! The names things go by: a domain, a Route 53 hosted zone, a tenant. Each is parsed
//! once, at the edge, and carried as a type that cannot hold an invalid value.

mod domain;

use std::fmt;

pub use domain::{DomainName, DomainRejection, DomainRule, DKIM_TOKEN_MAX_LEN, MAX_DOMAIN_OCTETS};

/// A Route 53 hosted zone id without the `/hostedzone/` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostedZoneId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hosted zone id \"{input}\" must be 1 to 32 letters and digits, optionally prefixed with /hostedzone/")]
pub struct InvalidHostedZoneId {
    pub input: String,
}

impl HostedZoneId {
    pub fn parse(input: &str) -> Result<Self, InvalidHostedZoneId> {
        let trimmed = input.trim();
        let id = trimmed.strip_prefix("/hostedzone/").unwrap_or(trimmed);
        if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(InvalidHostedZoneId {
                input: input.chars().take(64).collect(),
            });
        }
        Ok(Self(id.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostedZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant id as a SaaS application sends it: carried along, never interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantId(String);

impl TenantId {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let chars = input.chars().count();
        if input.trim().is_empty() {
            return Err("must not be empty");
        }
        if chars > Self::MAX_CHARS {
            return Err("must be at most 256 characters");
        }
        if input.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_ids_lose_their_prefix_and_are_checked() {
        assert_eq!(
            HostedZoneId::parse("/hostedzone/Z123ABC").unwrap().as_str(),
            "Z123ABC"
        );
        assert_eq!(HostedZoneId::parse("z123abc").unwrap().as_str(), "Z123ABC");
        for bad in ["", "/hostedzone/", "Z12 3", "Z123/../x", &"Z".repeat(33)] {
            assert!(HostedZoneId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tenant_ids_are_bounded() {
        assert!(TenantId::parse("acme").is_ok());
        assert!(TenantId::parse(" ").is_err());
        assert!(TenantId::parse("a\nb").is_err());
        assert!(TenantId::parse(&"t".repeat(257)).is_err());
    }
}
