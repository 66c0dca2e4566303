//! Metrics as CloudWatch Embedded Metric Format documents: JSON lines in the
//! function's log that CloudWatch turns into metrics, with no API call.
//! Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::reconcile::ReconcileCounts;

pub const NAMESPACE: &str = "DkimAutopilot";

/// The AWS services the function calls, for per-service counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ses = 0,
    Route53 = 1,
    Scheduler = 2,
    Events = 3,
}

impl Service {
    pub const ALL: [Service; 4] = [Self::Ses, Self::Route53, Self::Scheduler, Self::Events];

    pub fn name(&self) -> &'static str {
        match self {
            Self::Ses => "ses",
            Self::Route53 => "route53",
            Self::Scheduler => "scheduler",
            Self::Events => "events",
        }
    }
}

/// Attempts sent and attempts throttled, per service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    calls: [u64; 4],
    throttles: [u64; 4],
}

impl CallCounts {
    pub fn add(&mut self, service: Service, calls: u64, throttles: u64) {
        self.calls[service as usize] += calls;
        self.throttles[service as usize] += throttles;
    }

    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        let mut delta = CallCounts::default();
        for service in Service::ALL {
            let i = service as usize;
            delta.add(
                service,
                self.calls[i].saturating_sub(earlier.calls[i]),
                self.throttles[i].saturating_sub(earlier.throttles[i]),
            );
        }
        delta
    }

    pub fn calls(&self) -> u64 {
        self.calls.iter().sum()
    }

    pub fn calls_of(&self, service: Service) -> u64 {
        self.calls[service as usize]
    }

    pub fn throttles(&self, service: Service) -> u64 {
        self.throttles[service as usize]
    }
}

/// What one invocation reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationMetrics<'a> {
    pub function_name: &'a str,
    /// `published`, `verified`, `deferred`, … (docs/operations.md lists them).
    pub outcome: &'a str,
    pub reason_code: Option<&'a str>,
    pub calls: CallCounts,
    pub seconds_to_verification: Option<i64>,
    /// A reconcile run that finished with this invocation: its counts.
    pub reconcile: Option<&'a ReconcileCounts>,
    pub at: DateTime<Utc>,
}

impl InvocationMetrics<'_> {
    /// One document for the invocation, and one per service that was throttled.
    pub fn documents(&self) -> Vec<Value> {
        let mut outcome_dimensions = vec![json!(["FunctionName", "Outcome"])];
        let mut root = Map::new();
        root.insert("FunctionName".into(), json!(self.function_name));
        root.insert("Outcome".into(), json!(self.outcome));
        if let Some(code) = self.reason_code {
            outcome_dimensions.push(json!(["FunctionName", "Outcome", "ReasonCode"]));
            root.insert("ReasonCode".into(), json!(code));
        }
        root.insert("Outcomes".into(), json!(1));
        root.insert("AwsCalls".into(), json!(self.calls.calls()));
        let mut plain = vec![metric("AwsCalls", "Count")];
        if let Some(seconds) = self.seconds_to_verification {
            plain.push(metric("SecondsToVerification", "Seconds"));
            root.insert("SecondsToVerification".into(), json!(seconds));
        }
        root.insert(
            "_aws".into(),
            self.metadata(vec![
                directive(outcome_dimensions, vec![metric("Outcomes", "Count")]),
                directive(vec![json!(["FunctionName"])], plain),
            ]),
        );
        let mut documents = vec![Value::Object(root)];
        if let Some(counts) = self.reconcile {
            documents.push(self.reconcile_document(counts));
        }
        for service in Service::ALL {
            let throttles = self.calls.throttles(service);
            if throttles > 0 {
                documents.push(json!({
                    "_aws": self.metadata(vec![directive(
                        vec![json!(["FunctionName", "Service"])],
                        vec![metric("Throttles", "Count")],
                    )]),
                    "FunctionName": self.function_name,
                    "Service": service.name(),
                    "Throttles": throttles,
                }));
            }
        }
        documents
    }

    /// One document per finished run: what the dashboard's reconcile widget shows.
    fn reconcile_document(&self, counts: &ReconcileCounts) -> Value {
        let values = [
            ("ReconcileZonesSeen", counts.zones_seen),
            ("ReconcileOnboarded", counts.onboarded),
            ("ReconcileRepaired", counts.repaired),
            ("ReconcileOrphaned", counts.orphaned),
            ("ReconcileSkipped", counts.skipped),
        ];
        let mut document = Map::new();
        document.insert("FunctionName".into(), json!(self.function_name));
        for (name, value) in values {
            document.insert(name.into(), json!(value));
        }
        let metrics = values
            .iter()
            .map(|(name, _)| metric(name, "Count"))
            .collect();
        document.insert(
            "_aws".into(),
            self.metadata(vec![directive(vec![json!(["FunctionName"])], metrics)]),
        );
        Value::Object(document)
    }

    fn metadata(&self, directives: Vec<Value>) -> Value {
        json!({"Timestamp": self.at.timestamp_millis(), "CloudWatchMetrics": directives})
    }
}

fn directive(dimensions: Vec<Value>, metrics: Vec<Value>) -> Value {
    json!({"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics})
}

fn metric(name: &str, unit: &str) -> Value {
    json!({"Name": name, "Unit": unit})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    /// Every member a directive names must be at the root (the EMF rule).
    fn assert_valid_emf(document: &Value) {
        let directives = document["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert!(document["_aws"]["Timestamp"].is_i64());
        for d in directives {
            assert_eq!(d["Namespace"], NAMESPACE);
            for set in d["Dimensions"].as_array().unwrap() {
                for key in set.as_array().unwrap() {
                    assert!(document[key.as_str().unwrap()].is_string(), "{key}");
                }
            }
            for m in d["Metrics"].as_array().unwrap() {
                assert!(document[m["Name"].as_str().unwrap()].is_number(), "{m}");
            }
        }
    }

    #[test]
    fn an_invocation_is_one_document_with_its_outcome_and_calls() {
        let mut calls = CallCounts::default();
        calls.add(Service::Ses, 2, 0);
        calls.add(Service::Route53, 3, 0);
        let docs = InvocationMetrics {
            function_name: "f",
            outcome: "published",
            reason_code: None,
            calls,
            seconds_to_verification: None,
            reconcile: None,
            at: at(),
        }
        .documents();
        assert_eq!(docs.len(), 1);
        assert_valid_emf(&docs[0]);
        assert_eq!(docs[0]["Outcome"], "published");
        assert_eq!(docs[0]["AwsCalls"], 5);
        assert_eq!(docs[0]["_aws"]["Timestamp"], at().timestamp_millis());
        assert!(docs[0].get("ReasonCode").is_none());
        assert_eq!(
            docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName", "Outcome"]])
        );
    }

    #[test]
    fn reason_codes_time_to_verify_and_throttles_have_their_own_metrics() {
        let mut calls = CallCounts::default();
        calls.add(Service::Ses, 4, 3);
        calls.add(Service::Events, 1, 1);
        let docs = InvocationMetrics {
            function_name: "f",
            outcome: "verified",
            reason_code: Some("Throttling"),
            calls,
            seconds_to_verification: Some(930),
            reconcile: None,
            at: at(),
        }
        .documents();
        assert_eq!(
            docs.len(),
            3,
            "one for the invocation, one per throttled service"
        );
        docs.iter().for_each(assert_valid_emf);
        assert_eq!(docs[0]["ReasonCode"], "Throttling");
        assert_eq!(docs[0]["SecondsToVerification"], 930);
        assert_eq!(
            (docs[1]["Service"].as_str(), docs[1]["Throttles"].as_u64()),
            (Some("ses"), Some(3))
        );
        assert_eq!(docs[2]["Service"], "events");
    }

    #[test]
    fn counts_are_read_as_differences() {
        let mut before = CallCounts::default();
        before.add(Service::Scheduler, 5, 1);
        let mut after = before;
        after.add(Service::Scheduler, 2, 1);
        let delta = after.since(&before);
        assert_eq!((delta.calls(), delta.throttles(Service::Scheduler)), (2, 1));
    }

    #[test]
    fn a_finished_reconcile_reports_its_counts_as_metrics() {
        let counts = ReconcileCounts {
            zones_seen: 310,
            onboarded: 8,
            repaired: 1,
            orphaned: 2,
            skipped: 10,
            ..ReconcileCounts::default()
        };
        let docs = InvocationMetrics {
            function_name: "f",
            outcome: "reconcileFinished",
            reason_code: None,
            calls: CallCounts::default(),
            seconds_to_verification: None,
            reconcile: Some(&counts),
            at: at(),
        }
        .documents();
        assert_eq!(docs.len(), 2);
        docs.iter().for_each(assert_valid_emf);
        let run = &docs[1];
        assert_eq!(run["ReconcileZonesSeen"], 310);
        assert_eq!(run["ReconcileOnboarded"], 8);
        assert_eq!(run["ReconcileRepaired"], 1);
        assert_eq!(run["ReconcileOrphaned"], 2);
        assert_eq!(run["ReconcileSkipped"], 10);
        assert_eq!(
            run["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName"]])
        );
    }
}
