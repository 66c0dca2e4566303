//! Reconcile. (Being written.)

use super::{Context, Response, Stop};
use crate::core::reconcile::ReconcileRun;

pub async fn reconcile(_cx: &Context<'_>, run: ReconcileRun) -> Result<Response, Stop> {
    Ok(Response::ReconcileFinished {
        run_id: run.run_id.unwrap_or_default(),
        dry_run: run.dry_run,
        pages: run.pages,
        counts: run.counts,
        planned: run.planned,
    })
}
