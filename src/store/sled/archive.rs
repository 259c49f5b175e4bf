//! The sled store's archive: finished requests, their cards and all but each stock's newest
//! audit entries, moved out of the live store into a second sled folder next to it
//! (`<path>.archive`). Opening a sled folder costs time and memory in proportion to every
//! page it ever held (sled rebuilds its page table at start, and deleting keys does not shrink
//! it), so the live store is rebuilt small when work is archived, and the archive is opened
//! only by the reads that need history (`get` or a card of an archived request, the whole
//! log, backups): a command or a sweep never opens it.
//!
//! Archiving happens when the live store is opened (bot start, a console or CLI command) and
//! holds more finished requests than the policy allows: the records to archive are copied to
//! the archive and flushed, the rest is written to a fresh folder `<path>.next`, and the two
//! folders are swapped with one atomic rename (`renameat2` with `RENAME_EXCHANGE`). A crash
//! before the swap leaves the old live store whole (the archive then holds copies, which reads
//! ignore: a key in both is read from the live store); a crash after it leaves the new one
//! whole. Either way the next open removes `<path>.next`.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use itertools::{EitherOrBoth, Itertools};
use sled::IVec;

use super::index::{stock_prefix, TREE_AUDIT_BY_STOCK, TREE_OPEN};
use super::{
    audit_key_seq, decode, open_db, SledStore, StoreOptions, KEY_LAST_REQUEST, TREE_AUDIT,
    TREE_CARDS, TREE_META, TREE_REQUESTS,
};
use crate::domain::request::ChangeRequest;
use crate::store::{AuditEntry, StoreError};

/// The live tree naming the stocks some of whose audit entries are archived: `history` of
/// any other stock never needs the archive.
pub(super) const TREE_ARCHIVED_STOCKS: &str = "archived_stocks";

const ARCHIVE_SUFFIX: &str = ".archive";
const NEXT_SUFFIX: &str = ".next";

/// When finished work moves to the archive (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchivePolicy {
    /// Archive when the live store holds more finished requests than this...
    pub after_finished: usize,
    /// ...keeping the newest this many of them live (a reaction on a recent card finds its
    /// request without opening the archive)...
    pub keep_finished: usize,
    /// ...and the newest this many audit entries of each stock, so that `history` reads the
    /// live store only.
    pub keep_per_stock: usize,
}

impl Default for ArchivePolicy {
    fn default() -> Self {
        Self {
            after_finished: 256,
            keep_finished: 64,
            keep_per_stock: crate::domain::command::MAX_HISTORY_COUNT as usize,
        }
    }
}

/// `path` with `suffix` appended to its last component (`/srv/db/` → `/srv/db.archive`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.components().collect::<PathBuf>().into_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The archive folder of the store at `path`.
pub fn archive_path(path: &Path) -> PathBuf {
    sibling(path, ARCHIVE_SUFFIX)
}

/// The archive's trees: the live store's, holding what was moved.
pub(super) struct Archive {
    db: sled::Db,
    pub(super) requests: sled::Tree,
    pub(super) audit: sled::Tree,
    pub(super) cards: sled::Tree,
    pub(super) audit_by_stock: sled::Tree,
}

impl Archive {
    fn open(path: &Path, cache_capacity: u64) -> Result<Self, StoreError> {
        let opening = |e| StoreError::opening(path, e);
        let db = open_db(path, cache_capacity)?;
        Ok(Self {
            requests: db.open_tree(TREE_REQUESTS).map_err(opening)?,
            audit: db.open_tree(TREE_AUDIT).map_err(opening)?,
            cards: db.open_tree(TREE_CARDS).map_err(opening)?,
            audit_by_stock: db.open_tree(TREE_AUDIT_BY_STOCK).map_err(opening)?,
            db,
        })
    }
}

/// The archive of one store, opened the first time a read needs it. Only the process that
/// holds the live store's lock opens it.
pub(super) struct ArchiveSlot {
    path: PathBuf,
    cache_capacity: u64,
    opened: Mutex<Option<Arc<Archive>>>,
}

impl ArchiveSlot {
    pub(super) fn new(store_path: &Path, options: &StoreOptions) -> Self {
        Self {
            path: archive_path(store_path),
            cache_capacity: options.cache_capacity,
            opened: Mutex::new(None),
        }
    }

    /// The archive, or None when the store has none (nothing was ever archived).
    pub(super) fn get(&self) -> Result<Option<Arc<Archive>>, StoreError> {
        self.open(false)
    }

    fn open(&self, create: bool) -> Result<Option<Arc<Archive>>, StoreError> {
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(archive) = &*opened {
            return Ok(Some(archive.clone()));
        }
        if !create && !self.path.exists() {
            return Ok(None);
        }
        // Only the holder of the live store's lock opens the archive: a lock on it is held by
        // this process's own handle, closed after archiving, until sled's threads end.
        let deadline = Instant::now() + LOCK_WAIT;
        let archive = loop {
            match Archive::open(&self.path, self.cache_capacity) {
                Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(LOCK_POLL)
                }
                other => break Arc::new(other?),
            }
        };
        *opened = Some(archive.clone());
        Ok(Some(archive))
    }
}

/// How long a lock this process just let go of is waited for, and how often it is tried.
const LOCK_WAIT: Duration = Duration::from_secs(10);
const LOCK_POLL: Duration = Duration::from_millis(5);

/// Where a record was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Held {
    Live,
    Archived,
}

/// A tree's records in key order, from the live store and the archive; a key in both (left
/// by an archiving stopped before its swap) is read from the live store.
pub(super) fn merged(
    live: sled::Iter,
    archived: Option<sled::Iter>,
) -> impl Iterator<Item = Result<(Held, IVec, IVec), StoreError>> {
    let by_key = |live: &sled::Result<(IVec, IVec)>, archived: &sled::Result<(IVec, IVec)>| {
        match (live, archived) {
            (Ok((live, _)), Ok((archived, _))) => live.cmp(archived),
            // An error is passed on as soon as it is met.
            (Err(_), _) => Ordering::Less,
            (_, Err(_)) => Ordering::Greater,
        }
    };
    live.merge_join_by(archived.into_iter().flatten(), by_key)
        .map(|pair| {
            let (held, item) = match pair {
                EitherOrBoth::Left(item) | EitherOrBoth::Both(item, _) => (Held::Live, item),
                EitherOrBoth::Right(item) => (Held::Archived, item),
            };
            let (key, value) = item?;
            Ok((held, key, value))
        })
}

/// The trees a backup reads whole, live and archived records together.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Records {
    Requests,
    Audit,
    Cards,
}

/// What one archiving moves.
struct Plan {
    /// Keys of the requests to archive.
    requests: HashSet<IVec>,
    /// Sequence numbers of the audit entries to archive, with their stock-index keys.
    audit: HashMap<u64, Vec<u8>>,
    /// The stocks some of whose entries are archived.
    stocks: BTreeSet<Vec<u8>>,
}

impl SledStore {
    /// The archive's tree of `which`, if the store has an archive.
    fn archived_tree(
        &self,
        which: Records,
    ) -> Result<Option<(Arc<Archive>, sled::Tree)>, StoreError> {
        Ok(self.archive.get()?.map(|archive| {
            let tree = match which {
                Records::Requests => archive.requests.clone(),
                Records::Audit => archive.audit.clone(),
                Records::Cards => archive.cards.clone(),
            };
            (archive, tree)
        }))
    }

    /// Every record of `which`, live and archived, in key order.
    pub(crate) fn records(
        &self,
        which: Records,
    ) -> Result<impl Iterator<Item = Result<(IVec, IVec), StoreError>>, StoreError> {
        let live = match which {
            Records::Requests => &self.requests,
            Records::Audit => &self.audit,
            Records::Cards => &self.cards,
        };
        let archived = self.archived_tree(which)?.map(|(_, tree)| tree.iter());
        Ok(merged(live.iter(), archived).map(|item| item.map(|(_, key, value)| (key, value))))
    }

    /// The value under `key` in the live tree of `which`, else in the archive's; the archive
    /// is opened only when the live store does not hold the key.
    pub(super) fn get_anywhere(
        &self,
        which: Records,
        keys: &[&[u8]],
    ) -> Result<Option<IVec>, StoreError> {
        let live = match which {
            Records::Requests => &self.requests,
            Records::Audit => &self.audit,
            Records::Cards => &self.cards,
        };
        for key in keys {
            if let Some(value) = live.get(key)? {
                return Ok(Some(value));
            }
        }
        if let Some((_, archived)) = self.archived_tree(which)? {
            for key in keys {
                if let Some(value) = archived.get(key)? {
                    return Ok(Some(value));
                }
            }
        }
        Ok(None)
    }

    /// `stock_id`'s audit entries, oldest first, live and archived.
    pub(super) fn stock_entries_anywhere(
        &self,
        stock_id: &str,
    ) -> Result<impl Iterator<Item = Result<AuditEntry, StoreError>> + '_, StoreError> {
        let archive = if self.archived_stocks.contains_key(stock_id.as_bytes())? {
            self.archive.get()?
        } else {
            None
        };
        let archived = archive
            .as_ref()
            .map(|archive| archive.audit_by_stock.scan_prefix(stock_prefix(stock_id)));
        let key_len = stock_id.len() + 1 + 8;
        let live = self.audit_by_stock.scan_prefix(stock_prefix(stock_id));
        Ok(merged(live, archived)
            .filter(move |item| {
                item.as_ref()
                    .map_or(true, |(_, key, _)| key.len() == key_len)
            })
            .map(move |item| {
                let (held, _, seq) = item?;
                match (held, &archive) {
                    (Held::Archived, Some(archive)) => entry_named(&archive.audit, &seq),
                    _ => self.indexed_audit_entry(&seq),
                }
            }))
    }

    /// The newest `count` audit entries of `stock_id`, newest first: from the live store,
    /// which keeps each stock's newest entries, and from the archive only when the live store
    /// holds fewer than `count` of a stock with archived entries.
    pub(super) fn audit_tail_anywhere(
        &self,
        stock_id: &str,
        count: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut newest: Vec<AuditEntry> = self
            .stock_entries(stock_id)
            .rev()
            .take(count)
            .map(|seq| self.indexed_audit_entry(&seq?))
            .collect::<Result<_, _>>()?;
        if newest.len() >= count || !self.archived_stocks.contains_key(stock_id.as_bytes())? {
            return Ok(newest);
        }
        let Some(archive) = self.archive.get()? else {
            return Ok(newest);
        };
        let key_len = stock_id.len() + 1 + 8;
        for item in archive
            .audit_by_stock
            .scan_prefix(stock_prefix(stock_id))
            .rev()
            .filter(|item| item.as_ref().map_or(true, |(key, _)| key.len() == key_len))
            .take(count)
        {
            let (_, seq) = item?;
            newest.push(entry_named(&archive.audit, &seq)?);
        }
        newest.sort_by_key(|entry| std::cmp::Reverse(entry.seq));
        newest.dedup_by_key(|entry| entry.seq);
        newest.truncate(count);
        Ok(newest)
    }

    /// Moves finished work to the archive when `options` say it is due (see the module
    /// docs); returns the store to use, rebuilt when work was moved.
    pub(super) fn archive_if_due(
        self,
        path: &Path,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        let Some(policy) = options.archive else {
            return Ok(self);
        };
        // Both counts read keys only, of a live store kept small.
        let finished = self.requests.len().saturating_sub(self.open.len());
        if finished <= policy.after_finished {
            return Ok(self);
        }
        let started = Instant::now();
        let next = sibling(path, NEXT_SUFFIX);
        let moved = match self.move_finished(path, &next, options, &policy) {
            Ok(moved) => moved,
            Err(e) => {
                // Archiving only saves time and memory: the store opens as it is. Whatever
                // reached the archive is a copy, which reads ignore; the next open tries again.
                tracing::warn!(path = %path.display(), error = %e, "finished work could not be moved to the archive (is the folder holding the store writable?); the store is used as it is");
                let _ = std::fs::remove_dir_all(&next);
                return Ok(self);
            }
        };
        drop(self);
        let store = open_waiting(path, options)?;
        tracing::info!(
            requests = moved.requests.len(),
            audit_entries = moved.audit.len(),
            seconds = started.elapsed().as_secs_f64(),
            "finished work moved to the archive"
        );
        Ok(store)
    }

    /// Copies finished work to the archive, writes the rest to `next` and swaps it with the
    /// live store's folder; returns what was moved.
    fn move_finished(
        &self,
        path: &Path,
        next: &Path,
        options: &StoreOptions,
        policy: &ArchivePolicy,
    ) -> Result<Plan, StoreError> {
        let plan = self.plan(policy)?;
        let kept = self.copy_to_archive(&plan)?;
        self.write_live_copy(next, options, &plan, &kept)?;
        exchange(path, next).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: format!("the store folder cannot be swapped with its rebuilt copy: {e}"),
        })?;
        Ok(plan)
    }

    /// Which finished requests and audit entries to archive: all but the newest
    /// `keep_finished` finished requests (and the last request made), and all but each
    /// stock's newest `keep_per_stock` entries. Unreadable records stay live.
    fn plan(&self, policy: &ArchivePolicy) -> Result<Plan, StoreError> {
        let last = self.meta.get(KEY_LAST_REQUEST)?;
        let mut finished = Vec::new();
        for item in self.requests.iter() {
            let (key, bytes) = item?;
            if let Ok(request) = serde_json::from_slice::<ChangeRequest>(&bytes) {
                if request.state.is_terminal() && last.as_ref() != Some(&key) {
                    finished.push((request.created_at, key));
                }
            }
        }
        finished.sort();
        let archived = finished.len().saturating_sub(policy.keep_finished);
        let requests = finished.into_iter().take(archived).map(|(_, key)| key);

        let mut audit = HashMap::new();
        let mut stocks = BTreeSet::new();
        let mut by_stock = self.audit_by_stock.iter().peekable();
        while let Some(item) = by_stock.next() {
            let (key, seq) = item?;
            let Some(prefix) = key.len().checked_sub(8).map(|at| &key[..at]) else {
                continue;
            };
            let mut of_stock = vec![(key.to_vec(), audit_key_seq(&seq))];
            while let Some(Ok((next, _))) = by_stock.peek() {
                if next.len() < 8 || &next[..next.len() - 8] != prefix {
                    break;
                }
                let (next, seq) = by_stock.next().expect("peeked")?;
                of_stock.push((next.to_vec(), audit_key_seq(&seq)));
            }
            let moved = of_stock.len().saturating_sub(policy.keep_per_stock);
            if moved > 0 {
                stocks.insert(prefix[..prefix.len() - 1].to_vec());
            }
            for (key, seq) in of_stock.into_iter().take(moved) {
                audit.insert(seq, key);
            }
        }
        Ok(Plan {
            requests: requests.collect(),
            audit,
            stocks,
        })
    }

    /// Copies what `plan` archives into the archive (created if need be) and flushes it.
    /// Returns the ids of the requests that stay live: cards of any other go too.
    fn copy_to_archive(&self, plan: &Plan) -> Result<HashSet<IVec>, StoreError> {
        let archive = self.archive.open(true)?.expect("opened or created");
        let mut kept = HashSet::new();
        for item in self.requests.iter() {
            let (key, bytes) = item?;
            if plan.requests.contains(&key) {
                archive.requests.insert(key, bytes)?;
            } else {
                kept.insert(key);
            }
        }
        for item in self.audit.iter() {
            let (key, bytes) = item?;
            if let Some(stock_key) = plan.audit.get(&audit_key_seq(&key)) {
                archive.audit.insert(&key, bytes)?;
                archive.audit_by_stock.insert(stock_key.as_slice(), key)?;
            }
        }
        for item in self.cards.iter() {
            let (key, request) = item?;
            if !kept.contains(&request) {
                archive.cards.insert(key, request)?;
            }
        }
        archive.db.flush()?;
        Ok(kept)
    }

    /// Writes what stays live into a fresh sled folder at `next`, flushed and closed.
    fn write_live_copy(
        &self,
        next: &Path,
        options: &StoreOptions,
        plan: &Plan,
        kept: &HashSet<IVec>,
    ) -> Result<(), StoreError> {
        if next.exists() {
            std::fs::remove_dir_all(next).map_err(|e| StoreError::Open {
                path: next.display().to_string(),
                reason: format!("a copy left by an earlier archiving cannot be removed: {e}"),
            })?;
        }
        let opening = |e| StoreError::opening(next, e);
        let db = open_db(next, options.cache_capacity)?;
        let archived_seq = |seq: &[u8]| plan.audit.contains_key(&audit_key_seq(seq));
        let copies: [(&sled::Tree, &str, &Keep); 7] = [
            (&self.requests, TREE_REQUESTS, &|key, _| kept.contains(key)),
            (&self.audit, TREE_AUDIT, &|key, _| !archived_seq(key)),
            (&self.audit_by_stock, TREE_AUDIT_BY_STOCK, &|_, seq| {
                !archived_seq(seq)
            }),
            (&self.cards, TREE_CARDS, &|_, request| {
                kept.contains(request)
            }),
            (&self.meta, TREE_META, &|_, _| true),
            (&self.open, TREE_OPEN, &|_, _| true),
            (&self.archived_stocks, TREE_ARCHIVED_STOCKS, &|_, _| true),
        ];
        let handled: Vec<&str> = copies.iter().map(|(_, name, _)| *name).collect();
        for (from, name, keep) in copies {
            let to = db.open_tree(name).map_err(opening)?;
            for item in from.iter() {
                let (key, value) = item?;
                if keep(&key, &value) {
                    to.insert(key, value)?;
                }
            }
        }
        // Every other tree (leases, and any later one) is live state, not history: copied whole,
        // so rebuilding the live store never forgets what it does not know about.
        for name in self.db.tree_names() {
            if handled.iter().any(|h| h.as_bytes() == &name[..]) {
                continue;
            }
            let from = self.db.open_tree(&name).map_err(opening)?;
            let to = db.open_tree(&name).map_err(opening)?;
            for item in from.iter() {
                let (key, value) = item?;
                to.insert(key, value)?;
            }
        }
        let stocks = db.open_tree(TREE_ARCHIVED_STOCKS).map_err(opening)?;
        for stock in &plan.stocks {
            stocks.insert(stock.as_slice(), &[])?;
        }
        db.flush()?;
        Ok(())
    }
}

/// Whether a record (key, value) is copied to the rebuilt live store.
type Keep<'a> = dyn Fn(&IVec, &IVec) -> bool + 'a;

/// Audit entry `seq` of `tree`, which an index names.
fn entry_named(tree: &sled::Tree, seq: &[u8]) -> Result<AuditEntry, StoreError> {
    let what = format!("archived audit entry {}", audit_key_seq(seq));
    match tree.get(seq)? {
        Some(bytes) => decode(&what, &bytes),
        None => Err(StoreError::Corrupt {
            what,
            reason: "the archive's stock index names it but it is missing".into(),
        }),
    }
}

/// Swaps the folders `a` and `b` in one step: there is no moment without a store at `a`.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

/// Elsewhere there is no atomic swap of two folders: work is not archived.
#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "no atomic folder swap on this system",
    ))
}

/// Opens the rebuilt live store at `path`. The copy was written and closed by this process
/// a moment ago, and sled lets go of a closed folder's lock only once its background threads
/// end, so a lock held at first is waited for, up to a deadline.
fn open_waiting(path: &Path, options: &StoreOptions) -> Result<SledStore, StoreError> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match SledStore::open_live(path, options) {
            Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(LOCK_POLL)
            }
            other => return other,
        }
    }
}

/// Removes a `<path>.next` left by an archiving that stopped (before the swap, a partial
/// copy; after it, the old live store, whose records the new one and the archive hold).
/// Called once the live store's lock is held, so no other process is archiving.
pub(super) fn remove_leftover(path: &Path) {
    let next = sibling(path, NEXT_SUFFIX);
    if next.exists() {
        if let Err(e) = std::fs::remove_dir_all(&next) {
            tracing::warn!(path = %next.display(), error = %e, "a copy left by an earlier archiving cannot be removed");
        }
    }
}

#[cfg(test)]
mod tests;
