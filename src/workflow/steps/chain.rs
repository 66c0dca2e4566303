//! Steps every look of a follow-up chain shares, whatever became of its records: the
//! first move (SES's state, with the offboarding tombstone read alongside it), the end
//! of a chain an offboarding overtook, and the outcome of a chain that is done.

use tracing::{info, warn};

use super::super::{Context, Response};
use super::key_length;
use super::outcomes::send;
use super::readiness::after_verified;
use super::records::{self, names};
use super::replicas;
use super::schedules;
use super::signing;
use super::zones::opted_out_tag;
use crate::aws::AwsError;
use crate::core::chain::{Chain, FollowUp};
use crate::core::identity::DkimState;
use crate::core::ids::{DomainName, HostedZoneId};
use crate::core::outcome::{timed_out, verification_failed, verified, Reason};
use crate::core::policy::Conclusion;
use crate::core::records::{plan_removal, DkimTokens, RecordRemoval, RecordRepair, SigningZone};
use crate::core::schedule::{parse_input, ScheduleName, Scheduled};
use crate::core::tombstone::Tombstone;

/// What a look found first.
pub enum Look {
    /// The domain was offboarded after the chain began: the chain ended here.
    Ended(Response),
    /// SES's state for the domain: the look goes on.
    Current(DkimState),
}

/// SES's state, with the tombstone read at the same time (one round trip). A chain
/// that began before an offboarding ends here and never asks SES for anything more
/// (the later-started wins; see `core::tombstone`).
pub async fn look(cx: &Context<'_>, follow_up: &FollowUp) -> Result<Look, AwsError> {
    let domain = follow_up.domain();
    let (state, tombstone) =
        tokio::try_join!(cx.aws.ses.dkim_state(domain), tombstone(cx, domain))?;
    match tombstone.filter(|t| t.ends(follow_up.chain().onboarding_started_at)) {
        Some(tombstone) => Ok(Look::Ended(
            end(cx, follow_up, &tombstone, Some(&state)).await?,
        )),
        None => Ok(Look::Current(state)),
    }
}

/// A restart of verification: SES is asked for tokens again. They may be the ones the
/// chain published (`false`) or new ones (`true`), whose records must replace the old.
/// Where they must point is asked again too: a new key may live in another zone.
pub async fn verify_again(
    cx: &Context<'_>,
    chain: &Chain,
    published: &DkimTokens,
) -> Result<(DkimTokens, Option<SigningZone>, bool), AwsError> {
    let fresh = cx.aws.ses.verify_domain_dkim(&chain.domain).await?;
    let zone = signing::learn(cx, &chain.domain).await?;
    let changed = &fresh != published;
    Ok((fresh, zone, changed))
}

/// The domain's offboarding tombstone, if any. One this function cannot read is
/// reported and ignored: the chain carries on rather than remove anything on a guess.
pub async fn tombstone(
    cx: &Context<'_>,
    domain: &DomainName,
) -> Result<Option<Tombstone>, AwsError> {
    let name = ScheduleName::for_tombstone(domain);
    let Some(input) = schedules::input_of(cx, &name).await? else {
        return Ok(None);
    };
    match parse_input(&input) {
        Ok(Scheduled::Tombstone(tombstone)) if &tombstone.domain == domain => Ok(Some(tombstone)),
        Ok(Scheduled::Tombstone(tombstone)) => {
            warn!(%domain, schedule = name.as_str(), other = %tombstone.domain, "tombstone names another domain; ignored");
            Ok(None)
        }
        Ok(_) => {
            warn!(%domain, schedule = name.as_str(), problem = "not a tombstone", "unreadable tombstone; ignored");
            Ok(None)
        }
        Err(problem) => {
            warn!(%domain, schedule = name.as_str(), %problem, "unreadable tombstone; ignored");
            Ok(None)
        }
    }
}

/// The domain was offboarded after this chain started: remove what the chain
/// published (the records holding exactly its values, the schedules of work started
/// before the offboarding) and stop. No `VerifyDomainDkim`, no event: the offboarding
/// told the world already. `state`: SES's, when the look read it.
pub async fn end(
    cx: &Context<'_>,
    follow_up: &FollowUp,
    tombstone: &Tombstone,
    state: Option<&DkimState>,
) -> Result<Response, AwsError> {
    let chain = follow_up.chain();
    let domain = &chain.domain;
    let listed = schedules::of_domain(cx, domain).await?;
    let ended = schedules::remove_ended_by(cx, &listed.work, tombstone.offboarded_at).await?;
    let mut records = RecordRemoval::default();
    let mut sending = Vec::new();
    if let Some((zone, tokens)) = follow_up.published() {
        // A newer onboarding is running: SES's current records are its own now.
        let newer = state
            .and_then(|s| s.tokens.as_ref())
            .filter(|_| !ended.kept.is_empty());
        let ours: Vec<_> = tokens
            .iter()
            .filter(|t| newer.is_none_or(|n| !n.contains(t)))
            .collect();
        let existing = match records::read(cx, zone, domain).await {
            Err(err) if err.is_code("NoSuchHostedZone") => Vec::new(),
            other => other?,
        };
        let zones = signing::ours(cx, chain.signing_zone.as_ref());
        records = plan_removal(domain, &ours, &zones, &existing);
        if !records.deletes.is_empty() && opted_out_tag(cx, zone).await? {
            let kept = std::mem::take(&mut records.deletes);
            records.left_alone.extend(kept);
        }
        let removal = RecordRepair::remove(records.deletes.clone());
        records::apply(cx, zone, &removal, "offboarding").await?;
        // The sending records follow the identity's own: ours go, unless a newer
        // onboarding owns them now.
        if cx.settings.sending.is_on() && ended.kept.is_empty() && !opted_out_tag(cx, zone).await? {
            sending = super::sending::remove(cx, zone, domain).await?;
        }
    }
    info!(
        %domain,
        onboarding_started_at = %chain.onboarding_started_at,
        offboarded_at = %tombstone.offboarded_at,
        attempt = chain.attempt,
        schedules = ?ended.removed,
        records = ?names(&records.deletes),
        sending_records = ?sending,
        "follow-up chain ended: the domain was offboarded after it started"
    );
    let mut removed_records = names(&records.deletes);
    removed_records.extend(sending);
    Ok(Response::Removed {
        domain: domain.to_string(),
        removed_schedules: ended.removed,
        removed_records,
        identity_deleted: false,
        removed_replicas: Vec::new(),
        left_alone: names(&records.left_alone),
    })
}

/// A chain that is done: tell the world, and answer. `zone`: `None` when the records
/// were handed over; `published`: the tokens the chain published.
pub async fn conclude(
    cx: &Context<'_>,
    chain: &Chain,
    zone: Option<&HostedZoneId>,
    published: &DkimTokens,
    state: &DkimState,
    conclusion: Conclusion,
) -> Result<Response, AwsError> {
    let domain = chain.domain.to_string();
    let status = state.status;
    match conclusion {
        Conclusion::Verified => {
            let tokens = state.tokens.as_ref().unwrap_or(published);
            // Read at verification: the event says where SES signs and with what key.
            let signing = signing::read(cx, &chain.domain).await?;
            let event = verified(chain, zone, tokens, signing.as_ref(), cx.now);
            send(cx, &event).await?;
            // Verified is when a new identity's key length is first known to be due.
            if let Some(signing) = &signing {
                let identity = key_length::Identity {
                    domain: &chain.domain,
                    tenant: chain.tenant(),
                    zone,
                    tokens,
                };
                key_length::align(cx, identity, signing).await?;
            }
            // The parent is verified: now it can be copied to the replica Regions.
            let narrowed = chain.ses_regions.as_deref();
            let replicas =
                replicas::after_verified(cx, &chain.domain, chain.tenant_id.as_ref(), narrowed)
                    .await?;
            let answer = Response::Verified {
                domain,
                attempt: chain.attempt,
                elapsed_seconds: chain.elapsed_seconds(cx.now),
            };
            after_verified(cx, chain, zone, tokens, answer, replicas).await
        }
        Conclusion::TimedOut => {
            let hours = cx.settings.policy.verification_window.num_hours();
            let reason = format!(
                "SES still reports {} {hours} hours after onboarding started",
                status.as_str()
            );
            let why = Reason::new("VerificationWindowClosed", reason.clone());
            send(
                cx,
                &timed_out(chain, zone, Some(published), Some(status), why, cx.now),
            )
            .await?;
            Ok(Response::TimedOut { domain, reason })
        }
        Conclusion::GiveUp { reason } => {
            let why = Reason::new("RestartsExhausted", reason.clone());
            let event =
                verification_failed(chain, zone, Some(published), Some(status), why, cx.now);
            send(cx, &event).await?;
            Ok(Response::Failed { domain, reason })
        }
    }
}
