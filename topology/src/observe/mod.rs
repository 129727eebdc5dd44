//! Observability of the runtime: Prometheus metrics in a registry of their own, typed internal
//! events that log and count together, the admin HTTP server (`/metrics`, `/healthz`, `/readyz`)
//! and logging setup.
//!
//! Invariant: everything a stage reports goes through [`StageMetrics`] (directly or through an
//! event of [`events`]), so the metrics, the logs and the health endpoints describe the same
//! process state; nothing here touches records or offsets.

pub mod events;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod queries;

pub use events::{
    ConsumerLagMeasured, OffsetsCommitted, RecordDeadLettered, StageStarted, StageStopped,
    StateSize,
};
pub use http::{router, serve};
pub use logging::init_logging;
pub use metrics::{Metrics, StageMetrics};
pub use queries::query_router;
