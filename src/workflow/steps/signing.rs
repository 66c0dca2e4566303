//! Where a domain's DKIM records point: the zone SES names for the identity (SES v2
//! `SigningHostedZone`), learned once per chain and carried in its payload. Where SES
//! names none, or cannot be asked, the Region table's zone (or `DKIM_RECORD_DOMAIN`)
//! stands in, and that is logged: it is right until the day SES moves a cell.

use tracing::warn;

use super::super::Context;
use crate::aws::AwsError;
use crate::core::identity::Signing;
use crate::core::ids::DomainName;
use crate::core::records::{zone_in_use, CnameRecord, DkimTokens, SigningZone};

/// How SES signs for `domain` now (`GetEmailIdentity`); `None` when it cannot be
/// told: no such identity, or a permanent refusal (logged). A transient failure is
/// the caller's to defer.
pub async fn read(cx: &Context<'_>, domain: &DomainName) -> Result<Option<Signing>, AwsError> {
    match cx.aws.sesv2.signing(domain).await {
        Ok(signing) => Ok(signing),
        Err(err) if err.transient => Err(err),
        Err(err) => {
            warn!(%domain, error = %err, fallback = %cx.settings.dkim_record_domain, "SES v2 could not be asked how it signs; records point where the table says");
            Ok(None)
        }
    }
}

/// The zone SES names for `domain`'s records now; `None` (logged) when it names none.
pub async fn learn(cx: &Context<'_>, domain: &DomainName) -> Result<Option<SigningZone>, AwsError> {
    Ok(learn_all(cx, domain).await?.and_then(|s| s.zone))
}

/// `learn`, keeping the rest of SES's answer (the replica Regions' tag, the key
/// lengths) for a caller that needs it too: one read, not two.
pub async fn learn_all(cx: &Context<'_>, domain: &DomainName) -> Result<Option<Signing>, AwsError> {
    let signing = read(cx, domain).await?;
    if signing.as_ref().and_then(|s| s.zone.as_ref()).is_none() {
        warn!(%domain, fallback = %cx.settings.dkim_record_domain, "SES named no signing zone for the identity; records point where the table says");
    }
    Ok(signing)
}

/// `known`, or learned from SES now when the chain does not know it yet (a chain
/// written before this was read, or one whose earlier look fell back).
pub async fn known_or_learned(
    cx: &Context<'_>,
    domain: &DomainName,
    known: Option<&SigningZone>,
) -> Result<Option<SigningZone>, AwsError> {
    match known {
        Some(zone) => Ok(Some(zone.clone())),
        None => learn(cx, domain).await,
    }
}

/// Where the records point: SES's zone, else the table's.
pub fn target<'a>(cx: &'a Context<'_>, zone: Option<&'a SigningZone>) -> &'a SigningZone {
    zone.unwrap_or(&cx.settings.dkim_record_domain)
}

/// Every zone a record this function wrote may point under: SES's, and the table's
/// for records written before SES named one.
pub fn ours<'a>(cx: &'a Context<'_>, zone: Option<&'a SigningZone>) -> Vec<&'a SigningZone> {
    let table = &cx.settings.dkim_record_domain;
    match zone {
        Some(zone) if zone != table => vec![zone, table],
        _ => vec![table],
    }
}

/// The signing zone of an identity SES has verified, as cheaply as it can be known:
/// what SES v2 already said (`known`, read for something else), else the zone its
/// three records agree on (SES found them there), with no call; else SES is asked
/// (`None`, logged, when it names none). Costs a `GetEmailIdentity` only for a domain
/// whose records need repair anyway.
pub async fn of_verified(
    cx: &Context<'_>,
    domain: &DomainName,
    tokens: &DkimTokens,
    existing: &[CnameRecord],
    known: Option<&Signing>,
) -> Result<Option<SigningZone>, AwsError> {
    if let Some(known) = known {
        return Ok(known
            .zone
            .clone()
            .or_else(|| zone_in_use(domain, tokens, existing)));
    }
    match zone_in_use(domain, tokens, existing) {
        Some(zone) => Ok(Some(zone)),
        None => learn(cx, domain).await,
    }
}
