//! The store port: change requests, the card → request index, the hash-chained audit log and
//! work leases, behind [`RequestStore`], so the app does not know which backend holds them.
//! Every state change is one compare-and-set that writes the request and appends its audit
//! entry atomically. Backends: [`sled`] (today's on-disk store, [`Store`]) and [`memory`]
//! (for fast tests); [`audit`] is the chain they share, [`backup`] the sled store's backup.

/// Callers holding a concrete store reach the port's methods and conveniences (`update`,
/// `index_card`, …) without naming the trait, as they did before the store was a port.
macro_rules! deref_to_port {
    ($store:ty) => {
        impl std::ops::Deref for $store {
            type Target = dyn $crate::store::RequestStore;

            fn deref(&self) -> &Self::Target {
                self
            }
        }
    };
}
use deref_to_port;

pub mod audit;
pub mod backup;
pub mod configured;
pub mod leader;
mod lease;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sled;

#[cfg(test)]
mod contract;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::request::{ActorRef, ChangeRequest, RequestState};

pub use audit::{AuditBreak, AuditEntry, AuditHead, GENESIS_HASH};
pub use lease::{SharedStore, WorkGuard, DEFAULT_LEASE_TTL};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use sled::{archive_path, ArchivePolicy, SledStore, StoreOptions, DEFAULT_CACHE_CAPACITY};

/// Today's store, under the name every caller knows.
pub type Store = SledStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {path} is locked by another process (is another budget-bot using it?): stop that process first; `budget-bot store backup FILE` works while it runs")]
    Locked { path: String },
    #[error("permission denied on the store at {path} ({reason}): run budget-bot as the user that owns the folder, or give that user read and write access to it (chown, chmod)")]
    PermissionDenied { path: String, reason: String },
    #[error("the store path {path} is not a folder (a file is there, or in its way): point [storage] path at a folder, or move the file away")]
    NotAFolder { path: String },
    #[error("the store at {path} is damaged and cannot be opened ({reason}). Move the folder aside (mv {path} {path}.damaged), then restore your latest backup into a new, empty store: budget-bot store restore <backup file>")]
    Damaged { path: String, reason: String },
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("store error: {0}")]
    Sled(#[from] ::sled::Error),
    #[error("store holds unreadable data at {what}: {reason}")]
    Corrupt { what: String, reason: String },
    /// A shared database failed; `target` names it (host, database, user), never a password.
    #[error("{target}: {reason}")]
    Database { target: String, reason: String },
}

impl StoreError {
    fn not_found(id: &str) -> Self {
        StoreError::Corrupt {
            what: format!("request {id}"),
            reason: "not found".into(),
        }
    }

    fn exists(id: &str) -> Self {
        StoreError::Corrupt {
            what: format!("request {id}"),
            reason: format!("a request with id {id} already exists"),
        }
    }
}

/// What the caller says about a transition; the store fills in the rest.
#[derive(Clone, Debug, Default)]
pub struct AuditNote {
    pub at: u64,
    pub actor: Option<ActorRef>,
    pub action: String,
    pub api_request_id: Option<String>,
    pub detail: Option<String>,
    /// `detail` as a catalogue message (see [`AuditEntry::reason`]).
    pub reason: Option<crate::domain::i18n::Message>,
}

impl AuditNote {
    pub fn new(at: u64, action: &str, actor: Option<ActorRef>) -> Self {
        Self {
            at,
            actor,
            action: action.to_string(),
            ..Self::default()
        }
    }
}

pub use crate::domain::request::CardKey;

/// Audit entries read one at a time (see [`RequestStore::audit_iter`]).
pub type AuditIter<'a> = Box<dyn Iterator<Item = Result<AuditEntry, StoreError>> + 'a>;

/// Whether a compare-and-set wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cas {
    Swapped,
    /// The stored request was no longer the expected one; nothing was written.
    Conflict,
}

/// A claim on working on one request (posting its card, applying it), held by one worker of
/// one process until `expires_at_ms` (Unix milliseconds) unless renewed or released.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub holder: String,
    pub expires_at_ms: u64,
}

impl Lease {
    pub(crate) fn new(holder: &str, ttl: Duration) -> Self {
        Self {
            holder: holder.to_string(),
            expires_at_ms: now_ms().saturating_add(ttl.as_millis() as u64),
        }
    }

    pub fn is_live(&self) -> bool {
        self.expires_at_ms > now_ms()
    }
}

/// Wall-clock milliseconds: leases are compared across processes, so not a monotonic clock.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where requests, cards, the audit log and leases live. Object-safe: the app holds an
/// `Arc<dyn RequestStore>` (through [`SharedStore`]); the generic conveniences the app calls
/// (`update`, `index_card`, `request_for_card`) are built on these methods below.
pub trait RequestStore: Send + Sync {
    /// Stores a new request with its first audit entry, atomically, and makes it `last`.
    /// An id that is already stored is refused.
    fn create(&self, request: &ChangeRequest, note: AuditNote) -> Result<(), StoreError>;

    /// Stores `next` under `id` and appends its audit entry, atomically, if the stored request
    /// is still `expected`; durable before it returns [`Cas::Swapped`].
    fn compare_and_set(
        &self,
        id: &str,
        expected: &ChangeRequest,
        next: &ChangeRequest,
        note: AuditNote,
    ) -> Result<Cas, StoreError>;

    fn get(&self, id: &str) -> Result<Option<ChangeRequest>, StoreError>;

    /// All requests, oldest first. Reads the whole store: for backups, tests and tools, never
    /// for a command or a sweep (they use [`RequestStore::open_requests`]).
    fn all(&self) -> Result<Vec<ChangeRequest>, StoreError>;

    /// Requests in any of `states`, oldest first. Reads the whole store, like `all`.
    fn in_state(&self, states: &[RequestState]) -> Result<Vec<ChangeRequest>, StoreError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|r| states.contains(&r.state))
            .collect())
    }

    /// The open requests (those not in a terminal state) that are in one of `states`, oldest
    /// first (by `created_at`, then id), as `in_state` orders them. Read from an index of
    /// open requests kept in the transaction of every change, so the cost follows how many
    /// requests are open, not how many were ever stored. A terminal state matches nothing.
    fn open_requests(&self, states: &[RequestState]) -> Result<Vec<ChangeRequest>, StoreError>;

    /// The most recently created request, across restarts, read without a scan.
    fn last(&self) -> Result<Option<ChangeRequest>, StoreError>;

    /// Remembers which request a posted card belongs to.
    fn link_card(&self, card: &CardKey, request_id: &str) -> Result<(), StoreError>;

    /// The request whose card is `card`. A card indexed before cards had a platform (a
    /// legacy key) is found by its message id.
    fn card_request(&self, card: &CardKey) -> Result<Option<String>, StoreError>;

    /// Audit entries in order, optionally for one stock, read one at a time as the iterator
    /// is advanced; one stock's entries are found through the stock index, not by a scan.
    fn audit_iter(&self, stock_id: Option<&str>) -> Result<AuditIter<'_>, StoreError>;

    /// Audit entries in order, optionally for one stock, collected: for tests and tools.
    fn audit_entries(&self, stock_id: Option<&str>) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_iter(stock_id)?.collect()
    }

    /// The newest `count` audit entries of `stock_id`, newest first, read through an index
    /// from stock to its entries: the cost follows `count`, not the length of the log.
    fn audit_tail(&self, stock_id: &str, count: usize) -> Result<Vec<AuditEntry>, StoreError>;

    /// Checks every entry's hash and link, and the head; names the first broken entry.
    /// Streams: one entry at a time is held.
    fn verify_audit(&self) -> Result<Result<u64, AuditBreak>, StoreError>;

    fn flush(&self) -> Result<(), StoreError>;

    /// Takes the lease on `id` for `holder` unless another live lease holds it (its own
    /// included: one worker at a time). True when taken.
    fn try_lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Extends `holder`'s lease on `id`; false when it no longer holds it.
    fn renew_lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Ends `holder`'s lease on `id`, if it still holds it.
    fn release_lease(&self, id: &str, holder: &str) -> Result<(), StoreError>;

    /// The live lease on `id`, if any.
    fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError>;

    /// A small value remembered under `key` across restarts (burn-alert marks, the last seen
    /// state of a stock), outside requests and the audit log.
    fn mark(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Sets `key` to `new` (`None` removes it) if it still holds `expected` (`None`: absent),
    /// atomically and durably; true when it did, false when the value had changed.
    fn swap_mark(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, StoreError>;
}

impl dyn RequestStore {
    /// Applies `change` to the stored request atomically: `change` sees the request as stored
    /// right now (it may run more than once under contention) and returns the next version, an
    /// audit note and a value, or a refusal that writes nothing. The outer error is the store's.
    pub fn update<T, E>(
        &self,
        id: &str,
        change: impl Fn(&ChangeRequest) -> Result<(ChangeRequest, AuditNote, T), E>,
    ) -> Result<Result<(ChangeRequest, T), E>, StoreError> {
        loop {
            let current = self.get(id)?.ok_or_else(|| StoreError::not_found(id))?;
            let (next, note, value) = match change(&current) {
                Ok(step) => step,
                Err(refusal) => return Ok(Err(refusal)),
            };
            match self.compare_and_set(id, &current, &next, note)? {
                Cas::Swapped => return Ok(Ok((next, value))),
                Cas::Conflict => continue,
            }
        }
    }

    /// Remembers which request a posted card belongs to; `card` is a [`CardKey`] or, as
    /// today's callers name cards, a bare message id.
    pub fn index_card(&self, card: impl Into<CardKey>, request_id: &str) -> Result<(), StoreError> {
        self.link_card(&card.into(), request_id)
    }

    /// The request whose card is `card` (a [`CardKey`] or a bare message id), if any.
    pub fn request_for_card(&self, card: impl Into<CardKey>) -> Result<Option<String>, StoreError> {
        self.card_request(&card.into())
    }
}
