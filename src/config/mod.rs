//! Settings from the environment, read and checked once at cold start. Each one is
//! defined once, in `table` (name, default, bounds, meaning); this reads them.

pub mod table;

use chrono::TimeDelta;

use crate::core::deferral::DeferralPolicy;
use crate::core::key_length::KeyLengthPolicy;
use crate::core::pacing::PaceSettings;
use crate::core::policy::FollowUpPolicy;
use crate::core::records::{dkim_record_domain_for, SigningZone};
use crate::core::replicas::ReplicaRegions;
use crate::core::request::DnsMode;
use crate::core::schedule::ScheduleName;
use crate::core::scope::Scope;
use crate::core::sending::desired::SendingSetup;
use crate::core::sending::dmarc::DmarcSetup;
use crate::core::sending::mail_from::MailFromSetup;
use crate::core::sending::InvalidSetting;
use table::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub schedule_group: String,
    pub scheduler_role_arn: String,
    /// Scheduler puts events it could not deliver here (per schedule target).
    pub scheduler_dead_letter_arn: Option<String>,
    pub dkim_record_ttl: i64,
    /// `None` means the function's own region.
    pub ses_region: Option<String>,
    /// Where CNAMEs point when SES names no signing zone for an identity: the
    /// Region table's zone, or `DKIM_RECORD_DOMAIN`.
    pub dkim_record_domain: SigningZone,
    /// `DKIM_KEY_LENGTH`: the length verified identities' next keys are moved to.
    pub key_length: KeyLengthPolicy,
    /// `SES_REPLICA_REGIONS`: where verified identities get a DEED replica.
    pub replica_regions: ReplicaRegions,
    /// `None` means the account's default bus.
    pub event_bus_name: Option<String>,
    pub policy: FollowUpPolicy,
    pub pacing: PaceSettings,
    pub deferral: DeferralPolicy,
    /// `DOMAIN_INCLUDE`, `DOMAIN_EXCLUDE` and `HOSTED_ZONE_IDS`: the one scope gate.
    pub scope: Scope,
    /// Offboarding deletes the SES identity too (`DELETE_IDENTITY_ON_OFFBOARD`).
    pub delete_identity_on_offboard: bool,
    /// A reconcile deletes identities whose zone is gone (`DELETE_ORPHANED_IDENTITIES`).
    pub delete_orphaned_identities: bool,
    /// At most this many zones (or identities) per reconcile invocation.
    pub reconcile_page_size: u32,
    /// `DEFAULT_DNS_MODE`: where a custom event's records go when it does not say.
    pub default_dns_mode: DnsMode,
    /// `DNS_RESOLVERS`: who answers the hand-over's public DNS lookups; empty means
    /// the system's resolvers (`/etc/resolv.conf`).
    pub dns_resolvers: Vec<std::net::SocketAddr>,
    /// `ROUTE53_ROLE_ARN` (with `ROUTE53_EXTERNAL_ID`): every Route 53 call goes through
    /// this role, for zones in another account; `None` means the function's own credentials.
    pub route53_role: Option<Route53Role>,
    /// `MAIL_FROM_*` and `DMARC_*`: the sending records beside DKIM; both off by default.
    pub sending: SendingSetup,
}

/// The role Route 53 calls are made with, assumed through STS.
#[derive(Clone, PartialEq, Eq)]
pub struct Route53Role {
    pub arn: String,
    pub external_id: Option<String>,
}

// The template takes the external id NoEcho; keep it out of logs too.
impl std::fmt::Debug for Route53Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route53Role")
            .field("arn", &self.arn)
            .field("external_id", &self.external_id.as_ref().map(|_| "<set>"))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl Settings {
    /// `region` is the function's region (`AWS_REGION`), the default for SES.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::parse(lookup, true)
    }

    /// The settings an operator's command reads with (`dkimctl`): the same variables
    /// and rules, except that it never creates a schedule, so `SCHEDULER_ROLE_ARN` is
    /// checked when given and never required (empty when absent).
    pub fn for_operator(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::parse(lookup, false)
    }

    fn parse(
        lookup: impl Fn(&str) -> Option<String>,
        needs_scheduler_role: bool,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let scheduler_role_arn = match (needs_scheduler_role, get(SCHEDULER_ROLE_ARN.name)) {
            (false, None) => String::new(),
            _ => required(&get, &SCHEDULER_ROLE_ARN)?,
        };
        if !scheduler_role_arn.is_empty() {
            check_arn(SCHEDULER_ROLE_ARN.name, &scheduler_role_arn, "iam", "role/")?;
        }
        let scheduler_dead_letter_arn = optional(&get, &SCHEDULER_DEAD_LETTER_ARN);
        if let Some(arn) = &scheduler_dead_letter_arn {
            check_arn(SCHEDULER_DEAD_LETTER_ARN.name, arn, "sqs", "")?;
        }
        let schedule_group = text_or_default(&get, &SCHEDULE_GROUP);
        ScheduleName::parse(&schedule_group).map_err(|_| ConfigError {
            variable: SCHEDULE_GROUP.name,
            problem: format!("\"{schedule_group}\" must be 1 to 64 of [0-9A-Za-z_.-]"),
        })?;
        let function_region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"));
        let ses_region = optional(&get, &SES_REGION);
        if let Some(region) = &ses_region {
            check_region(SES_REGION.name, region)?;
        }
        let effective_ses_region = ses_region.clone().or(function_region).ok_or(ConfigError {
            variable: "AWS_REGION",
            problem:
                "is not set and SES_REGION is not either; one is needed to pick the SES region"
                    .into(),
        })?;
        let dkim_record_domain = match optional(&get, &DKIM_RECORD_DOMAIN) {
            Some(d) => check_dkim_record_domain(&d)?,
            None => dkim_record_domain_for(&effective_ses_region),
        };
        let key_length = KeyLengthPolicy::parse(&text_or_default(&get, &DKIM_KEY_LENGTH)).map_err(
            |problem| ConfigError {
                variable: DKIM_KEY_LENGTH.name,
                problem,
            },
        )?;
        let replica_regions = ReplicaRegions::parse(
            optional(&get, &SES_REPLICA_REGIONS)
                .as_deref()
                .unwrap_or(""),
            &effective_ses_region,
        )
        .map_err(|problem| ConfigError {
            variable: SES_REPLICA_REGIONS.name,
            problem,
        })?;
        let policy = FollowUpPolicy {
            first_check_delay: TimeDelta::minutes(number(&get, &FIRST_CHECK_DELAY_MINUTES)?),
            verification_window: TimeDelta::hours(number(&get, &VERIFICATION_DEADLINE_HOURS)?),
            max_restarts: count(&get, &MAX_VERIFICATION_RESTARTS)?,
        };
        let pacing = PaceSettings {
            ses_calls_per_second: count(&get, &SES_CALLS_PER_SECOND)?,
            route53_calls_per_second: count(&get, &ROUTE53_CALLS_PER_SECOND)?,
            margin_percent: count(&get, &PACE_MARGIN_PERCENT)?,
            concurrency: count(&get, &RESERVED_CONCURRENCY)?,
        };
        let deferral = DeferralPolicy {
            max_deferrals: count(&get, &MAX_DEFERRALS)?,
            base_delay: TimeDelta::seconds(number(&get, &DEFERRAL_DELAY_SECONDS)?),
        };
        let scope = Scope::parse(
            optional(&get, &DOMAIN_INCLUDE).as_deref(),
            optional(&get, &DOMAIN_EXCLUDE).as_deref(),
            optional(&get, &HOSTED_ZONE_IDS).as_deref(),
        )
        .map_err(|e| ConfigError {
            variable: e.variable,
            problem: e.problem,
        })?;
        let default_dns_mode =
            DnsMode::parse(&text_or_default(&get, &DEFAULT_DNS_MODE)).map_err(|problem| {
                ConfigError {
                    variable: DEFAULT_DNS_MODE.name,
                    problem,
                }
            })?;
        let dkim_record_ttl = number(&get, &DKIM_RECORD_TTL)?;
        let sending = sending_setup(&get, &effective_ses_region, dkim_record_ttl)?;
        Ok(Self {
            schedule_group,
            scheduler_role_arn,
            scheduler_dead_letter_arn,
            dkim_record_ttl,
            ses_region,
            dkim_record_domain,
            key_length,
            replica_regions,
            event_bus_name: optional(&get, &EVENT_BUS_NAME),
            policy,
            pacing,
            deferral,
            scope,
            delete_identity_on_offboard: flag(&get, &DELETE_IDENTITY_ON_OFFBOARD)?,
            delete_orphaned_identities: flag(&get, &DELETE_ORPHANED_IDENTITIES)?,
            reconcile_page_size: count(&get, &RECONCILE_PAGE_SIZE)?,
            default_dns_mode,
            dns_resolvers: dns_resolvers(optional(&get, &DNS_RESOLVERS).as_deref())?,
            route53_role: route53_role(&get)?,
            sending,
        })
    }
}

fn sending_setup(
    get: &impl Fn(&str) -> Option<String>,
    ses_region: &str,
    ttl: i64,
) -> Result<SendingSetup, ConfigError> {
    let as_config = |e: InvalidSetting| ConfigError {
        variable: e.variable,
        problem: e.problem,
    };
    let mail_from = MailFromSetup::parse(
        get(MAIL_FROM_SUBDOMAIN.name).as_deref(),
        get(MAIL_FROM_BEHAVIOR_ON_MX_FAILURE.name).as_deref(),
    )
    .map_err(as_config)?;
    let dmarc = DmarcSetup::parse(
        get(DMARC_POLICY.name).as_deref(),
        get(DMARC_RUA.name).as_deref(),
    )
    .map_err(as_config)?;
    Ok(SendingSetup {
        ses_region: ses_region.to_owned(),
        ttl,
        mail_from,
        dmarc,
    })
}

fn route53_role(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Route53Role>, ConfigError> {
    let external_id = optional(get, &ROUTE53_EXTERNAL_ID);
    let Some(arn) = optional(get, &ROUTE53_ROLE_ARN) else {
        return match external_id {
            None => Ok(None),
            Some(_) => Err(ConfigError {
                variable: ROUTE53_EXTERNAL_ID.name,
                problem: "is set but ROUTE53_ROLE_ARN is not; the external id is only sent when assuming that role".into(),
            }),
        };
    };
    check_arn(ROUTE53_ROLE_ARN.name, &arn, "iam", "role/")?;
    if let Some(id) = &external_id {
        // AWS's rule for sts:AssumeRole ExternalId: 2 to 1224 of [\w+=,.@:/-].
        let ok = (2..=1224).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b));
        if !ok {
            return Err(ConfigError {
                variable: ROUTE53_EXTERNAL_ID.name,
                problem: format!(
                    "has {} characters; expected 2 to 1224 of A-Z a-z 0-9 and _+=,.@:/- (the value itself is not shown)",
                    id.chars().count()
                ),
            });
        }
    }
    Ok(Some(Route53Role { arn, external_id }))
}

/// `ip[:port]` items, comma-separated; IPv6 with a port in brackets; port 53 by default.
fn dns_resolvers(list: Option<&str>) -> Result<Vec<std::net::SocketAddr>, ConfigError> {
    let variable = DNS_RESOLVERS.name;
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<std::net::SocketAddr>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(|ip| (ip, 53).into()))
                .map_err(|_| ConfigError {
                    variable,
                    problem: format!("item \"{item}\" is not an IP address with an optional port (like 1.1.1.1 or 127.0.0.1:5353)"),
                })
        })
        .collect()
}

fn required(get: &impl Fn(&str) -> Option<String>, setting: &Text) -> Result<String, ConfigError> {
    get(setting.name).ok_or(ConfigError {
        variable: setting.name,
        problem: format!("is required: {}", setting.meaning),
    })
}

fn optional(get: &impl Fn(&str) -> Option<String>, setting: &Text) -> Option<String> {
    get(setting.name)
}

fn text_or_default(get: &impl Fn(&str) -> Option<String>, setting: &Text) -> String {
    match (get(setting.name), setting.default) {
        (Some(value), _) => value,
        (None, TextDefault::Value(default)) => default.to_owned(),
        (None, _) => String::new(),
    }
}

fn number(get: &impl Fn(&str) -> Option<String>, setting: &Number) -> Result<i64, ConfigError> {
    let Some(text) = get(setting.name) else {
        return Ok(setting.default);
    };
    match text.parse::<i64>() {
        Ok(n) if (setting.min..=setting.max).contains(&n) => Ok(n),
        _ => Err(ConfigError {
            variable: setting.name,
            problem: format!(
                "is \"{text}\"; expected a whole number from {} to {}",
                setting.min, setting.max
            ),
        }),
    }
}

/// A number that is never negative by its bounds.
fn count(get: &impl Fn(&str) -> Option<String>, setting: &Number) -> Result<u32, ConfigError> {
    number(get, setting).map(|n| u32::try_from(n).expect("the table bounds counts at 0 or more"))
}

fn flag(get: &impl Fn(&str) -> Option<String>, setting: &Flag) -> Result<bool, ConfigError> {
    match get(setting.name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(setting.default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ConfigError {
            variable: setting.name,
            problem: format!("is \"{other}\"; expected true or false"),
        }),
    }
}

fn check_arn(
    variable: &'static str,
    arn: &str,
    service: &str,
    resource_prefix: &str,
) -> Result<(), ConfigError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == service
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].starts_with(resource_prefix)
        && parts[5].len() > resource_prefix.len();
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            variable,
            problem: format!("is \"{arn}\"; expected an {service} ARN like arn:aws:{service}:…:123456789012:{resource_prefix}…"),
        })
    }
}

fn check_region(variable: &'static str, region: &str) -> Result<(), ConfigError> {
    let ok = region.len() <= 32
        && region.split('-').count() >= 3
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            variable,
            problem: format!("is \"{region}\"; expected a region name like eu-west-1"),
        })
    }
}

/// The same rule as a signing zone SES names: the fallback must be something SES
/// could have said.
fn check_dkim_record_domain(domain: &str) -> Result<SigningZone, ConfigError> {
    SigningZone::parse(domain).map_err(|e| ConfigError {
        variable: DKIM_RECORD_DOMAIN.name,
        problem: format!(
            "is \"{domain}\"; {}; expected a DNS zone such as dkim.amazonses.com",
            e.rule
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::HostedZoneId;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    const ROLE: (&str, &str) = (
        "SCHEDULER_ROLE_ARN",
        "arn:aws:iam::123456789012:role/dkim-scheduler",
    );
    const REGION: (&str, &str) = ("AWS_REGION", "eu-west-1");

    #[test]
    fn an_operator_reads_without_the_scheduler_role_but_never_with_a_bad_one() {
        let lookup = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = Settings::for_operator(lookup(&[REGION])).unwrap();
        assert_eq!(s.scheduler_role_arn, "");
        assert_eq!(s.schedule_group, "dkim-autopilot");
        let err = Settings::from_lookup(lookup(&[REGION])).unwrap_err();
        assert_eq!(
            err.variable, "SCHEDULER_ROLE_ARN",
            "the function still needs it"
        );
        let bad = Settings::for_operator(lookup(&[REGION, ("SCHEDULER_ROLE_ARN", "role")]));
        assert_eq!(bad.unwrap_err().variable, "SCHEDULER_ROLE_ARN");
        let bad = Settings::for_operator(lookup(&[REGION, ("DKIM_RECORD_TTL", "0")]));
        assert_eq!(
            bad.unwrap_err().variable,
            "DKIM_RECORD_TTL",
            "the same rules apply"
        );
    }

    #[test]
    fn defaults_apply_when_only_the_required_setting_is_given() {
        let s = settings(&[ROLE, REGION]).unwrap();
        assert_eq!(s.schedule_group, "dkim-autopilot");
        assert_eq!(s.dkim_record_ttl, 1800);
        assert_eq!(s.ses_region, None);
        assert_eq!(s.dkim_record_domain.as_str(), "dkim.amazonses.com");
        assert_eq!(s.event_bus_name, None);
        assert_eq!(s.policy, FollowUpPolicy::default());
        assert_eq!(s.pacing, PaceSettings::default());
        assert_eq!(s.deferral, DeferralPolicy::default());
        assert_eq!(s.scope, Scope::default());
        assert!(s.delete_identity_on_offboard && !s.delete_orphaned_identities);
        assert_eq!(s.reconcile_page_size, 100);
        assert!(s.scope.zones().is_empty());
        assert_eq!(s.default_dns_mode, DnsMode::Route53);
        assert!(s.dns_resolvers.is_empty());
        assert!(!s.sending.is_on(), "sending records are off by default");
        let sending = settings(&[
            ROLE,
            REGION,
            ("MAIL_FROM_SUBDOMAIN", "Bounce"),
            ("MAIL_FROM_BEHAVIOR_ON_MX_FAILURE", "RejectMessage"),
            ("DMARC_POLICY", "quarantine"),
            ("DMARC_RUA", "mailto:dmarc@example.com"),
        ])
        .unwrap()
        .sending;
        let mail_from = sending.mail_from.as_ref().unwrap();
        assert_eq!(mail_from.subdomain, "bounce");
        assert_eq!(sending.ses_region, "eu-west-1");
        assert_eq!(
            sending.dmarc.as_ref().unwrap().text(),
            "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
        );
        let handing_over = settings(&[
            ROLE,
            REGION,
            ("DEFAULT_DNS_MODE", "auto"),
            ("DNS_RESOLVERS", "127.0.0.1:5353, 1.1.1.1,[::1]:53"),
        ])
        .unwrap();
        assert_eq!(handing_over.default_dns_mode, DnsMode::Auto);
        assert_eq!(
            handing_over.dns_resolvers,
            [
                "127.0.0.1:5353".parse().unwrap(),
                "1.1.1.1:53".parse().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
        let narrowed =
            settings(&[ROLE, REGION, ("HOSTED_ZONE_IDS", " Z1 ,/hostedzone/z2,")]).unwrap();
        assert_eq!(
            narrowed.scope.zones(),
            [
                HostedZoneId::parse("Z1").unwrap(),
                HostedZoneId::parse("Z2").unwrap()
            ]
        );
    }

    #[test]
    fn pacing_and_deferral_are_configurable() {
        let s = settings(&[
            ROLE,
            REGION,
            ("RESERVED_CONCURRENCY", "3"),
            ("SES_CALLS_PER_SECOND", "2"),
            ("ROUTE53_CALLS_PER_SECOND", "4"),
            ("PACE_MARGIN_PERCENT", "10"),
            ("MAX_DEFERRALS", "9"),
            ("DEFERRAL_DELAY_SECONDS", "300"),
        ])
        .unwrap();
        assert_eq!(
            s.pacing,
            PaceSettings {
                ses_calls_per_second: 2,
                route53_calls_per_second: 4,
                margin_percent: 10,
                concurrency: 3,
            }
        );
        assert_eq!(s.deferral.max_deferrals, 9);
        assert_eq!(s.deferral.base_delay, TimeDelta::minutes(5));
    }

    #[test]
    fn ses_region_picks_the_dkim_domain_unless_overridden() {
        let s = settings(&[ROLE, REGION, ("SES_REGION", "af-south-1")]).unwrap();
        assert_eq!(
            s.dkim_record_domain.as_str(),
            "dkim.af-south-1.amazonses.com"
        );
        let s = settings(&[ROLE, ("AWS_REGION", "eu-south-1")]).unwrap();
        assert_eq!(
            s.dkim_record_domain.as_str(),
            "dkim.eu-south-1.amazonses.com"
        );
        let s = settings(&[
            ROLE,
            REGION,
            ("DKIM_RECORD_DOMAIN", "dkim.xx-new-1.amazonses.com."),
        ])
        .unwrap();
        assert_eq!(s.dkim_record_domain.as_str(), "dkim.xx-new-1.amazonses.com");
    }

    #[test]
    fn every_bad_setting_is_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[REGION], "SCHEDULER_ROLE_ARN is required"),
            (
                &[("SCHEDULER_ROLE_ARN", "dkim-role"), REGION],
                "SCHEDULER_ROLE_ARN is \"dkim-role\"",
            ),
            (&[ROLE], "AWS_REGION is not set"),
            (
                &[ROLE, REGION, ("DKIM_RECORD_TTL", "abc")],
                "DKIM_RECORD_TTL is \"abc\"",
            ),
            (
                &[ROLE, REGION, ("DKIM_RECORD_TTL", "10")],
                "from 60 to 172800",
            ),
            (
                &[ROLE, REGION, ("FIRST_CHECK_DELAY_MINUTES", "0")],
                "FIRST_CHECK_DELAY_MINUTES",
            ),
            (
                &[ROLE, REGION, ("SCHEDULE_GROUP", "bad group")],
                "SCHEDULE_GROUP",
            ),
            (&[ROLE, REGION, ("SES_REGION", "Europe")], "SES_REGION"),
            (
                &[ROLE, REGION, ("RESERVED_CONCURRENCY", "0")],
                "RESERVED_CONCURRENCY is \"0\"",
            ),
            (&[ROLE, REGION, ("MAX_DEFERRALS", "0")], "from 1 to 20"),
            (
                &[ROLE, REGION, ("MAIL_FROM_SUBDOMAIN", "mail.bounce")],
                "MAIL_FROM_SUBDOMAIN is \"mail.bounce\"; must be one DNS label",
            ),
            (
                &[ROLE, REGION, ("MAIL_FROM_BEHAVIOR_ON_MX_FAILURE", "Bounce")],
                "MAIL_FROM_BEHAVIOR_ON_MX_FAILURE is \"Bounce\"",
            ),
            (
                &[ROLE, REGION, ("DMARC_POLICY", "strict")],
                "DMARC_POLICY is \"strict\"",
            ),
            (
                &[ROLE, REGION, ("DMARC_POLICY", "none"), ("DMARC_RUA", "dmarc@example.com")],
                "DMARC_RUA item \"dmarc@example.com\" must be a mailto: URI",
            ),
            (
                &[ROLE, REGION, ("DOMAIN_EXCLUDE", "example.com,bad domain")],
                "DOMAIN_EXCLUDE item \"bad domain\"",
            ),
            (
                &[ROLE, REGION, ("DOMAIN_INCLUDE", "*.example.com")],
                "configuration: DOMAIN_INCLUDE item \"*.example.com\" is not a domain suffix",
            ),
            (
                &[ROLE, REGION, ("DELETE_ORPHANED_IDENTITIES", "yes")],
                "DELETE_ORPHANED_IDENTITIES is \"yes\"; expected true or false",
            ),
            (
                &[ROLE, REGION, ("RECONCILE_PAGE_SIZE", "1000")],
                "RECONCILE_PAGE_SIZE",
            ),
            (
                &[ROLE, REGION, ("DEFAULT_DNS_MODE", "cloudflare")],
                "DEFAULT_DNS_MODE is \"cloudflare\"; expected \"route53\", \"external\" or \"auto\"",
            ),
            (
                &[ROLE, REGION, ("DNS_RESOLVERS", "127.0.0.1,dns.google")],
                "DNS_RESOLVERS item \"dns.google\"",
            ),
            (
                &[ROLE, REGION, ("DEFERRAL_DELAY_SECONDS", "5")],
                "DEFERRAL_DELAY_SECONDS",
            ),
            (
                &[ROLE, REGION, ("PACE_MARGIN_PERCENT", "-1")],
                "PACE_MARGIN_PERCENT",
            ),
            (
                &[ROLE, REGION, ("DKIM_RECORD_DOMAIN", "dkim amazonses.com")],
                "DKIM_RECORD_DOMAIN",
            ),
            (
                &[
                    ROLE,
                    REGION,
                    (
                        "SCHEDULER_DEAD_LETTER_ARN",
                        "arn:aws:sns:eu-west-1:123456789012:t",
                    ),
                ],
                "SCHEDULER_DEAD_LETTER_ARN",
            ),
        ];
        for (vars, expected) in cases {
            let err = settings(vars).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected:?} not in {err:?}");
        }
    }

    const DNS_ROLE: (&str, &str) = (
        "ROUTE53_ROLE_ARN",
        "arn:aws:iam::210987654321:role/dns/dkim-autopilot-route53",
    );

    #[test]
    fn route53_goes_through_a_role_only_when_one_is_set() {
        assert_eq!(settings(&[ROLE, REGION]).unwrap().route53_role, None);
        let s = settings(&[ROLE, REGION, DNS_ROLE]).unwrap();
        assert_eq!(
            s.route53_role,
            Some(Route53Role {
                arn: DNS_ROLE.1.into(),
                external_id: None
            })
        );
        let s = settings(&[
            ROLE,
            REGION,
            DNS_ROLE,
            ("ROUTE53_EXTERNAL_ID", "tenant-7/a.b@c:d=e,f+g_h"),
        ])
        .unwrap();
        let role = s.route53_role.unwrap();
        assert_eq!(
            role.external_id.as_deref(),
            Some("tenant-7/a.b@c:d=e,f+g_h")
        );
        assert!(!format!("{role:?}").contains("tenant-7"), "{role:?}");
        // Empty values are what the template passes when the parameters are empty.
        let s = settings(&[
            ROLE,
            REGION,
            ("ROUTE53_ROLE_ARN", ""),
            ("ROUTE53_EXTERNAL_ID", ""),
        ])
        .unwrap();
        assert_eq!(s.route53_role, None);
    }

    #[test]
    fn a_bad_route53_role_or_external_id_is_named() {
        let long = "x".repeat(1225);
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("ROUTE53_ROLE_ARN", "dkim-dns-role")],
                "ROUTE53_ROLE_ARN is \"dkim-dns-role\"; expected an iam ARN",
            ),
            (
                &[(
                    "ROUTE53_ROLE_ARN",
                    "arn:aws:iam::210987654321:user/dkim-autopilot",
                )],
                "ROUTE53_ROLE_ARN",
            ),
            (
                &[(
                    "ROUTE53_ROLE_ARN",
                    "arn:aws:sts::210987654321:assumed-role/dns/x",
                )],
                "ROUTE53_ROLE_ARN",
            ),
            (
                &[("ROUTE53_ROLE_ARN", "arn:aws:iam::2109:role/dns")],
                "ROUTE53_ROLE_ARN",
            ),
            (
                &[("ROUTE53_EXTERNAL_ID", "tenant-7")],
                "ROUTE53_EXTERNAL_ID is set but ROUTE53_ROLE_ARN is not",
            ),
            (
                &[DNS_ROLE, ("ROUTE53_EXTERNAL_ID", "x")],
                "ROUTE53_EXTERNAL_ID has 1 characters",
            ),
            (
                &[DNS_ROLE, ("ROUTE53_EXTERNAL_ID", "secret with spaces")],
                "ROUTE53_EXTERNAL_ID",
            ),
            (
                &[DNS_ROLE, ("ROUTE53_EXTERNAL_ID", long.as_str())],
                "ROUTE53_EXTERNAL_ID has 1225 characters",
            ),
        ];
        for (vars, expected) in cases {
            let mut vars = vars.to_vec();
            vars.extend([ROLE, REGION]);
            let err = settings(&vars).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected:?} not in {err:?}");
            assert!(!err.contains("secret with"), "{err:?}");
        }
    }

    /// The parser asks for no variable that the table does not define.
    #[test]
    fn the_parser_reads_only_settings_of_the_table() {
        let asked = std::cell::RefCell::new(Vec::new());
        let env: HashMap<&str, &str> = [ROLE, REGION].into_iter().collect();
        Settings::from_lookup(|name| {
            asked.borrow_mut().push(name.to_owned());
            env.get(name).map(|v| v.to_string())
        })
        .unwrap();
        let asked = asked.into_inner();
        for name in &asked {
            let standard = name == "AWS_REGION" || name == "AWS_DEFAULT_REGION";
            assert!(
                standard || SETTINGS.iter().any(|s| s.name() == name),
                "{name} is read but not in config::table"
            );
        }
        for setting in SETTINGS {
            assert!(
                asked.iter().any(|n| n == setting.name()),
                "{} is never read",
                setting.name()
            );
        }
    }

    /// `docs/configuration.md` lists every setting with the table's default and bounds,
    /// and no variable the table does not define.
    #[test]
    fn the_docs_say_what_the_table_says() {
        let docs = include_str!("../../docs/configuration.md");
        let section = docs
            .split("## Environment variables")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("an Environment variables section");
        let rows: Vec<Vec<&str>> = section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
            .collect();
        for setting in SETTINGS {
            let name = format!("`{}`", setting.name());
            let row = rows
                .iter()
                .find(|r| r[0] == name)
                .unwrap_or_else(|| panic!("{name} has no row in docs/configuration.md"));
            assert_eq!(
                row[1],
                setting.documented_default(),
                "{name}: the docs' default is not the table's"
            );
            if let Some(bounds) = setting.documented_bounds() {
                assert!(
                    row[2].starts_with(&format!("{bounds}."))
                        || row[2].contains(&format!("{bounds} ")),
                    "{name}: the docs do not give the bounds {bounds}: {}",
                    row[2]
                );
            }
        }
        for row in &rows {
            let documented = row[0].trim_matches('`');
            assert!(
                documented.starts_with("AWS_") || SETTINGS.iter().any(|s| s.name() == documented),
                "docs/configuration.md documents {documented}, which config::table does not define"
            );
        }
    }
}
