//! Amazon SES (v2 API) in each replica Region (`SES_REPLICA_REGIONS`): one client per
//! Region, each with pacers of its own, because SES's limits are per Region. Creates,
//! reads and deletes DEED replicas; no decisions are made here.

use aws_sdk_sesv2::types::{
    DkimSigningAttributes, DkimSigningAttributesOrigin, DkimStatus as SesDkimStatus, IdentityType,
};

use super::error::AwsError;
use super::pacer::Pacer;
use super::sesv2::get_email_identity;
use crate::core::identity::DkimStatus;
use crate::core::ids::DomainName;
use crate::core::pacing::{Budget, PaceSettings};

/// SES in one replica Region.
#[derive(Debug, Clone)]
pub struct Replica {
    pub region: String,
    client: aws_sdk_sesv2::Client,
    create_pacer: Pacer,
    get_pacer: Pacer,
    delete_pacer: Pacer,
    list_pacer: Pacer,
}

/// What `CreateEmailIdentity` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// Made now, with the DKIM status SES answered (`None`: the answer did not say).
    Made(Option<DkimStatus>),
    /// One was there already.
    AlreadyThere,
}

/// Every configured replica Region, in the order the setting lists them.
#[derive(Debug, Clone, Default)]
pub struct Replicas(Vec<Replica>);

impl Replicas {
    /// One client per Region, from the parent Region's SES v2 client (same endpoint,
    /// credentials and interceptors; only the Region differs).
    pub fn new<'a>(
        parent: &aws_sdk_sesv2::Client,
        regions: impl Iterator<Item = &'a str>,
        pacing: &PaceSettings,
    ) -> Self {
        let pacer = || Pacer::for_budget(pacing, Budget::SesReplicaIdentity);
        Self(
            regions
                .map(|region| Replica {
                    region: region.to_owned(),
                    client: aws_sdk_sesv2::Client::from_conf(
                        parent
                            .config()
                            .to_builder()
                            .region(aws_sdk_sesv2::config::Region::new(region.to_owned()))
                            .build(),
                    ),
                    create_pacer: pacer(),
                    get_pacer: pacer(),
                    delete_pacer: pacer(),
                    list_pacer: pacer(),
                })
                .collect(),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = &Replica> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The configured Regions among `regions` (a deferral's, or a narrowed event's).
    pub fn among<'a>(&'a self, regions: &'a [String]) -> impl Iterator<Item = &'a Replica> {
        self.0.iter().filter(|r| regions.contains(&r.region))
    }
}

impl Replica {
    /// `GetEmailIdentity` here: the replica's DKIM status; `None` when this Region has
    /// no identity for `domain`.
    pub async fn status(&self, domain: &DomainName) -> Result<Option<DkimStatus>, AwsError> {
        let _turn = self.get_pacer.wait_turn().await;
        let Some(output) = get_email_identity(&self.client, domain).await? else {
            return Ok(None);
        };
        let status = output
            .dkim_attributes()
            .and_then(|d| d.status())
            .map(dkim_status)
            .unwrap_or(DkimStatus::NotStarted);
        Ok(Some(status))
    }

    /// `CreateEmailIdentity` here, signing as the parent (`origin`, `AWS_SES_<PARENT>`).
    /// SES answers with the new identity's DKIM attributes, so its status needs no
    /// second read. An identity already there counts as done: a redelivery, or a
    /// replica someone else made; its own status tells the rest.
    pub async fn create(&self, domain: &DomainName, origin: &str) -> Result<Created, AwsError> {
        const OP: &str = "ses:CreateEmailIdentity";
        let attributes = DkimSigningAttributes::builder()
            .domain_signing_attributes_origin(DkimSigningAttributesOrigin::from(origin))
            .build();
        let _turn = self.create_pacer.wait_turn().await;
        match self
            .client
            .create_email_identity()
            .email_identity(domain.as_str())
            .dkim_signing_attributes(attributes)
            .send()
            .await
        {
            Ok(output) => Ok(Created::Made(
                output
                    .dkim_attributes()
                    .and_then(|d| d.status())
                    .map(dkim_status),
            )),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_already_exists_exception()) =>
            {
                Ok(Created::AlreadyThere)
            }
            Err(err) => Err(AwsError::from_sdk(OP, err)),
        }
    }

    /// `DeleteEmailIdentity` here; `false` when there was none (already deleted).
    pub async fn delete(&self, domain: &DomainName) -> Result<bool, AwsError> {
        const OP: &str = "ses:DeleteEmailIdentity";
        let _turn = self.delete_pacer.wait_turn().await;
        match self
            .client
            .delete_email_identity()
            .email_identity(domain.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(AwsError::from_sdk(OP, err)),
        }
    }

    /// `ListEmailIdentities` here, every page: the domain identities (not addresses).
    pub async fn domains(&self) -> Result<Vec<String>, AwsError> {
        const OP: &str = "ses:ListEmailIdentities";
        let mut names = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let _turn = self.list_pacer.wait_turn().await;
            let output = self
                .client
                .list_email_identities()
                .page_size(1000)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|err| AwsError::from_sdk(OP, err))?;
            names.extend(
                output
                    .email_identities()
                    .iter()
                    .filter(|i| i.identity_type() == Some(&IdentityType::Domain))
                    .filter_map(|i| i.identity_name().map(str::to_owned)),
            );
            match output.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(names),
            }
        }
    }
}

fn dkim_status(status: &SesDkimStatus) -> DkimStatus {
    match status {
        SesDkimStatus::Success => DkimStatus::Success,
        SesDkimStatus::Pending => DkimStatus::Pending,
        SesDkimStatus::Failed => DkimStatus::Failed,
        SesDkimStatus::TemporaryFailure => DkimStatus::TemporaryFailure,
        _ => DkimStatus::NotStarted,
    }
}
