//! What a trigger asks for: a domain onboarded, or offboarded.

use super::ids::DomainName;
use super::ids::{HostedZoneId, TenantId};

/// The custom events' `detail-type`s.
pub const CUSTOM_DETAIL_TYPE: &str = "Domain Registered";
pub const DEREGISTERED_DETAIL_TYPE: &str = "Domain Deregistered";
pub const RECONCILE_DETAIL_TYPE: &str = "Reconcile Requested";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardRequest {
    pub domain: DomainName,
    pub hosted_zone_id: Option<HostedZoneId>,
    pub tenant_id: Option<TenantId>,
    /// `detail.dnsMode` of a custom event; `None`: the `DEFAULT_DNS_MODE` setting.
    /// Every other trigger is Route 53, whatever this says.
    pub dns_mode: Option<DnsMode>,
    /// `detail.sesRegions` of a custom event: the replica Regions this domain gets, a
    /// subset of `SES_REPLICA_REGIONS`; `None`: all of them.
    pub ses_regions: Option<Vec<String>>,
    pub trigger: Trigger,
}

impl OnboardRequest {
    /// Where this onboarding's records go: only an application's own event may hand
    /// them over (its `dnsMode`, else `default`); AWS's triggers mean Route 53.
    pub fn mode(&self, default: DnsMode) -> DnsMode {
        match self.trigger {
            Trigger::Custom { .. } => self.dns_mode.unwrap_or(default),
            _ => DnsMode::Route53,
        }
    }

    /// The same onboarding, its records handed over (`auto` found no zone).
    pub fn handed_over(self) -> Self {
        Self {
            dns_mode: Some(DnsMode::External),
            ..self
        }
    }
}

/// Where a domain's DKIM records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DnsMode {
    /// Written into this account's (or the DNS account's) Route 53 zone: today's behaviour.
    Route53,
    /// Handed to the tenant, who publishes them at their own DNS provider; watched in public DNS.
    External,
    /// Route 53 when a usable public zone contains the domain, else external.
    Auto,
}

impl DnsMode {
    pub const NAMES: &'static str = "\"route53\", \"external\" or \"auto\"";

    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "route53" => Ok(Self::Route53),
            "external" => Ok(Self::External),
            "auto" => Ok(Self::Auto),
            other => Err(format!("is \"{other}\"; expected {}", Self::NAMES)),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Route53 => "route53",
            Self::External => "external",
            Self::Auto => "auto",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// `Domain Registered` from any source, e.g. a SaaS onboarding a tenant.
    Custom { source: String },
    /// Route 53 `CreateHostedZone`, via CloudTrail.
    HostedZoneCreated,
    /// Route 53 Domains `registerDomain`, via CloudTrail.
    DomainRegistered,
    /// A reconcile found a public zone whose domain has no DKIM yet.
    Reconcile,
}

impl Trigger {
    /// Registration creates its hosted zone asynchronously, so "no zone yet" is not final.
    pub fn zone_may_appear_later(&self) -> bool {
        matches!(self, Self::DomainRegistered)
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Custom { source } => format!("{CUSTOM_DETAIL_TYPE} from {source}"),
            Self::HostedZoneCreated => "Route 53 CreateHostedZone".to_owned(),
            Self::DomainRegistered => "Route 53 Domains registerDomain".to_owned(),
            Self::Reconcile => "reconcile".to_owned(),
        }
    }
}

/// A domain leaves: its follow-ups, its records and (by default) its SES identity go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffboardRequest {
    pub domain: DomainName,
    pub hosted_zone_id: Option<HostedZoneId>,
    pub tenant_id: Option<TenantId>,
    pub trigger: OffboardTrigger,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffboardTrigger {
    /// `Domain Deregistered` from any source.
    Custom { source: String },
    /// Route 53 Domains `deleteDomain`, via CloudTrail.
    DomainDeleted,
}

impl OffboardTrigger {
    pub fn describe(&self) -> String {
        match self {
            Self::Custom { source } => format!("{DEREGISTERED_DETAIL_TYPE} from {source}"),
            Self::DomainDeleted => "Route 53 Domains deleteDomain".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(trigger: Trigger, dns_mode: Option<DnsMode>) -> OnboardRequest {
        OnboardRequest {
            domain: DomainName::parse("example.com").unwrap(),
            hosted_zone_id: None,
            tenant_id: None,
            dns_mode,
            ses_regions: None,
            trigger,
        }
    }

    #[test]
    fn only_an_applications_event_may_hand_records_over() {
        let custom = || Trigger::Custom {
            source: "my.saas".into(),
        };
        assert_eq!(request(custom(), None).mode(DnsMode::Auto), DnsMode::Auto);
        assert_eq!(
            request(custom(), Some(DnsMode::Route53)).mode(DnsMode::External),
            DnsMode::Route53
        );
        for trigger in [
            Trigger::HostedZoneCreated,
            Trigger::DomainRegistered,
            Trigger::Reconcile,
        ] {
            let r = request(trigger, Some(DnsMode::External));
            assert_eq!(r.mode(DnsMode::External), DnsMode::Route53);
        }
        let auto = request(custom(), Some(DnsMode::Auto)).handed_over();
        assert_eq!(auto.mode(DnsMode::Route53), DnsMode::External);
    }
}
