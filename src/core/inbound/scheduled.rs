//! Payloads this function's own schedules carry back: a follow-up check, deferred
//! work, a reconcile page, an offboarding's expired tombstone. Each is versioned;
//! every version a release wrote is read.

use serde_json::Value;

use super::fields::type_name;
use super::Invocation;
use crate::core::deferral::{self, read_deferred};
use crate::core::follow_up::{self, read_follow_up};
use crate::core::reconcile::{self, read_reconcile};
use crate::core::rejection::Rejection;
use crate::core::tombstone::{self, read_tombstone};

pub(super) fn parse(value: Value) -> Result<Invocation, Rejection> {
    match value.get("schema") {
        Some(Value::String(s)) if s == follow_up::SCHEMA => {
            read_follow_up(value).map(Invocation::FollowUp)
        }
        Some(Value::String(s)) if s == deferral::SCHEMA => {
            read_deferred(value).map(Invocation::Deferred)
        }
        Some(Value::String(s)) if s == reconcile::SCHEMA => {
            read_reconcile(value).map(Invocation::Reconcile)
        }
        // Its chains are over: the tombstone fires once, as a no-op, and is deleted.
        Some(Value::String(s)) if s == tombstone::SCHEMA => {
            read_tombstone(value).map(|t| Invocation::Ignore {
                reason: format!(
                    "the offboarding tombstone of {} (offboarded at {}) has expired",
                    t.domain,
                    t.offboarded_at.to_rfc3339()
                ),
            })
        }
        Some(Value::String(other)) => Err(Rejection::invalid_event(
            "schema",
            format!(
                "is \"{other}\"; this function reads \"{}\", \"{}\", \"{}\" and \"{}\"",
                follow_up::SCHEMA,
                deferral::SCHEMA,
                reconcile::SCHEMA,
                tombstone::SCHEMA
            ),
        )),
        Some(other) => Err(Rejection::invalid_event(
            "schema",
            format!("must be a string, got {}", type_name(other)),
        )),
        None => Err(Rejection::invalid_event("schema", "is missing")),
    }
}
