//! Thin adapters over the AWS SDK: they translate between SDK types and the core's
//! types and classify failures. No decisions are made here.

pub mod error;
pub mod events;
pub mod pacer;
pub mod route53;
pub mod scheduler;
pub mod ses;

pub use error::AwsError;

/// The clients one invocation uses, built once at cold start.
#[derive(Debug, Clone)]
pub struct Aws {
    pub ses: ses::Ses,
    pub route53: route53::Route53,
    pub scheduler: scheduler::Scheduler,
    pub events: events::Events,
}

impl Aws {
    /// Clients from the standard AWS configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// credentials); SES may live in another region than the function.
    pub async fn from_env(ses_region: Option<String>, event_bus: Option<String>) -> Self {
        let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let mut ses_config = aws_sdk_ses::config::Builder::from(&shared);
        if let Some(region) = ses_region {
            ses_config = ses_config.region(aws_sdk_ses::config::Region::new(region));
        }
        Self::from_clients(
            aws_sdk_ses::Client::from_conf(ses_config.build()),
            aws_sdk_route53::Client::new(&shared),
            aws_sdk_scheduler::Client::new(&shared),
            aws_sdk_eventbridge::Client::new(&shared),
            event_bus,
        )
    }

    pub fn from_clients(
        ses: aws_sdk_ses::Client,
        route53: aws_sdk_route53::Client,
        scheduler: aws_sdk_scheduler::Client,
        events: aws_sdk_eventbridge::Client,
        event_bus: Option<String>,
    ) -> Self {
        Self {
            ses: ses::Ses::new(ses),
            route53: route53::Route53::new(route53),
            scheduler: scheduler::Scheduler::new(scheduler),
            events: events::Events::new(events, event_bus),
        }
    }
}
