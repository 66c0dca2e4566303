//! Faults the emulator cannot produce (throttling, 5xx, refused batches, partial
//! PutEvents failures), injected with aws-smithy-mocks into the real adapters.

mod support;

use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use chrono::Utc;
use dkim_autopilot::aws::Aws;
use dkim_autopilot::workflow::Response;
use serde_json::json;
use support::{custom_event, settings, APP_SOURCE};

fn error_meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn throttled(code: &str) -> ErrorMetadata {
    error_meta(code, "Rate exceeded")
}

/// The reason code and text of a rejection; anything else fails the test.
fn rejected(response: Result<Response, String>) -> (String, String) {
    match response {
        Ok(Response::Rejected {
            reason_code,
            reason,
            ..
        }) => (reason_code, reason),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The deferral a response reports; anything else fails the test.
fn deferred(response: Result<Response, String>) -> (String, u32, String) {
    match response {
        Ok(Response::Deferred {
            schedule,
            deferrals,
            reason,
            ..
        }) => (schedule.schedule_name, deferrals, reason),
        other => panic!("expected a deferral, got {other:?}"),
    }
}

/// What a recording rule saw: each schedule's name and input.
type Recorded = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A CreateSchedule that succeeds and keeps each schedule's name and input.
fn recording_create_schedule() -> (Rule, Recorded) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let rule = mock!(aws_sdk_scheduler::Client::create_schedule)
        .match_requests(move |input| {
            let name = input.name().unwrap_or_default().to_owned();
            let body = input
                .target()
                .and_then(|t| t.input())
                .unwrap_or_default()
                .to_owned();
            record.lock().unwrap().push((name, body));
            true
        })
        .then_output(|| {
            aws_sdk_scheduler::operation::create_schedule::CreateScheduleOutput::builder()
                .schedule_arn("arn:aws:scheduler:us-east-1:123456789012:schedule/dkim-autopilot/x")
                .build()
                .unwrap()
        });
    (rule, seen)
}

/// The happy answers of each service; a test overrides the ones it breaks.
struct Mocks {
    zones: Rule,
    tags: Rule,
    change: Rule,
    verify: Rule,
    signing: Rule,
    create_schedule: Rule,
    delete_schedule: Rule,
    put_events: Rule,
}

impl Mocks {
    fn healthy() -> Self {
        use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput;
        use aws_sdk_route53::operation::list_hosted_zones_by_name::ListHostedZonesByNameOutput;
        use aws_sdk_route53::types::{ChangeInfo, ChangeStatus, HostedZone};
        Self {
            tags: mock!(aws_sdk_route53::Client::list_tags_for_resources).then_output(|| {
                aws_sdk_route53::operation::list_tags_for_resources::ListTagsForResourcesOutput::builder()
                    .set_resource_tag_sets(Some(Vec::new()))
                    .build()
                    .unwrap()
            }),
            zones: mock!(aws_sdk_route53::Client::list_hosted_zones_by_name).then_output(|| {
                ListHostedZonesByNameOutput::builder()
                    .hosted_zones(
                        HostedZone::builder()
                            .id("/hostedzone/Z1")
                            .name("example.com.")
                            .caller_reference("r")
                            .build()
                            .unwrap(),
                    )
                    .is_truncated(false)
                    .max_items(100)
                    .build()
                    .unwrap()
            }),
            change: mock!(aws_sdk_route53::Client::change_resource_record_sets).then_output(|| {
                ChangeResourceRecordSetsOutput::builder()
                    .change_info(
                        ChangeInfo::builder()
                            .id("/change/C1")
                            .status(ChangeStatus::Pending)
                            .submitted_at(aws_smithy_types::DateTime::from_secs(0))
                            .build()
                            .unwrap(),
                    )
                    .build()
            }),
            signing: mock!(aws_sdk_sesv2::Client::get_email_identity).then_output(|| {
                aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput::builder()
                    .dkim_attributes(
                        aws_sdk_sesv2::types::DkimAttributes::builder()
                            .signing_hosted_zone("dkim.amazonses.com")
                            .build(),
                    )
                    .build()
            }),
            verify: mock!(aws_sdk_ses::Client::verify_domain_dkim).then_output(|| {
                aws_sdk_ses::operation::verify_domain_dkim::VerifyDomainDkimOutput::builder()
                    .dkim_tokens("aaaa1111")
                    .dkim_tokens("bbbb2222")
                    .dkim_tokens("cccc3333")
                    .build()
                    .unwrap()
            }),
            create_schedule: mock!(aws_sdk_scheduler::Client::create_schedule).then_output(|| {
                aws_sdk_scheduler::operation::create_schedule::CreateScheduleOutput::builder()
                    .schedule_arn(
                        "arn:aws:scheduler:us-east-1:123456789012:schedule/dkim-autopilot/x",
                    )
                    .build()
                    .unwrap()
            }),
            delete_schedule: mock!(aws_sdk_scheduler::Client::delete_schedule).then_output(|| {
                aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleOutput::builder()
                    .build()
            }),
            put_events: mock!(aws_sdk_eventbridge::Client::put_events).then_output(|| {
                aws_sdk_eventbridge::operation::put_events::PutEventsOutput::builder()
                    .failed_entry_count(0)
                    .build()
            }),
        }
    }

    /// Clients that answer from these rules only, with SDK retries off so each fault is seen once.
    fn aws(&self) -> Aws {
        let no_retry = RetryConfig::disabled();
        Aws::from_clients(
            mock_client!(aws_sdk_ses, RuleMode::MatchAny, [&self.verify], |c| c
                .retry_config(no_retry.clone())),
            mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&self.signing], |c| c
                .retry_config(no_retry.clone())),
            mock_client!(
                aws_sdk_route53,
                RuleMode::MatchAny,
                [&self.zones, &self.tags, &self.change],
                |c| c.retry_config(no_retry.clone())
            ),
            mock_client!(
                aws_sdk_scheduler,
                RuleMode::MatchAny,
                [&self.create_schedule, &self.delete_schedule],
                |c| c.retry_config(no_retry.clone())
            ),
            mock_client!(
                aws_sdk_eventbridge,
                RuleMode::MatchAny,
                [&self.put_events],
                |c| c.retry_config(no_retry.clone())
            ),
            &settings(),
        )
    }
}

async fn run(mocks: &Mocks, payload: &str) -> Result<Response, String> {
    support::invoke_with_settings(&mocks.aws(), &settings(), payload, Utc::now()).await
}

#[tokio::test]
async fn the_healthy_path_makes_six_calls_with_two_in_parallel() {
    let mocks = Mocks::healthy();
    let response = run(&mocks, &custom_event(json!({"domain": "example.com"}))).await;
    assert!(
        matches!(response, Ok(Response::Published { .. })),
        "{response:?}"
    );
    let calls = [
        &mocks.zones,
        &mocks.tags,
        &mocks.verify,
        &mocks.change,
        &mocks.create_schedule,
        &mocks.put_events,
    ]
    .map(Rule::num_calls);
    assert_eq!(calls, [1, 1, 1, 1, 1, 1]);
    assert_eq!(mocks.delete_schedule.num_calls(), 0);
}

#[tokio::test]
async fn ses_throttling_defers_the_onboarding_before_anything_is_written() {
    use aws_sdk_ses::operation::verify_domain_dkim::VerifyDomainDkimError;
    let (create_schedule, schedules) = recording_create_schedule();
    let mocks = Mocks {
        verify: mock!(aws_sdk_ses::Client::verify_domain_dkim)
            .then_error(|| VerifyDomainDkimError::generic(throttled("Throttling"))),
        create_schedule,
        ..Mocks::healthy()
    };
    let (name, deferrals, reason) =
        deferred(run(&mocks, &custom_event(json!({"domain": "example.com"}))).await);
    assert_eq!(
        (name.as_str(), deferrals),
        ("dkim-example.com-onboard-d1", 1)
    );
    assert!(
        reason.contains("ses:VerifyDomainDkim") && reason.contains("Throttling"),
        "{reason}"
    );
    assert_eq!(mocks.change.num_calls(), 0);
    assert_eq!(mocks.put_events.num_calls(), 0);
    // The schedule carries exactly the work, and reading it back gives the same work.
    let schedules = schedules.lock().unwrap().clone();
    assert_eq!(schedules.len(), 1);
    let input: serde_json::Value = serde_json::from_str(&schedules[0].1).unwrap();
    assert_eq!(input["schema"], "dkim-autopilot/deferred");
    assert_eq!(input["work"]["kind"], "onboard");
    assert_eq!(input["work"]["domain"], "example.com");
    assert_eq!(input["work"]["source"], APP_SOURCE);
    assert_eq!(input["lastError"], "ses:VerifyDomainDkim Throttling");
}

#[tokio::test]
async fn the_invocation_fails_only_when_the_deferral_cannot_be_made_either() {
    use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
    use aws_sdk_ses::operation::verify_domain_dkim::VerifyDomainDkimError;
    let mocks = Mocks {
        verify: mock!(aws_sdk_ses::Client::verify_domain_dkim)
            .then_error(|| VerifyDomainDkimError::generic(throttled("Throttling"))),
        create_schedule: mock!(aws_sdk_scheduler::Client::create_schedule)
            .then_error(|| CreateScheduleError::generic(throttled("ThrottlingException"))),
        ..Mocks::healthy()
    };
    let error = run(&mocks, &custom_event(json!({"domain": "example.com"})))
        .await
        .expect_err("must fail so Lambda retries");
    assert!(error.contains("scheduler:CreateSchedule"), "{error}");
    assert_eq!(mocks.create_schedule.num_calls(), 1);
    assert_eq!(mocks.change.num_calls(), 0);
}

#[tokio::test]
async fn work_deferred_too_often_is_reported_failed() {
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_ses::operation::verify_domain_dkim::VerifyDomainDkimError;
    let details = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = details.clone();
    let mocks = Mocks {
        verify: mock!(aws_sdk_ses::Client::verify_domain_dkim)
            .then_error(|| VerifyDomainDkimError::generic(throttled("Throttling"))),
        put_events: mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(move |input| {
                for entry in input.entries() {
                    record.lock().unwrap().push((
                        entry.detail_type().unwrap_or_default().to_owned(),
                        entry.detail().unwrap_or_default().to_owned(),
                    ));
                }
                true
            })
            .then_output(|| PutEventsOutput::builder().failed_entry_count(0).build()),
        ..Mocks::healthy()
    };
    // The captured payload, for the domain and zone these mocks serve.
    let below = include_str!("fixtures/payloads/deferred-v1-onboard.json")
        .replace("\"hostedZoneId\":\"Z0123456789EXAMPLEZONE\",", "")
        .replace("mail.acme-tenant.com", "example.com");
    let at_the_limit = below.replace(
        "\"deferrals\":1",
        &format!("\"deferrals\":{}", settings().deferral.max_deferrals),
    );
    match run(&mocks, &at_the_limit).await {
        Ok(Response::DeferralsExhausted {
            deferrals, reason, ..
        }) => {
            assert_eq!(deferrals, settings().deferral.max_deferrals);
            assert!(reason.contains("Throttling"), "{reason}");
        }
        other => panic!("expected the work to be given up, got {other:?}"),
    }
    assert_eq!(mocks.create_schedule.num_calls(), 0, "not deferred again");
    let details = details.lock().unwrap().clone();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].0, "DKIM Verification Failed");
    let detail: serde_json::Value = serde_json::from_str(&details[0].1).unwrap();
    assert_eq!(detail["reasonCode"], "DeferralsExhausted");
    assert_eq!(detail["domain"], "example.com");
    assert_eq!(detail["tenantId"], "tenant-0042");
    assert_eq!(detail["onboardingStartedAt"], "2026-11-28T09:15:02Z");

    // One deferral below the limit, the same failure is deferred once more.
    let mocks = Mocks {
        verify: mock!(aws_sdk_ses::Client::verify_domain_dkim)
            .then_error(|| VerifyDomainDkimError::generic(throttled("Throttling"))),
        ..Mocks::healthy()
    };
    let (name, deferrals, _) = deferred(run(&mocks, &below).await);
    assert_eq!(
        (name.as_str(), deferrals),
        ("dkim-example.com-onboard-d2", 2)
    );
}

#[tokio::test]
async fn ses_access_denied_is_a_permanent_rejection() {
    use aws_sdk_ses::operation::verify_domain_dkim::VerifyDomainDkimError;
    let mocks = Mocks {
        verify: mock!(aws_sdk_ses::Client::verify_domain_dkim).then_error(|| {
            VerifyDomainDkimError::generic(error_meta("AccessDenied", "not authorized"))
        }),
        ..Mocks::healthy()
    };
    let (reason_code, reason) =
        rejected(run(&mocks, &custom_event(json!({"domain": "example.com"}))).await);
    assert_eq!(reason_code, "AwsRejected");
    assert!(
        reason.contains("ses:VerifyDomainDkim") && reason.contains("AccessDenied"),
        "{reason}"
    );
    assert_eq!(mocks.change.num_calls(), 0);
    assert_eq!(
        mocks.put_events.num_calls(),
        1,
        "Domain Rejected is announced"
    );
}

#[tokio::test]
async fn a_refused_record_batch_takes_its_schedule_back() {
    use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
    use aws_sdk_route53::types::error::InvalidChangeBatch;
    let mocks = Mocks {
        change: mock!(aws_sdk_route53::Client::change_resource_record_sets).then_error(|| {
            ChangeResourceRecordSetsError::InvalidChangeBatch(
                InvalidChangeBatch::builder()
                    .message("RRSet of type CNAME conflicts with other records")
                    .meta(error_meta(
                        "InvalidChangeBatch",
                        "RRSet of type CNAME conflicts with other records",
                    ))
                    .build(),
            )
        }),
        ..Mocks::healthy()
    };
    let (reason_code, reason) =
        rejected(run(&mocks, &custom_event(json!({"domain": "example.com"}))).await);
    assert_eq!(reason_code, "AwsRejected");
    assert!(
        reason.contains("InvalidChangeBatch") && reason.contains("conflicts"),
        "{reason}"
    );
    assert_eq!(mocks.create_schedule.num_calls(), 1);
    assert_eq!(
        mocks.delete_schedule.num_calls(),
        1,
        "no check is left behind for records that were never written"
    );
}

#[tokio::test]
async fn route53_busy_is_transient_and_keeps_the_schedule() {
    use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
    use aws_sdk_route53::types::error::PriorRequestNotComplete;
    let mocks = Mocks {
        change: mock!(aws_sdk_route53::Client::change_resource_record_sets).then_error(|| {
            ChangeResourceRecordSetsError::PriorRequestNotComplete(
                PriorRequestNotComplete::builder()
                    .message("busy")
                    .meta(error_meta("PriorRequestNotComplete", "busy"))
                    .build(),
            )
        }),
        ..Mocks::healthy()
    };
    let (name, _, reason) =
        deferred(run(&mocks, &custom_event(json!({"domain": "example.com"}))).await);
    assert!(reason.contains("PriorRequestNotComplete"), "{reason}");
    assert_eq!(name, "dkim-example.com-onboard-d1");
    assert_eq!(
        mocks.delete_schedule.num_calls(),
        0,
        "the deferred onboarding will find its check already there"
    );
    assert_eq!(
        mocks.create_schedule.num_calls(),
        2,
        "the check and the deferral"
    );
}

#[tokio::test]
async fn scheduler_server_errors_are_transient() {
    use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
    let mocks = Mocks {
        create_schedule: mock!(aws_sdk_scheduler::Client::create_schedule).then_error(|| {
            CreateScheduleError::generic(error_meta("InternalServerException", "oops"))
        }),
        ..Mocks::healthy()
    };
    let error = run(&mocks, &custom_event(json!({"domain": "example.com"})))
        .await
        .expect_err("retried by Lambda");
    assert!(error.contains("scheduler:CreateSchedule"), "{error}");
}

#[tokio::test]
async fn put_events_entry_failures_are_read_per_entry() {
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    let failing = |code: &'static str| {
        mock!(aws_sdk_eventbridge::Client::put_events).then_output(move || {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code(code)
                        .error_message("no")
                        .build(),
                )
                .build()
        })
    };
    let throttled = Mocks {
        put_events: failing("ThrottlingException"),
        ..Mocks::healthy()
    };
    let (_, _, reason) =
        deferred(run(&throttled, &custom_event(json!({"domain": "example.com"}))).await);
    assert!(
        reason.contains("events:PutEvents") && reason.contains("ThrottlingException"),
        "a throttled announcement is deferred with its work: {reason}"
    );

    let denied = Mocks {
        put_events: failing("AccessDeniedException"),
        ..Mocks::healthy()
    };
    let response = run(&denied, &custom_event(json!({"domain": "example.com"}))).await;
    assert!(
        matches!(response, Ok(Response::Published { .. })),
        "records are published; a refused announcement is logged, not retried forever: {response:?}"
    );
}

#[tokio::test]
async fn a_throttled_check_is_deferred_under_a_name_of_its_own() {
    use aws_sdk_ses::operation::get_identity_dkim_attributes::GetIdentityDkimAttributesError;
    let ses = mock!(aws_sdk_ses::Client::get_identity_dkim_attributes)
        .then_error(|| GetIdentityDkimAttributesError::generic(throttled("Throttling")));
    let mocks = Mocks {
        verify: ses,
        ..Mocks::healthy()
    };
    let payload = include_str!("../events/scheduler-follow-up.json");
    let (name, deferrals, reason) = deferred(run(&mocks, payload).await);
    assert!(reason.contains("ses:GetIdentityDkimAttributes"), "{reason}");
    // The follow-up schedule that fired (dkim-…-1) still exists while this runs.
    assert_eq!(
        (name.as_str(), deferrals),
        ("dkim-mail.acme-tenant.com-1-d1", 1)
    );
    assert_eq!(mocks.create_schedule.num_calls(), 1, "only the deferral");
}
