//! Shared test harness: the emulator (moto with the project's SES patch, started by
//! `scripts/test.sh`), unique names per test, and readers of the emulator's state.
#![allow(dead_code)]

pub mod clock;
pub mod dns;
pub mod envelopes;
pub mod runtime_api;

// Not every test file builds envelopes.
#[allow(unused_imports)]
pub use envelopes::*;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_route53::types::{HostedZoneConfig, RrType, Vpc, VpcRegion};
use chrono::{DateTime, Utc};
use dkim_autopilot::aws::Aws;
use dkim_autopilot::config::Settings;
use dkim_autopilot::workflow::{Context, Response};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OnceCell;

pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:dkim-autopilot";
pub const SCHEDULER_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/dkim-autopilot-scheduler";
pub const SCHEDULE_GROUP: &str = "dkim-autopilot-tests";
pub const EVENT_BUS: &str = "dkim-autopilot-tests";
pub const REGION: &str = "us-east-1";

/// The emulator's address, set by `scripts/test.sh`.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the tests with scripts/test.sh, which starts the emulator")
    })
}

/// Environment for anything that talks to the emulator: the function's own and the tests'.
pub fn function_env() -> Vec<(&'static str, String)> {
    let mut env = vec![("AWS_ENDPOINT_URL", endpoint())];
    env.extend(settings_env());
    env
}

/// The function's own settings, without the emulator's address (tests that bring
/// their own clients, such as the fault injection, need no emulator).
fn settings_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_REGION", REGION.into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("SCHEDULER_ROLE_ARN", SCHEDULER_ROLE_ARN.into()),
        ("SCHEDULE_GROUP", SCHEDULE_GROUP.into()),
        ("EVENT_BUS_NAME", EVENT_BUS.into()),
    ]
}

pub fn settings() -> Settings {
    settings_with(&[])
}

/// The function's settings with some variables added (or overridden: the last wins).
pub fn settings_with(extra: &[(&str, &str)]) -> Settings {
    let mut env: Vec<(String, String)> = settings_env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::from_lookup(|name| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("test settings are valid")
}

static SDK_CONFIG: OnceCell<aws_config::SdkConfig> = OnceCell::const_new();
static SHARED_RESOURCES: OnceCell<()> = OnceCell::const_new();

pub async fn sdk_config() -> &'static aws_config::SdkConfig {
    SDK_CONFIG
        .get_or_init(|| async {
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(endpoint())
                .region(aws_config::Region::new(REGION))
                .credentials_provider(aws_sdk_ses::config::Credentials::new(
                    "testing", "testing", None, None, "tests",
                ))
                .load()
                .await
        })
        .await
}

/// SES v2 in `region` (a replica Region), against the emulator.
pub async fn sesv2_in(region: &str) -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::config::Builder::from(sdk_config().await)
        .region(aws_sdk_sesv2::config::Region::new(region.to_owned()))
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

/// The schedule group and the outcome bus, made once per run (moto's
/// `CreateScheduleGroup` on an existing name empties the group).
pub async fn ensure_shared_resources() {
    SHARED_RESOURCES
        .get_or_init(|| async {
            let scheduler = aws_sdk_scheduler::Client::new(sdk_config().await);
            if scheduler
                .get_schedule_group()
                .name(SCHEDULE_GROUP)
                .send()
                .await
                .is_err()
            {
                scheduler
                    .create_schedule_group()
                    .name(SCHEDULE_GROUP)
                    .send()
                    .await
                    .expect("create schedule group");
            }
            let events = aws_sdk_eventbridge::Client::new(sdk_config().await);
            if events
                .describe_event_bus()
                .name(EVENT_BUS)
                .send()
                .await
                .is_err()
            {
                events
                    .create_event_bus()
                    .name(EVENT_BUS)
                    .send()
                    .await
                    .expect("create event bus");
            }
        })
        .await;
}

/// The function's adapters, pointed at the emulator the way `main` builds them.
pub async fn aws() -> Aws {
    ensure_shared_resources().await;
    let config = sdk_config().await;
    Aws::from_clients(
        aws_sdk_ses::Client::new(config),
        aws_sdk_sesv2::Client::new(config),
        aws_sdk_route53::Client::new(config),
        aws_sdk_scheduler::Client::new(config),
        aws_sdk_eventbridge::Client::new(config),
        &settings(),
    )
}

/// Run one invocation in-process at a chosen time.
pub async fn invoke_at(aws: &Aws, payload: &str, now: DateTime<Utc>) -> Result<Response, String> {
    invoke_with_settings(aws, &settings(), payload, now).await
}

/// Run one invocation in-process with these settings at a chosen time.
pub async fn invoke_with_settings(
    aws: &Aws,
    settings: &Settings,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<Response, String> {
    let cx = Context {
        aws,
        settings,
        function_arn: FUNCTION_ARN,
        now,
        deadline: None,
        dns: &dkim_autopilot::dns::PublicDns::new(&settings.dns_resolvers),
    };
    dkim_autopilot::handler::handle_payload(&cx, payload)
        .await
        .map_err(|e| e.to_string())
}

pub async fn invoke(aws: &Aws, payload: &str) -> Result<Response, String> {
    invoke_at(aws, payload, Utc::now()).await
}

/// A registrable domain no other test uses, so tests never see each other's zones.
pub fn unique_domain(label: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{label}-{}-{n}-{nanos:x}.com", std::process::id())
}

/// An identity with its tokens, as someone (or an earlier run) created it.
pub async fn identity(domain: &str) -> Vec<String> {
    aws_sdk_ses::Client::new(sdk_config().await)
        .verify_domain_dkim()
        .domain(domain)
        .send()
        .await
        .unwrap()
        .dkim_tokens()
        .to_vec()
}

/// A zone whose domain SES has verified: identity and its three records.
pub async fn verified(label: &str) -> (String, String, Vec<String>) {
    let domain = unique_domain(label);
    let zone = create_zone(&domain).await;
    let tokens = identity(&domain).await;
    for t in &tokens {
        put_cname(
            &zone,
            &format!("{t}._domainkey.{domain}"),
            &format!("{t}.dkim.amazonses.com"),
        )
        .await;
    }
    assert_eq!(dkim_state(&domain).await["status"], "Success");
    (domain, zone, tokens)
}

/// Tag a hosted zone (`dkim-autopilot` = `off` opts it out).
pub async fn tag_zone(zone: &str, key: &str, value: &str) {
    aws_sdk_route53::Client::new(sdk_config().await)
        .change_tags_for_resource()
        .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
        .resource_id(zone)
        .add_tags(
            aws_sdk_route53::types::Tag::builder()
                .key(key)
                .value(value)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

pub async fn create_zone(name: &str) -> String {
    create_zone_with(name, false).await
}

pub async fn create_private_zone(name: &str) -> String {
    create_zone_with(name, true).await
}

async fn create_zone_with(name: &str, private: bool) -> String {
    let client = aws_sdk_route53::Client::new(sdk_config().await);
    let mut request = client
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("test-{}", unique_domain("ref")))
        .hosted_zone_config(HostedZoneConfig::builder().private_zone(private).build());
    if private {
        request = request.vpc(
            Vpc::builder()
                .vpc_id("vpc-12345678")
                .vpc_region(VpcRegion::UsEast1)
                .build(),
        );
    }
    let output = request.send().await.expect("create hosted zone");
    output
        .hosted_zone()
        .expect("zone")
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned()
}

/// Every CNAME in a zone, name → value, without trailing dots.
pub async fn cnames(zone_id: &str) -> BTreeMap<String, String> {
    record_sets(zone_id)
        .await
        .iter()
        .filter(|s| s.r#type() == &RrType::Cname)
        .map(|s| {
            (
                s.name().trim_end_matches('.').to_owned(),
                s.resource_records()[0]
                    .value()
                    .trim_end_matches('.')
                    .to_owned(),
            )
        })
        .collect()
}

/// Every record set of a zone, as Route 53 lists them.
async fn record_sets(zone_id: &str) -> Vec<aws_sdk_route53::types::ResourceRecordSet> {
    let client = aws_sdk_route53::Client::new(sdk_config().await);
    let output = client
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .send()
        .await
        .expect("list records");
    output.resource_record_sets().to_vec()
}

/// Add or change one CNAME, as a person (or another tool) would.
pub async fn put_cname(zone_id: &str, name: &str, value: &str) {
    put_record(zone_id, name, RrType::Cname, value).await;
}

pub async fn delete_cname(zone_id: &str, name: &str, value: &str) {
    delete_record(zone_id, name, RrType::Cname, value).await;
}

/// Add or change one record set of one value (`10 host.` for MX, `"text"` for TXT).
pub async fn put_record(zone_id: &str, name: &str, rtype: RrType, value: &str) {
    change_record(
        zone_id,
        name,
        rtype,
        value,
        aws_sdk_route53::types::ChangeAction::Upsert,
    )
    .await;
}

pub async fn delete_record(zone_id: &str, name: &str, rtype: RrType, value: &str) {
    change_record(
        zone_id,
        name,
        rtype,
        value,
        aws_sdk_route53::types::ChangeAction::Delete,
    )
    .await;
}

async fn change_record(
    zone_id: &str,
    name: &str,
    rtype: RrType,
    value: &str,
    action: aws_sdk_route53::types::ChangeAction,
) {
    change_record_set(zone_id, name, rtype, &[value], action).await;
}

/// Create or change a whole record set of several values, as a person would.
pub async fn put_record_set(zone_id: &str, name: &str, rtype: RrType, values: &[&str]) {
    let upsert = aws_sdk_route53::types::ChangeAction::Upsert;
    change_record_set(zone_id, name, rtype, values, upsert).await;
}

/// The values of the set of type `rtype` at exactly `name`, as Route 53 holds them
/// (empty when there is none).
pub async fn record_values(zone_id: &str, name: &str, rtype: RrType) -> Vec<String> {
    record_sets(zone_id)
        .await
        .iter()
        .filter(|s| s.r#type() == &rtype && s.name().trim_end_matches('.') == name)
        .flat_map(|s| s.resource_records().iter().map(|r| r.value().to_owned()))
        .collect()
}

async fn change_record_set(
    zone_id: &str,
    name: &str,
    rtype: RrType,
    values: &[&str],
    action: aws_sdk_route53::types::ChangeAction,
) {
    use aws_sdk_route53::types::{Change, ChangeBatch, ResourceRecord, ResourceRecordSet};
    let client = aws_sdk_route53::Client::new(sdk_config().await);
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(rtype)
        .ttl(1800)
        .set_resource_records(Some(
            values
                .iter()
                .map(|v| ResourceRecord::builder().value(*v).build().unwrap())
                .collect(),
        ))
        .build()
        .unwrap();
    let change = Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .unwrap();
    client
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .expect("change record");
}

/// A schedule as Scheduler holds it.
#[derive(Debug, Clone)]
pub struct ScheduleSeen {
    pub expression: String,
    pub timezone: Option<String>,
    pub target_arn: String,
    pub role_arn: String,
    pub input: Value,
    pub raw_input: String,
    pub flexible_window_off: bool,
    pub delete_after_completion: bool,
}

pub async fn schedule(name: &str) -> Option<ScheduleSeen> {
    let client = aws_sdk_scheduler::Client::new(sdk_config().await);
    let output = client
        .get_schedule()
        .name(name)
        .group_name(SCHEDULE_GROUP)
        .send()
        .await
        .ok()?;
    let target = output.target().expect("target");
    let raw_input = target.input().unwrap_or_default().to_owned();
    Some(ScheduleSeen {
        expression: output.schedule_expression().unwrap_or_default().to_owned(),
        timezone: output.schedule_expression_timezone().map(str::to_owned),
        target_arn: target.arn().to_owned(),
        role_arn: target.role_arn().to_owned(),
        input: serde_json::from_str(&raw_input).unwrap_or(Value::Null),
        raw_input,
        flexible_window_off: output
            .flexible_time_window()
            .is_some_and(|w| w.mode() == &aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off),
        delete_after_completion: output.action_after_completion()
            == Some(&aws_sdk_scheduler::types::ActionAfterCompletion::Delete),
    })
}

/// Names of the schedules in the test group that mention `domain`.
pub async fn schedules_for(domain: &str) -> Vec<String> {
    let client = aws_sdk_scheduler::Client::new(sdk_config().await);
    let output = client
        .list_schedules()
        .group_name(SCHEDULE_GROUP)
        .max_results(100)
        .send()
        .await
        .expect("list");
    let mut names: Vec<String> = output
        .schedules()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .filter(|n| n.contains(domain))
        .collect();
    names.sort();
    names
}

/// Scheduler's `ActionAfterCompletion: DELETE`, which the emulator never performs.
pub async fn complete_schedule(name: &str) {
    let client = aws_sdk_scheduler::Client::new(sdk_config().await);
    client
        .delete_schedule()
        .name(name)
        .group_name(SCHEDULE_GROUP)
        .send()
        .await
        .expect("delete schedule");
}

pub async fn ses_identities() -> Vec<String> {
    let client = aws_sdk_ses::Client::new(sdk_config().await);
    let mut names = client
        .list_identities()
        .max_items(1000)
        .send()
        .await
        .expect("list identities")
        .identities()
        .to_vec();
    names.sort();
    names
}

pub async fn delete_identity(domain: &str) {
    let client = aws_sdk_ses::Client::new(sdk_config().await);
    client
        .delete_identity()
        .identity(domain)
        .send()
        .await
        .expect("delete identity");
}

/// The harness's view of a domain's DKIM state (tokens, generation, status).
pub async fn dkim_state(domain: &str) -> Value {
    harness_request(
        "GET",
        &format!("/_harness/ses/dkim-status?domain={domain}"),
        None,
    )
    .await
}

/// The harness's view of an identity's custom MAIL FROM (domain, status, behaviour).
pub async fn mail_from_status(identity: &str) -> Value {
    harness_request(
        "GET",
        &format!("/_harness/ses/mail-from-status?identity={identity}"),
        None,
    )
    .await
}

/// Make SES report MAIL FROM `status` for an identity (None: computed again).
pub async fn force_mail_from_status(identity: &str, status: Option<&str>) -> Value {
    let body = serde_json::json!({"identity": identity, "status": status}).to_string();
    harness_request("POST", "/_harness/ses/mail-from-status", Some(body)).await
}

/// Make SES report `status` for a domain (None lets it compute the status again).
pub async fn force_dkim_status(domain: &str, status: Option<&str>) {
    let body = serde_json::json!({"domain": domain, "status": status}).to_string();
    let answer = harness_request("POST", "/_harness/ses/dkim-status", Some(body)).await;
    assert_eq!(answer["domain"], domain, "harness answered {answer}");
}

/// Empty the emulator (every service's state) and make the schedule group and the
/// outcome bus again: for tests that look at the whole account.
pub async fn reset_emulator() {
    ensure_shared_resources().await;
    harness_request("POST", "/moto-api/reset", Some(String::new())).await;
    let config = sdk_config().await;
    aws_sdk_scheduler::Client::new(config)
        .create_schedule_group()
        .name(SCHEDULE_GROUP)
        .send()
        .await
        .expect("schedule group after reset");
    aws_sdk_eventbridge::Client::new(config)
        .create_event_bus()
        .name(EVENT_BUS)
        .send()
        .await
        .expect("event bus after reset");
}

/// Throttle the emulator's APIs (`{"rules": [...]}`, see scripts/moto_server.py); resets its counts.
pub async fn set_throttling(rules: Value) -> Value {
    harness_request(
        "POST",
        "/_harness/throttle",
        Some(json!({ "rules": rules }).to_string()),
    )
    .await
}

/// Accepted and throttled calls per `service:Action` since the last `set_throttling`.
pub async fn throttle_report() -> Value {
    harness_request("GET", "/_harness/throttle", None).await
}

/// Every call to `service`'s `action` since the last `set_throttling`, oldest first.
pub async fn call_log(service: &str, action: &str) -> Vec<Value> {
    let log = harness_request(
        "GET",
        &format!("/_harness/calls?service={service}&action={action}"),
        None,
    )
    .await;
    log["calls"].as_array().cloned().unwrap_or_default()
}

/// Every call to `service` whose request (path, query or body) names `needle`, such
/// as a hosted zone id: what a test checks when nothing may touch a resource.
pub async fn calls_naming(service: &str, needle: &str) -> Vec<Value> {
    let log = harness_request("GET", &format!("/_harness/calls?service={service}"), None).await;
    log["calls"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["request"].as_str().is_some_and(|r| r.contains(needle)))
        .collect()
}

async fn harness_request(method: &str, path: &str, body: Option<String>) -> Value {
    harness_exchange(method, path, body).await.1
}

/// The emulator's clock, as its `Date` header tells it (to the second).
pub async fn emulator_clock() -> DateTime<Utc> {
    let (head, _) = harness_exchange("GET", "/_harness/throttle", None).await;
    let date = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("date"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("the emulator sent no Date header: {head}"));
    DateTime::parse_from_rfc2822(&date)
        .unwrap_or_else(|e| panic!("Date: {date}: {e}"))
        .to_utc()
}

/// One request to the emulator's own endpoints: the response head and its JSON body.
async fn harness_exchange(method: &str, path: &str, body: Option<String>) -> (String, Value) {
    let url = endpoint();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("connect to emulator");
    let body = body.unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, json) = response.split_once("\r\n\r\n").expect("http response");
    let value =
        serde_json::from_str(json).unwrap_or_else(|_| panic!("harness answered {response}"));
    (head.to_owned(), value)
}

/// An SQS queue subscribed to this domain's outcome events, as a consumer would be.
pub struct Subscriber {
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Subscriber {
    pub async fn for_domain(domain: &str) -> Self {
        let pattern =
            serde_json::json!({"source": ["dkim-autopilot"], "detail": {"domain": [domain]}});
        Self::for_pattern(&domain.replace('.', "-"), pattern).await
    }

    /// A queue for the outcome events that match `pattern`.
    pub async fn for_pattern(name: &str, pattern: Value) -> Self {
        ensure_shared_resources().await;
        let config = sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(config);
        let events = aws_sdk_eventbridge::Client::new(config);
        let queue_name = format!("outcomes-{name}");
        let queue_url = sqs
            .create_queue()
            .queue_name(&queue_name)
            .send()
            .await
            .expect("queue")
            .queue_url()
            .unwrap()
            .to_owned();
        let queue_arn = format!("arn:aws:sqs:{REGION}:123456789012:{queue_name}");
        events
            .put_rule()
            .name(&queue_name)
            .event_bus_name(EVENT_BUS)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("rule");
        events
            .put_targets()
            .rule(&queue_name)
            .event_bus_name(EVENT_BUS)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("target");
        Self { queue_url, sqs }
    }

    /// Every event delivered so far, oldest first.
    pub async fn received(&self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            if output.messages().is_empty() {
                return events;
            }
            for message in output.messages() {
                events.push(
                    serde_json::from_str(message.body().unwrap_or("null")).expect("event json"),
                );
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .expect("delete message");
            }
        }
    }

    pub async fn detail_types(&self) -> Vec<String> {
        self.received()
            .await
            .iter()
            .map(|e| e["detail-type"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Fire the schedule the way Scheduler would: read its input, invoke with it.
pub async fn fire(aws: &Aws, schedule_name: &str, now: DateTime<Utc>) -> Result<Response, String> {
    let seen = schedule(schedule_name)
        .await
        .unwrap_or_else(|| panic!("schedule {schedule_name} should exist"));
    complete_schedule(schedule_name).await;
    invoke_at(aws, &seen.raw_input, now).await
}

/// Make SES place `domain`'s identity in another signing zone (a cell) when its DKIM
/// next starts; `None` gives it the Region's usual zone again.
pub async fn set_signing_zone(domain: &str, zone: Option<&str>) {
    let body = serde_json::json!({"domain": domain, "signing_zone": zone}).to_string();
    let answer = harness_request("POST", "/_harness/ses/signing-zone", Some(body)).await;
    assert_eq!(answer["domain"], domain, "harness answered {answer}");
}

/// Set the identity's key lengths in the emulator, as SES would hold them.
pub async fn set_key_lengths(domain: &str, current: &str, next: &str) {
    let body = serde_json::json!({"domain": domain, "current": current, "next": next}).to_string();
    let answer = harness_request("POST", "/_harness/ses/key-length", Some(body)).await;
    assert_eq!(answer["next"], next, "harness answered {answer}");
}

pub async fn key_lengths(domain: &str) -> (String, String) {
    let answer = harness_request(
        "GET",
        &format!("/_harness/ses/key-length?domain={domain}"),
        None,
    )
    .await;
    let text = |k: &str| answer[k].as_str().unwrap_or_default().to_owned();
    (text("current"), text("next"))
}

/// Fire a schedule through the runtime, as Scheduler would: its input, once.
pub async fn fire_through(api: &runtime_api::RuntimeApi, name: &str) -> Value {
    let seen = schedule(name)
        .await
        .unwrap_or_else(|| panic!("no schedule {name}"));
    complete_schedule(name).await;
    api.invoke(&seen.raw_input)
        .await
        .expect("the schedule's work runs")
}

/// A reconcile through the runtime, page after page as its continuation schedules
/// bring it back, to `Reconcile Finished`.
pub async fn reconcile_through(api: &runtime_api::RuntimeApi, dry_run: bool) -> Value {
    let mut answer = api
        .invoke(&reconcile_requested(dry_run))
        .await
        .expect("reconcile");
    for _ in 0..50 {
        match answer["outcome"].as_str() {
            Some("reconcileContinues") => {
                let name = answer["schedule"]["scheduleName"]
                    .as_str()
                    .expect("a continuation names its schedule")
                    .to_owned();
                answer = fire_through(api, &name).await;
            }
            Some("reconcileFinished") => return answer,
            other => panic!("unexpected reconcile answer {other:?}: {answer}"),
        }
    }
    panic!("the reconcile did not finish: {answer}")
}
