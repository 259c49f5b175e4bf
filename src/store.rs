//! The sled store: change requests, the card → request index, and the hash-chained audit log.
//! Every state change is one serializable sled transaction that checks the state it read
//! (compare-and-swap) and appends its audit entry, and is flushed before the caller moves on.

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
    #[error("cannot open the store at {path}: {reason} (is another budget-bot using it?)")]
    Open { path: String, reason: String },
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
    #[error("store holds unreadable data at {what}: {reason}")]
    Corrupt { what: String, reason: String },
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

#[derive(Serialize, Deserialize)]
struct AuditHead {
    seq: u64,
    hash: String,
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
        let db = sled::Config::new()
            .path(path)
            .open()
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            requests: db.open_tree(TREE_REQUESTS)?,
            audit: db.open_tree(TREE_AUDIT)?,
            cards: db.open_tree(TREE_CARDS)?,
            meta: db.open_tree(TREE_META)?,
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
    /// `step` decide, write the result and append its audit entry; then flush to disk.
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

    /// Checks every entry's hash and link; names the first broken entry.
    pub fn verify_audit(&self) -> Result<Result<u64, AuditBreak>, StoreError> {
        let mut prev = GENESIS_HASH.to_string();
        let mut count = 0;
        for (expected_seq, item) in (1u64..).zip(self.audit.iter()) {
            let (key, bytes) = item?;
            let seq = key.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0);
            let entry: AuditEntry = match serde_json::from_slice(&bytes) {
                Ok(entry) => entry,
                Err(e) => {
                    return Ok(Err(AuditBreak {
                        seq,
                        reason: format!("entry is not readable: {e}"),
                    }))
                }
            };
            let broken = |reason: String| Ok(Err(AuditBreak { seq, reason }));
            if entry.seq != seq || seq != expected_seq {
                return broken(format!(
                    "sequence number {} where {expected_seq} was expected",
                    entry.seq
                ));
            }
            if entry.prev_hash != prev {
                return broken("prev_hash does not match the previous entry's hash".into());
            }
            if entry.compute_hash() != entry.hash {
                return broken("hash does not match the entry's contents (it was changed)".into());
            }
            prev = entry.hash;
            count += 1;
        }
        if let Some(head) = self.meta.get(KEY_AUDIT_HEAD)? {
            let head: AuditHead = decode("audit head", &head)?;
            if head.seq != count || head.hash != prev {
                return Ok(Err(AuditBreak {
                    seq: count + 1,
                    reason: format!(
                        "the log ends at entry {count} but the head records entry {}: entries were removed",
                        head.seq
                    ),
                }));
            }
        }
        Ok(Ok(count))
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
        let (_dir, store) = open();
        let r = request(1);
        store
            .create(&r, AuditNote::new(1000, "requested", None))
            .unwrap();
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
    fn removed_tail_entry_is_detected() {
        let (_dir, store) = open();
        let r = request(1);
        store
            .create(&r, AuditNote::new(1000, "requested", None))
            .unwrap();
        approve(&store, r.id.as_str()).unwrap().unwrap();
        store.raw_audit_tree().remove(2u64.to_be_bytes()).unwrap();
        assert_eq!(store.verify_audit().unwrap().unwrap_err().seq, 2);
    }
}
