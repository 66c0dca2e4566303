//! Offboarding against the emulator: a domain leaves after verification, in the
//! middle of its chain, or without ever having come; twice; next to records that are
//! not ours; with a follow-up still on its way; and comes back later. Scope and the
//! zone's opt-out tag for every trigger, and bad input refused with no change.

mod support;

use std::collections::BTreeMap;

use aws_sdk_route53::types::{Tag, TagResourceType};
use chrono::{DateTime, TimeDelta, Utc};
use dkim_autopilot::aws::scheduler::OneTimeSchedule;
use dkim_autopilot::aws::Aws;
use dkim_autopilot::config::Settings;
use dkim_autopilot::core::deferral::Deferred;
use dkim_autopilot::core::schedule::at_expression;
use dkim_autopilot::core::schedule::{parse, ScheduleName, Scheduled};
use dkim_autopilot::core::work::Work;
use dkim_autopilot::workflow::Response;
use serde_json::json;
use support::*;

async fn invoke_with(
    aws: &Aws,
    settings: &Settings,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<Response, String> {
    invoke_with_settings(aws, settings, payload, now).await
}

/// Fire a schedule as Scheduler would, with these settings.
async fn fire_with(
    aws: &Aws,
    settings: &Settings,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Response, String> {
    let seen = schedule(name)
        .await
        .unwrap_or_else(|| panic!("schedule {name} should exist"));
    complete_schedule(name).await;
    invoke_with(aws, settings, &seen.raw_input, now).await
}

struct Onboarded {
    domain: String,
    zone: String,
    started: DateTime<Utc>,
    tokens: Vec<String>,
    subscriber: Subscriber,
}

/// A domain with its zone, onboarded: three records, the first check scheduled.
async fn onboard(aws: &Aws, label: &str) -> Onboarded {
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
    let tokens = tokens_of(&domain).await;
    Onboarded {
        domain,
        zone,
        started,
        tokens,
        subscriber,
    }
}

fn name(domain: &str, attempt: u32) -> String {
    format!("dkim-{domain}-{attempt}")
}

fn tombstone(domain: &str) -> String {
    format!("dkim-{domain}-offboarded")
}

async fn tokens_of(domain: &str) -> Vec<String> {
    serde_json::from_value(dkim_state(domain).await["tokens"].clone()).unwrap()
}

fn record_names(domain: &str, tokens: &[String]) -> Vec<String> {
    let mut names: Vec<String> = tokens
        .iter()
        .map(|t| format!("{t}._domainkey.{domain}"))
        .collect();
    names.sort();
    names
}

/// The zone's CNAMEs under `_domainkey.<domain>`, name → value.
async fn dkim_records(zone: &str, domain: &str) -> BTreeMap<String, String> {
    cnames(zone)
        .await
        .into_iter()
        .filter(|(name, _)| name.ends_with(&format!("._domainkey.{domain}")))
        .collect()
}

/// What an offboarding (or an ended chain) says it did, each list sorted.
#[derive(Debug, PartialEq, Eq)]
struct Removed {
    schedules: Vec<String>,
    records: Vec<String>,
    identity: bool,
    left_alone: Vec<String>,
}

fn removed(response: Result<Response, String>) -> Removed {
    match response {
        Ok(Response::Removed {
            mut removed_schedules,
            mut removed_records,
            identity_deleted,
            mut left_alone,
            ..
        }) => {
            removed_schedules.sort();
            removed_records.sort();
            left_alone.sort();
            Removed {
                schedules: removed_schedules,
                records: removed_records,
                identity: identity_deleted,
                left_alone,
            }
        }
        other => panic!("expected Removed, got {other:?}"),
    }
}

fn nothing_removed(left_alone: Vec<String>) -> Removed {
    Removed {
        schedules: vec![],
        records: vec![],
        identity: false,
        left_alone,
    }
}

fn skipped_code(response: &Result<Response, String>) -> &str {
    match response {
        Ok(Response::Skipped { reason_code, .. }) => reason_code,
        other => panic!("expected Skipped, got {other:?}"),
    }
}

#[tokio::test]
async fn offboarding_after_verification_removes_records_and_identity_and_leaves_a_tombstone() {
    let aws = aws().await;
    let o = onboard(&aws, "off-verified").await;
    let verified = fire(&aws, &name(&o.domain, 1), o.started + TimeDelta::minutes(5)).await;
    assert!(
        matches!(verified, Ok(Response::Verified { .. })),
        "{verified:?}"
    );

    let now = o.started + TimeDelta::minutes(10);
    let response = invoke_at(
        &aws,
        &deregistered_event(json!({"domain": o.domain, "tenantId": "tenant-9"})),
        now,
    )
    .await;
    assert_eq!(
        serde_json::to_value(response.as_ref().unwrap()).unwrap()["outcome"],
        "removed"
    );
    assert_eq!(
        removed(response),
        Removed {
            schedules: vec![],
            records: record_names(&o.domain, &o.tokens),
            identity: true,
            left_alone: vec![],
        }
    );
    assert!(dkim_records(&o.zone, &o.domain).await.is_empty());
    assert!(!ses_identities().await.contains(&o.domain));
    assert_eq!(schedules_for(&o.domain).await, [tombstone(&o.domain)]);

    // The tombstone: when the domain left, outliving every chain begun before.
    let seen = schedule(&tombstone(&o.domain)).await.unwrap();
    assert_eq!(
        seen.input,
        json!({"schema": "dkim-autopilot/tombstone", "version": 1,
            "domain": o.domain, "offboardedAt": now})
    );
    let expires = now + TimeDelta::hours(72 + 6 + 24 + 1);
    assert_eq!(seen.expression, at_expression(expires));
    assert!(seen.delete_after_completion && seen.flexible_window_off);
    assert_eq!(seen.target_arn, FUNCTION_ARN);

    let events = o.subscriber.received().await;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["DKIM Records Published", "DKIM Verified", "DKIM Removed"]
    );
    let detail = &events[2]["detail"];
    assert_eq!(detail["domain"], o.domain.as_str());
    assert_eq!(detail["tenantId"], "tenant-9");
    assert_eq!(detail["hostedZoneId"], o.zone.as_str());
    assert_eq!(
        detail["removed"],
        json!({"schedules": [], "records": record_names(&o.domain, &o.tokens), "identity": true})
    );
    assert!(detail.get("leftAlone").is_none());
    assert_eq!(detail["outcomeId"].as_str().unwrap().len(), 32);

    // When it expires it fires once, as a no-op.
    let expired = fire(&aws, &tombstone(&o.domain), expires).await;
    assert!(
        matches!(&expired, Ok(Response::Ignored { reason }) if reason.contains("tombstone")),
        "{expired:?}"
    );
    assert!(schedules_for(&o.domain).await.is_empty());
}

#[tokio::test]
async fn offboarding_in_the_middle_of_a_chain_removes_its_schedules_and_no_neighbours() {
    let aws = aws().await;
    let o = onboard(&aws, "off-midchain").await;
    // `<domain>-x.com` is a domain whose schedule names begin like this one's.
    let neighbour = format!("{}-x.com", o.domain);
    let neighbour_zone = create_zone(&neighbour).await;
    let published = invoke(&aws, &custom_event(json!({ "domain": neighbour }))).await;
    assert!(matches!(published, Ok(Response::Published { .. })));
    assert!(name(&neighbour, 1).starts_with(&format!("dkim-{}-", o.domain)));

    force_dkim_status(&o.domain, Some("Pending")).await;
    let waiting = fire(&aws, &name(&o.domain, 1), o.started + TimeDelta::minutes(5)).await;
    assert!(
        matches!(waiting, Ok(Response::Waiting { .. })),
        "{waiting:?}"
    );
    // The second check was also put off by a throttle, into its own schedule.
    let second = schedule(&name(&o.domain, 2)).await.unwrap();
    let Ok(Scheduled::FollowUp(follow_up)) = parse(second.input.clone()) else {
        panic!("a follow-up: {}", second.raw_input)
    };
    let deferred = Deferred {
        work: Work::FollowUp(follow_up),
        deferrals: 1,
        last_error: Some("ses:GetIdentityDkimAttributes Throttling".into()),
    };
    let deferral_name = ScheduleName::for_deferral(&deferred.work, 1);
    assert_eq!(deferral_name.as_str(), format!("{}-d1", name(&o.domain, 2)));
    aws.scheduler
        .create_one_time(OneTimeSchedule {
            name: &deferral_name,
            group: SCHEDULE_GROUP,
            at: o.started + TimeDelta::minutes(30),
            target_arn: FUNCTION_ARN,
            role_arn: SCHEDULER_ROLE_ARN,
            dead_letter_arn: None,
            input: deferred.to_input(),
            description: "a deferred check".into(),
        })
        .await
        .unwrap();

    let response = invoke_at(
        &aws,
        &route53_domains("deleteDomain", json!({"domainName": o.domain})),
        o.started + TimeDelta::minutes(10),
    )
    .await;
    assert_eq!(
        removed(response),
        Removed {
            schedules: vec![name(&o.domain, 2), deferral_name.as_str().to_owned()],
            records: record_names(&o.domain, &o.tokens),
            identity: true,
            left_alone: vec![],
        }
    );
    let mut left = vec![name(&neighbour, 1), tombstone(&o.domain)];
    left.sort();
    assert_eq!(
        schedules_for(&o.domain).await,
        left,
        "the neighbour's check stays"
    );
    assert!(ses_identities().await.contains(&neighbour));
    assert_eq!(dkim_records(&neighbour_zone, &neighbour).await.len(), 3);
    assert!(dkim_records(&o.zone, &o.domain).await.is_empty());
}

#[tokio::test]
async fn a_domain_never_onboarded_is_offboarded_with_nothing_removed() {
    let aws = aws().await;
    let domain = unique_domain("off-never");
    let zone = create_zone(&domain).await;
    let foreign = format!("google._domainkey.{domain}");
    put_cname(&zone, &foreign, "google.example.net").await;
    let subscriber = Subscriber::for_domain(&domain).await;

    let response = invoke(
        &aws,
        &route53_domains("deleteDomain", json!({"domainName": {"name": domain}})),
    )
    .await;
    assert_eq!(removed(response), nothing_removed(vec![foreign.clone()]));
    assert_eq!(
        dkim_records(&zone, &domain).await,
        BTreeMap::from([(foreign.clone(), "google.example.net".to_owned())])
    );
    assert!(!ses_identities().await.contains(&domain));
    assert_eq!(schedules_for(&domain).await, [tombstone(&domain)]);
    let events = subscriber.received().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail-type"], "DKIM Removed");
    assert_eq!(
        events[0]["detail"]["removed"],
        json!({"schedules": [], "records": [], "identity": false})
    );
    assert_eq!(events[0]["detail"]["leftAlone"], json!([foreign]));

    // No zone at all: the same, with nothing to look at.
    let nowhere = unique_domain("off-nozone");
    let response = invoke(&aws, &deregistered_event(json!({ "domain": nowhere }))).await;
    assert_eq!(removed(response), nothing_removed(vec![]));
}

#[tokio::test]
async fn a_redelivered_offboarding_removes_nothing_and_the_later_one_counts() {
    let aws = aws().await;
    let o = onboard(&aws, "off-twice").await;
    let event = deregistered_event(json!({"domain": o.domain}));
    let at = |minutes| o.started + TimeDelta::minutes(minutes);

    let first = removed(invoke_at(&aws, &event, at(1)).await);
    assert_eq!(first.schedules, [name(&o.domain, 1)]);
    assert_eq!(first.records.len(), 3);
    assert!(first.identity);
    for minutes in [2, 3] {
        let again = invoke_at(&aws, &event, at(minutes)).await;
        assert_eq!(removed(again), nothing_removed(vec![]));
    }
    let offboarded_at = |seen: Option<ScheduleSeen>| seen.unwrap().input["offboardedAt"].clone();
    assert_eq!(
        offboarded_at(schedule(&tombstone(&o.domain)).await),
        json!(at(3)),
        "a later delivery is a later offboarding"
    );
    // A copy of the first delivery, late: the tombstone keeps the later time.
    assert_eq!(
        removed(invoke_at(&aws, &event, at(1)).await),
        nothing_removed(vec![])
    );
    assert_eq!(
        offboarded_at(schedule(&tombstone(&o.domain)).await),
        json!(at(3))
    );

    let events = o.subscriber.received().await;
    let ids: Vec<&str> = events[1..]
        .iter()
        .map(|e| {
            assert_eq!(e["detail-type"], "DKIM Removed");
            e["detail"]["outcomeId"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 4);
    assert_ne!(ids[0], ids[1], "the removal and the repeats differ");
    assert!(
        ids[1..].iter().all(|id| *id == ids[1]),
        "repeats share one id"
    );
}

#[tokio::test]
async fn foreign_and_hand_edited_records_are_left_alone_and_reported() {
    let aws = aws().await;
    let o = onboard(&aws, "off-foreign").await;
    let foreign = format!("google._domainkey.{}", o.domain);
    put_cname(&o.zone, &foreign, "google.example.net").await;
    let edited = format!("{}._domainkey.{}", o.tokens[0], o.domain);
    put_cname(&o.zone, &edited, "selector1.example.org").await;

    let response = invoke(&aws, &deregistered_event(json!({"domain": o.domain}))).await;
    let mut left_alone = vec![edited.clone(), foreign.clone()];
    left_alone.sort();
    assert_eq!(
        removed(response),
        Removed {
            schedules: vec![name(&o.domain, 1)],
            records: record_names(&o.domain, &o.tokens[1..]),
            identity: true,
            left_alone: left_alone.clone(),
        }
    );
    assert_eq!(
        dkim_records(&o.zone, &o.domain).await,
        BTreeMap::from([
            (edited, "selector1.example.org".to_owned()),
            (foreign, "google.example.net".to_owned()),
        ])
    );
    let events = o.subscriber.received().await;
    let detail = &events.last().unwrap()["detail"];
    let mut reported: Vec<String> = serde_json::from_value(detail["leftAlone"].clone()).unwrap();
    reported.sort();
    assert_eq!(reported, left_alone);
}

#[tokio::test]
async fn a_follow_up_firing_after_the_offboarding_does_not_bring_the_domain_back() {
    let aws = aws().await;
    let o = onboard(&aws, "off-late-check").await;
    // Scheduler had already handed the first check over when the domain left.
    let in_flight = schedule(&name(&o.domain, 1)).await.unwrap();
    let gone = removed(
        invoke_at(
            &aws,
            &deregistered_event(json!({"domain": o.domain})),
            o.started + TimeDelta::minutes(1),
        )
        .await,
    );
    assert_eq!(gone.schedules, [name(&o.domain, 1)]);
    // And a racing write had put the records back.
    for token in &o.tokens {
        put_cname(
            &o.zone,
            &format!("{token}._domainkey.{}", o.domain),
            &format!("{token}.dkim.amazonses.com"),
        )
        .await;
    }

    let ended = invoke_at(
        &aws,
        &in_flight.raw_input,
        o.started + TimeDelta::minutes(5),
    )
    .await;
    assert_eq!(
        removed(ended),
        Removed {
            schedules: vec![],
            records: record_names(&o.domain, &o.tokens),
            identity: false,
            left_alone: vec![],
        }
    );
    assert!(
        !ses_identities().await.contains(&o.domain),
        "VerifyDomainDkim was not called"
    );
    assert!(dkim_records(&o.zone, &o.domain).await.is_empty());
    assert_eq!(schedules_for(&o.domain).await, [tombstone(&o.domain)]);
    assert_eq!(
        o.subscriber.detail_types().await,
        ["DKIM Records Published", "DKIM Removed"],
        "the ended chain tells nobody"
    );
}

#[tokio::test]
async fn a_registration_still_waiting_for_its_zone_ends_with_the_offboarding() {
    let aws = aws().await;
    let domain = unique_domain("off-awaiting");
    let waiting = invoke(
        &aws,
        &route53_domains(
            "registerDomain",
            json!({"domainName": domain, "durationInYears": 1}),
        ),
    )
    .await;
    assert!(
        matches!(waiting, Ok(Response::RetryLater { .. })),
        "{waiting:?}"
    );
    let pending = schedule(&name(&domain, 1)).await.unwrap();
    let now = Utc::now();
    let gone = removed(
        invoke_at(
            &aws,
            &route53_domains("deleteDomain", json!({"domainName": domain})),
            now,
        )
        .await,
    );
    assert_eq!(gone, {
        let mut r = nothing_removed(vec![]);
        r.schedules = vec![name(&domain, 1)];
        r
    });
    // The registrar's zone shows up after all, and the old look for it fires.
    let zone = create_zone(&domain).await;
    let ended = invoke_at(&aws, &pending.raw_input, now + TimeDelta::minutes(5)).await;
    assert_eq!(removed(ended), nothing_removed(vec![]));
    assert!(!ses_identities().await.contains(&domain));
    assert!(dkim_records(&zone, &domain).await.is_empty());
    assert_eq!(schedules_for(&domain).await, [tombstone(&domain)]);
}

#[tokio::test]
async fn an_onboarding_after_the_offboarding_starts_fresh_and_an_old_check_spares_it() {
    let aws = aws().await;
    let o = onboard(&aws, "off-back").await;
    let old_check = schedule(&name(&o.domain, 1)).await.unwrap();
    invoke_at(
        &aws,
        &deregistered_event(json!({"domain": o.domain})),
        o.started + TimeDelta::minutes(1),
    )
    .await
    .unwrap();

    let again = o.started + TimeDelta::minutes(2);
    let response = invoke_at(&aws, &custom_event(json!({"domain": o.domain})), again).await;
    assert!(
        matches!(response, Ok(Response::Published { .. })),
        "{response:?}"
    );
    let tokens = tokens_of(&o.domain).await;
    assert!(
        tokens.iter().all(|t| !o.tokens.contains(t)),
        "a new identity"
    );

    // The old chain's check, late: it ends, and leaves the new chain alone.
    let ended = invoke_at(
        &aws,
        &old_check.raw_input,
        o.started + TimeDelta::minutes(3),
    )
    .await;
    assert_eq!(
        removed(ended),
        nothing_removed(record_names(&o.domain, &tokens))
    );
    assert_eq!(schedules_for(&o.domain).await.len(), 2, "tombstone and -1");
    let verified = fire(&aws, &name(&o.domain, 1), again + TimeDelta::minutes(5)).await;
    assert!(
        matches!(verified, Ok(Response::Verified { .. })),
        "{verified:?}"
    );
    assert!(ses_identities().await.contains(&o.domain));
    assert_eq!(dkim_records(&o.zone, &o.domain).await.len(), 3);
}

#[tokio::test]
async fn keeping_the_identity_on_offboard_keeps_it_and_a_newer_chain_keeps_its_records() {
    let aws = aws().await;
    let keep = settings_with(&[("DELETE_IDENTITY_ON_OFFBOARD", "false")]);
    let o = onboard(&aws, "off-keep").await;
    let old_check = schedule(&name(&o.domain, 1)).await.unwrap();
    let response = invoke_with(
        &aws,
        &keep,
        &deregistered_event(json!({"domain": o.domain})),
        o.started + TimeDelta::minutes(1),
    )
    .await;
    assert_eq!(
        removed(response),
        Removed {
            schedules: vec![name(&o.domain, 1)],
            records: record_names(&o.domain, &o.tokens),
            identity: false,
            left_alone: vec![],
        }
    );
    assert!(ses_identities().await.contains(&o.domain));
    let events = o.subscriber.received().await;
    assert_eq!(
        events.last().unwrap()["detail"]["removed"]["identity"],
        false
    );

    // Back again: the kept identity gives the same tokens, so the old chain's values
    // are the new chain's too. The old check, late, must leave them.
    let again = o.started + TimeDelta::minutes(2);
    let response = invoke_with(
        &aws,
        &keep,
        &custom_event(json!({"domain": o.domain})),
        again,
    )
    .await;
    assert!(matches!(response, Ok(Response::Published { .. })));
    assert_eq!(tokens_of(&o.domain).await, o.tokens);
    let ended = invoke_with(
        &aws,
        &keep,
        &old_check.raw_input,
        o.started + TimeDelta::minutes(3),
    )
    .await;
    assert_eq!(
        removed(ended),
        nothing_removed(record_names(&o.domain, &o.tokens))
    );
    assert_eq!(dkim_records(&o.zone, &o.domain).await.len(), 3);
}

#[tokio::test]
async fn an_excluded_domain_is_skipped_by_every_trigger() {
    let aws = aws().await;
    let parent = unique_domain("off-scope");
    let zone = create_zone(&parent).await;
    let excluded = settings_with(&[("DOMAIN_EXCLUDE", &parent)]);

    // Domain Registered.
    let newcomer = format!("mail.{parent}");
    let subscriber = Subscriber::for_domain(&newcomer).await;
    let response = invoke_with(
        &aws,
        &excluded,
        &custom_event(json!({"domain": newcomer, "tenantId": "tenant-9"})),
        Utc::now(),
    )
    .await;
    assert_eq!(skipped_code(&response), "OutOfScope");
    assert!(!ses_identities().await.contains(&newcomer));
    assert!(schedules_for(&newcomer).await.is_empty());
    assert!(dkim_records(&zone, &newcomer).await.is_empty());
    let events = subscriber.received().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail-type"], "Domain Skipped");
    assert_eq!(events[0]["detail"]["reasonCode"], "OutOfScope");
    assert_eq!(events[0]["detail"]["tenantId"], "tenant-9");
    assert!(events[0]["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("DOMAIN_EXCLUDE"));

    // Onboarded while it was in scope; then the exclusion is deployed.
    let shop = format!("shop.{parent}");
    let started = Utc::now();
    let response = invoke_at(&aws, &custom_event(json!({ "domain": shop })), started).await;
    assert!(matches!(response, Ok(Response::Published { .. })));

    // Domain Deregistered: nothing is removed, no tombstone is left.
    let response = invoke_with(
        &aws,
        &excluded,
        &deregistered_event(json!({ "domain": shop })),
        started + TimeDelta::minutes(1),
    )
    .await;
    assert_eq!(skipped_code(&response), "OutOfScope");
    assert!(ses_identities().await.contains(&shop));
    assert_eq!(dkim_records(&zone, &shop).await.len(), 3);
    assert_eq!(schedules_for(&shop).await, [name(&shop, 1)]);

    // Its follow-up: skipped, and the chain ends there.
    force_dkim_status(&shop, Some("Pending")).await;
    let response = fire_with(
        &aws,
        &excluded,
        &name(&shop, 1),
        started + TimeDelta::minutes(5),
    )
    .await;
    assert_eq!(skipped_code(&response), "OutOfScope");
    assert!(schedules_for(&shop).await.is_empty());
    assert_eq!(dkim_records(&zone, &shop).await.len(), 3);
}

#[tokio::test]
async fn a_zone_tagged_off_is_not_written_by_a_check_nor_an_offboarding() {
    let aws = aws().await;
    let o = onboard(&aws, "off-tagged").await;
    aws_sdk_route53::Client::new(sdk_config().await)
        .change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(&o.zone)
        .add_tags(Tag::builder().key("dkim-autopilot").value("Off").build())
        .send()
        .await
        .expect("tag the zone");

    // Nothing to write: the tag is not even read, and the chain goes on. Four calls:
    // SES's status and the tombstone at once, the records, the next schedule.
    force_dkim_status(&o.domain, Some("Pending")).await;
    let before = aws.calls.snapshot();
    let waiting = fire(&aws, &name(&o.domain, 1), o.started + TimeDelta::minutes(5)).await;
    assert!(
        matches!(waiting, Ok(Response::Waiting { .. })),
        "{waiting:?}"
    );
    assert_eq!(aws.calls.snapshot().since(&before).calls(), 4);

    // A record is gone: restoring it would write to the zone, so the check stops.
    let victim = format!("{}._domainkey.{}", o.tokens[0], o.domain);
    delete_cname(
        &o.zone,
        &victim,
        &format!("{}.dkim.amazonses.com", o.tokens[0]),
    )
    .await;
    let second = schedule(&name(&o.domain, 2)).await.unwrap();
    let response = fire(
        &aws,
        &name(&o.domain, 2),
        o.started + TimeDelta::minutes(20),
    )
    .await;
    assert_eq!(skipped_code(&response), "ZoneOptedOut");
    assert!(!dkim_records(&o.zone, &o.domain).await.contains_key(&victim));
    assert!(
        schedules_for(&o.domain).await.is_empty(),
        "the next check was taken back"
    );

    // A restart would write too: SES is not even asked again.
    force_dkim_status(&o.domain, Some("Failed")).await;
    let generation = dkim_state(&o.domain).await["generation"].clone();
    let response = invoke_at(&aws, &second.raw_input, o.started + TimeDelta::minutes(21)).await;
    assert_eq!(skipped_code(&response), "ZoneOptedOut");
    assert_eq!(dkim_state(&o.domain).await["generation"], generation);
    assert_eq!(tokens_of(&o.domain).await, o.tokens);
    assert!(schedules_for(&o.domain).await.is_empty());

    // An offboarding leaves the zone, the identity and everything else alone.
    let response = invoke(&aws, &deregistered_event(json!({"domain": o.domain}))).await;
    assert_eq!(skipped_code(&response), "ZoneOptedOut");
    assert!(ses_identities().await.contains(&o.domain));
    assert_eq!(dkim_records(&o.zone, &o.domain).await.len(), 2);
    assert!(schedules_for(&o.domain).await.is_empty(), "no tombstone");
    let types = o.subscriber.detail_types().await;
    assert_eq!(
        types,
        [
            "DKIM Records Published",
            "Domain Skipped",
            "Domain Skipped",
            "Domain Skipped"
        ]
    );
}

#[tokio::test]
async fn a_malformed_domain_deregistered_is_refused_clearly_and_changes_nothing() {
    let aws = aws().await;
    let o = onboard(&aws, "off-malformed").await;
    let snapshot = || async {
        (
            ses_identities().await.contains(&o.domain),
            dkim_records(&o.zone, &o.domain).await,
            schedules_for(&o.domain).await,
        )
    };
    let before = snapshot().await;
    assert_eq!(before.2, [name(&o.domain, 1)]);

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "domain missing",
            deregistered_event(json!({"tenantId": "tenant-9"})),
            "`detail.domain` is missing",
        ),
        (
            "domain a number",
            deregistered_event(json!({"domain": 42})),
            "`detail.domain` must be a string, got a number",
        ),
        (
            "domain an object",
            deregistered_event(json!({"domain": {"name": o.domain}})),
            "`detail.domain` must be a string, got an object",
        ),
        (
            "detail a string",
            deregistered_event(json!(o.domain)),
            "`detail` must be an object",
        ),
        (
            "zone id malformed",
            deregistered_event(json!({"domain": o.domain, "hostedZoneId": "zone/../1"})),
            "hosted zone id",
        ),
        (
            "tenant empty",
            deregistered_event(json!({"domain": o.domain, "tenantId": ""})),
            "`detail.tenantId` must not be empty",
        ),
        (
            "deleteDomain name a number",
            route53_domains("deleteDomain", json!({"domainName": {"name": 42}})),
            "`detail.requestParameters.domainName.name` must be a string, got a number",
        ),
        (
            "deleteDomain without a name",
            route53_domains("deleteDomain", json!({})),
            "`detail.requestParameters.domainName` is missing",
        ),
    ];
    for (case, payload, expected) in cases {
        match invoke(&aws, &payload).await {
            Ok(Response::Rejected {
                reason_code,
                reason,
                ..
            }) => {
                assert_eq!(reason_code, "InvalidEvent", "{case}");
                assert!(reason.contains(expected), "{case}: {reason}");
            }
            other => panic!("{case}: expected a rejection, got {other:?}"),
        }
    }
    assert_eq!(snapshot().await, before, "state unchanged");
    assert_eq!(
        o.subscriber.detail_types().await,
        [
            "DKIM Records Published",
            "Domain Rejected",
            "Domain Rejected"
        ],
        "the two refusals that name the domain are told"
    );
}
