//! Custom events an application sends: a domain arrives, a domain leaves, or a
//! reconcile of the whole account is asked for.

use super::fields::Fields;
use super::Invocation;
use crate::core::ids::DomainName;
use crate::core::ids::{HostedZoneId, TenantId};
use crate::core::reconcile::ReconcileRun;
use crate::core::rejection::Rejection;
use crate::core::replicas::check_listed;
use crate::core::request::{DnsMode, OffboardRequest, OffboardTrigger, OnboardRequest, Trigger};

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
    let ses_regions = detail
        .optional_str_list("sesRegions")?
        .map(|regions| {
            check_listed(&regions)
                .map(|()| regions)
                .map_err(|e| in_context(Rejection::invalid_event("detail.sesRegions", e)))
        })
        .transpose()?;
    Ok(Invocation::Onboard(OnboardRequest {
        domain,
        hosted_zone_id,
        tenant_id,
        dns_mode,
        ses_regions,
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use serde_json::{json, Value};

    #[test]
    fn a_custom_event_may_name_its_replica_regions() {
        let regions = |detail: Value| onboard(&custom(detail)).ses_regions;
        assert_eq!(regions(json!({"domain": "a.example.com"})), None);
        assert_eq!(
            regions(json!({"domain": "a.example.com", "sesRegions": ["eu-west-1"]})),
            Some(vec!["eu-west-1".to_owned()])
        );
        assert_eq!(
            regions(json!({"domain": "a.example.com", "sesRegions": []})),
            Some(vec![])
        );
        for (bad, expected) in [
            (json!(["mars-1"]), "no Deterministic Easy DKIM"),
            (json!(["eu-west-1", "eu-west-1"]), "twice"),
            (json!("eu-west-1"), "must be a list of strings"),
            (json!([1]), "must be a list of strings"),
        ] {
            let text = rejected(&custom(
                json!({"domain": "a.example.com", "sesRegions": bad}),
            ))
            .to_string();
            assert!(
                text.contains("detail.sesRegions") && text.contains(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn custom_event_carries_domain_zone_and_tenant() {
        let r = onboard(&custom(
            json!({"domain": "Tenant.Example.com.", "hostedZoneId": "/hostedzone/Z0ABC", "tenantId": "t-1"}),
        ));
        assert_eq!(r.domain.as_str(), "tenant.example.com");
        assert_eq!(r.hosted_zone_id.unwrap().as_str(), "Z0ABC");
        assert_eq!(r.tenant_id.unwrap().as_str(), "t-1");
        assert_eq!(
            r.trigger,
            Trigger::Custom {
                source: "my.saas".into()
            }
        );
        let minimal = onboard(&custom(
            json!({"domain": "example.com", "hostedZoneId": null}),
        ));
        assert!(minimal.hosted_zone_id.is_none() && minimal.tenant_id.is_none());
    }

    #[test]
    fn domain_deregistered_offboards_with_zone_and_tenant() {
        let deregistered = |detail| envelope("my.saas", DEREGISTERED_DETAIL_TYPE, detail);
        let r = offboard(&deregistered(
            json!({"domain": "Tenant.Example.com.", "hostedZoneId": "/hostedzone/Z0ABC", "tenantId": "t-1"}),
        ));
        assert_eq!(r.domain.as_str(), "tenant.example.com");
        assert_eq!(r.hosted_zone_id.unwrap().as_str(), "Z0ABC");
        assert_eq!(r.tenant_id.unwrap().as_str(), "t-1");
        assert_eq!(
            r.trigger,
            OffboardTrigger::Custom {
                source: "my.saas".into()
            }
        );
        let minimal = offboard(&deregistered(json!({"domain": "example.com"})));
        assert!(minimal.hosted_zone_id.is_none() && minimal.tenant_id.is_none());
        for (detail, expected) in [
            (json!({}), "`detail.domain` is missing"),
            (
                json!({"domain": 42}),
                "`detail.domain` must be a string, got a number",
            ),
            (json!({"domain": null}), "`detail.domain` is missing"),
            (json!({"domain": "co.uk"}), "public suffix"),
            (
                json!({"domain": "example.com", "tenantId": ""}),
                "`detail.tenantId` must not be empty",
            ),
            (
                json!({"domain": "example.com", "hostedZoneId": 7}),
                "`detail.hostedZoneId` must be a string",
            ),
            (json!(["example.com"]), "`detail` must be an object"),
        ] {
            let text = rejected(&deregistered(detail)).to_string();
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        }
        let no_source = envelope(
            " ",
            DEREGISTERED_DETAIL_TYPE,
            json!({"domain": "example.com"}),
        );
        assert!(rejected(&no_source).to_string().contains("`source`"));
    }

    #[test]
    fn dns_mode_is_read_from_custom_events_only() {
        use crate::core::request::DnsMode;
        let mode = |detail: Value| onboard(&custom(detail)).dns_mode;
        assert_eq!(mode(json!({"domain": "example.com"})), None);
        assert_eq!(
            mode(json!({"domain": "example.com", "dnsMode": "external"})),
            Some(DnsMode::External)
        );
        assert_eq!(
            mode(json!({"domain": "example.com", "dnsMode": "auto", "hostedZoneId": "Z1"})),
            Some(DnsMode::Auto)
        );
        assert_eq!(
            mode(json!({"domain": "example.com", "dnsMode": "route53", "hostedZoneId": "Z1"})),
            Some(DnsMode::Route53)
        );
        let unknown = rejected(&custom(
            json!({"domain": "example.com", "tenantId": "t-1", "dnsMode": "cloudflare"}),
        ));
        let text = unknown.to_string();
        assert!(
            text.contains("detail.dnsMode") && text.contains("\"cloudflare\""),
            "{text}"
        );
        assert_eq!(unknown.domain.as_deref(), Some("example.com"));
        assert_eq!(unknown.tenant_id.as_deref(), Some("t-1"));
        let not_text = rejected(&custom(json!({"domain": "example.com", "dnsMode": 1})));
        assert!(
            not_text.to_string().contains("detail.dnsMode"),
            "{not_text}"
        );
        let contradiction = rejected(&custom(
            json!({"domain": "example.com", "dnsMode": "external", "hostedZoneId": "Z1"}),
        ))
        .to_string();
        assert!(
            contradiction.contains("detail.dnsMode") && contradiction.contains("hostedZoneId"),
            "{contradiction}"
        );
    }

    #[test]
    fn reconcile_requested_takes_a_strict_dry_run_and_the_event_id() {
        let requested =
            |detail: Value| parse_invocation(&envelope("ops", RECONCILE_DETAIL_TYPE, detail));
        let Ok(Invocation::Reconcile(run)) = requested(json!({"dryRun": true})) else {
            panic!("a reconcile")
        };
        assert!(run.dry_run);
        assert_eq!(
            run.run_id.as_deref(),
            Some("7bf73129-1428-4cd3-a780-95db273d1602")
        );
        let Ok(Invocation::Reconcile(run)) = requested(json!({})) else {
            panic!("a reconcile")
        };
        assert!(!run.dry_run);
        let text = requested(json!({"dryRun": "yes"})).unwrap_err().to_string();
        assert!(text.contains("dryRun"), "{text}");
    }
}
