//! Shared parts of the benchmark examples (`bench_state`, `bench_restore`): a counting global
//! allocator, command-line flags, median/min/max statistics and the deterministic workload
//! generator in [`gen`]; [`topic`] fills the restore benchmark's topic; [`mem`] runs the
//! runtime's stage runner on an in-memory source and sink.
//!
//! The allocator wraps `std::alloc::System` and counts the bytes *requested* (`Layout::size`)
//! that are live right now, the peak of that, and the live bytes per power-of-two size class
//! (class `k` holds allocations of `2^(k-1) < size <= 2^k` bytes), so a benchmark can tell which
//! kind of allocation holds the bytes. Malloc's own per-chunk overhead is not included: the
//! numbers are what the program asks for, independent of the allocator in use. Counting can be
//! switched off around timed sections ([`set_counting`]).

#![allow(dead_code)] // each example uses a different subset

pub mod gen;
pub mod kafka;
pub mod kev;
pub mod latency;
pub mod mem;
pub mod probes;
pub mod topic;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

const CLASSES: usize = 48;

/// Counts live heap bytes; install with `#[global_allocator]`.
pub struct CountingAlloc;

static ENABLED: AtomicBool = AtomicBool::new(true);
static CURRENT: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static ALLOCS: AtomicI64 = AtomicI64::new(0);
static BY_CLASS: [AtomicI64; CLASSES] = [const { AtomicI64::new(0) }; CLASSES];
static COUNT_BY_CLASS: [AtomicI64; CLASSES] = [const { AtomicI64::new(0) }; CLASSES];

fn class_of(size: usize) -> usize {
    let class = (usize::BITS - size.saturating_sub(1).leading_zeros()) as usize;
    class.min(CLASSES - 1)
}

fn added(size: usize) {
    if !ENABLED.load(Relaxed) {
        return;
    }
    let size = size as i64;
    let now = CURRENT.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(now, Relaxed);
    ALLOCS.fetch_add(1, Relaxed);
    let c = class_of(size as usize);
    BY_CLASS[c].fetch_add(size, Relaxed);
    COUNT_BY_CLASS[c].fetch_add(1, Relaxed);
}

fn removed(size: usize) {
    if !ENABLED.load(Relaxed) {
        return;
    }
    CURRENT.fetch_sub(size as i64, Relaxed);
    let c = class_of(size);
    BY_CLASS[c].fetch_sub(size as i64, Relaxed);
    COUNT_BY_CLASS[c].fetch_sub(1, Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; only counters are updated around it.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            added(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            added(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        removed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            removed(layout.size());
            added(new_size);
        }
        p
    }
}

/// Turns counting on or off. Counting costs several atomic operations per allocation, which
/// would slow an allocation-heavy loop more than a lean one: timed sections that are compared
/// turn it off. While off, nothing is counted, so a block allocated then and freed later makes
/// the count drift low: measure heap only over windows that free nothing allocated before.
pub fn set_counting(on: bool) {
    ENABLED.store(on, Relaxed);
}

/// Live requested heap bytes now.
pub fn heap_now() -> i64 {
    CURRENT.load(Relaxed)
}

/// Peak of [`heap_now`] since the last [`reset_peak`].
pub fn heap_peak() -> i64 {
    PEAK.load(Relaxed)
}

/// Restarts peak tracking from the current value.
pub fn reset_peak() {
    PEAK.store(CURRENT.load(Relaxed), Relaxed);
}

/// Live (bytes, allocations) per size class; an array, so taking a snapshot allocates nothing.
pub fn classes() -> [(i64, i64); CLASSES] {
    std::array::from_fn(|c| (BY_CLASS[c].load(Relaxed), COUNT_BY_CLASS[c].load(Relaxed)))
}

/// The size classes whose live bytes grew the most between two [`classes`] snapshots, as
/// `"65..=128B: 96.8% (640000000 bytes, 5000000 allocs)"` strings, largest first; the share is
/// of the bytes added to growing classes. A last line gives the bytes freed in shrinking ones.
pub fn class_growth(before: &[(i64, i64)], after: &[(i64, i64)], top: usize) -> Vec<String> {
    let deltas = after.iter().zip(before).map(|(a, b)| a.0 - b.0);
    let total: i64 = deltas.clone().filter(|d| *d > 0).sum::<i64>().max(1);
    let freed: i64 = deltas.filter(|d| *d < 0).sum();
    let mut rows: Vec<(usize, i64, i64)> = after
        .iter()
        .zip(before)
        .enumerate()
        .map(|(c, (a, b))| (c, a.0 - b.0, a.1 - b.1))
        .filter(|r| r.1 > 0)
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mut lines: Vec<String> = rows
        .into_iter()
        .take(top)
        .map(|(c, bytes, n)| {
            let lo = if c == 0 { 0 } else { (1u64 << (c - 1)) + 1 };
            format!(
                "{lo}..={}B: {:.1}% ({} bytes, {} allocs)",
                1u64 << c,
                100.0 * bytes as f64 / total as f64,
                bytes,
                n
            )
        })
        .collect();
    if freed < 0 {
        lines.push(format!("(freed in shrinking classes: {} bytes)", -freed));
    }
    lines
}

/// Resident set size of this process in bytes (Linux `/proc/self/statm`), 0 when unknown.
pub fn rss_bytes() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<i64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

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

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({ "median": self.median, "min": self.min, "max": self.max })
    }
}

/// Command-line flags shared by the benchmarks; each example reads the ones it uses.
#[derive(Debug, Clone)]
pub struct Flags {
    /// Assets (`--assets`, default 1,000,000).
    pub assets: usize,
    /// Distinct findings (vulnerability, package) per asset (`--findings`, default 3).
    pub findings: usize,
    /// Repetitions (`--runs`, default 3; `--rounds` is the same flag).
    pub runs: usize,
    /// Keys in the restore topic (`--keys`; default 1,000,000, or `--assets` when only that is
    /// given, so `--assets 200000` makes both benchmarks quick).
    pub keys: usize,
    /// Seed of the generator (`--seed`, default 42).
    pub seed: u64,
    /// True when `--assets` was given (benchmarks with a smaller default use theirs otherwise).
    pub assets_given: bool,
    /// Values of the benchmark's own flags (see [`Flags::parse_with`]), by name without `--`.
    pub extra: std::collections::BTreeMap<String, u64>,
}

impl Flags {
    /// Parses `std::env::args`; exits with a usage message on an unknown or malformed flag.
    pub fn parse() -> Flags {
        Self::parse_with(&[])
    }

    /// Like [`Flags::parse`], also accepting the numeric flags `own` (names without `--`), whose
    /// values land in [`Flags::extra`].
    pub fn parse_with(own: &[&str]) -> Flags {
        let mut f = Flags {
            assets: 1_000_000,
            findings: 3,
            runs: 3,
            keys: 0,
            seed: 42,
            assets_given: false,
            extra: Default::default(),
        };
        let mut assets_given = false;
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        while i < args.len() {
            let name = args[i].as_str();
            let value = args.get(i + 1).and_then(|v| v.replace('_', "").parse::<u64>().ok());
            let Some(value) = value else { usage(&format!("{name} needs a number")) };
            match name {
                "--assets" => {
                    f.assets = value as usize;
                    assets_given = true;
                }
                "--findings" => f.findings = value as usize,
                "--runs" | "--rounds" => f.runs = value as usize,
                "--keys" => f.keys = value as usize,
                "--seed" => f.seed = value,
                other => match other.strip_prefix("--").filter(|n| own.contains(n)) {
                    Some(n) => {
                        f.extra.insert(n.to_string(), value);
                    }
                    None => usage(&format!("unknown flag {other}")),
                },
            }
            i += 2;
        }
        if f.keys == 0 {
            f.keys = if assets_given { f.assets } else { 1_000_000 };
        }
        f.assets_given = assets_given;
        if f.assets == 0 || f.findings == 0 || f.runs == 0 {
            usage("--assets, --findings and --runs must be positive");
        }
        f
    }
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "{problem}\nflags: --assets N (1000000) --findings F per asset (3) --runs R (3) \
         --keys K (1000000, or N) --seed S (42)"
    );
    std::process::exit(2)
}

impl Flags {
    /// The value of the benchmark's own flag `name`, or `default`.
    pub fn get(&self, name: &str, default: u64) -> u64 {
        self.extra.get(name).copied().unwrap_or(default)
    }

    /// `--assets` when given, else the benchmark's own default.
    pub fn assets_or(&self, default: usize) -> usize {
        if self.assets_given {
            self.assets
        } else {
            default
        }
    }
}

/// CPU seconds this process has used so far, all threads, user and system (Linux
/// `/proc/self/stat`, in clock ticks of 1/100 s), `NaN` when unknown.
pub fn process_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

/// The load average over the last minute (`/proc/loadavg`), `NaN` when unknown.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Bytes as MiB with two decimals.
pub fn mib(bytes: i64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}
