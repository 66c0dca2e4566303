//! Settings from the environment, read and checked once at cold start.

use chrono::TimeDelta;

use crate::core::deferral::DeferralPolicy;
use crate::core::pacing::PaceSettings;
use crate::core::policy::FollowUpPolicy;
use crate::core::records::dkim_record_domain_for;
use crate::core::request::DnsMode;
use crate::core::scope::Scope;
use crate::core::zone::HostedZoneId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub schedule_group: String,
    pub scheduler_role_arn: String,
    /// Scheduler puts events it could not deliver here (per schedule target).
    pub scheduler_dead_letter_arn: Option<String>,
    pub dkim_record_ttl: i64,
    /// `None` means the function's own region.
    pub ses_region: Option<String>,
    pub dkim_record_domain: String,
    /// `None` means the account's default bus.
    pub event_bus_name: Option<String>,
    pub policy: FollowUpPolicy,
    pub pacing: PaceSettings,
    pub deferral: DeferralPolicy,
    /// `DOMAIN_INCLUDE` / `DOMAIN_EXCLUDE`.
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
    /// `HOSTED_ZONE_IDS`: the only zones the function may touch (its IAM policy is
    /// narrowed to them too); empty means every zone in the account.
    pub hosted_zone_ids: Vec<HostedZoneId>,
    /// `ROUTE53_ROLE_ARN` (with `ROUTE53_EXTERNAL_ID`): every Route 53 call goes through
    /// this role, for zones in another account; `None` means the function's own credentials.
    pub route53_role: Option<Route53Role>,
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
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let scheduler_role_arn = get("SCHEDULER_ROLE_ARN").ok_or(ConfigError {
            variable: "SCHEDULER_ROLE_ARN",
            problem: "is required: the ARN of the IAM role EventBridge Scheduler assumes to invoke this function".into(),
        })?;
        check_arn("SCHEDULER_ROLE_ARN", &scheduler_role_arn, "iam", "role/")?;
        let scheduler_dead_letter_arn = get("SCHEDULER_DEAD_LETTER_ARN");
        if let Some(arn) = &scheduler_dead_letter_arn {
            check_arn("SCHEDULER_DEAD_LETTER_ARN", arn, "sqs", "")?;
        }
        let schedule_group = get("SCHEDULE_GROUP").unwrap_or_else(|| "dkim-autopilot".into());
        crate::core::follow_up::ScheduleName::parse(&schedule_group).map_err(|_| ConfigError {
            variable: "SCHEDULE_GROUP",
            problem: format!("\"{schedule_group}\" must be 1 to 64 of [0-9A-Za-z_.-]"),
        })?;
        let function_region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"));
        let ses_region = get("SES_REGION");
        if let Some(region) = &ses_region {
            check_region("SES_REGION", region)?;
        }
        let effective_ses_region = ses_region.clone().or(function_region).ok_or(ConfigError {
            variable: "AWS_REGION",
            problem:
                "is not set and SES_REGION is not either; one is needed to pick the SES region"
                    .into(),
        })?;
        let dkim_record_domain = match get("DKIM_RECORD_DOMAIN") {
            Some(d) => check_dkim_record_domain(&d)?,
            None => dkim_record_domain_for(&effective_ses_region),
        };
        let policy = FollowUpPolicy {
            first_check_delay: TimeDelta::minutes(number(
                &get,
                "FIRST_CHECK_DELAY_MINUTES",
                5,
                1,
                24 * 60,
            )?),
            verification_window: TimeDelta::hours(number(
                &get,
                "VERIFICATION_DEADLINE_HOURS",
                72,
                1,
                14 * 24,
            )?),
            max_restarts: number(&get, "MAX_VERIFICATION_RESTARTS", 3, 0, 10)? as u32,
        };
        let pacing = PaceSettings {
            ses_calls_per_second: number(&get, "SES_CALLS_PER_SECOND", 1, 1, 100)? as u32,
            route53_calls_per_second: number(&get, "ROUTE53_CALLS_PER_SECOND", 5, 1, 100)? as u32,
            margin_percent: number(&get, "PACE_MARGIN_PERCENT", 4, 0, 50)? as u32,
            concurrency: number(&get, "RESERVED_CONCURRENCY", 1, 1, 1000)? as u32,
        };
        let deferral = DeferralPolicy {
            max_deferrals: number(&get, "MAX_DEFERRALS", 6, 1, 20)? as u32,
            base_delay: TimeDelta::seconds(number(&get, "DEFERRAL_DELAY_SECONDS", 120, 60, 3600)?),
        };
        let scope = Scope::parse(
            get("DOMAIN_INCLUDE").as_deref(),
            get("DOMAIN_EXCLUDE").as_deref(),
        )
        .map_err(|problem| {
            let (list, rest) = problem.split_once(' ').unwrap_or(("", &problem));
            ConfigError {
                variable: if list == "DOMAIN_INCLUDE" {
                    "DOMAIN_INCLUDE"
                } else {
                    "DOMAIN_EXCLUDE"
                },
                problem: rest.to_owned(),
            }
        })?;
        let hosted_zone_ids = get("HOSTED_ZONE_IDS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                HostedZoneId::parse(id).map_err(|e| ConfigError {
                    variable: "HOSTED_ZONE_IDS",
                    problem: format!("item {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let route53_role = route53_role(&get)?;
        Ok(Self {
            schedule_group,
            scheduler_role_arn,
            scheduler_dead_letter_arn,
            dkim_record_ttl: number(&get, "DKIM_RECORD_TTL", 1800, 60, 172_800)?,
            ses_region,
            dkim_record_domain,
            event_bus_name: get("EVENT_BUS_NAME"),
            policy,
            pacing,
            deferral,
            scope,
            delete_identity_on_offboard: flag(&get, "DELETE_IDENTITY_ON_OFFBOARD", true)?,
            delete_orphaned_identities: flag(&get, "DELETE_ORPHANED_IDENTITIES", false)?,
            reconcile_page_size: number(&get, "RECONCILE_PAGE_SIZE", 100, 1, 100)? as u32,
            default_dns_mode: match get("DEFAULT_DNS_MODE") {
                None => DnsMode::Route53,
                Some(mode) => DnsMode::parse(&mode).map_err(|problem| ConfigError {
                    variable: "DEFAULT_DNS_MODE",
                    problem,
                })?,
            },
            dns_resolvers: dns_resolvers(get("DNS_RESOLVERS").as_deref())?,
            hosted_zone_ids,
            route53_role,
        })
    }
}

fn route53_role(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Route53Role>, ConfigError> {
    let external_id = get("ROUTE53_EXTERNAL_ID");
    let Some(arn) = get("ROUTE53_ROLE_ARN") else {
        return match external_id {
            None => Ok(None),
            Some(_) => Err(ConfigError {
                variable: "ROUTE53_EXTERNAL_ID",
                problem: "is set but ROUTE53_ROLE_ARN is not; the external id is only sent when assuming that role".into(),
            }),
        };
    };
    check_arn("ROUTE53_ROLE_ARN", &arn, "iam", "role/")?;
    if let Some(id) = &external_id {
        // AWS's rule for sts:AssumeRole ExternalId: 2 to 1224 of [\w+=,.@:/-].
        let ok = (2..=1224).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b));
        if !ok {
            return Err(ConfigError {
                variable: "ROUTE53_EXTERNAL_ID",
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
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<std::net::SocketAddr>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(|ip| (ip, 53).into()))
                .map_err(|_| ConfigError {
                    variable: "DNS_RESOLVERS",
                    problem: format!("item \"{item}\" is not an IP address with an optional port (like 1.1.1.1 or 127.0.0.1:5353)"),
                })
        })
        .collect()
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    let Some(text) = get(variable) else {
        return Ok(default);
    };
    match text.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError {
            variable,
            problem: format!("is \"{text}\"; expected a whole number from {min} to {max}"),
        }),
    }
}

fn flag(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(variable).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ConfigError {
            variable,
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

fn check_dkim_record_domain(domain: &str) -> Result<String, ConfigError> {
    let lower = domain.trim_end_matches('.').to_ascii_lowercase();
    let ok = lower.ends_with(".amazonses.com")
        && lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if ok {
        Ok(lower)
    } else {
        Err(ConfigError {
            variable: "DKIM_RECORD_DOMAIN",
            problem: format!(
                "is \"{domain}\"; expected an SES DKIM domain such as dkim.amazonses.com"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn defaults_apply_when_only_the_required_setting_is_given() {
        let s = settings(&[ROLE, REGION]).unwrap();
        assert_eq!(s.schedule_group, "dkim-autopilot");
        assert_eq!(s.dkim_record_ttl, 1800);
        assert_eq!(s.ses_region, None);
        assert_eq!(s.dkim_record_domain, "dkim.amazonses.com");
        assert_eq!(s.event_bus_name, None);
        assert_eq!(s.policy, FollowUpPolicy::default());
        assert_eq!(s.pacing, PaceSettings::default());
        assert_eq!(s.deferral, DeferralPolicy::default());
        assert_eq!(s.scope, Scope::default());
        assert!(s.delete_identity_on_offboard && !s.delete_orphaned_identities);
        assert_eq!(s.reconcile_page_size, 100);
        assert!(s.hosted_zone_ids.is_empty());
        assert_eq!(s.default_dns_mode, DnsMode::Route53);
        assert!(s.dns_resolvers.is_empty());
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
            narrowed.hosted_zone_ids,
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
        assert_eq!(s.dkim_record_domain, "dkim.af-south-1.amazonses.com");
        let s = settings(&[ROLE, ("AWS_REGION", "eu-south-1")]).unwrap();
        assert_eq!(s.dkim_record_domain, "dkim.eu-south-1.amazonses.com");
        let s = settings(&[
            ROLE,
            REGION,
            ("DKIM_RECORD_DOMAIN", "dkim.xx-new-1.amazonses.com."),
        ])
        .unwrap();
        assert_eq!(s.dkim_record_domain, "dkim.xx-new-1.amazonses.com");
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
                &[ROLE, REGION, ("DKIM_RECORD_DOMAIN", "evil.example.com")],
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
}
