//! What invoked the function: an EventBridge event (a custom one from an
//! application, or an AWS API call recorded by CloudTrail), or a payload one of
//! this function's own schedules carried back. Everything else is refused here,
//! before any AWS call. One file per source.

mod cloudtrail;
mod custom;
mod fields;
mod scheduled;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

use super::deferral::Deferred;
use super::follow_up::FollowUp;
use super::reconcile::ReconcileRun;
use super::rejection::Rejection;
use fields::{type_name, Fields};

pub use super::request::{
    OffboardRequest, OffboardTrigger, OnboardRequest, Trigger, CUSTOM_DETAIL_TYPE,
    DEREGISTERED_DETAIL_TYPE, RECONCILE_DETAIL_TYPE,
};

/// EventBridge refuses events over 256 KiB; anything larger did not come from it.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Onboard(OnboardRequest),
    Offboard(OffboardRequest),
    FollowUp(FollowUp),
    /// Work a transient failure put off, back from its schedule.
    Deferred(Deferred),
    /// A pass over the whole account, or its next page.
    Reconcile(ReconcileRun),
    /// A well-formed event that asks for nothing (a failed API call).
    Ignore {
        reason: String,
    },
}

/// Read the raw invocation payload.
pub fn parse_invocation(raw: &str) -> Result<Invocation, Rejection> {
    if raw.len() > MAX_PAYLOAD_BYTES {
        return Err(Rejection::invalid_event(
            "(payload)",
            format!(
                "is {} bytes; EventBridge events are at most {MAX_PAYLOAD_BYTES}",
                raw.len()
            ),
        ));
    }
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| Rejection::invalid_event("(payload)", format!("is not valid JSON: {e}")))?;
    let Value::Object(object) = &value else {
        return Err(Rejection::invalid_event(
            "(payload)",
            format!("must be a JSON object, got {}", type_name(&value)),
        ));
    };
    if object.contains_key("detail-type") {
        parse_eventbridge(value)
    } else if object.contains_key("schema") {
        scheduled::parse(value)
    } else {
        Err(Rejection::invalid_event(
            "(payload)",
            "is neither an EventBridge event (no \"detail-type\") nor a dkim-autopilot schedule payload (no \"schema\")",
        ))
    }
}

fn parse_eventbridge(value: Value) -> Result<Invocation, Rejection> {
    let event: EventBridgeEvent<Value> = serde_json::from_value(value).map_err(|e| {
        Rejection::invalid_event(
            "(envelope)",
            format!("is not a valid EventBridge event: {e}"),
        )
    })?;
    let detail = Fields::new(&event.detail, "detail")?;
    match (event.source.as_str(), event.detail_type.as_str()) {
        (_, CUSTOM_DETAIL_TYPE) => custom::domain_registered(&event.source, &detail),
        (_, DEREGISTERED_DETAIL_TYPE) => custom::domain_deregistered(&event.source, &detail),
        (_, RECONCILE_DETAIL_TYPE) => {
            custom::reconcile_requested(&event.source, event.id.as_deref(), &detail)
        }
        ("aws.route53", CLOUDTRAIL_DETAIL_TYPE) => cloudtrail::create_hosted_zone(&detail),
        ("aws.route53domains", CLOUDTRAIL_DETAIL_TYPE) => cloudtrail::route53_domains(&detail),
        (source, detail_type) => Err(Rejection::invalid_event(
            "detail-type",
            format!(
                "\"{detail_type}\" from source \"{source}\" is not an event dkim-autopilot handles \
                 (expected \"{CUSTOM_DETAIL_TYPE}\", \"{DEREGISTERED_DETAIL_TYPE}\" or \"{RECONCILE_DETAIL_TYPE}\", \
                 or \"{CLOUDTRAIL_DETAIL_TYPE}\" from aws.route53 or aws.route53domains)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rejection::RejectReason;
    use serde_json::json;

    fn envelope(source: &str, detail_type: &str, detail: Value) -> String {
        json!({
            "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": detail_type, "source": source, "account": "123456789012",
            "time": "2026-11-27T04:30:00Z", "region": "us-east-1", "resources": [],
            "detail": detail
        })
        .to_string()
    }

    fn custom(detail: Value) -> String {
        envelope("my.saas", CUSTOM_DETAIL_TYPE, detail)
    }

    fn onboard(raw: &str) -> OnboardRequest {
        match parse_invocation(raw) {
            Ok(Invocation::Onboard(r)) => r,
            other => panic!("expected onboarding, got {other:?}"),
        }
    }

    fn rejected(raw: &str) -> Rejection {
        match parse_invocation(raw) {
            Err(r) => r,
            other => panic!("expected a rejection, got {other:?}"),
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
    fn create_hosted_zone_takes_name_from_request_and_id_from_response() {
        let detail = json!({
            "eventSource": "route53.amazonaws.com", "eventName": "CreateHostedZone",
            "requestParameters": {"name": "example.com", "callerReference": "x", "hostedZoneConfig": {"comment": "", "privateZone": false}},
            "responseElements": {"hostedZone": {"id": "/hostedzone/Z1D633PJN98FT9", "name": "example.com."}}
        });
        let r = onboard(&envelope("aws.route53", CLOUDTRAIL_DETAIL_TYPE, detail));
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
        let r = rejected(&envelope("aws.route53", CLOUDTRAIL_DETAIL_TYPE, private));
        assert_eq!(r.reason.code(), "PrivateZone");
        assert_eq!(r.domain.as_deref(), Some("internal.example.com"));

        let failed = json!({
            "eventSource": "route53.amazonaws.com", "eventName": "CreateHostedZone",
            "errorCode": "HostedZoneAlreadyExists", "errorMessage": "...",
            "requestParameters": {"name": "example.com"}, "responseElements": null
        });
        let ignored =
            parse_invocation(&envelope("aws.route53", CLOUDTRAIL_DETAIL_TYPE, failed)).unwrap();
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
        let r = onboard(&envelope(
            "aws.route53domains",
            CLOUDTRAIL_DETAIL_TYPE,
            detail,
        ));
        assert_eq!(r.domain.as_str(), "example.net");
        assert!(r.hosted_zone_id.is_none());
        assert!(r.trigger.zone_may_appear_later());
    }

    fn offboard(raw: &str) -> OffboardRequest {
        match parse_invocation(raw) {
            Ok(Invocation::Offboard(r)) => r,
            other => panic!("expected offboarding, got {other:?}"),
        }
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
            CLOUDTRAIL_DETAIL_TYPE,
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
    fn an_expired_tombstone_is_a_no_op_and_a_bad_one_is_refused() {
        let tombstone = json!({"schema": crate::core::tombstone::SCHEMA, "version": 1,
            "domain": "example.com", "offboardedAt": "2026-11-28T10:00:00Z"});
        assert!(matches!(
            parse_invocation(&tombstone.to_string()).unwrap(),
            Invocation::Ignore { reason } if reason.contains("example.com")
        ));
        let mut v2 = tombstone.clone();
        v2["version"] = json!(2);
        assert!(rejected(&v2.to_string())
            .to_string()
            .contains("reads version 1"));
        let mut no_time = tombstone;
        no_time.as_object_mut().unwrap().remove("offboardedAt");
        assert!(rejected(&no_time.to_string())
            .to_string()
            .contains("malformed"));
    }

    #[test]
    fn malformed_events_name_the_field_and_the_rule() {
        let cases: Vec<(String, &str)> = vec![
            ("[]".into(), "must be a JSON object"),
            ("{".into(), "not valid JSON"),
            ("{}".into(), "neither an EventBridge event"),
            (custom(json!({})), "`detail.domain` is missing"),
            (
                custom(json!({"domain": 42})),
                "`detail.domain` must be a string, got a number",
            ),
            (custom(json!("example.com")), "`detail` must be an object"),
            (
                custom(json!({"domain": "example.com", "tenantId": ""})),
                "`detail.tenantId` must not be empty",
            ),
            (
                custom(json!({"domain": "example.com", "hostedZoneId": "zone/../1"})),
                "hosted zone id",
            ),
            (custom(json!({"domain": "com"})), "public suffix"),
            (
                envelope("my.saas", "Something Else", json!({})),
                "is not an event dkim-autopilot handles",
            ),
            (
                format!("\"{}\"", "x".repeat(MAX_PAYLOAD_BYTES)),
                "EventBridge events are at most",
            ),
            (
                json!({"detail-type": 1, "source": "x", "detail": {}}).to_string(),
                "not a valid EventBridge event",
            ),
        ];
        for (raw, expected) in cases {
            let text = rejected(&raw).to_string();
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        }
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
    fn external_follow_ups_carry_no_zone_and_the_handed_over_tokens() {
        use crate::core::request::DnsMode;
        let external = json!({
            "schema": crate::core::follow_up::SCHEMA, "version": 1, "stage": "verify",
            "domain": "example.com", "attempt": 1, "restarts": 0, "dnsMode": "external",
            "onboardingStartedAt": "2026-11-27T04:30:00Z", "tokens": ["a", "b", "c"]
        });
        let Invocation::FollowUp(f) = parse_invocation(&external.to_string()).unwrap() else {
            panic!("expected a follow-up")
        };
        assert_eq!(f.dns_mode, DnsMode::External);
        assert!(f.hosted_zone_id.is_none());
        assert_eq!(
            parse_invocation(&f.to_input()).unwrap(),
            Invocation::FollowUp(f)
        );
        for (field, value, expected) in [
            ("hostedZoneId", json!("Z1"), "no hostedZoneId"),
            ("tokens", json!([]), "handed-over tokens"),
            ("stage", json!("awaitZone"), "needs stage"),
            ("dnsMode", json!("auto"), "is \"auto\""),
            ("dnsMode", json!("bind"), "malformed"),
        ] {
            let mut bad = external.clone();
            bad[field] = value;
            let text = rejected(&bad.to_string()).to_string();
            assert!(
                text.contains(expected),
                "{field}: {expected:?} not in {text:?}"
            );
        }
        // A Route 53 chain's payload is unchanged: no dnsMode written.
        let route53 = include_str!("../../../tests/fixtures/payloads/follow-up-v1-verify.json");
        let Invocation::FollowUp(f) = parse_invocation(route53).unwrap() else {
            panic!("expected a follow-up")
        };
        assert_eq!(f.dns_mode, DnsMode::Route53);
        assert!(!f.to_input().contains("dnsMode"));
    }

    #[test]
    fn cloudtrail_triggers_never_carry_a_dns_mode() {
        let detail = json!({
            "eventSource": "route53.amazonaws.com", "eventName": "CreateHostedZone",
            "requestParameters": {"name": "example.com", "dnsMode": "external"},
            "responseElements": {"hostedZone": {"id": "/hostedzone/Z1", "name": "example.com."}}
        });
        let r = onboard(&envelope("aws.route53", CLOUDTRAIL_DETAIL_TYPE, detail));
        assert_eq!(r.dns_mode, None);
        assert_eq!(r.trigger, Trigger::HostedZoneCreated);
    }

    #[test]
    fn follow_up_round_trips_and_is_validated() {
        let payload = json!({
            "schema": crate::core::follow_up::SCHEMA, "version": 1, "stage": "verify", "domain": "example.com",
            "hostedZoneId": "Z1", "attempt": 2, "restarts": 0,
            "onboardingStartedAt": "2026-11-27T04:30:00Z", "tokens": ["a", "b", "c"]
        });
        let Invocation::FollowUp(f) = parse_invocation(&payload.to_string()).unwrap() else {
            panic!("expected a follow-up")
        };
        assert_eq!(f.attempt, 2);
        assert_eq!(
            parse_invocation(&f.to_input()).unwrap(),
            Invocation::FollowUp(f)
        );

        let mut v2 = payload.clone();
        v2["version"] = json!(2);
        assert!(rejected(&v2.to_string())
            .to_string()
            .contains("reads version 1"));
        let mut no_tokens = payload.clone();
        no_tokens["tokens"] = json!([]);
        assert!(rejected(&no_tokens.to_string())
            .to_string()
            .contains("needs hostedZoneId"));
        let mut bad_domain = payload;
        bad_domain["domain"] = json!("*.example.com");
        let r = rejected(&bad_domain.to_string());
        assert!(matches!(r.reason, RejectReason::Domain(_)));
    }

    /// Payloads earlier releases wrote into schedules must still be read.
    #[test]
    fn every_captured_payload_is_still_read() {
        let fixtures: &[(&str, &str)] = &[
            (
                "follow-up-v1-verify",
                include_str!("../../../tests/fixtures/payloads/follow-up-v1-verify.json"),
            ),
            (
                "follow-up-v1-await-zone",
                include_str!("../../../tests/fixtures/payloads/follow-up-v1-await-zone.json"),
            ),
            (
                "follow-up-v1-restarted",
                include_str!("../../../tests/fixtures/payloads/follow-up-v1-restarted.json"),
            ),
            (
                "deferred-v1-onboard",
                include_str!("../../../tests/fixtures/payloads/deferred-v1-onboard.json"),
            ),
            (
                "deferred-v1-onboard-registration",
                include_str!(
                    "../../../tests/fixtures/payloads/deferred-v1-onboard-registration.json"
                ),
            ),
            (
                "deferred-v1-follow-up",
                include_str!("../../../tests/fixtures/payloads/deferred-v1-follow-up.json"),
            ),
            (
                "follow-up-v1-external",
                include_str!("../../../tests/fixtures/payloads/follow-up-v1-external.json"),
            ),
            (
                "deferred-v1-onboard-external",
                include_str!("../../../tests/fixtures/payloads/deferred-v1-onboard-external.json"),
            ),
        ];
        let on_disk = std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/payloads"
        ))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
        assert_eq!(
            on_disk,
            fixtures.len(),
            "a captured payload is not read here"
        );
        for (name, raw) in fixtures {
            let invocation = parse_invocation(raw).unwrap_or_else(|e| panic!("{name}: {e}"));
            match (name.split('-').next().unwrap(), invocation) {
                ("follow", Invocation::FollowUp(f)) => assert_eq!(
                    f.onboarding_started_at.to_rfc3339(),
                    "2026-11-27T09:15:02+00:00"
                ),
                ("deferred", Invocation::Deferred(d)) => {
                    assert!(d.deferrals >= 1 && d.last_error.is_some(), "{name}");
                    // What a release writes back is what it read.
                    assert_eq!(
                        parse_invocation(&d.to_input()).unwrap(),
                        Invocation::Deferred(d)
                    );
                }
                (_, other) => panic!("{name} read as {other:?}"),
            }
        }
    }

    #[test]
    fn deferred_payloads_are_checked_like_the_work_they_carry() {
        let onboard = include_str!("../../../tests/fixtures/payloads/deferred-v1-onboard.json");
        let cases = [
            (
                onboard.replace("\"version\":1", "\"version\":2"),
                "reads version 1",
            ),
            (
                onboard.replace("mail.acme-tenant.com", "co.uk"),
                "public suffix",
            ),
            (
                onboard.replace("\"kind\":\"onboard\"", "\"kind\":\"reconcile\""),
                "malformed",
            ),
            (
                onboard.replace("\"deferrals\":1", "\"deferrals\":-1"),
                "malformed",
            ),
            (
                onboard.replace(
                    "\"trigger\":\"custom\",\"source\":\"com.example.saas\",",
                    "\"trigger\":\"custom\",",
                ),
                "work.source",
            ),
            (
                onboard.replace("dkim-autopilot/deferred", "dkim-autopilot/deferal"),
                "reads \"dkim-autopilot/follow-up\", \"dkim-autopilot/deferred\",",
            ),
            (
                include_str!("../../../tests/fixtures/payloads/deferred-v1-follow-up.json")
                    .replace("\"attempt\":1", "\"attempt\":0"),
                "at least 1",
            ),
        ];
        for (raw, expected) in cases {
            let text = rejected(&raw).to_string();
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        }
    }
}
