//! Amazon SES (v1 API): Easy DKIM tokens and their verification status.

use aws_sdk_ses::types::VerificationStatus;

use super::error::AwsError;
use super::pacer::Pacer;
use crate::core::domain::DomainName;
use crate::core::pacing::{Budget, PaceSettings};
use crate::core::policy::DkimStatus;
use crate::core::records::DkimTokens;

#[derive(Debug, Clone)]
pub struct Ses {
    client: aws_sdk_ses::Client,
    /// Each SES v1 identity API has its own budget of about one call per second.
    verify_pacer: Pacer,
    attributes_pacer: Pacer,
}

/// What SES currently holds for a domain identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimState {
    pub status: DkimStatus,
    pub tokens: Option<DkimTokens>,
}

impl Ses {
    pub fn new(client: aws_sdk_ses::Client, pacing: &PaceSettings) -> Self {
        Self {
            client,
            verify_pacer: Pacer::for_budget(pacing, Budget::SesVerifyDomainDkim),
            attributes_pacer: Pacer::for_budget(pacing, Budget::SesGetIdentityDkimAttributes),
        }
    }

    /// `VerifyDomainDkim`: creates the identity if needed and returns its three tokens.
    pub async fn verify_domain_dkim(&self, domain: &DomainName) -> Result<DkimTokens, AwsError> {
        const OP: &str = "ses:VerifyDomainDkim";
        self.verify_pacer.wait_turn().await;
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
        const OP: &str = "ses:GetIdentityDkimAttributes";
        self.attributes_pacer.wait_turn().await;
        let output = self
            .client
            .get_identity_dkim_attributes()
            .identities(domain.as_str())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        let Some(attributes) = output.dkim_attributes().get(domain.as_str()) else {
            return Ok(DkimState {
                status: DkimStatus::IdentityMissing,
                tokens: None,
            });
        };
        let status = match attributes.dkim_verification_status() {
            VerificationStatus::Success => DkimStatus::Success,
            VerificationStatus::Pending => DkimStatus::Pending,
            VerificationStatus::Failed => DkimStatus::Failed,
            VerificationStatus::TemporaryFailure => DkimStatus::TemporaryFailure,
            _ => DkimStatus::NotStarted,
        };
        let tokens = DkimTokens::parse(attributes.dkim_tokens()).ok();
        Ok(DkimState { status, tokens })
    }
}
