//! Zones in another account, as Lambda runs it: with `ROUTE53_ROLE_ARN` set, the compiled
//! function makes every Route 53 call with credentials it assumed from that role through
//! STS (the emulator's), and every SES, Scheduler and EventBridge call with its own. The
//! emulator files assumed credentials under the role's account, so the zone below exists
//! only in the DNS account: the function can find it through the role and nowhere else.
//! The STS client honours the SDK's endpoint settings like every other client
//! (`AWS_ENDPOINT_URL`, and `AWS_ENDPOINT_URL_STS` in the last test): no test-only path.
//! One test at a time: the emulator's call log is global.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_route53::types::RrType;
use serde_json::json;
use support::runtime_api::RuntimeApi;
use support::*;
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// The role a user deploys with templates/dns-account-role.yaml, in another account.
/// The emulator's STS answers AssumeRole for any role ARN, existing or not.
const DNS_ROLE_ARN: &str = "arn:aws:iam::210987654321:role/dkim-autopilot-dns";
const EXTERNAL_ID: &str = "dkim-autopilot-tests";
/// The access key id the function's own credentials carry (`function_env`).
const OWN_KEY: &str = "testing";

/// A Route 53 client in the DNS account: the test plays the DNS team there.
async fn dns_account_route53() -> aws_sdk_route53::Client {
    let config = sdk_config().await;
    let role = aws_config::sts::AssumeRoleProvider::builder(DNS_ROLE_ARN)
        .configure(config)
        .session_name("dns-team")
        .build()
        .await;
    aws_sdk_route53::Client::from_conf(
        aws_sdk_route53::config::Builder::from(config)
            .credentials_provider(role)
            .build(),
    )
}

/// Every call in the emulator's log since the last reset, oldest first: (service,
/// action, access key id). Empty filters are dropped by the emulator: every call.
async fn calls_since_reset() -> Vec<(String, String, String)> {
    call_log("", "")
        .await
        .iter()
        .map(|call| {
            let field = |name: &str| call[name].as_str().unwrap_or_default().to_owned();
            (field("service"), field("action"), field("accessKeyId"))
        })
        .collect()
}

fn env_with(extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = function_env();
    for (key, value) in extra {
        env.push((key, value.to_string()));
    }
    env
}

#[tokio::test]
async fn route53_calls_use_the_assumed_role_and_every_other_call_the_functions_own_credentials() {
    let _guard = ONE_AT_A_TIME.lock().await;
    ensure_shared_resources().await;
    // GIVEN a domain whose public zone lives only in the DNS account
    let domain = unique_domain("xacct");
    let dns = dns_account_route53().await;
    let zone_id = dns
        .create_hosted_zone()
        .name(&domain)
        .caller_reference(unique_domain("ref"))
        .send()
        .await
        .expect("zone in the DNS account")
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    let own_zones = aws_sdk_route53::Client::new(sdk_config().await)
        .list_hosted_zones_by_name()
        .dns_name(&domain)
        .send()
        .await
        .unwrap();
    assert!(
        own_zones
            .hosted_zones()
            .iter()
            .all(|z| !z.id().ends_with(&zone_id)),
        "the zone must not be visible with the function's own credentials"
    );
    set_throttling(json!([])).await; // empties the call log

    // WHEN the function, told to reach Route 53 through the DNS account's role, onboards it
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&env_with(&[
        ("ROUTE53_ROLE_ARN", DNS_ROLE_ARN),
        ("ROUTE53_EXTERNAL_ID", EXTERNAL_ID),
    ]));
    let answer = api
        .invoke(&custom_event(json!({"domain": domain})))
        .await
        .expect("onboarding succeeds");
    assert_eq!(answer["outcome"], "published", "{answer}");
    assert_eq!(
        answer["hostedZoneId"]
            .as_str()
            .map(|z| z.ends_with(&zone_id)),
        Some(true),
        "{answer}"
    );
    // ... and its follow-up finds the domain verified (SES reads public DNS: the DNS account's zone).
    let calls = calls_since_reset().await;
    let schedule_name = answer["followUp"]["scheduleName"]
        .as_str()
        .expect("a follow-up")
        .to_owned();
    let seen = schedule(&schedule_name).await.expect("follow-up schedule");
    complete_schedule(&schedule_name).await;
    set_throttling(json!([])).await;
    let check = api.invoke(&seen.raw_input).await.expect("check succeeds");
    assert_eq!(check["outcome"], "verified", "{check}");
    let check_calls = calls_since_reset().await;
    drop(function);

    // THEN the records are in the DNS account's zone
    let records = dns
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .unwrap();
    let cnames: BTreeMap<String, String> = records
        .resource_record_sets()
        .iter()
        .filter(|s| s.r#type() == &RrType::Cname)
        .map(|s| {
            (
                s.name().trim_end_matches('.').to_owned(),
                s.resource_records()[0].value().to_owned(),
            )
        })
        .collect();
    assert_eq!(cnames.len(), 3, "{cnames:?}");
    assert!(cnames
        .keys()
        .all(|n| n.ends_with(&format!("._domainkey.{domain}"))));

    // ... every Route 53 call was made with one assumed key, got from STS with the function's own
    let route53_keys: BTreeSet<&str> = calls
        .iter()
        .filter(|(service, ..)| service == "route53")
        .map(|(.., key)| key.as_str())
        .collect();
    assert_eq!(route53_keys.len(), 1, "{calls:?}");
    let assumed = *route53_keys.iter().next().unwrap();
    assert_ne!(assumed, OWN_KEY, "{calls:?}");
    let route53_actions: BTreeSet<&str> = calls
        .iter()
        .filter(|(service, ..)| service == "route53")
        .map(|(_, action, _)| action.as_str())
        .collect();
    assert!(
        route53_actions.contains("ListHostedZonesByName")
            && route53_actions.contains("ChangeResourceRecordSets"),
        "{calls:?}"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|(service, ..)| service == "sts")
            .collect::<Vec<_>>(),
        [&(
            "sts".to_owned(),
            "AssumeRole".to_owned(),
            OWN_KEY.to_owned()
        )],
        "one AssumeRole per cold start, signed with the function's own key"
    );
    // ... and every SES, Scheduler and EventBridge call with the function's own key
    for service in ["ses", "scheduler", "events"] {
        let keys: Vec<&(String, String, String)> =
            calls.iter().filter(|(s, ..)| s == service).collect();
        assert!(!keys.is_empty(), "no {service} call: {calls:?}");
        assert!(keys.iter().all(|(.., key)| key == OWN_KEY), "{keys:?}");
    }
    // The check, in the same process, reused the cached credentials: no new AssumeRole.
    assert!(
        check_calls.iter().all(|(service, ..)| service != "sts"),
        "{check_calls:?}"
    );
    assert!(
        check_calls
            .iter()
            .all(|(service, _, key)| (service == "route53") == (key == assumed)),
        "{check_calls:?}"
    );
    assert!(
        check_calls.iter().any(|(service, ..)| service == "ses"),
        "{check_calls:?}"
    );
}

async fn cold_start_output(extra: &[(&'static str, &str)]) -> String {
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&env_with(extra));
    let output = tokio::time::timeout(Duration::from_secs(30), function.wait_with_output())
        .await
        .expect("exits promptly")
        .unwrap();
    assert!(!output.status.success(), "the function must not start");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn a_route53_role_that_is_not_an_iam_role_arn_stops_the_function_at_cold_start() {
    for arn in [
        "dkim-autopilot-dns",
        "arn:aws:iam::210987654321:user/dkim-autopilot-dns",
        "arn:aws:sts::210987654321:assumed-role/dkim-autopilot-dns/s",
    ] {
        let text = cold_start_output(&[("ROUTE53_ROLE_ARN", arn)]).await;
        assert!(
            text.contains(&format!("ROUTE53_ROLE_ARN is \\\"{arn}\\\""))
                || text.contains(&format!("ROUTE53_ROLE_ARN is \"{arn}\"")),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_external_id_without_a_role_is_refused_at_cold_start() {
    let text = cold_start_output(&[("ROUTE53_EXTERNAL_ID", EXTERNAL_ID)]).await;
    assert!(
        text.contains("ROUTE53_EXTERNAL_ID is set but ROUTE53_ROLE_ARN is not"),
        "{text}"
    );
    assert!(
        !text.contains(EXTERNAL_ID),
        "the external id is never logged: {text}"
    );
}

#[tokio::test]
async fn when_sts_cannot_be_reached_the_route53_work_is_deferred_not_judged() {
    let _guard = ONE_AT_A_TIME.lock().await;
    ensure_shared_resources().await;
    let domain = unique_domain("xacct-sts-down");
    set_throttling(json!([])).await;
    let api = RuntimeApi::start().await;
    // STS alone points at a port nothing listens on; every other service is the emulator.
    let function = api.spawn_function(&env_with(&[
        ("ROUTE53_ROLE_ARN", DNS_ROLE_ARN),
        ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"),
    ]));
    let answer = api
        .invoke(&custom_event(json!({"domain": domain})))
        .await
        .expect("a deferral is an answer");
    let calls = calls_since_reset().await;
    drop(function);
    // A credentials failure is transient: deferred with a schedule, never a verdict.
    assert_eq!(answer["outcome"], "deferred", "{answer}");
    assert_eq!(answer["reasonCode"], "NetworkError", "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("error occurred while loading credentials"),
        "{answer}"
    );
    // Route 53 was never called without the role's credentials, nor SES before the zone.
    assert_eq!(
        calls,
        [(
            "scheduler".to_owned(),
            "CreateSchedule".to_owned(),
            OWN_KEY.to_owned()
        )],
        "{calls:?}"
    );
    complete_schedule(answer["schedule"]["scheduleName"].as_str().unwrap()).await;
}
