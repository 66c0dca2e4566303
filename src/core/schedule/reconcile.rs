//! `dkim-autopilot/reconcile` v1: a reconcile run, as the recurring schedule starts it
//! (`{"dryRun": false, "runId": "<aws.scheduler.scheduled-time>"}`) or as a page hands
//! the rest of the run to the next one (cursor, counts, planned domains).

use serde_json::{Map, Value};

use super::{body, write, Schema};
use crate::core::reconcile::{run_id_from, ReconcileRun, DRY_RUN_LIST_CAP};
use crate::core::rejection::Rejection;

impl ReconcileRun {
    /// The continuation schedule's `Input`.
    pub fn to_input(&self) -> String {
        write(Schema::Reconcile, self)
    }
}

pub(super) fn read(map: Map<String, Value>) -> Result<ReconcileRun, Rejection> {
    // A person may write this one by hand: say which field is wrong, not "malformed".
    if let Some(dry_run) = map.get("dryRun").filter(|v| !v.is_boolean()) {
        return Err(Rejection::invalid_event(
            "dryRun",
            format!("must be true or false, got {dry_run}"),
        ));
    }
    let mut run: ReconcileRun = body(Schema::Reconcile, map)?;
    run.run_id = run.run_id.as_deref().map(run_id_from);
    if run.planned.len() > DRY_RUN_LIST_CAP {
        return Err(Rejection::invalid_event(
            "planned",
            format!("holds more than {DRY_RUN_LIST_CAP} domains"),
        ));
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reconcile::Cursor;
    use crate::core::schedule::{parse, Scheduled};
    use serde_json::json;

    fn read_back(value: Value) -> Result<ReconcileRun, Rejection> {
        parse(value).map(|s| match s {
            Scheduled::Reconcile(run) => run,
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn payloads_round_trip_and_are_checked() {
        let schema = Schema::Reconcile.name();
        let fresh = read_back(json!({"schema": schema, "version": 1})).unwrap();
        assert_eq!(
            (fresh.dry_run, fresh.run_id.as_deref(), fresh.pages),
            (false, None, 0)
        );
        assert_eq!(fresh.cursor, Cursor::default());
        let mut run = ReconcileRun::requested(true, Some("7bf73129-1428-4cd3-a780-95db273d1602"));
        run.cursor = Cursor::Identities {
            next_token: Some("tok".into()),
            skip: 3,
        };
        run.counts.onboarded = 4;
        for i in 0..(DRY_RUN_LIST_CAP + 10) {
            run.plan_note("onboard", &format!("d{i}.com"));
        }
        let input = run.to_input();
        assert!(
            input.starts_with(r#"{"schema":"dkim-autopilot/reconcile","version":1,"dryRun":true,"#),
            "{input}"
        );
        assert!(
            input.len() < 4096,
            "schedule inputs stay small: {}",
            input.len()
        );
        assert_eq!(
            read_back(serde_json::from_str(&input).unwrap()).unwrap(),
            run
        );
        let scheduled =
            read_back(json!({"schema": schema, "version": 1, "runId": "2026-11-28T03:00:00Z"}))
                .unwrap();
        assert_eq!(scheduled.run_id.as_deref(), Some("2026-11-28T030000Z"));
        for (bad, expected) in [
            (
                json!({"schema": schema, "version": 1, "dryRun": "yes"}),
                "dryRun",
            ),
            (json!({"schema": schema, "version": 2}), "reads version 1"),
            (
                json!({"schema": schema, "version": 1, "cursor": {"phase": "elsewhere"}}),
                "malformed",
            ),
            (
                json!({"schema": schema, "version": 1, "planned": vec![json!({"action": "onboard", "domain": "d.com"}); DRY_RUN_LIST_CAP + 1]}),
                "planned",
            ),
        ] {
            let err = read_back(bad).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
