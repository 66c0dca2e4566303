//! Steps that several use cases share, one module per subject. Each step is one
//! owner's: when a rule changes, it changes here once.

pub mod chain;
pub mod deferral;
pub mod key_length;
pub mod outcomes;
pub mod public_dns;
pub mod readiness;
pub mod records;
pub mod replicas;
pub mod schedules;
pub mod scope;
pub mod sending;
pub mod signing;
pub mod zones;
