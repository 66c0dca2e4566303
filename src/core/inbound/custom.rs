//! Custom events an application sends: a domain arrives, a domain leaves, or a
//! reconcile of the whole account is asked for.

use super::fields::Fields;
use super::Invocation;
use crate::core::domain::DomainName;
use crate::core::follow_up::TenantId;
use crate::core::reconcile::ReconcileRun;
use crate::core::rejection::Rejection;
use crate::core::request::{DnsMode, OffboardRequest, OffboardTrigger, OnboardRequest, Trigger};
use crate::core::zone::HostedZoneId;

/// `Domain Registered`: onboard `detail.domain`, its records in Route 53 or handed
/// over (`detail.dnsMode`).
pub(super) fn domain_registered(source: &str, detail: &Fields) -> Result<Invocation, Rejection> {
    let (domain, hosted_zone_id, tenant_id) = domain_zone_tenant(source, detail)?;
    let in_context = |r: Rejection| {
        r.with_domain(domain.as_str())
            .with_tenant(tenant_id.as_ref().map(|t| t.as_str().to_owned()))
    };
    let dns_mode = detail
        .optional_str("dnsMode")?
        .map(|m| {
            DnsMode::parse(m).map_err(|e| in_context(Rejection::invalid_event("detail.dnsMode", e)))
        })
        .transpose()?;
    if let (Some(DnsMode::External), Some(zone)) = (dns_mode, &hosted_zone_id) {
        return Err(in_context(Rejection::invalid_event(
            "detail.dnsMode",
            format!(
                "is \"external\" but detail.hostedZoneId names Route 53 zone {zone}; \
                 send one or the other"
            ),
        )));
    }
    Ok(Invocation::Onboard(OnboardRequest {
        domain,
        hosted_zone_id,
        tenant_id,
        dns_mode,
        trigger: Trigger::Custom {
            source: source.to_owned(),
        },
    }))
}

/// `Domain Deregistered`: offboard `detail.domain`.
pub(super) fn domain_deregistered(source: &str, detail: &Fields) -> Result<Invocation, Rejection> {
    let (domain, hosted_zone_id, tenant_id) = domain_zone_tenant(source, detail)?;
    Ok(Invocation::Offboard(OffboardRequest {
        domain,
        hosted_zone_id,
        tenant_id,
        trigger: OffboardTrigger::Custom {
            source: source.to_owned(),
        },
    }))
}

/// `Reconcile Requested`: `detail.dryRun` is optional and false by default.
pub(super) fn reconcile_requested(
    source: &str,
    event_id: Option<&str>,
    detail: &Fields,
) -> Result<Invocation, Rejection> {
    if source.trim().is_empty() {
        return Err(Rejection::invalid_event("source", "must not be empty"));
    }
    let dry_run = detail.optional_bool("dryRun")?.unwrap_or(false);
    Ok(Invocation::Reconcile(ReconcileRun::requested(
        dry_run,
        event_id.filter(|id| !id.trim().is_empty()),
    )))
}

/// The three fields both custom domain events carry.
fn domain_zone_tenant(
    source: &str,
    detail: &Fields,
) -> Result<(DomainName, Option<HostedZoneId>, Option<TenantId>), Rejection> {
    if source.trim().is_empty() {
        return Err(Rejection::invalid_event("source", "must not be empty"));
    }
    let raw_domain = detail.required_str("domain")?;
    let tenant_id = detail
        .optional_str("tenantId")?
        .map(|t| {
            TenantId::parse(t).map_err(|rule| {
                Rejection::invalid_event("detail.tenantId", rule).with_domain(raw_domain)
            })
        })
        .transpose()?;
    let tenant_text = tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let in_context = |r: Rejection| r.with_domain(raw_domain).with_tenant(tenant_text.clone());
    let hosted_zone_id = detail
        .optional_str("hostedZoneId")?
        .map(|z| {
            HostedZoneId::parse(z).map_err(|e| {
                in_context(Rejection::invalid_event(
                    "detail.hostedZoneId",
                    e.to_string(),
                ))
            })
        })
        .transpose()?;
    let domain = DomainName::parse(raw_domain)
        .map_err(|e| Rejection::from(e).with_tenant(tenant_text.clone()))?;
    Ok((domain, hosted_zone_id, tenant_id))
}
