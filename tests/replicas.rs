//! Several SES Regions (`SES_REPLICA_REGIONS`): once the parent in the function's SES
//! Region is verified, a Deterministic Easy DKIM replica is made in each replica
//! Region, with no DNS of its own; the reconcile makes missing ones and reports
//! replica-Region identities whose parent is gone; offboarding deletes the replicas
//! before the parent. Each Region has its own budget: a throttled one is put off
//! alone. The emulator, like SES, refuses a replica of an unverified parent and the
//! deletion of a parent that still has replicas. The compiled function runs through
//! the Runtime API.
//!
//! The reconcile sees the whole account, so every test here empties the emulator
//! first and they run one at a time.

mod support;

use serde_json::{json, Value};
use support::dns::{LoopbackDns, Served};
use support::runtime_api::{stop_and_read_stdout, RuntimeApi};
use support::*;
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const WEST: &str = "us-west-2";
const EUROPE: &str = "eu-west-1";

fn replica_env() -> Vec<(&'static str, String)> {
    let mut env = function_env();
    env.push(("SES_REPLICA_REGIONS", format!("{WEST},{EUROPE}")));
    env
}

/// The identity in `region` as SES v2 names it: (DKIM status, signing origin);
/// `None` when that Region has no such identity.
async fn replica_in(region: &str, domain: &str) -> Option<(String, String)> {
    let answer = sesv2_in(region)
        .await
        .get_email_identity()
        .email_identity(domain)
        .send()
        .await
        .ok()?;
    let dkim = answer.dkim_attributes()?;
    Some((
        dkim.status()?.as_str().to_owned(),
        dkim.signing_attributes_origin()?.as_str().to_owned(),
    ))
}

/// Each replica Region holds a replica of `domain` signing with the parent's key,
/// verified as the parent is.
async fn assert_replicated_in_both(domain: &str) {
    for region in [WEST, EUROPE] {
        assert_eq!(
            replica_in(region, domain).await,
            Some(("SUCCESS".into(), "AWS_SES_US_EAST_1".into())),
            "{region}: a replica signing with the parent's key, verified as it is"
        );
    }
}

/// The MAIL FROM domain SES (v1) holds for `domain` in `region`; empty for none.
async fn mail_from_in(region: &str, domain: &str) -> String {
    let config = aws_sdk_ses::config::Builder::from(sdk_config().await)
        .region(aws_sdk_ses::config::Region::new(region.to_owned()))
        .build();
    let answer = aws_sdk_ses::Client::from_conf(config)
        .get_identity_mail_from_domain_attributes()
        .identities(domain)
        .send()
        .await
        .unwrap();
    answer
        .mail_from_domain_attributes()
        .get(domain)
        .map(|a| a.mail_from_domain().to_owned())
        .unwrap_or_default()
}

fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == kind)
        .map(|e| &e["detail"])
        .collect()
}

/// The one `Domain Ready to Send` the subscriber heard: its replicas, beside the
/// parent's Region.
async fn ready_replicas(subscriber: &Subscriber) -> Value {
    let events = subscriber.received().await;
    let told = events_of(&events, "Domain Ready to Send");
    assert_eq!(told.len(), 1, "{events:?}");
    assert_eq!(told[0]["sesRegion"], REGION);
    told[0]["replicas"].clone()
}

fn regions_of(calls: &[Value]) -> Vec<String> {
    let mut regions: Vec<String> = calls
        .iter()
        .map(|c| c["region"].as_str().unwrap_or_default().to_owned())
        .collect();
    regions.sort();
    regions
}

/// Onboard `domain` through the runtime and fire its first follow-up, which finds
/// it verified (the emulator verifies once the CNAMEs point where SES signs): that
/// look's answer.
async fn onboard_and_look(api: &RuntimeApi, domain: &str) -> Value {
    let answer = api
        .invoke(&custom_event(json!({"domain": domain})))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "published", "{answer}");
    fire_through(api, answer["followUp"]["scheduleName"].as_str().unwrap()).await
}

async fn onboard_and_verify(api: &RuntimeApi, domain: &str) -> Value {
    let verified = onboard_and_look(api, domain).await;
    assert_eq!(verified["outcome"], "verified", "{verified}");
    verified
}

#[tokio::test]
async fn a_parent_with_two_replica_regions_is_copied_reconciled_and_offboarded_replicas_first() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let domain = unique_domain("deed");
    let zone = create_zone(&domain).await;
    let subscriber = Subscriber::for_domain(&domain).await;
    set_throttling(json!([])).await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&replica_env());

    onboard_and_verify(&api, &domain).await;
    let created = call_log("ses", "CreateEmailIdentity").await;
    assert_eq!(
        regions_of(&created),
        [EUROPE, WEST],
        "one replica per Region"
    );
    assert_replicated_in_both(&domain).await;
    assert_eq!(
        cnames(&zone).await.len(),
        3,
        "a replica needs no DNS of its own"
    );
    let events = subscriber.received().await;
    let told = events_of(&events, "DKIM Replicas Verified");
    assert_eq!(told.len(), 1, "{events:?}");
    assert_eq!(told[0]["sesRegion"], REGION);
    assert_eq!(
        told[0]["replicas"],
        json!([
            {"region": WEST, "status": "verified", "created": true},
            {"region": EUROPE, "status": "verified", "created": true},
        ])
    );
    assert_eq!(
        events_of(&events, "DKIM Verified").len(),
        1,
        "DKIM Verified stays the parent's event"
    );

    // Someone deletes the replica in one Region: the reconcile makes it again, and
    // reads the other Region without touching it.
    sesv2_in(WEST)
        .await
        .delete_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    set_throttling(json!([])).await;
    let run = reconcile_through(&api, false).await;
    assert_eq!(
        run["counts"]["replicas"],
        json!({"verified": 2, "pending": 0, "failed": 0, "unreachable": 0, "created": 1, "orphaned": 0}),
        "{run}"
    );
    assert_eq!(
        regions_of(&call_log("ses", "CreateEmailIdentity").await),
        [WEST]
    );
    assert!(replica_in(WEST, &domain).await.is_some());

    // An identity in a replica Region with no parent is reported, and left alone.
    let stray = unique_domain("stray");
    sesv2_in(EUROPE)
        .await
        .create_email_identity()
        .email_identity(&stray)
        .send()
        .await
        .unwrap();
    set_throttling(json!([])).await;
    let dry = reconcile_through(&api, true).await;
    assert_eq!(dry["counts"]["replicas"]["orphaned"], 1, "{dry}");
    assert!(
        dry["planned"].to_string().contains("orphanedReplica"),
        "{}",
        dry["planned"]
    );
    assert!(replica_in(EUROPE, &stray).await.is_some(), "never deleted");
    assert!(call_log("ses", "CreateEmailIdentity").await.is_empty());

    // Offboarding: the replicas go first (SES would refuse the parent otherwise).
    let removed = api
        .invoke(&deregistered_event(json!({"domain": domain})))
        .await
        .unwrap();
    assert_eq!(removed["outcome"], "removed", "{removed}");
    assert_eq!(removed["identityDeleted"], true, "{removed}");
    let mut gone: Vec<String> = serde_json::from_value(removed["removedReplicas"].clone()).unwrap();
    gone.sort();
    assert_eq!(gone, [EUROPE, WEST]);
    for region in [WEST, EUROPE] {
        assert!(replica_in(region, &domain).await.is_none(), "{region}");
    }
    assert!(!ses_identities().await.contains(&domain));
    let events = subscriber.received().await;
    let removal = events_of(&events, "DKIM Removed");
    assert_eq!(
        removal.last().unwrap()["removed"]["replicaRegions"],
        json!([EUROPE, WEST])
    );
    stop_and_read_stdout(function).await;
}

#[tokio::test]
async fn a_throttled_replica_region_is_put_off_alone() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let domain = unique_domain("deedslow");
    create_zone(&domain).await;
    let subscriber = Subscriber::for_domain(&domain).await;
    // SES in Europe answers nothing; every other Region and service as usual.
    set_throttling(json!([{"service": "ses", "calls": 0, "perSeconds": 600, "region": EUROPE}]))
        .await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&replica_env());

    onboard_and_verify(&api, &domain).await;
    assert!(replica_in(WEST, &domain).await.is_some());
    let events = subscriber.received().await;
    let told = events_of(&events, "DKIM Replicas Verified");
    assert_eq!(told[0]["replicas"][0]["status"], "verified");
    assert_eq!(told[0]["replicas"][1]["region"], EUROPE);
    assert_eq!(told[0]["replicas"][1]["status"], "unreachable");
    let schedules = schedules_for(&domain).await;
    let deferral: Vec<_> = schedules
        .iter()
        .filter(|n| n.contains("-replicate-d1"))
        .collect();
    assert_eq!(deferral.len(), 1, "{schedules:?}");
    let seen = schedule(deferral[0]).await.unwrap();
    assert_eq!(seen.input["work"]["kind"], "replicate");
    assert_eq!(
        seen.input["work"]["regions"],
        json!([EUROPE]),
        "only the throttled Region comes back"
    );

    // Europe answers again: the deferral settles it and touches no other Region.
    set_throttling(json!([])).await;
    let back = fire_through(&api, deferral[0]).await;
    assert_eq!(back["outcome"], "replicated", "{back}");
    assert_eq!(
        back["replicas"],
        json!([{"region": EUROPE, "status": "verified", "created": true}])
    );
    let v2_regions: Vec<String> = regions_of(&call_log("ses", "GetEmailIdentity").await)
        .into_iter()
        .filter(|r| r != REGION)
        .collect();
    assert_eq!(
        v2_regions,
        [EUROPE],
        "looked, then created (SES's answer tells the status): Europe only"
    );
    assert_eq!(
        regions_of(&call_log("ses", "CreateEmailIdentity").await),
        [EUROPE]
    );
    assert!(replica_in(EUROPE, &domain).await.is_some());
    stop_and_read_stdout(function).await;
}

/// A MAIL FROM domain has one MX, and an MX names one Region's feedback endpoint, so
/// a replica gets no MAIL FROM: it sends from SES's own MAIL FROM domain there, and
/// DMARC still aligns through DKIM (DEED signs with the parent's d=).
#[tokio::test]
async fn a_replica_gets_no_mail_from_of_its_own() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let domain = unique_domain("deedmail");
    create_zone(&domain).await;
    set_throttling(json!([])).await;
    let api = RuntimeApi::start().await;
    let mut env = replica_env();
    env.push(("MAIL_FROM_SUBDOMAIN", "bounce".into()));
    let function = api.spawn_function(&env);

    let verified = onboard_and_look(&api, &domain).await;
    assert_eq!(verified["outcome"], "awaitingMailFrom", "{verified}");
    assert_eq!(
        mail_from_in(REGION, &domain).await,
        format!("bounce.{domain}"),
        "the parent's MAIL FROM is set"
    );
    for region in [WEST, EUROPE] {
        assert!(replica_in(region, &domain).await.is_some());
        assert_eq!(
            mail_from_in(region, &domain).await,
            "",
            "{region}: no MAIL FROM on a replica"
        );
    }
    let set = call_log("ses", "SetIdentityMailFromDomain").await;
    assert_eq!(
        regions_of(&set),
        [REGION],
        "MAIL FROM is set in the parent's Region only"
    );
    stop_and_read_stdout(function).await;
}

/// `Domain Ready to Send` tells each replica Region's state beside the parent's
/// Region. Judged at the verified look (DMARC only), it carries the states that look
/// just made; judged at the end of a MAIL FROM watch, it reads them again then, so a
/// replica gone since verification is told `missing`. Readiness is the parent's: a
/// replica Region never holds it back.
#[tokio::test]
async fn ready_to_send_tells_each_replica_regions_state() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    set_throttling(json!([])).await;
    let api = RuntimeApi::start().await;

    // At once (DMARC on, no MAIL FROM): the states verification left.
    let mut env = replica_env();
    env.push(("DMARC_POLICY", "none".into()));
    let function = api.spawn_function(&env);
    let at_once = unique_domain("deedready");
    create_zone(&at_once).await;
    let subscriber = Subscriber::for_domain(&at_once).await;
    let ready = onboard_and_look(&api, &at_once).await;
    assert_eq!(ready["outcome"], "readyToSend", "{ready}");
    assert_eq!(
        ready_replicas(&subscriber).await,
        json!([
            {"region": WEST, "status": "verified", "created": true},
            {"region": EUROPE, "status": "verified", "created": true},
        ])
    );
    stop_and_read_stdout(function).await;

    // After a MAIL FROM watch: read again at the end.
    let mut env = replica_env();
    env.push(("MAIL_FROM_SUBDOMAIN", "bounce".into()));
    let function = api.spawn_function(&env);
    let watched = unique_domain("deedwatch");
    create_zone(&watched).await;
    let subscriber = Subscriber::for_domain(&watched).await;
    let mut last = onboard_and_look(&api, &watched).await;
    assert_eq!(last["outcome"], "awaitingMailFrom", "{last}");
    sesv2_in(EUROPE)
        .await
        .delete_email_identity()
        .email_identity(&watched)
        .send()
        .await
        .expect("the replica is deleted behind the function's back");
    for _ in 0..5 {
        if last["outcome"] != "awaitingMailFrom" {
            break;
        }
        let next = last["followUp"]["scheduleName"]
            .as_str()
            .unwrap()
            .to_owned();
        last = fire_through(&api, &next).await;
    }
    assert_eq!(last["outcome"], "readyToSend", "{last}");
    assert_eq!(
        ready_replicas(&subscriber).await,
        json!([
            {"region": WEST, "status": "verified", "created": false},
            {"region": EUROPE, "status": "missing", "created": false},
        ]),
        "read again at the end of the watch, nothing created by it"
    );
    assert!(
        replica_in(EUROPE, &watched).await.is_none(),
        "telling readiness makes no replica"
    );
    stop_and_read_stdout(function).await;
}

/// `detail.sesRegions` narrows the list for one domain: only those Regions get a
/// replica, at verification and in the reconcile (the parent's tag remembers the
/// choice). A Region outside `SES_REPLICA_REGIONS` is refused before any call.
#[tokio::test]
async fn a_domain_may_ask_for_fewer_regions_and_never_for_others() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let domain = unique_domain("deednarrow");
    create_zone(&domain).await;
    let subscriber = Subscriber::for_domain(&domain).await;
    set_throttling(json!([])).await;
    let api = RuntimeApi::start().await;
    let function = api.spawn_function(&replica_env());

    let refused = api
        .invoke(&custom_event(
            json!({"domain": domain, "sesRegions": [EUROPE, "ap-south-1"]}),
        ))
        .await
        .unwrap();
    assert_eq!(refused["outcome"], "rejected", "{refused}");
    assert!(
        refused["reason"].as_str().unwrap().contains(
            "`detail.sesRegions` names \"ap-south-1\", which is not in SES_REPLICA_REGIONS"
        ),
        "{refused}"
    );
    assert!(!ses_identities().await.contains(&domain), "no side effect");
    assert!(call_log("ses", "VerifyDomainDkim").await.is_empty());

    let answer = api
        .invoke(&custom_event(
            json!({"domain": domain, "sesRegions": [EUROPE]}),
        ))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "published", "{answer}");
    let first = answer["followUp"]["scheduleName"].as_str().unwrap();
    assert_eq!(
        schedule(first).await.unwrap().input["sesRegions"],
        json!([EUROPE])
    );
    let verified = fire_through(&api, first).await;
    assert_eq!(verified["outcome"], "verified", "{verified}");
    assert!(replica_in(EUROPE, &domain).await.is_some());
    assert!(replica_in(WEST, &domain).await.is_none(), "not asked for");
    let events = subscriber.received().await;
    assert_eq!(
        events_of(&events, "DKIM Replicas Verified")[0]["replicas"],
        json!([{"region": EUROPE, "status": "verified", "created": true}])
    );

    set_throttling(json!([])).await;
    let run = reconcile_through(&api, false).await;
    assert_eq!(run["counts"]["replicas"]["created"], 0, "{run}");
    assert_eq!(run["counts"]["replicas"]["verified"], 1, "{run}");
    assert!(
        replica_in(WEST, &domain).await.is_none(),
        "the reconcile keeps the choice"
    );
    stop_and_read_stdout(function).await;
}

/// A tenant's domain, its records in the tenant's own DNS, is a parent like any
/// other: a dry run lists its missing replicas, and the reconcile makes them.
#[tokio::test]
async fn the_reconcile_replicates_a_handed_over_parent_too() {
    let _guard = ONE_AT_A_TIME.lock().await;
    reset_emulator().await;
    let dns = LoopbackDns::start().await;
    let domain = unique_domain("deedtenant");
    for t in identity(&domain).await {
        dns.serve(
            &format!("{t}._domainkey.{domain}"),
            Served::Cname(format!("{t}.dkim.amazonses.com")),
        );
    }
    force_dkim_status(&domain, Some("Success")).await;
    set_throttling(json!([])).await;
    let api = RuntimeApi::start().await;
    let mut env = replica_env();
    env.push(("DNS_RESOLVERS", dns.address.to_string()));
    let function = api.spawn_function(&env);

    let dry = reconcile_through(&api, true).await;
    assert_eq!(dry["counts"]["orphaned"], 0, "served: not an orphan: {dry}");
    let planned = dry["planned"].to_string();
    assert!(
        planned.contains("createReplica") && planned.contains(&domain),
        "{planned}"
    );
    assert!(call_log("ses", "CreateEmailIdentity").await.is_empty());

    set_throttling(json!([])).await;
    let run = reconcile_through(&api, false).await;
    assert_eq!(
        run["counts"]["replicas"],
        json!({"verified": 2, "pending": 0, "failed": 0, "unreachable": 0, "created": 2, "orphaned": 0}),
        "{run}"
    );
    assert_replicated_in_both(&domain).await;
    // One read of the parent judges its records and names its Regions.
    let parent_reads = call_log("ses", "GetEmailIdentity")
        .await
        .iter()
        .filter(|c| c["region"] == REGION)
        .count();
    assert_eq!(parent_reads, 1);
    stop_and_read_stdout(function).await;
}
