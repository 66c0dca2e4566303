//! Faults the emulator cannot produce (throttling, 5xx, refused batches, partial
//! PutEvents failures), injected with aws-smithy-mocks into the real adapters.

use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use chrono::Utc;
use dkim_autopilot::aws::Aws;
use dkim_autopilot::config::Settings;
use dkim_autopilot::workflow::{Context, Response};
use serde_json::json;

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:dkim-autopilot";

fn settings() -> Settings {
    Settings::from_lookup(|name| match name {
        "SCHEDULER_ROLE_ARN" => Some("arn:aws:iam::123456789012:role/scheduler".into()),
        "AWS_REGION" => Some("us-east-1".into()),
        _ => None,
    })
    .unwrap()
}

fn event(domain: &str) -> String {
    json!({
        "version": "0", "id": "1", "detail-type": "Domain Registered", "source": "test",
        "account": "123456789012", "time": "2026-11-27T04:30:00Z", "region": "us-east-1",
        "resources": [], "detail": {"domain": domain}
    })
    .to_string()
}

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

/// The happy answers of each service; a test overrides the ones it breaks.
struct Mocks {
    zones: Rule,
    change: Rule,
    verify: Rule,
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
            mock_client!(
                aws_sdk_route53,
                RuleMode::MatchAny,
                [&self.zones, &self.change],
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
            None,
        )
    }
}

async fn run(mocks: &Mocks, payload: &str) -> Result<Response, String> {
    let aws = mocks.aws();
    let settings = settings();
    let cx = Context {
        aws: &aws,
        settings: &settings,
        function_arn: FUNCTION_ARN,
        now: Utc::now(),
    };
    dkim_autopilot::handler::handle_payload(&cx, payload)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_healthy_path_makes_five_calls_with_two_in_parallel() {
    let mocks = Mocks::healthy();
    let response = run(&mocks, &event("example.com")).await;
    assert!(
        matches!(response, Ok(Response::Published { .. })),
        "{response:?}"
    );
    let calls = [
        &mocks.zones,
        &mocks.verify,
        &mocks.change,
        &mocks.create_schedule,
        &mocks.put_events,
    ]
    .map(Rule::num_calls);
    assert_eq!(calls, [1, 1, 1, 1, 1]);
    assert_eq!(mocks.delete_schedule.num_calls(), 0);
}

#[tokio::test]
async fn ses_throttling_fails_the_invocation_before_anything_is_written() {
    use aws_sdk_ses::operation::verify_domain_dkim::VerifyDomainDkimError;
    let mocks = Mocks {
        verify: mock!(aws_sdk_ses::Client::verify_domain_dkim)
            .then_error(|| VerifyDomainDkimError::generic(throttled("Throttling"))),
        ..Mocks::healthy()
    };
    let error = run(&mocks, &event("example.com"))
        .await
        .expect_err("must fail so Lambda retries");
    assert!(
        error.contains("ses:VerifyDomainDkim") && error.contains("Throttling"),
        "{error}"
    );
    assert_eq!(mocks.change.num_calls(), 0);
    assert_eq!(mocks.create_schedule.num_calls(), 0);
    assert_eq!(mocks.put_events.num_calls(), 0);
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
    let (reason_code, reason) = rejected(run(&mocks, &event("example.com")).await);
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
    let (reason_code, reason) = rejected(run(&mocks, &event("example.com")).await);
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
    let error = run(&mocks, &event("example.com"))
        .await
        .expect_err("retried by Lambda");
    assert!(error.contains("PriorRequestNotComplete"), "{error}");
    assert_eq!(
        mocks.delete_schedule.num_calls(),
        0,
        "the retry will find it already there"
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
    let error = run(&mocks, &event("example.com"))
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
    let error = run(&throttled, &event("example.com"))
        .await
        .expect_err("a throttled announcement is retried");
    assert!(
        error.contains("events:PutEvents") && error.contains("ThrottlingException"),
        "{error}"
    );

    let denied = Mocks {
        put_events: failing("AccessDeniedException"),
        ..Mocks::healthy()
    };
    let response = run(&denied, &event("example.com")).await;
    assert!(
        matches!(response, Ok(Response::Published { .. })),
        "records are published; a refused announcement is logged, not retried forever: {response:?}"
    );
}

#[tokio::test]
async fn a_throttled_check_fails_so_the_scheduler_retries() {
    use aws_sdk_ses::operation::get_identity_dkim_attributes::GetIdentityDkimAttributesError;
    let ses = mock!(aws_sdk_ses::Client::get_identity_dkim_attributes)
        .then_error(|| GetIdentityDkimAttributesError::generic(throttled("Throttling")));
    let mocks = Mocks {
        verify: ses,
        ..Mocks::healthy()
    };
    let payload = include_str!("../events/scheduler-follow-up.json");
    let error = run(&mocks, payload).await.expect_err("retried");
    assert!(error.contains("ses:GetIdentityDkimAttributes"), "{error}");
    assert_eq!(mocks.create_schedule.num_calls(), 0);
}
