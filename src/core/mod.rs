//! The pure core: event parsing, domain rules, record building, follow-up policy.
//! No AWS SDK types and no I/O here, so all of it is unit-tested directly.

pub mod deferral;
pub mod domain;
pub mod follow_up;
pub mod handover;
pub mod inbound;
pub mod metrics;
pub mod offboarding;
pub mod outcome;
pub mod pacing;
pub mod policy;
pub mod reconcile;
pub mod records;
pub mod rejection;
pub mod request;
pub mod scope;
pub mod tombstone;
pub mod zone;
