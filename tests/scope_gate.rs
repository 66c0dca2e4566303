//! The one scope gate, through the Lambda Runtime API: with `HOSTED_ZONE_IDS` naming
//! one zone, work for a domain in another zone is answered `Domain Skipped`
//! (`ZoneNotAllowed`) whatever brought it (a custom event, a CloudTrail
//! `CreateHostedZone`, a follow-up check, an offboarding). No AWS call names that
//! zone (the emulator's call log says so), nothing is written or removed, and the
//! invocation succeeds. In AWS the template narrows the IAM policy to the same zones,
//! so any such call would be AccessDenied: half-written work, or a permanent error.

mod support;

use chrono::{TimeDelta, Utc};
use dkim_autopilot::core::chain::{Chain, FollowUp};
use dkim_autopilot::core::ids::{DomainName, HostedZoneId};
use dkim_autopilot::core::records::DkimTokens;
use serde_json::{json, Value};
use support::runtime_api::RuntimeApi;
use support::*;

/// The answer must be the gate's, naming the zone.
fn assert_not_allowed(what: &str, answer: &Value, zone: &str) {
    assert_eq!(answer["outcome"], "skipped", "{what}: {answer}");
    assert_eq!(answer["reasonCode"], "ZoneNotAllowed", "{what}: {answer}");
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(zone), "{what}: {reason}");
}

#[tokio::test]
async fn work_in_a_zone_outside_hosted_zone_ids_names_it_nowhere_and_changes_nothing() {
    // GIVEN a deployment narrowed to one zone, and domains in another zone of the account
    ensure_shared_resources().await;
    let allowed = create_zone(&unique_domain("gate-allowed")).await;
    let outside_domain = unique_domain("gate-outside");
    let outside = create_zone(&outside_domain).await;
    let sub_domain = format!("mail.{outside_domain}");
    // … and a domain onboarded before the deployment was narrowed, in a third zone.
    let onboarded = unique_domain("gate-onboarded");
    let onboarded_zone = create_zone(&onboarded).await;
    let before = invoke(&aws().await, &custom_event(json!({"domain": onboarded}))).await;
    assert!(
        matches!(before, Ok(ref r) if r.metric_outcome() == "published"),
        "{before:?}"
    );
    let onboarded_schedules = schedules_for(&onboarded).await;
    assert_eq!(onboarded_schedules.len(), 1);
    let calls_naming_it = calls_naming("route53", &onboarded_zone).await.len();
    let subscriber = Subscriber::for_pattern(
        &unique_domain("gate").replace('.', "-"),
        json!({"source": ["dkim-autopilot"], "detail-type": ["Domain Skipped"],
            "detail": {"domain": [&outside_domain, &sub_domain, &onboarded]}}),
    )
    .await;
    let api = RuntimeApi::start().await;
    let mut env = function_env();
    env.push(("HOSTED_ZONE_IDS", allowed.clone()));
    let function = api.spawn_function(&env);

    // WHEN a custom event names a domain whose zone is found by name
    let found_by_name = api
        .invoke(&custom_event(json!({"domain": sub_domain})))
        .await
        .expect("answered");
    // WHEN a custom event names the zone itself
    let named = api
        .invoke(&custom_event(
            json!({"domain": outside_domain, "hostedZoneId": outside}),
        ))
        .await
        .expect("answered");
    // WHEN CloudTrail reports the zone's creation
    let created = api
        .invoke(&create_hosted_zone(&outside_domain, &outside))
        .await
        .expect("answered");
    // WHEN a follow-up check of a chain in that zone fires (begun before the narrowing)
    let chain = FollowUp::Published {
        chain: Chain::starting(
            DomainName::parse(&outside_domain).unwrap(),
            None,
            Utc::now() - TimeDelta::minutes(10),
        ),
        zone: HostedZoneId::parse(&outside).unwrap(),
        tokens: DkimTokens::parse(&["aaaa1111", "bbbb2222", "cccc3333"]).unwrap(),
    };
    let checked = api.invoke(&chain.to_input()).await.expect("answered");
    // WHEN the domain onboarded before the narrowing is offboarded
    let offboarded = api
        .invoke(&deregistered_event(json!({"domain": onboarded})))
        .await
        .expect("answered");

    // THEN each is the gate's answer
    assert_not_allowed("found by name", &found_by_name, &outside);
    assert_not_allowed("named", &named, &outside);
    assert_not_allowed("CreateHostedZone", &created, &outside);
    assert_not_allowed("check", &checked, &outside);
    assert_not_allowed("offboarding", &offboarded, &onboarded_zone);
    // … no call named the zone, and SES never heard of its domains
    assert_eq!(calls_naming("route53", &outside).await, Vec::<Value>::new());
    assert_eq!(
        calls_naming("route53", &onboarded_zone).await.len(),
        calls_naming_it,
        "the offboarding read or wrote the zone"
    );
    let identities = ses_identities().await;
    assert!(!identities.contains(&outside_domain) && !identities.contains(&sub_domain));
    assert!(calls_naming("ses", &outside_domain).await.is_empty());
    // … nothing was written: no schedule, no record; the chain ended with no next look
    assert!(schedules_for(&outside_domain).await.is_empty());
    assert!(cnames(&outside).await.is_empty());
    // … and the offboarding removed nothing at all
    assert_eq!(schedules_for(&onboarded).await, onboarded_schedules);
    assert_eq!(cnames(&onboarded_zone).await.len(), 3);
    assert!(identities.contains(&onboarded));
    // … and subscribers heard of each skip, with its reason
    let events = subscriber.received().await;
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(events
        .iter()
        .all(|e| e["detail"]["reasonCode"] == "ZoneNotAllowed"));
    support::runtime_api::stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn an_allowed_zone_is_onboarded_as_ever() {
    // GIVEN a deployment narrowed to the domain's own zone
    ensure_shared_resources().await;
    let domain = unique_domain("gate-inside");
    let zone = create_zone(&domain).await;
    let api = RuntimeApi::start().await;
    let mut env = function_env();
    env.push(("HOSTED_ZONE_IDS", format!("Z0NOTTHISONE,{zone}")));
    let function = api.spawn_function(&env);
    // WHEN the domain arrives
    let answer = api
        .invoke(&custom_event(json!({"domain": domain})))
        .await
        .expect("answered");
    // THEN its records are published there
    assert_eq!(answer["outcome"], "published", "{answer}");
    assert_eq!(cnames(&zone).await.len(), 3);
    support::runtime_api::stop_and_read_stdout(function).await;
}
