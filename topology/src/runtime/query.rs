//! Interactive queries: reads of a running stage's state, answered by the stage's own task
//! between records, so the state needs no lock and the hot path pays nothing.
//!
//! Invariant: requests travel on a bounded channel (a burst of queries waits instead of
//! growing memory), and every accepted request gets exactly one reply.

use crate::error::{Error, Result};
use patchline_processors::events::Event;
use patchline_processors::Query;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Requests queued per stage before callers wait.
pub const QUERY_QUEUE: usize = 64;

/// One query and where to send its answer.
pub struct QueryRequest {
    pub query: Query,
    pub reply: oneshot::Sender<Option<Vec<Event>>>,
}

/// The caller's side of a stage's query channel.
#[derive(Clone)]
pub struct QueryHandle {
    tx: mpsc::Sender<QueryRequest>,
}

/// A query channel: the handle for callers, the receiver for the stage's runner.
pub fn query_channel() -> (QueryHandle, mpsc::Receiver<QueryRequest>) {
    let (tx, rx) = mpsc::channel(QUERY_QUEUE);
    (QueryHandle { tx }, rx)
}

impl QueryHandle {
    /// Asks the stage; `Ok(None)` when its processor does not serve this query.
    pub async fn ask(&self, query: Query) -> Result<Option<Vec<Event>>> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(QueryRequest { query, reply })
            .await
            .map_err(|_| Error::Closed("stage stopped".into()))?;
        tokio::time::timeout(Duration::from_secs(10), answer)
            .await
            .map_err(|_| Error::Closed("stage did not answer within 10 s".into()))?
            .map_err(|_| Error::Closed("stage stopped".into()))
    }
}
