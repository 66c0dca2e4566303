//! The follow-up chain, driven as Scheduler would: read the schedule the function
//! created, invoke the function with its input at the scheduled time, repeat.
//! SES detection is realistic (Pending until the records exist) thanks to the
//! emulator patch in scripts/moto_server.py; the clock is an input.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use dkim_autopilot::workflow::Response;
use serde_json::{json, Value};
use support::*;

struct Onboarded {
    domain: String,
    zone: String,
    started: DateTime<Utc>,
    subscriber: Subscriber,
}

async fn onboard(aws: &dkim_autopilot::aws::Aws, label: &str) -> Onboarded {
    let domain = unique_domain(label);
    let zone = create_zone(&domain).await;
    let subscriber = Subscriber::for_domain(&domain).await;
    let started = Utc::now();
    let response = invoke_at(
        aws,
        &custom_event(json!({"domain": domain, "tenantId": "tenant-9"})),
        started,
    )
    .await;
    assert!(
        matches!(response, Ok(Response::Published { .. })),
        "{response:?}"
    );
    Onboarded {
        domain,
        zone,
        started,
        subscriber,
    }
}

fn name(domain: &str, attempt: u32) -> String {
    format!("dkim-{domain}-{attempt}")
}

fn scheduled_at(expression: &str) -> DateTime<Utc> {
    let inner = expression
        .strip_prefix("at(")
        .and_then(|s| s.strip_suffix(')'))
        .expect("at()");
    chrono::NaiveDateTime::parse_from_str(inner, "%Y-%m-%dT%H:%M:%S")
        .unwrap()
        .and_utc()
}

async fn tokens_of(domain: &str) -> Vec<String> {
    serde_json::from_value(dkim_state(domain).await["tokens"].clone()).unwrap()
}

#[tokio::test]
async fn verified_at_the_first_check() {
    let aws = aws().await;
    let o = onboard(&aws, "first").await;
    let response = fire(&aws, &name(&o.domain, 1), o.started + TimeDelta::minutes(5)).await;
    assert_eq!(
        response,
        Ok(Response::Verified {
            domain: o.domain.clone(),
            attempt: 1,
            elapsed_seconds: 300,
        })
    );
    assert!(
        schedules_for(&o.domain).await.is_empty(),
        "no further check"
    );
    let events = o.subscriber.received().await;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["DKIM Records Published", "DKIM Verified"]);
    let detail = &events[1]["detail"];
    assert_eq!(detail["domain"], o.domain.as_str());
    assert_eq!(detail["tenantId"], "tenant-9");
    assert_eq!(detail["hostedZoneId"], o.zone.as_str());
    assert_eq!(detail["dkimStatus"], "Success");
    assert_eq!(detail["attempt"], 1);
    assert_eq!(detail["elapsedSeconds"], 300);
    assert_eq!(detail["tokens"], json!(tokens_of(&o.domain).await));
}

#[tokio::test]
async fn pending_then_verified_with_backoff() {
    let aws = aws().await;
    let o = onboard(&aws, "pending").await;
    force_dkim_status(&o.domain, Some("Pending")).await;
    let mut now = o.started + TimeDelta::minutes(5);
    let mut expected_delays = vec![];
    for attempt in 1..=4 {
        let response = fire(&aws, &name(&o.domain, attempt), now).await;
        let Ok(Response::Waiting {
            follow_up,
            restored_records,
            ..
        }) = response
        else {
            panic!("attempt {attempt}: expected Waiting, got {response:?}")
        };
        assert!(restored_records.is_empty());
        assert_eq!(follow_up.attempt, attempt + 1);
        assert_eq!(
            schedules_for(&o.domain).await,
            [name(&o.domain, attempt + 1)]
        );
        let next = schedule(&name(&o.domain, attempt + 1)).await.unwrap();
        let at = scheduled_at(&next.expression);
        expected_delays.push((at - now).num_minutes());
        assert_eq!(next.input["attempt"], attempt + 1);
        assert_eq!(next.input["onboardingStartedAt"], json!(o.started));
        now = at;
    }
    assert_eq!(expected_delays, [15, 30, 60, 120]);
    force_dkim_status(&o.domain, None).await;
    let response = fire(&aws, &name(&o.domain, 5), now).await;
    assert_eq!(
        response,
        Ok(Response::Verified {
            domain: o.domain.clone(),
            attempt: 5,
            elapsed_seconds: (now - o.started).num_seconds(),
        })
    );
    assert!(schedules_for(&o.domain).await.is_empty());
    assert_eq!(
        o.subscriber.detail_types().await,
        ["DKIM Records Published", "DKIM Verified"]
    );
}

#[tokio::test]
async fn a_record_deleted_by_hand_is_restored() {
    let aws = aws().await;
    let o = onboard(&aws, "healed").await;
    let tokens = tokens_of(&o.domain).await;
    let victim = format!("{}._domainkey.{}", tokens[1], o.domain);
    delete_cname(
        &o.zone,
        &victim,
        &format!("{}.dkim.amazonses.com", tokens[1]),
    )
    .await;
    // Someone also points another record somewhere else.
    let hijacked = format!("{}._domainkey.{}", tokens[2], o.domain);
    put_cname(&o.zone, &hijacked, "attacker.example.net").await;
    assert_eq!(dkim_state(&o.domain).await["status"], "Pending");

    let response = fire(&aws, &name(&o.domain, 1), o.started + TimeDelta::minutes(5)).await;
    let Ok(Response::Waiting {
        mut restored_records,
        removed_records,
        ..
    }) = response
    else {
        panic!("expected Waiting, got {response:?}")
    };
    restored_records.sort();
    let mut expected = vec![victim.clone(), hijacked.clone()];
    expected.sort();
    assert_eq!(restored_records, expected);
    assert!(removed_records.is_empty());
    let records = cnames(&o.zone).await;
    assert_eq!(
        records[&victim],
        format!("{}.dkim.amazonses.com", tokens[1])
    );
    assert_eq!(
        records[&hijacked],
        format!("{}.dkim.amazonses.com", tokens[2])
    );

    let response = fire(
        &aws,
        &name(&o.domain, 2),
        o.started + TimeDelta::minutes(20),
    )
    .await;
    assert!(
        matches!(response, Ok(Response::Verified { .. })),
        "{response:?}"
    );
}

#[tokio::test]
async fn failed_verification_restarts_with_new_tokens_and_removes_only_its_stale_records() {
    let aws = aws().await;
    let o = onboard(&aws, "restart").await;
    let old_tokens = tokens_of(&o.domain).await;
    let foreign = format!("google._domainkey.{}", o.domain);
    put_cname(&o.zone, &foreign, "google.domainkey.example.net").await;
    let tampered = format!("{}._domainkey.{}", old_tokens[0], o.domain);
    put_cname(&o.zone, &tampered, "someone-else.example.net").await;
    force_dkim_status(&o.domain, Some("Failed")).await;

    let response = fire(&aws, &name(&o.domain, 1), o.started + TimeDelta::minutes(5)).await;
    let Ok(Response::Restarted {
        tokens_changed,
        removed_records,
        restored_records,
        follow_up,
        ..
    }) = response
    else {
        panic!("expected Restarted, got {response:?}")
    };
    assert!(tokens_changed);
    let new_tokens = tokens_of(&o.domain).await;
    assert!(new_tokens.iter().all(|t| !old_tokens.contains(t)));
    assert_eq!(restored_records.len(), 3);
    assert_eq!(
        removed_records.len(),
        2,
        "the two stale records it wrote; not the tampered one"
    );
    let records = cnames(&o.zone).await;
    for t in &new_tokens {
        assert_eq!(
            records[&format!("{t}._domainkey.{}", o.domain)],
            format!("{t}.dkim.amazonses.com")
        );
    }
    for t in &old_tokens[1..] {
        assert!(
            !records.contains_key(&format!("{t}._domainkey.{}", o.domain)),
            "stale record {t} removed"
        );
    }
    assert_eq!(
        records[&tampered], "someone-else.example.net",
        "a record changed by someone else is left alone"
    );
    assert_eq!(
        records[&foreign], "google.domainkey.example.net",
        "foreign records untouched"
    );

    let next = schedule(&follow_up.schedule_name).await.unwrap();
    assert_eq!(next.input["restarts"], 1);
    assert_eq!(next.input["tokens"], json!(new_tokens));
    let response = fire(
        &aws,
        &follow_up.schedule_name,
        o.started + TimeDelta::minutes(20),
    )
    .await;
    assert!(
        matches!(response, Ok(Response::Verified { .. })),
        "{response:?}"
    );
}

#[tokio::test]
async fn a_vanished_identity_is_verified_again() {
    let aws = aws().await;
    let o = onboard(&aws, "vanished").await;
    delete_identity(&o.domain).await;
    let response = fire(&aws, &name(&o.domain, 1), o.started + TimeDelta::minutes(5)).await;
    let Ok(Response::Restarted {
        dkim_status,
        tokens_changed,
        ..
    }) = &response
    else {
        panic!("expected Restarted, got {response:?}")
    };
    assert_eq!(dkim_status, "IdentityMissing");
    assert!(tokens_changed);
    assert!(ses_identities().await.contains(&o.domain));
    assert_eq!(
        cnames(&o.zone).await.len(),
        3,
        "old records replaced by new ones"
    );
}

#[tokio::test]
async fn repeated_failure_gives_up_and_reports_why() {
    let aws = aws().await;
    let o = onboard(&aws, "hopeless").await;
    let mut now = o.started + TimeDelta::minutes(5);
    let mut attempt = 1;
    let max_restarts = settings().policy.max_restarts;
    loop {
        force_dkim_status(&o.domain, Some("TemporaryFailure")).await;
        let response = fire(&aws, &name(&o.domain, attempt), now).await.unwrap();
        match response {
            Response::Restarted { follow_up, .. } => {
                attempt = follow_up.attempt;
                now = follow_up.at;
            }
            Response::Failed { reason, .. } => {
                assert!(
                    reason.contains("TemporaryFailure")
                        && reason.contains(&format!("{max_restarts} restart")),
                    "{reason}"
                );
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(attempt <= max_restarts + 1, "bounded number of restarts");
    }
    assert_eq!(attempt, max_restarts + 1);
    assert!(schedules_for(&o.domain).await.is_empty());
    let events = o.subscriber.received().await;
    let last = events.last().unwrap();
    assert_eq!(last["detail-type"], "DKIM Verification Failed");
    assert_eq!(last["detail"]["restarts"], max_restarts);
    assert!(last["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("TemporaryFailure"));
}

#[tokio::test]
async fn pending_past_the_deadline_times_out() {
    let aws = aws().await;
    let o = onboard(&aws, "slow").await;
    force_dkim_status(&o.domain, Some("Pending")).await;
    let response = fire(&aws, &name(&o.domain, 1), o.started + TimeDelta::hours(72)).await;
    let Ok(Response::TimedOut { reason, .. }) = response else {
        panic!("expected TimedOut, got {response:?}")
    };
    assert!(
        reason.contains("Pending") && reason.contains("72 hours"),
        "{reason}"
    );
    assert!(schedules_for(&o.domain).await.is_empty());
    let events = o.subscriber.received().await;
    assert_eq!(
        events.last().unwrap()["detail-type"],
        "DKIM Verification Timed Out"
    );
    assert_eq!(
        events.last().unwrap()["detail"]["elapsedSeconds"],
        72 * 3600
    );
}

#[tokio::test]
async fn the_last_check_is_scheduled_at_the_deadline() {
    let aws = aws().await;
    let o = onboard(&aws, "lastcall").await;
    force_dkim_status(&o.domain, Some("Pending")).await;
    let almost = o.started + TimeDelta::hours(71) + TimeDelta::minutes(50);
    let response = fire(&aws, &name(&o.domain, 1), almost).await;
    let Ok(Response::Waiting { follow_up, .. }) = response else {
        panic!("{response:?}")
    };
    let deadline = o.started + TimeDelta::hours(72);
    assert!(
        follow_up.at >= deadline && follow_up.at - deadline < TimeDelta::seconds(1),
        "{} vs {deadline}",
        follow_up.at
    );
    // That last look, still Pending, ends the chain.
    let response = fire(&aws, &follow_up.schedule_name, follow_up.at).await;
    assert!(
        matches!(response, Ok(Response::TimedOut { .. })),
        "{response:?}"
    );
}

#[tokio::test]
async fn registration_waits_for_its_zone_then_onboards() {
    let aws = aws().await;
    let domain = unique_domain("registered");
    let subscriber = Subscriber::for_domain(&domain).await;
    let event = include_str!("../events/route53domains-register-domain.json")
        .replace("example-registered.org", &domain);
    let started = Utc::now();
    let response = invoke_at(&aws, &event, started).await;
    let Ok(Response::RetryLater { follow_up, .. }) = response else {
        panic!("expected RetryLater, got {response:?}")
    };
    assert!(
        !ses_identities().await.contains(&domain),
        "no identity before there is a zone"
    );
    let waiting = schedule(&follow_up.schedule_name).await.unwrap();
    assert_eq!(waiting.input["stage"], "awaitZone");
    assert!(waiting.input.get("hostedZoneId").is_none());

    // Still no zone at the first retry: look again later.
    let response = fire(&aws, &name(&domain, 1), started + TimeDelta::minutes(5)).await;
    assert!(
        matches!(response, Ok(Response::RetryLater { .. })),
        "{response:?}"
    );

    let zone = create_zone(&domain).await;
    let response = fire(&aws, &name(&domain, 2), started + TimeDelta::minutes(20)).await;
    let Ok(Response::Published {
        hosted_zone_id,
        follow_up,
        ..
    }) = response
    else {
        panic!("expected Published, got {response:?}")
    };
    assert_eq!(hosted_zone_id, zone);
    assert_eq!(follow_up.attempt, 3);
    let verify = schedule(&follow_up.schedule_name).await.unwrap();
    assert_eq!(verify.input["stage"], "verify");
    assert_eq!(
        verify.input["onboardingStartedAt"],
        json!(started),
        "the window counts from the registration"
    );
    let response = fire(
        &aws,
        &follow_up.schedule_name,
        started + TimeDelta::minutes(30),
    )
    .await;
    assert!(
        matches!(response, Ok(Response::Verified { .. })),
        "{response:?}"
    );
    assert_eq!(
        subscriber.detail_types().await,
        ["DKIM Records Published", "DKIM Verified"]
    );
}

#[tokio::test]
async fn a_zone_that_never_appears_times_out() {
    let aws = aws().await;
    let domain = unique_domain("neverzone");
    let subscriber = Subscriber::for_domain(&domain).await;
    let event = include_str!("../events/route53domains-register-domain.json")
        .replace("example-registered.org", &domain);
    let started = Utc::now();
    invoke_at(&aws, &event, started).await.unwrap();
    let response = fire(&aws, &name(&domain, 1), started + TimeDelta::hours(73)).await;
    assert!(
        matches!(response, Ok(Response::TimedOut { .. })),
        "{response:?}"
    );
    assert!(schedules_for(&domain).await.is_empty());
    assert_eq!(
        subscriber.detail_types().await,
        ["DKIM Verification Timed Out"]
    );
}

#[tokio::test]
async fn redelivered_and_concurrent_checks_make_one_next_schedule() {
    let aws = aws().await;
    let o = onboard(&aws, "redelivered").await;
    force_dkim_status(&o.domain, Some("Pending")).await;
    let first = schedule(&name(&o.domain, 1)).await.unwrap();
    let now = o.started + TimeDelta::minutes(5);

    let (a, b) = tokio::join!(
        invoke_at(&aws, &first.raw_input, now),
        invoke_at(&aws, &first.raw_input, now)
    );
    let again = invoke_at(&aws, &first.raw_input, now + TimeDelta::seconds(30)).await;
    let already: Vec<bool> = [a, b, again]
        .into_iter()
        .map(|r| match r {
            Ok(Response::Waiting { follow_up, .. }) => follow_up.already_scheduled,
            other => panic!("expected Waiting, got {other:?}"),
        })
        .collect();
    assert_eq!(already.iter().filter(|a| !**a).count(), 1, "{already:?}");
    let mut names = schedules_for(&o.domain).await;
    names.sort();
    assert_eq!(names, [name(&o.domain, 1), name(&o.domain, 2)]);
}

#[tokio::test]
async fn checking_a_verified_domain_changes_nothing() {
    let aws = aws().await;
    let o = onboard(&aws, "done").await;
    let input = schedule(&name(&o.domain, 1)).await.unwrap().raw_input;
    let records_before = cnames(&o.zone).await;
    for _ in 0..2 {
        let response = invoke_at(&aws, &input, o.started + TimeDelta::minutes(5)).await;
        assert!(
            matches!(response, Ok(Response::Verified { .. })),
            "{response:?}"
        );
    }
    assert_eq!(cnames(&o.zone).await, records_before);
    assert_eq!(
        schedules_for(&o.domain).await,
        [name(&o.domain, 1)],
        "only the original schedule; no new one"
    );
    let events = o.subscriber.received().await;
    let verified: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail-type"] == "DKIM Verified")
        .collect();
    assert_eq!(verified.len(), 2);
    assert_eq!(
        verified[0]["detail"]["outcomeId"], verified[1]["detail"]["outcomeId"],
        "a repeat is recognisable"
    );
}
