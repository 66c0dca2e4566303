//! Easy DKIM key length (`DKIM_KEY_LENGTH`): a verified identity's next key is moved
//! to the configured length with `PutEmailIdentityDkimSigningAttributes`, at most once
//! a day, in the reconcile and at verification. The emulator, like SES, refuses a
//! second change within a day and a change to the length already set. The compiled
//! function runs through the Runtime API.
//!
//! The reconcile sees the whole account, so every test here empties the emulator
//! first and they run one at a time.

mod support;

use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};
use support::runtime_api::{stop_and_read_stdout, RuntimeApi};
use support::*;
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const PUT: &str = "PutEmailIdentityDkimSigningAttributes";
const TAG: &str = "dkim-autopilot:key-length-changed-at";
const RSA_1024: &str = "RSA_1024_BIT";
const RSA_2048: &str = "RSA_2048_BIT";

async fn sesv2() -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(sdk_config().await)
}

/// The identity's tags, as `GetEmailIdentity` returns them.
async fn tag_of(domain: &str) -> Option<String> {
    let answer = sesv2()
        .await
        .get_email_identity()
        .email_identity(domain)
        .send()
        .await
        .unwrap();
    answer
        .tags()
        .iter()
        .find(|t| t.key() == TAG)
        .map(|t| t.value().to_owned())
}

/// Say the function's change happened `hours` ago (what a day's wait looks like).
async fn backdate_tag(domain: &str, hours: i64) {
    let at = (Utc::now() - TimeDelta::hours(hours)).to_rfc3339();
    let tag = aws_sdk_sesv2::types::Tag::builder()
        .key(TAG)
        .value(at)
        .build()
        .unwrap();
    sesv2()
        .await
        .tag_resource()
        .resource_arn(format!(
            "arn:aws:ses:{REGION}:123456789012:identity/{domain}"
        ))
        .tags(tag)
        .send()
        .await
        .unwrap();
}

/// A reconcile to its end, with the emulator's call log emptied first.
async fn reconcile(api: &RuntimeApi, dry_run: bool) -> Value {
    set_throttling(json!([])).await;
    reconcile_through(api, dry_run).await
}

fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == kind)
        .map(|e| &e["detail"])
        .collect()
}

#[tokio::test]
async fn a_1024_bit_identity_is_upgraded_once_and_not_again_within_the_day() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let (domain, _zone, tokens) = verified("oldkey").await;
    set_key_lengths(&domain, RSA_1024, RSA_1024).await;
    let subscriber = Subscriber::for_domain(&domain).await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&function_env());

    let first = reconcile(&api, false).await;
    assert_eq!(
        first["counts"]["keyLength"],
        json!({"current1024": 1, "current2048": 0, "changed": 1, "waiting": 0, "refused": 0}),
        "{first}"
    );
    assert_eq!(call_log("ses", PUT).await.len(), 1);
    assert_eq!(
        key_lengths(&domain).await,
        (RSA_1024.to_owned(), RSA_2048.to_owned()),
        "the next key is 2048; the current one keeps its length until SES makes a new key"
    );
    let changed_at = tag_of(&domain).await.expect("the change is remembered");
    let at = chrono::DateTime::parse_from_rfc3339(&changed_at).unwrap();
    assert!((Utc::now() - at.with_timezone(&Utc)) < TimeDelta::minutes(5));
    let events = subscriber.received().await;
    let upgraded = events_of(&events, "DKIM Key Upgraded");
    assert_eq!(upgraded.len(), 1, "{events:?}");
    assert_eq!(
        upgraded[0]["keyLength"],
        json!({"current": RSA_1024, "next": RSA_2048, "previousNext": RSA_1024})
    );
    assert_eq!(upgraded[0]["tokens"], json!(tokens));
    assert_eq!(upgraded[0]["domain"], domain);

    // A second pass: already at the configured length, nothing to ask.
    let second = reconcile(&api, false).await;
    assert_eq!(second["counts"]["keyLength"]["changed"], 0, "{second}");
    assert!(call_log("ses", PUT).await.is_empty());

    // Someone sets the next key back to 1024 the same day: the function does not ask
    // SES again (SES would refuse) until a day has passed since its own change.
    set_key_lengths(&domain, RSA_1024, RSA_1024).await;
    let third = reconcile(&api, false).await;
    assert_eq!(third["counts"]["keyLength"]["waiting"], 1, "{third}");
    assert_eq!(third["counts"]["keyLength"]["changed"], 0, "{third}");
    assert!(call_log("ses", PUT).await.is_empty());

    backdate_tag(&domain, 25).await;
    let fourth = reconcile(&api, false).await;
    assert_eq!(fourth["counts"]["keyLength"]["changed"], 1, "{fourth}");
    assert_eq!(call_log("ses", PUT).await.len(), 1);
    assert_eq!(key_lengths(&domain).await.1, RSA_2048);
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn keep_never_asks_and_a_dry_run_only_lists_the_change() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let (domain, _zone, _tokens) = verified("keepkey").await;
    set_key_lengths(&domain, RSA_1024, RSA_1024).await;
    let api = RuntimeApi::start().await;

    let mut keep = function_env();
    keep.push(("DKIM_KEY_LENGTH", "keep".into()));
    let function = api.spawn_function(&keep);
    let kept = reconcile(&api, false).await;
    assert_eq!(kept["counts"].get("keyLength"), None, "{kept}");
    assert!(call_log("ses", PUT).await.is_empty());
    assert!(
        call_log("ses", "GetEmailIdentity").await.is_empty(),
        "keep reads no key length"
    );
    stop_and_read_stdout(function).await;

    let function = api.spawn_function(&function_env());
    let planned = reconcile(&api, true).await;
    assert_eq!(planned["counts"]["keyLength"]["changed"], 1, "{planned}");
    assert!(
        planned.to_string().contains("changeKeyLength"),
        "the plan lists it: {planned}"
    );
    assert!(call_log("ses", PUT).await.is_empty());
    assert_eq!(key_lengths(&domain).await.1, RSA_1024);
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn at_verification_the_next_key_takes_the_configured_length() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let domain = unique_domain("newkey");
    create_zone(&domain).await;
    let subscriber = Subscriber::for_domain(&domain).await;
    set_throttling(json!([])).await;
    let api = RuntimeApi::start().await;
    let mut short = function_env();
    short.push(("DKIM_KEY_LENGTH", "1024".into()));
    let function = api.spawn_function(&short);

    let answer = api
        .invoke(&custom_event(json!({"domain": domain})))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "published", "{answer}");
    assert!(
        call_log("ses", PUT).await.is_empty(),
        "not before it is verified"
    );
    let first = answer["followUp"]["scheduleName"].as_str().unwrap();
    let verified = fire_through(&api, first).await;
    assert_eq!(verified["outcome"], "verified", "{verified}");
    assert_eq!(call_log("ses", PUT).await.len(), 1);
    assert_eq!(
        key_lengths(&domain).await,
        (RSA_2048.to_owned(), RSA_1024.to_owned())
    );
    let events = subscriber.received().await;
    assert_eq!(
        events_of(&events, "DKIM Verified")[0]["keyLength"],
        json!({"current": RSA_2048, "next": RSA_2048}),
        "DKIM Verified says how SES signed when it verified"
    );
    assert_eq!(
        events_of(&events, "DKIM Key Upgraded")[0]["keyLength"]["next"],
        RSA_1024
    );
    stop_and_read_stdout(function).await;
}
