//! `dkimctl`, the operators' command, run as an operator runs it: the compiled
//! binary, against the emulator, over a small fleet in every state. `status` and
//! `plan` must tell each state apart and change nothing; the requests must be events
//! the function then acts on; bad input must stop with exit 2 and no side effect.
//! Each test scopes the command to its own domains (`--domain-include`), so tests
//! sharing the emulator never see each other's zones.
#![cfg(feature = "cli")]

mod support;

use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use support::dns::{LoopbackDns, Served};
use support::*;
use tokio::process::Command;

/// Variables set for one run, on top of the emulator's.
type Env<'a> = &'a [(&'a str, &'a str)];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The status table's row for `domain`.
    fn row(&self, domain: &str) -> String {
        self.stdout
            .lines()
            .find(|l| l.starts_with(domain))
            .unwrap_or_else(|| panic!("{domain}: {}", self.stdout))
            .to_owned()
    }
}

/// Run dkimctl with the emulator's environment and no function settings but these.
async fn dkimctl(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dkimctl"));
    command
        .args(args)
        .env_clear()
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("SCHEDULE_GROUP", SCHEDULE_GROUP)
        .env("AWS_REGION", REGION);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().await.expect("run dkimctl");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// What an operator must not change by looking: every zone's CNAMEs, the identities,
/// the domains' schedules.
async fn account_state(zones: &[&str], domains: &[&str]) -> Value {
    let mut records = Vec::new();
    for zone in zones {
        records.push(json!(cnames(zone).await));
    }
    let mut schedules = Vec::new();
    for domain in domains {
        schedules.push(json!(schedules_for(domain).await));
    }
    let identities: Vec<String> = ses_identities()
        .await
        .into_iter()
        .filter(|i| domains.contains(&i.as_str()))
        .collect();
    json!({"records": records, "identities": identities, "schedules": schedules})
}

fn by_domain<'a>(report: &'a Value, domain: &str) -> &'a Value {
    report["domains"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["domain"] == domain))
        .unwrap_or_else(|| panic!("{domain} not in {report}"))
}

#[tokio::test]
async fn status_and_plan_tell_every_state_apart_and_change_nothing() {
    let aws = aws().await;
    let dns = LoopbackDns::start().await;
    // Verified, all three records in place: well.
    let (well, well_zone, _) = verified("well").await;
    // Verified, one record deleted since (SES still says Success until its next look).
    let (drifted, drifted_zone, tokens) = verified("drifted").await;
    let lost = format!("{}._domainkey.{drifted}", tokens[1]);
    delete_cname(
        &drifted_zone,
        &lost,
        &format!("{}.dkim.amazonses.com", tokens[1]),
    )
    .await;
    force_dkim_status(&drifted, Some("Success")).await;
    // Onboarded by the function, its follow-up chain still waiting on SES.
    let waiting = unique_domain("waiting");
    let waiting_zone = create_zone(&waiting).await;
    invoke(&aws, &custom_event(json!({"domain": waiting})))
        .await
        .expect("onboarded");
    force_dkim_status(&waiting, Some("Pending")).await;
    // A zone no event named: a reconcile would onboard it.
    let fresh = unique_domain("fresh");
    let fresh_zone = create_zone(&fresh).await;
    // A tenant's domain, no zone here, its records in (loopback) public DNS.
    let tenant = unique_domain("tenant");
    for t in identity(&tenant).await {
        dns.serve(
            &format!("{t}._domainkey.{tenant}"),
            Served::Cname(format!("{t}.dkim.amazonses.com")),
        );
    }
    force_dkim_status(&tenant, Some("Success")).await;
    // SES gave up on it, and no chain runs: a reconcile restarts it.
    let failed = unique_domain("failed");
    let failed_zone = create_zone(&failed).await;
    identity(&failed).await;
    force_dkim_status(&failed, Some("Failed")).await;
    // Pending (its records never written), and no chain watches it.
    let pending = unique_domain("pending");
    let pending_zone = create_zone(&pending).await;
    identity(&pending).await;
    // An identity with no zone, no chain, and nothing in public DNS.
    let orphan = unique_domain("orphan");
    identity(&orphan).await;
    // A zone its owner tagged off.
    let (tagged, tagged_zone, _) = verified("tagged").await;
    tag_zone(&tagged_zone, "dkim-autopilot", "off").await;

    let domains = [
        &well, &drifted, &waiting, &fresh, &tenant, &failed, &pending, &orphan, &tagged,
    ]
    .map(String::as_str);
    let zones = [
        &well_zone,
        &drifted_zone,
        &waiting_zone,
        &fresh_zone,
        &failed_zone,
        &pending_zone,
        &tagged_zone,
    ]
    .map(String::as_str);
    let include = domains.join(",");
    let resolver = dns.address.to_string();
    let env = [
        ("DOMAIN_INCLUDE", include.as_str()),
        ("DNS_RESOLVERS", resolver.as_str()),
    ];
    let before = account_state(&zones, &domains).await;

    let run = dkimctl(&["status", "--json"], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("status --json is JSON");
    let listed: Vec<&str> = report["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap())
        .collect();
    let mut sorted = domains.to_vec();
    sorted.sort();
    assert_eq!(
        listed, sorted,
        "every domain in scope, sorted, and no other"
    );

    let d = by_domain(&report, &well);
    assert_eq!(
        d["recordsHome"],
        json!({"kind": "route53", "hostedZoneId": well_zone})
    );
    assert_eq!(
        (d["dkimStatus"].as_str(), d["well"].as_bool()),
        (Some("Success"), Some(true))
    );
    assert!(
        d["dkimRecords"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "present"),
        "{d}"
    );
    assert_eq!(d["plan"]["action"], "alreadyVerified");

    let d = by_domain(&report, &drifted);
    assert_eq!(
        (d["verified"].as_bool(), d["well"].as_bool()),
        (Some(true), Some(false))
    );
    let missing: Vec<&Value> = d["dkimRecords"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "present")
        .collect();
    assert_eq!(missing.len(), 1, "{d}");
    assert_eq!(
        (missing[0]["name"].as_str(), missing[0]["status"].as_str()),
        (Some(lost.as_str()), Some("missing"))
    );
    assert_eq!(d["plan"]["action"], "repair");
    assert_eq!(
        d["plan"]["records"],
        json!([format!("{lost} CNAME {}.dkim.amazonses.com", tokens[1])])
    );

    let d = by_domain(&report, &waiting);
    assert_eq!(d["dkimStatus"], "Pending");
    assert_eq!(d["plan"]["action"], "chainRunning");
    let follow_up = &d["followUp"];
    assert_eq!(
        follow_up["schedules"],
        json!(schedules_for(&waiting).await),
        "{d}"
    );
    let next: chrono::DateTime<Utc> =
        serde_json::from_value(follow_up["nextCheck"].clone()).expect("a next check");
    assert!(
        next > Utc::now() - chrono::TimeDelta::minutes(1),
        "the first check is ahead: {next}"
    );

    let d = by_domain(&report, &fresh);
    assert_eq!(
        (d["dkimStatus"].as_str(), d["plan"]["action"].as_str()),
        (Some("IdentityMissing"), Some("onboard"))
    );
    assert_eq!(d["recordsHome"]["hostedZoneId"], fresh_zone);

    let d = by_domain(&report, &tenant);
    assert_eq!(d["recordsHome"], json!({"kind": "handedOver"}));
    assert_eq!(
        (d["well"].as_bool(), d["plan"]["action"].as_str()),
        (Some(true), Some("handedOver"))
    );
    assert_eq!(d["dkimRecords"].as_array().unwrap().len(), 3);

    let action = |domain: &str| by_domain(&report, domain)["plan"]["action"].clone();
    assert_eq!(action(&failed), "restart");
    assert_eq!(action(&pending), "startChain");
    assert_eq!(action(&orphan), "orphaned");
    let d = by_domain(&report, &tagged);
    assert_eq!(d["plan"]["action"], "skip");
    assert_eq!(d["recordsHome"]["kind"], "skipped");
    assert!(
        d["recordsHome"]["reason"]
            .as_str()
            .unwrap()
            .contains(&tagged_zone),
        "{d}"
    );
    assert!(
        report["zonesOutOfScope"].as_u64().unwrap() > 0,
        "the emulator holds other tests' zones"
    );

    // The table says the same, with the reason for each domain that is not well.
    let run = dkimctl(&["status"], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row = |domain: &str| run.row(domain);
    assert!(
        row(&well).contains("3/3") && row(&well).ends_with("yes"),
        "{}",
        row(&well)
    );
    assert!(
        row(&drifted).contains("2/3") && row(&drifted).contains("repair"),
        "{}",
        row(&drifted)
    );
    assert!(row(&tenant).contains("handed over"), "{}", row(&tenant));
    assert!(
        run.stdout.contains(&format!("{lost} CNAME is missing")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("2 of 8 domains well; 1 left alone; "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("{tagged}:\n  left alone: ")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("read 9 domains"),
        "a cost line on stderr: {}",
        run.stderr
    );

    // --check fails while one shown is not well, passes on the well ones alone.
    assert_eq!(dkimctl(&["status", "--check"], &env).await.code, 1);
    // A domain left alone is its owner's choice, not a failure.
    let only_well = dkimctl(&["status", "--check", &well, &tenant, &tagged], &env).await;
    assert_eq!(
        only_well.code, 0,
        "{}{}",
        only_well.stdout, only_well.stderr
    );

    let plan = dkimctl(&["plan"], &env).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let shows =
        |line: String| assert!(plan.stdout.contains(&line), "{line:?} in:\n{}", plan.stdout);
    shows(format!(
        "~ {drifted}  repair\n    {lost} CNAME {}.dkim.amazonses.com\n",
        tokens[1]
    ));
    shows(format!("~ {failed}  restart\n"));
    shows(format!("+ {fresh}  onboard\n"));
    shows(format!(
        "! {orphan}  orphaned\n    (no zone here, no chain, records not served"
    ));
    shows(format!("+ {pending}  startChain\n"));
    shows(format!("= {tagged}  skip\n"));
    for unchanged in [&well, &waiting, &tenant] {
        assert!(
            !plan.stdout.contains(unchanged.as_str()),
            "{unchanged}: {}",
            plan.stdout
        );
    }
    shows("Plan: 1 repair, 1 restart, 1 onboard, 1 orphaned, 1 startChain; 1 left alone; 3 unchanged; ".into());
    let plan_json = dkimctl(&["plan", "--json", "--check"], &env).await;
    assert_eq!(plan_json.code, 1, "--check: the plan changes something");
    let plan_json: Value = serde_json::from_str(&plan_json.stdout).unwrap();
    assert_eq!(plan_json["unchanged"], 3);
    assert_eq!(plan_json["changes"].as_array().unwrap().len(), 5);
    assert_eq!(plan_json["skipped"][0]["domain"], tagged.as_str());

    assert_eq!(
        account_state(&zones, &domains).await,
        before,
        "looking changed nothing"
    );
}

/// A role in the emulator's IAM, which Lambda's CreateFunction insists on: one
/// query-protocol request, signed only enough for the emulator to route it to IAM.
async fn create_role(name: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = endpoint();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let encoded: String = policy
        .bytes()
        .map(|b| match b.is_ascii_alphanumeric() {
            true => (b as char).to_string(),
            false => format!("%{b:02X}"),
        })
        .collect();
    let body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument={encoded}"
    );
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "CreateRole: {response}"
    );
    format!("arn:aws:iam::123456789012:role/{name}")
}

#[tokio::test]
async fn the_deployed_functions_settings_are_the_ones_it_judges_by() {
    ensure_shared_resources().await;
    let (ours, _, _) = verified("ours").await;
    let (theirs, _, _) = verified("theirs").await;
    let name = format!("dkim-autopilot-{}", std::process::id());
    let role = create_role(&name).await;
    // An empty zip archive: the emulator stores the code, nothing runs it.
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.resize(22, 0);
    let variables = [
        ("DOMAIN_INCLUDE", ours.as_str()),
        ("SCHEDULE_GROUP", SCHEDULE_GROUP),
    ];
    aws_sdk_lambda::Client::new(sdk_config().await)
        .create_function()
        .function_name(&name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(empty_zip.into())
                .build(),
        )
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .set_variables(Some(
                    variables
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ))
                .build(),
        )
        .send()
        .await
        .expect("create the function");
    let shown = |run: &Run| -> Vec<String> {
        let report: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|_| panic!("{}{}", run.stdout, run.stderr));
        report["domains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["domain"].as_str().unwrap().to_owned())
            .collect()
    };
    // This shell says nothing of scope; the function says `ours` only.
    let run = dkimctl(&["status", "--json", "--function", &name], &[]).await;
    assert_eq!(shown(&run), std::slice::from_ref(&ours));
    // A flag overrides the function's setting.
    let run = dkimctl(
        &[
            "status",
            "--json",
            "--function",
            &name,
            "--domain-include",
            &theirs,
        ],
        &[],
    )
    .await;
    assert_eq!(shown(&run), std::slice::from_ref(&theirs));
}

#[tokio::test]
async fn a_request_is_the_event_the_function_then_acts_on() {
    let aws = aws().await;
    let domain = unique_domain("asked");
    let zone = create_zone(&domain).await;
    let source = format!("test.dkimctl.{}", std::process::id());
    let subscriber =
        Subscriber::for_pattern(&domain.replace('.', "-"), json!({"source": [source]})).await;
    let bus = ["--bus", EVENT_BUS, "--source", &source];

    let mut args = vec!["onboard", domain.as_str(), "--tenant", "t-42"];
    args.extend(bus);
    let run = dkimctl(&args, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("event id"), "{}", run.stdout);
    let mut delivered = Vec::new();
    for _ in 0..50 {
        delivered.extend(subscriber.received().await);
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivered.len(), 1, "one event on the bus: {delivered:?}");
    let event = &delivered[0];
    assert_eq!(event["detail-type"], "Domain Registered");
    assert_eq!(
        event["detail"],
        json!({"domain": domain, "tenantId": "t-42"})
    );
    // The function reads it as it arrives, and onboards.
    let answer = invoke(&aws, &event.to_string())
        .await
        .expect("the function acts on it");
    assert_eq!(
        serde_json::to_value(answer).unwrap()["outcome"],
        "published"
    );
    assert_eq!(cnames(&zone).await.len(), 3);

    let mut args = vec!["reconcile", "--dry-run"];
    args.extend(bus);
    assert_eq!(dkimctl(&args, &[]).await.code, 0);
    let mut args = vec!["offboard", domain.as_str()];
    args.extend(bus);
    assert_eq!(dkimctl(&args, &[]).await.code, 0);
    let mut kinds = Vec::new();
    for _ in 0..50 {
        kinds.extend(subscriber.detail_types().await);
        if kinds.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kinds.sort();
    assert_eq!(kinds, ["Domain Deregistered", "Reconcile Requested"]);
}

#[tokio::test]
async fn bad_input_stops_with_exit_2_and_sends_nothing() {
    ensure_shared_resources().await;
    let source = format!("test.refused.{}", std::process::id());
    let subscriber = Subscriber::for_pattern(
        &format!("refused-{}", std::process::id()),
        json!({"source": [source]}),
    )
    .await;
    let bus = ["--bus", EVENT_BUS, "--source", source.as_str()];
    let cases: Vec<(Vec<&str>, Env, &str)> = vec![
        (vec!["onboard", "com"], &[], "public suffix"),
        (
            vec!["onboard", "a.example.com", "--hosted-zone-id", "zone/../1"],
            &[],
            "hosted zone id",
        ),
        (
            vec!["onboard", "example.com", "--source", "aws.fake"],
            &[],
            "`source`",
        ),
        (vec!["status", "under_score.com"], &[], "under_score.com"),
        (
            vec!["status"],
            &[("DKIM_RECORD_TTL", "0")],
            "DKIM_RECORD_TTL",
        ),
        (
            vec!["status", "--function", "no-such-function"],
            &[],
            "ResourceNotFoundException",
        ),
        (vec!["status", "--budget-share", "5"], &[], "budget-share"),
    ];
    for (mut args, env, named) in cases {
        if args[0] == "onboard" && !args.contains(&"--source") {
            args.extend(bus);
        }
        let run = dkimctl(&args, env).await;
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(named),
            "{args:?} must name {named}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    let run = dkimctl(
        &["status"],
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no AWS credentials"), "{}", run.stderr);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        subscriber.received().await.is_empty(),
        "nothing reached the bus"
    );
}

/// A replica made as DEED makes it: in `region`, signing as the parent in `REGION`.
async fn replicate(region: &str, domain: &str) {
    sesv2_in(region)
        .await
        .create_email_identity()
        .email_identity(domain)
        .dkim_signing_attributes(
            aws_sdk_sesv2::types::DkimSigningAttributes::builder()
                .domain_signing_attributes_origin("AWS_SES_US_EAST_1".into())
                .build(),
        )
        .send()
        .await
        .expect("a replica of a verified parent");
}

/// The domain identities SES holds in `region`.
async fn identities_in(region: &str) -> Vec<String> {
    let answer = sesv2_in(region)
        .await
        .list_email_identities()
        .page_size(1000)
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = answer
        .email_identities()
        .iter()
        .filter_map(|i| i.identity_name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn status_and_plan_show_each_replica_regions_state() {
    const WEST: &str = "us-west-2";
    const EUROPE: &str = "eu-west-1";
    // Replicated in both Regions: well.
    let (whole, _, _) = verified("replicated").await;
    replicate(WEST, &whole).await;
    replicate(EUROPE, &whole).await;
    // Replicated in one of the two: a reconcile would make the other.
    let (half, _, _) = verified("halfway").await;
    replicate(WEST, &half).await;
    // Its onboarding chose one Region (the tag it leaves on the parent): well there.
    let (narrowed, _, _) = verified("narrowed").await;
    replicate(WEST, &narrowed).await;
    sesv2_in(REGION)
        .await
        .tag_resource()
        .resource_arn(format!(
            "arn:aws:ses:{REGION}:123456789012:identity/{narrowed}"
        ))
        .tags(
            aws_sdk_sesv2::types::Tag::builder()
                .key("dkim-autopilot:ses-regions")
                .value(WEST)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // Not verified yet: no replica is made before the parent is, so none is shown.
    let pending = unique_domain("notyet");
    create_zone(&pending).await;
    identity(&pending).await;

    let include = [&whole, &half, &narrowed, &pending]
        .map(String::as_str)
        .join(",");
    let regions = format!("{WEST},{EUROPE}");
    let env = [
        ("DOMAIN_INCLUDE", include.as_str()),
        ("SES_REPLICA_REGIONS", regions.as_str()),
    ];
    let before = (identities_in(WEST).await, identities_in(EUROPE).await);

    let run = dkimctl(&["status", "--json"], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("status --json is JSON");
    let d = by_domain(&report, &whole);
    assert_eq!(
        d["replicas"],
        json!([{"region": WEST, "status": "verified"}, {"region": EUROPE, "status": "verified"}])
    );
    assert_eq!(d["well"], true, "{d}");
    let d = by_domain(&report, &half);
    assert_eq!(
        d["replicas"],
        json!([{"region": WEST, "status": "verified"}, {"region": EUROPE, "status": "missing"}])
    );
    assert_eq!(
        (d["verified"].as_bool(), d["well"].as_bool()),
        (Some(true), Some(false)),
        "{d}"
    );
    assert_eq!(
        d["plan"],
        json!({"action": "createReplica", "records": [EUROPE]})
    );
    let d = by_domain(&report, &narrowed);
    assert_eq!(
        d["replicas"],
        json!([{"region": WEST, "status": "verified"}])
    );
    assert_eq!(
        (d["well"].as_bool(), d["plan"]["action"].as_str()),
        (Some(true), Some("alreadyVerified")),
        "{d}"
    );
    let d = by_domain(&report, &pending);
    assert!(d.get("replicas").is_none(), "{d}");

    let run = dkimctl(&["status"], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row = |domain: &str| run.row(domain);
    assert!(run.stdout.starts_with("DOMAIN "), "{}", run.stdout);
    assert!(run.stdout.lines().next().unwrap().contains("  REPLICAS  "));
    assert!(row(&whole).contains(" 2/2 "), "{}", row(&whole));
    assert!(row(&half).contains(" 1/2 "), "{}", row(&half));
    assert!(row(&narrowed).contains(" 1/1 "), "{}", row(&narrowed));
    assert!(
        run.stdout.contains(&format!(
            "{half}:\n  replica in {EUROPE} is missing\n  a reconcile would createReplica\n"
        )),
        "{}",
        run.stdout
    );

    let plan = dkimctl(&["plan"], &env).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains(&format!("+ {half}  createReplica\n    {EUROPE}\n")),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains(whole.as_str()), "{}", plan.stdout);

    assert_eq!(
        (identities_in(WEST).await, identities_in(EUROPE).await),
        before,
        "looking made no replica"
    );
}
