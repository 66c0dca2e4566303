//! What asks for a domain to be onboarded: the request every trigger becomes.

use super::domain::DomainName;
use super::follow_up::TenantId;
use super::zone::HostedZoneId;

/// The custom event's `detail-type`.
pub const CUSTOM_DETAIL_TYPE: &str = "Domain Registered";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardRequest {
    pub domain: DomainName,
    pub hosted_zone_id: Option<HostedZoneId>,
    pub tenant_id: Option<TenantId>,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// `Domain Registered` from any source, e.g. a SaaS onboarding a tenant.
    Custom { source: String },
    /// Route 53 `CreateHostedZone`, via CloudTrail.
    HostedZoneCreated,
    /// Route 53 Domains `registerDomain`, via CloudTrail.
    DomainRegistered,
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
        }
    }
}
