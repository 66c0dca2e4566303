//! Counts every attempt the SDK makes, and the throttled ones, per service: the SDK
//! retries a throttled call by itself, so only an interceptor sees all of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::core::metrics::{CallCounts, Service};

/// Error codes AWS uses to say "too fast", across the four services.
const THROTTLE_MARKERS: &[&[u8]] = &[
    b"Throttling",
    b"TooManyRequests",
    b"RequestLimitExceeded",
    b"PriorRequestNotComplete",
];

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    throttles: AtomicU64,
}

/// Running totals for the whole process; an invocation reads the difference.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    services: Arc<[Counters; 4]>,
}

impl CallCounter {
    pub fn interceptor(&self, service: Service) -> CountingInterceptor {
        CountingInterceptor {
            service,
            counter: self.clone(),
        }
    }

    fn slot(&self, service: Service) -> &Counters {
        &self.services[service as usize]
    }

    pub fn snapshot(&self) -> CallCounts {
        let mut counts = CallCounts::default();
        for service in Service::ALL {
            let slot = self.slot(service);
            counts.add(
                service,
                slot.calls.load(Ordering::Relaxed),
                slot.throttles.load(Ordering::Relaxed),
            );
        }
        counts
    }
}

#[derive(Debug, Clone)]
pub struct CountingInterceptor {
    service: Service,
    counter: CallCounter,
}

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "dkim-autopilot call counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counter
            .slot(self.service)
            .calls
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(response) = context.response() {
            let status = response.status().as_u16();
            let body = response.body().bytes().unwrap_or_default();
            if is_throttle(status, body) {
                self.counter
                    .slot(self.service)
                    .throttles
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// A throttled answer: 429, or a 4xx/503 whose error code says so.
fn is_throttle(status: u16, body: &[u8]) -> bool {
    status == 429
        || ((400..500).contains(&status) || status == 503)
            && body.len() <= 16 * 1024
            && THROTTLE_MARKERS
                .iter()
                .any(|marker| body.windows(marker.len()).any(|w| w == *marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_services_throttle_answer() {
        let ses = br#"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"#;
        assert!(is_throttle(400, ses));
        assert!(is_throttle(400, br#"{"__type":"ThrottlingException"}"#));
        assert!(is_throttle(429, b""));
        assert!(is_throttle(400, b"<Code>PriorRequestNotComplete</Code>"));
        assert!(!is_throttle(200, ses), "a success is never a throttle");
        assert!(!is_throttle(400, b"<Code>InvalidChangeBatch</Code>"));
        assert!(!is_throttle(500, b"<Code>InternalFailure</Code>"));
    }
}
