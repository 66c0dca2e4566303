//! Onboarding against the emulator: event in → SES tokens → three CNAMEs in the right
//! zone → one follow-up schedule → "DKIM Records Published".

mod support;

use chrono::{DateTime, Utc};
use dkim_autopilot::workflow::Response;
use serde_json::json;
use support::*;

fn published(response: Result<Response, String>) -> (String, Vec<(String, String)>, String, bool) {
    match response {
        Ok(Response::Published {
            hosted_zone_id,
            records,
            follow_up,
            ..
        }) => (
            hosted_zone_id,
            records.into_iter().map(|r| (r.name, r.value)).collect(),
            follow_up.schedule_name,
            follow_up.already_scheduled,
        ),
        other => panic!("expected Published, got {other:?}"),
    }
}

fn rejected_code(response: Result<Response, String>) -> (String, String) {
    match response {
        Ok(Response::Rejected {
            reason_code,
            reason,
            ..
        }) => (reason_code, reason),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn custom_event_publishes_records_schedules_a_check_and_announces_it() {
    let aws = aws().await;
    let domain = unique_domain("custom");
    let zone = create_zone(&domain).await;
    let subscriber = Subscriber::for_domain(&domain).await;
    let before = Utc::now();

    let event = custom_event(json!({"domain": domain.to_uppercase(), "tenantId": "tenant-7"}));
    let (zone_used, records, schedule_name, already) = published(invoke(&aws, &event).await);

    // Three CNAMEs, exactly the ones SES asked for, and nothing else.
    assert_eq!(zone_used, zone);
    let tokens = dkim_state(&domain).await["tokens"].clone();
    let tokens: Vec<String> = serde_json::from_value(tokens).unwrap();
    assert_eq!(tokens.len(), 3);
    let in_zone = cnames(&zone).await;
    assert_eq!(in_zone.len(), 3, "{in_zone:?}");
    for token in &tokens {
        assert_eq!(
            in_zone[&format!("{token}._domainkey.{domain}")],
            format!("{token}.dkim.amazonses.com")
        );
    }
    assert_eq!(records.len(), 3);
    assert!(ses_identities().await.contains(&domain));

    // One one-time schedule carrying what the follow-up needs.
    assert!(!already);
    assert_eq!(schedule_name, format!("dkim-{domain}-1"));
    let seen = schedule(&schedule_name).await.expect("schedule exists");
    assert_eq!(seen.target_arn, FUNCTION_ARN);
    assert_eq!(seen.role_arn, SCHEDULER_ROLE_ARN);
    assert_eq!(seen.timezone.as_deref(), Some("UTC"));
    assert!(seen.flexible_window_off && seen.delete_after_completion);
    let at = seen
        .expression
        .strip_prefix("at(")
        .and_then(|s| s.strip_suffix(')'))
        .expect("at() expression");
    let at = chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S")
        .unwrap()
        .and_utc();
    let delay = at - before;
    assert!(
        delay >= chrono::TimeDelta::minutes(5) && delay <= chrono::TimeDelta::minutes(6),
        "{delay}"
    );
    let input = &seen.input;
    assert_eq!(input["schema"], "dkim-autopilot/follow-up");
    assert_eq!(input["version"], 1);
    assert_eq!(input["stage"], "verify");
    assert_eq!(input["domain"], domain.as_str());
    assert_eq!(input["hostedZoneId"], zone.as_str());
    assert_eq!(input["tenantId"], "tenant-7");
    assert_eq!(input["attempt"], 1);
    assert_eq!(input["tokens"], json!(tokens));
    let started: DateTime<Utc> = input["onboardingStartedAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(started >= before - chrono::TimeDelta::seconds(1));

    // Subscribers hear about it.
    let events = subscriber.received().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "DKIM Records Published");
    assert_eq!(events[0]["source"], "dkim-autopilot");
    let detail = &events[0]["detail"];
    assert_eq!(detail["tenantId"], "tenant-7");
    assert_eq!(detail["hostedZoneId"], zone.as_str());
    assert_eq!(detail["tokens"], json!(tokens));
    assert_eq!(detail["recordNames"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn subdomain_goes_into_the_parent_zone() {
    let aws = aws().await;
    let parent = unique_domain("parent");
    let zone = create_zone(&parent).await;
    let domain = format!("mail.tenant.{parent}");
    let (zone_used, records, _, _) =
        published(invoke(&aws, &custom_event(json!({"domain": domain}))).await);
    assert_eq!(zone_used, zone);
    assert!(records
        .iter()
        .all(|(name, _)| name.ends_with(&format!("._domainkey.{domain}"))));
    assert_eq!(cnames(&zone).await.len(), 3);
}

#[tokio::test]
async fn deepest_of_nested_zones_is_chosen() {
    let aws = aws().await;
    let parent = unique_domain("nested");
    let outer = create_zone(&parent).await;
    let inner = create_zone(&format!("tenant.{parent}")).await;
    let domain = format!("mail.tenant.{parent}");
    let (zone_used, _, _, _) =
        published(invoke(&aws, &custom_event(json!({"domain": domain}))).await);
    assert_eq!(zone_used, inner);
    assert_eq!(cnames(&inner).await.len(), 3);
    assert!(
        cnames(&outer).await.is_empty(),
        "the outer zone is untouched"
    );
}

#[tokio::test]
async fn private_zones_are_never_written() {
    let aws = aws().await;
    let domain = unique_domain("private");
    let private = create_private_zone(&domain).await;

    // Looked up by name: a private zone does not count.
    let (code, reason) =
        rejected_code(invoke(&aws, &custom_event(json!({"domain": domain}))).await);
    assert_eq!(code, "NoHostedZone", "{reason}");
    // Named explicitly: refused with the reason.
    let (code, reason) = rejected_code(
        invoke(
            &aws,
            &custom_event(json!({"domain": domain, "hostedZoneId": private})),
        )
        .await,
    );
    assert_eq!(code, "PrivateZone");
    assert!(
        reason.contains(&private) && reason.contains("private"),
        "{reason}"
    );

    assert!(cnames(&private).await.is_empty());
    assert!(
        !ses_identities().await.contains(&domain),
        "no SES identity without a usable zone"
    );
    assert!(schedules_for(&domain).await.is_empty());
}

#[tokio::test]
async fn a_public_twin_of_a_private_zone_is_used() {
    let aws = aws().await;
    let domain = unique_domain("split");
    let private = create_private_zone(&domain).await;
    let public = create_zone(&domain).await;
    let (zone_used, _, _, _) =
        published(invoke(&aws, &custom_event(json!({"domain": domain}))).await);
    assert_eq!(zone_used, public);
    assert!(cnames(&private).await.is_empty());
}

#[tokio::test]
async fn no_zone_means_no_identity_and_no_schedule() {
    let aws = aws().await;
    let domain = unique_domain("nozone");
    let (code, reason) =
        rejected_code(invoke(&aws, &custom_event(json!({"domain": domain}))).await);
    assert_eq!(code, "NoHostedZone");
    assert!(reason.contains(&domain), "{reason}");
    assert!(!ses_identities().await.contains(&domain));
    assert!(schedules_for(&domain).await.is_empty());
}

#[tokio::test]
async fn a_named_zone_must_contain_the_domain() {
    let aws = aws().await;
    let domain = unique_domain("mismatch");
    let other = create_zone(&unique_domain("other")).await;
    let (code, reason) = rejected_code(
        invoke(
            &aws,
            &custom_event(json!({"domain": domain, "hostedZoneId": other})),
        )
        .await,
    );
    assert_eq!(code, "ZoneDoesNotContainDomain");
    assert!(
        reason.contains(&other) && reason.contains(&domain),
        "{reason}"
    );
    assert!(cnames(&other).await.is_empty());
    assert!(!ses_identities().await.contains(&domain));

    let (code, _) = rejected_code(
        invoke(
            &aws,
            &custom_event(json!({"domain": domain, "hostedZoneId": "ZDOESNOTEXIST1"})),
        )
        .await,
    );
    assert_eq!(code, "HostedZoneNotFound");
}

#[tokio::test]
async fn public_suffixes_are_refused_before_any_aws_call() {
    let aws = aws().await;
    for suffix in ["com", "co.uk", "github.io"] {
        let (code, reason) =
            rejected_code(invoke(&aws, &custom_event(json!({"domain": suffix}))).await);
        assert_eq!(code, "DomainRefused");
        assert!(
            reason.contains(suffix) && reason.contains("public suffix"),
            "{reason}"
        );
        assert!(!ses_identities().await.contains(&suffix.to_string()));
    }
}

#[tokio::test]
async fn international_domains_are_published_in_punycode() {
    let aws = aws().await;
    let ascii_part = unique_domain("idn");
    let unicode = format!("bücher-{ascii_part}");
    let punycode = idna::domain_to_ascii(&unicode).unwrap();
    assert!(punycode.starts_with("xn--"));
    let zone = create_zone(&punycode).await;
    let (_, records, schedule_name, _) =
        published(invoke(&aws, &custom_event(json!({"domain": unicode}))).await);
    assert!(records
        .iter()
        .all(|(name, _)| name.ends_with(&format!("._domainkey.{punycode}"))));
    assert_eq!(cnames(&zone).await.len(), 3);
    assert!(ses_identities().await.contains(&punycode));
    assert!(schedule_name.contains(&punycode));
}

#[tokio::test]
async fn create_hosted_zone_event_uses_the_zone_it_announces() {
    let aws = aws().await;
    let domain = unique_domain("cloudtrail");
    let zone = create_zone(&domain).await;
    let event = include_str!("../events/route53-create-hosted-zone.json")
        .replace("example-shop.net", &domain)
        .replace("Z0123456789EXAMPLEZONE", &zone);
    let (zone_used, _, _, _) = published(invoke(&aws, &event).await);
    assert_eq!(zone_used, zone);
    assert_eq!(cnames(&zone).await.len(), 3);
}

#[tokio::test]
async fn duplicate_delivery_ends_in_the_state_of_one() {
    let aws = aws().await;
    let domain = unique_domain("twice");
    let zone = create_zone(&domain).await;
    let subscriber = Subscriber::for_domain(&domain).await;
    let event = custom_event(json!({"domain": domain, "tenantId": "t"}));

    let (_, first_records, first_schedule, first_already) = published(invoke(&aws, &event).await);
    let first_input = schedule(&first_schedule).await.unwrap().raw_input;
    let (_, second_records, second_schedule, second_already) =
        published(invoke(&aws, &event).await);

    assert!(
        !first_already && second_already,
        "the redelivery finds the schedule already there"
    );
    assert_eq!(first_records, second_records);
    assert_eq!(first_schedule, second_schedule);
    assert_eq!(
        schedule(&first_schedule).await.unwrap().raw_input,
        first_input,
        "the schedule was not replaced"
    );
    assert_eq!(cnames(&zone).await.len(), 3);
    assert_eq!(
        ses_identities()
            .await
            .iter()
            .filter(|i| **i == domain)
            .count(),
        1
    );
    assert_eq!(schedules_for(&domain).await, [first_schedule]);
    // Both deliveries announce, with the same outcomeId so subscribers can deduplicate.
    let events = subscriber.received().await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0]["detail"]["outcomeId"],
        events[1]["detail"]["outcomeId"]
    );
}

#[tokio::test]
async fn concurrent_delivery_ends_in_the_state_of_one() {
    let aws = aws().await;
    let domain = unique_domain("together");
    let zone = create_zone(&domain).await;
    let event = custom_event(json!({"domain": domain}));
    let results = futures_join4(&aws, &event).await;
    let outcomes: Vec<_> = results.into_iter().map(published).collect();
    assert_eq!(
        outcomes.iter().filter(|o| !o.3).count(),
        1,
        "exactly one created the schedule"
    );
    assert!(outcomes
        .windows(2)
        .all(|w| w[0].1 == w[1].1 && w[0].2 == w[1].2));
    assert_eq!(cnames(&zone).await.len(), 3);
    assert_eq!(schedules_for(&domain).await.len(), 1);
    assert_eq!(
        ses_identities()
            .await
            .iter()
            .filter(|i| **i == domain)
            .count(),
        1
    );
}

async fn futures_join4(
    aws: &dkim_autopilot::aws::Aws,
    event: &str,
) -> Vec<Result<Response, String>> {
    let (a, b, c, d) = tokio::join!(
        invoke(aws, event),
        invoke(aws, event),
        invoke(aws, event),
        invoke(aws, event)
    );
    vec![a, b, c, d]
}
