//! The sled store: change requests, the card → request index, and the hash-chained audit log.
//! Every state change is one serializable sled transaction that checks the state it read
//! (compare-and-swap) and appends its audit entry, and is flushed before the caller moves on.
//! [`backup`] writes and restores the whole store as checked JSON lines.

pub mod backup;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::domain::request::{ActorRef, ChangeRequest, RequestState};

/// The chain's first `prev_hash`.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const TREE_REQUESTS: &str = "requests";
const TREE_AUDIT: &str = "audit";
const TREE_CARDS: &str = "cards";
const TREE_META: &str = "meta";
const KEY_AUDIT_HEAD: &[u8] = b"audit_head";
const KEY_LAST_REQUEST: &[u8] = b"last_request";

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
    Sled(#[from] sled::Error),
    #[error("store holds unreadable data at {what}: {reason}")]
    Corrupt { what: String, reason: String },
}

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

/// One audit log entry. `hash` is the SHA-256 of the entry without `hash`, which includes
/// `prev_hash`, so changing any entry breaks the chain from there on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: u64,
    pub request_id: String,
    pub stock_id: String,
    pub actor: Option<ActorRef>,
    pub action: String,
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub field: String,
    pub before: i64,
    pub after: i64,
    pub api_request_id: Option<String>,
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        let bytes = serde_json::to_vec(&unhashed).expect("audit entries serialize");
        hex(&Sha256::digest(&bytes))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the caller says about a transition; the store fills in the rest.
#[derive(Clone, Debug, Default)]
pub struct AuditNote {
    pub at: u64,
    pub actor: Option<ActorRef>,
    pub action: String,
    pub api_request_id: Option<String>,
    pub detail: Option<String>,
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

/// The last audit entry, kept in meta so the next transition links to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

/// The audit chain checked entry by entry, in order: sequence numbers from 1, each entry
/// linked to the one before, each hash matching its entry's contents.
pub(crate) struct ChainCheck {
    prev: String,
    count: u64,
}

impl ChainCheck {
    pub(crate) fn new() -> Self {
        Self {
            prev: GENESIS_HASH.to_string(),
            count: 0,
        }
    }

    /// Takes the next entry, stored under `key_seq`.
    pub(crate) fn push(&mut self, key_seq: u64, entry: &AuditEntry) -> Result<(), AuditBreak> {
        let expected_seq = self.count + 1;
        let broken = |reason: String| {
            Err(AuditBreak {
                seq: key_seq,
                reason,
            })
        };
        if entry.seq != key_seq || key_seq != expected_seq {
            return broken(format!(
                "sequence number {} where {expected_seq} was expected",
                entry.seq
            ));
        }
        if entry.prev_hash != self.prev {
            return broken("prev_hash does not match the previous entry's hash".into());
        }
        if entry.compute_hash() != entry.hash {
            return broken("hash does not match the entry's contents (it was changed)".into());
        }
        self.prev.clone_from(&entry.hash);
        self.count = expected_seq;
        Ok(())
    }

    /// Checks that `head` names the last entry taken (and is absent only when there is none):
    /// the next transition links to the head, so a wrong one would fork the chain.
    pub(crate) fn finish(&self, head: Option<&AuditHead>) -> Result<u64, AuditBreak> {
        let end = (self.count > 0).then(|| AuditHead {
            seq: self.count,
            hash: self.prev.clone(),
        });
        if head == end.as_ref() {
            return Ok(self.count);
        }
        let reason = match head {
            Some(head) if head.seq > self.count => format!(
                "the log ends at entry {} but the head records entry {}: entries were removed",
                self.count, head.seq
            ),
            Some(head) => format!(
                "the head records entry {} with another hash than the log's entry {}",
                head.seq, self.count
            ),
            None => format!("the log has {} entries but no head", self.count),
        };
        Err(AuditBreak {
            seq: self.count + 1,
            reason,
        })
    }
}

/// Held while a request is worked on; see [`Store::claim_work`].
pub struct WorkGuard {
    set: Arc<Mutex<HashSet<String>>>,
    id: String,
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

/// Where the audit chain first breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditBreak {
    pub seq: u64,
    pub reason: String,
}

/// The store. One per process: sled locks its folder.
#[derive(Clone)]
pub struct Store {
    /// Requests some worker of this process is working on right now (posting the card,
    /// applying). Shared by every clone, so no two workers of one process post or send the same
    /// request at once; sled's folder lock keeps other processes out.
    busy: Arc<Mutex<HashSet<String>>>,
    db: sled::Db,
    requests: sled::Tree,
    audit: sled::Tree,
    cards: sled::Tree,
    meta: sled::Tree,
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// The sequence number an audit entry is stored under (0 for a key that is not one).
fn audit_key_seq(key: &[u8]) -> u64 {
    key.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store values serialize")
}

type TxResult<T, E> = Result<T, ConflictableTransactionError<TxAbort<E>>>;

/// Why a transaction stopped without writing: the caller's refusal or bad stored data.
#[derive(Debug)]
enum TxAbort<E> {
    Refused(E),
    Corrupt(StoreError),
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let opening = |e| StoreError::opening(path, e);
        let db = sled::Config::new().path(path).open().map_err(opening)?;
        Ok(Self {
            requests: db.open_tree(TREE_REQUESTS).map_err(opening)?,
            audit: db.open_tree(TREE_AUDIT).map_err(opening)?,
            cards: db.open_tree(TREE_CARDS).map_err(opening)?,
            meta: db.open_tree(TREE_META).map_err(opening)?,
            busy: Arc::default(),
            db,
        })
    }

    /// Stores a new request with its first audit entry, atomically, and makes it `last`.
    pub fn create(&self, request: &ChangeRequest, note: AuditNote) -> Result<(), StoreError> {
        let id = request.id.as_str();
        let created = self.transact(id, true, |current| match current {
            Some(_) => Err(format!("a request with id {id} already exists")),
            None => Ok((request.clone(), note.clone(), ())),
        })?;
        created.map(|_| ()).map_err(|reason| StoreError::Corrupt {
            what: format!("request {id}"),
            reason,
        })
    }

    /// Applies `change` to the stored request atomically: `change` sees the request as stored
    /// right now (it may run more than once under contention) and returns the next version, an
    /// audit note and a value, or a refusal that writes nothing. The outer error is the store's.
    pub fn update<T, E>(
        &self,
        id: &str,
        change: impl Fn(&ChangeRequest) -> Result<(ChangeRequest, AuditNote, T), E>,
    ) -> Result<Result<(ChangeRequest, T), E>, StoreError> {
        let not_found = || StoreError::Corrupt {
            what: format!("request {id}"),
            reason: "not found".into(),
        };
        let outcome = self.transact(id, false, |current| match current {
            None => Err(None),
            Some(current) => change(current).map_err(Some),
        })?;
        match outcome {
            Ok(done) => Ok(Ok(done)),
            Err(Some(refusal)) => Ok(Err(refusal)),
            Err(None) => Err(not_found()),
        }
    }

    /// One serializable transaction over requests, audit and meta: read the request, let
    /// `step` decide, write the result and append its audit entry; then flush to disk. This is
    /// the only writer of requests: backup and restore check that every request matches its
    /// last audit entry.
    fn transact<T, E>(
        &self,
        id: &str,
        is_create: bool,
        step: impl Fn(Option<&ChangeRequest>) -> Result<(ChangeRequest, AuditNote, T), E>,
    ) -> Result<Result<(ChangeRequest, T), E>, StoreError> {
        let abort_corrupt =
            |e: StoreError| ConflictableTransactionError::Abort(TxAbort::<E>::Corrupt(e));
        let result = (&self.requests, &self.audit, &self.meta).transaction(
            |(requests, audit, meta)| -> TxResult<(ChangeRequest, T), E> {
                let current: Option<ChangeRequest> = match requests.get(id.as_bytes())? {
                    Some(bytes) => {
                        Some(decode(&format!("request {id}"), &bytes).map_err(abort_corrupt)?)
                    }
                    None => None,
                };
                let (next, note, value) = step(current.as_ref())
                    .map_err(|e| ConflictableTransactionError::Abort(TxAbort::Refused(e)))?;
                requests.insert(id.as_bytes(), encode(&next))?;
                if is_create {
                    meta.insert(KEY_LAST_REQUEST, id.as_bytes())?;
                }
                let head: Option<AuditHead> = match meta.get(KEY_AUDIT_HEAD)? {
                    Some(bytes) => Some(decode("audit head", &bytes).map_err(abort_corrupt)?),
                    None => None,
                };
                let (seq, prev_hash) = head
                    .map(|h| (h.seq + 1, h.hash))
                    .unwrap_or((1, GENESIS_HASH.to_string()));
                let mut entry = AuditEntry {
                    seq,
                    at: note.at,
                    request_id: next.id.to_string(),
                    stock_id: next.stock_id.clone(),
                    actor: note.actor.clone(),
                    action: note.action.clone(),
                    from: current.as_ref().map(|c| c.state),
                    to: next.state,
                    field: next.mode.field_name().to_string(),
                    before: next.current,
                    after: next.target,
                    api_request_id: note.api_request_id.clone(),
                    detail: note.detail.clone(),
                    prev_hash,
                    hash: String::new(),
                };
                entry.hash = entry.compute_hash();
                audit.insert(&seq.to_be_bytes(), encode(&entry))?;
                meta.insert(
                    KEY_AUDIT_HEAD,
                    encode(&AuditHead {
                        seq,
                        hash: entry.hash.clone(),
                    }),
                )?;
                Ok((next, value))
            },
        );
        match result {
            Ok(done) => {
                self.db.flush()?;
                Ok(Ok(done))
            }
            Err(TransactionError::Abort(TxAbort::Refused(e))) => Ok(Err(e)),
            Err(TransactionError::Abort(TxAbort::Corrupt(e))) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Marks `id` as worked on by the caller until the guard drops; `None` when another worker
    /// of this process is working on it.
    pub fn claim_work(&self, id: &str) -> Option<WorkGuard> {
        let mut set = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(id.to_string()).then(|| WorkGuard {
            set: self.busy.clone(),
            id: id.to_string(),
        })
    }

    /// True while some worker of this process is working on `id`.
    pub fn is_busy(&self, id: &str) -> bool {
        self.busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    pub fn get(&self, id: &str) -> Result<Option<ChangeRequest>, StoreError> {
        self.requests
            .get(id.as_bytes())?
            .map(|bytes| decode(&format!("request {id}"), &bytes))
            .transpose()
    }

    /// The most recently created request, across restarts.
    pub fn last(&self) -> Result<Option<ChangeRequest>, StoreError> {
        match self.meta.get(KEY_LAST_REQUEST)? {
            Some(id) => self.get(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    /// All requests, oldest first.
    pub fn all(&self) -> Result<Vec<ChangeRequest>, StoreError> {
        let mut all = Vec::new();
        for item in self.requests.iter() {
            let (key, bytes) = item?;
            all.push(decode(
                &format!("request {}", String::from_utf8_lossy(&key)),
                &bytes,
            )?);
        }
        all.sort_by(|a: &ChangeRequest, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    pub fn in_state(&self, states: &[RequestState]) -> Result<Vec<ChangeRequest>, StoreError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|r| states.contains(&r.state))
            .collect())
    }

    /// Remembers which request a posted card belongs to.
    pub fn index_card(&self, message_id: &str, request_id: &str) -> Result<(), StoreError> {
        self.cards
            .insert(message_id.as_bytes(), request_id.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// The request whose card is `message_id`, if any.
    pub fn request_for_card(&self, message_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .cards
            .get(message_id.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Audit entries in order, optionally for one stock.
    pub fn audit_entries(&self, stock_id: Option<&str>) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = Vec::new();
        for item in self.audit.iter() {
            let (key, bytes) = item?;
            let entry: AuditEntry = decode(&format!("audit entry {key:?}"), &bytes)?;
            if stock_id.is_none_or(|s| s == entry.stock_id) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Checks every entry's hash and link, and the head; names the first broken entry.
    pub fn verify_audit(&self) -> Result<Result<u64, AuditBreak>, StoreError> {
        let mut chain = ChainCheck::new();
        for item in self.audit.iter() {
            let (key, bytes) = item?;
            let seq = audit_key_seq(&key);
            let entry: AuditEntry = match serde_json::from_slice(&bytes) {
                Ok(entry) => entry,
                Err(e) => {
                    return Ok(Err(AuditBreak {
                        seq,
                        reason: format!("entry is not readable: {e}"),
                    }))
                }
            };
            if let Err(broken) = chain.push(seq, &entry) {
                return Ok(Err(broken));
            }
        }
        Ok(chain.finish(self.audit_head()?.as_ref()))
    }

    fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
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

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::tests::request;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        (dir, store)
    }

    /// A store holding one pending request.
    fn open_with_request() -> (tempfile::TempDir, Store, ChangeRequest) {
        let (dir, store) = open();
        let r = request(1);
        store
            .create(&r, AuditNote::new(1000, "requested", None))
            .unwrap();
        (dir, store, r)
    }

    fn approve(store: &Store, id: &str) -> Result<Result<(ChangeRequest, ()), String>, StoreError> {
        store.update(id, |r| {
            if r.state != RequestState::Pending {
                return Err(format!("already {}", r.state));
            }
            let mut next = r.clone();
            next.state = RequestState::Approved;
            Ok((next, AuditNote::new(2000, "approved", None), ()))
        })
    }

    #[test]
    fn create_update_and_last_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let r = request(1);
        {
            let store = Store::open(&path).unwrap();
            store
                .create(
                    &r,
                    AuditNote::new(1000, "requested", Some(r.requester.clone())),
                )
                .unwrap();
            assert!(store
                .create(&r, AuditNote::new(1000, "requested", None))
                .is_err());
            approve(&store, r.id.as_str()).unwrap().unwrap();
            assert_eq!(
                approve(&store, r.id.as_str()).unwrap(),
                Err("already Approved".into())
            );
            store.index_card("m1", r.id.as_str()).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.last().unwrap().unwrap().state, RequestState::Approved);
        assert_eq!(
            store.request_for_card("m1").unwrap().as_deref(),
            Some(r.id.as_str())
        );
        let entries = store.audit_entries(Some("123")).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].from, Some(RequestState::Pending));
        assert_eq!(entries[1].to, RequestState::Approved);
        assert_eq!(entries[1].prev_hash, entries[0].hash);
        assert_eq!(store.verify_audit().unwrap(), Ok(2));
    }

    #[test]
    fn concurrent_transitions_let_exactly_one_win() {
        for _ in 0..20 {
            let (_dir, store) = open();
            let r = request(1);
            store
                .create(&r, AuditNote::new(1000, "requested", None))
                .unwrap();
            let wins: usize = std::thread::scope(|s| {
                let handles: Vec<_> = (0..4)
                    .map(|_| s.spawn(|| approve(&store, r.id.as_str()).unwrap().is_ok() as usize))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum()
            });
            assert_eq!(wins, 1);
            assert_eq!(store.audit_entries(None).unwrap().len(), 2);
        }
    }

    #[test]
    fn tampering_is_detected_at_the_first_broken_entry() {
        let (_dir, store, r) = open_with_request();
        approve(&store, r.id.as_str()).unwrap().unwrap();
        let key = 1u64.to_be_bytes();
        let raw = store.raw_audit_tree().get(key).unwrap().unwrap();
        let mut entry: AuditEntry = serde_json::from_slice(&raw).unwrap();
        entry.after = 999_999;
        store
            .raw_audit_tree()
            .insert(key, serde_json::to_vec(&entry).unwrap())
            .unwrap();
        let broken = store.verify_audit().unwrap().unwrap_err();
        assert_eq!(broken.seq, 1);
        assert!(broken.reason.contains("hash"));
    }

    #[test]
    fn a_missing_head_is_detected() {
        // The next transition would start again at entry 1 and overwrite it.
        let (_dir, store, _) = open_with_request();
        store.meta.remove(KEY_AUDIT_HEAD).unwrap();
        let broken = store.verify_audit().unwrap().unwrap_err();
        assert!(broken.reason.contains("no head"), "{broken:?}");
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

    #[test]
    fn removed_tail_entry_is_detected() {
        let (_dir, store, r) = open_with_request();
        approve(&store, r.id.as_str()).unwrap().unwrap();
        store.raw_audit_tree().remove(2u64.to_be_bytes()).unwrap();
        assert_eq!(store.verify_audit().unwrap().unwrap_err().seq, 2);
    }
}
