//! Each use case called directly, in-process, against the emulator: one test per
//! branch of its story, written as given / when / then. The dispatcher (`workflow::run`)
//! and the handler are not in the way, so a branch fails here, close to its code,
//! before it fails in a full Runtime API run.
//!
//! Faults (throttling, AWS errors mid-way) are in `faults.rs`; whole scenarios across
//! several invocations are in `onboarding.rs`, `follow_up.rs`, `offboarding.rs`,
//! `handover.rs` and `reconcile.rs`.

mod support;

use aws_sdk_route53::types::{Tag, TagResourceType};
use chrono::{DateTime, TimeDelta, Utc};
use dkim_autopilot::aws::Aws;
use dkim_autopilot::config::Settings;
use dkim_autopilot::core::chain::Chain;
use dkim_autopilot::core::ids::{DomainName, HostedZoneId};
use dkim_autopilot::core::reconcile::ReconcileRun;
use dkim_autopilot::core::records::DkimTokens;
use dkim_autopilot::core::rejection::RejectReason;
use dkim_autopilot::core::request::{
    DnsMode, OffboardRequest, OffboardTrigger, OnboardRequest, Trigger,
};
use dkim_autopilot::core::schedule::{parse_input, ScheduleName, Scheduled};
use dkim_autopilot::core::zone::ZoneProblem;
use dkim_autopilot::dns::PublicDns;
use dkim_autopilot::workflow::{check, handover, offboard, onboard, reconcile};
use dkim_autopilot::workflow::{Context, Response, Stop};
use support::*;

/// What every test is given: the adapters, settings, public DNS and a clock.
struct World {
    aws: Aws,
    settings: Settings,
    dns: PublicDns,
    now: DateTime<Utc>,
}

impl World {
    async fn new() -> Self {
        Self::with(&[]).await
    }

    async fn with(extra: &[(&str, &str)]) -> Self {
        let settings = settings_with(extra);
        let dns = PublicDns::new(&settings.dns_resolvers);
        Self {
            aws: aws().await,
            settings,
            dns,
            now: Utc::now(),
        }
    }

    fn cx(&self) -> Context<'_> {
        Context {
            aws: &self.aws,
            settings: &self.settings,
            function_arn: FUNCTION_ARN,
            now: self.now,
            deadline: None,
            dns: &self.dns,
        }
    }

    /// `onboard::onboard` now, for `name` asked for by `trigger` in `mode`.
    async fn onboard(&self, name: &str, trigger: Trigger, mode: DnsMode) -> Result<Response, Stop> {
        let asked = (mode != DnsMode::Route53).then_some(mode);
        onboard::onboard(&self.cx(), request(name, trigger, asked), self.now, mode).await
    }

    /// `handover::hand_over` now, for `name` asked for by an application.
    async fn hand_over(&self, name: &str) -> Result<Response, Stop> {
        let asked = request(name, by_app(), Some(DnsMode::External));
        handover::hand_over(&self.cx(), asked, self.now).await
    }

    /// The same world, later.
    fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }
}

fn domain(name: &str) -> DomainName {
    DomainName::parse(name).expect("a test domain")
}

fn zone_id(id: &str) -> HostedZoneId {
    HostedZoneId::parse(id).expect("a test zone id")
}

fn request(name: &str, trigger: Trigger, dns_mode: Option<DnsMode>) -> OnboardRequest {
    OnboardRequest {
        domain: domain(name),
        hosted_zone_id: None,
        tenant_id: None,
        dns_mode,
        ses_regions: None,
        trigger,
    }
}

fn by_app() -> Trigger {
    Trigger::Custom {
        source: APP_SOURCE.to_owned(),
    }
}

async fn tag_opted_out(zone: &str) {
    aws_sdk_route53::Client::new(sdk_config().await)
        .change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(zone)
        .add_tags(Tag::builder().key("dkim-autopilot").value("off").build())
        .send()
        .await
        .expect("tag the zone");
}

/// A domain onboarded into its zone by the use case itself: the chain of its first
/// check, the zone and the tokens it published.
async fn published(world: &World, label: &str) -> (Chain, HostedZoneId, DkimTokens) {
    let name = unique_domain(label);
    let zone = create_zone(&name).await;
    let onboarded = world.onboard(&name, by_app(), DnsMode::Route53).await;
    assert!(
        matches!(onboarded, Ok(Response::Published { .. })),
        "{onboarded:?}"
    );
    let tokens = dkim_state(&name).await["tokens"]
        .as_array()
        .expect("SES tokens")
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let chain = Chain::starting(domain(&name), None, world.now);
    (chain, zone_id(&zone), DkimTokens::parse(&tokens).unwrap())
}

/// Whether look `attempt` of the domain's chain is scheduled.
async fn follow_up_scheduled(domain: &DomainName, attempt: u32) -> bool {
    let name = ScheduleName::for_follow_up(domain, attempt);
    schedule(name.as_str()).await.is_some()
}

/// Someone deletes one of the zone's CNAMEs: which one, and its value.
async fn delete_one_record(zone: &HostedZoneId) -> (String, String) {
    let (name, value) = cnames(zone.as_str()).await.into_iter().next().unwrap();
    delete_cname(zone.as_str(), &name, &value).await;
    (name, value)
}

// ---- onboard ------------------------------------------------------------------

#[tokio::test]
async fn onboard_publishes_three_records_and_schedules_the_first_check() {
    // Given a domain with its public zone
    let world = World::new().await;
    let name = unique_domain("uc-onboard");
    let zone = create_zone(&name).await;

    // When it is onboarded
    let response = world.onboard(&name, by_app(), DnsMode::Route53).await;

    // Then its three CNAMEs are in the zone and attempt 1 is scheduled
    let Ok(Response::Published {
        hosted_zone_id,
        records,
        follow_up,
        ..
    }) = response
    else {
        panic!("{response:?}")
    };
    assert_eq!(hosted_zone_id, zone);
    assert_eq!(records.len(), 3);
    let in_zone = cnames(&zone).await;
    for record in &records {
        assert_eq!(in_zone.get(&record.name), Some(&record.value), "{record:?}");
    }
    let first = ScheduleName::for_follow_up(&domain(&name), 1)
        .as_str()
        .to_owned();
    assert_eq!(follow_up.schedule_name, first);
    assert!(schedule(&first).await.is_some());
    assert!(ses_identities().await.contains(&name));
}

#[tokio::test]
async fn onboard_without_a_zone_is_refused_before_ses_hears_of_the_domain() {
    // Given a domain no zone holds, from an application that wants Route 53
    let world = World::new().await;
    let name = unique_domain("uc-no-zone");

    // When it is onboarded
    let response = world.onboard(&name, by_app(), DnsMode::Route53).await;

    // Then it is rejected for its zone, and no identity or schedule was made
    assert!(
        matches!(
            &response,
            Err(Stop::Rejected(r)) if matches!(r.reason, RejectReason::Zone(ZoneProblem::NoneFound { .. }))
        ),
        "{response:?}"
    );
    assert!(!ses_identities().await.contains(&name));
    assert!(schedules_for(&name).await.is_empty());
}

#[tokio::test]
async fn onboard_in_auto_mode_without_a_zone_hands_the_records_over() {
    // Given a domain no zone holds, asked for in `auto` mode
    let world = World::new().await;
    let name = unique_domain("uc-auto");

    // When it is onboarded
    let response = world.onboard(&name, by_app(), DnsMode::Auto).await;

    // Then the tenant is handed three records, and a hand-over check is scheduled
    let Ok(Response::HandedOver {
        records, follow_up, ..
    }) = response
    else {
        panic!("{response:?}")
    };
    assert_eq!(records.len(), 3);
    assert!(schedule(&follow_up.schedule_name).await.is_some());
    // Route 53 was only asked which zone holds the domain: nothing was written there
    let route53: Vec<_> = calls_naming("route53", &name)
        .await
        .iter()
        .map(|c| c["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!route53.is_empty(), "auto looks for a zone first");
    assert!(
        route53
            .iter()
            .all(|action| action == "ListHostedZonesByName"),
        "{route53:?}"
    );
}

#[tokio::test]
async fn onboard_of_a_registration_whose_zone_is_not_there_yet_waits_for_it() {
    // Given a registered domain whose zone Route 53 Domains has not made yet
    let world = World::new().await;
    let name = unique_domain("uc-registered");

    // When it is onboarded
    let response = world
        .onboard(&name, Trigger::DomainRegistered, DnsMode::Route53)
        .await;

    // Then a look for the zone is scheduled, and SES has not heard of the domain
    let Ok(Response::RetryLater { follow_up, .. }) = response else {
        panic!("{response:?}")
    };
    assert!(follow_up.at > world.now);
    assert!(schedule(&follow_up.schedule_name).await.is_some());
    assert!(!ses_identities().await.contains(&name));
}

#[tokio::test]
async fn onboard_into_a_zone_tagged_off_is_skipped_with_nothing_written() {
    // Given a domain whose zone says hands off
    let world = World::new().await;
    let name = unique_domain("uc-tagged");
    let zone = create_zone(&name).await;
    tag_opted_out(&zone).await;

    // When it is onboarded
    let response = world.onboard(&name, by_app(), DnsMode::Route53).await;

    // Then it is skipped: no identity, no record, no schedule
    assert!(
        matches!(&response, Ok(Response::Skipped { reason_code, .. }) if reason_code == "ZoneOptedOut"),
        "{response:?}"
    );
    assert!(!ses_identities().await.contains(&name));
    assert!(cnames(&zone).await.is_empty());
    assert!(schedules_for(&name).await.is_empty());
}

#[tokio::test]
async fn look_for_zone_again_publishes_once_the_zone_appears() {
    // Given a registration that has been waiting for its zone, which now exists
    let world = World::new().await;
    let name = unique_domain("uc-zone-appears");
    let chain = Chain::starting(domain(&name), None, world.now - TimeDelta::minutes(10));
    let zone = create_zone(&name).await;

    // When the chain looks again
    let response = onboard::look_for_zone_again(&world.cx(), chain, None).await;

    // Then the records are published, and the next look is attempt 2
    let Ok(Response::Published { follow_up, .. }) = response else {
        panic!("{response:?}")
    };
    assert_eq!(cnames(&zone).await.len(), 3);
    assert_eq!(
        follow_up.schedule_name,
        ScheduleName::for_follow_up(&domain(&name), 2)
            .as_str()
            .to_owned()
    );
}

#[tokio::test]
async fn look_for_zone_again_gives_up_when_the_window_has_closed() {
    // Given a registration whose zone never came, 73 hours after onboarding began
    let world = World::new().await;
    let name = unique_domain("uc-zone-never");
    let chain = Chain::starting(domain(&name), None, world.now - TimeDelta::hours(73));

    // When the chain looks again
    let response = onboard::look_for_zone_again(&world.cx(), chain, None).await;

    // Then it timed out, and nothing more is scheduled
    assert!(
        matches!(&response, Ok(Response::TimedOut { reason, .. }) if reason.contains("gave up")),
        "{response:?}"
    );
    assert!(schedules_for(&name).await.is_empty());
}

// ---- check --------------------------------------------------------------------

#[tokio::test]
async fn check_reports_verified_when_ses_says_success() {
    // Given a published domain that SES has verified
    let world = World::new().await;
    let (chain, zone, tokens) = published(&world, "uc-verified").await;
    force_dkim_status(chain.domain.as_str(), Some("Success")).await;
    let world = world.at(chain.onboarding_started_at + TimeDelta::minutes(20));

    // When the first check runs
    let response = check::check(&world.cx(), chain.clone(), zone, tokens).await;

    // Then it is verified after 20 minutes, and no further check is scheduled
    assert_eq!(
        response.ok(),
        Some(Response::Verified {
            domain: chain.domain.to_string(),
            attempt: 1,
            elapsed_seconds: 20 * 60,
        })
    );
    assert!(!follow_up_scheduled(&chain.domain, 2).await);
}

#[tokio::test]
async fn check_while_pending_restores_a_deleted_record_and_looks_again() {
    // Given a published domain, still pending, one of whose records was deleted
    let world = World::new().await;
    let (chain, zone, tokens) = published(&world, "uc-pending").await;
    force_dkim_status(chain.domain.as_str(), Some("Pending")).await;
    let (gone_name, gone_value) = delete_one_record(&zone).await;
    let world = world.at(chain.onboarding_started_at + TimeDelta::minutes(5));

    // When the first check runs
    let response = check::check(&world.cx(), chain.clone(), zone.clone(), tokens).await;

    // Then the record is back, and attempt 2 is scheduled
    let Ok(Response::Waiting {
        restored_records,
        removed_records,
        follow_up,
        ..
    }) = response
    else {
        panic!("{response:?}")
    };
    assert_eq!(restored_records, vec![gone_name.clone()]);
    assert!(removed_records.is_empty());
    assert_eq!(
        cnames(zone.as_str()).await.get(&gone_name),
        Some(&gone_value)
    );
    assert_eq!(
        follow_up.schedule_name,
        ScheduleName::for_follow_up(&chain.domain, 2)
            .as_str()
            .to_owned()
    );
}

#[tokio::test]
async fn check_after_ses_failed_restarts_verification() {
    // Given a published domain SES could not verify
    let world = World::new().await;
    let (chain, zone, tokens) = published(&world, "uc-failed").await;
    force_dkim_status(chain.domain.as_str(), Some("Failed")).await;
    let world = world.at(chain.onboarding_started_at + TimeDelta::minutes(5));

    // When the first check runs
    let response = check::check(&world.cx(), chain.clone(), zone.clone(), tokens).await;

    // Then SES is asked again, the zone holds the records of SES's tokens, and the
    // next look is scheduled
    let Ok(Response::Restarted { follow_up, .. }) = response else {
        panic!("{response:?}")
    };
    assert!(schedule(&follow_up.schedule_name).await.is_some());
    let current = dkim_state(chain.domain.as_str()).await["tokens"].clone();
    let in_zone = cnames(zone.as_str()).await;
    for token in current.as_array().unwrap() {
        let token = token.as_str().unwrap();
        assert!(
            in_zone.keys().any(|name| name.starts_with(token)),
            "{token} not in {in_zone:?}"
        );
    }
}

#[tokio::test]
async fn check_after_the_window_reports_timed_out_and_schedules_nothing() {
    // Given a published domain still pending 73 hours after onboarding began
    let world = World::new().await;
    let (chain, zone, tokens) = published(&world, "uc-late").await;
    force_dkim_status(chain.domain.as_str(), Some("Pending")).await;
    let world = world.at(chain.onboarding_started_at + TimeDelta::hours(73));

    // When a check runs
    let response = check::check(&world.cx(), chain.clone(), zone, tokens).await;

    // Then it timed out, and no further check is scheduled
    assert!(
        matches!(&response, Ok(Response::TimedOut { .. })),
        "{response:?}"
    );
    assert!(!follow_up_scheduled(&chain.domain, 2).await);
}

#[tokio::test]
async fn check_of_a_zone_tagged_off_since_writes_nothing() {
    // Given a published domain whose zone was tagged off, and a record gone
    let world = World::new().await;
    let (chain, zone, tokens) = published(&world, "uc-tag-later").await;
    force_dkim_status(chain.domain.as_str(), Some("Pending")).await;
    let (gone_name, _) = delete_one_record(&zone).await;
    tag_opted_out(zone.as_str()).await;

    // When the check would repair it
    let response = check::check(&world.cx(), chain.clone(), zone.clone(), tokens).await;

    // Then it is skipped: the record stays gone and the chain ends
    assert!(
        matches!(&response, Ok(Response::Skipped { reason_code, .. }) if reason_code == "ZoneOptedOut"),
        "{response:?}"
    );
    assert!(!cnames(zone.as_str()).await.contains_key(&gone_name));
    assert!(!follow_up_scheduled(&chain.domain, 2).await);
}

// ---- hand-over ----------------------------------------------------------------

#[tokio::test]
async fn hand_over_gives_the_tenant_three_records_and_touches_no_zone() {
    // Given a tenant's domain whose DNS is elsewhere
    let world = World::new().await;
    let name = unique_domain("uc-handover");

    // When its records are handed over
    let response = world.hand_over(&name).await;

    // Then three records are handed over, SES has the identity, and a check is scheduled
    let Ok(Response::HandedOver {
        records, follow_up, ..
    }) = response
    else {
        panic!("{response:?}")
    };
    assert_eq!(records.len(), 3);
    assert!(ses_identities().await.contains(&name));
    assert!(schedule(&follow_up.schedule_name).await.is_some());
}

#[tokio::test]
async fn hand_over_check_reports_verified_once_ses_finds_the_records() {
    // Given handed-over records SES has found
    let world = World::new().await;
    let name = unique_domain("uc-handover-ok");
    let handed = world.hand_over(&name).await;
    assert!(
        matches!(handed, Ok(Response::HandedOver { .. })),
        "{handed:?}"
    );
    let tokens = dkim_state(&name).await["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    force_dkim_status(&name, Some("Success")).await;
    let chain = Chain::starting(domain(&name), None, world.now);

    // When the check runs
    let response = handover::check(&world.cx(), chain, DkimTokens::parse(&tokens).unwrap()).await;

    // Then the domain is verified at attempt 1
    assert!(
        matches!(&response, Ok(Response::Verified { attempt: 1, .. })),
        "{response:?}"
    );
}

// ---- offboard -----------------------------------------------------------------

#[tokio::test]
async fn offboard_removes_the_records_the_identity_and_the_chain() {
    // Given a domain onboarded with a check on its way
    let world = World::new().await;
    let (chain, zone, _tokens) = published(&world, "uc-offboard").await;
    let name = chain.domain.to_string();
    let world = world.at(chain.onboarding_started_at + TimeDelta::minutes(1));

    // When it is offboarded
    let response = offboard::offboard(
        &world.cx(),
        OffboardRequest {
            domain: chain.domain.clone(),
            hosted_zone_id: None,
            tenant_id: None,
            trigger: OffboardTrigger::Custom {
                source: APP_SOURCE.to_owned(),
            },
        },
        world.now,
    )
    .await;

    // Then the three records, the identity and the first check are gone
    let Ok(Response::Removed {
        removed_records,
        identity_deleted,
        left_alone,
        ..
    }) = response
    else {
        panic!("{response:?}")
    };
    assert_eq!(removed_records.len(), 3);
    assert!(identity_deleted);
    assert!(left_alone.is_empty());
    assert!(cnames(zone.as_str()).await.is_empty());
    assert!(!ses_identities().await.contains(&name));
    let first = ScheduleName::for_follow_up(&chain.domain, 1)
        .as_str()
        .to_owned();
    assert!(schedule(&first).await.is_none());
}

#[tokio::test]
async fn offboard_of_a_domain_never_onboarded_removes_nothing() {
    // Given a domain this function never saw, with a record of someone else's
    let world = World::new().await;
    let name = unique_domain("uc-stranger");
    let zone = create_zone(&name).await;
    put_cname(
        &zone,
        &format!("selector1._domainkey.{name}"),
        "elsewhere.example.net",
    )
    .await;

    // When it is offboarded
    let response = offboard::offboard(
        &world.cx(),
        OffboardRequest {
            domain: domain(&name),
            hosted_zone_id: None,
            tenant_id: None,
            trigger: OffboardTrigger::DomainDeleted,
        },
        world.now,
    )
    .await;

    // Then nothing was removed, and the stranger's record stays
    let Ok(Response::Removed {
        removed_records,
        removed_schedules,
        identity_deleted,
        ..
    }) = response
    else {
        panic!("{response:?}")
    };
    assert!(removed_records.is_empty());
    assert!(removed_schedules.is_empty());
    assert!(!identity_deleted);
    assert_eq!(cnames(&zone).await.len(), 1);
}

// ---- reconcile ----------------------------------------------------------------

/// A reconcile run to its end, page after page, each page's continuation fired as
/// Scheduler would fire it (its input read back through the one parser).
async fn reconcile_to_the_end(world: &World, mut run: ReconcileRun) -> Result<Response, Stop> {
    for _ in 0..10 {
        match reconcile::reconcile(&world.cx(), run).await? {
            Response::ReconcileContinues { schedule: next, .. } => {
                let seen = schedule(&next.schedule_name)
                    .await
                    .expect("the continuation is scheduled");
                complete_schedule(&next.schedule_name).await;
                let Ok(Scheduled::Reconcile(page)) = parse_input(&seen.raw_input) else {
                    panic!("not a reconcile page: {}", seen.raw_input)
                };
                run = page;
            }
            done => return Ok(done),
        }
    }
    panic!("the reconcile did not finish in ten pages")
}

#[tokio::test]
async fn reconcile_dry_run_plans_an_onboarding_and_writes_nothing() {
    // Given one zone in scope whose domain has no DKIM yet
    let name = unique_domain("uc-reconcile");
    let zone = create_zone(&name).await;
    let world = World::with(&[("HOSTED_ZONE_IDS", &zone), ("DOMAIN_INCLUDE", &name)]).await;

    // When a dry run reconciles the account
    let response =
        reconcile_to_the_end(&world, ReconcileRun::requested(true, Some("uc-dry"))).await;

    // Then it plans to onboard that domain, and nothing was written
    let Ok(Response::ReconcileFinished {
        dry_run,
        counts,
        planned,
        ..
    }) = response
    else {
        panic!("{response:?}")
    };
    assert!(dry_run);
    assert_eq!(counts.in_scope, 1, "{counts:?}");
    assert_eq!(counts.onboarded, 1, "{counts:?}");
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(planned[0].domain, name);
    assert!(!ses_identities().await.contains(&name));
    assert!(cnames(&zone).await.is_empty());
}

#[tokio::test]
async fn reconcile_onboards_through_the_dispatcher() {
    // Given one zone in scope whose domain has no DKIM yet
    let name = unique_domain("uc-reconcile-act");
    let zone = create_zone(&name).await;
    let world = World::with(&[("HOSTED_ZONE_IDS", &zone), ("DOMAIN_INCLUDE", &name)]).await;

    // When the reconcile runs for real
    let response =
        reconcile_to_the_end(&world, ReconcileRun::requested(false, Some("uc-act"))).await;

    // Then the domain is onboarded, as an event would have onboarded it
    let Ok(Response::ReconcileFinished { counts, .. }) = response else {
        panic!("{response:?}")
    };
    assert_eq!(counts.onboarded, 1, "{counts:?}");
    assert_eq!(cnames(&zone).await.len(), 3);
    assert!(ses_identities().await.contains(&name));
    assert!(!schedules_for(&name).await.is_empty());
}
