//! A follow-up chain: the one-time schedules that bring a domain back to this function
//! until SES has verified it, or its window closes. Every look knows whose chain it is,
//! which look it is and when onboarding began; what it has to do depends on where the
//! records went, and each of the three kinds carries exactly what it needs.

use chrono::{DateTime, Utc};

use super::ids::{DomainName, HostedZoneId, TenantId};
use super::records::{DkimTokens, SigningZone};

/// What every look of a chain knows, whatever became of the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub domain: DomainName,
    pub tenant_id: Option<TenantId>,
    /// 1 for the first follow-up, +1 for each one after; 0 is the onboarding itself.
    pub attempt: u32,
    /// How many times verification was restarted with `VerifyDomainDkim`.
    pub restarts: u32,
    /// The window counts from here (earlier than the first look when it was deferred).
    pub onboarding_started_at: DateTime<Utc>,
    /// The zone SES named for the identity's records (SES v2 `SigningHostedZone`),
    /// once a look has learned it; `None` before that, and in chains written before
    /// this was known, whose records point where the Region table says.
    pub signing_zone: Option<SigningZone>,
    /// The replica Regions this domain gets (`detail.sesRegions`), when its event
    /// narrowed `SES_REPLICA_REGIONS`; `None`: all of them.
    pub ses_regions: Option<Vec<String>>,
}

impl Chain {
    /// The chain an onboarding begins: its first look will be attempt 1.
    pub fn starting(
        domain: DomainName,
        tenant_id: Option<TenantId>,
        onboarding_started_at: DateTime<Utc>,
    ) -> Self {
        Self {
            domain,
            tenant_id,
            attempt: 1,
            restarts: 0,
            onboarding_started_at,
            signing_zone: None,
            ses_regions: None,
        }
    }

    /// The same chain, replicated only to these Regions (`None`: all configured).
    pub fn replicated_to(self, ses_regions: Option<Vec<String>>) -> Self {
        Self {
            ses_regions,
            ..self
        }
    }

    /// The same chain, knowing where SES wants the records to point.
    pub fn signing_in(self, signing_zone: Option<SigningZone>) -> Self {
        Self {
            signing_zone,
            ..self
        }
    }

    /// The look after this one.
    pub fn next(&self) -> Self {
        Self {
            attempt: self.attempt + 1,
            ..self.clone()
        }
    }

    /// The look after a restart of verification.
    pub fn restarted(&self) -> Self {
        Self {
            restarts: self.restarts + 1,
            ..self.next()
        }
    }

    /// Seconds from the start of onboarding to `now`, never negative.
    pub fn elapsed_seconds(&self, now: DateTime<Utc>) -> i64 {
        (now - self.onboarding_started_at).num_seconds().max(0)
    }

    pub fn tenant(&self) -> Option<&str> {
        self.tenant_id.as_ref().map(TenantId::as_str)
    }
}

/// One look of a chain, by where the domain's records are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// No public hosted zone held the domain yet (a fresh registration creates its zone
    /// later): look for it again. `named_zone`: the zone the trigger named, if any.
    AwaitingZone {
        chain: Chain,
        named_zone: Option<HostedZoneId>,
    },
    /// The records for `tokens` are in Route 53 zone `zone`: confirm SES found them.
    Published {
        chain: Chain,
        zone: HostedZoneId,
        tokens: DkimTokens,
    },
    /// The records for `tokens` were handed to the tenant: watch SES and public DNS.
    /// Route 53 is never called.
    HandedOver { chain: Chain, tokens: DkimTokens },
    /// DKIM is verified and SES was asked to use the custom MAIL FROM domain: watch
    /// MAIL FROM until SES says Success, healing the records meanwhile. `zone`: where
    /// the records are; `None` when they were handed over.
    AwaitingMailFrom {
        chain: Chain,
        zone: Option<HostedZoneId>,
        tokens: DkimTokens,
        mail_from: MailFromWatch,
    },
}

/// The MAIL FROM part of a chain: it has its own window and its own bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFromWatch {
    /// When SES was first asked to use the MAIL FROM domain: the window counts from here.
    pub set_at: DateTime<Utc>,
    /// The chain's attempt of the first MAIL FROM look; the backoff counts from it.
    pub first_attempt: u32,
    /// How many times it was set again after SES reported `Failed`.
    pub sets_again: u32,
}

impl MailFromWatch {
    /// The MAIL FROM look number of chain attempt `attempt`, from 1.
    pub fn look(&self, attempt: u32) -> u32 {
        attempt.saturating_sub(self.first_attempt) + 1
    }
}

impl FollowUp {
    pub fn chain(&self) -> &Chain {
        match self {
            Self::AwaitingZone { chain, .. }
            | Self::Published { chain, .. }
            | Self::HandedOver { chain, .. }
            | Self::AwaitingMailFrom { chain, .. } => chain,
        }
    }

    pub fn domain(&self) -> &DomainName {
        &self.chain().domain
    }

    /// The zone that holds (or may hold) the records.
    pub fn hosted_zone_id(&self) -> Option<&HostedZoneId> {
        match self {
            Self::AwaitingZone { named_zone, .. } => named_zone.as_ref(),
            Self::Published { zone, .. } => Some(zone),
            Self::HandedOver { .. } => None,
            Self::AwaitingMailFrom { zone, .. } => zone.as_ref(),
        }
    }

    /// The Route 53 zone this chain wrote records into, and their tokens.
    pub fn published(&self) -> Option<(&HostedZoneId, &DkimTokens)> {
        match self {
            Self::Published { zone, tokens, .. } => Some((zone, tokens)),
            Self::AwaitingMailFrom {
                zone: Some(zone),
                tokens,
                ..
            } => Some((zone, tokens)),
            _ => None,
        }
    }

    /// The tokens whose records this chain published or handed over.
    pub fn tokens(&self) -> Option<&DkimTokens> {
        match self {
            Self::AwaitingZone { .. } => None,
            Self::Published { tokens, .. }
            | Self::HandedOver { tokens, .. }
            | Self::AwaitingMailFrom { tokens, .. } => Some(tokens),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_counts_its_looks_and_restarts() {
        let started = DateTime::parse_from_rfc3339("2026-11-27T04:30:00Z")
            .unwrap()
            .to_utc();
        let chain = Chain::starting(DomainName::parse("example.com").unwrap(), None, started);
        assert_eq!((chain.attempt, chain.restarts), (1, 0));
        assert_eq!((chain.next().attempt, chain.next().restarts), (2, 0));
        let restarted = chain.next().restarted();
        assert_eq!((restarted.attempt, restarted.restarts), (3, 1));
        assert_eq!(
            chain.elapsed_seconds(started - chrono::TimeDelta::hours(1)),
            0
        );
        assert_eq!(
            chain.elapsed_seconds(started + chrono::TimeDelta::minutes(5)),
            300
        );
    }
}
