//! Amazon EventBridge: publish outcome events for other systems to act on, and put an
//! operator's requests on the inbound bus.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::error::AwsError;
use crate::core::outcome::{OutcomeEvent, EVENT_SOURCE};

#[derive(Debug, Clone)]
pub struct Events {
    client: aws_sdk_eventbridge::Client,
    bus: Option<String>,
}

const TRANSIENT_ENTRY_CODES: &[&str] = &[
    "ThrottlingException",
    "InternalFailure",
    "InternalException",
];

impl Events {
    /// `bus`: `None` publishes to the account's default bus.
    pub fn new(client: aws_sdk_eventbridge::Client, bus: Option<String>) -> Self {
        Self { client, bus }
    }

    pub async fn publish(&self, event: &OutcomeEvent) -> Result<(), AwsError> {
        let entry = PutEventsRequestEntry::builder()
            .source(EVENT_SOURCE)
            .detail_type(event.kind.detail_type())
            .detail(event.detail_json())
            .set_event_bus_name(self.bus.clone())
            .build();
        self.put(entry).await.map(|_| ())
    }

    /// An operator's request (`dkimctl`) on the bus the function's inbound rules
    /// watch, as an application would send it; returns the event's id.
    pub async fn request(
        &self,
        bus: &str,
        source: &str,
        detail_type: &str,
        detail: String,
    ) -> Result<String, AwsError> {
        let entry = PutEventsRequestEntry::builder()
            .source(source)
            .detail_type(detail_type)
            .detail(detail)
            .event_bus_name(bus)
            .build();
        self.put(entry).await
    }

    async fn put(&self, entry: PutEventsRequestEntry) -> Result<String, AwsError> {
        const OP: &str = "events:PutEvents";
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        // PutEvents answers 200 even when an entry failed; the failure is per entry.
        if output.failed_entry_count() > 0 {
            let failed = output.entries().iter().find(|e| e.error_code().is_some());
            let code = failed
                .and_then(|e| e.error_code())
                .unwrap_or("Unknown")
                .to_owned();
            return Err(AwsError {
                operation: OP,
                transient: TRANSIENT_ENTRY_CODES.contains(&code.as_str()),
                message: failed
                    .and_then(|e| e.error_message())
                    .unwrap_or("entry failed")
                    .to_owned(),
                code,
            });
        }
        Ok(output
            .entries()
            .first()
            .and_then(|e| e.event_id())
            .unwrap_or_default()
            .to_owned())
    }
}
