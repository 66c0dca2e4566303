//! dkim-autopilot: make every new domain DKIM-ready for Amazon SES.
//!
//! `core` decides, `aws` talks to AWS, `workflow` tells the story of each use case,
//! `handler` connects a Lambda invocation to a workflow.

pub mod aws;
pub mod config;
pub mod core;
pub mod dns;
pub mod handler;
pub mod workflow;
