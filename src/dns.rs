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
