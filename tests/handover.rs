//! Hand-over (`dnsMode` external or auto): the records go to the tenant, the
//! follow-up watches SES and public DNS. Public DNS is a real DNS server on
//! loopback, run by the test, serving the tenant's zone as the test changes it.
//! The emulator's SES looks only at Route 53, so its status is forced once the
//! loopback server serves the right records.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use dkim_autopilot::aws::Aws;
use dkim_autopilot::config::Settings;
use dkim_autopilot::core::handover::DnsAnswer;
use dkim_autopilot::dns::PublicDns;
use dkim_autopilot::workflow::{Context, Response};
use serde_json::{json, Value};
use support::dns::{LoopbackDns, Served};
use support::runtime_api::RuntimeApi;
use support::*;
use tokio::net::UdpSocket;

/// The function's settings, resolving through the loopback DNS server.
fn settings_resolving_at(dns: SocketAddr, extra: &[(&'static str, &str)]) -> Settings {
    let resolver = dns.to_string();
    let mut all = vec![("DNS_RESOLVERS", resolver.as_str())];
    all.extend_from_slice(extra);
    settings_with(&all)
}

/// The function's adapters with a Route 53 that cannot be reached: any Route 53
/// call in external mode fails the test.
async fn aws_without_route53() -> Aws {
    ensure_shared_resources().await;
    let config = sdk_config().await;
    let unreachable = aws_sdk_route53::config::Builder::from(config)
        .endpoint_url("http://127.0.0.1:9")
        .build();
    Aws::from_clients(
        aws_sdk_ses::Client::new(config),
        aws_sdk_sesv2::Client::new(config),
        aws_sdk_route53::Client::from_conf(unreachable),
        aws_sdk_scheduler::Client::new(config),
        aws_sdk_eventbridge::Client::new(config),
        &settings(),
    )
}

struct Tenant {
    aws: Aws,
    settings: Settings,
    dns: PublicDns,
    server: LoopbackDns,
}

impl Tenant {
    async fn new(aws: Aws, extra: &[(&'static str, &str)]) -> Self {
        let server = LoopbackDns::start().await;
        let settings = settings_resolving_at(server.address, extra);
        let dns = PublicDns::new(&settings.dns_resolvers);
        Self {
            aws,
            settings,
            dns,
            server,
        }
    }

    async fn invoke_at(&self, payload: &str, now: DateTime<Utc>) -> Result<Response, String> {
        let cx = Context {
            aws: &self.aws,
            settings: &self.settings,
            function_arn: FUNCTION_ARN,
            now,
            deadline: None,
            dns: &self.dns,
        };
        dkim_autopilot::handler::handle_payload(&cx, payload)
            .await
            .map_err(|e| e.to_string())
    }

    /// Fire a follow-up as Scheduler would; returns the answer and the AWS calls it made.
    async fn fire(&self, name: &str, now: DateTime<Utc>) -> (Response, u64) {
        let seen = schedule(name)
            .await
            .unwrap_or_else(|| panic!("schedule {name} should exist"));
        complete_schedule(name).await;
        let before = self.aws.calls.snapshot();
        let response = self
            .invoke_at(&seen.raw_input, now)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        (response, self.aws.calls.snapshot().since(&before).calls())
    }
}

fn statuses(checks: &Value) -> Vec<(String, String)> {
    checks
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn of_type<'a>(events: &'a [Value], detail_type: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == detail_type)
        .collect()
}

#[tokio::test]
async fn handed_over_records_are_watched_until_ses_verifies() {
    // GIVEN a tenant whose DNS is elsewhere, and an empty zone at its provider
    let tenant = Tenant::new(aws_without_route53().await, &[]).await;
    let domain = unique_domain("handover");
    let subscriber = Subscriber::for_domain(&domain).await;
    let started = Utc::now();

    // WHEN the SaaS sends Domain Registered with dnsMode external
    let response = tenant
        .invoke_at(
            &custom_event(json!({"domain": domain, "tenantId": "tenant-7", "dnsMode": "external"})),
            started,
        )
        .await
        .unwrap();

    // THEN the identity exists, three records are handed over, the first check is scheduled
    let Response::HandedOver {
        records, follow_up, ..
    } = &response
    else {
        panic!("{response:?}")
    };
    assert!(ses_identities().await.contains(&domain));
    let tokens: Vec<String> =
        serde_json::from_value(dkim_state(&domain).await["tokens"].clone()).unwrap();
    assert_eq!(records.len(), 3);
    for (record, token) in records.iter().zip(&tokens) {
        assert_eq!(record.name, format!("{token}._domainkey.{domain}"));
        assert_eq!(record.value, format!("{token}.dkim.amazonses.com"));
        assert_eq!((record.record_type, record.ttl), ("CNAME", 1800));
    }
    assert_eq!(follow_up.schedule_name, format!("dkim-{domain}-1"));
    let input = schedule(&follow_up.schedule_name).await.unwrap().input;
    assert_eq!(input["dnsMode"], "external");
    assert!(input.get("hostedZoneId").is_none(), "{input}");
    let events = subscriber.received().await;
    let required = of_type(&events, "DKIM Records Required");
    assert_eq!(required.len(), 1, "{events:?}");
    let detail = &required[0]["detail"];
    assert_eq!(detail["tenantId"], "tenant-7");
    assert_eq!(detail["records"], serde_json::to_value(records).unwrap());
    assert_eq!(detail["outcomeId"].as_str().unwrap().len(), 32);
    // A redelivered event hands the same records over, with the same outcomeId.
    tenant
        .invoke_at(
            &custom_event(json!({"domain": domain, "tenantId": "tenant-7", "dnsMode": "external"})),
            started,
        )
        .await
        .unwrap();
    let again = subscriber.received().await;
    assert_eq!(again[0]["detail"]["outcomeId"], detail["outcomeId"]);

    // Check 1, nothing published yet: reported, every record missing.
    let (response, calls_reporting) = tenant
        .fire(&name(&domain, 1), started + TimeDelta::minutes(5))
        .await;
    let Response::AwaitingRecords {
        reported, checks, ..
    } = &response
    else {
        panic!("{response:?}")
    };
    assert!(reported);
    let checks = serde_json::to_value(checks).unwrap();
    assert!(
        statuses(&checks).iter().all(|(_, s)| s == "missing"),
        "{checks}"
    );
    let events = subscriber.received().await;
    let pending = of_type(&events, "DKIM Records Pending");
    assert_eq!(pending.len(), 1, "{events:?}");
    assert_eq!(pending[0]["detail"]["checks"], checks);
    assert_eq!(pending[0]["detail"]["counts"]["missing"], 3);
    assert_eq!(pending[0]["detail"]["dkimStatus"], "Pending");

    // The tenant publishes: two right, one wrong.
    tenant.server.serve(
        &records[0].name,
        Served::Cname(records[0].value.to_uppercase()),
    );
    tenant
        .server
        .serve(&records[1].name, Served::Cname(records[1].value.clone()));
    tenant.server.serve(
        &records[2].name,
        Served::Cname("typo.dkim.amazonses.com".into()),
    );
    // Check 2 is not a reporting one: no lookup, no event.
    let queries_before = tenant.server.queries.load(Ordering::Relaxed);
    let (response, calls_quiet) = tenant
        .fire(&name(&domain, 2), started + TimeDelta::minutes(20))
        .await;
    assert!(
        matches!(&response, Response::AwaitingRecords { reported: false, checks, .. } if checks.is_empty()),
        "{response:?}"
    );
    assert_eq!(
        tenant.server.queries.load(Ordering::Relaxed),
        queries_before
    );
    assert!(subscriber.received().await.is_empty());
    // Check 3 reports: present (case does not matter), present, wrong with what was found.
    let (response, _) = tenant
        .fire(&name(&domain, 3), started + TimeDelta::minutes(50))
        .await;
    let Response::AwaitingRecords { checks, .. } = &response else {
        panic!("{response:?}")
    };
    let checks = serde_json::to_value(checks).unwrap();
    assert_eq!(
        statuses(&checks)
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>(),
        ["present", "present", "wrongValue"]
    );
    assert_eq!(checks[2]["found"], json!(["typo.dkim.amazonses.com"]));
    assert_eq!(checks[2]["expected"], records[2].value.as_str());
    let events = subscriber.received().await;
    assert_eq!(
        of_type(&events, "DKIM Records Pending")[0]["detail"]["counts"],
        json!({"present": 2, "missing": 0, "wrongValue": 1, "couldNotCheck": 0})
    );

    // The tenant fixes the third; by day 1's first check all three are right.
    tenant
        .server
        .serve(&records[2].name, Served::Cname(records[2].value.clone()));
    let mut at = started + TimeDelta::minutes(50);
    let mut reported_on_day_one = None;
    for attempt in 4..=9 {
        at += dkim_autopilot::core::policy::backoff_after(attempt - 1);
        let (response, _) = tenant.fire(&name(&domain, attempt), at).await;
        if let Response::AwaitingRecords {
            reported: true,
            checks,
            ..
        } = response
        {
            reported_on_day_one = Some((attempt, serde_json::to_value(checks).unwrap()));
        }
    }
    let (attempt, checks) = reported_on_day_one.expect("a report on day 1");
    assert_eq!(attempt, 9);
    assert!(
        statuses(&checks).iter().all(|(_, s)| s == "present"),
        "{checks}"
    );
    assert_eq!(
        of_type(&subscriber.received().await, "DKIM Records Pending").len(),
        1,
        "one report between the third check and day 1's"
    );

    // SES finds them (forced: the emulator looks only at Route 53): verified.
    force_dkim_status(&domain, Some("Success")).await;
    let (response, calls_verified) = tenant
        .fire(&name(&domain, 10), at + TimeDelta::hours(6))
        .await;
    assert!(
        matches!(response, Response::Verified { attempt: 10, .. }),
        "{response:?}"
    );
    assert!(schedules_for(&domain).await.is_empty(), "the chain ended");
    assert_eq!(
        of_type(&subscriber.received().await, "DKIM Verified").len(),
        1
    );
    eprintln!(
        "AWS calls per external check: reporting {calls_reporting} (+3 DNS queries), \
         quiet {calls_quiet}, verified {calls_verified}"
    );
    // GetIdentityDkimAttributes + the tombstone's GetSchedule + CreateSchedule (+ PutEvents);
    // verified: GetEmailIdentity for the event's signing zone and key length, no schedule.
    assert_eq!((calls_quiet, calls_reporting, calls_verified), (3, 4, 4));
}

fn name(domain: &str, attempt: u32) -> String {
    format!("dkim-{domain}-{attempt}")
}

#[tokio::test]
async fn a_restart_with_new_tokens_hands_the_new_records_over() {
    // GIVEN a handed-over domain whose identity SES lost
    let tenant = Tenant::new(aws_without_route53().await, &[]).await;
    let domain = unique_domain("handover-restart");
    let subscriber = Subscriber::for_domain(&domain).await;
    let started = Utc::now();
    tenant
        .invoke_at(
            &custom_event(json!({"domain": domain, "dnsMode": "external"})),
            started,
        )
        .await
        .unwrap();
    let first = subscriber.received().await;
    delete_identity(&domain).await;
    // WHEN the first check finds it gone
    let (response, _) = tenant
        .fire(&name(&domain, 1), started + TimeDelta::minutes(5))
        .await;
    // THEN verification restarts, and the tenant gets the new records
    assert!(
        matches!(
            response,
            Response::Restarted {
                tokens_changed: true,
                ..
            }
        ),
        "{response:?}"
    );
    let required = of_type(&subscriber.received().await, "DKIM Records Required")
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(required.len(), 1);
    assert_ne!(
        required[0]["detail"]["records"],
        first[0]["detail"]["records"]
    );
    assert_ne!(
        required[0]["detail"]["outcomeId"],
        first[0]["detail"]["outcomeId"]
    );
    assert_eq!(required[0]["detail"]["restarts"], 1);
    let next = schedule(&name(&domain, 2)).await.unwrap().input;
    assert_eq!(next["dnsMode"], "external");
    assert_eq!(next["tokens"], dkim_state(&domain).await["tokens"]);
}

#[tokio::test]
async fn auto_uses_route53_when_a_zone_exists_and_hands_over_otherwise() {
    let tenant = Tenant::new(aws().await, &[("DEFAULT_DNS_MODE", "auto")]).await;
    // A zone in Route 53: published there.
    let hosted = unique_domain("auto-zone");
    let zone = create_zone(&hosted).await;
    let response = tenant
        .invoke_at(&custom_event(json!({"domain": hosted})), Utc::now())
        .await
        .unwrap();
    assert_eq!(response.metric_outcome(), "published", "{response:?}");
    assert_eq!(cnames(&zone).await.len(), 3);
    // No zone: handed over, by the default setting.
    let elsewhere = unique_domain("auto-elsewhere");
    let response = tenant
        .invoke_at(&custom_event(json!({"domain": elsewhere})), Utc::now())
        .await
        .unwrap();
    assert_eq!(response.metric_outcome(), "handedOver", "{response:?}");
    // The event's own dnsMode wins over the default: route53 without a zone is rejected.
    let strict = unique_domain("auto-strict");
    let response = tenant
        .invoke_at(
            &custom_event(json!({"domain": strict, "dnsMode": "route53"})),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(response.metric_outcome(), "rejected", "{response:?}");
    assert!(!ses_identities().await.contains(&strict));
    // CloudTrail is always Route 53, whatever the default says.
    let registered = unique_domain("auto-registered");
    let event = route53_domains("RegisterDomain", json!({"domainName": registered}));
    let response = tenant.invoke_at(&event, Utc::now()).await.unwrap();
    assert_eq!(response.metric_outcome(), "retryLater", "{response:?}");
}

#[tokio::test]
async fn bad_dns_modes_are_rejected_and_change_nothing() {
    let tenant = Tenant::new(aws_without_route53().await, &[]).await;
    for (detail, expected) in [
        (json!({"dnsMode": "cloudflare"}), "detail.dnsMode"),
        (
            json!({"dnsMode": "external", "hostedZoneId": "Z0123456789ABC"}),
            "hostedZoneId",
        ),
    ] {
        let domain = unique_domain("handover-bad");
        let subscriber = Subscriber::for_domain(&domain).await;
        let mut detail = detail;
        detail["domain"] = json!(domain);
        let response = tenant
            .invoke_at(&custom_event(detail), Utc::now())
            .await
            .unwrap();
        let Response::Rejected {
            reason_code,
            reason,
            ..
        } = &response
        else {
            panic!("{response:?}")
        };
        assert_eq!(reason_code, "InvalidEvent");
        assert!(reason.contains(expected), "{expected:?} not in {reason:?}");
        assert!(!ses_identities().await.contains(&domain), "no identity");
        assert!(schedules_for(&domain).await.is_empty(), "no schedule");
        assert_eq!(
            of_type(&subscriber.received().await, "Domain Rejected").len(),
            1
        );
    }
}

#[tokio::test]
async fn a_dns_failure_is_could_not_check_never_a_verdict() {
    let server = LoopbackDns::start().await;
    let dns = PublicDns::new(&[server.address]);
    server.serve("a._domainkey.example.com", Served::ServFail);
    server.serve(
        "b._domainkey.example.com",
        Served::Cname("b.dkim.amazonses.com".into()),
    );
    let (failed, _) = dns.cname("a._domainkey.example.com").await;
    assert!(matches!(failed, DnsAnswer::Failed(_)), "{failed:?}");
    let (missing, _) = dns.cname("c._domainkey.example.com").await;
    assert_eq!(missing, DnsAnswer::NoRecord);
    // Nothing listens: a timeout, bounded (2 s, 2 attempts), and not a verdict.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let nobody = PublicDns::new(&[silent.local_addr().unwrap()]);
    let started = Instant::now();
    let (timed_out, _) = nobody.cname("a._domainkey.example.com").await;
    assert!(matches!(timed_out, DnsAnswer::Failed(_)), "{timed_out:?}");
    assert!(started.elapsed() < Duration::from_secs(15));

    // Lookup latency against the loopback server (printed, not asserted).
    let mut took = Vec::new();
    for _ in 0..50 {
        let (answer, elapsed) = dns.cname("B._domainkey.example.com.").await;
        assert_eq!(
            answer,
            DnsAnswer::Cnames(vec!["b.dkim.amazonses.com.".into()])
        );
        took.push(elapsed);
    }
    took.sort();
    eprintln!(
        "DNS lookup latency against loopback over {} lookups: median {:?}, p90 {:?}, max {:?}",
        took.len(),
        took[took.len() / 2],
        took[took.len() * 9 / 10],
        took[took.len() - 1]
    );
    server.clear();
}

#[tokio::test]
async fn the_hand_over_through_the_runtime_api() {
    // GIVEN the compiled function, its DNS resolver the loopback server
    ensure_shared_resources().await;
    let server = LoopbackDns::start().await;
    let api = RuntimeApi::start().await;
    let mut env = function_env();
    env.push(("DNS_RESOLVERS", server.address.to_string()));
    let function = api.spawn_function(&env);
    let domain = unique_domain("rt-handover");

    // WHEN the records are handed over and the first check finds none of them
    let handed = api
        .invoke(&custom_event(
            json!({"domain": domain, "tenantId": "tenant-rt", "dnsMode": "external"}),
        ))
        .await
        .expect("hand-over");
    assert_eq!(handed["outcome"], "handedOver", "{handed}");
    let records = handed["records"].as_array().unwrap().clone();
    let first = name(&domain, 1);
    let seen = schedule(&first).await.unwrap();
    complete_schedule(&first).await;
    let check = api.invoke(&seen.raw_input).await.expect("check");
    assert_eq!(check["outcome"], "awaitingRecords", "{check}");
    assert_eq!(check["reported"], true);
    assert!(statuses(&check["checks"])
        .iter()
        .all(|(_, s)| s == "missing"));

    // THEN once they are served and SES says Success, the next check verifies
    for record in &records {
        server.serve(
            record["name"].as_str().unwrap(),
            Served::Cname(record["value"].as_str().unwrap().to_owned()),
        );
    }
    force_dkim_status(&domain, Some("Success")).await;
    let second = name(&domain, 2);
    let seen = schedule(&second).await.unwrap();
    complete_schedule(&second).await;
    let check = api.invoke(&seen.raw_input).await.expect("check");
    assert_eq!(check["outcome"], "verified", "{check}");
    let stdout = support::runtime_api::stop_and_read_stdout(function).await;
    let outcomes: Vec<String> = support::runtime_api::metric_documents(&stdout)
        .iter()
        .filter_map(|d| d["Outcome"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(outcomes, ["handedOver", "awaitingRecords", "verified"]);
}
