//! The one error type of the `patchline` binary. Invariant: every failure the CLI reports says
//! which part failed (configuration, runtime, feed data) and carries the underlying cause.

use crate::feeds::FeedError;

/// Errors of the command line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags, config file or environment.
    #[error("configuration: {0}")]
    Config(String),
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] patchline_topology::Error),
    /// A feed file could not be read or parsed.
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// `patchline eval` cannot evaluate the split it was given.
    #[error("eval: {0}")]
    Eval(String),
    /// File or terminal I/O.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Result with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;
