//! What the tests of every source share: an envelope, and the three readings.
#![cfg(test)]

use serde_json::{json, Value};

use super::{parse_invocation, Invocation, OffboardRequest, OnboardRequest, CUSTOM_DETAIL_TYPE};
use crate::core::rejection::Rejection;

pub const CLOUDTRAIL: &str = super::CLOUDTRAIL_DETAIL_TYPE;

pub fn envelope(source: &str, detail_type: &str, detail: Value) -> String {
    json!({
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": detail_type, "source": source, "account": "123456789012",
        "time": "2026-11-27T04:30:00Z", "region": "us-east-1", "resources": [],
        "detail": detail
    })
    .to_string()
}

pub fn custom(detail: Value) -> String {
    envelope("my.saas", CUSTOM_DETAIL_TYPE, detail)
}

pub fn onboard(raw: &str) -> OnboardRequest {
    match parse_invocation(raw) {
        Ok(Invocation::Onboard(r)) => r,
        other => panic!("expected onboarding, got {other:?}"),
    }
}

pub fn offboard(raw: &str) -> OffboardRequest {
    match parse_invocation(raw) {
        Ok(Invocation::Offboard(r)) => r,
        other => panic!("expected offboarding, got {other:?}"),
    }
}

pub fn rejected(raw: &str) -> Rejection {
    match parse_invocation(raw) {
        Err(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}
