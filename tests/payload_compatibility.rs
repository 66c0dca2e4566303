//! Every payload a release ever wrote into a schedule is still read. A follow-up chain
//! lives 72 hours across deployments, and deferred work, tombstones and reconcile pages
//! outlive a deployment too: `tests/fixtures/payloads/` holds one captured payload per
//! kind and case, never edited. Each is read by the one parser, says what it said when
//! it was written, and is written back in today's format (which reads back the same).
//! Pure: no emulator.

use std::path::Path;

use dkim_autopilot::core::chain::FollowUp;
use dkim_autopilot::core::schedule::{parse_input, Scheduled};
use dkim_autopilot::core::work::Work;

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/payloads");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/payloads")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// What today's release writes for a payload it read.
fn written(scheduled: &Scheduled) -> String {
    match scheduled {
        Scheduled::FollowUp(f) => f.to_input(),
        Scheduled::Deferred(d) => d.to_input(),
        Scheduled::Reconcile(r) => r.to_input(),
        Scheduled::Tombstone(t) => t.to_input(),
    }
}

#[test]
fn every_captured_payload_of_every_kind_is_still_read() {
    let fixtures = fixtures();
    let kinds = ["follow-up-", "deferred-", "reconcile-", "tombstone-"];
    for kind in kinds {
        assert!(
            fixtures.iter().any(|(name, _)| name.starts_with(kind)),
            "no captured {kind}* payload"
        );
    }
    for (name, raw) in &fixtures {
        let read = parse_input(raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        match (kinds.iter().find(|k| name.starts_with(*k)), &read) {
            (Some(&"follow-up-"), Scheduled::FollowUp(f)) => {
                assert_eq!(
                    f.chain().onboarding_started_at.to_rfc3339(),
                    "2026-11-27T09:15:02+00:00",
                    "{name}"
                );
                // A chain that knows its signing zone says so; every other chain does not.
                let zone = f.chain().signing_zone.as_ref().map(|z| z.as_str());
                let expected = name
                    .ends_with("-signing-zone")
                    .then_some("dkim-c7.us-east-1.amazonses.com");
                assert_eq!(zone, expected, "{name}");
                let kind_matches = match name.trim_end_matches("-signing-zone") {
                    n if n.ends_with("await-zone") => matches!(f, FollowUp::AwaitingZone { .. }),
                    n if n.ends_with("mail-from") => {
                        matches!(f, FollowUp::AwaitingMailFrom { zone: Some(_), mail_from, .. }
                            if mail_from.first_attempt == 3 && mail_from.sets_again == 1)
                    }
                    n if n.ends_with("mail-from-external") => {
                        matches!(f, FollowUp::AwaitingMailFrom { zone: None, .. })
                    }
                    n if n.ends_with("external") => matches!(f, FollowUp::HandedOver { .. }),
                    _ => matches!(f, FollowUp::Published { .. }),
                };
                assert!(kind_matches, "{name} read as {f:?}");
                let narrowed = name
                    .ends_with("-ses-regions")
                    .then(|| vec!["eu-west-1".to_owned()]);
                assert_eq!(f.chain().ses_regions, narrowed, "{name}");
            }
            (Some(&"deferred-"), Scheduled::Deferred(d)) => {
                assert!(d.deferrals >= 1 && d.last_error.is_some(), "{name}");
                let kind_matches = match name.as_str() {
                    n if n.contains("onboard") => matches!(&d.work, Work::Onboard { request, .. }
                        if request.ses_regions.is_some() == n.ends_with("-ses-regions")),
                    n if n.contains("offboard") => matches!(d.work, Work::Offboard { .. }),
                    n if n.contains("follow-up") => matches!(&d.work, Work::FollowUp(f)
                        if f.chain().signing_zone.is_some() == n.ends_with("-signing-zone")),
                    n if n.contains("reconcile") => matches!(d.work, Work::Reconcile(_)),
                    n if n.contains("replicate") => {
                        matches!(&d.work, Work::Replicate { regions, .. }
                        if regions == &["eu-west-1"])
                    }
                    other => panic!("{other}: name its kind"),
                };
                assert!(kind_matches, "{name} read as {:?}", d.work);
            }
            (Some(&"reconcile-"), Scheduled::Reconcile(run)) => {
                assert!(run.run_id.is_some(), "{name}");
                assert_eq!(run.dry_run, name.contains("dry-run"), "{name}");
            }
            (Some(&"tombstone-"), Scheduled::Tombstone(t)) => {
                assert_eq!(t.domain.as_str(), "mail.acme-tenant.com");
            }
            (_, other) => panic!("{name} read as {other:?}"),
        }
        // Written back in today's format, it reads back as the same work.
        let again = parse_input(&written(&read)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again, read, "{name}");
    }
}

/// The payloads captured from the release before the follow-up became an enum and the
/// four schemas one parser are written back byte for byte: today's writer is that one.
#[test]
fn todays_writer_writes_what_the_last_release_wrote() {
    let unchanged = [
        "deferred-v1-follow-up",
        "deferred-v1-follow-up-signing-zone",
        "deferred-v1-offboard",
        "deferred-v1-offboard-domain-deleted",
        "deferred-v1-onboard",
        "deferred-v1-onboard-external",
        "deferred-v1-onboard-registration",
        "deferred-v1-onboard-ses-regions",
        "deferred-v1-reconcile",
        "deferred-v1-replicate",
        "follow-up-v1-restarted",
        "reconcile-v1-page-identities-dry-run",
        "reconcile-v1-page-zones",
        "tombstone-v1",
    ];
    for (name, raw) in fixtures() {
        let read = parse_input(&raw).unwrap();
        let today: serde_json::Value = serde_json::from_str(&written(&read)).unwrap();
        let then: serde_json::Value = serde_json::from_str(&raw).unwrap();
        if unchanged.contains(&name.as_str()) {
            assert_eq!(written(&read), raw.trim_end(), "{name}");
        } else if name == "follow-up-v1-await-zone" {
            // Written before chains carried tokens; today's awaiting chain says it has none.
            let mut with_tokens = then.clone();
            with_tokens["tokens"] = serde_json::json!([]);
            assert_eq!(today, with_tokens, "{name}");
        } else if name == "reconcile-v1-recurring" {
            // The template's fixed payload: a run starts from it with its defaults.
            assert_eq!(today["runId"], "2026-11-28T030000Z");
            assert_eq!(today["pages"], 0);
        } else {
            // Hand-formatted captures: the same document.
            assert_eq!(today, then, "{name}");
        }
    }
}
