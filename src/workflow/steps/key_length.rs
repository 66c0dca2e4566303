//! Easy DKIM key length: move a verified identity's next key to `DKIM_KEY_LENGTH`,
//! at most once a day, remember the change on the identity, and tell subscribers.
//! Shared by verification (both chains' conclusion) and the reconcile.

use tracing::{info, warn};

use super::super::Context;
use super::outcomes::send;
use super::records::{self, wanted};
use super::signing;
use crate::aws::AwsError;
use crate::core::identity::{KeyLength, Signing};
use crate::core::ids::{DomainName, HostedZoneId};
use crate::core::key_length::{decide, identity_arn, KeyDecision};
use crate::core::outcome::key_upgraded;
use crate::core::records::{DkimTokens, RecordRepair};

/// What became of one identity's key length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Nothing to do (`keep`, already the configured length, or SES reports none).
    Left,
    /// A change is due but this function made one less than a day ago.
    Waiting,
    /// SES refused the change (logged); the next reconcile asks again.
    Refused,
    /// SES's next key now has length `to`.
    Changed { from: KeyLength, to: KeyLength },
}

/// Where the identity is, as the caller knows it.
pub struct Identity<'a> {
    pub domain: &'a DomainName,
    pub tenant: Option<&'a str>,
    /// The Route 53 zone its records are in; `None` for a handed-over domain.
    pub zone: Option<&'a HostedZoneId>,
    pub tokens: &'a DkimTokens,
}

/// Bring `identity`'s next key length to the setting, as `signing` (read just now)
/// says it stands. A transient failure of the change itself is the caller's to defer.
pub async fn align(
    cx: &Context<'_>,
    identity: Identity<'_>,
    signing: &Signing,
) -> Result<KeyOutcome, AwsError> {
    let domain = identity.domain;
    let (from, to) = match decide(cx.settings.key_length, signing, cx.now) {
        KeyDecision::Leave | KeyDecision::Unknown => return Ok(KeyOutcome::Left),
        KeyDecision::TooSoon { until } => {
            info!(%domain, %until, "key length changed less than a day ago; SES allows one change a day");
            return Ok(KeyOutcome::Waiting);
        }
        KeyDecision::Change { from, to } => (from, to),
    };
    let answered = match cx.aws.sesv2.set_next_key_length(domain, to).await {
        Ok(tokens) => tokens,
        Err(err) if err.transient => return Err(err),
        Err(err) => {
            warn!(%domain, error = %err, to = to.as_str(), "SES refused to change the key length");
            return Ok(KeyOutcome::Refused);
        }
    };
    remember(cx, domain).await;
    info!(%domain, from = from.as_str(), to = to.as_str(), "next DKIM key length changed");
    // SES answers with the identity's tokens; should they differ, and the zone with
    // them, the new records are written beside the old (SES may sign with the old key
    // until it rotates, so they stay).
    let fresh = DkimTokens::parse(&answered).ok();
    let after = signing::read(cx, domain).await?.unwrap_or_default();
    let changed = fresh.as_ref().filter(|fresh| *fresh != identity.tokens);
    if let (Some(zone), Some(tokens)) = (identity.zone, changed) {
        write_new_records(cx, zone, domain, tokens, &after).await?;
    }
    let tokens = changed.unwrap_or(identity.tokens);
    let event = key_upgraded(
        domain,
        identity.tenant,
        identity.zone,
        tokens,
        from,
        &after,
        to,
        cx.now,
    );
    send(cx, &event).await?;
    Ok(KeyOutcome::Changed { from, to })
}

/// Tag the identity with the change's time. Failing that (logged), the next key
/// already has the configured length, so no second change follows unless the
/// setting itself changes within the day.
async fn remember(cx: &Context<'_>, domain: &DomainName) {
    let ses_region = cx.settings.ses_region.as_deref();
    let Some(arn) = identity_arn(cx.function_arn, ses_region, domain.as_str()) else {
        warn!(%domain, function_arn = cx.function_arn, "no identity ARN from the function's ARN; the key length change is not remembered");
        return;
    };
    if let Err(err) = cx.aws.sesv2.mark_key_changed(&arn, cx.now).await {
        warn!(%domain, error = %err, "could not tag the identity with its key length change");
    }
}

async fn write_new_records(
    cx: &Context<'_>,
    zone: &HostedZoneId,
    domain: &DomainName,
    tokens: &DkimTokens,
    signing: &Signing,
) -> Result<(), AwsError> {
    let existing = records::read(cx, zone, domain).await?;
    let upserts = wanted(cx, domain, tokens, signing.zone.as_ref())
        .into_iter()
        .filter(|r| !existing.contains(r))
        .collect();
    let repair = RecordRepair {
        upserts,
        ..RecordRepair::default()
    };
    info!(%domain, records = ?records::names(&repair.upserts), "SES gave new tokens with the key length change; writing their records");
    records::apply(
        cx,
        zone,
        &repair,
        "Easy DKIM records after a key length change",
    )
    .await
}
