//! Hand-over: the domain's DNS is not ours to write. SES gets the identity, the
//! tenant gets the three records (`DKIM Records Required`), and the follow-up
//! watches SES as always; while SES still looks, it looks the records up in public
//! DNS and, now and then, tells the tenant which are missing or wrong
//! (`DKIM Records Pending`). Route 53 is never called.

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use tracing::{info, warn};

use super::publish::{domain_schedules, publish_outcome, schedule, wanted_records};
use super::{Context, Response, Stop};
use crate::aws::AwsError;
use crate::core::domain::DomainName;
use crate::core::follow_up::{FollowUp, Stage};
use crate::core::handover::{count, diagnose, records_report_due, HandedOverRecord, RecordCheck};
use crate::core::outcome::{OutcomeDetail, OutcomeEvent, OutcomeKind};
use crate::core::policy::DkimStatus;
use crate::core::records::{dkim_records, DkimTokens};
use crate::core::request::DnsMode;

/// Create the identity, hand the records over and schedule the first check.
pub(super) async fn hand_over(cx: &Context<'_>, follow_up: FollowUp) -> Result<Response, Stop> {
    let domain = follow_up.domain.clone();
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let stop = |e| Stop::aws(e, &domain, tenant.as_deref());
    let tokens = cx.aws.ses.verify_domain_dkim(&domain).await.map_err(stop)?;
    let follow_up = FollowUp {
        stage: Stage::Verify,
        dns_mode: DnsMode::External,
        hosted_zone_id: None,
        published_tokens: Some(tokens.clone()),
        ..follow_up
    };
    let first_check_at = cx.now + cx.settings.policy.first_check_delay;
    let follow_up_ref = schedule(cx, &follow_up, first_check_at)
        .await
        .map_err(stop)?;
    let records = records_required(cx, &follow_up, &tokens)
        .await
        .map_err(stop)?;
    info!(%domain, tenant_id = tenant.as_deref(), schedule = %follow_up_ref.schedule_name, "DKIM records handed over");
    Ok(Response::HandedOver {
        domain: domain.to_string(),
        records,
        follow_up: follow_up_ref,
    })
}

/// SES is still looking. Its tokens win (someone may have re-verified by hand: then
/// the tenant gets the new records); the records are looked up when a report is due.
pub(super) async fn keep_waiting(
    cx: &Context<'_>,
    follow_up: FollowUp,
    published: DkimTokens,
    ses_tokens: Option<DkimTokens>,
    dkim_status: &str,
    next_check_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let domain = follow_up.domain.clone();
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let stop = |e| Stop::aws(e, &domain, tenant.as_deref());
    let current = ses_tokens.unwrap_or_else(|| published.clone());
    let next = FollowUp {
        published_tokens: Some(current.clone()),
        ..follow_up.next()
    };
    let report_due = records_report_due(follow_up.attempt, follow_up.onboarding_started_at, cx.now);
    let (checks, scheduled) = tokio::join!(
        async {
            match report_due {
                true => look_up(cx, &follow_up, &current).await,
                false => Vec::new(),
            }
        },
        schedule(cx, &next, next_check_at)
    );
    let follow_up_ref = scheduled.map_err(stop)?;
    if current != published {
        records_required(cx, &next, &current).await.map_err(stop)?;
    }
    if report_due {
        records_pending(cx, &follow_up, &current, dkim_status, &checks)
            .await
            .map_err(stop)?;
    }
    Ok(Response::AwaitingRecords {
        domain: domain.to_string(),
        dkim_status: dkim_status.to_owned(),
        reported: report_due,
        checks,
        follow_up: follow_up_ref,
    })
}

/// SES stopped looking: ask again; new tokens mean new records for the tenant.
pub(super) async fn restart(
    cx: &Context<'_>,
    follow_up: FollowUp,
    published: DkimTokens,
    dkim_status: &str,
    next_check_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    let domain = follow_up.domain.clone();
    let tenant = follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned());
    let stop = |e| Stop::aws(e, &domain, tenant.as_deref());
    let fresh = cx.aws.ses.verify_domain_dkim(&domain).await.map_err(stop)?;
    let tokens_changed = fresh != published;
    let next = FollowUp {
        published_tokens: Some(fresh.clone()),
        restarts: follow_up.restarts + 1,
        ..follow_up.next()
    };
    let follow_up_ref = schedule(cx, &next, next_check_at).await.map_err(stop)?;
    if tokens_changed {
        records_required(cx, &next, &fresh).await.map_err(stop)?;
    }
    info!(%domain, restarts = next.restarts, tokens_changed, "DKIM verification restarted (records handed over)");
    Ok(Response::Restarted {
        domain: domain.to_string(),
        dkim_status: dkim_status.to_owned(),
        tokens_changed,
        restored_records: Vec::new(),
        removed_records: Vec::new(),
        follow_up: follow_up_ref,
    })
}

/// Look each record up in public DNS, all three at once, and judge the answers.
async fn look_up(cx: &Context<'_>, follow_up: &FollowUp, tokens: &DkimTokens) -> Vec<RecordCheck> {
    let wanted = wanted_records(cx, follow_up, tokens);
    let answers = join_all(wanted.iter().map(|r| cx.dns.cname(&r.name))).await;
    let checks: Vec<RecordCheck> = wanted
        .iter()
        .zip(&answers)
        .map(|(record, (answer, _))| diagnose(record, answer))
        .collect();
    let slowest_ms = answers
        .iter()
        .map(|(_, took)| took.as_millis())
        .max()
        .unwrap_or(0);
    let counts = count(&checks);
    info!(domain = %follow_up.domain, present = counts.present, missing = counts.missing, wrong_value = counts.wrong_value, could_not_check = counts.could_not_check, slowest_ms, "DKIM records looked up in public DNS");
    checks
}

/// `DKIM Records Required`: the records the tenant must publish for these tokens.
/// A redelivery repeats its `outcomeId` (the tokens are its identity).
async fn records_required(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    tokens: &DkimTokens,
) -> Result<Vec<HandedOverRecord>, AwsError> {
    let records: Vec<HandedOverRecord> = wanted_records(cx, follow_up, tokens)
        .iter()
        .map(HandedOverRecord::from)
        .collect();
    let strings = tokens.to_strings();
    let identity: Vec<&str> = [follow_up.domain.as_str()]
        .into_iter()
        .chain(strings.iter().map(String::as_str))
        .collect();
    let detail = OutcomeDetail {
        records: Some(serde_json::to_value(&records).expect("records serialise")),
        ..detail_of(cx, follow_up, tokens)
    };
    publish_outcome(
        cx,
        &OutcomeEvent::new(OutcomeKind::RecordsRequired, &identity, detail),
    )
    .await?;
    Ok(records)
}

/// `DKIM Records Pending`: where each record stands; one per reporting check.
async fn records_pending(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    tokens: &DkimTokens,
    dkim_status: &str,
    checks: &[RecordCheck],
) -> Result<(), AwsError> {
    let started = follow_up.onboarding_started_at.to_rfc3339();
    let attempt = follow_up.attempt.to_string();
    let detail = OutcomeDetail {
        dkim_status: Some(dkim_status.to_owned()),
        checks: Some(serde_json::to_value(checks).expect("checks serialise")),
        counts: Some(serde_json::to_value(count(checks)).expect("counts serialise")),
        ..detail_of(cx, follow_up, tokens)
    };
    let identity = [
        follow_up.domain.as_str(),
        started.as_str(),
        attempt.as_str(),
    ];
    publish_outcome(
        cx,
        &OutcomeEvent::new(OutcomeKind::RecordsPending, &identity, detail),
    )
    .await
}

fn detail_of(cx: &Context<'_>, follow_up: &FollowUp, tokens: &DkimTokens) -> OutcomeDetail {
    let started = follow_up.onboarding_started_at;
    OutcomeDetail {
        domain: Some(follow_up.domain.to_string()),
        tenant_id: follow_up.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
        tokens: tokens.to_strings(),
        record_names: tokens
            .iter()
            .map(|t| format!("{t}._domainkey.{}", follow_up.domain))
            .collect(),
        attempt: Some(follow_up.attempt),
        restarts: Some(follow_up.restarts),
        onboarding_started_at: Some(started),
        elapsed_seconds: Some((cx.now - started).num_seconds().max(0)),
        ..Default::default()
    }
}

/// The SES identities among `domains` (none in a zone of this account) whose DNS
/// lives elsewhere, so a reconcile must not take them for orphans: a follow-up chain
/// still watches them, or SES verified them and public DNS serves their records. A
/// DNS failure counts as elsewhere: an identity is never deleted on a failed lookup.
/// One `GetIdentityDkimAttributes` per 100 domains; DNS only for verified ones.
pub(super) async fn living_elsewhere(
    cx: &Context<'_>,
    domains: &[DomainName],
) -> Result<Vec<DomainName>, AwsError> {
    if domains.is_empty() {
        return Ok(Vec::new());
    }
    let mut elsewhere = Vec::new();
    for (domain, state) in cx.aws.ses.dkim_states(domains).await? {
        let served = match (state.status, &state.tokens) {
            (DkimStatus::Success, Some(tokens)) => {
                let wanted = dkim_records(
                    &domain,
                    tokens,
                    &cx.settings.dkim_record_domain,
                    cx.settings.dkim_record_ttl,
                );
                let answers = join_all(wanted.iter().map(|r| cx.dns.cname(&r.name))).await;
                let checks: Vec<RecordCheck> = wanted
                    .iter()
                    .zip(&answers)
                    .map(|(record, (answer, _))| diagnose(record, answer))
                    .collect();
                let counts = count(&checks);
                if counts.could_not_check > 0 {
                    warn!(%domain, "could not look its DKIM records up in public DNS; not taken for an orphan this time");
                }
                counts.present == 3 || counts.could_not_check > 0
            }
            _ => !domain_schedules(cx, &domain).await?.is_empty(),
        };
        if served {
            elsewhere.push(domain);
        }
    }
    Ok(elsewhere)
}
