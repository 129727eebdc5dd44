//! `patchline demo`: by default the closed loop. A generated fleet over bundled real CVE and
//! KEV data runs for simulated weeks on the embedded bus: scanners report, patchline plans signed
//! waves, a simulated executor verifies and runs them with hidden failure probabilities, KEV
//! additions arrive on their real dates. The same world then runs without the `learn` stage and
//! under a CVSS-FIFO baseline, and the demo prints a side-by-side scorecard (progress goes to
//! stderr), optionally as JSON and as a self-contained HTML report (see [`crate::sim`]).
//!
//! `patchline demo --snapshot` is the one-shot view: the pipeline over the bundled data (with
//! EPSS) and a generated fleet as of 2026-01-30, printing the exposures and the commands.
//!
//! Invariant: both use the same processors, codec and runner as `patchline run`; only the bus is
//! in-process. With the same flags they print the same output.

use crate::error::Result;
use crate::feeds::{cve_table, epss, kev};
use crate::fleet;
use crate::output::{command_line, exposure_line, to_json, ymd};
use crate::sim::catalog::{CVES, EPSS, KEV};
use crate::sim::{self, html, report, run::Progress, SimConfig};
use patchline_processors::events::{DeploymentCommand, Event, EventKind, Exposure, ExposureStatus};
use patchline_topology::codec::{Codec, Format};
use patchline_topology::dead_letter::DeadLetter;
use patchline_topology::embedded::EmbeddedPipeline;
use patchline_topology::observe::metrics::Metrics;
use patchline_topology::spec::TopologySpec;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The demo clock: the day the bundled data describes (2026-01-30 00:00 UTC).
pub const DEMO_NOW_MS: i64 = 1_769_731_200_000;

/// Options of the closed-loop demo.
#[derive(Debug, Clone)]
pub struct LoopOptions {
    pub config: SimConfig,
    pub html: Option<PathBuf>,
    pub json: bool,
}

/// A progress line on stderr, once per simulated day.
pub fn progress_line(p: &Progress) {
    let day = ymd((p.instant / 86_400_000) as i32 - 1);
    eprintln!(
        "[{:<21}] day {:>3}/{} {}  commands {:>6}  in flight {:>5}  open KEV exposures {:>4}",
        p.policy.name(),
        p.day,
        p.days,
        day,
        p.commands,
        p.in_flight,
        p.open_kev
    );
}

/// Runs the closed loop for every policy and prints the scorecard.
pub async fn run_loop(opts: LoopOptions) -> Result<()> {
    let comparison = sim::compare(&opts.config, &mut progress_line).await?;
    let summary = report::Summary::of(&comparison);
    let mut text = Vec::new();
    report::write_text(&mut text, &comparison, &summary)?;
    let text = String::from_utf8_lossy(&text).into_owned();
    if let Some(path) = &opts.html {
        std::fs::write(path, html::page(&comparison, &summary, &text))?;
        eprintln!("patchline demo: wrote {}", path.display());
    }
    let mut stdout = std::io::stdout().lock();
    if opts.json {
        use std::io::Write;
        writeln!(stdout, "{}", report::to_json(&comparison, &summary))?;
    } else {
        use std::io::Write;
        write!(stdout, "{text}")?;
        if opts.html.is_none() {
            writeln!(stdout, "\n(an HTML report with charts: --html patchline-demo.html)")?;
        }
    }
    Ok(())
}

/// Options of `patchline demo --snapshot`.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub assets: usize,
    pub findings_per_asset: usize,
    pub seed: u64,
    pub limit: usize,
    pub json: bool,
}

/// What the demo produced.
pub struct DemoResult {
    pub exposures: Vec<Exposure>,
    pub commands: Vec<DeploymentCommand>,
    pub dead_letters: Vec<DeadLetter>,
    pub inputs: BTreeMap<&'static str, usize>,
}

/// Runs the pipeline over the bundled data.
pub async fn run_pipeline(opts: &DemoOptions) -> Result<DemoResult> {
    let spec = TopologySpec::default_topology()?;
    let codec = Arc::new(Codec::bundled()?);
    let mut pipeline = EmbeddedPipeline::new(
        spec.clone(),
        codec.clone(),
        Metrics::new()?,
        Arc::new(|| DEMO_NOW_MS),
    )?;
    let advisories: Vec<_> =
        cve_table::parse_rows(CVES)?.iter().map(|r| r.to_advisory(DEMO_NOW_MS)).collect();
    let mut threats = kev::parse_catalog(KEV, DEMO_NOW_MS)?;
    threats.extend(epss::parse_scores(EPSS, None)?);
    let assets = fleet::generate(opts.assets, opts.seed, DEMO_NOW_MS);
    let findings =
        fleet::findings(&assets, &advisories, opts.findings_per_asset, opts.seed, DEMO_NOW_MS);
    let mut inputs = BTreeMap::new();
    inputs.insert("advisories", advisories.len());
    inputs.insert("threat signals", threats.len());
    inputs.insert("assets", assets.len());
    inputs.insert("findings", findings.len());
    let topic_of = |kind: EventKind| {
        spec.topics
            .iter()
            .find(|t| t.event_kind() == Some(kind))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let events = advisories
        .into_iter()
        .map(Event::Advisory)
        .chain(threats.into_iter().map(Event::ThreatSignal))
        .chain(assets.into_iter().map(Event::AssetTelemetry))
        .chain(findings.into_iter().map(Event::Finding));
    for event in events {
        let topic = topic_of(event.kind());
        pipeline.bus().produce(
            &topic,
            event.key().as_bytes(),
            codec.encode(&event)?,
            DEMO_NOW_MS,
        )?;
    }
    // One broken record, to show that bad input is dead-lettered with its coordinates.
    pipeline.bus().produce(
        &topic_of(EventKind::Finding),
        b"broken",
        vec![0, 0, 0, 0, 3, 0xff],
        DEMO_NOW_MS,
    )?;
    pipeline.run_until_idle().await?;
    let read = |kind: EventKind| -> Result<Vec<Event>> {
        let mut out = Vec::new();
        for r in pipeline.bus().read_all(&topic_of(kind))? {
            out.push(codec.decode(kind, Format::Avro, r.value.as_deref().unwrap_or_default())?);
        }
        Ok(out)
    };
    // The newest version of each exposure is its current state.
    let mut latest: BTreeMap<String, Exposure> = BTreeMap::new();
    for e in read(EventKind::Exposure)? {
        if let Event::Exposure(x) = e {
            latest.insert(x.exposure_id.clone(), x);
        }
    }
    let mut exposures: Vec<Exposure> =
        latest.into_values().filter(|e| e.status == ExposureStatus::Open).collect();
    exposures.sort_by(|a, b| b.risk.total_cmp(&a.risk).then(a.exposure_id.cmp(&b.exposure_id)));
    let mut commands: Vec<DeploymentCommand> = read(EventKind::DeploymentCommand)?
        .into_iter()
        .filter_map(|e| match e {
            Event::DeploymentCommand(c) => Some(c),
            _ => None,
        })
        .collect();
    commands.sort_by(|a, b| {
        (a.wave, a.deadline, &a.command_id).cmp(&(b.wave, b.deadline, &b.command_id))
    });
    let dead_letters = pipeline
        .bus()
        .read_all(&spec.dead_letter_topic)?
        .iter()
        .map(|r| codec.decode_dead_letter(r.value.as_deref().unwrap_or_default()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(DemoResult { exposures, commands, dead_letters, inputs })
}

/// Runs the demo and prints its report.
pub async fn run(opts: DemoOptions) -> Result<()> {
    let r = run_pipeline(&opts).await?;
    let mut stdout = std::io::stdout().lock();
    report(&mut stdout, &opts, &r)?;
    Ok(())
}

/// Writes the demo report.
fn report(out: &mut impl std::io::Write, opts: &DemoOptions, r: &DemoResult) -> Result<()> {
    if opts.json {
        let doc = serde_json::json!({
            "exposures": r.exposures.iter().map(|e| to_json(&Event::Exposure(e.clone()))).collect::<Vec<_>>(),
            "commands": r.commands.iter().map(|c| to_json(&Event::DeploymentCommand(c.clone()))).collect::<Vec<_>>(),
            "dead_letters": r.dead_letters.len(),
        });
        writeln!(out, "{doc}")?;
        return Ok(());
    }
    writeln!(out, "patchline demo: embedded bus, bundled real CVE/KEV/EPSS sample, generated fleet (as of {})", ymd((DEMO_NOW_MS / 86_400_000) as i32))?;
    let inputs: Vec<String> = r.inputs.iter().map(|(k, v)| format!("{v} {k}")).collect();
    writeln!(out, "inputs: {}", inputs.join(", "))?;
    let kev = r.exposures.iter().filter(|e| e.kev).count();
    writeln!(
            out,
        "outputs: {} open exposures ({kev} on KEV vulnerabilities), {} deployment commands, {} dead letter(s)\n",
        r.exposures.len(),
        r.commands.len(),
        r.dead_letters.len()
    )?;
    writeln!(out, "Top exposures (risk 0-1000, SSVC decision, due date, asset, vulnerability, package, top factors):")?;
    for e in r.exposures.iter().take(opts.limit) {
        writeln!(out, "  {}", exposure_line(e))?;
    }
    writeln!(out, "\nDeployment commands, first {} by wave and deadline:", opts.limit)?;
    for c in r.commands.iter().take(opts.limit) {
        writeln!(out, "  {}", command_line(c))?;
    }
    writeln!(
        out,
        "\nDead letters (bad input is kept whole with its coordinates; the stage keeps running):"
    )?;
    for d in &r.dead_letters {
        writeln!(
            out,
            "  {}[{}]@{}  stage {}  {}: {}",
            d.source_topic,
            d.partition,
            d.offset,
            d.stage,
            d.reason.label(),
            d.error
        )?;
    }
    Ok(())
}
