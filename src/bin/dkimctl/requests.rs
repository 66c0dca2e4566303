//! Requests to the deployed function: the event an application would send, read by
//! the function's own rules before it leaves, so a typo is refused here and not in
//! the function's log an hour later.

use dkim_autopilot::aws::Aws;
use dkim_autopilot::core::inbound::check_request;
use serde_json::{Map, Value};

use crate::cli::BusArgs;
use crate::Failure;

/// One request: its detail-type and detail fields (absent options left out).
pub struct Request {
    pub detail_type: &'static str,
    pub fields: Vec<(&'static str, Option<Value>)>,
}

/// Check, then put the event on the bus; returns the line to print.
pub async fn send(aws: &Aws, bus: &BusArgs, request: Request) -> Result<String, Failure> {
    let detail: Map<String, Value> = request
        .fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
    let detail = Value::Object(detail);
    check_request(&bus.bus, &bus.source, request.detail_type, &detail)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let id = aws
        .events
        .request(
            &bus.bus,
            &bus.source,
            request.detail_type,
            detail.to_string(),
        )
        .await
        .map_err(Failure::aws)?;
    Ok(format!(
        "sent {} {detail} to bus {} (event id {id})",
        request.detail_type, bus.bus
    ))
}
