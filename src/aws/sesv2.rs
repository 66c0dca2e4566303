//! Amazon SES (v2 API): how SES signs for an identity. `VerifyDomainDkim` (v1) stays
//! the call that asks for tokens; v2 names the zone the records point into and the
//! key lengths, which v1 does not report.

use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::types::{
    DkimSigningAttributes, DkimSigningAttributesOrigin, DkimSigningKeyLength, Tag,
};
use chrono::{DateTime, Utc};

use super::error::AwsError;
use super::pacer::Pacer;
use crate::core::identity::{KeyLength, Signing};
use crate::core::ids::DomainName;
use crate::core::key_length::{parse_changed_at, CHANGED_AT_TAG};
use crate::core::pacing::{Budget, PaceSettings};
use crate::core::records::SigningZone;
use crate::core::replicas::{parse_regions_tag, regions_tag_value, REGIONS_TAG};

#[derive(Debug, Clone)]
pub struct SesV2 {
    client: aws_sdk_sesv2::Client,
    /// `GetEmailIdentity` has no batch form: one identity a call, about one a second.
    get_identity_pacer: Pacer,
    put_signing_pacer: Pacer,
    tag_pacer: Pacer,
}

impl SesV2 {
    pub fn new(client: aws_sdk_sesv2::Client, pacing: &PaceSettings) -> Self {
        Self {
            client,
            get_identity_pacer: Pacer::for_budget(pacing, Budget::SesGetEmailIdentity),
            put_signing_pacer: Pacer::for_budget(
                pacing,
                Budget::SesPutEmailIdentityDkimSigningAttributes,
            ),
            tag_pacer: Pacer::for_budget(pacing, Budget::SesTagResource),
        }
    }

    /// `GetEmailIdentity`: how SES signs for `domain`; `None` when SES has no such
    /// identity. A signing zone SES names but this function cannot use as a DNS name
    /// is an unexpected answer (retried), never written.
    pub async fn signing(&self, domain: &DomainName) -> Result<Option<Signing>, AwsError> {
        const OP: &str = "ses:GetEmailIdentity";
        let _turn = self.get_identity_pacer.wait_turn().await;
        let Some(output) = get_email_identity(&self.client, domain).await? else {
            return Ok(None);
        };
        let tag = |key: &str| output.tags().iter().find(|t| t.key() == key);
        let key_changed_at = tag(CHANGED_AT_TAG).and_then(|t| parse_changed_at(t.value()));
        let replica_regions = tag(REGIONS_TAG).and_then(|t| parse_regions_tag(t.value()));
        let Some(dkim) = output.dkim_attributes() else {
            return Ok(Some(Signing {
                key_changed_at,
                replica_regions,
                ..Signing::default()
            }));
        };
        let zone = dkim
            .signing_hosted_zone()
            .filter(|z| !z.is_empty())
            .map(SigningZone::parse)
            .transpose()
            .map_err(|e| AwsError::unexpected(OP, e.to_string()))?;
        Ok(Some(Signing {
            zone,
            current_key_length: dkim.current_signing_key_length().and_then(key_length),
            next_key_length: dkim.next_signing_key_length().and_then(key_length),
            key_changed_at,
            replica_regions,
        }))
    }

    /// `PutEmailIdentityDkimSigningAttributes`: SES's next Easy DKIM key for `domain`
    /// is `length` long (origin `AWS_SES`). Returns the tokens SES answers with.
    pub async fn set_next_key_length(
        &self,
        domain: &DomainName,
        length: KeyLength,
    ) -> Result<Vec<String>, AwsError> {
        const OP: &str = "ses:PutEmailIdentityDkimSigningAttributes";
        let attributes = DkimSigningAttributes::builder()
            .next_signing_key_length(match length {
                KeyLength::Rsa1024 => DkimSigningKeyLength::Rsa1024Bit,
                KeyLength::Rsa2048 => DkimSigningKeyLength::Rsa2048Bit,
            })
            .build();
        let _turn = self.put_signing_pacer.wait_turn().await;
        let output = self
            .client
            .put_email_identity_dkim_signing_attributes()
            .email_identity(domain.as_str())
            .signing_attributes_origin(DkimSigningAttributesOrigin::AwsSes)
            .signing_attributes(attributes)
            .send()
            .await
            .map_err(|err| AwsError::from_sdk(OP, err))?;
        Ok(output.dkim_tokens().to_vec())
    }

    /// `TagResource`: remember on the identity (`identity_arn`) when this function
    /// changed its key length.
    pub async fn mark_key_changed(
        &self,
        identity_arn: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        self.tag(identity_arn, CHANGED_AT_TAG, at.to_rfc3339())
            .await
    }

    /// `TagResource`: remember on the parent identity the replica Regions its
    /// onboarding chose, for the reconcile.
    pub async fn mark_replica_regions(
        &self,
        identity_arn: &str,
        regions: &[String],
    ) -> Result<(), AwsError> {
        self.tag(identity_arn, REGIONS_TAG, regions_tag_value(regions))
            .await
    }

    async fn tag(&self, identity_arn: &str, key: &str, value: String) -> Result<(), AwsError> {
        const OP: &str = "ses:TagResource";
        let tag = Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(|e| AwsError::invalid_input(OP, e))?;
        let _turn = self.tag_pacer.wait_turn().await;
        self.client
            .tag_resource()
            .resource_arn(identity_arn)
            .tags(tag)
            .send()
            .await
            .map_err(|err| AwsError::from_sdk(OP, err))?;
        Ok(())
    }
}

/// `GetEmailIdentity` on `client`'s Region, unpaced; `None` when SES has no such identity.
pub(super) async fn get_email_identity(
    client: &aws_sdk_sesv2::Client,
    domain: &DomainName,
) -> Result<Option<GetEmailIdentityOutput>, AwsError> {
    match client
        .get_email_identity()
        .email_identity(domain.as_str())
        .send()
        .await
    {
        Ok(output) => Ok(Some(output)),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(AwsError::from_sdk("ses:GetEmailIdentity", err)),
    }
}

fn key_length(length: &DkimSigningKeyLength) -> Option<KeyLength> {
    match length {
        DkimSigningKeyLength::Rsa1024Bit => Some(KeyLength::Rsa1024),
        DkimSigningKeyLength::Rsa2048Bit => Some(KeyLength::Rsa2048),
        _ => None,
    }
}
