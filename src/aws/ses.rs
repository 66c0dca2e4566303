//! Amazon SES (v1 API): Easy DKIM tokens and their verification status.

use aws_sdk_ses::types::{
    BehaviorOnMxFailure, CustomMailFromStatus, IdentityType, VerificationStatus,
};

use super::error::AwsError;
use super::pacer::Pacer;
use crate::core::identity::{DkimState, DkimStatus, MailFromState, MailFromStatus};
use crate::core::ids::DomainName;
use crate::core::pacing::{Budget, PaceSettings};
use crate::core::records::DkimTokens;
use crate::core::sending::mail_from::{MailFromSetup, MxFailureBehavior};

#[derive(Debug, Clone)]
pub struct Ses {
    client: aws_sdk_ses::Client,
    /// Each SES v1 identity API has its own budget of about one call per second.
    verify_pacer: Pacer,
    attributes_pacer: Pacer,
    list_pacer: Pacer,
    delete_pacer: Pacer,
    set_mail_from_pacer: Pacer,
    mail_from_attributes_pacer: Pacer,
}

/// `GetIdentityDkimAttributes` reads at most 100 identities per call.
pub const MAX_IDENTITIES_PER_ATTRIBUTES_CALL: usize = 100;

impl Ses {
    pub fn new(client: aws_sdk_ses::Client, pacing: &PaceSettings) -> Self {
        Self {
            client,
            verify_pacer: Pacer::for_budget(pacing, Budget::SesVerifyDomainDkim),
            attributes_pacer: Pacer::for_budget(pacing, Budget::SesGetIdentityDkimAttributes),
            list_pacer: Pacer::for_budget(pacing, Budget::SesListIdentities),
            delete_pacer: Pacer::for_budget(pacing, Budget::SesDeleteIdentity),
            set_mail_from_pacer: Pacer::for_budget(pacing, Budget::SesSetIdentityMailFromDomain),
            mail_from_attributes_pacer: Pacer::for_budget(
                pacing,
                Budget::SesGetIdentityMailFromDomainAttributes,
            ),
        }
    }

    /// `VerifyDomainDkim`: creates the identity if needed and returns its three tokens.
    pub async fn verify_domain_dkim(&self, domain: &DomainName) -> Result<DkimTokens, AwsError> {
        const OP: &str = "ses:VerifyDomainDkim";
        let _turn = self.verify_pacer.wait_turn().await;
        let output = self
            .client
            .verify_domain_dkim()
            .domain(domain.as_str())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        DkimTokens::parse(output.dkim_tokens()).map_err(|e| AwsError::unexpected(OP, e.to_string()))
    }

    /// `GetIdentityDkimAttributes` for one domain.
    pub async fn dkim_state(&self, domain: &DomainName) -> Result<DkimState, AwsError> {
        let mut states = self.dkim_states(std::slice::from_ref(domain)).await?;
        Ok(states
            .pop()
            .map(|(_, state)| state)
            .unwrap_or(DkimState::MISSING))
    }

    /// `GetIdentityDkimAttributes` for many domains, 100 per call (SES's limit), in
    /// the order given; a domain SES does not know is `IdentityMissing`.
    pub async fn dkim_states(
        &self,
        domains: &[DomainName],
    ) -> Result<Vec<(DomainName, DkimState)>, AwsError> {
        const OP: &str = "ses:GetIdentityDkimAttributes";
        let mut states = Vec::with_capacity(domains.len());
        for chunk in domains.chunks(MAX_IDENTITIES_PER_ATTRIBUTES_CALL) {
            let _turn = self.attributes_pacer.wait_turn().await;
            let output = self
                .client
                .get_identity_dkim_attributes()
                .set_identities(Some(chunk.iter().map(|d| d.as_str().to_owned()).collect()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))?;
            let attributes = output.dkim_attributes();
            for domain in chunk {
                let state = match attributes.get(domain.as_str()) {
                    None => DkimState::MISSING,
                    Some(a) => DkimState {
                        status: match a.dkim_verification_status() {
                            VerificationStatus::Success => DkimStatus::Success,
                            VerificationStatus::Pending => DkimStatus::Pending,
                            VerificationStatus::Failed => DkimStatus::Failed,
                            VerificationStatus::TemporaryFailure => DkimStatus::TemporaryFailure,
                            _ => DkimStatus::NotStarted,
                        },
                        tokens: DkimTokens::parse(a.dkim_tokens()).ok(),
                    },
                };
                states.push((domain.clone(), state));
            }
        }
        Ok(states)
    }

    /// One page of the account's domain identities (`ListIdentities`).
    pub async fn domain_identities_page(
        &self,
        next_token: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), AwsError> {
        const OP: &str = "ses:ListIdentities";
        let _turn = self.list_pacer.wait_turn().await;
        let output = self
            .client
            .list_identities()
            .identity_type(IdentityType::Domain)
            .max_items(1000)
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok((
            output.identities().to_vec(),
            output.next_token().map(str::to_owned),
        ))
    }

    /// `DeleteIdentity`: SES answers success for an identity it does not have.
    pub async fn delete_identity(&self, domain: &DomainName) -> Result<(), AwsError> {
        const OP: &str = "ses:DeleteIdentity";
        let _turn = self.delete_pacer.wait_turn().await;
        self.client
            .delete_identity()
            .identity(domain.as_str())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }

    /// `SetIdentityMailFromDomain`: `setup` sets `<subdomain>.<domain>` (a new setup,
    /// which SES starts `Pending`); `None` clears it.
    pub async fn set_mail_from_domain(
        &self,
        domain: &DomainName,
        setup: Option<&MailFromSetup>,
    ) -> Result<(), AwsError> {
        const OP: &str = "ses:SetIdentityMailFromDomain";
        let _turn = self.set_mail_from_pacer.wait_turn().await;
        let behavior = setup.map(|s| match s.on_mx_failure {
            MxFailureBehavior::UseDefaultValue => BehaviorOnMxFailure::UseDefaultValue,
            MxFailureBehavior::RejectMessage => BehaviorOnMxFailure::RejectMessage,
        });
        self.client
            .set_identity_mail_from_domain()
            .identity(domain.as_str())
            .set_mail_from_domain(setup.map(|s| s.domain_for(domain)))
            .set_behavior_on_mx_failure(behavior)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }

    /// `GetIdentityMailFromDomainAttributes` for many domains, 100 per call (SES's
    /// limit), in the order given. A domain SES does not know, or one without a
    /// custom MAIL FROM domain, is `NotSet`.
    pub async fn mail_from_states(
        &self,
        domains: &[DomainName],
    ) -> Result<Vec<(DomainName, MailFromState)>, AwsError> {
        const OP: &str = "ses:GetIdentityMailFromDomainAttributes";
        let mut states = Vec::with_capacity(domains.len());
        for chunk in domains.chunks(MAX_IDENTITIES_PER_ATTRIBUTES_CALL) {
            let _turn = self.mail_from_attributes_pacer.wait_turn().await;
            let output = self
                .client
                .get_identity_mail_from_domain_attributes()
                .set_identities(Some(chunk.iter().map(|d| d.as_str().to_owned()).collect()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))?;
            let attributes = output.mail_from_domain_attributes();
            for domain in chunk {
                let state = attributes
                    .get(domain.as_str())
                    .filter(|a| !a.mail_from_domain().is_empty())
                    .map_or(MailFromState::NotSet, |a| MailFromState::Set {
                        domain: a.mail_from_domain().to_ascii_lowercase(),
                        status: match a.mail_from_domain_status() {
                            CustomMailFromStatus::Success => MailFromStatus::Success,
                            CustomMailFromStatus::Failed => MailFromStatus::Failed,
                            CustomMailFromStatus::TemporaryFailure => {
                                MailFromStatus::TemporaryFailure
                            }
                            _ => MailFromStatus::Pending,
                        },
                    });
                states.push((domain.clone(), state));
            }
        }
        Ok(states)
    }
}
