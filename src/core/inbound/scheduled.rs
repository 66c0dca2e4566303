//! Payloads this function's own schedules carry back: a follow-up check, deferred
//! work, a reconcile page, an offboarding's expired tombstone. `core::schedule` reads
//! them (every version a release wrote); this says what each asks the function to do.

use serde_json::Value;

use super::Invocation;
use crate::core::rejection::Rejection;
use crate::core::schedule::{parse, Scheduled};

pub(super) fn parse_scheduled(value: Value) -> Result<Invocation, Rejection> {
    Ok(match parse(value)? {
        Scheduled::FollowUp(follow_up) => Invocation::FollowUp(follow_up),
        Scheduled::Deferred(deferred) => Invocation::Deferred(deferred),
        Scheduled::Reconcile(run) => Invocation::Reconcile(run),
        // Its chains are over: the tombstone fires once, as a no-op, and is deleted.
        Scheduled::Tombstone(t) => Invocation::Ignore {
            reason: format!(
                "the offboarding tombstone of {} (offboarded at {}) has expired",
                t.domain,
                t.offboarded_at.to_rfc3339()
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::core::rejection::RejectReason;
    use serde_json::json;

    #[test]
    fn an_expired_tombstone_is_a_no_op_and_a_bad_one_is_refused() {
        let tombstone = json!({"schema": "dkim-autopilot/tombstone", "version": 1,
            "domain": "example.com", "offboardedAt": "2026-11-28T10:00:00Z"});
        assert!(matches!(
            parse_invocation(&tombstone.to_string()).unwrap(),
            Invocation::Ignore { reason } if reason.contains("example.com")
        ));
        let mut v2 = tombstone.clone();
        v2["version"] = json!(2);
        assert!(rejected(&v2.to_string())
            .to_string()
            .contains("reads version 1"));
        let mut no_time = tombstone;
        no_time.as_object_mut().unwrap().remove("offboardedAt");
        assert!(rejected(&no_time.to_string())
            .to_string()
            .contains("malformed"));
    }

    #[test]
    fn external_follow_ups_carry_no_zone_and_the_handed_over_tokens() {
        use crate::core::chain::FollowUp;
        let external = json!({
            "schema": "dkim-autopilot/follow-up", "version": 1, "stage": "verify",
            "domain": "example.com", "attempt": 1, "restarts": 0, "dnsMode": "external",
            "onboardingStartedAt": "2026-11-27T04:30:00Z", "tokens": ["a", "b", "c"]
        });
        let Invocation::FollowUp(f) = parse_invocation(&external.to_string()).unwrap() else {
            panic!("expected a follow-up")
        };
        assert!(matches!(f, FollowUp::HandedOver { .. }), "{f:?}");
        assert!(f.hosted_zone_id().is_none());
        assert_eq!(
            parse_invocation(&f.to_input()).unwrap(),
            Invocation::FollowUp(f)
        );
        for (field, value, expected) in [
            ("hostedZoneId", json!("Z1"), "no hostedZoneId"),
            ("tokens", json!([]), "handed-over tokens"),
            ("stage", json!("awaitZone"), "needs stage"),
            ("dnsMode", json!("auto"), "is \"auto\""),
            ("dnsMode", json!("bind"), "malformed"),
        ] {
            let mut bad = external.clone();
            bad[field] = value;
            let text = rejected(&bad.to_string()).to_string();
            assert!(
                text.contains(expected),
                "{field}: {expected:?} not in {text:?}"
            );
        }
        // A Route 53 chain's payload is unchanged: no dnsMode written.
        let route53 = include_str!("../../../tests/fixtures/payloads/follow-up-v1-verify.json");
        let Invocation::FollowUp(f) = parse_invocation(route53).unwrap() else {
            panic!("expected a follow-up")
        };
        assert!(matches!(f, FollowUp::Published { .. }), "{f:?}");
        assert!(!f.to_input().contains("dnsMode"));
    }

    #[test]
    fn follow_up_round_trips_and_is_validated() {
        let payload = json!({
            "schema": "dkim-autopilot/follow-up", "version": 1, "stage": "verify", "domain": "example.com",
            "hostedZoneId": "Z1", "attempt": 2, "restarts": 0,
            "onboardingStartedAt": "2026-11-27T04:30:00Z", "tokens": ["a", "b", "c"]
        });
        let Invocation::FollowUp(f) = parse_invocation(&payload.to_string()).unwrap() else {
            panic!("expected a follow-up")
        };
        assert_eq!(f.chain().attempt, 2);
        assert_eq!(
            parse_invocation(&f.to_input()).unwrap(),
            Invocation::FollowUp(f)
        );

        let mut v2 = payload.clone();
        v2["version"] = json!(2);
        assert!(rejected(&v2.to_string())
            .to_string()
            .contains("reads version 1"));
        let mut no_tokens = payload.clone();
        no_tokens["tokens"] = json!([]);
        assert!(rejected(&no_tokens.to_string())
            .to_string()
            .contains("needs hostedZoneId"));
        let mut bad_domain = payload;
        bad_domain["domain"] = json!("*.example.com");
        let r = rejected(&bad_domain.to_string());
        assert!(matches!(r.reason, RejectReason::Domain(_)));
    }

    /// Payloads earlier releases wrote into schedules must still be read.

    #[test]
    fn deferred_payloads_are_checked_like_the_work_they_carry() {
        let onboard = include_str!("../../../tests/fixtures/payloads/deferred-v1-onboard.json");
        let cases = [
            (
                onboard.replace("\"version\":1", "\"version\":2"),
                "reads version 1",
            ),
            (
                onboard.replace("mail.acme-tenant.com", "co.uk"),
                "public suffix",
            ),
            (
                onboard.replace("\"kind\":\"onboard\"", "\"kind\":\"reconcile\""),
                "malformed",
            ),
            (
                onboard.replace("\"deferrals\":1", "\"deferrals\":-1"),
                "malformed",
            ),
            (
                onboard.replace(
                    "\"trigger\":\"custom\",\"source\":\"com.example.saas\",",
                    "\"trigger\":\"custom\",",
                ),
                "work.source",
            ),
            (
                onboard.replace("dkim-autopilot/deferred", "dkim-autopilot/deferal"),
                "reads \"dkim-autopilot/follow-up\", \"dkim-autopilot/deferred\",",
            ),
            (
                include_str!("../../../tests/fixtures/payloads/deferred-v1-follow-up.json")
                    .replace("\"attempt\":1", "\"attempt\":0"),
                "at least 1",
            ),
        ];
        for (raw, expected) in cases {
            let text = rejected(&raw).to_string();
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        }
    }
}
