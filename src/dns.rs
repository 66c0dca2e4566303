//! Public DNS lookups for handed-over records: one resolver built at cold start,
//! answers mapped into the core's `DnsAnswer`. No decisions are made here.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{ResolveError, TokioResolver};

use crate::core::handover::DnsAnswer;
use crate::core::records::normalise_dns_name;
use crate::core::sending::{self, txt::value_of, RecordSet};

/// Each query waits this long for an answer, and is tried this many times: a
/// check never waits more than about 4 seconds on DNS.
pub const TIMEOUT: Duration = Duration::from_secs(2);
pub const ATTEMPTS: usize = 2;

#[derive(Clone)]
pub struct PublicDns {
    resolver: Result<TokioResolver, String>,
}

impl std::fmt::Debug for PublicDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicDns")
            .field("ready", &self.resolver.is_ok())
            .finish()
    }
}

impl PublicDns {
    /// `resolvers` (`DNS_RESOLVERS`), or the system's when empty. A system
    /// configuration that cannot be read makes every lookup "could not check".
    pub fn new(resolvers: &[SocketAddr]) -> Self {
        let builder = if resolvers.is_empty() {
            TokioResolver::builder_tokio().map_err(|e| format!("no system DNS configuration: {e}"))
        } else {
            let mut config = ResolverConfig::new();
            for address in resolvers {
                config.add_name_server(NameServerConfig::new(*address, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(*address, Protocol::Tcp));
            }
            Ok(TokioResolver::builder_with_config(
                config,
                TokioConnectionProvider::default(),
            ))
        };
        let resolver = builder.map(|mut builder| {
            let options: &mut ResolverOpts = builder.options_mut();
            options.timeout = TIMEOUT;
            options.attempts = ATTEMPTS;
            // A warm function must see the tenant's change at the next check, not a cached answer.
            options.cache_size = 0;
            options.positive_max_ttl = Some(Duration::ZERO);
            options.negative_max_ttl = Some(Duration::ZERO);
            options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
            options.ndots = 0;
            builder.build()
        });
        Self { resolver }
    }

    /// The CNAME targets public DNS holds for `name` (fully qualified), and how long
    /// the answer took.
    pub async fn cname(&self, name: &str) -> (DnsAnswer, Duration) {
        let started = Instant::now();
        let resolver = match &self.resolver {
            Ok(resolver) => resolver,
            Err(problem) => return (DnsAnswer::Failed(problem.clone()), Duration::ZERO),
        };
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let answer = match resolver.lookup(fqdn.as_str(), RecordType::CNAME).await {
            Ok(lookup) => DnsAnswer::Cnames(
                lookup
                    .record_iter()
                    .filter(|r| r.name().to_ascii().eq_ignore_ascii_case(&fqdn))
                    .filter_map(|r| match r.data() {
                        RData::CNAME(target) => Some(target.0.to_ascii()),
                        _ => None,
                    })
                    .collect(),
            ),
            Err(err) => classify(&err),
        };
        (answer, started.elapsed())
    }
}

impl PublicDns {
    /// The MX or TXT set public DNS holds at `name`, in the form Route 53 holds it
    /// (`10 host.`, `"quoted" "strings"`), so one plan judges both: `Ok(None)` when
    /// there is none (NXDOMAIN, or the name without that type), `Err` when nothing can
    /// be concluded (timeout, SERVFAIL, no resolver).
    pub async fn record_set(
        &self,
        name: &str,
        record_type: sending::RecordType,
    ) -> Result<Option<RecordSet>, String> {
        let resolver = self.resolver.as_ref().map_err(Clone::clone)?;
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let wire_type = match record_type {
            sending::RecordType::Cname => RecordType::CNAME,
            sending::RecordType::Mx => RecordType::MX,
            sending::RecordType::Txt => RecordType::TXT,
        };
        let lookup = match resolver.lookup(fqdn.as_str(), wire_type).await {
            Ok(lookup) => lookup,
            Err(err) => {
                return match classify(&err) {
                    DnsAnswer::Failed(problem) => Err(problem),
                    _ => Ok(None),
                }
            }
        };
        let mut ttl = 0;
        let values: Vec<String> = lookup
            .record_iter()
            .filter(|r| r.name().to_ascii().eq_ignore_ascii_case(&fqdn))
            .filter_map(|r| {
                ttl = i64::from(r.ttl());
                match r.data() {
                    RData::CNAME(target) => Some(target.0.to_ascii()),
                    RData::MX(mx) => {
                        Some(format!("{} {}", mx.preference(), mx.exchange().to_ascii()))
                    }
                    RData::TXT(txt) => Some(value_of(
                        &txt.iter()
                            .map(|part| String::from_utf8_lossy(part).into_owned())
                            .collect::<String>(),
                    )),
                    _ => None,
                }
            })
            .collect();
        Ok((!values.is_empty()).then(|| RecordSet {
            name: normalise_dns_name(name),
            record_type,
            ttl,
            values,
        }))
    }
}

/// NXDOMAIN and an empty answer are a verdict (no record); everything else is not.
fn classify(err: &ResolveError) -> DnsAnswer {
    if let Some(proto) = err.proto() {
        if let ProtoErrorKind::NoRecordsFound { response_code, .. } = proto.kind() {
            if matches!(
                *response_code,
                ResponseCode::NXDomain | ResponseCode::NoError
            ) {
                return DnsAnswer::NoRecord;
            }
            return DnsAnswer::Failed(format!("DNS answered {response_code}"));
        }
    }
    DnsAnswer::Failed(err.to_string())
}
