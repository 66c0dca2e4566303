//! The adapters of the sending records against the emulator, whose patches keep
//! SES's and Route 53's rules (scripts/moto_server.py). SES: what the adapter sends
//! is what SES takes, and what SES answers (a MAIL FROM status judged by the MX
//! alone; an identity without MAIL FROM) reads back into the core's `MailFromState`.
//! Route 53: the core's plans (`core::sending`) applied as whole record sets, a
//! stale plan refused whole, a CREATE that never overwrites. Public DNS: MX and TXT
//! answers read into the same record sets. Given / when / then.

mod support;

use aws_sdk_route53::types::RrType;
use dkim_autopilot::core::identity::{MailFromState, MailFromStatus};
use dkim_autopilot::core::ids::{DomainName, HostedZoneId};
use dkim_autopilot::core::sending::dmarc::{self, DmarcSetup};
use dkim_autopilot::core::sending::mail_from::{self, mx_value, MailFromSetup, SPF_TEXT};
use dkim_autopilot::core::sending::txt::{self, value_of};
use dkim_autopilot::core::sending::{AtName, RecordSet, RecordType};
use dkim_autopilot::dns::PublicDns;
use support::dns::{LoopbackDns, Served};
use support::*;

fn setup(subdomain: &str, behavior: &str) -> MailFromSetup {
    MailFromSetup::parse(Some(subdomain), Some(behavior))
        .expect("a valid setting")
        .expect("MAIL FROM on")
}

async fn state(domain: &DomainName) -> MailFromState {
    let aws = aws().await;
    let mut states = aws
        .ses
        .mail_from_states(std::slice::from_ref(domain))
        .await
        .expect("read MAIL FROM");
    assert_eq!(states.len(), 1);
    states.pop().unwrap().1
}

#[tokio::test]
async fn mail_from_is_set_pending_until_ses_sees_the_mx_and_cleared() {
    // Given an identity with its public zone
    let aws = aws().await;
    let name = unique_domain("mf-adapter");
    let zone = create_zone(&name).await;
    let domain = DomainName::parse(&name).unwrap();
    aws.ses.verify_domain_dkim(&domain).await.expect("identity");
    let bounce = format!("bounce.{name}");

    // When MAIL FROM is set through the adapter
    aws.ses
        .set_mail_from_domain(&domain, Some(&setup("Bounce", "RejectMessage")))
        .await
        .expect("set MAIL FROM");

    // Then SES has it, Pending: the SPF TXT alone does not make it Success
    let pending = MailFromState::Set {
        domain: bounce.clone(),
        status: MailFromStatus::Pending,
    };
    assert_eq!(state(&domain).await, pending);
    put_record(&zone, &bounce, RrType::Txt, &value_of(SPF_TEXT)).await;
    assert_eq!(state(&domain).await, pending);
    assert_eq!(
        mail_from_status(&name).await["behavior_on_mx_failure"],
        "RejectMessage"
    );

    // When SES's MX is published, it is Success; when it goes, Failed
    put_record(&zone, &bounce, RrType::Mx, &mx_value(REGION)).await;
    assert_eq!(
        state(&domain).await,
        MailFromState::Set {
            domain: bounce.clone(),
            status: MailFromStatus::Success
        }
    );
    delete_record(&zone, &bounce, RrType::Mx, &mx_value(REGION)).await;
    assert_eq!(
        state(&domain).await,
        MailFromState::Set {
            domain: bounce,
            status: MailFromStatus::Failed
        }
    );

    // When it is cleared, it reads as not set
    aws.ses
        .set_mail_from_domain(&domain, None)
        .await
        .expect("clear MAIL FROM");
    assert_eq!(state(&domain).await, MailFromState::NotSet);
}

#[tokio::test]
async fn many_identities_are_read_in_the_order_given_and_strangers_are_not_set() {
    // Given two identities, one with MAIL FROM, and a domain SES does not know
    let aws = aws().await;
    let with = DomainName::parse(&unique_domain("mf-with")).unwrap();
    let without = DomainName::parse(&unique_domain("mf-without")).unwrap();
    let stranger = DomainName::parse(&unique_domain("mf-stranger")).unwrap();
    for domain in [&with, &without] {
        aws.ses.verify_domain_dkim(domain).await.expect("identity");
    }
    aws.ses
        .set_mail_from_domain(&with, Some(&setup("mail", "UseDefaultValue")))
        .await
        .expect("set MAIL FROM");

    // When they are read in one call
    let states = aws
        .ses
        .mail_from_states(&[stranger.clone(), with.clone(), without.clone()])
        .await
        .expect("read MAIL FROM");

    // Then each comes back in its place
    assert_eq!(
        states,
        vec![
            (stranger, MailFromState::NotSet),
            (
                with.clone(),
                MailFromState::Set {
                    domain: format!("mail.{with}"),
                    status: MailFromStatus::Pending
                }
            ),
            (without, MailFromState::NotSet),
        ]
    );
    assert_eq!(
        call_log("ses", "GetIdentityMailFromDomainAttributes")
            .await
            .iter()
            .filter(|c| c["request"]
                .as_str()
                .is_some_and(|r| r.contains(with.as_str())))
            .count(),
        1,
        "three identities, one call"
    );
}

#[tokio::test]
async fn mail_from_on_an_identity_ses_does_not_have_is_a_permanent_error() {
    // Given a domain that is no SES identity
    let aws = aws().await;
    let domain = DomainName::parse(&unique_domain("mf-none")).unwrap();

    // When MAIL FROM is set on it
    let err = aws
        .ses
        .set_mail_from_domain(&domain, Some(&setup("bounce", "UseDefaultValue")))
        .await
        .expect_err("SES refuses");

    // Then it is refused for good, naming the operation
    assert_eq!(err.operation, "ses:SetIdentityMailFromDomain");
    assert_eq!(err.code, "InvalidParameterValue");
    assert!(!err.transient, "{err:?}");
}

/// What `name` holds now, through the adapter.
async fn at(zone: &HostedZoneId, name: &str) -> AtName {
    let sets = aws()
        .await
        .route53
        .record_sets_at(zone, name)
        .await
        .expect("read the sets");
    AtName::from_sets(name, &sets)
}

#[tokio::test]
async fn the_core_plan_applied_through_route53_keeps_a_foreign_txt_and_reads_back_as_present() {
    // Given a MAIL FROM name that holds a site verification TXT, and a set nearby
    let aws = aws().await;
    let name = unique_domain("mf-plan");
    let zone = HostedZoneId::parse(&create_zone(&name).await).unwrap();
    let bounce = format!("bounce.{name}");
    put_record(
        zone.as_str(),
        &bounce,
        RrType::Txt,
        "\"site-verification=abc\"",
    )
    .await;
    put_record(
        zone.as_str(),
        &format!("x.{bounce}"),
        RrType::Txt,
        "\"below\"",
    )
    .await;

    // When the plan made from what the adapter read is applied in one batch
    let planned = mail_from::plan(&bounce, &at(&zone, &bounce).await, REGION, 300);
    assert_eq!(planned.changes.len(), 3, "{planned:?}");
    aws.route53
        .change_sets(&zone, &planned.changes, "test: MAIL FROM")
        .await
        .expect("the batch applies");

    // Then the name holds SES's MX and both TXT strings, and a new plan has nothing to do
    let again = mail_from::plan(&bounce, &at(&zone, &bounce).await, REGION, 300);
    assert_eq!(
        (again.mx, again.spf),
        (mail_from::PartState::Present, mail_from::PartState::Present)
    );
    assert!(again.changes.is_empty());

    // When our records are removed, the foreign string stays
    let removal = mail_from::plan_removal(&at(&zone, &bounce).await, REGION);
    aws.route53
        .change_sets(&zone, &removal, "test: remove MAIL FROM")
        .await
        .expect("the removal applies");
    let left = at(&zone, &bounce).await;
    assert_eq!(left.mx, None);
    assert_eq!(
        left.txt.map(|set| set.values),
        Some(vec!["\"site-verification=abc\"".to_owned()])
    );
}

#[tokio::test]
async fn a_plan_made_before_someone_edits_the_name_fails_whole_and_changes_nothing() {
    // Given a plan made from what a MAIL FROM name held
    let aws = aws().await;
    let name = unique_domain("mf-stale");
    let zone = HostedZoneId::parse(&create_zone(&name).await).unwrap();
    let bounce = format!("bounce.{name}");
    put_record(zone.as_str(), &bounce, RrType::Txt, "\"site=1\"").await;
    let planned = mail_from::plan(&bounce, &at(&zone, &bounce).await, REGION, 300);

    // When someone edits the TXT before the batch goes in
    put_record(zone.as_str(), &bounce, RrType::Txt, "\"site=2\"").await;
    let err = aws
        .route53
        .change_sets(&zone, &planned.changes, "test: stale")
        .await
        .expect_err("Route 53 refuses a stale DELETE");

    // Then the whole batch was refused: no MX either, their edit kept
    assert_eq!(err.code, "InvalidChangeBatch", "{err:?}");
    let now = at(&zone, &bounce).await;
    assert_eq!(now.mx, None);
    assert_eq!(
        now.txt.map(|set| set.values),
        Some(vec!["\"site=2\"".to_owned()])
    );
}

#[tokio::test]
async fn a_dmarc_record_is_created_once_and_then_is_present() {
    // Given a domain with no DMARC record, and DMARC on
    let aws = aws().await;
    let name = unique_domain("dmarc-plan");
    let domain = DomainName::parse(&name).unwrap();
    let zone = HostedZoneId::parse(&create_zone(&name).await).unwrap();
    let setup = DmarcSetup::parse(Some("none"), Some("mailto:dmarc@example.com"))
        .unwrap()
        .unwrap();
    let record = dmarc::record_name(&domain);

    // When its plan is applied
    let planned = dmarc::plan(&domain, &at(&zone, &record).await, None, &setup, 300);
    assert_eq!(planned.state, dmarc::DmarcState::Written);
    aws.route53
        .change_sets(&zone, &planned.changes, "test: DMARC")
        .await
        .expect("the batch applies");

    // Then the record is ours, and applying the first plan again is refused
    let again = dmarc::plan(&domain, &at(&zone, &record).await, None, &setup, 300);
    assert_eq!(again.state, dmarc::DmarcState::Present);
    let err = aws
        .route53
        .change_sets(&zone, &planned.changes, "test: DMARC again")
        .await
        .expect_err("CREATE never overwrites");
    assert_eq!(err.code, "InvalidChangeBatch");
}

#[tokio::test]
async fn public_dns_answers_as_record_sets_the_plans_read() {
    // Given a tenant's DNS that serves a MAIL FROM MX and TXT, a DMARC record on the
    // organisational domain, and a name that fails
    let server = LoopbackDns::start().await;
    let dns = PublicDns::new(&[server.address]);
    let bounce = "bounce.mail.tenant.example";
    server.serve(
        bounce,
        Served::Mx(10, "feedback-smtp.us-east-1.amazonses.com".into()),
    );
    server.add(bounce, Served::Txt(vec!["site=1".into()]));
    server.add(
        bounce,
        Served::Txt(vec!["v=spf1 include:".into(), "amazonses.com ~all".into()]),
    );
    server.serve(
        "_dmarc.tenant.example",
        Served::Txt(vec!["v=DMARC1; p=reject; sp=none".into()]),
    );
    server.serve("broken.tenant.example", Served::ServFail);

    // When the sets are looked up
    let mx = dns.record_set(bounce, RecordType::Mx).await;
    let txt = dns.record_set(bounce, RecordType::Txt).await;
    let org = dns
        .record_set("_dmarc.tenant.example", RecordType::Txt)
        .await;

    // Then the MAIL FROM plan judges them as it judges Route 53's
    let sets: Vec<RecordSet> = [mx, txt].into_iter().map(|s| s.unwrap().unwrap()).collect();
    let planned = mail_from::plan(bounce, &AtName::from_sets(bounce, &sets), "us-east-1", 300);
    assert_eq!(
        (planned.mx, planned.spf),
        (mail_from::PartState::Present, mail_from::PartState::Present),
        "{sets:?}"
    );
    // … the organisational domain's record is read for what it asks of subdomains
    let org = org.unwrap().unwrap();
    let texts: Vec<String> = org.values.iter().map(|v| txt::text_of(v)).collect();
    let record = dmarc::DmarcRecord::find(texts.iter().map(String::as_str)).unwrap();
    assert_eq!(record.policy_for_subdomains(), Some("none"));
    // … a name without that type, or without any record, holds nothing; a failure is not a verdict
    assert_eq!(dns.record_set(bounce, RecordType::Cname).await, Ok(None));
    assert_eq!(
        dns.record_set("nothing.tenant.example", RecordType::Txt)
            .await,
        Ok(None)
    );
    assert!(dns
        .record_set("broken.tenant.example", RecordType::Mx)
        .await
        .is_err());
}
