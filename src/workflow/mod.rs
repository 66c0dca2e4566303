//! The use cases, each one file that tells its story:
//!
//! | Use case | File | Starts from |
//! |---|---|---|
//! | onboard a domain into Route 53 (and wait for a registration's zone) | `onboard.rs` | `Domain Registered`, `CreateHostedZone`, `registerDomain`, a reconcile |
//! | check a Route 53 chain until SES verifies | `check.rs` | a follow-up schedule |
//! | watch MAIL FROM after DKIM is verified, until ready to send | `mail_from.rs` | a follow-up schedule |
//! | hand the records to a tenant, and check that chain | `handover.rs` | `Domain Registered` with `dnsMode` external (or auto without a zone) |
//! | offboard a domain | `offboard.rs` | `Domain Deregistered`, `deleteDomain` |
//! | settle DEED replicas an earlier look could not | `replicate.rs` | a deferral |
//! | reconcile the account, a page at a time | `reconcile.rs` | the recurring schedule, `Reconcile Requested` |
//! | look at the fleet and the reconcile's plan, writing nothing | `fleet.rs` | `dkimctl status`, `dkimctl plan` |
//!
//! Steps several use cases share live in `steps/`, one module per subject (schedules,
//! DNS record changes, outcome events, zones, the scope gate, chains, deferral, public
//! DNS). A use case never calls another use case's helpers: when one starts another (a
//! reconcile onboards, `auto` hands over), it goes through `run`, the one dispatcher,
//! which also puts every piece of work through the scope gate first.

pub mod check;
pub mod fleet;
pub mod handover;
pub mod mail_from;
pub mod offboard;
pub mod onboard;
pub mod reconcile;
pub mod replicate;
mod response;
mod steps;

pub use response::{FollowUpRef, Response};
pub use steps::deferral::defer;
pub use steps::outcomes::report_rejection;

use chrono::{DateTime, Utc};

use crate::aws::{Aws, AwsError};
use crate::config::Settings;
use crate::core::chain::FollowUp;
use crate::core::ids::{DomainName, TenantId};
use crate::core::rejection::{RejectReason, Rejection};
use crate::core::request::DnsMode;
use crate::core::work::Work;

/// What one invocation works with. `now` is an input so time can be tested.
pub struct Context<'a> {
    pub aws: &'a Aws,
    pub settings: &'a Settings,
    /// This function's ARN, the target of every follow-up schedule.
    pub function_arn: &'a str,
    pub now: DateTime<Utc>,
    /// When the invocation must have answered (Lambda's deadline); `None`: no limit.
    /// Long work (a reconcile page) stops in time and hands the rest to a schedule.
    pub deadline: Option<std::time::Instant>,
    /// Public DNS, where handed-over records are looked up.
    pub dns: &'a crate::dns::PublicDns,
}

/// Why a workflow stopped short.
#[derive(Debug)]
pub enum Stop {
    /// Permanent: report it and acknowledge the event.
    Rejected(Rejection),
    /// Fail the invocation (or defer the work) so it is tried again.
    Transient(AwsError),
    /// Part of the work is done: only `rest` is put off (its deferrals count on).
    Partly { rest: Box<Work>, err: AwsError },
}

impl Stop {
    /// AWS errors, sorted into retry or reject, about this domain.
    pub fn aws(err: AwsError, domain: &impl ToString, tenant: Option<&str>) -> Self {
        if err.transient {
            return Self::Transient(err);
        }
        Self::Rejected(Rejection {
            domain: Some(domain.to_string()),
            tenant_id: tenant.map(str::to_owned),
            reason: RejectReason::Aws {
                operation: err.operation,
                code: err.code,
                message: err.message,
            },
        })
    }

    /// `Stop::aws` about this domain and tenant, for `map_err`.
    pub fn about(domain: &DomainName, tenant: Option<&TenantId>) -> impl Fn(AwsError) -> Self {
        let domain = domain.to_string();
        let tenant = tenant.map(|t| t.as_str().to_owned());
        move |err| Self::aws(err, &domain, tenant.as_deref())
    }
}

/// Do one piece of work: the one dispatcher. Every piece passes the scope gate first
/// (its domain, and the zone it names), before any AWS call.
pub async fn run(cx: &Context<'_>, work: Work) -> Result<Response, Stop> {
    if let Some(domain) = work.domain() {
        if let Err(skip) = cx.settings.scope.admit(domain, work.zone()) {
            let stop = Stop::about(domain, work.tenant_id());
            return steps::scope::skip(cx, domain, work.tenant_id(), work.zone(), skip)
                .await
                .map_err(stop);
        }
    }
    // A domain's own replica Regions stay within the setting's: refused before any call.
    if let Work::Onboard { request, .. } = &work {
        if let Some(regions) = &request.ses_regions {
            cx.settings
                .replica_regions
                .admit(regions)
                .map_err(|problem| {
                    Stop::Rejected(
                        Rejection::invalid_event("detail.sesRegions", problem)
                            .with_domain(request.domain.as_str())
                            .with_tenant(request.tenant_id.as_ref().map(|t| t.as_str().to_owned())),
                    )
                })?;
        }
    }
    // Each use case is boxed: their futures are large (a reconcile holds an onboarding),
    // and a debug build's 2 MiB thread stack would not hold them side by side.
    match work {
        Work::Onboard {
            request,
            started_at,
        } => match request.mode(cx.settings.default_dns_mode) {
            DnsMode::External => Box::pin(handover::hand_over(cx, request, started_at)).await,
            mode => Box::pin(onboard::onboard(cx, request, started_at, mode)).await,
        },
        Work::FollowUp(FollowUp::AwaitingZone { chain, named_zone }) => {
            Box::pin(onboard::look_for_zone_again(cx, chain, named_zone)).await
        }
        Work::FollowUp(FollowUp::Published {
            chain,
            zone,
            tokens,
        }) => Box::pin(check::check(cx, chain, zone, tokens)).await,
        Work::FollowUp(FollowUp::HandedOver { chain, tokens }) => {
            Box::pin(handover::check(cx, chain, tokens)).await
        }
        Work::FollowUp(FollowUp::AwaitingMailFrom {
            chain,
            zone,
            tokens,
            mail_from,
        }) => Box::pin(mail_from::check(cx, chain, zone, tokens, mail_from)).await,
        Work::Offboard {
            request,
            requested_at,
        } => Box::pin(offboard::offboard(cx, request, requested_at)).await,
        Work::Reconcile(run) => Box::pin(reconcile::reconcile(cx, run)).await,
        Work::Replicate {
            domain,
            tenant_id,
            regions,
            requested_at,
        } => {
            Box::pin(replicate::replicate(
                cx,
                domain,
                tenant_id,
                regions,
                requested_at,
            ))
            .await
        }
    }
}

/// `run`, boxed: a use case that starts another nests a deep future in its own.
fn run_boxed<'a>(
    cx: &'a Context<'a>,
    work: Work,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, Stop>> + 'a>> {
    Box::pin(run(cx, work))
}
