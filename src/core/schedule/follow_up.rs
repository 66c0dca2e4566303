//! `dkim-autopilot/follow-up` v1: one look of a follow-up chain, as its schedule
//! carries it.
//!
//! The wire form predates the `FollowUp` enum: a `stage`, an optional zone, a token
//! list and an optional `dnsMode`. How they combine:
//!
//! | stage       | dnsMode            | hostedZoneId | tokens | reads as       |
//! |-------------|--------------------|--------------|--------|----------------|
//! | `awaitZone` | absent / `route53` | optional     | any    | `AwaitingZone` |
//! | `verify`    | absent / `route53` | required     | 3      | `Published`    |
//! | `verify`    | `external`         | absent       | 3      | `HandedOver`   |
//! | `mailFrom`  | absent / `route53` | required     | 3      | `AwaitingMailFrom` in Route 53 |
//! | `mailFrom`  | `external`         | absent       | 3      | `AwaitingMailFrom` handed over |
//!
//! `mailFrom` (added with the sending records, still v1: every earlier payload reads
//! as before) also carries `mailFromSetAt`, `mailFromFirstAttempt` and
//! `mailFromSetsAgain`; no other stage may. `signingZone` (added with SES v2, still
//! v1) is the zone SES named for the records, optional wherever tokens are and
//! refused where they are not; a payload without it points where the table says. Anything else is refused. `dnsMode` is written only for a handed-over chain, so
//! payloads written before hand-over existed read as Route 53.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{body, read_names, write, Schema};
use crate::core::chain::{Chain, FollowUp, MailFromWatch};
use crate::core::records::{DkimTokens, SigningZone};
use crate::core::rejection::Rejection;
use crate::core::replicas::check_listed;
use crate::core::request::DnsMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Stage {
    Verify,
    AwaitZone,
    MailFrom,
}

/// The body exactly as serialised, in this field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FollowUpBody {
    stage: Stage,
    domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hosted_zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    attempt: u32,
    #[serde(default)]
    restarts: u32,
    onboarding_started_at: DateTime<Utc>,
    #[serde(default)]
    tokens: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signing_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dns_mode: Option<DnsMode>,
    /// The domain's own replica Regions (`detail.sesRegions`); absent: all configured
    /// (and every payload written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ses_regions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mail_from_set_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mail_from_first_attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mail_from_sets_again: Option<u32>,
}

impl FollowUp {
    /// The schedule's `Input`.
    pub fn to_input(&self) -> String {
        write(Schema::FollowUp, &body_of(self))
    }
}

fn body_of(follow_up: &FollowUp) -> FollowUpBody {
    let chain = follow_up.chain();
    let (stage, dns_mode) = match follow_up {
        FollowUp::AwaitingZone { .. } => (Stage::AwaitZone, None),
        FollowUp::Published { .. } => (Stage::Verify, None),
        FollowUp::HandedOver { .. } => (Stage::Verify, Some(DnsMode::External)),
        FollowUp::AwaitingMailFrom { zone, .. } => {
            (Stage::MailFrom, zone.is_none().then_some(DnsMode::External))
        }
    };
    let watch = match follow_up {
        FollowUp::AwaitingMailFrom { mail_from, .. } => Some(mail_from),
        _ => None,
    };
    FollowUpBody {
        stage,
        domain: chain.domain.to_string(),
        hosted_zone_id: follow_up.hosted_zone_id().map(ToString::to_string),
        tenant_id: chain.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
        attempt: chain.attempt,
        restarts: chain.restarts,
        onboarding_started_at: chain.onboarding_started_at,
        tokens: follow_up
            .tokens()
            .map(DkimTokens::to_strings)
            .unwrap_or_default(),
        signing_zone: chain.signing_zone.as_ref().map(ToString::to_string),
        dns_mode,
        ses_regions: chain.ses_regions.clone(),
        mail_from_set_at: watch.map(|w| w.set_at),
        mail_from_first_attempt: watch.map(|w| w.first_attempt),
        mail_from_sets_again: watch.map(|w| w.sets_again),
    }
}

pub(super) fn read(map: Map<String, Value>) -> Result<FollowUp, Rejection> {
    validate(body(Schema::FollowUp, map)?)
}

fn validate(body: FollowUpBody) -> Result<FollowUp, Rejection> {
    let in_context = |r: Rejection| {
        r.with_domain(body.domain.clone())
            .with_tenant(body.tenant_id.clone())
    };
    let (domain, hosted_zone_id, tenant_id) = read_names(
        &body.domain,
        body.hosted_zone_id.as_deref(),
        body.tenant_id.as_deref(),
        "",
    )?;
    if body.attempt == 0 {
        return Err(in_context(Rejection::invalid_event(
            "attempt",
            "must be at least 1",
        )));
    }
    let tokens = match body.tokens.is_empty() {
        true => None,
        false => Some(
            DkimTokens::parse(&body.tokens)
                .map_err(|e| in_context(Rejection::invalid_event("tokens", e.to_string())))?,
        ),
    };
    let signing_zone = match (&body.signing_zone, &tokens) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(in_context(Rejection::invalid_event(
                "signingZone",
                "belongs with the three tokens whose records point into it",
            )))
        }
        (Some(zone), Some(_)) => Some(
            SigningZone::parse(zone)
                .map_err(|e| in_context(Rejection::invalid_event("signingZone", e.to_string())))?,
        ),
    };
    if let Some(regions) = &body.ses_regions {
        check_listed(regions).map_err(|e| in_context(Rejection::invalid_event("sesRegions", e)))?;
    }
    let chain = Chain {
        domain,
        tenant_id,
        attempt: body.attempt,
        restarts: body.restarts,
        onboarding_started_at: body.onboarding_started_at,
        signing_zone,
        ses_regions: body.ses_regions.clone(),
    };
    let watch = (
        body.mail_from_set_at,
        body.mail_from_first_attempt,
        body.mail_from_sets_again,
    );
    if body.stage != Stage::MailFrom && watch != (None, None, None) {
        return Err(in_context(Rejection::invalid_event(
            "mailFromSetAt",
            "and the other mailFrom fields belong to stage \"mailFrom\" only",
        )));
    }
    match (body.dns_mode.unwrap_or(DnsMode::Route53), body.stage) {
        (DnsMode::Auto, _) => Err(in_context(Rejection::invalid_event(
            "dnsMode",
            "is \"auto\"; a follow-up is \"route53\" or \"external\"",
        ))),
        (mode, Stage::MailFrom) => {
            mail_from_stage(chain, mode, hosted_zone_id, tokens, watch).map_err(in_context)
        }
        (DnsMode::External, Stage::Verify) if hosted_zone_id.is_none() && tokens.is_some() => {
            Ok(FollowUp::HandedOver {
                chain,
                tokens: tokens.expect("checked just above"),
            })
        }
        (DnsMode::External, _) => Err(in_context(Rejection::invalid_event(
            "dnsMode",
            "\"external\" needs stage \"verify\", the three handed-over tokens and no hostedZoneId",
        ))),
        (DnsMode::Route53, Stage::AwaitZone) => Ok(FollowUp::AwaitingZone {
            chain,
            named_zone: hosted_zone_id,
        }),
        (DnsMode::Route53, Stage::Verify) => match (hosted_zone_id, tokens) {
            (Some(zone), Some(tokens)) => Ok(FollowUp::Published {
                chain,
                zone,
                tokens,
            }),
            _ => Err(in_context(Rejection::invalid_event(
                "stage",
                "\"verify\" needs hostedZoneId and the three published tokens",
            ))),
        },
    }
}

type Watch = (Option<DateTime<Utc>>, Option<u32>, Option<u32>);

/// A `mailFrom` look: its three fields, its tokens and where its records are.
fn mail_from_stage(
    chain: Chain,
    mode: DnsMode,
    hosted_zone_id: Option<crate::core::ids::HostedZoneId>,
    tokens: Option<DkimTokens>,
    watch: Watch,
) -> Result<FollowUp, Rejection> {
    let (Some(set_at), Some(first_attempt), sets_again) = watch else {
        return Err(Rejection::invalid_event(
            "mailFromSetAt",
            "and mailFromFirstAttempt are required by stage \"mailFrom\"",
        ));
    };
    if first_attempt == 0 || first_attempt > chain.attempt {
        return Err(Rejection::invalid_event(
            "mailFromFirstAttempt",
            "must be at least 1 and at most attempt",
        ));
    }
    let Some(tokens) = tokens else {
        return Err(Rejection::invalid_event(
            "tokens",
            "stage \"mailFrom\" needs the three published tokens",
        ));
    };
    let zone = match (mode, hosted_zone_id) {
        (DnsMode::Route53, Some(zone)) => Some(zone),
        (DnsMode::External, None) => None,
        _ => {
            return Err(Rejection::invalid_event(
                "dnsMode",
                "stage \"mailFrom\" needs a hostedZoneId (route53) or none (external)",
            ))
        }
    };
    Ok(FollowUp::AwaitingMailFrom {
        chain,
        zone,
        tokens,
        mail_from: MailFromWatch {
            set_at,
            first_attempt,
            sets_again: sets_again.unwrap_or(0),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::{DomainName, HostedZoneId, TenantId};
    use crate::core::schedule::{parse, Scheduled};
    use serde_json::json;

    fn started() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T04:30:00Z")
            .unwrap()
            .to_utc()
    }

    fn chain() -> Chain {
        Chain {
            tenant_id: Some(TenantId::parse("tenant-42").unwrap()),
            ..Chain::starting(DomainName::parse("example.com").unwrap(), None, started())
        }
    }

    fn tokens() -> DkimTokens {
        DkimTokens::parse(&["a1", "b2", "c3"]).unwrap()
    }

    fn read_back(input: &str) -> FollowUp {
        match parse(serde_json::from_str(input).unwrap()).unwrap() {
            Scheduled::FollowUp(f) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_kind_is_written_as_before_and_read_back() {
        let published = FollowUp::Published {
            chain: chain(),
            zone: HostedZoneId::parse("Z1").unwrap(),
            tokens: tokens(),
        };
        assert_eq!(
            published.to_input(),
            r#"{"schema":"dkim-autopilot/follow-up","version":1,"stage":"verify","domain":"example.com","hostedZoneId":"Z1","tenantId":"tenant-42","attempt":1,"restarts":0,"onboardingStartedAt":"2026-11-27T04:30:00Z","tokens":["a1","b2","c3"]}"#
        );
        let handed_over = FollowUp::HandedOver {
            chain: chain(),
            tokens: tokens(),
        };
        let text = handed_over.to_input();
        assert!(
            text.ends_with(r#""tokens":["a1","b2","c3"],"dnsMode":"external"}"#),
            "{text}"
        );
        assert!(!text.contains("hostedZoneId"));
        let awaiting = FollowUp::AwaitingZone {
            chain: chain(),
            named_zone: None,
        };
        assert!(awaiting.to_input().contains(r#""stage":"awaitZone""#));
        for f in [published, handed_over, awaiting] {
            assert_eq!(read_back(&f.to_input()), f);
        }
    }

    #[test]
    fn the_signing_zone_travels_with_the_tokens() {
        let zone = SigningZone::parse("dkim-c2.us-east-1.amazonses.com").unwrap();
        let published = FollowUp::Published {
            chain: chain().signing_in(Some(zone.clone())),
            zone: HostedZoneId::parse("Z1").unwrap(),
            tokens: tokens(),
        };
        let text = published.to_input();
        assert!(
            text.ends_with(
                r#""tokens":["a1","b2","c3"],"signingZone":"dkim-c2.us-east-1.amazonses.com"}"#
            ),
            "{text}"
        );
        assert_eq!(read_back(&text), published);
        let next = match read_back(&text) {
            FollowUp::Published { chain, .. } => chain.next(),
            other => panic!("{other:?}"),
        };
        assert_eq!(next.signing_zone, Some(zone), "each look carries it on");
    }

    #[test]
    fn the_combinations_that_mean_nothing_are_refused() {
        let base = json!({
            "schema": "dkim-autopilot/follow-up", "version": 1, "stage": "verify",
            "domain": "example.com", "hostedZoneId": "Z1", "attempt": 2,
            "onboardingStartedAt": "2026-11-27T04:30:00Z", "tokens": ["a", "b", "c"]
        });
        let refused = |change: &dyn Fn(&mut Value), expected: &str| {
            let mut v = base.clone();
            change(&mut v);
            let text = parse(v).unwrap_err().to_string();
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        };
        refused(&|v| v["tokens"] = json!([]), "needs hostedZoneId");
        refused(
            &|v| {
                v.as_object_mut()
                    .unwrap()
                    .remove("hostedZoneId")
                    .map(drop)
                    .unwrap()
            },
            "needs hostedZoneId",
        );
        refused(&|v| v["attempt"] = json!(0), "at least 1");
        refused(&|v| v["dnsMode"] = json!("auto"), "is \"auto\"");
        refused(&|v| v["dnsMode"] = json!("external"), "no hostedZoneId");
        refused(&|v| v["tokens"] = json!(["a", "a", "c"]), "distinct");
        refused(&|v| v["attempts"] = json!(1), "malformed");
        refused(
            &|v| v["signingZone"] = json!("dkim amazonses"),
            "signingZone",
        );
        refused(
            &|v| {
                v["stage"] = json!("awaitZone");
                v["tokens"] = json!([]);
                v["signingZone"] = json!("dkim.amazonses.com");
            },
            "belongs with the three tokens",
        );
        refused(&|v| v["stage"] = json!("later"), "malformed");
        refused(&|v| v["hostedZoneId"] = json!("Z 1"), "hostedZoneId");
        refused(&|v| v["tenantId"] = json!(" "), "tenantId");
        let mut await_external = base.clone();
        await_external["stage"] = json!("awaitZone");
        await_external["dnsMode"] = json!("external");
        await_external
            .as_object_mut()
            .unwrap()
            .remove("hostedZoneId");
        assert!(parse(await_external)
            .unwrap_err()
            .to_string()
            .contains("stage \"verify\""));
    }

    #[test]
    fn a_mail_from_look_is_written_and_read_back_in_each_mode() {
        let watch = MailFromWatch {
            set_at: started() + chrono::TimeDelta::minutes(20),
            first_attempt: 3,
            sets_again: 1,
        };
        for zone in [Some(HostedZoneId::parse("Z1").unwrap()), None] {
            let look = FollowUp::AwaitingMailFrom {
                chain: Chain {
                    attempt: 4,
                    ..chain()
                },
                zone: zone.clone(),
                tokens: tokens(),
                mail_from: watch.clone(),
            };
            let text = look.to_input();
            assert!(text.contains(r#""stage":"mailFrom""#), "{text}");
            assert!(
                text.contains(r#""mailFromFirstAttempt":3,"mailFromSetsAgain":1"#),
                "{text}"
            );
            assert_eq!(text.contains("dnsMode"), zone.is_none(), "{text}");
            assert_eq!(read_back(&text), look);
        }
        assert_eq!(watch.look(3), 1);
        assert_eq!(watch.look(5), 3);
    }

    #[test]
    fn mail_from_fields_belong_to_the_mail_from_stage_only() {
        let base = json!({"schema": "dkim-autopilot/follow-up", "version": 1,
            "domain": "example.com", "hostedZoneId": "Z1", "attempt": 4,
            "onboardingStartedAt": "2026-11-27T04:30:00Z", "tokens": ["a1", "b2", "c3"]});
        let with = |extra: serde_json::Value| {
            let mut v = base.clone();
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            parse(v).map(|_| ()).map_err(|e| e.to_string())
        };
        let refused = [
            (
                json!({"stage": "verify", "mailFromSetAt": "2026-11-27T05:00:00Z"}),
                "mailFromSetAt",
            ),
            (json!({"stage": "mailFrom"}), "mailFromSetAt"),
            (
                json!({"stage": "mailFrom", "mailFromSetAt": "2026-11-27T05:00:00Z",
                    "mailFromFirstAttempt": 5}),
                "mailFromFirstAttempt",
            ),
            (
                json!({"stage": "mailFrom", "mailFromSetAt": "2026-11-27T05:00:00Z",
                    "mailFromFirstAttempt": 0}),
                "mailFromFirstAttempt",
            ),
            (
                json!({"stage": "mailFrom", "mailFromSetAt": "2026-11-27T05:00:00Z",
                    "mailFromFirstAttempt": 3, "dnsMode": "external"}),
                "dnsMode",
            ),
            (
                json!({"stage": "mailFrom", "mailFromSetAt": "2026-11-27T05:00:00Z",
                    "mailFromFirstAttempt": 3, "tokens": []}),
                "tokens",
            ),
        ];
        for (extra, field) in refused {
            let err = with(extra.clone()).expect_err(&extra.to_string());
            assert!(err.contains(field), "{extra}: {err}");
        }
        assert!(with(
            json!({"stage": "mailFrom", "mailFromSetAt": "2026-11-27T05:00:00Z",
            "mailFromFirstAttempt": 3})
        )
        .is_ok());
    }
}
