//! What invoked the function: an EventBridge event (a custom one from an
//! application, or an AWS API call recorded by CloudTrail), or a payload one of
//! this function's own schedules carried back. Everything else is refused here,
//! before any AWS call. One file per source.

mod cloudtrail;
mod custom;
mod fields;
mod scheduled;
mod test_support;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

use super::chain::FollowUp;
use super::deferral::Deferred;
use super::reconcile::ReconcileRun;
use super::rejection::type_name;
use super::rejection::Rejection;
use fields::Fields;

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

/// An operator's request (`dkimctl`) read as the function will read it once the bus
/// delivers it: the same rules, before anything is sent. Also holds `source` and `bus`
/// to the rules of the template's parameters and of `PutEvents`.
pub fn check_request(
    bus: &str,
    source: &str,
    detail_type: &str,
    detail: &Value,
) -> Result<Invocation, Rejection> {
    let bus_ok = (1..=256).contains(&bus.len())
        && bus
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/.-_".contains(&b));
    if !bus_ok {
        return Err(Rejection::invalid_event(
            "bus",
            format!("\"{bus}\" must be an event bus name: 1 to 256 of A-Z a-z 0-9 / . - _"),
        ));
    }
    let source_ok = (1..=256).contains(&source.len())
        && !source.starts_with("aws.")
        && source
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !source_ok {
        return Err(Rejection::invalid_event(
            "source",
            format!("\"{source}\" must be 1 to 256 of A-Z a-z 0-9 . _ - and not start with \"aws.\" (EventBridge keeps those for AWS)"),
        ));
    }
    let envelope = serde_json::json!({
        "version": "0", "id": "", "detail-type": detail_type, "source": source,
        "account": "", "time": "1970-01-01T00:00:00Z", "region": "", "resources": [],
        "detail": detail,
    });
    parse_eventbridge(envelope)
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
        scheduled::parse_scheduled(value)
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
    use super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn an_operators_request_is_read_by_the_same_rules_before_it_is_sent() {
        let onboard = check_request(
            "default",
            "my.saas.onboarding",
            CUSTOM_DETAIL_TYPE,
            &json!({"domain": "Example.COM", "tenantId": "t-1", "dnsMode": "external"}),
        );
        let Ok(Invocation::Onboard(request)) = onboard else {
            panic!("{onboard:?}")
        };
        assert_eq!(request.domain.as_str(), "example.com");
        let dry = check_request("b", "s", RECONCILE_DETAIL_TYPE, &json!({"dryRun": true}));
        assert!(
            matches!(dry, Ok(Invocation::Reconcile(run)) if run.dry_run && run.run_id.is_none())
        );
        for (bus, source, detail, rule) in [
            (
                "default",
                "my.saas",
                json!({"domain": "-bad-.com"}),
                "\"-bad-.com\"",
            ),
            (
                "default",
                "my.saas",
                json!({"domain": "a.com", "dnsMode": "dns"}),
                "`detail.dnsMode`",
            ),
            (
                "default",
                "aws.events",
                json!({"domain": "a.com"}),
                "`source`",
            ),
            ("no spaces", "my.saas", json!({"domain": "a.com"}), "`bus`"),
        ] {
            let err = check_request(bus, source, CUSTOM_DETAIL_TYPE, &detail).unwrap_err();
            assert!(err.to_string().contains(rule), "{rule}: {err}");
        }
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
}
