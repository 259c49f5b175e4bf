//! The handle the app holds on any backend, and the work leases it takes through it: a lease
//! is a record in the store (holder, expiry), so every process sharing a store respects it,
//! kept alive while its guard lives and released when the guard drops.

use std::ops::Deref;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use super::RequestStore;

/// How long a lease lasts unless renewed. Its guard renews it every third of this, so only a
/// holder that died (or hangs) loses it, and others may take the request over after this.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// A cheap-clone handle on a store backend, with the identity its leases are taken under.
#[derive(Clone)]
pub struct SharedStore {
    inner: Arc<dyn RequestStore>,
    holder: Arc<str>,
    lease_ttl: Duration,
}

impl SharedStore {
    /// A handle with its own lease holder: this process id and a random part, so two
    /// processes (or two handles) never take each other's leases for their own.
    pub fn new(inner: Arc<dyn RequestStore>) -> Self {
        let holder = format!("pid{}-{:016x}", std::process::id(), rand::random::<u64>());
        Self {
            inner,
            holder: holder.into(),
            lease_ttl: DEFAULT_LEASE_TTL,
        }
    }

    /// The same handle with leases that last `ttl` unless renewed.
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// The backend itself, shared.
    pub fn backend(&self) -> Arc<dyn RequestStore> {
        self.inner.clone()
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Leases `id` to the caller until the guard drops; `None` when another worker (of this
    /// process or another) holds it. A store that cannot be read also gives `None`: skipping
    /// work that the next sweep retries is safe, doing it twice is not.
    pub fn claim_work(&self, id: &str) -> Option<WorkGuard> {
        match self.inner.try_lease(id, &self.holder, self.lease_ttl) {
            Ok(true) => Some(WorkGuard::start(self, id)),
            Ok(false) => None,
            Err(e) => {
                tracing::error!(request = %id, error = %e, "could not take the work lease");
                None
            }
        }
    }

    /// True while some worker holds a live lease on `id` (or the store cannot say).
    pub fn is_busy(&self, id: &str) -> bool {
        match self.inner.lease(id) {
            Ok(lease) => lease.is_some(),
            Err(e) => {
                tracing::error!(request = %id, error = %e, "could not read the work lease");
                true
            }
        }
    }
}

impl Deref for SharedStore {
    type Target = dyn RequestStore;

    fn deref(&self) -> &Self::Target {
        &*self.inner
    }
}

impl From<Arc<dyn RequestStore>> for SharedStore {
    fn from(inner: Arc<dyn RequestStore>) -> Self {
        Self::new(inner)
    }
}

impl<S: RequestStore + 'static> From<S> for SharedStore {
    fn from(store: S) -> Self {
        Self::new(Arc::new(store))
    }
}

/// Held while a request is worked on; see [`SharedStore::claim_work`]. A thread renews the
/// lease until the guard drops, which releases it at once.
pub struct WorkGuard {
    store: Arc<dyn RequestStore>,
    holder: Arc<str>,
    id: String,
    /// Dropping the sender stops the renewal thread, which holds the store until it ends.
    renewal: Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl WorkGuard {
    fn start(handle: &SharedStore, id: &str) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let (store, holder, ttl) = (
            handle.inner.clone(),
            handle.holder.clone(),
            handle.lease_ttl,
        );
        let request = id.to_string();
        let renewal = std::thread::Builder::new()
            .name("lease-renewal".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(ttl / 3) {
                    match store.renew_lease(&request, &holder, ttl) {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(request = %request, "the work lease was lost before the work finished");
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(request = %request, error = %e, "could not renew the work lease")
                        }
                    }
                }
            });
        let renewal = match renewal {
            Ok(thread) => Some((stop, thread)),
            Err(e) => {
                tracing::warn!(request = %id, error = %e, "cannot renew the work lease; it lasts {ttl:?}");
                None
            }
        };
        Self {
            store: handle.inner.clone(),
            holder: handle.holder.clone(),
            id: id.to_string(),
            renewal,
        }
    }
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.renewal.take() {
            drop(stop);
            // Waits for at most one renewal: a store reopened next (sled locks its folder)
            // must not find it still held by this thread.
            let _ = thread.join();
        }
        if let Err(e) = self.store.release_lease(&self.id, &self.holder) {
            tracing::warn!(request = %self.id, error = %e, "could not release the work lease; it expires on its own");
        }
    }
}
