//! `patchline eval`: a time-split backtest of prioritization strategies on public data.
//!
//! Invariant: only what was known on the as-of day `D` shapes the features, the training and the
//! strategies (see [`data`] for the per-field rules and [`train`] for the training set); the
//! labels are KEV additions in `(D, D + horizon]` from the catalog file, over the population of CVEs
//! known at `D` and not in KEV at `D`. Every strategy is scored on that same population.

pub mod data;
pub mod metrics;
pub mod prior;
pub mod report;
pub mod train;

#[cfg(test)]
mod tests;

use crate::error::CliError;
use metrics::Metrics;
use patchline_processors::learn::fnv1a64;
use std::path::PathBuf;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Data folder laid out like `../shared/data`.
    pub data: PathBuf,
    /// KEV catalog (CISA JSON) giving the labels and the KEV state at the as-of day.
    pub kev_labels: PathBuf,
    /// As-of day (days since the epoch).
    pub as_of: i32,
    /// Label window length in days.
    pub horizon_days: i32,
}

/// One strategy's result; `metrics` is `None` when the strategy is unavailable (no EPSS file).
#[derive(Debug, Clone)]
pub struct StrategyResult {
    pub name: String,
    pub metrics: Option<Metrics>,
}

/// The evaluation of one split, with the context a reader needs to judge it.
#[derive(Debug, Clone)]
pub struct Report {
    pub as_of: i32,
    pub horizon_days: i32,
    pub population: usize,
    pub positives: usize,
    pub strategies: Vec<StrategyResult>,
    /// Population members from the CVE table, and those only the EPSS file knows.
    pub from_table: usize,
    pub epss_only: usize,
    /// The EPSS files used (newest day on or before `as_of`) and their day.
    pub epss_day: Option<i32>,
    pub epss_files: Vec<PathBuf>,
    /// KEV entries added on or before `as_of`, and in the label window.
    pub kev_at_as_of: usize,
    pub kev_in_window: usize,
    /// Strategy whose effort `patchline@...-effort` matches.
    pub reference: &'static str,
    pub training: train::Trained,
}

/// Names of the strategies, in report order.
pub const CVSS7: &str = "cvss>=7";
pub const CVSS9: &str = "cvss>=9";
pub const EPSS01: &str = "epss>=0.1";
pub const EPSS_RANK: &str = "epss";
pub const PATCHLINE: &str = "patchline";
pub const PATCHLINE_BEST: &str = "patchline@best-f1";

/// Runs the backtest described by `options`.
pub fn run(options: &EvalOptions) -> Result<Report, CliError> {
    let (day, horizon) = (options.as_of, options.horizon_days);
    if horizon < 1 {
        return Err(CliError::Eval(format!("--horizon must be at least 1 day, got {horizon}")));
    }
    let records = data::load_table(&options.data)?;
    let files = data::epss_files(&options.data)?;
    let kev_text = crate::feeds::open_text(&options.kev_labels)?;
    let kev = data::parse_kev(&kev_text)?;
    let prior = prior::VendorPrior::from_catalog(&kev_text)?;
    let epss = data::epss_as_of(&files, day)?;
    let (epss_day, epss_paths, epss_map) = match epss {
        Some((d, paths, map)) => (Some(d), paths, Some(map)),
        None => (None, Vec::new(), None),
    };

    let items: Vec<data::Item<'_>> = data::known_at(&records, epss_map.as_ref(), day)
        .into_iter()
        .filter(|item| kev.get(item.id).is_none_or(|&added| added > day))
        .collect();
    let in_window = |added: i32| added > day && added <= day + horizon;
    let labels: Vec<bool> =
        items.iter().map(|i| kev.get(i.id).is_some_and(|&added| in_window(added))).collect();
    let keys: Vec<u64> = items.iter().map(|i| fnv1a64(i.id.as_bytes())).collect();
    let training = train::train(&records, epss_map.as_ref(), &kev, &prior, day);

    let cvss: Vec<f64> = items
        .iter()
        .map(|i| i.record.and_then(|r| r.cvss_at(day)).map_or(-1.0, |c| f64::from(c.base_score)))
        .collect();
    let epss_scores: Vec<f64> =
        items.iter().map(|i| i.epss.map_or(-1.0, |e| f64::from(e.score))).collect();
    let cvss_order = metrics::rank_keys(&keys, &cvss);
    let cvss_ap = metrics::average_precision(&cvss_order, &labels);
    let at_least = |scores: &[f64], t: f64| scores.iter().map(|&s| s >= t).collect::<Vec<_>>();
    let mut strategies = vec![
        StrategyResult {
            name: CVSS7.into(),
            metrics: Some(metrics::set_metrics(&at_least(&cvss, 7.0), &labels, cvss_ap)),
        },
        StrategyResult {
            name: CVSS9.into(),
            metrics: Some(metrics::set_metrics(&at_least(&cvss, 9.0), &labels, cvss_ap)),
        },
    ];
    let epss_results = epss_map.as_ref().map(|_| {
        let order = metrics::rank_keys(&keys, &epss_scores);
        let ap = metrics::average_precision(&order, &labels);
        (
            metrics::set_metrics(&at_least(&epss_scores, 0.1), &labels, ap),
            metrics::set_metrics(&at_least(&epss_scores, 0.0), &labels, ap),
        )
    });
    strategies.push(StrategyResult { name: EPSS01.into(), metrics: epss_results.map(|r| r.0) });
    strategies.push(StrategyResult { name: EPSS_RANK.into(), metrics: epss_results.map(|r| r.1) });

    // Patchline: the model's log-odds.
    let logits: Vec<f64> = items
        .iter()
        .map(|i| training.model.logit_hashed(&train::item_features(i, day, &prior)))
        .collect();
    let order = metrics::rank_keys(&keys, &logits);
    let ap = metrics::average_precision(&order, &labels);
    strategies.push(StrategyResult {
        name: PATCHLINE.into(),
        metrics: Some(metrics::top_k(&order, &labels, items.len(), ap)),
    });
    let (reference, reference_flagged) = match epss_results {
        Some((at_01, _)) => (EPSS01, at_01.flagged),
        None => (CVSS9, strategies[1].metrics.map_or(0, |m| m.flagged)),
    };
    strategies.push(StrategyResult {
        name: format!("{PATCHLINE}@{reference}-effort"),
        metrics: Some(metrics::top_k(&order, &labels, reference_flagged, ap)),
    });
    let best_k = training.best_effort.map(|q| ((q * items.len() as f64).round() as usize).max(1));
    strategies.push(StrategyResult {
        name: PATCHLINE_BEST.into(),
        metrics: best_k.map(|k| metrics::top_k(&order, &labels, k, ap)),
    });

    Ok(Report {
        as_of: day,
        horizon_days: horizon,
        population: items.len(),
        positives: labels.iter().filter(|&&l| l).count(),
        strategies,
        from_table: items.iter().filter(|i| i.record.is_some()).count(),
        epss_only: items.iter().filter(|i| i.record.is_none()).count(),
        epss_day,
        epss_files: epss_paths,
        kev_at_as_of: kev.values().filter(|&&added| added <= day).count(),
        kev_in_window: kev.values().filter(|&&added| in_window(added)).count(),
        reference,
        training,
    })
}
