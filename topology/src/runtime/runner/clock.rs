//! What time a stage punctuates at.
//!
//! - [`PunctuationClock::Wall`] (the default): every `punctuate_interval` of real time, at the
//!   current wall-clock time, as `patchline run` always did.
//! - [`PunctuationClock::External`]: time is what the caller says, through an
//!   [`ExternalClock`] shared by the stages (a simulator's clock, or stream time a driver
//!   derives from its records). A stage punctuates at the clock's instant the first time it sees
//!   the clock, then whenever the clock has moved at least `punctuate_interval` past its last
//!   punctuation; the wall clock never triggers anything. After each instant it reports the
//!   instant handled, so a caller can run the stages in lockstep with its own time.
//!
//! Invariant: a stage reports an instant handled only after it punctuated at that instant (when
//! due) and every output it has sent so far, the punctuation's included, is acknowledged by the
//! bus; the clock only moves forward, and a stage never punctuates twice at one instant.

use super::StageRunner;
use crate::error::{Error, Result};
use crate::runtime::{Sink, Source};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::{watch, Notify};

/// The time source of a runner's punctuator.
#[derive(Debug, Clone, Default)]
pub enum PunctuationClock {
    /// Real time, every `punctuate_interval`.
    #[default]
    Wall,
    /// A clock the caller advances (milliseconds since the epoch).
    External(Arc<ExternalClock>),
}

/// A clock advanced by its owner and watched by stages; see the module docs.
#[derive(Debug)]
pub struct ExternalClock {
    now: watch::Sender<i64>,
    /// Subscriber id -> the latest instant it handled (`i64::MIN`: none yet).
    handled: Mutex<BTreeMap<u64, i64>>,
    progress: Notify,
    ids: AtomicU64,
}

impl ExternalClock {
    /// A clock standing at `start`.
    pub fn new(start: i64) -> Arc<ExternalClock> {
        Arc::new(ExternalClock {
            now: watch::Sender::new(start),
            handled: Mutex::new(BTreeMap::new()),
            progress: Notify::new(),
            ids: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, i64>> {
        self.handled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current instant.
    pub fn now(&self) -> i64 {
        *self.now.borrow()
    }

    /// Moves the clock to `t`; an instant at or before the current one changes nothing.
    pub fn advance(&self, t: i64) {
        self.now.send_if_modified(|now| {
            let later = t > *now;
            if later {
                *now = t;
            }
            later
        });
    }

    /// How many stages watch the clock, and the latest instant all of them handled
    /// (`i64::MIN` when one has handled none, or none watches).
    pub fn handled(&self) -> (usize, i64) {
        let handled = self.lock();
        (handled.len(), handled.values().copied().min().unwrap_or(i64::MIN))
    }

    /// Waits until at least `stages` stages watch the clock and each handled `t` or later.
    /// Callers bound the wait (a stage that failed never reports).
    pub async fn wait_handled(&self, t: i64, stages: usize) {
        loop {
            let notified = self.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (n, at) = self.handled();
            if n >= stages && at >= t {
                return;
            }
            notified.await;
        }
    }

    fn subscribe(self: &Arc<Self>) -> Subscription {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, i64::MIN);
        let mut rx = self.now.subscribe();
        // The instant the clock stands at when the stage starts counts as new: it punctuates.
        rx.mark_changed();
        self.progress.notify_waiters();
        Subscription { clock: self.clone(), id, rx, last: None }
    }
}

/// One stage's view of an [`ExternalClock`]; unregisters on drop.
pub(super) struct Subscription {
    clock: Arc<ExternalClock>,
    id: u64,
    rx: watch::Receiver<i64>,
    /// Instant of the stage's last punctuation.
    last: Option<i64>,
}

impl Subscription {
    fn report(&self, t: i64) {
        if let Some(at) = self.clock.lock().get_mut(&self.id) {
            *at = (*at).max(t);
        }
        self.clock.progress.notify_waiters();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.clock.lock().remove(&self.id);
        self.clock.progress.notify_waiters();
    }
}

impl PunctuationClock {
    /// The stage's subscription when the clock is external.
    pub(super) fn subscribe(&self) -> Option<Subscription> {
        match self {
            PunctuationClock::Wall => None,
            PunctuationClock::External(clock) => Some(clock.subscribe()),
        }
    }
}

/// The next instant of an external clock; never resolves for the wall clock or once the clock
/// is gone.
pub(super) async fn next_instant(sub: &mut Option<Subscription>) -> i64 {
    if let Some(s) = sub {
        if s.rx.changed().await.is_ok() {
            return *s.rx.borrow_and_update();
        }
    }
    std::future::pending().await
}

impl<S: Source, K: Sink> StageRunner<S, K> {
    /// Handles instant `t` of an external clock: punctuates when due, waits until every output
    /// sent so far is acknowledged, then reports `t` handled.
    pub(super) async fn external_instant(&mut self, t: i64, sub: &mut Subscription) -> Result<()> {
        let interval =
            i64::try_from(self.config.punctuate_interval.as_millis()).unwrap_or(i64::MAX);
        let due = sub.last.is_none_or(|last| t.saturating_sub(last) >= interval);
        if due {
            self.punctuate(t)?;
            sub.last = Some(t);
        }
        let deadline = Instant::now() + self.config.flush_timeout;
        while self.tracker.in_flight() > 0 {
            if let Some(failure) = self.tracker.failure() {
                return Err(Error::Closed(failure));
            }
            if Instant::now() > deadline {
                return Err(Error::Closed(format!(
                    "stage {}: outputs not acknowledged within {:?} at instant {t}",
                    self.plan.name, self.config.flush_timeout
                )));
            }
            self.tracker.wait_progress().await;
        }
        sub.report(t);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_see_the_start_then_only_later_instants() {
        let clock = ExternalClock::new(100);
        let mut sub = PunctuationClock::External(clock.clone()).subscribe();
        assert_eq!(next_instant(&mut sub).await, 100, "the starting instant counts");
        clock.advance(50);
        clock.advance(100);
        assert_eq!(clock.now(), 100, "the clock never goes back");
        clock.advance(160);
        assert_eq!(next_instant(&mut sub).await, 160);
        assert_eq!(clock.handled(), (1, i64::MIN));
        if let Some(s) = &sub {
            s.report(160);
        }
        tokio::time::timeout(std::time::Duration::from_secs(1), clock.wait_handled(160, 1))
            .await
            .expect("handled");
        drop(sub);
        assert_eq!(clock.handled(), (0, i64::MIN), "a stage that stops no longer counts");
    }
}
