//! From the command line to clients: the AWS configuration (region, profile), the
//! settings the deployed function runs with, and this command's share of the limits.

use std::collections::HashMap;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use dkim_autopilot::aws::Aws;
use dkim_autopilot::config::Settings;
use dkim_autopilot::dns::PublicDns;

use crate::cli::Global;
use crate::Failure;

pub struct Connection {
    pub shared: SdkConfig,
    pub settings: Settings,
    pub aws: Aws,
    pub dns: PublicDns,
    /// The function's ARN when `--function` named it.
    pub function_arn: String,
}

/// The SDK's configuration as the AWS CLI would load it, with the flags on top; fails
/// early, in one line, when there are no credentials.
pub async fn sdk_config(global: &Global) -> Result<SdkConfig, Failure> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &global.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &global.profile {
        loader = loader.profile_name(profile);
    }
    let shared = loader.load().await;
    if shared.region().is_none() {
        return Err(Failure::usage(
            "no AWS Region: pass --region, set AWS_REGION, or name a profile that has one",
        ));
    }
    let Some(credentials) = shared.credentials_provider() else {
        return Err(Failure::usage(
            "no AWS credentials provider could be configured",
        ));
    };
    if let Err(e) = credentials.provide_credentials().await {
        return Err(Failure::usage(format!(
            "no AWS credentials: {e} (set AWS_PROFILE or pass --profile, or run `aws sso login`)"
        )));
    }
    Ok(shared)
}

/// Settings in the order a person expects: this shell's environment, then the
/// deployed function's environment (`--function`), then the flags.
pub async fn connect(global: &Global) -> Result<Connection, Failure> {
    let shared = sdk_config(global).await?;
    let mut layered: HashMap<String, String> = std::env::vars().collect();
    let mut function_arn = String::new();
    if let Some(function) = &global.function {
        let (arn, env) = function_environment(&shared, function).await?;
        function_arn = arn;
        layered.extend(env);
    }
    let region = shared.region().map(|r| r.to_string()).unwrap_or_default();
    layered.insert("AWS_REGION".into(), region);
    for (name, flag) in [
        ("SCHEDULE_GROUP", &global.schedule_group),
        ("DOMAIN_INCLUDE", &global.domain_include),
        ("DOMAIN_EXCLUDE", &global.domain_exclude),
        ("HOSTED_ZONE_IDS", &global.hosted_zone_ids),
    ] {
        if let Some(value) = flag {
            layered.insert(name.into(), value.clone());
        }
    }
    let mut settings = Settings::for_operator(|name| layered.get(name).cloned())
        .map_err(|e| Failure::usage(e.to_string()))?;
    // The limits are the account's; the function runs beside this command.
    settings.pacing.margin_percent = 100 - global.budget_share;
    let aws = Aws::from_config(&shared, &settings).await;
    let dns = PublicDns::new(&settings.dns_resolvers);
    Ok(Connection {
        shared,
        settings,
        aws,
        dns,
        function_arn,
    })
}

/// The function's ARN and environment variables (GetFunctionConfiguration).
async fn function_environment(
    shared: &SdkConfig,
    function: &str,
) -> Result<(String, HashMap<String, String>), Failure> {
    let lambda = aws_sdk_lambda::Client::new(shared);
    let output = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| {
            Failure::aws(dkim_autopilot::aws::AwsError::from_sdk(
                "lambda:GetFunctionConfiguration",
                e,
            ))
        })?;
    let env = output
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    Ok((output.function_arn().unwrap_or(function).to_owned(), env))
}
