//! The names of this function's schedules, and when they fire. Every name is derived
//! from what the schedule carries, so a redelivered invocation meets the schedule its
//! twin made, and a domain's schedules can be found (and told from its neighbours')
//! by name alone.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::core::ids::DomainName;
use crate::core::reconcile::ReconcileRun;
use crate::core::work::Work;

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

/// The instant of an `at(yyyy-mm-ddThh:mm:ss)` expression, read in UTC (as this
/// function writes them: no `ScheduleExpressionTimezone`); `None` for any other shape.
pub fn parse_at_expression(expression: &str) -> Option<DateTime<Utc>> {
    let inner = expression.strip_prefix("at(")?.strip_suffix(')')?;
    chrono::NaiveDateTime::parse_from_str(inner, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
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

impl ScheduleName {
    /// Deferral number `deferral` of `work`. Its own name: the schedule that fired the
    /// work still exists while it runs.
    pub fn for_deferral(work: &Work, deferral: u32) -> Self {
        let (domain, suffix) = match work {
            Work::Onboard { request, .. } => (&request.domain, format!("-onboard-d{deferral}")),
            Work::FollowUp(f) => (f.domain(), format!("-{}-d{deferral}", f.chain().attempt)),
            Work::Offboard { request, .. } => (&request.domain, format!("-offboard-d{deferral}")),
            Work::Replicate { domain, .. } => (domain, format!("-replicate-d{deferral}")),
            Work::Reconcile(run) => return Self::for_reconcile_page(run, &format!("-d{deferral}")),
        };
        Self::for_domain(domain, &suffix)
    }

    /// `dkim-reconcile-<run>-<page><suffix>`: a run's pages and their deferrals.
    pub fn for_reconcile_page(run: &ReconcileRun, suffix: &str) -> Self {
        let tail = format!("-{}{suffix}", run.pages);
        let room = Self::MAX_LEN - "dkim-reconcile-".len() - tail.len();
        let id: String = run
            .run_id
            .as_deref()
            .unwrap_or("run")
            .chars()
            .take(room)
            .collect();
        Self::parse(&format!("dkim-reconcile-{id}{tail}"))
            .expect("run ids use schedule-name characters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::chain::{Chain, FollowUp};
    use crate::core::ids::HostedZoneId;
    use crate::core::records::DkimTokens;
    use crate::core::request::{OffboardRequest, OffboardTrigger, OnboardRequest, Trigger};

    fn domain(d: &str) -> DomainName {
        DomainName::parse(d).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn check(d: &str, attempt: u32) -> Work {
        Work::FollowUp(FollowUp::Published {
            chain: Chain {
                attempt,
                ..Chain::starting(domain(d), None, t("2026-11-28T10:00:00Z"))
            },
            zone: HostedZoneId::parse("Z1").unwrap(),
            tokens: DkimTokens::parse(&["a1", "b2", "c3"]).unwrap(),
        })
    }

    fn onboarding(d: &str) -> Work {
        Work::Onboard {
            request: OnboardRequest {
                dns_mode: None,
                ses_regions: None,
                domain: domain(d),
                hosted_zone_id: None,
                tenant_id: None,
                trigger: Trigger::DomainRegistered,
            },
            started_at: t("2026-11-28T10:00:00Z"),
        }
    }

    fn offboarding(d: &str) -> Work {
        Work::Offboard {
            request: OffboardRequest {
                domain: domain(d),
                hosted_zone_id: None,
                tenant_id: None,
                trigger: OffboardTrigger::DomainDeleted,
            },
            requested_at: t("2026-11-28T10:00:00Z"),
        }
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
        assert_eq!(parse_at_expression(&at_expression(exact)), Some(exact));
        assert_eq!(parse_at_expression("rate(5 minutes)"), None);
        assert_eq!(parse_at_expression("at(2026-11-27 04:35:00)"), None);
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
    fn deferrals_have_names_of_their_own() {
        let onboard = ScheduleName::for_deferral(&onboarding("example.com"), 1);
        assert_eq!(onboard.as_str(), "dkim-example.com-onboard-d1");
        let follow_up = ScheduleName::for_deferral(&check("example.com", 3), 2);
        assert_eq!(follow_up.as_str(), "dkim-example.com-3-d2");
        assert_ne!(
            follow_up,
            ScheduleName::for_follow_up(&domain("example.com"), 3)
        );
        let long = format!("{}.example.com", "a".repeat(60));
        let name = ScheduleName::for_deferral(&check(&long, 12), 6);
        assert!(name.as_str().len() <= 64 && name.as_str().ends_with("-12-d6"));
        let mut run = ReconcileRun::requested(false, Some("run-1"));
        run.pages = 3;
        assert_eq!(
            ScheduleName::for_deferral(&Work::Reconcile(run.clone()), 2).as_str(),
            "dkim-reconcile-run-1-3-d2"
        );
        assert_eq!(
            ScheduleName::for_reconcile_page(&run, "").as_str(),
            "dkim-reconcile-run-1-3"
        );
    }

    #[test]
    fn every_schedule_name_this_function_gives_a_domain_is_found_by_its_listing() {
        for d in [
            "example.com".to_owned(),
            format!("{}.example.com", "a".repeat(60)),
        ] {
            let names: Vec<String> = [
                ScheduleName::for_follow_up(&domain(&d), 12),
                ScheduleName::for_deferral(&check(&d, 3), 6),
                ScheduleName::for_deferral(&onboarding(&d), 20),
                ScheduleName::for_deferral(&offboarding(&d), 20),
                ScheduleName::for_tombstone(&domain(&d)),
            ]
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect();
            let prefix = ScheduleName::prefix_for_domain(&domain(&d));
            assert!(names.iter().all(|n| n.starts_with(&prefix)), "{names:?}");
            assert_eq!(
                owned_schedules(&domain(&d), &names).len(),
                names.len(),
                "{names:?}"
            );
        }
    }
}
