//! What a trigger asks for: a domain onboarded, or offboarded.

use super::domain::DomainName;
use super::follow_up::TenantId;
use super::zone::HostedZoneId;

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
    pub trigger: Trigger,
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
