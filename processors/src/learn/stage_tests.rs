use super::*;
use crate::events::{KevEntry, ThreatSignal};
use crate::fixtures;

const HOUR: i64 = 3_600_000;

fn settings() -> LearnSettings {
    let mut s = LearnSettings::default();
    s.failure.1.min_examples = 20;
    s.exploit.1.min_examples = 1;
    s.exploit.1.holdout_every = 2;
    s
}

/// A fleet of `n` assets and one `DEPLOY` of openssl to all of them.
fn fleet(learn: &mut LearnProcessor, n: usize, command_id: &str, os: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ids: Vec<String> = (0..n).map(|i| format!("{os}-{i}")).collect();
    for id in &ids {
        let a = AssetTelemetryExt::on(id, os);
        learn.process(Event::AssetTelemetry(a), &mut out).expect("asset");
    }
    let command = DeploymentCommand {
        command_id: command_id.into(),
        target_assets: ids.clone(),
        not_after: 10 * HOUR,
        ..fixtures::command()
    };
    learn.process(Event::DeploymentCommand(command), &mut out).expect("command");
    assert!(out.is_empty(), "only punctuations publish");
    ids
}

struct AssetTelemetryExt;
impl AssetTelemetryExt {
    fn on(id: &str, os: &str) -> crate::events::AssetTelemetry {
        crate::events::AssetTelemetry { os_family: os.into(), ..fixtures::asset(id, 0) }
    }
}

fn report(learn: &mut LearnProcessor, command_id: &str, asset: &str, status: OutcomeStatus) {
    let o = fixtures::outcome(command_id, asset, status);
    learn.process(Event::DeploymentOutcome(o), &mut Vec::new()).expect("outcome");
}

fn published(out: &[Event], model: &str) -> Vec<ModelSnapshot> {
    out.iter()
        .filter_map(|e| match e {
            Event::ModelSnapshot(s) if s.model == model => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn outcomes_train_the_failure_model_and_a_gate_publishes_it() {
    let mut learn = LearnProcessor::new(settings());
    let rhel = fleet(&mut learn, 200, "cmd-rhel", "rhel");
    let debian = fleet(&mut learn, 200, "cmd-debian", "debian");
    // Outcomes before the command is known wait for it; outcomes of unknown commands teach
    // nothing; TIMED_OUT says nothing about the patch.
    report(&mut learn, "cmd-never-issued", &rhel[0], OutcomeStatus::Failed);
    report(&mut learn, "cmd-rhel", &rhel[0], OutcomeStatus::TimedOut);
    for (i, a) in rhel.iter().enumerate() {
        let status = if i % 3 == 0 { OutcomeStatus::Failed } else { OutcomeStatus::Succeeded };
        report(&mut learn, "cmd-rhel", a, status);
        report(&mut learn, "cmd-rhel", a, OutcomeStatus::Succeeded); // a duplicate: ignored
    }
    for a in &debian {
        report(&mut learn, "cmd-debian", a, OutcomeStatus::Succeeded);
    }
    assert_eq!(learn.failure().stats().examples, 400);
    let mut out = Vec::new();
    learn.punctuate(0, &mut out);
    assert!(out.is_empty(), "the first punctuation only starts the interval");
    learn.punctuate(HOUR, &mut out);
    let snapshots = published(&out, FAILURE_MODEL);
    assert_eq!(snapshots.len(), 1, "{out:?}");
    let model = crate::learn::LinearModel::from_snapshot(&snapshots[0]).expect("valid");
    let predict = |os: &str| {
        let ctx = PatchContext {
            ecosystem: "Debian",
            package: "openssl",
            installed_version: "",
            target_version: Some("3.0.2"),
            os_family: os,
            os_version: "12",
            environment: Environment::Production,
        };
        model.predict(&failure::features(&ctx))
    };
    assert!(predict("rhel") > predict("debian"), "{} {}", predict("rhel"), predict("debian"));
    let gauges = learn.model_gauges();
    let version =
        gauges.iter().find(|g| g.model == FAILURE_MODEL && g.metric == "version").expect("gauge");
    assert_eq!(version.value, 1.0);
}

fn kev(cve: &str) -> Event {
    Event::ThreatSignal(ThreatSignal {
        kev: Some(KevEntry {
            date_added: 20_000,
            due_date: None,
            ransomware_use: false,
            required_action: String::new(),
        }),
        cve_id: cve.into(),
        epss: None,
        exploit: None,
        provenance: crate::events::Provenance {
            feed: "kev".into(),
            feed_version: None,
            fetched_at: 0,
        },
    })
}

#[test]
fn exploitation_labels_advisories_late_and_the_horizon_settles_the_rest() {
    let mut learn = LearnProcessor::new(settings());
    let mut out = Vec::new();
    let day = 20_000;
    for i in 0..40 {
        let vendor = if i % 4 == 0 { "ivanti:connect_secure" } else { "acme:widget" };
        let a = fixtures::advisory(&format!("CVE-2024-{i:04}"), vendor, 7.5, day);
        learn.process(Event::Advisory(a), &mut out).expect("advisory");
    }
    // KEV before the advisory is known counts too.
    learn.process(kev("CVE-2024-0100"), &mut out).expect("kev");
    let late = fixtures::advisory("CVE-2024-0100", "ivanti:connect_secure", 9.8, day);
    learn.process(Event::Advisory(late), &mut out).expect("advisory");
    for i in (0..40).step_by(4) {
        learn.process(kev(&format!("CVE-2024-{i:04}")), &mut out).expect("kev");
    }
    assert_eq!(learn.exploit().stats().examples, 11, "11 positives so far");
    // 90 days later the others are negatives.
    let later = i64::from(day + 90) * 86_400_000;
    learn.punctuate(later, &mut out);
    assert_eq!(learn.exploit().stats().examples, 41);
    learn.punctuate(later + HOUR, &mut out);
    let s = published(&out, EXPLOIT_MODEL);
    assert_eq!(s.len(), 1);
    let model = crate::learn::LinearModel::from_snapshot(&s[0]).expect("valid");
    let p = |vendor: &str| {
        let a = fixtures::advisory("CVE-2025-0001", vendor, 7.5, day);
        model.predict(&extract(&CveFacts::from_advisory(&a), day, None))
    };
    assert!(p("ivanti:connect_secure") > p("acme:widget"));
}

#[test]
fn an_operator_restores_an_earlier_version() {
    let mut learn = LearnProcessor::new(settings());
    let assets = fleet(&mut learn, 100, "cmd-a", "rhel");
    for (i, a) in assets.iter().enumerate() {
        let status = if i % 2 == 0 { OutcomeStatus::Failed } else { OutcomeStatus::Succeeded };
        report(&mut learn, "cmd-a", a, status);
    }
    let mut out = Vec::new();
    learn.punctuate(0, &mut out);
    learn.punctuate(HOUR, &mut out);
    assert_eq!(learn.failure().version(), 1);
    let restore = OperatorOverride {
        override_id: "ovr-1".into(),
        action: OverrideAction::RestoreModel,
        vulnerability_id: None,
        asset_id: None,
        package: None,
        model: Some(FAILURE_MODEL.into()),
        model_version: Some(1),
        expires_at: None,
        approver: "secops".into(),
        reason: "bad release".into(),
        created_at: 2 * HOUR,
    };
    out.clear();
    learn.process(Event::OperatorOverride(restore), &mut out).expect("override");
    let s = published(&out, FAILURE_MODEL);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].version, 2);
    assert_eq!(learn.failure().version(), 2);
}
