//! Process-wide logging with `tracing-subscriber`: human-readable lines by default, one JSON
//! object per line when asked, filtered by `RUST_LOG` (default `info`), written to stderr so that
//! stdout stays free for command output; colours only when stderr is a terminal.
//!
//! Invariant: at most one global subscriber is ever installed; calling [`init_logging`] again (or
//! after another subscriber was installed, e.g. by a test harness) changes nothing and never
//! panics.

use std::io::IsTerminal as _;
use tracing_subscriber::EnvFilter;

/// Filter used when `RUST_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info";

/// Installs the global subscriber; `json` selects JSON lines. Returns whether this call
/// installed it (`false` when one was already installed).
pub fn init_logging(json: bool) -> bool {
    init_logging_with(json, DEFAULT_FILTER)
}

/// Like [`init_logging`], with the filter to use when `RUST_LOG` is unset (e.g. `warn` for
/// commands whose stdout is the product, like `demo`).
pub fn init_logging_with(json: bool, default_filter: &str) -> bool {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = if json { builder.json().try_init() } else { builder.try_init() };
    installed.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_logging_is_idempotent() {
        let _first = init_logging(false);
        assert!(!init_logging(true), "a second subscriber must not be installed");
        tracing::info!(check = true, "logging initialised");
    }
}
