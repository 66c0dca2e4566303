//! Cold start: read the settings, build the AWS clients once, serve invocations.

use dkim_autopilot::aws::Aws;
use dkim_autopilot::config::Settings;
use dkim_autopilot::dns::PublicDns;
use dkim_autopilot::handler::handle;
use lambda_runtime::{service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A bad setting stops the function at cold start, not on every event.
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!("{e}");
            std::process::exit(1);
        }
    };
    let aws = Aws::from_env(&settings).await;
    let dns = PublicDns::new(&settings.dns_resolvers);
    lambda_runtime::run(service_fn(|event| handle(&aws, &dns, &settings, event))).await
}
