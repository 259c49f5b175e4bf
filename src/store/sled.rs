//! The sled backend, the store budget-bot has always had: the same trees and the same bytes,
//! so stores written before the store became a port open unchanged. Every transition is one
//! serializable sled transaction over requests, audit and meta, flushed before it returns.
//! Leases live in their own tree; sled locks its folder to one process, so the leases found
//! when a store is opened were left by a process that died, and are cleared.
//!
//! Two index trees ([`index`]) keep reads proportional to what they return: the open
//! requests and each stock's audit entries, written in the transaction of every change.
//! Finished work moves to an archive next to the store ([`archive`]) when the store is
//! opened, so that what opening costs follows the open work, not the history.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

mod archive;
mod index;

pub use self::archive::archive_path;
pub use self::archive::ArchivePolicy;
pub(crate) use self::archive::Records;
use self::archive::{ArchiveSlot, TREE_ARCHIVED_STOCKS};
pub(crate) use self::index::KEY_INDEXED;
use self::index::{open_key, stock_key, IndexMark, TREE_AUDIT_BY_STOCK, TREE_OPEN};
use super::audit::{self, AuditBreak, AuditEntry, AuditHead};
use super::{AuditIter, AuditNote, CardKey, Cas, Lease, RequestStore, StoreError};
use crate::domain::request::{ChangeRequest, RequestState};

pub(super) const TREE_REQUESTS: &str = "requests";
pub(super) const TREE_AUDIT: &str = "audit";
pub(super) const TREE_CARDS: &str = "cards";
pub(super) const TREE_META: &str = "meta";
const TREE_LEASES: &str = "leases";
const TREE_MARKS: &str = "marks";
pub(crate) const KEY_AUDIT_HEAD: &[u8] = b"audit_head";
pub(crate) const KEY_LAST_REQUEST: &[u8] = b"last_request";

/// sled's page cache by default: the store's working set (open requests, recent audit
/// entries, index pages) fits, and a long history does not grow the process.
pub const DEFAULT_CACHE_CAPACITY: u64 = 8 * 1024 * 1024;

/// How a sled store is opened (`[storage]` in the config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most memory sled's page cache may hold, in bytes.
    pub cache_capacity: u64,
    /// When finished work moves to the archive on open; None: never (a backup reads the
    /// store as it is).
    pub archive: Option<ArchivePolicy>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            archive: Some(ArchivePolicy::default()),
        }
    }
}

/// The first byte of a card index key that carries platform and channel. Keys written before
/// cards had a platform are the bare message id, which never starts with it.
const CARD_KEY_TAG: u8 = 0;

impl StoreError {
    /// Says what stopped sled from opening the folder at `path`.
    fn opening(path: &Path, error: sled::Error) -> Self {
        use std::io::ErrorKind;
        let path = path.display().to_string();
        match error {
            sled::Error::Io(e) if is_lock_error(&e) => StoreError::Locked { path },
            sled::Error::Io(e) if e.kind() == ErrorKind::PermissionDenied => {
                StoreError::PermissionDenied {
                    path,
                    reason: e.to_string(),
                }
            }
            sled::Error::Io(e) if e.kind() == ErrorKind::NotADirectory => {
                StoreError::NotAFolder { path }
            }
            sled::Error::Corruption { at, .. } => StoreError::Damaged {
                path,
                reason: match at {
                    Some(at) => format!("sled found corrupted data at {at:?}"),
                    None => "sled found corrupted data".into(),
                },
            },
            sled::Error::Io(e)
                if matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::InvalidData) =>
            {
                StoreError::Damaged {
                    path,
                    reason: e.to_string(),
                }
            }
            other => StoreError::Open {
                path,
                reason: other.to_string(),
            },
        }
    }
}

/// sled 0.34 reports a folder locked by another process as an `Other` io error "could not
/// acquire lock on …" wrapping the `WouldBlock` of the failed non-blocking `flock`.
fn is_lock_error(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::WouldBlock
        || (error.kind() == std::io::ErrorKind::Other
            && error.to_string().starts_with("could not acquire lock"))
}

/// Opens (or makes) the sled folder at `path`.
fn open_db(path: &Path, cache_capacity: u64) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(path)
        .cache_capacity(cache_capacity)
        .open()
        .map_err(|e| StoreError::opening(path, e))
}

/// The sled store. One per process: sled locks its folder.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    pub(super) requests: sled::Tree,
    pub(super) audit: sled::Tree,
    pub(super) cards: sled::Tree,
    pub(super) meta: sled::Tree,
    leases: sled::Tree,
    pub(super) marks: sled::Tree,
    open: sled::Tree,
    audit_by_stock: sled::Tree,
    archived_stocks: sled::Tree,
    archive: Arc<ArchiveSlot>,
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    what: &str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// The sequence number an audit entry is stored under (0 for a key that is not one).
pub(super) fn audit_key_seq(key: &[u8]) -> u64 {
    key.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store values serialize")
}

/// The card index key of `card`: the bare message id for a legacy key (as always written),
/// else the tag byte and the key as JSON.
pub(super) fn card_key_bytes(card: &CardKey) -> Vec<u8> {
    if card.is_legacy() {
        return card.message.as_bytes().to_vec();
    }
    let mut bytes = vec![CARD_KEY_TAG];
    bytes.extend(encode(&(&card.platform, &card.channel, &card.message)));
    bytes
}

pub(super) fn card_key_from_bytes(bytes: &[u8]) -> Result<CardKey, StoreError> {
    match bytes.split_first() {
        Some((&CARD_KEY_TAG, json)) => {
            let (platform, channel, message): (String, String, String) =
                decode("card index key", json)?;
            Ok(CardKey {
                platform,
                channel,
                message,
            })
        }
        _ => Ok(CardKey::legacy(&utf8("card index key", bytes)?)),
    }
}

pub(super) fn utf8(what: &str, bytes: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::Corrupt {
        what: what.into(),
        reason: "not UTF-8".into(),
    })
}

type TxResult<T> = Result<T, ConflictableTransactionError<TxAbort>>;

/// Why a transaction stopped without writing.
#[derive(Debug)]
enum TxAbort {
    Conflict,
    Exists,
    NotFound,
    Corrupt(StoreError),
}

impl SledStore {
    /// Opens the store at `path` with the default options.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// Opens the store at `path`, indexing it first if its indexes do not cover its log,
    /// and moving finished work to the archive if `options` say it is due.
    pub fn open_with(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        Self::open_live(path, options)?.archive_if_due(path, options)
    }

    /// Opens the live store at `path`; its archive is opened when a read first needs it.
    fn open_live(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        let opening = |e| StoreError::opening(path, e);
        let db = open_db(path, options.cache_capacity)?;
        archive::remove_leftover(path);
        let leases = db.open_tree(TREE_LEASES).map_err(opening)?;
        leases.clear()?;
        let store = Self {
            requests: db.open_tree(TREE_REQUESTS).map_err(opening)?,
            audit: db.open_tree(TREE_AUDIT).map_err(opening)?,
            cards: db.open_tree(TREE_CARDS).map_err(opening)?,
            meta: db.open_tree(TREE_META).map_err(opening)?,
            open: db.open_tree(TREE_OPEN).map_err(opening)?,
            audit_by_stock: db.open_tree(TREE_AUDIT_BY_STOCK).map_err(opening)?,
            archived_stocks: db.open_tree(TREE_ARCHIVED_STOCKS).map_err(opening)?,
            archive: Arc::new(ArchiveSlot::new(path, options)),
            marks: db.open_tree(TREE_MARKS).map_err(opening)?,
            leases,
            db,
        };
        store.index_if_stale()?;
        Ok(store)
    }

    /// One serializable transaction over requests, audit and meta: check that the request is
    /// stored as `expected` (absent, for a create), write `next` and append its audit entry;
    /// then flush to disk. This is the only writer of requests: backup and restore check that
    /// every request matches its last audit entry.
    fn transact(
        &self,
        id: &str,
        expected: Option<&ChangeRequest>,
        next: &ChangeRequest,
        note: &AuditNote,
    ) -> Result<Result<(), TxAbort>, StoreError> {
        let corrupt = |e: StoreError| ConflictableTransactionError::Abort(TxAbort::Corrupt(e));
        let trees = (
            &self.requests,
            &self.audit,
            &self.meta,
            &self.open,
            &self.audit_by_stock,
        );
        let result = trees.transaction(
            |(requests, audit, meta, open, audit_by_stock)| -> TxResult<()> {
                let current: Option<ChangeRequest> = match requests.get(id.as_bytes())? {
                    Some(bytes) => Some(decode(&format!("request {id}"), &bytes).map_err(corrupt)?),
                    None => None,
                };
                match (expected, &current) {
                    (None, Some(_)) => {
                        return Err(ConflictableTransactionError::Abort(TxAbort::Exists))
                    }
                    (Some(_), None) => {
                        return Err(ConflictableTransactionError::Abort(TxAbort::NotFound))
                    }
                    (Some(expected), Some(current)) if expected != current => {
                        return Err(ConflictableTransactionError::Abort(TxAbort::Conflict))
                    }
                    _ => {}
                }
                requests.insert(id.as_bytes(), encode(next))?;
                if expected.is_none() {
                    meta.insert(KEY_LAST_REQUEST, id.as_bytes())?;
                }
                if let Some(current) = &current {
                    open.remove(open_key(current))?;
                }
                if !next.state.is_terminal() {
                    open.insert(open_key(next), &[])?;
                }
                let head: Option<AuditHead> = match meta.get(KEY_AUDIT_HEAD)? {
                    Some(bytes) => Some(decode("audit head", &bytes).map_err(corrupt)?),
                    None => None,
                };
                let entry = AuditEntry::next(head.as_ref(), current.as_ref(), next, note);
                let seq = entry.seq.to_be_bytes();
                audit.insert(&seq, encode(&entry))?;
                audit_by_stock.insert(stock_key(&entry.stock_id, entry.seq), &seq)?;
                meta.insert(KEY_AUDIT_HEAD, encode(&entry.head()))?;
                meta.insert(KEY_INDEXED, encode(&IndexMark::through(entry.seq)))?;
                Ok(())
            },
        );
        match result {
            Ok(()) => {
                self.db.flush()?;
                Ok(Ok(()))
            }
            Err(TransactionError::Abort(TxAbort::Corrupt(e))) => Err(e),
            Err(TransactionError::Abort(refused)) => Ok(Err(refused)),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    pub(super) fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        self.meta
            .get(KEY_AUDIT_HEAD)?
            .map(|bytes| decode("audit head", &bytes))
            .transpose()
    }

    /// Test and repair hook: overwrite an audit entry's bytes as they are stored.
    #[doc(hidden)]
    pub fn raw_audit_tree(&self) -> &sled::Tree {
        &self.audit
    }

    /// Test hook: the meta tree (audit head, last request) as stored.
    #[doc(hidden)]
    pub fn raw_meta_tree(&self) -> &sled::Tree {
        &self.meta
    }

    /// Swaps the lease record on `id` from `old` to `new`; false when it changed meanwhile.
    fn swap_lease(
        &self,
        id: &str,
        old: Option<sled::IVec>,
        new: Option<&Lease>,
    ) -> Result<bool, StoreError> {
        let swapped = self
            .leases
            .compare_and_swap(id.as_bytes(), old, new.map(encode))?;
        Ok(swapped.is_ok())
    }

    fn read_lease(&self, id: &str) -> Result<Option<(sled::IVec, Lease)>, StoreError> {
        match self.leases.get(id.as_bytes())? {
            Some(bytes) => {
                let lease = decode(&format!("lease {id}"), &bytes)?;
                Ok(Some((bytes, lease)))
            }
            None => Ok(None),
        }
    }
}

super::deref_to_port!(SledStore);

impl RequestStore for SledStore {
    fn create(&self, request: &ChangeRequest, note: AuditNote) -> Result<(), StoreError> {
        let id = request.id.as_str();
        match self.transact(id, None, request, &note)? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::exists(id)),
        }
    }

    fn compare_and_set(
        &self,
        id: &str,
        expected: &ChangeRequest,
        next: &ChangeRequest,
        note: AuditNote,
    ) -> Result<Cas, StoreError> {
        match self.transact(id, Some(expected), next, &note)? {
            Ok(()) => Ok(Cas::Swapped),
            Err(TxAbort::NotFound) => Err(StoreError::not_found(id)),
            Err(_) => Ok(Cas::Conflict),
        }
    }

    fn get(&self, id: &str) -> Result<Option<ChangeRequest>, StoreError> {
        self.get_anywhere(Records::Requests, &[id.as_bytes()])?
            .map(|bytes| decode(&format!("request {id}"), &bytes))
            .transpose()
    }

    fn all(&self) -> Result<Vec<ChangeRequest>, StoreError> {
        let mut all = Vec::new();
        for item in self.records(Records::Requests)? {
            let (key, bytes) = item?;
            all.push(decode(
                &format!("request {}", String::from_utf8_lossy(&key)),
                &bytes,
            )?);
        }
        all.sort_by(|a: &ChangeRequest, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    fn open_requests(&self, states: &[RequestState]) -> Result<Vec<ChangeRequest>, StoreError> {
        let mut found = Vec::new();
        for key in self.open.iter().keys() {
            let key = key?;
            let id = utf8("open request index key", key.get(8..).unwrap_or_default())?;
            // Open requests are never archived: the live store answers.
            let request = self.requests.get(id.as_bytes())?;
            let request =
                request.map(|bytes| decode::<ChangeRequest>(&format!("request {id}"), &bytes));
            let request = request.transpose()?.ok_or_else(|| StoreError::Corrupt {
                what: format!("request {id}"),
                reason: "the open-request index names it but it is missing".into(),
            })?;
            if states.contains(&request.state) {
                found.push(request);
            }
        }
        Ok(found)
    }

    fn last(&self) -> Result<Option<ChangeRequest>, StoreError> {
        match self.meta.get(KEY_LAST_REQUEST)? {
            Some(id) => self.get(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    fn link_card(&self, card: &CardKey, request_id: &str) -> Result<(), StoreError> {
        self.cards
            .insert(card_key_bytes(card), request_id.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    fn card_request(&self, card: &CardKey) -> Result<Option<String>, StoreError> {
        let key = card_key_bytes(card);
        let found = if card.is_legacy() {
            self.get_anywhere(Records::Cards, &[&key])?
        } else {
            self.get_anywhere(Records::Cards, &[&key, card.message.as_bytes()])?
        };
        Ok(found.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn audit_iter(&self, stock_id: Option<&str>) -> Result<AuditIter<'_>, StoreError> {
        Ok(match stock_id {
            None => Box::new(self.records(Records::Audit)?.map(|item| {
                let (key, bytes) = item?;
                decode(&format!("audit entry {}", audit_key_seq(&key)), &bytes)
            })),
            Some(stock_id) => Box::new(self.stock_entries_anywhere(stock_id)?),
        })
    }

    fn audit_tail(&self, stock_id: &str, count: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_tail_anywhere(stock_id, count)
    }

    fn verify_audit(&self) -> Result<Result<u64, AuditBreak>, StoreError> {
        let head = self.audit_head()?;
        let entries = self.records(Records::Audit)?.map(|item| {
            let (key, bytes) = item?;
            let entry = serde_json::from_slice(&bytes).map_err(|e| e.to_string());
            Ok((audit_key_seq(&key), entry))
        });
        audit::verify(entries, head.as_ref())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn try_lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        loop {
            let old = match self.read_lease(id)? {
                Some((_, lease)) if lease.is_live() => return Ok(false),
                Some((bytes, _)) => Some(bytes),
                None => None,
            };
            if self.swap_lease(id, old, Some(&Lease::new(holder, ttl)))? {
                return Ok(true);
            }
        }
    }

    fn renew_lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        loop {
            let Some((bytes, lease)) = self.read_lease(id)? else {
                return Ok(false);
            };
            if lease.holder != holder {
                return Ok(false);
            }
            if self.swap_lease(id, Some(bytes), Some(&Lease::new(holder, ttl)))? {
                return Ok(true);
            }
        }
    }

    fn release_lease(&self, id: &str, holder: &str) -> Result<(), StoreError> {
        loop {
            match self.read_lease(id)? {
                Some((bytes, lease)) if lease.holder == holder => {
                    if self.swap_lease(id, Some(bytes), None)? {
                        return Ok(());
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError> {
        Ok(self
            .read_lease(id)?
            .map(|(_, lease)| lease)
            .filter(Lease::is_live))
    }

    fn mark(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.marks
            .get(key.as_bytes())?
            .map(|bytes| utf8(&format!("mark {key}"), &bytes))
            .transpose()
    }

    fn swap_mark(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, StoreError> {
        let swapped = self.marks.compare_and_swap(
            key.as_bytes(),
            expected.map(str::as_bytes),
            new.map(str::as_bytes),
        )?;
        if swapped.is_ok() {
            self.db.flush()?;
        }
        Ok(swapped.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::tests::request;
    use crate::domain::request::RequestState;
    use crate::store::SharedStore;

    /// Opens the store at `path`. sled lets go of a dropped store's folder lock only when its
    /// background threads have finished, a moment after the drop, so a test that reopens the
    /// folder it just closed waits for the lock, up to a deadline (the bot itself never waits
    /// on the lock: a second process gets `Locked` at once).
    pub(super) fn open(path: &std::path::Path) -> Result<SledStore, StoreError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match SledStore::open(path) {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => return other,
            }
        }
    }

    /// A store holding one pending request, approved once.
    pub(super) fn open_with_approved() -> (tempfile::TempDir, SharedStore, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = SharedStore::from(open(&dir.path().join("db")).unwrap());
        let r = request(1);
        store
            .create(&r, AuditNote::new(1000, "requested", None))
            .unwrap();
        store
            .update(r.id.as_str(), |r| {
                let mut next = r.clone();
                next.state = RequestState::Approved;
                Ok::<_, ()>((next, AuditNote::new(2000, "approved", None), ()))
            })
            .unwrap()
            .unwrap();
        (dir, store, r.id.to_string())
    }

    #[test]
    fn requests_cards_and_audit_survive_reopen() {
        let (dir, store, id) = open_with_approved();
        let card = CardKey::new("discord", "111", "42");
        store.index_card(&card, &id).unwrap();
        drop(store);
        let store = open(&dir.path().join("db")).unwrap();
        assert_eq!(store.last().unwrap().unwrap().state, RequestState::Approved);
        assert_eq!(store.card_request(&card).unwrap(), Some(id));
        assert_eq!(store.audit_entries(None).unwrap().len(), 2);
        assert_eq!(store.verify_audit().unwrap(), Ok(2));
    }

    #[test]
    fn marks_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("db")).unwrap();
        assert!(store
            .swap_mark("alert:daily:123:80", None, Some("2027-01-15"))
            .unwrap());
        drop(store);
        let store = open(&dir.path().join("db")).unwrap();
        assert_eq!(
            store.mark("alert:daily:123:80").unwrap().as_deref(),
            Some("2027-01-15")
        );
    }

    #[test]
    fn a_card_indexed_by_earlier_versions_resolves_after_upgrade() {
        let (dir, store, id) = open_with_approved();
        drop(store);
        let raw = open(&dir.path().join("db")).unwrap();
        // The bytes every earlier version wrote: the message id, then the request id.
        raw.cards.insert(b"1234567890", id.as_bytes()).unwrap();
        drop(raw);
        let store = SharedStore::from(open(&dir.path().join("db")).unwrap());
        let card = CardKey::new("discord", "111", "1234567890");
        assert_eq!(store.request_for_card(&card).unwrap(), Some(id.clone()));
        assert_eq!(store.request_for_card("1234567890").unwrap(), Some(id));
    }

    #[test]
    fn backup_and_restore_keep_both_kinds_of_card_key() {
        let (dir, store, id) = open_with_approved();
        store.index_card("77", &id).unwrap();
        let full = CardKey::new("discord", "111", "77");
        store.index_card(&full, &id).unwrap();
        drop(store);
        let file = dir.path().join("backup.jsonl");
        let options = StoreOptions::default();
        crate::store::backup::backup(&dir.path().join("db"), &options, &file).unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(
            written.contains(r#"{"card":{"message_id":"77","request_id""#),
            "a legacy card is written as before: {written}"
        );
        let target_path = dir.path().join("restored");
        let target = open(&target_path).unwrap();
        crate::store::backup::restore(&target, &target_path, &file).unwrap();
        assert_eq!(target.cards.len(), 2);
        assert_eq!(target.card_request(&full).unwrap(), Some(id.clone()));
        assert_eq!(
            target.card_request(&CardKey::legacy("77")).unwrap(),
            Some(id)
        );
    }

    #[test]
    fn leases_of_a_process_that_died_are_cleared_on_open() {
        // sled locks the folder, so whoever held these is gone: its work must resume at once.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = open(&path).unwrap();
        assert!(store
            .try_lease("aaaaaaaa", "dead", Duration::from_secs(3600))
            .unwrap());
        store.flush().unwrap();
        drop(store);
        let store = SharedStore::from(open(&path).unwrap());
        assert!(!store.is_busy("aaaaaaaa"));
        assert!(store.claim_work("aaaaaaaa").is_some());
    }

    #[test]
    fn a_missing_head_is_detected() {
        // The next transition would start again at entry 1 and overwrite it.
        let dir = tempfile::tempdir().unwrap();
        let raw = open(&dir.path().join("db")).unwrap();
        raw.create(&request(1), AuditNote::new(1000, "requested", None))
            .unwrap();
        raw.meta.remove(KEY_AUDIT_HEAD).unwrap();
        let broken = raw.verify_audit().unwrap().unwrap_err();
        assert!(broken.reason.contains("no head"), "{broken:?}");
    }

    #[test]
    fn removed_tail_entry_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let raw = open(&dir.path().join("db")).unwrap();
        let r = request(1);
        raw.create(&r, AuditNote::new(1000, "requested", None))
            .unwrap();
        let mut next = r.clone();
        next.state = RequestState::Approved;
        let note = AuditNote::new(2000, "approved", None);
        assert_eq!(
            raw.compare_and_set(r.id.as_str(), &r, &next, note).unwrap(),
            Cas::Swapped
        );
        raw.raw_audit_tree().remove(2u64.to_be_bytes()).unwrap();
        assert_eq!(raw.verify_audit().unwrap().unwrap_err().seq, 2);
    }

    #[test]
    fn open_errors_say_what_happened() {
        use std::io::{Error, ErrorKind};
        let path = Path::new("/srv/bb/store.sled");
        let says = |error: sled::Error| StoreError::opening(path, error).to_string();
        let locked = says(sled::Error::Io(Error::other(
            "could not acquire lock on \"/srv/bb/store.sled/db\": Os { code: 11, kind: WouldBlock }",
        )));
        assert!(
            locked.contains("is another budget-bot using it?"),
            "{locked}"
        );
        // Run as root, the tests cannot make the OS refuse access; the mapping is checked here.
        let denied = says(sled::Error::Io(Error::from(ErrorKind::PermissionDenied)));
        assert!(
            denied.contains("permission denied on the store at /srv/bb/store.sled"),
            "{denied}"
        );
        let file = says(sled::Error::Io(Error::from(ErrorKind::NotADirectory)));
        assert!(file.contains("is not a folder"), "{file}");
        let damaged = says(sled::Error::Corruption { at: None, bt: () });
        assert!(
            damaged.contains("mv /srv/bb/store.sled /srv/bb/store.sled.damaged")
                && damaged.contains("budget-bot store restore <backup file>"),
            "{damaged}"
        );
        let other = says(sled::Error::Unsupported("segment_size".into()));
        for message in [denied, file, damaged, other] {
            assert!(!message.contains("another budget-bot"), "{message}");
        }
    }
}
