//! The pure core: event parsing, domain rules, records, plans and policies. No AWS SDK
//! types and no I/O here, so all of it is unit-tested directly.

pub mod chain;
pub mod deferral;
pub mod handover;
pub mod identity;
pub mod ids;
pub mod inbound;
pub mod key_length;
pub mod metrics;
pub mod outcome;
pub mod pacing;
pub mod policy;
pub mod reconcile;
pub mod records;
pub mod rejection;
pub mod replicas;
pub mod request;
pub mod schedule;
pub mod scope;
pub mod sending;
pub mod status;
pub mod tombstone;
pub mod work;
pub mod zone;
