//! The follow-up: what a one-time EventBridge Scheduler schedule carries back to this
//! function, and how that schedule is named and timed.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::domain::DomainName;
use super::records::DkimTokens;
use super::rejection::Rejection;
use super::request::DnsMode;
use super::zone::HostedZoneId;

pub const SCHEMA: &str = "dkim-autopilot/follow-up";
pub const VERSION: u32 = 1;

/// What the follow-up has to do when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    /// Records are published; confirm SES detected them.
    Verify,
    /// No hosted zone existed yet (a fresh registration); try onboarding again.
    AwaitZone,
}

/// The schedule's `Input`, exactly as serialised. Versioned so that a newer
/// function can still read schedules an older one wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FollowUpPayload {
    pub schema: String,
    pub version: u32,
    pub stage: Stage,
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// 1 for the first follow-up, +1 for each one after.
    pub attempt: u32,
    /// How many times verification was restarted with `VerifyDomainDkim`.
    #[serde(default)]
    pub restarts: u32,
    pub onboarding_started_at: DateTime<Utc>,
    /// The tokens whose records this function published: what it owns in the zone.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// `external`: the records were handed to the tenant. Absent (payloads written
    /// before hand-over existed, and every Route 53 chain): `route53`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_mode: Option<DnsMode>,
}

/// A follow-up whose every field was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub stage: Stage,
    pub domain: DomainName,
    pub hosted_zone_id: Option<HostedZoneId>,
    pub tenant_id: Option<TenantId>,
    pub attempt: u32,
    pub restarts: u32,
    pub onboarding_started_at: DateTime<Utc>,
    /// The tokens whose records were published (handed over, in external mode).
    pub published_tokens: Option<DkimTokens>,
    /// `Route53` or `External`, never `Auto`: decided when onboarding began.
    pub dns_mode: DnsMode,
}

impl FollowUp {
    pub fn to_payload(&self) -> FollowUpPayload {
        FollowUpPayload {
            schema: SCHEMA.to_owned(),
            version: VERSION,
            stage: self.stage,
            domain: self.domain.to_string(),
            hosted_zone_id: self.hosted_zone_id.as_ref().map(|z| z.to_string()),
            tenant_id: self.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
            attempt: self.attempt,
            restarts: self.restarts,
            onboarding_started_at: self.onboarding_started_at,
            tokens: self
                .published_tokens
                .as_ref()
                .map(DkimTokens::to_strings)
                .unwrap_or_default(),
            dns_mode: (self.dns_mode == DnsMode::External).then_some(DnsMode::External),
        }
    }

    pub fn to_input(&self) -> String {
        serde_json::to_string(&self.to_payload()).expect("a follow-up payload always serialises")
    }

    /// The follow-up after this one, with the same identity.
    pub fn next(&self) -> Self {
        Self {
            attempt: self.attempt + 1,
            ..self.clone()
        }
    }
}

/// Read a follow-up a schedule carried back: the schema and version this function
/// reads, every field checked.
pub fn read_follow_up(value: Value) -> Result<FollowUp, Rejection> {
    expect_version(&value, VERSION)?;
    let payload: FollowUpPayload = serde_json::from_value(value)
        .map_err(|e| Rejection::invalid_event("(follow-up)", format!("is malformed: {e}")))?;
    validate_follow_up(payload)
}

/// The domain, hosted zone and tenant a scheduled payload names, each checked as
/// strictly as in the event it came from; `path` prefixes the field names.
pub fn read_names(
    domain: &str,
    hosted_zone_id: Option<&str>,
    tenant_id: Option<&str>,
    path: &str,
) -> Result<(DomainName, Option<HostedZoneId>, Option<TenantId>), Rejection> {
    let in_context = |r: Rejection| {
        r.with_domain(domain)
            .with_tenant(tenant_id.map(str::to_owned))
    };
    let parsed = DomainName::parse(domain)
        .map_err(|e| Rejection::from(e).with_tenant(tenant_id.map(str::to_owned)))?;
    let zone = hosted_zone_id
        .map(HostedZoneId::parse)
        .transpose()
        .map_err(|e| {
            in_context(Rejection::invalid_event(
                format!("{path}hostedZoneId"),
                e.to_string(),
            ))
        })?;
    let tenant = tenant_id
        .map(TenantId::parse)
        .transpose()
        .map_err(|rule| in_context(Rejection::invalid_event(format!("{path}tenantId"), rule)))?;
    Ok((parsed, zone, tenant))
}

pub fn validate_follow_up(payload: FollowUpPayload) -> Result<FollowUp, Rejection> {
    let in_context = |r: Rejection| {
        r.with_domain(payload.domain.clone())
            .with_tenant(payload.tenant_id.clone())
    };
    let (domain, hosted_zone_id, tenant_id) = read_names(
        &payload.domain,
        payload.hosted_zone_id.as_deref(),
        payload.tenant_id.as_deref(),
        "",
    )?;
    if payload.attempt == 0 {
        return Err(in_context(Rejection::invalid_event(
            "attempt",
            "must be at least 1",
        )));
    }
    let published_tokens = match (payload.stage, payload.tokens.is_empty()) {
        (_, true) => None,
        (_, false) => Some(
            DkimTokens::parse(&payload.tokens)
                .map_err(|e| in_context(Rejection::invalid_event("tokens", e.to_string())))?,
        ),
    };
    let dns_mode = payload.dns_mode.unwrap_or(DnsMode::Route53);
    let verify = payload.stage == Stage::Verify;
    let handed_over_ok = verify && hosted_zone_id.is_none() && published_tokens.is_some();
    let route53_ok = !verify || (hosted_zone_id.is_some() && published_tokens.is_some());
    match dns_mode {
        DnsMode::Auto => {
            return Err(in_context(Rejection::invalid_event(
                "dnsMode",
                "is \"auto\"; a follow-up is \"route53\" or \"external\"",
            )))
        }
        DnsMode::External if !handed_over_ok => return Err(in_context(Rejection::invalid_event(
            "dnsMode",
            "\"external\" needs stage \"verify\", the three handed-over tokens and no hostedZoneId",
        ))),
        DnsMode::Route53 if !route53_ok => {
            return Err(in_context(Rejection::invalid_event(
                "stage",
                "\"verify\" needs hostedZoneId and the three published tokens",
            )))
        }
        _ => {}
    }
    Ok(FollowUp {
        stage: payload.stage,
        dns_mode,
        domain,
        hosted_zone_id,
        tenant_id,
        attempt: payload.attempt,
        restarts: payload.restarts,
        onboarding_started_at: payload.onboarding_started_at,
        published_tokens,
    })
}

/// A scheduled payload's `version` must be one this function reads.
pub fn expect_version(value: &Value, version: u32) -> Result<(), Rejection> {
    let found = value.get("version");
    if found != Some(&Value::from(version)) {
        return Err(Rejection::invalid_event(
            "version",
            format!(
                "is {}; this function reads version {version}",
                found.unwrap_or(&Value::Null)
            ),
        ));
    }
    Ok(())
}

/// A tenant id as a SaaS application sends it: carried along, never interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantId(String);

impl TenantId {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let chars = input.chars().count();
        if input.trim().is_empty() {
            return Err("must not be empty");
        }
        if chars > Self::MAX_CHARS {
            return Err("must be at most 256 characters");
        }
        if input.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Scheduler schedule name: 1 to 64 of `[0-9A-Za-z_.-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleName(String);

impl ScheduleName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(name: &str) -> Result<Self, String> {
        let valid_chars = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if name.is_empty() || name.len() > Self::MAX_LEN || !valid_chars {
            return Err(format!(
                "schedule name \"{name}\" must be 1 to 64 of [0-9A-Za-z_.-]"
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The deterministic name of a domain's n-th follow-up, so a redelivered event
    /// meets the schedule it already created.
    pub fn for_follow_up(domain: &DomainName, attempt: u32) -> Self {
        Self::for_domain(domain, &format!("-{attempt}"))
    }

    /// `dkim-<domain><suffix>`. Long domains keep a readable head and a hash of the
    /// whole name, so the suffix always survives.
    pub fn for_domain(domain: &DomainName, suffix: &str) -> Self {
        let plain = format!("dkim-{domain}{suffix}");
        if plain.len() <= Self::MAX_LEN {
            return Self::parse(&plain)
                .expect("A-labels and suffixes use schedule-name characters");
        }
        let digest = Sha256::digest(domain.as_str().as_bytes());
        let hash: String = digest
            .iter()
            .take(HASH_HEX_LEN / 2)
            .map(|b| format!("{b:02x}"))
            .collect();
        let room = Self::MAX_LEN - "dkim-".len() - 1 - hash.len() - suffix.len();
        let head: String = domain.as_str().chars().take(room).collect();
        Self::parse(&format!("dkim-{head}-{hash}{suffix}")).expect("built within the limits")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A prefix every schedule name of `domain` starts with (`ListSchedules`'s
    /// `NamePrefix`): `dkim-<domain>-` while every suffix fits beside the whole name,
    /// else the head that hashed names keep. Other domains may share it: filter the
    /// listing with `owned_schedules`.
    pub fn prefix_for_domain(domain: &DomainName) -> String {
        let plain = format!("dkim-{domain}-");
        if plain.len() - 1 + MAX_SUFFIX_LEN <= Self::MAX_LEN {
            return plain;
        }
        let room = Self::MAX_LEN - "dkim-".len() - 1 - HASH_HEX_LEN - MAX_SUFFIX_LEN;
        format!("dkim-{}", &domain.as_str()[..room])
    }

    /// The offboarding's tombstone for `domain`.
    pub fn for_tombstone(domain: &DomainName) -> Self {
        Self::for_domain(domain, OFFBOARDED_SUFFIX)
    }
}

/// The name of the tombstone an offboarding leaves ends `dkim-<domain>-offboarded`.
pub const OFFBOARDED_SUFFIX: &str = "-offboarded";

/// Hex digits of the hash that long domains' schedule names carry.
const HASH_HEX_LEN: usize = 16;

/// The longest suffix `schedule_suffix` reads: `-<10 digits>-d<10 digits>`.
const MAX_SUFFIX_LEN: usize = 24;

/// The schedules among `names` that belong to exactly `domain`: its follow-ups
/// (`-<n>`), their deferrals (`-<n>-d<k>`), deferred onboardings and offboardings
/// (`-onboard-d<k>`, `-offboard-d<k>`) and its offboarding tombstone (`-offboarded`).
/// A name prefix alone is not enough: `dkim-example.com-` also starts
/// `dkim-example.com-shop.com-1`, and long domains are hashed.
pub fn owned_schedules<'a>(domain: &DomainName, names: &'a [String]) -> Vec<&'a String> {
    names
        .iter()
        .filter(|name| {
            schedule_suffix(name).is_some_and(|suffix| {
                ScheduleName::for_domain(domain, &suffix).as_str() == name.as_str()
            })
        })
        .collect()
}

/// The suffix a schedule name of this function ends with, if it has one of the shapes.
fn schedule_suffix(name: &str) -> Option<String> {
    // Bounded, so a stranger's long name never makes `for_domain` run out of room.
    let number = |s: &str| (1..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = name.rsplit('-');
    let last = parts.next()?;
    if format!("-{last}") == OFFBOARDED_SUFFIX {
        return Some(OFFBOARDED_SUFFIX.to_owned());
    }
    if number(last) {
        return Some(format!("-{last}"));
    }
    let deferral = last.strip_prefix('d').is_some_and(number);
    let before = parts.next()?;
    (deferral && (number(before) || before == "onboard" || before == "offboard"))
        .then(|| format!("-{before}-{last}"))
}

/// Scheduler works in whole seconds; round up so a follow-up never fires early.
pub fn round_up_to_second(when: DateTime<Utc>) -> DateTime<Utc> {
    let second = TimeDelta::seconds(1);
    when.duration_trunc(second)
        .map(|t| if t < when { t + second } else { t })
        .unwrap_or(when)
}

/// A one-time schedule expression, `at(yyyy-mm-ddThh:mm:ss)`, read in UTC.
pub fn at_expression(when: DateTime<Utc>) -> String {
    format!(
        "at({})",
        round_up_to_second(when).format("%Y-%m-%dT%H:%M:%S")
    )
}

/// Checks an expression against Scheduler's `at()` grammar; the emulator accepts anything.
pub fn is_valid_at_expression(expression: &str) -> bool {
    expression
        .strip_prefix("at(")
        .and_then(|rest| rest.strip_suffix(')'))
        .is_some_and(|t| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").is_ok() && t.len() == 19
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(d: &str) -> DomainName {
        DomainName::parse(d).unwrap()
    }

    #[test]
    fn schedule_names_are_deterministic_and_valid() {
        let name = ScheduleName::for_follow_up(&domain("Example.com"), 1);
        assert_eq!(name.as_str(), "dkim-example.com-1");
        assert_eq!(
            name,
            ScheduleName::for_follow_up(&domain("example.com."), 1)
        );
        assert_ne!(name, ScheduleName::for_follow_up(&domain("example.com"), 2));
        let idn = ScheduleName::for_follow_up(&domain("bücher.de"), 3);
        assert_eq!(idn.as_str(), "dkim-xn--bcher-kva.de-3");
    }

    #[test]
    fn long_domains_are_hashed_into_64_characters() {
        let a = domain(&format!("{}.example.com", "a".repeat(60)));
        let b = domain(&format!("{}.example.com", "a".repeat(61)));
        let (na, nb) = (
            ScheduleName::for_follow_up(&a, 12),
            ScheduleName::for_follow_up(&b, 12),
        );
        for n in [&na, &nb] {
            assert!(n.as_str().len() <= 64, "{}", n.as_str());
            assert!(n.as_str().ends_with("-12"));
            assert!(ScheduleName::parse(n.as_str()).is_ok());
        }
        assert_ne!(na, nb, "same head, different domains, different names");
        assert_eq!(na, ScheduleName::for_follow_up(&a, 12));
    }

    #[test]
    fn a_domains_schedules_are_told_apart_from_its_neighbours() {
        let d = domain("example.com");
        let names: Vec<String> = [
            "dkim-example.com-1",
            "dkim-example.com-12-d3",
            "dkim-example.com-onboard-d1",
            "dkim-example.com-offboard-d2",
            "dkim-example.com-offboarded",
            "dkim-example.com-shop.com-1",
            "dkim-example.com-x",
            "dkim-sub.example.com-1",
            "dkim-reconcile-run-1",
        ]
        .map(String::from)
        .to_vec();
        let owned: Vec<&str> = owned_schedules(&d, &names)
            .into_iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            owned,
            &names[..5].iter().map(String::as_str).collect::<Vec<_>>()[..]
        );
        let long = domain(&format!("{}.example.com", "a".repeat(60)));
        let hashed = vec![
            ScheduleName::for_follow_up(&long, 7).as_str().to_owned(),
            ScheduleName::for_domain(&long, "-7-d2").as_str().to_owned(),
        ];
        assert_eq!(owned_schedules(&long, &hashed).len(), 2);
        assert!(owned_schedules(&d, &hashed).is_empty());
    }

    #[test]
    fn every_schedule_of_a_domain_starts_with_its_listing_prefix() {
        let domains = [
            domain("example.com"),
            domain(&format!("{}.example.com", "a".repeat(30))),
            domain(&format!("{}.example.com", "a".repeat(60))),
            domain(&format!(
                "{}.{}.example.com",
                "b".repeat(63),
                "c".repeat(63)
            )),
        ];
        for d in &domains {
            let prefix = ScheduleName::prefix_for_domain(d);
            // AWS's rule for NamePrefix is the rule for names: 1 to 64 of [0-9A-Za-z_.-].
            assert!(ScheduleName::parse(&prefix).is_ok(), "{prefix}");
            for suffix in [
                "-1",
                "-123-d20",
                "-onboard-d6",
                "-offboard-d20",
                OFFBOARDED_SUFFIX,
                "-4294967295-d4294967295",
            ] {
                let name = ScheduleName::for_domain(d, suffix).as_str().to_owned();
                assert!(name.starts_with(&prefix), "{name} vs {prefix}");
                assert_eq!(owned_schedules(d, std::slice::from_ref(&name)), [&name]);
            }
        }
        assert_eq!(
            ScheduleName::prefix_for_domain(&domains[0]),
            "dkim-example.com-"
        );
        assert_eq!(
            ScheduleName::for_tombstone(&domains[0]).as_str(),
            "dkim-example.com-offboarded"
        );
        // A stranger's name with a long number is not ours, and is read without a panic.
        let odd = format!("dkim-{}-{}", "x".repeat(5), "9".repeat(50));
        assert!(owned_schedules(&domains[2], &[odd]).is_empty());
    }

    #[test]
    fn schedule_name_rules() {
        assert!(ScheduleName::parse("").is_err());
        assert!(ScheduleName::parse(&"a".repeat(65)).is_err());
        assert!(ScheduleName::parse("dkim/example.com").is_err());
        assert!(ScheduleName::parse("dkim example").is_err());
        assert!(ScheduleName::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn at_expressions_round_up_to_the_second() {
        let t = DateTime::parse_from_rfc3339("2026-11-27T04:35:00.250Z")
            .unwrap()
            .to_utc();
        assert_eq!(at_expression(t), "at(2026-11-27T04:35:01)");
        let exact = DateTime::parse_from_rfc3339("2026-11-27T04:35:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(at_expression(exact), "at(2026-11-27T04:35:00)");
        assert!(is_valid_at_expression(&at_expression(t)));
        for bad in [
            "at(2026-11-27 04:35:00)",
            "rate(5 minutes)",
            "at(2026-11-27T04:35)",
            "at(2026-13-27T04:35:00)",
        ] {
            assert!(!is_valid_at_expression(bad), "{bad}");
        }
    }

    #[test]
    fn payload_round_trips_and_rejects_unknown_fields() {
        let follow_up = FollowUp {
            stage: Stage::Verify,
            dns_mode: DnsMode::Route53,
            domain: domain("example.com"),
            hosted_zone_id: Some(HostedZoneId::parse("Z1").unwrap()),
            tenant_id: Some(TenantId::parse("tenant-42").unwrap()),
            attempt: 1,
            restarts: 0,
            onboarding_started_at: DateTime::parse_from_rfc3339("2026-11-27T04:30:00Z")
                .unwrap()
                .to_utc(),
            published_tokens: Some(DkimTokens::parse(&["a1", "b2", "c3"]).unwrap()),
        };
        let input = follow_up.to_input();
        let value: serde_json::Value = serde_json::from_str(&input).unwrap();
        assert_eq!(value["schema"], SCHEMA);
        assert_eq!(value["version"], 1);
        assert_eq!(value["stage"], "verify");
        assert_eq!(value["hostedZoneId"], "Z1");
        assert_eq!(value["tenantId"], "tenant-42");
        assert_eq!(value["onboardingStartedAt"], "2026-11-27T04:30:00Z");
        assert_eq!(value["tokens"], serde_json::json!(["a1", "b2", "c3"]));
        let back: FollowUpPayload = serde_json::from_str(&input).unwrap();
        assert_eq!(back, follow_up.to_payload());
        assert!(serde_json::from_str::<FollowUpPayload>(
            &input.replace("\"attempt\"", "\"attempts\"")
        )
        .is_err());
        assert_eq!(follow_up.next().attempt, 2);
    }

    #[test]
    fn tenant_ids_are_bounded() {
        assert!(TenantId::parse("acme").is_ok());
        assert!(TenantId::parse(" ").is_err());
        assert!(TenantId::parse("a\nb").is_err());
        assert!(TenantId::parse(&"t".repeat(257)).is_err());
    }
}
