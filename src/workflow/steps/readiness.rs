//! From DKIM-verified to ready to send: the steps a chain takes once SES has verified
//! DKIM, shared by the Route 53 check, the hand-over's check and the MAIL FROM look.
//! With MAIL FROM and DMARC both off none of this runs, and a chain ends at
//! `DKIM Verified` exactly as it always did.

use chrono::{DateTime, Utc};
use serde_json::json;
use tracing::info;

use super::super::{Context, Response};
use super::outcomes::send;
use super::public_dns;
use super::replicas;
use super::schedules;
use super::sending::{self, report_conflicts};
use super::zones::opted_out_tag;
use crate::aws::AwsError;
use crate::core::chain::{Chain, FollowUp, MailFromWatch};
use crate::core::handover::{diagnose_sending, RecordStatus};
use crate::core::identity::MailFromStatus;
use crate::core::ids::HostedZoneId;
use crate::core::outcome::{not_ready_to_send, ready_to_send, Reason, Replicas};
use crate::core::records::DkimTokens;
use crate::core::replicas::ReplicaState;
use crate::core::sending::desired::SendingPlan;
use crate::core::sending::readiness::Readiness;

/// Where the sending records stand after a look healed them (Route 53) or looked them
/// up (hand-over), as `Domain Ready to Send` tells it.
pub struct Standing {
    pub plan: SendingPlan,
    /// Every record holds: in Route 53 ours are there (or were just written); handed
    /// over, public DNS serves each.
    pub records_hold: bool,
    /// What was written this look (`name TYPE`).
    pub written: Vec<String>,
    /// Handed over: records public DNS does not serve as needed.
    pub missing: Vec<String>,
}

/// The sending records of the chain's domain: healed in `zone` (unless its tag now
/// says hands off), or looked up in public DNS when handed over. Conflicts are
/// reported when `report` (once per phase, not at every look).
pub async fn stand(
    cx: &Context<'_>,
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    report: bool,
) -> Result<Standing, AwsError> {
    let domain = &chain.domain;
    let standing = match zone {
        Some(zone) => {
            let plan = sending::observe(cx, zone, domain).await?;
            let healed = match plan.is_empty() || !opted_out_tag(cx, zone).await? {
                true => sending::heal(cx, zone, domain, plan).await?,
                false => {
                    info!(%domain, %zone, "zone opted out since onboarding; sending records not written");
                    return Ok(Standing {
                        records_hold: false,
                        written: Vec::new(),
                        missing: plan.written(),
                        plan,
                    });
                }
            };
            Standing {
                records_hold: healed.plan.records_hold() && healed.left_out.is_empty(),
                written: healed.written,
                missing: healed.left_out,
                plan: healed.plan,
            }
        }
        None => {
            let ((sets, failed), org) = tokio::join!(
                public_dns::sending_sets(cx, domain),
                sending::organisational_dmarc(cx, domain, false)
            );
            let org = org?;
            let setup = &cx.settings.sending;
            let checks = diagnose_sending(setup, domain, &sets, &failed, org.clone());
            let missing: Vec<String> = checks
                .iter()
                .filter(|c| c.status != RecordStatus::Present)
                .map(|c| format!("{} {}", c.name, c.record_type))
                .collect();
            Standing {
                plan: setup.plan(domain, &sets, org),
                records_hold: missing.is_empty(),
                written: Vec::new(),
                missing,
            }
        }
    };
    if report {
        report_conflicts(cx, domain, chain.tenant_id.as_ref(), zone, &standing.plan).await?;
    }
    Ok(standing)
}

/// The chain has just said `DKIM Verified`. With the sending records off that is all
/// (`verified` is the answer). Otherwise the records are healed, and SES is asked to
/// use the MAIL FROM domain when its MX is ours: the chain then watches MAIL FROM.
/// Without MAIL FROM (or with someone else's MX there) readiness is judged at once.
/// `replicas`: each replica Region's state, as verification just left it.
pub async fn after_verified(
    cx: &Context<'_>,
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    tokens: &DkimTokens,
    verified: Response,
    replicas: Vec<ReplicaState>,
) -> Result<Response, AwsError> {
    let setup = &cx.settings.sending;
    if !setup.is_on() {
        return Ok(verified);
    }
    let standing = stand(cx, chain, zone, true).await?;
    let Some(mail_from) = setup
        .mail_from
        .as_ref()
        .filter(|_| standing.plan.mail_from_usable())
    else {
        return conclude(cx, chain, zone, &standing, None, Some(replicas)).await;
    };
    let watch = MailFromWatch {
        set_at: cx.now,
        first_attempt: chain.attempt + 1,
        sets_again: 0,
    };
    let at = cx.now + cx.settings.policy.first_check_delay;
    // The next look is scheduled while SES is told: a redelivery meets both again.
    let ((), answer) = tokio::try_join!(
        cx.aws
            .ses
            .set_mail_from_domain(&chain.domain, Some(mail_from)),
        watch_again(
            cx,
            chain.next(),
            zone,
            tokens,
            watch,
            at,
            standing.written,
            None
        )
    )?;
    Ok(answer)
}

/// Schedule the next MAIL FROM look of `next`.
#[allow(clippy::too_many_arguments)]
pub async fn watch_again(
    cx: &Context<'_>,
    next: Chain,
    zone: Option<&HostedZoneId>,
    tokens: &DkimTokens,
    watch: MailFromWatch,
    at: DateTime<Utc>,
    written: Vec<String>,
    status: Option<MailFromStatus>,
) -> Result<Response, AwsError> {
    let domain = next.domain.to_string();
    let follow_up = FollowUp::AwaitingMailFrom {
        chain: next,
        zone: zone.cloned(),
        tokens: tokens.clone(),
        mail_from: watch,
    };
    let follow_up = schedules::follow_up(cx, &follow_up, at).await?;
    info!(domain, mail_from_status = status.map(|s| s.as_str()), next_check_at = %at, written = ?written, "MAIL FROM watched");
    Ok(Response::AwaitingMailFrom {
        domain,
        mail_from_status: status.map(|s| s.as_str().to_owned()),
        written_records: written,
        follow_up,
    })
}

/// Judge readiness now, and say it: `Domain Ready to Send` when every configured
/// part holds, else `Domain Not Ready to Send` with why. `mail_from`: SES's status,
/// when MAIL FROM is on and was set. Both events tell each replica Region's state:
/// `replicas` when this look has it already, else read now (a MAIL FROM watch ends
/// hours after verification, and a replica may have settled since). Readiness itself
/// is the parent's: a replica still pending does not hold back the parent's Region.
pub async fn conclude(
    cx: &Context<'_>,
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    standing: &Standing,
    mail_from: Option<MailFromStatus>,
    replicas: Option<Vec<ReplicaState>>,
) -> Result<Response, AwsError> {
    let replicas = match replicas {
        Some(known) => known,
        None => replicas::read_own(cx, &chain.domain, chain.ses_regions.as_deref()).await,
    };
    let replicas = Replicas {
        parent_region: replicas::parent_region(cx),
        states: &replicas,
    };
    let plan = &standing.plan;
    let parts = json!({
        "dkim": {"status": "Success"},
        "mailFrom": plan.mail_from_detail(mail_from.map(|s| s.as_str())),
        "dmarc": plan.dmarc_detail(),
    });
    let readiness = Readiness {
        dkim_verified: true,
        mail_from: plan
            .mail_from
            .as_ref()
            .map(|_| mail_from.unwrap_or(MailFromStatus::Failed)),
        dmarc: plan.dmarc.as_ref().map(|p| p.state.clone()),
    };
    let domain = chain.domain.to_string();
    if readiness.is_ready() && standing.records_hold {
        info!(domain, parts = %parts, "domain ready to send");
        let event = ready_to_send(chain, zone, parts.clone(), replicas, cx.now);
        send(cx, &event).await?;
        return Ok(Response::ReadyToSend { domain, parts });
    }
    let reason = why_not(plan, standing, mail_from);
    info!(domain, parts = %parts, reason = %reason.text, "domain not ready to send");
    let event = not_ready_to_send(chain, zone, parts.clone(), reason.clone(), replicas, cx.now);
    send(cx, &event).await?;
    Ok(Response::NotReadyToSend {
        domain,
        reason_code: reason.code.to_owned(),
        reason: reason.text,
        parts,
    })
}

fn why_not(plan: &SendingPlan, standing: &Standing, mail_from: Option<MailFromStatus>) -> Reason {
    let conflicts = plan.conflicts();
    if !conflicts.is_empty() {
        let names: Vec<String> = conflicts
            .iter()
            .map(|c| format!("{} {}", c.name, c.record_type))
            .collect();
        return Reason::new(
            "RecordsConflict",
            format!("records not ours stand in the way: {}", names.join(", ")),
        );
    }
    if !standing.missing.is_empty() {
        return Reason::new(
            "RecordsMissing",
            format!(
                "records not served as needed: {}",
                standing.missing.join(", ")
            ),
        );
    }
    if plan.mail_from.is_some() && mail_from != Some(MailFromStatus::Success) {
        let status = mail_from.map_or("not set", |s| s.as_str());
        return Reason::new(
            "MailFromNotVerified",
            format!("SES reports MAIL FROM {status}"),
        );
    }
    Reason::new(
        "DmarcBelowMinimum",
        "the DMARC record that applies has no p= policy",
    )
}
