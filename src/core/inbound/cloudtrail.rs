//! AWS API calls recorded by CloudTrail: a hosted zone created (Route 53), a domain
//! registered or deleted (Route 53 Domains).

use super::fields::Fields;
use super::Invocation;
use crate::core::domain::DomainName;
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::request::{OffboardRequest, OffboardTrigger, OnboardRequest, Trigger};
use crate::core::zone::{HostedZoneId, ZoneProblem};

pub(super) fn create_hosted_zone(detail: &Fields) -> Result<Invocation, Rejection> {
    detail.expect_cloudtrail_call("route53.amazonaws.com", "CreateHostedZone")?;
    if let Some(code) = detail.failed_call()? {
        return Ok(Invocation::Ignore {
            reason: format!("CreateHostedZone failed ({code}); no zone was created"),
        });
    }
    let request = detail.object("requestParameters")?;
    let raw_domain = request.required_str("name")?;
    let response = detail.object("responseElements")?;
    let zone = response.object("hostedZone")?;
    let hosted_zone_id = HostedZoneId::parse(zone.required_str("id")?).map_err(|e| {
        Rejection::invalid_event("detail.responseElements.hostedZone.id", e.to_string())
            .with_domain(raw_domain)
    })?;
    let domain = DomainName::parse(raw_domain)?;
    // Private zones are refused later with the zone's own word; CloudTrail says so too.
    if request.has("vPC") || request.bool_at(&["hostedZoneConfig", "privateZone"]) {
        return Err(Rejection {
            domain: Some(domain.to_string()),
            tenant_id: None,
            reason: RejectReason::Zone(ZoneProblem::Private {
                zone_id: hosted_zone_id,
                zone_name: zone.optional_str("name")?.unwrap_or(raw_domain).to_owned(),
            }),
        });
    }
    Ok(Invocation::Onboard(OnboardRequest {
        dns_mode: None,
        domain,
        hosted_zone_id: Some(hosted_zone_id),
        tenant_id: None,
        trigger: Trigger::HostedZoneCreated,
    }))
}

/// Route 53 Domains: `registerDomain` onboards, `deleteDomain` offboards.
pub(super) fn route53_domains(detail: &Fields) -> Result<Invocation, Rejection> {
    const SOURCE: &str = "route53domains.amazonaws.com";
    // CloudTrail writes Route 53 Domains event names with a lowercase first letter.
    let name = detail.required_str("eventName")?;
    let onboard = name.eq_ignore_ascii_case("registerDomain");
    detail.expect_cloudtrail_call(
        SOURCE,
        if onboard {
            "registerDomain"
        } else {
            "deleteDomain"
        },
    )?;
    if let Some(code) = detail.failed_call()? {
        return Ok(Invocation::Ignore {
            reason: format!("{name} failed ({code}); nothing changed"),
        });
    }
    let domain = DomainName::parse(domain_name(&detail.object("requestParameters")?)?)?;
    Ok(if onboard {
        Invocation::Onboard(OnboardRequest {
            dns_mode: None,
            domain,
            hosted_zone_id: None,
            tenant_id: None,
            trigger: Trigger::DomainRegistered,
        })
    } else {
        Invocation::Offboard(OffboardRequest {
            domain,
            hosted_zone_id: None,
            tenant_id: None,
            trigger: OffboardTrigger::DomainDeleted,
        })
    })
}

/// CloudTrail writes `domainName` as a string for some operations and as an object
/// `{"name": ...}` in AWS's own documented examples; both are read.
fn domain_name<'a>(request: &Fields<'a>) -> Result<&'a str, Rejection> {
    match request.get("domainName") {
        Some(serde_json::Value::Object(_)) => request.object("domainName")?.required_str("name"),
        _ => request.required_str("domainName"),
    }
}
