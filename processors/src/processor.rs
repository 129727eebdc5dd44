//! The processor contract between stage logic and the runtime.
//!
//! Invariant: `process` is deterministic and side-effect free apart from the processor's own
//! state; outputs are pushed in a deterministic order. `restore` rebuilds the same state as
//! `process` without producing outputs, so the runtime can replay a source topic after a restart.

use crate::error::ProcessError;
use crate::events::{Event, EventKind};

/// A read of a processor's state (an interactive query, like Kafka Streams').
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Open exposures of an asset.
    AssetExposures(String),
    /// Open exposures of a vulnerability, by any of its ids.
    VulnerabilityExposures(String),
}

/// One number about a model, e.g. `(patch_failure, version, 7)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelGauge {
    pub model: String,
    pub metric: &'static str,
    pub value: f64,
}

/// Stage logic driven by the runtime.
pub trait Processor: Send {
    /// Short name, used in logs and metrics.
    fn name(&self) -> &'static str;

    /// Event kinds this processor emits; the topology maps each to an output topic.
    fn output_kinds(&self) -> &'static [EventKind];

    /// Processes one input event, appending outputs to `out`.
    fn process(&mut self, event: Event, out: &mut Vec<Event>) -> Result<(), ProcessError>;

    /// Applies an already-processed input to the state without emitting (used when restoring).
    fn restore(&mut self, event: Event) -> Result<(), ProcessError> {
        let mut sink = Vec::new();
        self.process(event, &mut sink)
    }

    /// Drops the partitioned state of every key (the record key of the partitioned inputs, e.g.
    /// an asset id) for which `keep` is false: the runtime calls it when partitions move to
    /// another instance. Global tables stay. Processors without partitioned state ignore it.
    fn retain_partitioned(&mut self, keep: &dyn Fn(&str) -> bool) {
        let _ = keep;
    }

    /// The state key under which `event` (just processed) is now the stored value, if it is:
    /// the runtime then writes the input record to the input's changelog under that key. `None`
    /// for inputs that changed nothing (a stale report) or that are not partitioned state.
    fn changelog_key(&self, event: &Event) -> Option<String> {
        let _ = event;
        None
    }

    /// Forgets what was emitted for the partitioned keys `which` selects, so that the next
    /// evaluation of each emits again. Used after restoring from a changelog, which may hold
    /// the effect of inputs whose outputs were never delivered.
    fn forget_emitted(&mut self, which: &dyn Fn(&str) -> bool) {
        let _ = which;
    }

    /// Called periodically with the current time (a punctuator, as in Kafka Streams): time-driven
    /// work such as promoting waves or timing out outcomes. Outputs go to `out` like
    /// `process`'s. Must stay deterministic in `now_ms` and the state.
    fn punctuate(&mut self, now_ms: i64, out: &mut Vec<Event>) {
        let _ = (now_ms, out);
    }

    /// Answers a query from the state; `None` when this processor does not serve it.
    fn query(&self, query: &Query) -> Option<Vec<Event>> {
        let _ = query;
        None
    }

    /// Numbers of the online models this processor trains or serves, for the
    /// `patchline_model{model,metric}` gauge.
    fn model_gauges(&self) -> Vec<ModelGauge> {
        Vec::new()
    }

    /// Number of entries per state store, for the `patchline_state_entries` gauge.
    fn state_sizes(&self) -> Vec<(&'static str, usize)> {
        Vec::new()
    }
}
