//! Permanent refusals: logged, reported, acknowledged; never retried.

use std::fmt;

use serde_json::Value;

use super::ids::DomainRejection;
use super::zone::ZoneProblem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The domain as far as it was known (raw when it never parsed).
    pub domain: Option<String>,
    pub tenant_id: Option<String>,
    pub reason: RejectReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// The event itself: wrong shape, missing or mistyped field, too large.
    InvalidEvent {
        field: String,
        rule: String,
    },
    Domain(DomainRejection),
    Zone(ZoneProblem),
    /// AWS refused for a reason retrying will not change (access denied, invalid input).
    Aws {
        operation: &'static str,
        code: String,
        message: String,
    },
}

impl RejectReason {
    /// A stable, machine-readable kind for logs, responses and events.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEvent { .. } => "InvalidEvent",
            Self::Domain(_) => "DomainRefused",
            Self::Zone(ZoneProblem::Private { .. }) => "PrivateZone",
            Self::Zone(ZoneProblem::NotFound { .. }) => "HostedZoneNotFound",
            Self::Zone(ZoneProblem::DoesNotContain { .. }) => "ZoneDoesNotContainDomain",
            Self::Zone(ZoneProblem::NoneFound { .. }) => "NoHostedZone",
            Self::Zone(ZoneProblem::Ambiguous { .. }) => "AmbiguousHostedZone",
            Self::Aws { .. } => "AwsRejected",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidEvent { field, rule } => write!(f, "event field `{field}` {rule}"),
            Self::Domain(e) => e.fmt(f),
            Self::Zone(e) => e.fmt(f),
            Self::Aws {
                operation,
                code,
                message,
            } => {
                write!(f, "{operation} was refused by AWS ({code}): {message}")
            }
        }
    }
}

impl Rejection {
    pub fn invalid_event(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            domain: None,
            tenant_id: None,
            reason: RejectReason::InvalidEvent {
                field: field.into(),
                rule: rule.into(),
            },
        }
    }

    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    pub fn with_tenant(mut self, tenant_id: Option<String>) -> Self {
        self.tenant_id = tenant_id;
        self
    }
}

impl From<DomainRejection> for Rejection {
    fn from(e: DomainRejection) -> Self {
        Self {
            domain: Some(e.input.clone()),
            tenant_id: None,
            reason: RejectReason::Domain(e),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.fmt(f)
    }
}

/// What a JSON value is, for a rejection that says what was found instead.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
