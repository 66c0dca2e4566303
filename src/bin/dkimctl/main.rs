//! `dkimctl`: the operators' command. `status` and `plan` observe the fleet through
//! `workflow::fleet` and print; the requests go to the function's bus. Exit codes:
//! 0 done, 1 `--check` found something, 2 the command could not do its job.

mod cli;
mod connect;
mod requests;
mod show;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use dkim_autopilot::aws::AwsError;
use dkim_autopilot::core::ids::DomainName;
use dkim_autopilot::core::inbound::{
    CUSTOM_DETAIL_TYPE, DEREGISTERED_DETAIL_TYPE, RECONCILE_DETAIL_TYPE,
};
use dkim_autopilot::core::metrics::Service;
use dkim_autopilot::core::status::DomainStatus;
use dkim_autopilot::workflow::fleet::{self, Fleet};
use dkim_autopilot::workflow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use cli::{Cli, Command};
use connect::{connect, Connection};
use requests::Request;

/// Why the command stopped: a line for stderr, exit 2.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn aws(err: AwsError) -> Self {
        let hint = match err.code.as_str() {
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                " (the credentials lack this permission: docs/operations.md lists what dkimctl needs)"
            }
            _ => "",
        };
        Self(format!("{err}{hint}"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("dkimctl: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let connection = connect(&cli.global).await?;
    match cli.command {
        Command::Status {
            domains,
            json,
            check,
        } => {
            let named = parse_domains(&domains)?;
            let (fleet, cost) = observe(&connection, &named).await?;
            match json {
                true => print_json(&json!({
                    "domains": fleet.domains,
                    "zonesOutOfScope": fleet.zones_out_of_scope,
                })),
                false => print!("{}", show::status_table(&fleet, chrono::Utc::now())),
            }
            cost.tell(&connection);
            // A domain left alone (tagged off, or named and out of scope) is its
            // owner's choice, not a failure.
            let failing = fleet.domains.iter().any(|s| !s.well && !s.is_skipped());
            Ok(exit_if(check && failing))
        }
        Command::Plan { json, check } => {
            let (fleet, cost) = observe(&connection, &[]).await?;
            let changes: Vec<&DomainStatus> = fleet
                .domains
                .iter()
                .filter(|s| s.plan.changes_something())
                .collect();
            match json {
                true => print_json(&json!({
                    "changes": changes.iter().map(|s| json!({"domain": s.domain, "plan": s.plan})).collect::<Vec<_>>(),
                    "skipped": fleet.domains.iter().filter(|s| s.is_skipped()).map(|s| json!({"domain": s.domain, "reason": s.plan.reason})).collect::<Vec<_>>(),
                    "unchanged": fleet.domains.iter().filter(|s| !s.is_skipped() && !s.plan.changes_something()).count(),
                    "zonesOutOfScope": fleet.zones_out_of_scope,
                })),
                false => print!("{}", show::plan_text(&fleet)),
            }
            cost.tell(&connection);
            Ok(exit_if(check && !changes.is_empty()))
        }
        Command::Reconcile { dry_run, bus } => {
            let request = Request {
                detail_type: RECONCILE_DETAIL_TYPE,
                fields: vec![("dryRun", Some(json!(dry_run)))],
            };
            println!("{}", requests::send(&connection.aws, &bus, request).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Onboard {
            domain,
            tenant,
            dns_mode,
            hosted_zone_id,
            bus,
        } => {
            let request = Request {
                detail_type: CUSTOM_DETAIL_TYPE,
                fields: vec![
                    ("domain", Some(json!(domain))),
                    ("tenantId", tenant.map(Value::from)),
                    ("dnsMode", dns_mode.map(|m| json!(m.as_event_value()))),
                    ("hostedZoneId", hosted_zone_id.map(Value::from)),
                ],
            };
            println!("{}", requests::send(&connection.aws, &bus, request).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Offboard {
            domain,
            tenant,
            hosted_zone_id,
            bus,
        } => {
            let request = Request {
                detail_type: DEREGISTERED_DETAIL_TYPE,
                fields: vec![
                    ("domain", Some(json!(domain))),
                    ("tenantId", tenant.map(Value::from)),
                    ("hostedZoneId", hosted_zone_id.map(Value::from)),
                ],
            };
            println!("{}", requests::send(&connection.aws, &bus, request).await?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_domains(raw: &[String]) -> Result<Vec<DomainName>, Failure> {
    raw.iter()
        .map(|d| DomainName::parse(d).map_err(|e| Failure::usage(e.to_string())))
        .collect()
}

/// Observe with a progress bar (on a terminal only), sorted by domain, and what it
/// cost.
async fn observe(connection: &Connection, named: &[DomainName]) -> Result<(Fleet, Cost), Failure> {
    let started = Instant::now();
    let cx = Context {
        aws: &connection.aws,
        settings: &connection.settings,
        function_arn: &connection.function_arn,
        now: chrono::Utc::now(),
        deadline: None,
        dns: &connection.dns,
    };
    let bar = match std::io::stderr().is_terminal() {
        true => ProgressBar::new(0),
        false => ProgressBar::hidden(),
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} domains ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |done: usize, of: usize| {
        bar.set_length(of as u64);
        bar.set_position(done as u64);
    };
    let mut fleet = fleet::observe(&cx, named, &progress)
        .await
        .map_err(Failure::aws)?;
    bar.finish_and_clear();
    fleet.domains.sort_by(|a, b| a.domain.cmp(&b.domain));
    let cost = Cost {
        domains: fleet.domains.len(),
        started,
    };
    Ok((fleet, cost))
}

/// What one look cost, told on stderr after the answer (stdout stays the answer).
struct Cost {
    domains: usize,
    started: Instant,
}

impl Cost {
    fn tell(&self, connection: &Connection) {
        let calls = connection.aws.calls.snapshot();
        let throttled: u64 = Service::ALL.iter().map(|s| calls.throttles(*s)).sum();
        eprintln!(
            "read {} domains in {:.1} s with {} AWS calls (ses {}, route53 {}, scheduler {}; {throttled} throttled) in {}",
            self.domains,
            self.started.elapsed().as_secs_f64(),
            calls.calls(),
            calls.calls_of(Service::Ses),
            calls.calls_of(Service::Route53),
            calls.calls_of(Service::Scheduler),
            connection.shared.region().map(|r| r.to_string()).unwrap_or_default(),
        );
    }
}

fn print_json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("dkimctl: could not write JSON: {e}"),
    }
}

fn exit_if(found: bool) -> ExitCode {
    match found {
        true => ExitCode::from(1),
        false => ExitCode::SUCCESS,
    }
}
