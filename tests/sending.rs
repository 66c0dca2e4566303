//! Ready to send: the custom MAIL FROM domain (MX and SPF) and DMARC beside DKIM,
//! through the compiled function and the Lambda Runtime API, against the emulator.
//! The emulator's SES is AWS's in this (scripts/moto_server.py): DKIM is verified once
//! the CNAMEs are in a public zone, MAIL FROM once exactly SES's MX is.
//!
//! Each test fires the follow-ups itself, in order, as Scheduler would.

mod support;

use aws_sdk_route53::types::RrType;
use serde_json::{json, Value};
use support::dns::{LoopbackDns, Served};
use support::runtime_api::{stop_and_read_stdout, RuntimeApi};
use support::*;

const RUA: &str = "mailto:dmarc-reports@example.com";
const SES_MX: &str = "10 feedback-smtp.us-east-1.amazonses.com";
const OUR_SPF: &str = "\"v=spf1 include:amazonses.com ~all\"";
const OUR_DMARC: &str = "\"v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com\"";

/// The function with both features on, plus `extra`.
fn sending_env(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut env = function_env();
    env.push(("MAIL_FROM_SUBDOMAIN", "bounce".into()));
    env.push(("DMARC_POLICY", "none".into()));
    env.push(("DMARC_RUA", RUA.into()));
    env.extend_from_slice(extra);
    env
}

fn follow_up(domain: &str, attempt: u32) -> String {
    format!("dkim-{domain}-{attempt}")
}

/// Fire look `attempt` of the domain's chain through the Runtime API.
async fn fire_look(api: &RuntimeApi, domain: &str, attempt: u32) -> Value {
    let name = follow_up(domain, attempt);
    let seen = schedule(&name)
        .await
        .unwrap_or_else(|| panic!("{name} should be scheduled"));
    complete_schedule(&name).await;
    api.invoke(&seen.raw_input).await.expect("the look answers")
}

fn onboard_event(domain: &str) -> String {
    custom_event(json!({"domain": domain, "tenantId": "tenant-send"}))
}

fn of_type<'a>(events: &'a [Value], detail_type: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == detail_type)
        .collect()
}

/// Onboard `domain` (its zone exists) and fire looks until the chain ends; the last
/// answer.
async fn onboard_to_the_end(api: &RuntimeApi, domain: &str) -> Value {
    let published = api.invoke(&onboard_event(domain)).await.expect("onboard");
    assert_eq!(published["outcome"], "published", "{published}");
    let mut attempt = 1;
    loop {
        let answer = fire_look(api, domain, attempt).await;
        match answer["outcome"].as_str() {
            Some("awaitingMailFrom" | "waiting") if attempt < 5 => attempt += 1,
            _ => return answer,
        }
    }
}

#[tokio::test]
async fn onboarding_with_both_features_on_reaches_ready_to_send() {
    // GIVEN the function with MAIL FROM and DMARC on, and a new domain's zone
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&sending_env(&[]));
    let domain = unique_domain("send-ready");
    let zone = create_zone(&domain).await;
    let events = Subscriber::for_domain(&domain).await;

    // WHEN it is onboarded
    let published = api.invoke(&onboard_event(&domain)).await.expect("onboard");
    assert_eq!(published["outcome"], "published", "{published}");

    // THEN the zone holds the DKIM CNAMEs, SES's MX, our SPF and our DMARC record
    let bounce = format!("bounce.{domain}");
    assert_eq!(cnames(&zone).await.len(), 3);
    assert_eq!(record_values(&zone, &bounce, RrType::Mx).await, [SES_MX]);
    assert_eq!(record_values(&zone, &bounce, RrType::Txt).await, [OUR_SPF]);
    let dmarc = format!("_dmarc.{domain}");
    assert_eq!(record_values(&zone, &dmarc, RrType::Txt).await, [OUR_DMARC]);
    assert_eq!(
        mail_from_status(&domain).await["mail_from_domain"],
        Value::Null,
        "MAIL FROM waits for DKIM: SES documents it for a verified identity"
    );

    // WHEN the first look sees DKIM verified
    let verified = fire_look(&api, &domain, 1).await;
    // THEN SES is asked to use the MAIL FROM domain and the chain watches it
    assert_eq!(verified["outcome"], "awaitingMailFrom", "{verified}");
    assert_eq!(mail_from_status(&domain).await["mail_from_domain"], bounce);

    // WHEN the next look finds MAIL FROM Success
    let ready = fire_look(&api, &domain, 2).await;
    assert_eq!(ready["outcome"], "readyToSend", "{ready}");
    assert!(
        schedule(&follow_up(&domain, 3)).await.is_none(),
        "the chain ends"
    );

    // THEN the world hears DKIM Verified (as always), then Ready to Send once
    let received = events.received().await;
    let kinds: Vec<&str> = received
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "DKIM Records Published",
            "DKIM Verified",
            "Domain Ready to Send"
        ],
        "{received:#?}"
    );
    let detail = &of_type(&received, "Domain Ready to Send")[0]["detail"];
    assert_eq!(detail["domain"], domain.as_str());
    assert_eq!(detail["tenantId"], "tenant-send");
    assert_eq!(detail["hostedZoneId"], zone.as_str());
    assert_eq!(detail["parts"]["dkim"]["status"], "Success");
    assert_eq!(detail["parts"]["mailFrom"]["status"], "Success");
    assert_eq!(detail["parts"]["mailFrom"]["domain"], bounce);
    assert_eq!(detail["parts"]["mailFrom"]["spf"], "present");
    assert_eq!(detail["parts"]["dmarc"]["state"], "present");
    let stdout = stop_and_read_stdout(function).await;
    assert!(stdout.contains("domain ready to send"), "{stdout}");
}

#[tokio::test]
async fn a_foreign_mx_is_a_conflict_and_dkim_still_verifies() {
    // GIVEN a mail host of the tenant's own at the MAIL FROM name
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&sending_env(&[]));
    let domain = unique_domain("send-mx");
    let zone = create_zone(&domain).await;
    let bounce = format!("bounce.{domain}");
    put_record(&zone, &bounce, RrType::Mx, "10 mx.tenant.example.").await;
    let events = Subscriber::for_domain(&domain).await;

    // WHEN the domain is onboarded and its chain runs to the end
    let last = onboard_to_the_end(&api, &domain).await;

    // THEN nothing is written at that name, DKIM is verified all the same, SES is
    // never pointed at a MAIL FROM domain whose MX is not its own, and the conflict
    // says what was found
    assert_eq!(
        record_values(&zone, &bounce, RrType::Mx).await,
        ["10 mx.tenant.example."]
    );
    assert!(record_values(&zone, &bounce, RrType::Txt).await.is_empty());
    assert_eq!(cnames(&zone).await.len(), 3);
    assert_eq!(last["outcome"], "notReadyToSend", "{last}");
    assert_eq!(last["reasonCode"], "RecordsConflict");
    assert_eq!(
        mail_from_status(&domain).await["mail_from_domain"],
        Value::Null
    );
    let received = events.received().await;
    assert_eq!(of_type(&received, "DKIM Verified").len(), 1);
    let conflict = &of_type(&received, "Domain Records Conflict")[0]["detail"]["conflict"];
    assert_eq!(conflict["name"], bounce);
    assert_eq!(conflict["type"], "MX");
    assert_eq!(conflict["found"], json!(["10 mx.tenant.example."]));
    assert_eq!(conflict["wanted"], SES_MX);
    assert!(of_type(&received, "Domain Ready to Send").is_empty());
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn mail_from_is_never_set_again_over_a_foreign_mx() {
    // GIVEN a chain watching MAIL FROM, then the tenant's own mail host replaces
    // SES's MX and SES gives up (Failed)
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&sending_env(&[]));
    let domain = unique_domain("send-mx-later");
    let zone = create_zone(&domain).await;
    api.invoke(&onboard_event(&domain)).await.expect("onboard");
    assert_eq!(
        fire_look(&api, &domain, 1).await["outcome"],
        "awaitingMailFrom"
    );
    let bounce = format!("bounce.{domain}");
    put_record(&zone, &bounce, RrType::Mx, "10 mx.tenant.example.").await;
    force_mail_from_status(&domain, Some("Failed")).await;
    let set_before = setting_calls(&domain).await;

    // WHEN the next MAIL FROM look runs
    let answer = fire_look(&api, &domain, 2).await;

    // THEN SES is not asked again, the chain ends not ready, and the MX stays theirs
    assert_eq!(answer["outcome"], "notReadyToSend", "{answer}");
    assert_eq!(answer["reasonCode"], "RecordsConflict", "{answer}");
    assert_eq!(setting_calls(&domain).await, set_before);
    assert_eq!(
        record_values(&zone, &bounce, RrType::Mx).await,
        ["10 mx.tenant.example."]
    );
    assert!(schedule(&follow_up(&domain, 3)).await.is_none());
    stop_and_read_stdout(function).await;
}

/// How many `SetIdentityMailFromDomain` calls named `domain` so far.
async fn setting_calls(domain: &str) -> usize {
    calls_naming("ses", domain)
        .await
        .iter()
        .filter(|c| c["action"] == "SetIdentityMailFromDomain")
        .count()
}

#[tokio::test]
async fn a_foreign_spf_is_left_and_reported_and_the_mx_still_goes_in() {
    // GIVEN another SPF policy at the MAIL FROM name
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&sending_env(&[]));
    let domain = unique_domain("send-spf");
    let zone = create_zone(&domain).await;
    let bounce = format!("bounce.{domain}");
    let theirs = "\"v=spf1 include:_spf.google.com -all\"";
    put_record(&zone, &bounce, RrType::Txt, theirs).await;
    let events = Subscriber::for_domain(&domain).await;

    // WHEN the domain is onboarded and its chain runs to the end
    let last = onboard_to_the_end(&api, &domain).await;

    // THEN their SPF is untouched, SES's MX is there and MAIL FROM succeeded, but the
    // domain is not ready: SPF would not pass for SES's mail
    assert_eq!(record_values(&zone, &bounce, RrType::Txt).await, [theirs]);
    assert_eq!(record_values(&zone, &bounce, RrType::Mx).await, [SES_MX]);
    assert_eq!(mail_from_status(&domain).await["status"], "Success");
    assert_eq!(last["outcome"], "notReadyToSend", "{last}");
    assert_eq!(last["parts"]["mailFrom"]["spf"], "conflict");
    let received = events.received().await;
    let conflict = &of_type(&received, "Domain Records Conflict")[0]["detail"]["conflict"];
    assert_eq!(conflict["type"], "TXT");
    assert_eq!(conflict["found"], json!([theirs]));
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn an_existing_dmarc_record_is_left_alone_and_counts() {
    // GIVEN the domain's own DMARC record, and a site verification at the MAIL FROM name
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&sending_env(&[]));
    let domain = unique_domain("send-dmarc");
    let zone = create_zone(&domain).await;
    let dmarc = format!("_dmarc.{domain}");
    let theirs = "\"v=DMARC1; p=reject; rua=mailto:sec@tenant.example\"";
    put_record(&zone, &dmarc, RrType::Txt, theirs).await;
    let bounce = format!("bounce.{domain}");
    let verification = "\"site-verification=abc123\"";
    put_record(&zone, &bounce, RrType::Txt, verification).await;
    let events = Subscriber::for_domain(&domain).await;

    // WHEN the domain is onboarded and its chain runs to the end
    let last = onboard_to_the_end(&api, &domain).await;

    // THEN their record stays as it was, ours joins the site verification, and the
    // domain is ready with its own DMARC record reported
    assert_eq!(record_values(&zone, &dmarc, RrType::Txt).await, [theirs]);
    assert_eq!(
        record_values(&zone, &bounce, RrType::Txt).await,
        [verification, OUR_SPF]
    );
    assert_eq!(last["outcome"], "readyToSend", "{last}");
    let received = events.received().await;
    let parts = &of_type(&received, "Domain Ready to Send")[0]["detail"]["parts"];
    assert_eq!(parts["dmarc"]["state"], "existing");
    assert_eq!(parts["dmarc"]["meetsMinimum"], true);
    assert_eq!(
        parts["dmarc"]["record"],
        "v=DMARC1; p=reject; rua=mailto:sec@tenant.example"
    );
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn a_dmarc_record_on_the_organisational_domain_covers_a_subdomain() {
    // GIVEN the organisation's zone with a DMARC record, and a subdomain in its own zone
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&sending_env(&[]));
    let org = unique_domain("send-org");
    let org_zone = create_zone(&org).await;
    put_record(
        &org_zone,
        &format!("_dmarc.{org}"),
        RrType::Txt,
        "\"v=DMARC1; p=quarantine; sp=reject\"",
    )
    .await;
    let domain = format!("mail.{org}");
    let zone = create_zone(&domain).await;
    let events = Subscriber::for_domain(&domain).await;

    // WHEN the subdomain is onboarded and its chain runs to the end
    let last = onboard_to_the_end(&api, &domain).await;

    // THEN no DMARC record is written for it, and it is covered by the organisation's
    let dmarc = format!("_dmarc.{domain}");
    assert!(record_values(&zone, &dmarc, RrType::Txt).await.is_empty());
    assert_eq!(last["outcome"], "readyToSend", "{last}");
    let received = events.received().await;
    let parts = &of_type(&received, "Domain Ready to Send")[0]["detail"]["parts"];
    assert_eq!(parts["dmarc"]["state"], "coveredBy");
    assert_eq!(parts["dmarc"]["domain"], org.as_str());
    assert_eq!(
        parts["dmarc"]["record"],
        "v=DMARC1; p=quarantine; sp=reject"
    );
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn drift_of_each_record_after_ready_is_repaired_and_ready_is_not_said_again() {
    // GIVEN a domain ready to send, then each of its sending records deleted by hand
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let domain = unique_domain("send-drift");
    let zone = create_zone(&domain).await;
    let only_this_zone = [
        ("HOSTED_ZONE_IDS", zone.clone()),
        ("DOMAIN_INCLUDE", domain.clone()),
    ];
    let function = api.spawn_function(&sending_env(&only_this_zone));
    let events = Subscriber::for_domain(&domain).await;
    let last = onboard_to_the_end(&api, &domain).await;
    assert_eq!(last["outcome"], "readyToSend", "{last}");
    let (bounce, dmarc) = (format!("bounce.{domain}"), format!("_dmarc.{domain}"));
    delete_record(&zone, &bounce, RrType::Mx, SES_MX).await;
    delete_record(&zone, &bounce, RrType::Txt, OUR_SPF).await;
    delete_record(&zone, &dmarc, RrType::Txt, OUR_DMARC).await;
    events.received().await;

    // WHEN a dry run looks, then a reconcile runs
    let dry = reconcile_through(&api, true).await;
    let real = reconcile_through(&api, false).await;

    // THEN the dry run counted and listed the repair and wrote nothing; the reconcile
    // put each record back and reported the repair, and nobody hears Ready again
    assert_eq!(dry["outcome"], "reconcileFinished", "{dry}");
    let counted = &dry["counts"]["sending"];
    assert_eq!(
        (
            counted["mxWritten"].clone(),
            counted["spfWritten"].clone(),
            counted["dmarcWritten"].clone()
        ),
        (json!(1), json!(1), json!(1)),
        "{dry}"
    );
    let planned = dry["planned"]["domains"]
        .as_array()
        .or(dry["planned"].as_array())
        .unwrap()
        .iter()
        .find(|p| p["action"] == "repairSending" && p["domain"] == domain.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("repairSending planned: {dry}"));
    assert_eq!(
        planned["records"],
        json!([
            format!("bounce.{domain} MX"),
            format!("bounce.{domain} TXT"),
            format!("_dmarc.{domain} TXT")
        ]),
        "{dry}"
    );
    assert_eq!(real["counts"]["sending"]["mxWritten"], 1, "{real}");
    assert_eq!(record_values(&zone, &bounce, RrType::Mx).await, [SES_MX]);
    assert_eq!(record_values(&zone, &bounce, RrType::Txt).await, [OUR_SPF]);
    assert_eq!(record_values(&zone, &dmarc, RrType::Txt).await, [OUR_DMARC]);
    let received = events.received().await;
    let repaired = &of_type(&received, "DKIM Drift Repaired")[0]["detail"];
    let mut sending: Vec<&str> = repaired["sendingRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    sending.sort();
    let mut wanted = vec![
        format!("bounce.{domain} MX"),
        format!("bounce.{domain} TXT"),
        format!("_dmarc.{domain} TXT"),
    ];
    wanted.sort();
    wanted.push(format!("bounce.{domain} MAIL FROM"));
    wanted.sort();
    assert_eq!(
        sending, wanted,
        "SES gave up on MAIL FROM when the MX went: set again"
    );
    assert!(of_type(&received, "Domain Ready to Send").is_empty());

    // AND a second reconcile finds nothing to do
    let again = reconcile_through(&api, false).await;
    assert_eq!(again["counts"]["sending"]["mxWritten"], 0, "{again}");
    assert_eq!(again["counts"]["sending"]["mailFromVerified"], 1, "{again}");
    // AND each finished run left its counts as metrics (the dashboard's reconcile widget)
    let stdout = stop_and_read_stdout(function).await;
    let runs: Vec<Value> = support::runtime_api::metric_documents(&stdout)
        .into_iter()
        .filter(|d| d.get("ReconcileZonesSeen").is_some())
        .collect();
    assert_eq!(runs.len(), 3, "one per finished run: {stdout}");
    assert!(runs
        .iter()
        .all(|d| d["ReconcileZonesSeen"].as_u64() >= Some(1)));
}

#[tokio::test]
async fn offboarding_removes_only_what_is_exactly_ours_and_clears_mail_from() {
    // GIVEN a ready domain whose identity is kept on offboarding, with a site
    // verification beside our SPF string
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let keep = [("DELETE_IDENTITY_ON_OFFBOARD", "false".to_owned())];
    let function = api.spawn_function(&sending_env(&keep));
    let domain = unique_domain("send-off");
    let zone = create_zone(&domain).await;
    let bounce = format!("bounce.{domain}");
    let verification = "\"site-verification=keep-me\"";
    put_record(&zone, &bounce, RrType::Txt, verification).await;
    let last = onboard_to_the_end(&api, &domain).await;
    assert_eq!(last["outcome"], "readyToSend", "{last}");

    // WHEN the domain leaves
    let removed = api
        .invoke(&deregistered_event(json!({"domain": domain})))
        .await
        .expect("offboard");

    // THEN our MX, our SPF string and our DMARC record are gone, the site
    // verification stays, and the kept identity no longer uses the MAIL FROM domain
    assert_eq!(removed["outcome"], "removed", "{removed}");
    assert!(record_values(&zone, &bounce, RrType::Mx).await.is_empty());
    assert_eq!(
        record_values(&zone, &bounce, RrType::Txt).await,
        [verification]
    );
    let dmarc = format!("_dmarc.{domain}");
    assert!(record_values(&zone, &dmarc, RrType::Txt).await.is_empty());
    assert!(cnames(&zone).await.is_empty());
    assert_eq!(
        mail_from_status(&domain).await["mail_from_domain"],
        Value::Null
    );
    let listed: Vec<&str> = removed["removedRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&format!("bounce.{domain} MX").as_str()),
        "{removed}"
    );
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn a_dmarc_record_not_exactly_ours_survives_offboarding() {
    // GIVEN a ready domain whose DMARC record the operator has since changed
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&sending_env(&[]));
    let domain = unique_domain("send-off-dmarc");
    let zone = create_zone(&domain).await;
    assert_eq!(
        onboard_to_the_end(&api, &domain).await["outcome"],
        "readyToSend"
    );
    let dmarc = format!("_dmarc.{domain}");
    let edited = "\"v=DMARC1; p=reject\"";
    put_record(&zone, &dmarc, RrType::Txt, edited).await;

    // WHEN the domain leaves
    let removed = api
        .invoke(&deregistered_event(json!({"domain": domain})))
        .await
        .expect("offboard");

    // THEN that record stays
    assert_eq!(removed["outcome"], "removed", "{removed}");
    assert_eq!(record_values(&zone, &dmarc, RrType::Txt).await, [edited]);
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn hand_over_lists_the_mx_and_txt_records_and_diagnoses_them() {
    // GIVEN the function resolving through a loopback DNS server, both features on
    ensure_shared_resources().await;
    let server = LoopbackDns::start().await;
    let api = RuntimeApi::start().await;
    let resolver = [("DNS_RESOLVERS", server.address.to_string())];
    let function = api.spawn_function(&sending_env(&resolver));
    let domain = unique_domain("send-handover");
    let bounce = format!("bounce.{domain}");
    // The tenant's DNS already holds a mail host of its own at the MAIL FROM name.
    server.serve(&bounce, Served::Mx(10, "mx.tenant.example".into()));
    let events = Subscriber::for_domain(&domain).await;

    // WHEN the records are handed over and the first check looks them up
    let handed = api
        .invoke(&custom_event(
            json!({"domain": domain, "tenantId": "t", "dnsMode": "external"}),
        ))
        .await
        .expect("hand-over");
    let check = fire_look(&api, &domain, 1).await;

    // THEN DKIM Records Required lists the MX and TXT records with their types
    assert_eq!(handed["outcome"], "handedOver", "{handed}");
    let received = events.received().await;
    let required = &of_type(&received, "DKIM Records Required")[0]["detail"]["records"];
    let listed: Vec<(String, String, String)> = required
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["type"].as_str().unwrap().to_owned(),
                r["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(listed.len(), 6, "{required}");
    assert_eq!(listed[3], (bounce.clone(), "MX".into(), SES_MX.into()));
    assert_eq!(listed[4], (bounce.clone(), "TXT".into(), OUR_SPF.into()));
    assert_eq!(
        listed[5],
        (format!("_dmarc.{domain}"), "TXT".into(), OUR_DMARC.into())
    );
    // AND DKIM Records Pending diagnoses each: the MX is a conflict, the rest missing
    assert_eq!(check["outcome"], "awaitingRecords", "{check}");
    let pending = &of_type(&received, "DKIM Records Pending")[0]["detail"];
    let status_of = |name: &str, kind: &str| {
        pending["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["type"] == kind)
            .map(|c| c["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_of(&bounce, "MX").as_deref(), Some("conflict"));
    assert_eq!(status_of(&bounce, "TXT").as_deref(), Some("missing"));
    let dmarc = format!("_dmarc.{domain}");
    assert_eq!(status_of(&dmarc, "TXT").as_deref(), Some("missing"));
    assert_eq!(pending["counts"]["conflict"], 1);

    // WHEN the tenant publishes SES's MX and our SPF and DMARC records
    server.serve(
        &bounce,
        Served::Mx(10, "feedback-smtp.us-east-1.amazonses.com".into()),
    );
    server.add(
        &bounce,
        Served::Txt(vec!["v=spf1 include:amazonses.com ~all".into()]),
    );
    server.serve(
        &dmarc,
        Served::Txt(vec![
            "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com".into(),
        ]),
    );
    // (the emulator's SES looks only at Route 53: its verdicts are forced here)
    force_dkim_status(&domain, Some("Success")).await;
    let verified = fire_look(&api, &domain, 2).await;
    assert_eq!(verified["outcome"], "awaitingMailFrom", "{verified}");
    harness_mail_from_success(&domain).await;
    let ready = fire_look(&api, &domain, 3).await;

    // THEN the handed-over domain is ready to send, judged from public DNS
    assert_eq!(ready["outcome"], "readyToSend", "{ready}");
    assert_eq!(ready["parts"]["mailFrom"]["spf"], "present");
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn with_both_features_off_nothing_but_the_cnames_is_read_or_written() {
    // GIVEN the function as deployed today: MAIL FROM and DMARC off
    ensure_shared_resources().await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&function_env());
    let domain = unique_domain("send-off-features");
    let zone = create_zone(&domain).await;
    let events = Subscriber::for_domain(&domain).await;

    // WHEN a domain is onboarded and verified
    let published = api.invoke(&onboard_event(&domain)).await.expect("onboard");
    let verified = fire_look(&api, &domain, 1).await;

    // THEN the chain ends at DKIM Verified, only CNAMEs were written and MAIL FROM
    // was never touched
    assert_eq!(published["outcome"], "published", "{published}");
    assert_eq!(verified["outcome"], "verified", "{verified}");
    let bounce = format!("bounce.{domain}");
    assert!(record_values(&zone, &bounce, RrType::Mx).await.is_empty());
    assert!(
        record_values(&zone, &format!("_dmarc.{domain}"), RrType::Txt)
            .await
            .is_empty()
    );
    assert_eq!(
        mail_from_status(&domain).await["mail_from_domain"],
        Value::Null
    );
    let kinds = events.detail_types().await;
    assert_eq!(kinds, ["DKIM Records Published", "DKIM Verified"]);
    stop_and_read_stdout(function).await;
}

/// Make the emulator's SES report MAIL FROM Success for `identity`.
async fn harness_mail_from_success(identity: &str) {
    let answer = force_mail_from_status(identity, Some("Success")).await;
    assert_eq!(answer["status"], "Success", "{answer}");
}

/// The function's own count of AWS calls (its `AwsCalls` metric) for each answer
/// `outcome` of one run through a domain's life, in order.
fn calls_by_outcome(stdout: &str) -> Vec<(String, u64)> {
    support::runtime_api::metric_documents(stdout)
        .iter()
        .filter_map(|d| Some((d["Outcome"].as_str()?.to_owned(), d["AwsCalls"].as_u64()?)))
        .collect()
}

#[tokio::test]
async fn the_sending_records_cost_a_known_number_of_calls() {
    // GIVEN the same onboarding and first look, with the features off and on
    ensure_shared_resources().await;
    let mut measured = Vec::new();
    for env in [function_env(), sending_env(&[])] {
        let api = RuntimeApi::start().await;
        let function = api.spawn_function(&env);
        let domain = unique_domain("send-calls");
        create_zone(&domain).await;
        api.invoke(&onboard_event(&domain)).await.expect("onboard");
        let mut attempt = 1;
        while fire_look(&api, &domain, attempt).await["outcome"] == "awaitingMailFrom" {
            attempt += 1;
        }
        measured.push(calls_by_outcome(&stop_and_read_stdout(function).await));
    }
    let (off, on) = (&measured[0], &measured[1]);
    let outcomes = |m: &[(String, u64)]| m.iter().map(|(o, _)| o.clone()).collect::<Vec<_>>();
    assert_eq!(outcomes(off), ["published", "verified"]);
    assert_eq!(
        outcomes(on),
        ["published", "awaitingMailFrom", "readyToSend"]
    );
    // THEN (docs/sending.md, "What it costs") the onboarding adds the two reads of the
    // sending names and one batch; the verified look adds those reads, the MAIL FROM
    // setting and the next schedule; the MAIL FROM look reads DKIM, MAIL FROM and
    // the tombstone at once, the two names, and announces
    assert_eq!(on[0].1, off[0].1 + 3, "onboarding: {off:?} / {on:?}");
    assert_eq!(on[1].1, off[1].1 + 4, "verified look: {off:?} / {on:?}");
    assert_eq!(on[2].1, 6, "MAIL FROM look: {on:?}");
}
