//! The MAIL FROM look of a chain: DKIM is verified and SES was asked to use the
//! custom MAIL FROM domain. SES's MAIL FROM status decides, on its own window and
//! bound: `Success` is done (then readiness is judged and told once); `Pending` and
//! `TemporaryFailure` mean SES is still looking, so the records are healed and the
//! chain looks again; `Failed` (or a setting someone cleared) means SES stopped
//! looking, so MAIL FROM is set again, as often as DKIM may be restarted.

use tracing::{info, warn};

use super::steps::chain::{look, Look};
use super::steps::readiness::{conclude, stand, watch_again};
use super::{Context, Response, Stop};
use crate::core::chain::{Chain, FollowUp, MailFromWatch};
use crate::core::identity::{MailFromState, MailFromStatus};
use crate::core::ids::HostedZoneId;
use crate::core::records::DkimTokens;
use crate::core::sending::readiness::{judge_mail_from, MailFromVerdict};

pub async fn check(
    cx: &Context<'_>,
    chain: Chain,
    zone: Option<HostedZoneId>,
    tokens: DkimTokens,
    watch: MailFromWatch,
) -> Result<Response, Stop> {
    let stop = Stop::about(&chain.domain, chain.tenant_id.as_ref());
    let this = FollowUp::AwaitingMailFrom {
        chain: chain.clone(),
        zone: zone.clone(),
        tokens: tokens.clone(),
        mail_from: watch.clone(),
    };
    let ses = &cx.aws.ses;
    // DKIM's state with the tombstone, and MAIL FROM's: one round trip.
    let (looked, states) = tokio::try_join!(
        look(cx, &this),
        ses.mail_from_states(std::slice::from_ref(&chain.domain))
    )
    .map_err(&stop)?;
    if let Look::Ended(response) = looked {
        return Ok(response);
    }
    let Some(setup) = cx.settings.sending.mail_from.as_ref() else {
        // MAIL FROM was turned off since this chain began: nothing left to watch.
        info!(domain = %chain.domain, "MAIL FROM turned off; the chain ends");
        let standing = stand(cx, &chain, zone.as_ref(), false)
            .await
            .map_err(&stop)?;
        return conclude(cx, &chain, zone.as_ref(), &standing, None, None)
            .await
            .map_err(&stop);
    };
    let ours = setup.domain_for(&chain.domain);
    let status = match states.into_iter().next().map(|(_, state)| state) {
        Some(MailFromState::Set { domain, status }) if domain == ours => Some(status),
        Some(MailFromState::Set { domain, .. }) => {
            warn!(domain = %chain.domain, mail_from = %domain, wanted = %ours, "MAIL FROM domain was changed by someone else; set again");
            None
        }
        _ => None,
    };
    let verdict = judge_mail_from(
        &cx.settings.policy,
        status.unwrap_or(MailFromStatus::Failed),
        watch.set_at,
        watch.look(chain.attempt),
        watch.sets_again,
        cx.now,
    );
    info!(domain = %chain.domain, attempt = chain.attempt, mail_from_status = status.map(|s| s.as_str()), verdict = ?verdict, "MAIL FROM check");
    let zone = zone.as_ref();
    match verdict {
        MailFromVerdict::Done | MailFromVerdict::GiveUp { .. } => {
            if let MailFromVerdict::GiveUp { reason } = &verdict {
                warn!(domain = %chain.domain, %reason, "MAIL FROM given up");
            }
            // A chain that gives up says again what stands in the way.
            let report = verdict != MailFromVerdict::Done;
            let standing = stand(cx, &chain, zone, report).await.map_err(&stop)?;
            conclude(cx, &chain, zone, &standing, status, None)
                .await
                .map_err(&stop)
        }
        MailFromVerdict::KeepWaiting { next_check_at }
        | MailFromVerdict::SetAgain { next_check_at } => {
            let set_again = matches!(verdict, MailFromVerdict::SetAgain { .. });
            let standing = stand(cx, &chain, zone, set_again).await.map_err(&stop)?;
            if set_again {
                // Someone else's MX may stand there by now: never point SES at it.
                if !standing.plan.mail_from_usable() {
                    return conclude(cx, &chain, zone, &standing, status, None)
                        .await
                        .map_err(&stop);
                }
                ses.set_mail_from_domain(&chain.domain, Some(setup))
                    .await
                    .map_err(&stop)?;
            }
            let watch = MailFromWatch {
                sets_again: watch.sets_again + u32::from(set_again),
                ..watch
            };
            let (next, written) = (chain.next(), standing.written);
            watch_again(
                cx,
                next,
                zone,
                &tokens,
                watch,
                next_check_at,
                written,
                status,
            )
            .await
            .map_err(&stop)
        }
    }
}
