//! At scale, as Lambda runs it: the emulator throttles SES at one call per second per
//! API (as AWS documents) and Route 53 at five per second; the compiled function must
//! stay under those limits, and what still throttles must be deferred, never lost.
//! One test at a time: throttling is global to the emulator.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::runtime_api::{metric_documents, stop_and_read_stdout, RuntimeApi};
use support::*;
use tokio::process::Child;
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// AWS's documented limits.
fn aws_limits() -> Value {
    json!([
        {"service": "ses", "perAction": true, "calls": 1, "perSeconds": 1.0},
        {"service": "route53", "perAction": false, "calls": 5, "perSeconds": 1.0}
    ])
}

fn throttled_calls(report: &Value) -> u64 {
    report["throttled"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0)
}

fn env_with(extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = function_env();
    for (key, value) in extra {
        env.push((key, value.to_string()));
    }
    env
}

/// Fire every deferral schedule of these domains (as Scheduler would, early) until
/// none is left; returns how many fired.
async fn fire_deferrals(api: &RuntimeApi, domains: &[String]) -> usize {
    let mut fired = 0;
    for _round in 0..20 {
        let mut pending = Vec::new();
        for domain in domains {
            for name in schedules_for(domain).await {
                if name.contains("-d")
                    && name.rsplit('-').next().is_some_and(|s| s.starts_with('d'))
                {
                    pending.push(name);
                }
            }
        }
        if pending.is_empty() {
            return fired;
        }
        for name in pending {
            let seen = schedule(&name).await.expect("deferral schedule");
            complete_schedule(&name).await;
            let answer = api
                .invoke(&seen.raw_input)
                .await
                .expect("deferred work runs");
            assert!(
                ["published", "deferred"].contains(&answer["outcome"].as_str().unwrap()),
                "{answer}"
            );
            fired += 1;
        }
    }
    panic!("deferrals still pending after 20 rounds");
}

#[tokio::test]
async fn one_process_stays_under_the_limits_without_a_single_throttle() {
    let _guard = ONE_AT_A_TIME.lock().await;
    ensure_shared_resources().await;
    let domains: Vec<String> = (0..4).map(|_| unique_domain("paced")).collect();
    for domain in &domains {
        create_zone(domain).await;
    }
    set_throttling(aws_limits()).await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&function_env());

    let mut checks = Vec::new();
    for domain in &domains {
        let answer = api
            .invoke(&custom_event(json!({"domain": domain})))
            .await
            .unwrap();
        assert_eq!(answer["outcome"], "published", "{answer}");
        checks.push(
            answer["followUp"]["scheduleName"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // All first checks due at once: GetIdentityDkimAttributes is paced too.
    for name in &checks {
        let seen = schedule(name).await.unwrap();
        complete_schedule(name).await;
        let answer = api.invoke(&seen.raw_input).await.unwrap();
        assert_eq!(answer["outcome"], "verified", "{answer}");
    }
    let report = throttle_report().await;
    let verify = call_log("ses", "VerifyDomainDkim").await;
    let signing = call_log("ses", "GetEmailIdentity").await;
    set_throttling(json!([])).await;
    assert_eq!(throttled_calls(&report), 0, "{report}");
    // SES v2's GetEmailIdentity has its own budget, and keeps to it: one at each
    // onboarding and one at each verification.
    for (api, log, expected) in [
        ("VerifyDomainDkim", verify, 4),
        ("GetEmailIdentity", signing, 8),
    ] {
        let times: Vec<f64> = log.iter().map(|c| c["t"].as_f64().unwrap()).collect();
        assert_eq!(times.len(), expected, "{api}");
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= 1.0, "{api} calls {times:?}");
        }
    }

    // Each invocation reported its outcome and its calls as metrics.
    let stdout = stop_and_read_stdout(function).await;
    let documents = metric_documents(&stdout);
    let outcomes: Vec<&str> = documents
        .iter()
        .filter_map(|d| d["Outcome"].as_str())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "published").count(), 4);
    assert_eq!(outcomes.iter().filter(|o| **o == "verified").count(), 4);
    assert!(
        documents.iter().all(|d| d.get("Throttles").is_none()),
        "no throttle metric without a throttle"
    );
    let published = documents
        .iter()
        .find(|d| d["Outcome"] == "published")
        .unwrap();
    // Zone listing, its opt-out tag, VerifyDomainDkim then GetEmailIdentity, the records ∥
    // the schedule, the event.
    assert_eq!(published["AwsCalls"], 7, "{published}");
    assert_eq!(published["FunctionName"], "dkim-autopilot");
    let verified = documents
        .iter()
        .find(|d| d["Outcome"] == "verified")
        .unwrap();
    assert!(
        verified["SecondsToVerification"].as_i64().unwrap() >= 0,
        "{verified}"
    );
}

#[tokio::test]
async fn work_throttled_past_the_sdk_retries_is_deferred_and_completes_when_its_schedule_fires() {
    let _guard = ONE_AT_A_TIME.lock().await;
    ensure_shared_resources().await;
    let (first, second) = (unique_domain("defer-a"), unique_domain("defer-b"));
    create_zone(&first).await;
    let zone = create_zone(&second).await;
    // One VerifyDomainDkim a minute: the second onboarding cannot get through.
    set_throttling(json!([{"service": "ses", "perAction": true, "calls": 1, "perSeconds": 60.0}]))
        .await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&function_env());

    let answer = api
        .invoke(&custom_event(json!({"domain": first})))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "published", "{answer}");
    let event = custom_event(json!({"domain": second, "tenantId": "t-9"}));
    let answer = api.invoke(&event).await.expect("deferral is a success");
    set_throttling(json!([])).await;
    assert_eq!(answer["outcome"], "deferred", "{answer}");
    assert_eq!(answer["work"], "onboard");
    assert_eq!(answer["reasonCode"], "Throttling");
    let name = answer["schedule"]["scheduleName"].as_str().unwrap();
    assert_eq!(name, format!("dkim-{second}-onboard-d1"));
    assert!(
        !ses_identities().await.contains(&second),
        "nothing half-done"
    );
    assert!(cnames(&zone).await.is_empty());

    // The schedule carries the same work; when it fires, the onboarding completes.
    let seen = schedule(name).await.expect("the deferral schedule");
    assert_eq!(seen.target_arn, FUNCTION_ARN);
    assert_eq!(seen.input["work"]["tenantId"], "t-9");
    complete_schedule(name).await;
    // Redelivered (Scheduler is at-least-once): both runs end in the same state.
    let answer = api.invoke(&seen.raw_input).await.unwrap();
    assert_eq!(answer["outcome"], "published", "{answer}");
    let again = api.invoke(&seen.raw_input).await.unwrap();
    assert_eq!(again["outcome"], "published", "{again}");
    assert_eq!(again["followUp"]["alreadyScheduled"], true);
    assert_eq!(cnames(&zone).await.len(), 3);
    let follow_up = schedule(answer["followUp"]["scheduleName"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        follow_up.input["onboardingStartedAt"], seen.input["work"]["startedAt"],
        "the deadline still counts from the first attempt"
    );
    assert_eq!(follow_up.input["tenantId"], "t-9");

    let documents = metric_documents(&stop_and_read_stdout(function).await);
    let deferred = documents
        .iter()
        .find(|d| d["Outcome"] == "deferred")
        .expect("deferred metric");
    assert_eq!(deferred["ReasonCode"], "Throttling");
    let throttles = documents
        .iter()
        .find(|d| d["Service"] == "ses")
        .expect("a throttle metric for SES");
    assert!(
        throttles["Throttles"].as_u64().unwrap() >= 2,
        "every throttled attempt, the SDK's retries included: {throttles}"
    );
}

#[tokio::test]
async fn three_processes_share_the_budget_and_lose_nothing() {
    let _guard = ONE_AT_A_TIME.lock().await;
    ensure_shared_resources().await;
    let domains: Vec<String> = (0..6).map(|_| unique_domain("shared")).collect();
    let mut zones = Vec::new();
    for domain in &domains {
        zones.push(create_zone(domain).await);
    }
    set_throttling(aws_limits()).await;
    let env = env_with(&[("RESERVED_CONCURRENCY", "3")]);
    let processes: Vec<(RuntimeApi, Child)> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            let api = RuntimeApi::start().await;
            let child = api.spawn_function(&env);
            v.push((api, child));
        }
        v
    };
    // Two domains per process, the three processes at once.
    let runs = processes.iter().enumerate().map(|(i, (api, _))| {
        let mine = domains[2 * i..2 * i + 2].to_vec();
        async move {
            let start = Instant::now();
            let mut outcomes = Vec::new();
            for domain in &mine {
                let answer = api
                    .invoke(&custom_event(json!({"domain": domain})))
                    .await
                    .unwrap();
                outcomes.push(answer["outcome"].as_str().unwrap().to_owned());
            }
            (outcomes, start.elapsed())
        }
    });
    let results = futures_util::future::join_all(runs).await;
    for (outcomes, elapsed) in &results {
        assert!(
            outcomes.iter().all(|o| o == "published" || o == "deferred"),
            "{outcomes:?}"
        );
        // Each process takes a third of the budget: when both of its onboardings
        // reached SES, its second VerifyDomainDkim waited ~3.1 s for the first.
        if outcomes.iter().all(|o| o == "published") {
            assert!(*elapsed >= Duration::from_millis(3100), "{elapsed:?}");
        }
    }
    fire_deferrals(&processes[0].0, &domains).await;
    set_throttling(json!([])).await;

    for (domain, zone) in domains.iter().zip(&zones) {
        assert!(ses_identities().await.contains(domain), "{domain} lost");
        assert_eq!(cnames(zone).await.len(), 3, "{domain}: records");
    }
    for (_, child) in processes {
        stop_and_read_stdout(child).await;
    }
}
