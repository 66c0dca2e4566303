//! Reconcile against the emulator: an account of existing zones in every state, the
//! run that brings each domain to its desired state, its dry run, forced
//! continuations, redelivery, and a few hundred zones under AWS's rate limits.
//! Each test empties the emulator first (a reconcile sees the whole account), so
//! they run one at a time.

mod support;

use chrono::Utc;
use dkim_autopilot::aws::Aws;
use dkim_autopilot::config::Settings;
use serde_json::{json, Value};
use support::runtime_api::{stop_and_read_stdout, RuntimeApi};
use support::*;
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

async fn invoke_with(aws: &Aws, settings: &Settings, payload: &str) -> Value {
    let response = invoke_with_settings(aws, settings, payload, Utc::now())
        .await
        .expect("the invocation succeeds");
    serde_json::to_value(response).unwrap()
}

/// Run a reconcile to its end, firing each continuation as Scheduler would.
async fn run_to_the_end(aws: &Aws, settings: &Settings, first: &str) -> (Value, Vec<String>) {
    let mut answer = invoke_with(aws, settings, first).await;
    let mut payloads = Vec::new();
    for _ in 0..200 {
        match answer["outcome"].as_str() {
            Some("reconcileContinues") => {
                let name = answer["schedule"]["scheduleName"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let seen = schedule(&name).await.expect("continuation schedule");
                complete_schedule(&name).await;
                payloads.push(seen.raw_input.clone());
                answer = invoke_with(aws, settings, &seen.raw_input).await;
            }
            Some("reconcileFinished") => return (answer, payloads),
            other => panic!("unexpected reconcile answer {other:?}: {answer}"),
        }
    }
    panic!("the reconcile did not finish in 200 pages")
}

/// A follow-up already scheduled for this domain, as a running chain leaves it.
async fn pending_check(domain: &str, zone: &str, tokens: &[String]) {
    let input = json!({
        "schema": "dkim-autopilot/follow-up", "version": 1, "stage": "verify",
        "domain": domain, "hostedZoneId": zone, "attempt": 3, "restarts": 0,
        "onboardingStartedAt": Utc::now().to_rfc3339(), "tokens": tokens
    });
    aws_sdk_scheduler::Client::new(sdk_config().await)
        .create_schedule()
        .name(format!("dkim-{domain}-3"))
        .group_name(SCHEDULE_GROUP)
        // A chain's next check, a day from now: running, whatever the date.
        .schedule_expression(dkim_autopilot::core::schedule::at_expression(
            Utc::now() + chrono::TimeDelta::days(1),
        ))
        .flexible_time_window(
            aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            aws_sdk_scheduler::types::Target::builder()
                .arn(FUNCTION_ARN)
                .role_arn(SCHEDULER_ROLE_ARN)
                .input(input.to_string())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

struct Account {
    verified: Vec<(String, String)>,
    fresh: Vec<(String, String)>,
    drifted: (String, String, String),
    failed: (String, String, Vec<String>),
    pending: (String, String),
    chain_running: (String, String),
    opted_out: (String, String),
    excluded: (String, String),
    private: (String, String),
    orphan: String,
}

/// Twenty-five zones in every state a reconcile meets, and an orphaned identity.
async fn an_account() -> Account {
    let mut verified_zones = Vec::new();
    for _ in 0..6 {
        let (d, z, _) = verified("ok").await;
        verified_zones.push((d, z));
    }
    let mut fresh = Vec::new();
    for _ in 0..12 {
        let d = unique_domain("new");
        let z = create_zone(&d).await;
        fresh.push((d, z));
    }
    let (d, z, tokens) = verified("drift").await;
    let lost = format!("{}._domainkey.{d}", tokens[1]);
    delete_cname(&z, &lost, &format!("{}.dkim.amazonses.com", tokens[1])).await;
    // SES notices a lost record only at its next periodic look: until then it still
    // says Success (the emulator would say Pending at once).
    force_dkim_status(&d, Some("Success")).await;
    let drifted = (d, z, lost);
    let (d, z, tokens) = {
        let d = unique_domain("failed");
        let z = create_zone(&d).await;
        let t = identity(&d).await;
        force_dkim_status(&d, Some("Failed")).await;
        (d, z, t)
    };
    let failed = (d, z, tokens);
    let pending = {
        let d = unique_domain("pending");
        let z = create_zone(&d).await;
        identity(&d).await;
        (d, z)
    };
    let chain_running = {
        let d = unique_domain("chain");
        let z = create_zone(&d).await;
        let t = identity(&d).await;
        pending_check(&d, &z, &t).await;
        (d, z)
    };
    let opted_out = {
        let d = unique_domain("optout");
        let z = create_zone(&d).await;
        tag_zone(&z, "dkim-autopilot", "off").await;
        (d, z)
    };
    let excluded = {
        let d = format!("shop.{}", unique_domain("excluded"));
        let z = create_zone(&d).await;
        (d, z)
    };
    let private = {
        let d = unique_domain("private");
        let z = create_private_zone(&d).await;
        (d, z)
    };
    let orphan = unique_domain("orphan");
    identity(&orphan).await;
    Account {
        verified: verified_zones,
        fresh,
        drifted,
        failed,
        pending,
        chain_running,
        opted_out,
        excluded,
        private,
        orphan,
    }
}

/// What the account holds that a dry run must not change.
async fn snapshot(account: &Account) -> (Vec<String>, Vec<usize>, Vec<Value>) {
    let mut identities = ses_identities().await;
    identities.sort();
    let mut zones: Vec<&String> = account
        .verified
        .iter()
        .chain(&account.fresh)
        .map(|(_, z)| z)
        .collect();
    zones.extend([
        &account.drifted.1,
        &account.failed.1,
        &account.pending.1,
        &account.opted_out.1,
        &account.excluded.1,
    ]);
    let mut records = Vec::new();
    for z in zones {
        records.push(cnames(z).await.len());
    }
    let mut states = Vec::new();
    for d in [&account.failed.0, &account.pending.0, &account.drifted.0] {
        states.push(dkim_state(d).await);
    }
    (identities, records, states)
}

fn expected_counts() -> Value {
    json!({
        "zonesSeen": 25, "inScope": 23, "alreadyVerified": 6, "onboarded": 12,
        "repaired": 1, "restarted": 1, "chainsStarted": 1, "chainsRunning": 1,
        "skipped": 3, "orphaned": 1, "orphansDeleted": 0, "deferred": 0, "errors": 0,
        // The seven verified domains (six intact, one drifted), all at SES's 2048 bits.
        "keyLength": {"current1024": 0, "current2048": 7, "changed": 0, "waiting": 0, "refused": 0}
    })
}

#[tokio::test]
async fn a_reconcile_brings_every_domain_of_the_account_to_its_desired_state() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let account = an_account().await;
    let excluded_suffix = account.excluded.0.trim_start_matches("shop.").to_owned();
    let aws = aws().await;
    let finished = Subscriber::for_pattern(
        &format!("reconcile-{}", unique_domain("q").replace('.', "-")),
        json!({"source": ["dkim-autopilot"], "detail-type": ["Reconcile Finished", "DKIM Drift Repaired", "Domain Orphaned"]}),
    )
    .await;

    // A dry run reads, changes nothing, and says what it would do.
    let one_page = settings_with(&[("DOMAIN_EXCLUDE", &excluded_suffix)]);
    let before = snapshot(&account).await;
    let (dry, _) = run_to_the_end(&aws, &one_page, &reconcile_requested(true)).await;
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["counts"], expected_counts(), "{dry}");
    assert_eq!(
        snapshot(&account).await,
        before,
        "a dry run changes nothing"
    );
    let planned: Vec<(String, String)> = dry["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["action"].as_str().unwrap().to_owned(),
                p["domain"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        planned.contains(&("onboard".into(), account.fresh[0].0.clone())),
        "{planned:?}"
    );
    assert!(planned.contains(&("repair".into(), account.drifted.0.clone())));
    assert!(planned.contains(&("restart".into(), account.failed.0.clone())));
    assert!(planned.contains(&("orphaned".into(), account.orphan.clone())));

    // The real run, five zones per invocation: many continuations, the same result.
    let small_pages = settings_with(&[
        ("DOMAIN_EXCLUDE", &excluded_suffix),
        ("RECONCILE_PAGE_SIZE", "5"),
    ]);
    let (done, continuations) =
        run_to_the_end(&aws, &small_pages, &reconcile_requested(false)).await;
    assert_eq!(done["counts"], expected_counts(), "{done}");
    assert!(continuations.len() >= 6, "{} pages", continuations.len());

    // Each domain in its desired state; the others untouched.
    let identities = ses_identities().await;
    for (domain, zone) in &account.fresh {
        assert!(identities.contains(domain), "{domain} onboarded");
        assert_eq!(cnames(zone).await.len(), 3, "{domain} records");
        assert_eq!(
            schedules_for(domain).await.len(),
            1,
            "{domain}: its own follow-up chain"
        );
    }
    let drifted = cnames(&account.drifted.1).await;
    assert!(
        drifted.contains_key(&account.drifted.2),
        "the deleted record is back"
    );
    assert_eq!(dkim_state(&account.drifted.0).await["status"], "Success");
    let failed_now = dkim_state(&account.failed.0).await;
    assert_ne!(
        failed_now["tokens"],
        json!(account.failed.2),
        "verification restarted with new tokens"
    );
    assert_eq!(cnames(&account.failed.1).await.len(), 3);
    assert_eq!(
        schedules_for(&account.pending.0).await.len(),
        1,
        "a chain watches the pending domain"
    );
    assert_eq!(
        cnames(&account.pending.1).await.len(),
        3,
        "its records were written"
    );
    assert_eq!(
        schedules_for(&account.chain_running.0).await,
        [format!("dkim-{}-3", account.chain_running.0)],
        "a running chain is left alone"
    );
    for (domain, zone) in [&account.opted_out, &account.excluded, &account.private] {
        assert!(!identities.contains(domain), "{domain} untouched");
        assert!(cnames(zone).await.is_empty(), "{domain} untouched");
    }
    assert!(
        identities.contains(&account.orphan),
        "orphans are reported, not deleted, by default"
    );

    let events = finished.received().await;
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "Reconcile Finished").count(),
        2,
        "{kinds:?}"
    );
    let drift = events
        .iter()
        .find(|e| e["detail-type"] == "DKIM Drift Repaired")
        .expect("drift event");
    assert_eq!(drift["detail"]["domain"], account.drifted.0.as_str());
    assert_eq!(drift["detail"]["recordNames"], json!([account.drifted.2]));
    let orphan = events
        .iter()
        .find(|e| e["detail-type"] == "Domain Orphaned")
        .expect("orphan event");
    assert_eq!(orphan["detail"]["domain"], account.orphan.as_str());
    let real = events
        .iter()
        .find(|e| e["detail-type"] == "Reconcile Finished" && e["detail"]["dryRun"] == false)
        .unwrap();
    assert_eq!(real["detail"]["counts"], expected_counts());

    // A redelivered page changes nothing: every domain is where it should be.
    set_throttling(json!([])).await;
    let first_page = &continuations[0];
    let again = invoke_with(&aws, &small_pages, first_page).await;
    assert_eq!(again["outcome"], "reconcileContinues", "{again}");
    for (service, action) in [
        ("ses", "VerifyDomainDkim"),
        ("route53", "ChangeResourceRecordSets"),
    ] {
        assert!(
            call_log(service, action).await.is_empty(),
            "{action} on a redelivered page"
        );
    }

    // A second full run finds nothing to do but the orphan.
    let (second, _) = run_to_the_end(&aws, &one_page, &reconcile_requested(false)).await;
    let counts = &second["counts"];
    assert_eq!(
        (
            counts["onboarded"].as_u64(),
            counts["repaired"].as_u64(),
            counts["restarted"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{second}"
    );
    assert_eq!(
        counts["alreadyVerified"].as_u64().unwrap() + counts["chainsRunning"].as_u64().unwrap(),
        22
    );
}

#[tokio::test]
async fn orphans_are_deleted_only_when_asked() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let (kept, _, _) = verified("kept").await;
    let orphan = unique_domain("gone");
    identity(&orphan).await;
    let aws = aws().await;
    let deleting = settings_with(&[("DELETE_ORPHANED_IDENTITIES", "true")]);
    let (done, _) = run_to_the_end(&aws, &deleting, &reconcile_requested(false)).await;
    assert_eq!(done["counts"]["orphaned"], 1, "{done}");
    assert_eq!(done["counts"]["orphansDeleted"], 1);
    let identities = ses_identities().await;
    assert!(!identities.contains(&orphan));
    assert!(identities.contains(&kept));
}

/// A domain handed over to its tenant's own DNS has no zone here and is no orphan:
/// while its chain runs, and once SES verified it and public DNS serves its records.
#[tokio::test]
async fn handed_over_domains_are_not_orphans() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let dns = support::dns::LoopbackDns::start().await;
    let address = dns.address.to_string();
    let settings = settings_with(&[
        ("DELETE_ORPHANED_IDENTITIES", "true"),
        ("DNS_RESOLVERS", address.as_str()),
    ]);
    let aws = aws().await;
    let hand_over = |domain: &str| custom_event(json!({"domain": domain, "dnsMode": "external"}));
    let watched = unique_domain("handed-watched");
    let answer = invoke_with(&aws, &settings, &hand_over(&watched)).await;
    assert_eq!(answer["outcome"], "handedOver", "{answer}");
    let verified = unique_domain("handed-verified");
    let answer = invoke_with(&aws, &settings, &hand_over(&verified)).await;
    for record in answer["records"].as_array().unwrap() {
        dns.serve(
            record["name"].as_str().unwrap(),
            support::dns::Served::Cname(record["value"].as_str().unwrap().to_owned()),
        );
    }
    force_dkim_status(&verified, Some("Success")).await;
    // Its chain is over: only public DNS says where its records are.
    complete_schedule(&format!("dkim-{verified}-1")).await;
    let orphan = unique_domain("gone");
    identity(&orphan).await;

    let (done, _) = run_to_the_end(&aws, &settings, &reconcile_requested(false)).await;
    assert_eq!(done["counts"]["orphaned"], 1, "{done}");
    let identities = ses_identities().await;
    assert!(!identities.contains(&orphan));
    assert!(identities.contains(&watched) && identities.contains(&verified));
}

#[tokio::test]
async fn a_bad_reconcile_request_is_refused_and_changes_nothing() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let d = unique_domain("untouched");
    let zone = create_zone(&d).await;
    let aws = aws().await;
    let event = reconcile_requested(false).replace("\"dryRun\":false", "\"dryRun\":\"yes\"");
    let answer = invoke_with(&aws, &settings_with(&[]), &event).await;
    assert_eq!(answer["outcome"], "rejected", "{answer}");
    assert!(
        answer["reason"].as_str().unwrap().contains("detail.dryRun"),
        "{answer}"
    );
    assert!(ses_identities().await.is_empty());
    assert!(cnames(&zone).await.is_empty());
}

/// Hundreds of zones, as Lambda runs it: the emulator throttles at AWS's limits, the
/// Runtime API gives each invocation a 60 s deadline, pages stop in time and the
/// run continues in schedules; one process stays under every limit.
#[tokio::test]
async fn three_hundred_zones_within_the_rate_limits() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let mut fresh = Vec::new();
    for i in 0..300 {
        if i % 30 == 0 {
            let d = unique_domain("bulk-new");
            create_zone(&d).await;
            fresh.push(d);
        } else {
            verified("bulk").await;
        }
    }
    set_throttling(json!([
        {"service": "ses", "perAction": true, "calls": 1, "perSeconds": 1.0},
        {"service": "route53", "perAction": false, "calls": 5, "perSeconds": 1.0}
    ]))
    .await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&function_env());
    let started = std::time::Instant::now();
    let mut answer = api.invoke(&reconcile_requested(false)).await.unwrap();
    let mut pages = 1;
    while answer["outcome"] == "reconcileContinues" {
        let name = answer["schedule"]["scheduleName"]
            .as_str()
            .unwrap()
            .to_owned();
        let seen = schedule(&name).await.unwrap();
        complete_schedule(&name).await;
        answer = api.invoke(&seen.raw_input).await.unwrap();
        pages += 1;
    }
    let wall = started.elapsed();
    let report = throttle_report().await;
    let mut spacing_ok = true;
    for action in [
        "VerifyDomainDkim",
        "GetIdentityDkimAttributes",
        "ListIdentities",
        "GetEmailIdentity",
    ] {
        let times: Vec<f64> = call_log("ses", action)
            .await
            .iter()
            .map(|c| c["t"].as_f64().unwrap())
            .collect();
        spacing_ok &= times.windows(2).all(|w| w[1] - w[0] >= 1.0);
    }
    set_throttling(json!([])).await;
    stop_and_read_stdout(function).await;
    assert_eq!(answer["outcome"], "reconcileFinished", "{answer}");
    let counts = &answer["counts"];
    assert_eq!(counts["zonesSeen"], 300, "{answer}");
    assert_eq!(counts["alreadyVerified"], 290);
    assert_eq!(counts["onboarded"], 10);
    assert_eq!(counts["deferred"], 0);
    assert!(spacing_ok, "at most one call a second per SES API");
    let throttled: u64 = report["throttled"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(throttled, 0, "{report}");
    eprintln!(
        "300 zones: {pages} pages in {:.1} s; calls {}",
        wall.as_secs_f64(),
        report["accepted"]
    );
}

#[tokio::test]
async fn with_hosted_zone_ids_set_only_those_zones_are_touched() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let (mine, theirs) = (unique_domain("listed"), unique_domain("unlisted"));
    let mine_zone = create_zone(&mine).await;
    let their_zone = create_zone(&theirs).await;
    let aws = aws().await;
    let narrowed = settings_with(&[("HOSTED_ZONE_IDS", &mine_zone)]);
    let (done, _) = run_to_the_end(&aws, &narrowed, &reconcile_requested(false)).await;
    assert_eq!(done["counts"]["onboarded"], 1, "{done}");
    assert_eq!(done["counts"]["skipped"], 1);
    assert_eq!(cnames(&mine_zone).await.len(), 3);
    assert!(cnames(&their_zone).await.is_empty());
    assert!(!ses_identities().await.contains(&theirs));
}
