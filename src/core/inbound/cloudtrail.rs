//! AWS API calls recorded by CloudTrail: a hosted zone created (Route 53), a domain
//! registered or deleted (Route 53 Domains).

use super::fields::Fields;
use super::Invocation;
use crate::core::ids::DomainName;
use crate::core::ids::HostedZoneId;
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::request::{OffboardRequest, OffboardTrigger, OnboardRequest, Trigger};
use crate::core::zone::ZoneProblem;

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
        ses_regions: None,
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
            ses_regions: None,
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use serde_json::{json, Value};

    fn route53_domains_call(event_name: &str, request: Value) -> String {
        envelope(
            "aws.route53domains",
            CLOUDTRAIL_DETAIL_TYPE,
            json!({
                "eventSource": "route53domains.amazonaws.com", "eventName": event_name,
                "requestParameters": request, "responseElements": {"operationId": "op-1"}
            }),
        )
    }

    #[test]
    fn create_hosted_zone_takes_name_from_request_and_id_from_response() {
        let detail = json!({
            "eventSource": "route53.amazonaws.com", "eventName": "CreateHostedZone",
            "requestParameters": {"name": "example.com", "callerReference": "x", "hostedZoneConfig": {"comment": "", "privateZone": false}},
            "responseElements": {"hostedZone": {"id": "/hostedzone/Z1D633PJN98FT9", "name": "example.com."}}
        });
        let r = onboard(&envelope("aws.route53", CLOUDTRAIL, detail));
        assert_eq!(r.hosted_zone_id.unwrap().as_str(), "Z1D633PJN98FT9");
        assert_eq!(r.trigger, Trigger::HostedZoneCreated);
        assert!(!r.trigger.zone_may_appear_later());
    }

    #[test]
    fn private_and_failed_hosted_zone_calls_do_nothing() {
        let private = json!({
            "eventSource": "route53.amazonaws.com", "eventName": "CreateHostedZone",
            "requestParameters": {"name": "internal.example.com", "vPC": {"vPCId": "vpc-1", "vPCRegion": "us-east-1"}, "hostedZoneConfig": {"privateZone": true}},
            "responseElements": {"hostedZone": {"id": "/hostedzone/Z9", "name": "internal.example.com."}}
        });
        let r = rejected(&envelope("aws.route53", CLOUDTRAIL, private));
        assert_eq!(r.reason.code(), "PrivateZone");
        assert_eq!(r.domain.as_deref(), Some("internal.example.com"));

        let failed = json!({
            "eventSource": "route53.amazonaws.com", "eventName": "CreateHostedZone",
            "errorCode": "HostedZoneAlreadyExists", "errorMessage": "...",
            "requestParameters": {"name": "example.com"}, "responseElements": null
        });
        let ignored = parse_invocation(&envelope("aws.route53", CLOUDTRAIL, failed)).unwrap();
        assert!(
            matches!(ignored, Invocation::Ignore { reason } if reason.contains("HostedZoneAlreadyExists"))
        );
    }

    #[test]
    fn registration_has_no_zone_yet_and_accepts_the_lowercase_event_name() {
        let detail = json!({
            "eventSource": "route53domains.amazonaws.com", "eventName": "registerDomain",
            "requestParameters": {"domainName": "example.net", "durationInYears": 1},
            "responseElements": {"operationId": "op-1"}
        });
        let r = onboard(&envelope("aws.route53domains", CLOUDTRAIL, detail));
        assert_eq!(r.domain.as_str(), "example.net");
        assert!(r.hosted_zone_id.is_none());
        assert!(r.trigger.zone_may_appear_later());
    }

    #[test]
    fn route53_domains_events_read_the_domain_name_as_a_string_or_an_object() {
        for domain_name in [json!("Example.net."), json!({"name": "Example.net."})] {
            let registered = onboard(&route53_domains_call(
                "registerDomain",
                json!({"domainName": domain_name.clone(), "durationInYears": 1}),
            ));
            assert_eq!(registered.domain.as_str(), "example.net");
            assert_eq!(registered.trigger, Trigger::DomainRegistered);
            let deleted = offboard(&route53_domains_call(
                "deleteDomain",
                json!({"domainName": domain_name}),
            ));
            assert_eq!(deleted.domain.as_str(), "example.net");
            assert_eq!(deleted.trigger, OffboardTrigger::DomainDeleted);
            assert!(deleted.hosted_zone_id.is_none() && deleted.tenant_id.is_none());
        }
        // CloudTrail names the call `DeleteDomain` in some trails: the case is ignored.
        let upper = offboard(&route53_domains_call(
            "DeleteDomain",
            json!({"domainName": "example.net"}),
        ));
        assert_eq!(upper.domain.as_str(), "example.net");
        for event_name in ["registerDomain", "deleteDomain"] {
            for (request, expected) in [
                (
                    json!({"domainName": {"name": 42}}),
                    "`detail.requestParameters.domainName.name` must be a string, got a number",
                ),
                (
                    json!({"domainName": {}}),
                    "`detail.requestParameters.domainName.name` is missing",
                ),
                (
                    json!({"domainName": 42}),
                    "`detail.requestParameters.domainName` must be a string, got a number",
                ),
                (
                    json!({}),
                    "`detail.requestParameters.domainName` is missing",
                ),
                (
                    json!("example.net"),
                    "`detail.requestParameters` must be an object",
                ),
                (json!({"domainName": {"name": "com"}}), "public suffix"),
            ] {
                let text = rejected(&route53_domains_call(event_name, request)).to_string();
                assert!(
                    text.contains(expected),
                    "{event_name}: {expected:?} not in {text:?}"
                );
            }
        }
        let other = rejected(&route53_domains_call(
            "transferDomain",
            json!({"domainName": "example.net"}),
        ));
        assert!(other.to_string().contains("acts only on"), "{other}");
        let failed = envelope(
            "aws.route53domains",
            CLOUDTRAIL,
            json!({
                "eventSource": "route53domains.amazonaws.com", "eventName": "deleteDomain",
                "errorCode": "InvalidInput", "requestParameters": {"domainName": "example.net"}
            }),
        );
        assert!(matches!(
            parse_invocation(&failed).unwrap(),
            Invocation::Ignore { reason } if reason.contains("deleteDomain failed (InvalidInput)")
        ));
    }

    #[test]
    fn cloudtrail_triggers_never_carry_a_dns_mode() {
        let detail = json!({
            "eventSource": "route53.amazonaws.com", "eventName": "CreateHostedZone",
            "requestParameters": {"name": "example.com", "dnsMode": "external"},
            "responseElements": {"hostedZone": {"id": "/hostedzone/Z1", "name": "example.com."}}
        });
        let r = onboard(&envelope("aws.route53", CLOUDTRAIL, detail));
        assert_eq!(r.dns_mode, None);
        assert_eq!(r.trigger, Trigger::HostedZoneCreated);
    }
}
