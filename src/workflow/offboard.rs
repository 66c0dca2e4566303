//! Offboarding: a domain leaves. (Being written.)

use chrono::{DateTime, Utc};

use super::{Context, Response, Stop};
use crate::core::request::OffboardRequest;

pub async fn offboard(
    _cx: &Context<'_>,
    request: OffboardRequest,
    _requested_at: DateTime<Utc>,
) -> Result<Response, Stop> {
    Ok(Response::Removed {
        domain: request.domain.to_string(),
        removed_schedules: Vec::new(),
        removed_records: Vec::new(),
        identity_deleted: false,
        left_alone: Vec::new(),
    })
}
