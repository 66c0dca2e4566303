//! The CNAME target comes from SES (SES v2 `SigningHostedZone`), not from the Region
//! table. The emulator places each domain here in a cell of its own
//! (`dkim-c7.us-east-1.amazonses.com`) and, like SES, verifies DKIM only when the
//! records point there. The compiled function runs through the Runtime API.
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

/// Not the table's `dkim.amazonses.com`: what SES may name "by Region and cell".
const CELL: &str = "dkim-c7.us-east-1.amazonses.com";
const TABLE: &str = "dkim.amazonses.com";

/// A zone for a fresh domain that SES will sign for in `CELL`.
async fn domain_in_cell(label: &str) -> (String, String) {
    let domain = unique_domain(label);
    let zone = create_zone(&domain).await;
    set_signing_zone(&domain, Some(CELL)).await;
    (domain, zone)
}

/// The DKIM CNAMEs of `domain` in `zone`: name → value.
async fn dkim_cnames(zone: &str, domain: &str) -> Vec<(String, String)> {
    cnames(zone)
        .await
        .into_iter()
        .filter(|(name, _)| name.ends_with(&format!("._domainkey.{domain}")))
        .collect()
}

fn under(tokens: &[String], domain: &str, target: &str) -> Vec<(String, String)> {
    let mut records: Vec<(String, String)> = tokens
        .iter()
        .map(|t| (format!("{t}._domainkey.{domain}"), format!("{t}.{target}")))
        .collect();
    records.sort();
    records
}

fn detail_of<'a>(events: &'a [Value], kind: &str) -> &'a Value {
    &events
        .iter()
        .find(|e| e["detail-type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {events:?}"))["detail"]
}

#[tokio::test]
async fn an_identity_in_another_cell_gets_its_records_there_and_verifies() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let (domain, zone) = domain_in_cell("cell").await;
    let subscriber = Subscriber::for_domain(&domain).await;
    set_throttling(json!([])).await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&function_env());

    let answer = api
        .invoke(&custom_event(json!({"domain": domain})))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "published", "{answer}");
    let tokens = dkim_state(&domain).await["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(
        dkim_cnames(&zone, &domain).await,
        under(&tokens, &domain, CELL)
    );
    // The emulator, like SES, verifies only records that point into the identity's zone.
    assert_eq!(dkim_state(&domain).await["status"], "Success");
    let first = answer["followUp"]["scheduleName"].as_str().unwrap();
    let seen = schedule(first).await.unwrap();
    assert_eq!(seen.input["signingZone"], CELL, "the chain carries it");

    let verified = fire_through(&api, first).await;
    assert_eq!(verified["outcome"], "verified", "{verified}");
    let events = subscriber.received().await;
    assert_eq!(
        detail_of(&events, "DKIM Records Published")["signingZone"],
        CELL
    );
    let detail = detail_of(&events, "DKIM Verified");
    assert_eq!(detail["signingZone"], CELL);
    assert_eq!(
        detail["keyLength"],
        json!({"current": "RSA_2048_BIT", "next": "RSA_2048_BIT"})
    );
    let log = call_log("ses", "GetEmailIdentity").await;
    assert_eq!(
        log.len(),
        2,
        "once at onboarding, once at verification: {log:?}"
    );
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn a_chain_written_before_the_zone_was_read_learns_it_and_moves_only_its_records() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let (domain, zone) = domain_in_cell("legacy").await;
    // What an earlier release left: the identity, records where the table points, and
    // a follow-up that names no signing zone. Beside them, another provider's selector.
    let tokens = identity(&domain).await;
    for t in &tokens {
        put_cname(
            &zone,
            &format!("{t}._domainkey.{domain}"),
            &format!("{t}.{TABLE}"),
        )
        .await;
    }
    let selector = format!("google._domainkey.{domain}");
    put_cname(&zone, &selector, "google.example.net").await;
    assert_eq!(dkim_state(&domain).await["status"], "Pending");
    set_throttling(json!([])).await;
    let payload = json!({
        "schema": "dkim-autopilot/follow-up", "version": 1, "stage": "verify",
        "domain": domain, "hostedZoneId": zone, "attempt": 1, "restarts": 0,
        "onboardingStartedAt": (Utc::now() - TimeDelta::minutes(10)).to_rfc3339(),
        "tokens": tokens
    });
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&function_env());

    let answer = api.invoke(&payload.to_string()).await.unwrap();
    assert_eq!(answer["outcome"], "waiting", "{answer}");
    assert_eq!(
        answer["restoredRecords"].as_array().unwrap().len(),
        3,
        "{answer}"
    );
    let mut expected = under(&tokens, &domain, CELL);
    expected.push((selector.clone(), "google.example.net".into()));
    expected.sort();
    assert_eq!(dkim_cnames(&zone, &domain).await, expected);
    assert_eq!(dkim_state(&domain).await["status"], "Success");
    let next = answer["followUp"]["scheduleName"].as_str().unwrap();
    assert_eq!(schedule(next).await.unwrap().input["signingZone"], CELL);

    let verified = fire_through(&api, next).await;
    assert_eq!(verified["outcome"], "verified", "{verified}");
    // Learned once, at the first look; the verified look reads it for the event.
    assert_eq!(call_log("ses", "GetEmailIdentity").await.len(), 2);
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn the_reconcile_repairs_toward_the_cell_and_asks_ses_only_about_drift() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    // Two verified domains in the cell: one intact, one that lost a record.
    let mut domains = Vec::new();
    for label in ["intact", "drifted"] {
        let (domain, zone) = domain_in_cell(label).await;
        let tokens = identity(&domain).await;
        for t in &tokens {
            put_cname(
                &zone,
                &format!("{t}._domainkey.{domain}"),
                &format!("{t}.{CELL}"),
            )
            .await;
        }
        assert_eq!(dkim_state(&domain).await["status"], "Success");
        domains.push((domain, zone, tokens));
    }
    let (drifted, zone, tokens) = &domains[1];
    let lost = format!("{}._domainkey.{drifted}", tokens[1]);
    delete_cname(zone, &lost, &format!("{}.{CELL}", tokens[1])).await;
    // SES keeps saying Success until it next looks (the emulator would see it at once).
    force_dkim_status(drifted, Some("Success")).await;
    set_throttling(json!([])).await;
    let api = RuntimeApi::start().await;
    // With a key length to keep to, every verified domain is read anyway (its lengths,
    // tests/key_length.rs); `keep` shows the zone alone costs nothing but drift.
    let mut env = function_env();
    env.push(("DKIM_KEY_LENGTH", "keep".into()));
    let function = api.spawn_function(&env);

    let finished = reconcile_through(&api, false).await;
    assert_eq!(finished["counts"]["repaired"], 1, "{finished}");
    assert_eq!(finished["counts"]["alreadyVerified"], 1, "{finished}");
    assert_eq!(
        dkim_cnames(zone, drifted).await,
        under(tokens, drifted, CELL)
    );
    let asked: Vec<String> = call_log("ses", "GetEmailIdentity")
        .await
        .iter()
        .map(|c| c["request"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        asked.len(),
        1,
        "only the drifted domain's zone is asked for: {asked:?}"
    );
    // A second pass changes nothing and asks nothing.
    set_throttling(json!([])).await;
    let again = reconcile_through(&api, false).await;
    assert_eq!(again["counts"]["alreadyVerified"], 2, "{again}");
    assert!(call_log("ses", "GetEmailIdentity").await.is_empty());
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn offboarding_removes_records_under_the_cell_and_under_the_table_only() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let (domain, zone) = domain_in_cell("leaving").await;
    let tokens = identity(&domain).await;
    // Two records where SES signs, one an earlier release wrote where the table said;
    // and a record at a token's name that points somewhere else entirely.
    put_cname(
        &zone,
        &format!("{}._domainkey.{domain}", tokens[0]),
        &format!("{}.{CELL}", tokens[0]),
    )
    .await;
    put_cname(
        &zone,
        &format!("{}._domainkey.{domain}", tokens[1]),
        &format!("{}.{TABLE}", tokens[1]),
    )
    .await;
    let foreign = format!("{}._domainkey.{domain}", tokens[2]);
    put_cname(&zone, &foreign, &format!("{}.dkim.example.net", tokens[2])).await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&function_env());

    let answer = api
        .invoke(&deregistered_event(json!({"domain": domain})))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "removed", "{answer}");
    assert_eq!(answer["leftAlone"], json!([foreign]), "{answer}");
    assert_eq!(
        dkim_cnames(&zone, &domain).await,
        [(foreign.clone(), format!("{}.dkim.example.net", tokens[2]))]
    );
    stop_and_read_stdout(function).await;
}
