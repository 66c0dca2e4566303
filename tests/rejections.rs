//! Bad input: a clear rejection naming the input and the rule, and no side effect.
//! One test in its own binary, so nothing else changes the emulator's state meanwhile.

mod support;

use dkim_autopilot::workflow::Response;
use serde_json::{json, Value};
use support::*;

/// What the emulator holds that the function could change.
async fn snapshot() -> (Vec<String>, Vec<String>, Vec<(String, usize)>) {
    let config = sdk_config().await;
    let scheduler = aws_sdk_scheduler::Client::new(config);
    let mut schedules: Vec<String> = scheduler
        .list_schedules()
        .max_results(100)
        .send()
        .await
        .unwrap()
        .schedules()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .collect();
    schedules.sort();
    let route53 = aws_sdk_route53::Client::new(config);
    let mut zones = Vec::new();
    for zone in route53
        .list_hosted_zones()
        .send()
        .await
        .unwrap()
        .hosted_zones()
    {
        let id = zone.id().trim_start_matches("/hostedzone/").to_owned();
        let count = route53
            .list_resource_record_sets()
            .hosted_zone_id(&id)
            .send()
            .await
            .unwrap()
            .resource_record_sets()
            .len();
        zones.push((id, count));
    }
    zones.sort();
    (ses_identities().await, schedules, zones)
}

fn follow_up(change: impl FnOnce(&mut Value)) -> String {
    let mut payload: Value =
        serde_json::from_str(include_str!("../events/scheduler-follow-up.json")).unwrap();
    change(&mut payload);
    payload.to_string()
}

fn domain_event(domain: &str) -> String {
    custom_event(json!({"domain": domain}))
}

#[tokio::test]
async fn malformed_events_and_domains_are_rejected_clearly_with_no_side_effect() {
    let aws = aws().await;
    // A zone under every parent these cases could reach, so a rejection is never
    // just "no zone": the rule itself must refuse.
    create_zone(&unique_domain("bystander")).await;
    let before = snapshot().await;
    let subscriber = Subscriber::for_domain("co.uk").await;
    let long_label = format!("{}.com", "a".repeat(64));
    let long_name = format!(
        "{}.{}.{}.{}.com",
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(60),
        "d".repeat(60)
    );
    let huge = custom_event(json!({"domain": "example.com", "padding": "x".repeat(300 * 1024)}));

    let cases: Vec<(&str, String, &str, &str)> = vec![
        // (case, payload, reason code, text the reason must contain)
        ("empty payload", "".into(), "InvalidEvent", "not valid JSON"),
        (
            "truncated JSON",
            "{\"detail-type\":".into(),
            "InvalidEvent",
            "not valid JSON",
        ),
        (
            "null",
            "null".into(),
            "InvalidEvent",
            "must be a JSON object, got null",
        ),
        ("array", "[]".into(), "InvalidEvent", "got an array"),
        (
            "string",
            "\"example.com\"".into(),
            "InvalidEvent",
            "got a string",
        ),
        ("number", "42".into(), "InvalidEvent", "got a number"),
        (
            "empty object",
            "{}".into(),
            "InvalidEvent",
            "neither an EventBridge event",
        ),
        (
            "envelope without source",
            json!({"detail-type": "Domain Registered", "detail": {}}).to_string(),
            "InvalidEvent",
            "not a valid EventBridge event",
        ),
        (
            "huge payload",
            huge,
            "InvalidEvent",
            "EventBridge events are at most",
        ),
        (
            "detail null",
            custom_event(Value::Null),
            "InvalidEvent",
            "`detail` must be an object, got null",
        ),
        (
            "detail array",
            custom_event(json!(["example.com"])),
            "InvalidEvent",
            "`detail` must be an object",
        ),
        (
            "domain missing",
            custom_event(json!({})),
            "InvalidEvent",
            "`detail.domain` is missing",
        ),
        (
            "domain misspelt",
            custom_event(json!({"domian": "example.com"})),
            "InvalidEvent",
            "`detail.domain` is missing",
        ),
        (
            "domain null",
            custom_event(json!({"domain": null})),
            "InvalidEvent",
            "`detail.domain` is missing",
        ),
        (
            "domain number",
            custom_event(json!({"domain": 42})),
            "InvalidEvent",
            "`detail.domain` must be a string, got a number",
        ),
        (
            "domain array",
            custom_event(json!({"domain": ["a.com"]})),
            "InvalidEvent",
            "must be a string, got an array",
        ),
        (
            "tenant number",
            custom_event(json!({"domain": "example.com", "tenantId": 7})),
            "InvalidEvent",
            "`detail.tenantId` must be a string",
        ),
        (
            "tenant empty",
            custom_event(json!({"domain": "example.com", "tenantId": " "})),
            "InvalidEvent",
            "`detail.tenantId` must not be empty",
        ),
        (
            "tenant control char",
            custom_event(json!({"domain": "example.com", "tenantId": "a\u{0007}b"})),
            "InvalidEvent",
            "control characters",
        ),
        (
            "tenant too long",
            custom_event(json!({"domain": "example.com", "tenantId": "t".repeat(300)})),
            "InvalidEvent",
            "at most 256",
        ),
        (
            "zone id garbage",
            custom_event(json!({"domain": "example.com", "hostedZoneId": "Z1/../../x"})),
            "InvalidEvent",
            "`detail.hostedZoneId`",
        ),
        (
            "zone id number",
            custom_event(json!({"domain": "example.com", "hostedZoneId": 12})),
            "InvalidEvent",
            "`detail.hostedZoneId` must be a string",
        ),
        (
            "unknown detail-type",
            json!({"detail-type": "Domain Deleted", "source": "x", "detail": {}}).to_string(),
            "InvalidEvent",
            "\"Domain Deleted\"",
        ),
        (
            "own outcome event",
            include_str!("../events/outcomes/dkim-verified.json").into(),
            "InvalidEvent",
            "\"DKIM Verified\"",
        ),
        (
            "other Route 53 call",
            cloudtrail(
                "aws.route53",
                json!({"eventSource": "route53.amazonaws.com", "eventName": "DeleteHostedZone"}),
            ),
            "InvalidEvent",
            "acts only on \"CreateHostedZone\"",
        ),
        (
            "wrong eventSource",
            cloudtrail(
                "aws.route53",
                json!({"eventSource": "s3.amazonaws.com", "eventName": "CreateHostedZone"}),
            ),
            "InvalidEvent",
            "`detail.eventSource`",
        ),
        (
            "CreateHostedZone without response",
            cloudtrail(
                "aws.route53",
                json!({"eventSource": "route53.amazonaws.com", "eventName": "CreateHostedZone", "requestParameters": {"name": "example.com"}}),
            ),
            "InvalidEvent",
            "`detail.responseElements` is missing",
        ),
        (
            "registerDomain without name",
            cloudtrail(
                "aws.route53domains",
                json!({"eventSource": "route53domains.amazonaws.com", "eventName": "registerDomain", "requestParameters": {}}),
            ),
            "InvalidEvent",
            "`detail.requestParameters.domainName` is missing",
        ),
        (
            "follow-up version 2",
            follow_up(|p| p["version"] = json!(2)),
            "InvalidEvent",
            "reads version 1",
        ),
        (
            "follow-up unknown field",
            follow_up(|p| p["extra"] = json!(true)),
            "InvalidEvent",
            "unknown field",
        ),
        (
            "follow-up other schema",
            follow_up(|p| p["schema"] = json!("someone-else/v1")),
            "InvalidEvent",
            "`schema`",
        ),
        (
            "follow-up attempt 0",
            follow_up(|p| p["attempt"] = json!(0)),
            "InvalidEvent",
            "`attempt` must be at least 1",
        ),
        (
            "follow-up two tokens",
            follow_up(|p| p["tokens"] = json!(["a", "b"])),
            "InvalidEvent",
            "expected 3 DKIM tokens",
        ),
        (
            "follow-up bad token",
            follow_up(|p| p["tokens"] = json!(["a", "b", "c.evil.com"])),
            "InvalidEvent",
            "letters and digits",
        ),
        (
            "follow-up bad domain",
            follow_up(|p| p["domain"] = json!("*.example.com")),
            "DomainRefused",
            "wildcard",
        ),
        (
            "public suffix com",
            domain_event("com"),
            "DomainRefused",
            "public suffix",
        ),
        (
            "public suffix co.uk",
            domain_event("co.uk"),
            "DomainRefused",
            "public suffix \"co.uk\"",
        ),
        (
            "private suffix github.io",
            domain_event("github.io"),
            "DomainRefused",
            "public suffix",
        ),
        (
            "wildcard",
            domain_event("*.example.com"),
            "DomainRefused",
            "wildcard",
        ),
        (
            "underscore",
            domain_event("_dmarc.example.com"),
            "DomainRefused",
            "underscore",
        ),
        (
            "IPv4",
            domain_event("192.0.2.1"),
            "DomainRefused",
            "IP address",
        ),
        (
            "IPv6",
            domain_event("2001:db8::1"),
            "DomainRefused",
            "IP address",
        ),
        (
            "empty domain",
            domain_event(""),
            "DomainRefused",
            "is empty",
        ),
        (
            "blank domain",
            domain_event("   "),
            "DomainRefused",
            "is empty",
        ),
        (
            "double dot",
            domain_event("example..com"),
            "DomainRefused",
            "empty label",
        ),
        (
            "label too long",
            domain_event(&long_label),
            "DomainRefused",
            "64 octets",
        ),
        (
            "name too long",
            domain_event(&long_name),
            "DomainRefused",
            "<token>._domainkey.",
        ),
        (
            "no known suffix",
            domain_event("server.localdomain"),
            "DomainRefused",
            "not under any known public suffix",
        ),
        (
            "reserved TLD",
            domain_event("mail.example.invalid"),
            "DomainRefused",
            "not under any known public suffix",
        ),
        (
            "space",
            domain_event("exa mple.com"),
            "DomainRefused",
            "not allowed in a host name",
        ),
        (
            "leading hyphen",
            domain_event("-bad.com"),
            "DomainRefused",
            "not allowed in a host name",
        ),
        (
            "bad punycode",
            domain_event("xn--zz.com"),
            "DomainRefused",
            "not allowed",
        ),
        (
            "megabyte domain",
            domain_event(&"x".repeat(5000)),
            "DomainRefused",
            "capped at 1024",
        ),
    ];
    assert!(cases.len() >= 30);

    for (case, payload, code, text) in &cases {
        let response = invoke(&aws, payload).await;
        let Ok(Response::Rejected {
            reason_code,
            reason,
            ..
        }) = &response
        else {
            panic!("{case}: expected a rejection, got {response:?}")
        };
        assert_eq!(reason_code, code, "{case}: {reason}");
        assert!(reason.contains(text), "{case}: {text:?} not in {reason:?}");
        assert!(
            reason.len() < 600,
            "{case}: the reason quotes a shortened input ({} chars)",
            reason.len()
        );
    }

    assert_eq!(
        snapshot().await,
        before,
        "no identity, schedule or record was touched"
    );
    // Refused domains are announced; malformed events (no domain to speak of) only logged.
    let events = subscriber.received().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "Domain Rejected");
    assert_eq!(events[0]["detail"]["reasonCode"], "DomainRefused");
}

#[tokio::test]
async fn failed_and_private_cloudtrail_calls_do_nothing() {
    let aws = aws().await;
    let failed = invoke(
        &aws,
        include_str!("../events/route53-create-hosted-zone-failed.json"),
    )
    .await;
    let Ok(Response::Ignored { reason }) = failed else {
        panic!("{failed:?}")
    };
    assert!(reason.contains("HostedZoneAlreadyExists"), "{reason}");
    let private = invoke(
        &aws,
        include_str!("../events/route53-create-private-hosted-zone.json"),
    )
    .await;
    let Ok(Response::Rejected {
        reason_code,
        reason,
        ..
    }) = private
    else {
        panic!("{private:?}")
    };
    assert_eq!(reason_code, "PrivateZone");
    assert!(reason.contains("Z0PRIVATEEXAMPLEZONE"), "{reason}");
}
