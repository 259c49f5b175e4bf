//! One runtime owns time for every adapter: it recovers once at start, runs the sweeps
//! (expiry, unresolved retries, cards never posted) and the ticks (reminders, scheduled
//! changes whose time has come, burn-alert watching), tracks the work in flight and ends it
//! within a bounded grace period at shutdown. Adapters hand it their events' work; none keeps
//! a timer of its own.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::store::StoreError;

use super::{App, AppError};

/// How often pending requests are checked for expiry, and unconfirmed ones retried.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// How often what comes due with time is checked: reminders, scheduled changes, the watch
/// interval. Each check reads only the open-request index (and the stocks, when the watch
/// interval has passed), so a scheduled change applies within this of its time.
pub const TICK_INTERVAL: Duration = Duration::from_secs(1);

/// At shutdown, how long work in flight (handlers, a sweep) may take to finish. Whatever is
/// still running then is dropped: every state change is one atomic store transaction, and a
/// request left Approved or Submitting is resumed by the next start with its stored number.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long dropped work may take to unwind after the grace period.
const SHUTDOWN_DROP_WAIT: Duration = Duration::from_secs(1);

/// The app with its clockwork. Cheap to clone: clones share the work in flight.
#[derive(Clone)]
pub struct Runtime {
    app: Arc<App>,
    work: Work,
}

impl Runtime {
    /// A runtime over `app`, not started: nothing is recovered or swept until
    /// [`Runtime::start`] (tests that recover by hand use it as it is).
    pub fn new(app: Arc<App>) -> Self {
        Self {
            app,
            work: Work::default(),
        }
    }

    /// Recovers once (cards never posted, requests left Approved or Submitting), then sweeps
    /// every `sweep_every` until shutdown; an adapter with no clock of its own (the console)
    /// passes `None` and calls [`Runtime::sweep`] itself. Returns the ids resumed.
    pub async fn start(&self, sweep_every: Option<Duration>) -> Result<Vec<String>, AppError> {
        let resumed = self.app.recover().await?;
        if !resumed.is_empty() {
            tracing::info!(?resumed, "resumed interrupted requests");
        }
        if let Some(interval) = sweep_every {
            self.spawn_sweeps(interval);
        }
        Ok(resumed)
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// One sweep: expire what is past its TTL, post cards never posted, retry requests whose
    /// outcome is unresolved, then [`Runtime::tick`]. Every part runs even when one fails;
    /// the failures are returned (each already logged).
    pub async fn sweep(&self) -> Vec<AppError> {
        let mut failed = Vec::new();
        if let Err(e) = self.app.expire_due().await {
            tracing::error!(error = %e, "expiry sweep failed");
            failed.push(e);
        }
        if let Err(e) = self.app.retry_unresolved().await {
            tracing::error!(error = %e, "retrying unresolved requests failed");
            failed.push(e);
        }
        failed.extend(self.tick().await);
        failed
    }

    /// What comes due with time: reminders, scheduled changes whose time has come, and the
    /// burn-alert watch once its interval has passed (all by the app's clock).
    pub async fn tick(&self) -> Vec<AppError> {
        let mut failed = Vec::new();
        if let Err(e) = self.app.remind_due().await {
            tracing::error!(error = %e, "reminding approvers failed");
            failed.push(e);
        }
        if let Err(e) = self.app.apply_due().await {
            tracing::error!(error = %e, "applying scheduled changes failed");
            failed.push(e);
        }
        if let Err(e) = self.app.watch_due().await {
            tracing::error!(error = %e, "watching the stocks failed");
            failed.push(e);
        }
        failed
    }

    /// Sweeps every `interval` (the first at once) and ticks every [`TICK_INTERVAL`] (or
    /// `interval`, when shorter) in between, until shutdown begins, as tracked work.
    fn spawn_sweeps(&self, interval: Duration) {
        let runtime = self.clone();
        self.work.tasks.spawn(async move {
            let every = interval.min(TICK_INTERVAL);
            let mut ticks = tokio::time::interval(every);
            let mut last_sweep: Option<tokio::time::Instant> = None;
            loop {
                tokio::select! {
                    () = runtime.work.stop.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                let now = tokio::time::Instant::now();
                let sweep = last_sweep.is_none_or(|at| now.duration_since(at) >= interval);
                if sweep {
                    last_sweep = Some(now);
                }
                runtime
                    .run(async {
                        if sweep {
                            runtime.sweep().await;
                        } else {
                            runtime.tick().await;
                        }
                    })
                    .await;
            }
        });
    }

    /// Runs `job` unless shutdown has begun; counted in flight until it ends or is abandoned.
    pub async fn run(&self, job: impl Future<Output = ()>) {
        self.work.run(job).await
    }

    /// Stops new work, lets work in flight finish for up to `grace` (then drops it, to be
    /// resumed by the next start). Returns how many pieces of work were dropped.
    pub async fn finish_work(&self, grace: Duration) -> usize {
        self.work.stop.cancel();
        self.work.tasks.close();
        if tokio::time::timeout(grace, self.work.tasks.wait())
            .await
            .is_ok()
        {
            return 0;
        }
        let dropped = self.work.tasks.len();
        tracing::warn!(
            in_flight = dropped,
            "work still in flight after {grace:?} is dropped; the next start resumes any request it left"
        );
        self.work.abandon.cancel();
        let _ = tokio::time::timeout(SHUTDOWN_DROP_WAIT, self.work.tasks.wait()).await;
        dropped
    }

    /// Writes the store to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.app.store().flush()?;
        Ok(())
    }

    /// The whole bounded stop: [`Runtime::finish_work`] with [`SHUTDOWN_GRACE`], then flush.
    pub async fn shutdown(&self) -> Result<(), StoreError> {
        self.finish_work(SHUTDOWN_GRACE).await;
        self.flush()
    }
}

/// The work in flight (event handlers, sweeps) and how a shutdown ends it.
#[derive(Clone, Default)]
struct Work {
    /// Cancelled when shutdown begins: no new work starts.
    stop: CancellationToken,
    /// Cancelled when the grace period is over: work still running is dropped.
    abandon: CancellationToken,
    /// Every piece of work in flight, so shutdown can wait for it.
    tasks: TaskTracker,
}

impl Work {
    async fn run(&self, job: impl Future<Output = ()>) {
        // Tracked before the check: a shutdown that begins after the check waits for it.
        let tracked = self.tasks.track_future(async {
            if self.stop.is_cancelled() {
                return;
            }
            tokio::select! {
                () = job => {}
                () = self.abandon.cancelled() => {}
            }
        });
        tracked.await
    }
}
