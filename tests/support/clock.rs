//! Instants in sample payloads, made relative to now. The samples in `events/` keep
//! readable fixed dates for people; a test that feeds one to the function moves every
//! instant the function judges against its clock (a chain's 72-hour window, a
//! deferral's first attempt) to just before now, so the sample means the same thing
//! on any day it runs.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

/// The payload fields holding an instant the function compares with its clock:
/// - `onboardingStartedAt`: a follow-up's window counts from it;
/// - `startedAt`: a deferred onboarding's chain counts from it;
/// - `requestedAt`: a deferred offboarding ends the chains started before it;
/// - `offboardedAt`: a tombstone ends the chains started before it, and expires.
///
/// Every other instant in a sample (an envelope's `time`, CloudTrail's `eventTime`,
/// a `callerReference`) is carried along and never judged.
pub const CLOCK_FIELDS: [&str; 4] = [
    "onboardingStartedAt",
    "startedAt",
    "requestedAt",
    "offboardedAt",
];

/// How long before now the latest rewritten instant lands: well inside every window
/// (the first check is due 5 minutes after onboarding), and never in the future.
pub const SAMPLE_AGE: TimeDelta = TimeDelta::minutes(10);

/// A sample with its clock fields moved together by one shift, so the latest of them
/// is `SAMPLE_AGE` before `now` and their order and spacing stay as written. Returns
/// the new text and each field as rewritten (path, instant), in document order.
pub fn relative_to(text: &str, now: DateTime<Utc>) -> (String, Vec<(String, DateTime<Utc>)>) {
    let mut value: Value = serde_json::from_str(text).expect("a sample is JSON");
    let mut found = Vec::new();
    collect(&value, "", &mut found);
    let Some(latest) = found.iter().map(|(_, at)| *at).max() else {
        return (text.to_owned(), Vec::new());
    };
    let shift = (now - SAMPLE_AGE) - latest;
    let moved: Vec<(String, DateTime<Utc>)> = found
        .into_iter()
        .map(|(path, at)| (path, at + shift))
        .collect();
    for (path, at) in &moved {
        let slot = value.pointer_mut(path).expect("the path was just read");
        *slot = Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    (serde_json::to_string_pretty(&value).unwrap(), moved)
}

/// `relative_to(text, Utc::now())`.
pub fn relative_to_now(text: &str) -> (String, Vec<(String, DateTime<Utc>)>) {
    relative_to(text, Utc::now())
}

/// The instant a rewritten sample holds at `field` (its last path segment).
pub fn rewritten(moved: &[(String, DateTime<Utc>)], field: &str) -> String {
    let (_, at) = moved
        .iter()
        .find(|(path, _)| path.rsplit('/').next() == Some(field))
        .unwrap_or_else(|| panic!("the sample has no {field}: {moved:?}"));
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every field of the sample that holds an RFC 3339 instant and whose name says it is
/// a moment (`…At`): a new one that is not in `CLOCK_FIELDS` must be added there, or
/// named here as carried along.
pub fn instant_fields(text: &str) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let instant = inner
                        .as_str()
                        .is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok());
                    if instant && key.ends_with("At") {
                        out.push(key.clone());
                    }
                    walk(inner, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(
        &serde_json::from_str(text).expect("a sample is JSON"),
        &mut out,
    );
    out
}

fn collect(value: &Value, path: &str, found: &mut Vec<(String, DateTime<Utc>)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let here = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                if CLOCK_FIELDS.contains(&key.as_str()) {
                    if let Some(at) = inner
                        .as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    {
                        found.push((here.clone(), at.to_utc()));
                    }
                }
                collect(inner, &here, found);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                collect(inner, &format!("{path}/{i}"), found);
            }
        }
        _ => {}
    }
}
