//! Shared parts of the processor benchmarks: median/min/max of repeated measurements, the
//! outcome world of the learning benchmark ([`outcomes`]) and the fleet workload of the stage
//! benchmark (the same generator as the runtime benchmarks, `topology/examples/bench_common`).

#![allow(dead_code)] // each bench uses a different subset

pub mod outcomes;

/// Median, min and max of a sample (median of an even count: mean of the middle two).
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let mut v: Vec<f64> = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return Spread { median: f64::NAN, min: f64::NAN, max: f64::NAN };
        }
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Spread { median, min: v[0], max: v[n - 1] }
    }

    /// `"1.234 (1.200-1.300)"` with `digits` decimals.
    pub fn show(&self, digits: usize) -> String {
        format!("{:.d$} ({:.d$}-{:.d$})", self.median, self.min, self.max, d = digits)
    }
}

/// A number from the environment variable `name`, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

/// True under `cargo bench` (which passes `--bench`) or with `BENCH_FULL=1`. Under `cargo test
/// --all-targets` the bench binaries run without it and only smoke-test their code paths, so the
/// test suite stays fast.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench") || std::env::var("BENCH_FULL").is_ok_and(|v| v == "1")
}

/// True when only the ratio sections should run (`BENCH_RATIOS_ONLY=1`), not criterion's.
pub fn ratios_only() -> bool {
    std::env::var("BENCH_RATIOS_ONLY").is_ok_and(|v| v == "1")
}
