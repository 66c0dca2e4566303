//! The command line: what an operator types, in their words.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Look at and steer dkim-autopilot's fleet from a terminal.
///
/// `status` and `plan` read AWS and write nothing. `reconcile`, `onboard` and
/// `offboard` send the request to the bus the deployed function's rules watch, so the
/// function does the work with its own role, pacing and retries.
#[derive(Debug, Parser)]
#[command(name = "dkimctl", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Where to look, and with which settings.
#[derive(Debug, Args)]
pub struct Global {
    /// AWS Region of the deployment (default: the profile's or AWS_REGION).
    #[arg(long, global = true, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config (SSO and credential_process work).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// The deployed function's name or ARN: its settings (scope, schedule group, SES
    /// Region, sending records, ...) are read from it, so dkimctl judges as it does.
    #[arg(long, global = true, env = "DKIMCTL_FUNCTION")]
    pub function: Option<String>,
    /// Overrides the function's SCHEDULE_GROUP.
    #[arg(long, global = true)]
    pub schedule_group: Option<String>,
    /// Overrides DOMAIN_INCLUDE (comma-separated domain suffixes).
    #[arg(long, global = true)]
    pub domain_include: Option<String>,
    /// Overrides DOMAIN_EXCLUDE.
    #[arg(long, global = true)]
    pub domain_exclude: Option<String>,
    /// Overrides HOSTED_ZONE_IDS.
    #[arg(long, global = true)]
    pub hosted_zone_ids: Option<String>,
    /// The share of each AWS rate limit (percent, 10 to 100) dkimctl may use. The
    /// limits are the account's, shared with the running function.
    #[arg(long, global = true, default_value_t = 50, value_parser = clap::value_parser!(u32).range(10..=100))]
    pub budget_share: u32,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Each domain's DKIM status, records, next follow-up, MAIL FROM and plan.
    Status {
        /// Only these domains (default: every domain in scope).
        domains: Vec<String>,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
        /// Exit 1 unless every domain shown is well (for scripts and CI).
        #[arg(long)]
        check: bool,
    },
    /// What a reconcile would change now, domain by domain; changes nothing.
    Plan {
        #[arg(long)]
        json: bool,
        /// Exit 1 when the plan changes something.
        #[arg(long)]
        check: bool,
    },
    /// Ask the function for a reconcile of the whole account.
    Reconcile {
        /// Ask for a dry run: the function reports its plan and changes nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        bus: BusArgs,
    },
    /// Ask the function to onboard a domain (a `Domain Registered` event).
    Onboard {
        domain: String,
        #[arg(long)]
        tenant: Option<String>,
        /// Where the records go (default: the function's DEFAULT_DNS_MODE).
        #[arg(long, value_enum)]
        dns_mode: Option<DnsModeArg>,
        #[arg(long)]
        hosted_zone_id: Option<String>,
        #[command(flatten)]
        bus: BusArgs,
    },
    /// Ask the function to offboard a domain (a `Domain Deregistered` event).
    Offboard {
        domain: String,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        hosted_zone_id: Option<String>,
        #[command(flatten)]
        bus: BusArgs,
    },
}

/// The bus and source the function's inbound rules match (the template's
/// `InboundEventBusName` and `CustomEventSource`, whose defaults these are).
#[derive(Debug, Args)]
pub struct BusArgs {
    #[arg(long, default_value = "default")]
    pub bus: String,
    #[arg(long, default_value = "my.saas.onboarding")]
    pub source: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DnsModeArg {
    Route53,
    External,
    Auto,
}

impl DnsModeArg {
    /// The word the event carries (`detail.dnsMode`).
    pub fn as_event_value(self) -> &'static str {
        match self {
            Self::Route53 => "route53",
            Self::External => "external",
            Self::Auto => "auto",
        }
    }
}
