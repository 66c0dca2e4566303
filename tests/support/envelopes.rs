//! The events the function is sent, built one way for every test: an EventBridge
//! envelope around each kind of detail. Envelope instants (`time`) are carried, never
//! judged, so they stay fixed.

use serde_json::{json, Value};

use super::{unique_domain, REGION};

/// The `source` of the custom events, as an application would send them.
pub const APP_SOURCE: &str = "com.example.saas";

/// One EventBridge event.
pub fn eventbridge(source: &str, detail_type: &str, detail: Value) -> String {
    json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type, "source": source,
        "account": "123456789012", "time": "2026-11-27T04:30:00Z", "region": REGION,
        "resources": [], "detail": detail
    })
    .to_string()
}

/// `Domain Registered` from the application.
pub fn custom_event(detail: Value) -> String {
    eventbridge(APP_SOURCE, "Domain Registered", detail)
}

/// `Domain Deregistered` from the application.
pub fn deregistered_event(detail: Value) -> String {
    eventbridge(APP_SOURCE, "Domain Deregistered", detail)
}

/// `Reconcile Requested`, with an event id of its own (it names the run).
pub fn reconcile_requested(dry_run: bool) -> String {
    let mut event: Value = serde_json::from_str(&eventbridge(
        "ops.tests",
        "Reconcile Requested",
        json!({"dryRun": dry_run}),
    ))
    .unwrap();
    event["id"] = json!(format!("run-{}", unique_domain("id").replace('.', "-")));
    event.to_string()
}

/// An AWS API call as CloudTrail reports it on EventBridge.
pub fn cloudtrail(source: &str, detail: Value) -> String {
    eventbridge(source, "AWS API Call via CloudTrail", detail)
}

/// Route 53 `CreateHostedZone` of a public zone.
pub fn create_hosted_zone(name: &str, zone_id: &str) -> String {
    cloudtrail(
        "aws.route53",
        json!({
            "eventSource": "route53.amazonaws.com", "eventName": "CreateHostedZone",
            "requestParameters": {"name": name, "callerReference": "tests",
                "hostedZoneConfig": {"comment": "", "privateZone": false}},
            "responseElements": {"hostedZone": {"id": format!("/hostedzone/{zone_id}"),
                "name": format!("{name}.")}}
        }),
    )
}

/// A Route 53 Domains call (`registerDomain`, `deleteDomain`, …).
pub fn route53_domains(event_name: &str, request: Value) -> String {
    cloudtrail(
        "aws.route53domains",
        json!({
            "eventSource": "route53domains.amazonaws.com", "eventName": event_name,
            "requestParameters": request, "responseElements": {"operationId": "op-1"}
        }),
    )
}
