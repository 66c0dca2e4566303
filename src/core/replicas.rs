//! Several SES Regions from one set of records: Deterministic Easy DKIM (DEED).
//!
//! The function's own SES Region holds the parent identity. Once the parent is
//! DKIM-verified, a replica is created in each Region of `SES_REPLICA_REGIONS` with
//! SES v2 `CreateEmailIdentity` and `DomainSigningAttributesOrigin = AWS_SES_<PARENT>`;
//! it signs with the parent's key, so no DNS is written for it. A replica cannot be a
//! parent, and a parent cannot be deleted while replicas remain.
//! Source: https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-deed.html

use super::identity::DkimStatus;

/// The Regions SES names as DEED origins (`DkimSigningAttributesOrigin`, `AWS_SES_<REGION>`,
/// https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_DkimSigningAttributes.html).
/// A Region outside it cannot be a parent or a replica: refused at cold start, by name.
pub const DEED_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-5",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// `SES_REPLICA_REGIONS`: where replicas of every verified parent live; empty means
/// the parent Region only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaRegions {
    /// The parent's Region (`SES_REGION`, or the function's).
    parent: String,
    regions: Vec<String>,
}

impl ReplicaRegions {
    /// A comma-separated list, checked against `parent` (the function's SES Region).
    pub fn parse(text: &str, parent: &str) -> Result<Self, String> {
        let mut regions: Vec<String> = Vec::new();
        for region in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if !DEED_REGIONS.contains(&region) {
                return Err(format!(
                    "names \"{region}\", a Region where SES offers no Deterministic Easy DKIM"
                ));
            }
            if region == parent {
                return Err(format!(
                    "names \"{region}\", the parent Region itself (SES_REGION or the function's)"
                ));
            }
            if regions.iter().any(|r| r == region) {
                return Err(format!("names \"{region}\" twice"));
            }
            regions.push(region.to_owned());
        }
        if !regions.is_empty() && !DEED_REGIONS.contains(&parent) {
            return Err(format!(
                "is set, but the parent Region \"{parent}\" is not one where SES offers Deterministic Easy DKIM"
            ));
        }
        Ok(Self {
            parent: parent.to_owned(),
            regions,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.regions.iter().map(String::as_str)
    }

    /// The parent's Region, where the identity and its records live.
    pub fn parent(&self) -> &str {
        &self.parent
    }
}

/// A list of Regions as an event or payload names them: DEED Regions, each once (the
/// list may be empty: no replica for this domain).
pub fn check_listed(regions: &[String]) -> Result<(), String> {
    for (i, region) in regions.iter().enumerate() {
        if !DEED_REGIONS.contains(&region.as_str()) {
            return Err(format!(
                "names \"{region}\", a Region where SES offers no Deterministic Easy DKIM"
            ));
        }
        if regions[..i].contains(region) {
            return Err(format!("names \"{region}\" twice"));
        }
    }
    Ok(())
}

impl ReplicaRegions {
    /// A domain's own list (`detail.sesRegions`) must stay within the setting's.
    pub fn admit(&self, narrowed: &[String]) -> Result<(), String> {
        match narrowed.iter().find(|r| !self.regions.contains(r)) {
            Some(region) => Err(format!(
                "names \"{region}\", which is not in SES_REPLICA_REGIONS ({})",
                match self.regions.is_empty() {
                    true => "empty".to_owned(),
                    false => self.regions.join(","),
                }
            )),
            None => Ok(()),
        }
    }
}

/// The tag on a parent identity that keeps a domain's own replica Regions, for the
/// reconcile (`detail.sesRegions` is seen once, at onboarding).
pub const REGIONS_TAG: &str = "dkim-autopilot:ses-regions";

/// The tag's value: the Regions, space-separated; `none` for an empty list.
pub fn regions_tag_value(regions: &[String]) -> String {
    match regions.is_empty() {
        true => "none".to_owned(),
        false => regions.join(" "),
    }
}

/// The tag read back; `None` when it is not a list this function wrote.
pub fn parse_regions_tag(value: &str) -> Option<Vec<String>> {
    if value == "none" {
        return Some(Vec::new());
    }
    let regions: Vec<String> = value.split(' ').map(str::to_owned).collect();
    check_listed(&regions).ok().map(|()| regions)
}

/// `AWS_SES_<PARENT_REGION>`: the origin a replica of a parent in `parent` is created with.
pub fn origin(parent: &str) -> String {
    format!("AWS_SES_{}", parent.to_ascii_uppercase().replace('-', "_"))
}

/// One replica Region's state, as the events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaStatus {
    /// SES verified the replica (it signs with the parent's key).
    Verified,
    /// Created; SES has not verified it yet (replication takes a while).
    Pending,
    /// SES reports the replica failed, or refused to create it (logged, by name).
    Failed,
    /// SES in this Region would not answer now; the next reconcile tries again.
    Unreachable,
    /// No replica in this Region (yet): told only where nothing is created (a dry run,
    /// `Domain Ready to Send`); the steps that create replicas never report it.
    Missing,
}

impl ReplicaStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Unreachable => "unreachable",
            Self::Missing => "missing",
        }
    }

    /// Still to settle: worth looking at again soon (verified and refused are final).
    pub fn unsettled(&self) -> bool {
        matches!(self, Self::Pending | Self::Unreachable)
    }

    /// A replica's state from its DKIM status in its Region.
    pub fn of(status: DkimStatus) -> Self {
        match status {
            DkimStatus::Success => Self::Verified,
            DkimStatus::Pending | DkimStatus::NotStarted => Self::Pending,
            DkimStatus::Failed | DkimStatus::TemporaryFailure | DkimStatus::IdentityMissing => {
                Self::Failed
            }
        }
    }
}

/// One Region's replica: where, and how it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaState {
    pub region: String,
    pub status: ReplicaStatus,
    /// Created by this invocation.
    pub created: bool,
    /// Why it failed or could not be reached (SES's code and message).
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_deed_regions_other_than_the_parent_each_once() {
        let regions = ReplicaRegions::parse(" us-west-2 , eu-west-1,", "us-east-1").unwrap();
        assert_eq!(
            regions.iter().collect::<Vec<_>>(),
            ["us-west-2", "eu-west-1"]
        );
        assert!(ReplicaRegions::parse("", "mars-north-1")
            .unwrap()
            .is_empty());
        let err = |text: &str, parent: &str| ReplicaRegions::parse(text, parent).unwrap_err();
        assert!(err("us-east-1", "us-east-1").contains("the parent Region itself"));
        assert!(err("us-west-2,us-west-2", "us-east-1").contains("\"us-west-2\" twice"));
        assert!(
            err("cn-north-1", "us-east-1").contains("\"cn-north-1\", a Region where SES offers no")
        );
        assert!(err("us-west-2", "cn-north-1").contains("parent Region \"cn-north-1\""));
    }

    #[test]
    fn a_domain_may_narrow_the_list_and_the_tag_keeps_it() {
        let configured = ReplicaRegions::parse("us-west-2,eu-west-1", "us-east-1").unwrap();
        assert!(configured.admit(&["eu-west-1".into()]).is_ok());
        assert!(configured.admit(&[]).is_ok());
        let err = configured.admit(&["ap-south-1".into()]).unwrap_err();
        assert!(
            err.contains(
                "\"ap-south-1\", which is not in SES_REPLICA_REGIONS (us-west-2,eu-west-1)"
            ),
            "{err}"
        );
        let none = ReplicaRegions::parse("", "us-east-1").unwrap();
        assert!(none
            .admit(&["us-west-2".into()])
            .unwrap_err()
            .contains("(empty)"));
        assert!(check_listed(&["mars-1".into()])
            .unwrap_err()
            .contains("no Deterministic"));
        assert!(check_listed(&["us-west-2".into(), "us-west-2".into()])
            .unwrap_err()
            .contains("twice"));
        for list in [vec![], vec!["us-west-2".to_owned(), "eu-west-1".to_owned()]] {
            assert_eq!(parse_regions_tag(&regions_tag_value(&list)), Some(list));
        }
        assert_eq!(parse_regions_tag("us-west-2,eu-west-1"), None);
    }

    #[test]
    fn the_origin_names_the_parent_region_as_ses_spells_it() {
        assert_eq!(origin("us-east-1"), "AWS_SES_US_EAST_1");
        assert_eq!(origin("us-gov-west-1"), "AWS_SES_US_GOV_WEST_1");
        for region in DEED_REGIONS {
            assert!(origin(region).starts_with("AWS_SES_"));
        }
    }

    #[test]
    fn a_replica_is_verified_only_on_success() {
        assert_eq!(
            ReplicaStatus::of(DkimStatus::Success),
            ReplicaStatus::Verified
        );
        assert_eq!(
            ReplicaStatus::of(DkimStatus::Pending),
            ReplicaStatus::Pending
        );
        assert_eq!(ReplicaStatus::of(DkimStatus::Failed), ReplicaStatus::Failed);
        assert_eq!(ReplicaStatus::Unreachable.as_str(), "unreachable");
    }
}
