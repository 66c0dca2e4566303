//! Amazon Route 53: find public hosted zones, read and write the DKIM CNAMEs.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType, TagResourceType,
};

use super::error::AwsError;
use super::pacer::Pacer;
use crate::core::ids::DomainName;
use crate::core::ids::HostedZoneId;
use crate::core::pacing::{Budget, PaceSettings};
use crate::core::records::{normalise_dns_name, CnameRecord};
use crate::core::sending::{self, RecordSet, RecordType};
use crate::core::zone::HostedZone;

#[derive(Debug, Clone)]
pub struct Route53 {
    client: aws_sdk_route53::Client,
    /// Route 53 allows five requests per second per account, all APIs together.
    pacer: Pacer,
}

impl Route53 {
    pub fn new(client: aws_sdk_route53::Client, pacing: &PaceSettings) -> Self {
        Self {
            client,
            pacer: Pacer::for_budget(pacing, Budget::Route53),
        }
    }

    /// `GetHostedZone`; `None` when no such zone exists.
    pub async fn hosted_zone(&self, id: &HostedZoneId) -> Result<Option<HostedZone>, AwsError> {
        const OP: &str = "route53:GetHostedZone";
        let _turn = self.pacer.wait_turn().await;
        match self.client.get_hosted_zone().id(id.as_str()).send().await {
            Ok(output) => output
                .hosted_zone()
                .map(to_hosted_zone)
                .transpose()
                .map_err(|e| AwsError::unexpected(OP, e)),
            Err(e) => {
                let err = AwsError::from_sdk(OP, e);
                if err.is_code("NoSuchHostedZone") {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// `ListHostedZonesByName` from `name` on, keeping the zones named exactly `name`.
    /// Real Route 53 lists the following names too; the emulator only exact matches.
    pub async fn zones_named(&self, name: &DomainName) -> Result<Vec<HostedZone>, AwsError> {
        const OP: &str = "route53:ListHostedZonesByName";
        let wanted = name.as_str();
        let mut zones = Vec::new();
        let mut start: (String, Option<String>) = (wanted.to_owned(), None);
        loop {
            let _turn = self.pacer.wait_turn().await;
            let output = self
                .client
                .list_hosted_zones_by_name()
                .dns_name(&start.0)
                .set_hosted_zone_id(start.1.clone())
                .max_items(100)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))?;
            for zone in output.hosted_zones() {
                if normalise_dns_name(zone.name()) == wanted {
                    zones.push(to_hosted_zone(zone).map_err(|e| AwsError::unexpected(OP, e))?);
                }
            }
            // Zones come sorted by name: more twins can follow only on the next page.
            match (output.is_truncated(), output.next_dns_name()) {
                (true, Some(next)) if normalise_dns_name(next) == wanted => {
                    start = (
                        next.to_owned(),
                        output.next_hosted_zone_id().map(str::to_owned),
                    );
                }
                _ => return Ok(zones),
            }
        }
    }

    /// Every CNAME under `_domainkey.<domain>`, in one listing: Route 53 sorts names
    /// with their labels reversed, so that subtree is one contiguous run.
    pub async fn dkim_cnames(
        &self,
        zone: &HostedZoneId,
        domain: &DomainName,
    ) -> Result<Vec<CnameRecord>, AwsError> {
        let subtree = format!("._domainkey.{domain}");
        let in_subtree = |name: &str| normalise_dns_name(name).ends_with(&subtree);
        let sets = self
            .list_sets_from(zone, &format!("_domainkey.{domain}"), 100, in_subtree)
            .await?;
        Ok(sets
            .iter()
            .filter(|set| set.r#type() == &RrType::Cname && in_subtree(set.name()))
            .map(|set| CnameRecord {
                name: normalise_dns_name(set.name()),
                value: set
                    .resource_records()
                    .first()
                    .map(|r| normalise_dns_name(r.value()))
                    .unwrap_or_default(),
                ttl: set.ttl().unwrap_or_default(),
            })
            .collect())
    }

    /// The record sets from `start` on, page after page while the next page still
    /// begins at a name `more` wants.
    async fn list_sets_from(
        &self,
        zone: &HostedZoneId,
        start: &str,
        page_size: i32,
        more: impl Fn(&str) -> bool,
    ) -> Result<Vec<ResourceRecordSet>, AwsError> {
        const OP: &str = "route53:ListResourceRecordSets";
        let mut sets = Vec::new();
        let mut from = (start.to_owned(), None::<RrType>);
        loop {
            let _turn = self.pacer.wait_turn().await;
            let output = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone.as_str())
                .start_record_name(&from.0)
                .set_start_record_type(from.1.clone())
                .max_items(page_size)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))?;
            sets.extend(output.resource_record_sets().iter().cloned());
            match (output.is_truncated(), output.next_record_name()) {
                (true, Some(next)) if more(next) => {
                    from = (next.to_owned(), output.next_record_type().cloned());
                }
                _ => return Ok(sets),
            }
        }
    }

    /// One page of `ListHostedZones` from `marker`: the zones and the next page's marker.
    pub async fn zones_page(
        &self,
        marker: Option<&str>,
        max_items: i32,
    ) -> Result<(Vec<HostedZone>, Option<String>), AwsError> {
        const OP: &str = "route53:ListHostedZones";
        let _turn = self.pacer.wait_turn().await;
        let output = self
            .client
            .list_hosted_zones()
            .set_marker(marker.map(str::to_owned))
            .max_items(max_items)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        let zones = output
            .hosted_zones()
            .iter()
            .map(to_hosted_zone)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AwsError::unexpected(OP, e))?;
        let next = output
            .is_truncated()
            .then(|| output.next_marker().map(str::to_owned))
            .flatten();
        Ok((zones, next))
    }

    /// The tags of up to ten hosted zones (Route 53's limit per call), zone by zone.
    pub async fn zone_tags(
        &self,
        zones: &[HostedZoneId],
    ) -> Result<Vec<(HostedZoneId, Vec<(String, String)>)>, AwsError> {
        const OP: &str = "route53:ListTagsForResources";
        let mut tags = Vec::with_capacity(zones.len());
        for chunk in zones.chunks(MAX_TAGGED_RESOURCES_PER_CALL) {
            let _turn = self.pacer.wait_turn().await;
            let output = self
                .client
                .list_tags_for_resources()
                .resource_type(TagResourceType::Hostedzone)
                .set_resource_ids(Some(chunk.iter().map(|z| z.as_str().to_owned()).collect()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))?;
            for set in output.resource_tag_sets() {
                let Some(id) = set
                    .resource_id()
                    .and_then(|id| HostedZoneId::parse(id).ok())
                else {
                    continue;
                };
                let pairs = set
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                tags.push((id, pairs));
            }
        }
        Ok(tags)
    }

    /// One atomic batch: every change applies or none does.
    pub async fn change(
        &self,
        zone: &HostedZoneId,
        changes: &[(RecordChange, &CnameRecord)],
        comment: &str,
    ) -> Result<(), AwsError> {
        let built = changes
            .iter()
            .map(|(action, record)| to_change(*action, record))
            .collect();
        self.send_batch(zone, built, comment).await
    }

    async fn send_batch(
        &self,
        zone: &HostedZoneId,
        built: Result<Vec<Change>, aws_sdk_route53::error::BuildError>,
        comment: &str,
    ) -> Result<(), AwsError> {
        const OP: &str = "route53:ChangeResourceRecordSets";
        let built = built.map_err(|e| AwsError::invalid_input(OP, e))?;
        let batch = ChangeBatch::builder()
            .comment(comment)
            .set_changes(Some(built))
            .build()
            .map_err(|e| AwsError::invalid_input(OP, e))?;
        let _turn = self.pacer.wait_turn().await;
        self.client
            .change_resource_record_sets()
            .hosted_zone_id(zone.as_str())
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }

    /// The CNAME, MX and TXT sets at exactly `name`, as Route 53 holds them: names
    /// lowercase without the trailing dot, values untouched (`10 host.`, `"text"`).
    /// Route 53 lists a name's sets together, so one page from the name holds them.
    pub async fn record_sets_at(
        &self,
        zone: &HostedZoneId,
        name: &str,
    ) -> Result<Vec<RecordSet>, AwsError> {
        let name = normalise_dns_name(name);
        let this_name = |n: &str| normalise_dns_name(n) == name;
        let sets = self.list_sets_from(zone, &name, 20, this_name).await?;
        Ok(sets
            .iter()
            .filter(|set| this_name(set.name()) && set.set_identifier().is_none())
            .filter_map(|set| {
                let record_type = match set.r#type() {
                    RrType::Cname => RecordType::Cname,
                    RrType::Mx => RecordType::Mx,
                    RrType::Txt => RecordType::Txt,
                    _ => return None,
                };
                Some(RecordSet {
                    name: name.clone(),
                    record_type,
                    ttl: set.ttl().unwrap_or_default(),
                    values: set
                        .resource_records()
                        .iter()
                        .map(|r| r.value().to_owned())
                        .collect(),
                })
            })
            .collect())
    }

    /// One atomic batch of whole record sets: `CREATE` fails if the set appeared
    /// meanwhile, `DELETE` if it is no longer exactly as read (`InvalidChangeBatch`).
    pub async fn change_sets(
        &self,
        zone: &HostedZoneId,
        changes: &[sending::Change],
        comment: &str,
    ) -> Result<(), AwsError> {
        let built = changes.iter().map(to_set_change).collect();
        self.send_batch(zone, built, comment).await
    }
}

/// `ListTagsForResources` takes at most ten resource ids.
const MAX_TAGGED_RESOURCES_PER_CALL: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordChange {
    Upsert,
    Delete,
}

fn to_change(
    action: RecordChange,
    record: &CnameRecord,
) -> Result<Change, aws_sdk_route53::error::BuildError> {
    let set = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(RrType::Cname)
        .ttl(record.ttl)
        .resource_records(ResourceRecord::builder().value(&record.value).build()?)
        .build()?;
    Change::builder()
        .action(match action {
            RecordChange::Upsert => ChangeAction::Upsert,
            RecordChange::Delete => ChangeAction::Delete,
        })
        .resource_record_set(set)
        .build()
}

fn to_set_change(change: &sending::Change) -> Result<Change, aws_sdk_route53::error::BuildError> {
    let set = change.set();
    let records = set
        .values
        .iter()
        .map(|value| ResourceRecord::builder().value(value).build())
        .collect::<Result<Vec<_>, _>>()?;
    let built = ResourceRecordSet::builder()
        .name(&set.name)
        .r#type(match set.record_type {
            RecordType::Cname => RrType::Cname,
            RecordType::Mx => RrType::Mx,
            RecordType::Txt => RrType::Txt,
        })
        .ttl(set.ttl)
        .set_resource_records(Some(records))
        .build()?;
    Change::builder()
        .action(match change {
            sending::Change::Create(_) => ChangeAction::Create,
            sending::Change::Delete(_) => ChangeAction::Delete,
        })
        .resource_record_set(built)
        .build()
}

fn to_hosted_zone(zone: &aws_sdk_route53::types::HostedZone) -> Result<HostedZone, String> {
    Ok(HostedZone {
        id: HostedZoneId::parse(zone.id()).map_err(|e| e.to_string())?,
        name: zone.name().to_owned(),
        private: zone.config().is_some_and(|c| c.private_zone()),
    })
}
