//! The compiled function, run as Lambda runs it: a Runtime API server owned by the
//! test hands it every file in `events/`, and the emulator's state is checked after.

mod support;

use std::path::Path;

use serde_json::Value;
use support::clock;
use support::runtime_api::RuntimeApi;
use support::*;

/// Each sample, made to point at names of this run, and what the function must answer.
async fn prepare(file: &str, text: &str) -> (String, &'static str, Option<String>) {
    match file {
        "custom-domain-registered.json" => {
            let parent = unique_domain("rt-custom");
            create_zone(&parent).await;
            let domain = format!("mail.{parent}");
            (
                text.replace("acme-tenant.com", &parent),
                "published",
                Some(domain),
            )
        }
        "custom-domain-registered-external.json" => {
            // No zone anywhere: the records are handed over (tests/handover.rs follows
            // the chain through the runtime, with a DNS server on loopback).
            let domain = format!("mail.{}", unique_domain("rt-external"));
            (
                text.replace("mail.globex-tenant.com", &domain),
                "handedOver",
                None,
            )
        }
        "route53-create-hosted-zone.json" => {
            let domain = unique_domain("rt-zone");
            let zone = create_zone(&domain).await;
            (
                text.replace("example-shop.net", &domain)
                    .replace("Z0123456789EXAMPLEZONE", &zone),
                "published",
                Some(domain),
            )
        }
        "route53-create-private-hosted-zone.json" => {
            let domain = unique_domain("rt-private");
            (
                text.replace("example-shop.net", &domain),
                "rejected",
                Some(format!("internal.{domain}")),
            )
        }
        "route53-create-hosted-zone-failed.json" => (text.to_owned(), "ignored", None),
        "route53domains-register-domain.json" => {
            let domain = unique_domain("rt-registered");
            (
                text.replace("example-registered.org", &domain),
                "retryLater",
                Some(domain),
            )
        }
        "scheduler-follow-up.json" => {
            // A check for a domain SES has never seen: verification is restarted.
            let parent = unique_domain("rt-check");
            let zone = create_zone(&parent).await;
            let text = text
                .replace("acme-tenant.com", &parent)
                .replace("Z0123456789EXAMPLEZONE", &zone);
            (text, "restarted", Some(format!("mail.{parent}")))
        }
        "reconcile-requested.json" | "scheduler-reconcile.json" => {
            // A dry run, five zones a page (RECONCILE_PAGE_SIZE below): with more
            // zones than that in the account, the first page hands over to the next.
            for _ in 0..6 {
                create_zone(&unique_domain("rt-reconcile")).await;
            }
            let text = text.replace("\"dryRun\": false", "\"dryRun\": true");
            (text, "reconcileContinues", None)
        }
        "scheduler-deferred-onboard.json" => {
            // An onboarding a throttle put off, back from its deferral schedule.
            let parent = unique_domain("rt-deferred");
            let zone = create_zone(&parent).await;
            let text = text
                .replace("acme-tenant.com", &parent)
                .replace("Z0123456789EXAMPLEZONE", &zone);
            (text, "published", Some(format!("mail.{parent}")))
        }
        "custom-domain-deregistered.json" => {
            // A tenant onboarded in-process leaves through the compiled function. The
            // tombstone schedule stays, so the state is checked in tests/offboarding.rs.
            let parent = unique_domain("rt-deregistered");
            create_zone(&parent).await;
            let onboarded = invoke(
                &aws().await,
                &custom_event(serde_json::json!({"domain": format!("mail.{parent}")})),
            )
            .await;
            assert!(onboarded.is_ok_and(|r| r.metric_outcome() == "published"));
            (text.replace("acme-tenant.com", &parent), "removed", None)
        }
        "route53domains-delete-domain.json" => {
            // `domainName` as an object `{"name": ...}`, as in AWS's own examples.
            let domain = unique_domain("rt-deleted");
            create_zone(&domain).await;
            let onboarded = invoke(
                &aws().await,
                &custom_event(serde_json::json!({"domain": domain})),
            )
            .await;
            assert!(onboarded.is_ok_and(|r| r.metric_outcome() == "published"));
            (
                text.replace("example-registered.org", &domain),
                "removed",
                None,
            )
        }
        other if other.starts_with("outcomes/") => (text.to_owned(), "rejected", None),
        other => panic!("events/{other} has no expectation in this test: add one"),
    }
}

fn sample_files() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("outcomes")] {
        for entry in std::fs::read_dir(&dir).expect("events/") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(
                    path.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn every_sample_event_through_the_runtime_api() {
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let mut env = function_env();
    env.push(("RECONCILE_PAGE_SIZE", "5".into()));
    let function = api.spawn_function(&env);
    let files = sample_files();
    assert!(
        files.len() >= 11,
        "inbound samples and one sample per outcome event: {files:?}"
    );

    let mut invocations = 0;
    for file in &files {
        invocations += 1;
        let sample = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("events")
                .join(file),
        )
        .unwrap();
        // A new kind of instant in a sample must be judged, or named as carried along.
        for field in clock::instant_fields(&sample) {
            assert!(
                clock::CLOCK_FIELDS.contains(&field.as_str()),
                "{file}: {field} holds an instant; add it to support::clock::CLOCK_FIELDS"
            );
        }
        // The samples keep readable dates; what the function judges moves to now.
        let (text, moved) = clock::relative_to_now(&sample);
        let (payload, expected, domain) = prepare(file, &text).await;
        let answer = api
            .invoke(&payload)
            .await
            .unwrap_or_else(|e| panic!("{file}: function failed: {e}"));
        assert_eq!(answer["outcome"], expected, "{file}: {answer}");
        let Some(domain) = domain else { continue };
        let identity = ses_identities().await.contains(&domain);
        let schedules = schedules_for(&domain).await;
        match expected {
            "published" | "restarted" => {
                assert!(identity, "{file}: SES identity");
                let zone = answer["hostedZoneId"].as_str().map(str::to_owned);
                let schedule_name = answer["followUp"]["scheduleName"].as_str().unwrap();
                assert_eq!(schedules, [schedule_name], "{file}");
                let seen = schedule(schedule_name).await.unwrap();
                assert_eq!(
                    seen.target_arn, FUNCTION_ARN,
                    "{file}: the invoked function's ARN is the target"
                );
                assert_eq!(seen.input["domain"], domain.as_str());
                if let Some(zone) = zone {
                    let records = cnames(&zone).await;
                    assert_eq!(records.len(), 3, "{file}: {records:?}");
                    assert!(records
                        .keys()
                        .all(|k| k.ends_with(&format!("._domainkey.{domain}"))));
                }
                if file == "scheduler-deferred-onboard.json" {
                    assert_eq!(
                        seen.input["onboardingStartedAt"],
                        clock::rewritten(&moved, "startedAt"),
                        "the chain's deadline counts from the first attempt"
                    );
                }
                if file == "custom-domain-registered.json" {
                    assert_eq!(seen.input["tenantId"], "tenant-0042");
                    // Fire the first check through the runtime too: the records are there.
                    complete_schedule(schedule_name).await;
                    invocations += 1;
                    let check = api.invoke(&seen.raw_input).await.expect("check");
                    assert_eq!(check["outcome"], "verified", "{check}");
                }
            }
            "retryLater" => {
                assert!(!identity, "{file}: no identity before the zone exists");
                assert_eq!(schedules.len(), 1, "{file}");
            }
            _ => {
                assert!(!identity, "{file}: no identity");
                assert!(schedules.is_empty(), "{file}: no schedule");
            }
        }
    }
    let stdout = support::runtime_api::stop_and_read_stdout(function).await;
    // One metric document per invocation, its outcome as the answer said.
    let documents = support::runtime_api::metric_documents(&stdout);
    let outcomes: Vec<&str> = documents
        .iter()
        .filter_map(|d| d["Outcome"].as_str())
        .collect();
    assert_eq!(outcomes.len(), invocations, "{outcomes:?}");
    for expected in [
        "published",
        "rejected",
        "ignored",
        "retryLater",
        "restarted",
        "verified",
    ] {
        assert!(
            outcomes.contains(&expected),
            "{expected} not in {outcomes:?}"
        );
    }
    for document in &documents {
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "DkimAutopilot"
        );
        assert_eq!(document["FunctionName"], "dkim-autopilot");
    }
    let private = documents
        .iter()
        .find(|d| d["ReasonCode"] == "PrivateZone")
        .expect("a rejection is counted by its reason code");
    assert_eq!(private["Outcome"], "rejected");
    assert_eq!(
        private["_aws"]["CloudWatchMetrics"][0]["Dimensions"][1],
        serde_json::json!(["FunctionName", "Outcome", "ReasonCode"])
    );

    // Logs are JSON lines (AWS_LAMBDA_LOG_FORMAT=json); rejections carry a reason code.
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(!lines.is_empty(), "JSON logs on stdout: {stdout}");
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["reason_code"] == "PrivateZone"),
        "a structured rejection line: {stdout}"
    );
}

#[tokio::test]
async fn transient_failures_fail_the_invocation_so_lambda_retries() {
    let api = RuntimeApi::start().await;
    let mut env = function_env();
    // Nothing listens on port 9 of loopback: every call is a connection failure.
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()));
    let mut function = api.spawn_function(&env);
    let answer = api
        .invoke(&custom_event(serde_json::json!({"domain": "retry-me.com"})))
        .await;
    let error = answer.expect_err("the invocation must fail");
    assert!(
        error["errorType"]
            .as_str()
            .unwrap()
            .starts_with("Retryable."),
        "{error}"
    );
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("will be retried"),
        "{error}"
    );
    // A malformed event on the same dead endpoint still succeeds: it needs no AWS call.
    let answer = api
        .invoke(&custom_event(serde_json::json!({"domian": "typo.com"})))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "rejected");
    function.kill().await.ok();
}

#[tokio::test]
async fn a_missing_required_setting_stops_the_function_at_cold_start() {
    let api = RuntimeApi::start().await;
    let env: Vec<_> = function_env()
        .into_iter()
        .filter(|(k, _)| *k != "SCHEDULER_ROLE_ARN")
        .collect();
    let function = api.spawn_function(&env);
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        function.wait_with_output(),
    )
    .await
    .expect("exits promptly")
    .unwrap();
    assert!(!output.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("SCHEDULER_ROLE_ARN is required"), "{text}");
}

/// One clock for this test, the function and the emulator: the function's metric
/// timestamp and the emulator's `Date` header agree with this process's now. The
/// clock-ahead guard (scripts/test-clock-ahead.sh) runs this with every clock a year
/// ahead; a process it failed to move would be a year off here.
#[tokio::test]
async fn the_test_the_function_and_the_emulator_share_one_clock() {
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&function_env());
    let ignored = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("events/route53-create-hosted-zone-failed.json"),
    )
    .unwrap();
    let before = chrono::Utc::now();
    let answer = api.invoke(&ignored).await.expect("answered");
    let emulator = emulator_clock().await;
    let after = chrono::Utc::now();
    assert_eq!(answer["outcome"], "ignored", "{answer}");
    let stdout = support::runtime_api::stop_and_read_stdout(function).await;
    let documents = support::runtime_api::metric_documents(&stdout);
    let stamp = documents[0]["_aws"]["Timestamp"]
        .as_i64()
        .expect("a metric timestamp");
    let function_now = chrono::DateTime::from_timestamp_millis(stamp).unwrap();
    let second = chrono::TimeDelta::seconds(1);
    assert!(
        before - second <= function_now && function_now <= after + second,
        "the function's clock ({function_now}) is not this test's ({before} .. {after})"
    );
    // The Date header has whole seconds.
    assert!(
        before - second * 2 <= emulator && emulator <= after + second * 2,
        "the emulator's clock ({emulator}) is not this test's ({before} .. {after})"
    );
}
