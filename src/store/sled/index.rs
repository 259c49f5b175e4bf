//! The sled store's indexes: the open requests, keyed by creation time and id, and each
//! stock's audit entries, keyed by stock id, 0x00 and sequence number. The transaction of
//! every change writes them (see `transact`); a mark in meta says which layout they hold and
//! up to which audit entry, and a store whose mark does not match its log is indexed again
//! when opened.

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::{audit_key_seq, decode, encode, SledStore};
use crate::domain::request::ChangeRequest;
use crate::store::{AuditEntry, StoreError};

pub(super) const TREE_OPEN: &str = "open_requests";
pub(super) const TREE_AUDIT_BY_STOCK: &str = "audit_by_stock";
/// The [`IndexMark`]: which index layout the index trees hold, up to which audit entry.
pub(crate) const KEY_INDEXED: &[u8] = b"indexed";
/// The index layout this build writes; a store marked with another is re-indexed on open.
const INDEX_VERSION: u32 = 1;

/// What the index trees cover: written with every change, so a log appended to without
/// them (by an older version) no longer matches, and is re-indexed on the next open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct IndexMark {
    version: u32,
    /// The last audit entry indexed (0: none).
    through: u64,
}

impl IndexMark {
    pub(super) fn through(seq: u64) -> Self {
        Self {
            version: INDEX_VERSION,
            through: seq,
        }
    }
}

/// The open-request index key: creation time (big-endian, so keys sort by it), then the id.
pub(super) fn open_key(request: &ChangeRequest) -> Vec<u8> {
    let mut key = request.created_at.to_be_bytes().to_vec();
    key.extend_from_slice(request.id.as_str().as_bytes());
    key
}

/// The prefix of every stock-index key of `stock_id`: the id and a 0x00, so that stock `12`
/// does not also find the entries of `123`.
pub(super) fn stock_prefix(stock_id: &str) -> Vec<u8> {
    let mut prefix = stock_id.as_bytes().to_vec();
    prefix.push(0);
    prefix
}

/// The stock-index key of audit entry `seq`: the stock's prefix, then `seq` big-endian, so a
/// stock's keys sort by sequence number.
pub(super) fn stock_key(stock_id: &str, seq: u64) -> Vec<u8> {
    let mut key = stock_prefix(stock_id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

impl SledStore {
    fn index_mark(&self) -> Result<Option<IndexMark>, StoreError> {
        self.meta
            .get(KEY_INDEXED)?
            .map(|bytes| decode("index mark", &bytes))
            .transpose()
    }

    /// Rebuilds the indexes unless they are marked as covering the whole log in this layout.
    pub(super) fn index_if_stale(&self) -> Result<(), StoreError> {
        let head = self.audit_head()?.map_or(0, |head| head.seq);
        if self.index_mark()? != Some(IndexMark::through(head)) {
            self.rebuild_indexes()?;
        }
        Ok(())
    }

    /// Indexes the whole store again, reading it one record at a time; the new index entries
    /// and the mark are written in one transaction. Stale entries are cleared first: should
    /// the process stop between the two, the mark still does not match and the next open
    /// rebuilds. Records that cannot be read are left out of the indexes (and logged); the
    /// store still opens, so that `audit verify` can say where it is broken.
    pub(crate) fn rebuild_indexes(&self) -> Result<(), StoreError> {
        self.open.clear()?;
        self.audit_by_stock.clear()?;
        let mut open = sled::Batch::default();
        for item in self.requests.iter() {
            let (key, bytes) = item?;
            match serde_json::from_slice::<ChangeRequest>(&bytes) {
                Ok(request) if !request.state.is_terminal() => {
                    open.insert(open_key(&request), &[]);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(request = %String::from_utf8_lossy(&key), error = %e, "an unreadable request is left out of the open-request index")
                }
            }
        }
        let mut by_stock = sled::Batch::default();
        for item in self.audit.iter() {
            let (key, bytes) = item?;
            let seq = audit_key_seq(&key);
            match serde_json::from_slice::<AuditEntry>(&bytes) {
                Ok(entry) => by_stock.insert(stock_key(&entry.stock_id, seq), &key),
                Err(e) => {
                    tracing::warn!(seq, error = %e, "an unreadable audit entry is left out of the stock index")
                }
            }
        }
        let mark = IndexMark::through(self.audit_head()?.map_or(0, |head| head.seq));
        let result = (&self.open, &self.audit_by_stock, &self.meta).transaction(
            |(open_tx, by_stock_tx, meta)| {
                open_tx.apply_batch(&open)?;
                by_stock_tx.apply_batch(&by_stock)?;
                meta.insert(KEY_INDEXED, encode(&mark))?;
                Ok::<_, ConflictableTransactionError<()>>(())
            },
        );
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(())) => unreachable!("indexing never aborts"),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        }
        self.db.flush()?;
        Ok(())
    }

    /// Audit entry `seq`, which an index names.
    pub(super) fn indexed_audit_entry(&self, seq: &[u8]) -> Result<AuditEntry, StoreError> {
        let what = format!("audit entry {}", audit_key_seq(seq));
        match self.audit.get(seq)? {
            Some(bytes) => decode(&what, &bytes),
            None => Err(StoreError::Corrupt {
                what,
                reason: "the stock index names it but it is missing".into(),
            }),
        }
    }

    /// The sequence numbers of `stock_id`'s audit entries, oldest first.
    pub(super) fn stock_entries(
        &self,
        stock_id: &str,
    ) -> impl DoubleEndedIterator<Item = Result<sled::IVec, StoreError>> {
        let prefix = stock_prefix(stock_id);
        let key_len = prefix.len() + 8;
        self.audit_by_stock
            .scan_prefix(prefix)
            .filter(move |item| item.as_ref().map_or(true, |(key, _)| key.len() == key_len))
            .map(|item| Ok(item?.1))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::{open, open_with_approved};
    use super::super::{KEY_AUDIT_HEAD, KEY_LAST_REQUEST, TREE_AUDIT, TREE_META, TREE_REQUESTS};
    use super::*;
    use crate::domain::policy::tests::request;
    use crate::domain::request::RequestState;
    use crate::store::{AuditHead, AuditNote, Cas, RequestStore, StoreOptions};

    /// Writes transitions as every version before the indexes did: the requests, audit and
    /// meta trees only, with the bytes those versions wrote, and no index trees.
    fn write_without_indexes(path: &Path, steps: &[(&ChangeRequest, RequestState)]) {
        let db = sled::open(path).unwrap();
        let requests = db.open_tree(TREE_REQUESTS).unwrap();
        let audit = db.open_tree(TREE_AUDIT).unwrap();
        let meta = db.open_tree(TREE_META).unwrap();
        for &(request, state) in steps {
            let id = request.id.as_str();
            let current: Option<ChangeRequest> =
                requests.get(id).unwrap().map(|b| decode("r", &b).unwrap());
            let head: Option<AuditHead> = meta
                .get(KEY_AUDIT_HEAD)
                .unwrap()
                .map(|b| decode("h", &b).unwrap());
            let next = ChangeRequest {
                state,
                ..request.clone()
            };
            let note = AuditNote::new(request.created_at, state.as_str(), None);
            let entry = AuditEntry::next(head.as_ref(), current.as_ref(), &next, &note);
            requests.insert(id, encode(&next)).unwrap();
            if current.is_none() {
                meta.insert(KEY_LAST_REQUEST, id).unwrap();
            }
            audit
                .insert(entry.seq.to_be_bytes(), encode(&entry))
                .unwrap();
            meta.insert(KEY_AUDIT_HEAD, encode(&entry.head())).unwrap();
        }
        db.flush().unwrap();
    }

    fn made(id: &str, stock_id: &str, created_at: u64) -> ChangeRequest {
        ChangeRequest {
            id: crate::domain::request::RequestId::parse(id).unwrap(),
            stock_id: stock_id.into(),
            created_at,
            ..request(1)
        }
    }

    fn open_ids(store: &SledStore, states: &[RequestState]) -> Vec<String> {
        let open = store.open_requests(states).unwrap();
        open.iter().map(|r| r.id.to_string()).collect()
    }

    #[test]
    fn a_store_written_without_indexes_is_indexed_once_when_opened() {
        use RequestState::{Applied, Approved, Pending};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (a, b, c, d) = (
            made("aaaaaaaa", "123", 3000),
            made("bbbbbbbb", "456", 1000),
            made("cccccccc", "123", 2000),
            made("dddddddd", "123", 1500),
        );
        write_without_indexes(
            &path,
            &[
                (&a, Pending),
                (&b, Pending),
                (&c, Pending),
                (&b, Approved),
                (&c, Approved),
                (&c, Applied),
                (&d, Pending),
            ],
        );
        assert!(
            !sled::open(&path)
                .unwrap()
                .tree_names()
                .contains(&TREE_OPEN.into()),
            "written as before: no index trees"
        );

        let store = open(&path).unwrap();
        assert_eq!(open_ids(&store, &[Pending]), vec!["dddddddd", "aaaaaaaa"]);
        assert_eq!(open_ids(&store, &[Approved]), vec!["bbbbbbbb"]);
        let tail = store.audit_tail("123", 3).unwrap();
        assert_eq!(
            tail.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![7, 6, 5]
        );
        assert_eq!(store.last().unwrap().unwrap().id, d.id);
        crate::store::contract::indexes_match_a_full_scan(&*store);

        // Marked as indexed: the next open does not index again (an index entry taken out
        // by hand stays out).
        store.open.remove(open_key(&b)).unwrap();
        drop(store);
        let store = open(&path).unwrap();
        assert_eq!(open_ids(&store, &[Approved]), Vec::<String>::new());
        drop(store);

        // Written to again by a version without indexes: the mark no longer matches the log.
        write_without_indexes(&path, &[(&d, Approved)]);
        let store = open(&path).unwrap();
        assert_eq!(open_ids(&store, &[Approved]), vec!["bbbbbbbb", "dddddddd"]);
        assert_eq!(store.audit_tail("123", 1).unwrap()[0].seq, 8);
        crate::store::contract::indexes_match_a_full_scan(&*store);
        assert_eq!(store.verify_audit().unwrap(), Ok(8));

        // A change through the indexes moves the mark with it: no index again on open.
        let approved = store.get(d.id.as_str()).unwrap().unwrap();
        let applied = ChangeRequest {
            state: Applied,
            ..approved.clone()
        };
        let note = AuditNote::new(4000, "applied", None);
        let cas = store.compare_and_set(d.id.as_str(), &approved, &applied, note);
        assert_eq!(cas.unwrap(), Cas::Swapped);
        store.open.remove(open_key(&b)).unwrap();
        drop(store);
        let store = open(&path).unwrap();
        assert_eq!(open_ids(&store, &[Approved]), Vec::<String>::new());
    }

    #[test]
    fn a_restored_store_answers_the_indexed_queries() {
        let (dir, store, id) = open_with_approved();
        drop(store);
        let file = dir.path().join("backup.jsonl");
        let options = StoreOptions::default();
        crate::store::backup::backup(&dir.path().join("db"), &options, &file).unwrap();
        let target_path = dir.path().join("restored");
        let target = open(&target_path).unwrap();
        crate::store::backup::restore(&target, &target_path, &file).unwrap();
        assert_eq!(open_ids(&target, &[RequestState::Approved]), vec![id]);
        assert_eq!(target.audit_tail("123", 5).unwrap().len(), 2);
        crate::store::contract::indexes_match_a_full_scan(&*target);
    }
}
