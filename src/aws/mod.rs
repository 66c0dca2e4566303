//! Thin adapters over the AWS SDK: they translate between SDK types and the core's
//! types and classify failures. No decisions are made here.

pub mod calls;
pub mod error;
pub mod events;
pub mod pacer;
pub mod replicas;
pub mod route53;
pub mod scheduler;
pub mod ses;
pub mod sesv2;

pub use calls::CallCounter;
pub use error::AwsError;

use crate::config::{Route53Role, Settings};
use crate::core::metrics::Service;

/// The clients one invocation uses, built once at cold start.
#[derive(Debug, Clone)]
pub struct Aws {
    pub ses: ses::Ses,
    /// SES v2, in the same Region as `ses`.
    pub sesv2: sesv2::SesV2,
    /// SES v2 in each replica Region (`SES_REPLICA_REGIONS`), for DEED replicas.
    pub replicas: replicas::Replicas,
    pub route53: route53::Route53,
    pub scheduler: scheduler::Scheduler,
    pub events: events::Events,
    /// Every attempt each client makes, and the throttled ones.
    pub calls: CallCounter,
}

impl Aws {
    /// Clients from the standard AWS configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// credentials); SES may live in another region than the function, and Route 53
    /// may be reached through a role (`ROUTE53_ROLE_ARN`) in another account.
    pub async fn from_env(settings: &Settings) -> Self {
        let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::from_config(&shared, settings).await
    }

    /// The same from a configuration already loaded (the operator's command picks its
    /// own region and profile).
    pub async fn from_config(shared: &aws_config::SdkConfig, settings: &Settings) -> Self {
        let shared = shared.clone();
        let mut ses_config = aws_sdk_ses::config::Builder::from(&shared);
        let mut sesv2_config = aws_sdk_sesv2::config::Builder::from(&shared);
        if let Some(region) = &settings.ses_region {
            ses_config = ses_config.region(aws_sdk_ses::config::Region::new(region.clone()));
            sesv2_config = sesv2_config.region(aws_sdk_sesv2::config::Region::new(region.clone()));
        }
        let mut route53_config = aws_sdk_route53::config::Builder::from(&shared);
        if let Some(role) = &settings.route53_role {
            route53_config = route53_config.credentials_provider(assumed_role(&shared, role).await);
        }
        Self::from_clients(
            aws_sdk_ses::Client::from_conf(ses_config.build()),
            aws_sdk_sesv2::Client::from_conf(sesv2_config.build()),
            aws_sdk_route53::Client::from_conf(route53_config.build()),
            aws_sdk_scheduler::Client::new(&shared),
            aws_sdk_eventbridge::Client::new(&shared),
            settings,
        )
    }

    /// Wraps ready clients (tests bring their own): adds the call counter and the
    /// pacers the settings ask for.
    pub fn from_clients(
        ses: aws_sdk_ses::Client,
        sesv2: aws_sdk_sesv2::Client,
        route53: aws_sdk_route53::Client,
        scheduler: aws_sdk_scheduler::Client,
        events: aws_sdk_eventbridge::Client,
        settings: &Settings,
    ) -> Self {
        let calls = CallCounter::default();
        let ses = aws_sdk_ses::Client::from_conf(
            ses.config()
                .to_builder()
                .interceptor(calls.interceptor(Service::Ses))
                .build(),
        );
        // SES v2 calls count as SES's: one service, one line in the metrics.
        let sesv2 = aws_sdk_sesv2::Client::from_conf(
            sesv2
                .config()
                .to_builder()
                .interceptor(calls.interceptor(Service::Ses))
                .build(),
        );
        let route53 = aws_sdk_route53::Client::from_conf(
            route53
                .config()
                .to_builder()
                .interceptor(calls.interceptor(Service::Route53))
                .build(),
        );
        let scheduler = aws_sdk_scheduler::Client::from_conf(
            scheduler
                .config()
                .to_builder()
                .interceptor(calls.interceptor(Service::Scheduler))
                .build(),
        );
        let events = aws_sdk_eventbridge::Client::from_conf(
            events
                .config()
                .to_builder()
                .interceptor(calls.interceptor(Service::Events))
                .build(),
        );
        let replicas =
            replicas::Replicas::new(&sesv2, settings.replica_regions.iter(), &settings.pacing);
        Self {
            ses: ses::Ses::new(ses, &settings.pacing),
            sesv2: sesv2::SesV2::new(sesv2, &settings.pacing),
            replicas,
            route53: route53::Route53::new(route53, &settings.pacing),
            scheduler: scheduler::Scheduler::new(scheduler),
            events: events::Events::new(events, settings.event_bus_name.clone()),
            calls,
        }
    }
}

/// Credentials of `role`, assumed with STS (same endpoint settings and base credentials
/// as every other client). The provider is asked again only when the Route 53 client's
/// identity cache finds the credentials near expiry, so one cold start assumes the role
/// about once an hour, not once per call.
async fn assumed_role(
    shared: &aws_config::SdkConfig,
    role: &Route53Role,
) -> aws_config::sts::AssumeRoleProvider {
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role.arn.clone())
        .configure(shared)
        // What the DNS account's CloudTrail shows as the session.
        .session_name(SESSION_NAME);
    if let Some(external_id) = &role.external_id {
        provider = provider.external_id(external_id.clone());
    }
    provider.build().await
}

/// The role session name the DNS account sees in CloudTrail.
pub const SESSION_NAME: &str = "dkim-autopilot";
