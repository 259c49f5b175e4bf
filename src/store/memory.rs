//! An in-memory backend: the same contract as the sled store, nothing on disk, for tests of
//! the app that need a store but not its files. One lock over everything makes each
//! transition atomic; the indexes (open requests, each stock's audit entries) are kept under
//! it with the data, as the sled store keeps them in the same transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::audit::{self, AuditBreak, AuditEntry};
use super::{AuditIter, AuditNote, CardKey, Cas, Lease, RequestStore, StoreError};
use crate::domain::request::{ChangeRequest, RequestState};

#[derive(Default)]
struct State {
    requests: BTreeMap<String, ChangeRequest>,
    /// In order; entry `n` (from 1) is at index `n - 1`.
    audit: Vec<AuditEntry>,
    last: Option<String>,
    cards: HashMap<CardKey, String>,
    leases: HashMap<String, Lease>,
    /// The open requests by (created_at, id): the order `open_requests` returns them in.
    open: BTreeSet<(u64, String)>,
    /// Each stock's audit entries, by index into `audit`, oldest first.
    audit_by_stock: HashMap<String, Vec<usize>>,
    marks: HashMap<String, String>,
}

impl State {
    /// Stores `next` and appends its audit entry, linked to the last one.
    fn write(
        &mut self,
        id: &str,
        from: Option<&ChangeRequest>,
        next: &ChangeRequest,
        note: &AuditNote,
    ) {
        let head = self.audit.last().map(AuditEntry::head);
        let entry = AuditEntry::next(head.as_ref(), from, next, note);
        self.audit_by_stock
            .entry(entry.stock_id.clone())
            .or_default()
            .push(self.audit.len());
        self.audit.push(entry);
        if let Some(from) = from {
            self.open.remove(&(from.created_at, id.to_string()));
        }
        if !next.state.is_terminal() {
            self.open.insert((next.created_at, id.to_string()));
        }
        self.requests.insert(id.to_string(), next.clone());
    }

    /// `stock_id`'s audit entries, oldest first.
    fn stock_entries<'a>(
        &'a self,
        stock_id: &str,
    ) -> impl DoubleEndedIterator<Item = &'a AuditEntry> {
        self.audit_by_stock
            .get(stock_id)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.audit.get(i))
    }
}

/// The in-memory store; clones share it.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Test hook: change the audit log as stored, to check that verification notices.
    #[doc(hidden)]
    pub fn edit_raw_audit(&self, edit: impl FnOnce(&mut Vec<AuditEntry>)) {
        edit(&mut self.state().audit);
    }
}

super::deref_to_port!(MemoryStore);

impl RequestStore for MemoryStore {
    fn create(&self, request: &ChangeRequest, note: AuditNote) -> Result<(), StoreError> {
        let id = request.id.as_str();
        let mut state = self.state();
        if state.requests.contains_key(id) {
            return Err(StoreError::exists(id));
        }
        state.write(id, None, request, &note);
        state.last = Some(id.to_string());
        Ok(())
    }

    fn compare_and_set(
        &self,
        id: &str,
        expected: &ChangeRequest,
        next: &ChangeRequest,
        note: AuditNote,
    ) -> Result<Cas, StoreError> {
        let mut state = self.state();
        match state.requests.get(id) {
            None => Err(StoreError::not_found(id)),
            Some(current) if current != expected => Ok(Cas::Conflict),
            Some(current) => {
                let current = current.clone();
                state.write(id, Some(&current), next, &note);
                Ok(Cas::Swapped)
            }
        }
    }

    fn get(&self, id: &str) -> Result<Option<ChangeRequest>, StoreError> {
        Ok(self.state().requests.get(id).cloned())
    }

    fn all(&self) -> Result<Vec<ChangeRequest>, StoreError> {
        let mut all: Vec<ChangeRequest> = self.state().requests.values().cloned().collect();
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    fn open_requests(&self, states: &[RequestState]) -> Result<Vec<ChangeRequest>, StoreError> {
        let state = self.state();
        Ok(state
            .open
            .iter()
            .filter_map(|(_, id)| state.requests.get(id))
            .filter(|r| states.contains(&r.state))
            .cloned()
            .collect())
    }

    fn last(&self) -> Result<Option<ChangeRequest>, StoreError> {
        let state = self.state();
        Ok(state
            .last
            .as_ref()
            .and_then(|id| state.requests.get(id))
            .cloned())
    }

    fn link_card(&self, card: &CardKey, request_id: &str) -> Result<(), StoreError> {
        self.state()
            .cards
            .insert(card.clone(), request_id.to_string());
        Ok(())
    }

    fn card_request(&self, card: &CardKey) -> Result<Option<String>, StoreError> {
        let state = self.state();
        let found = state
            .cards
            .get(card)
            .or_else(|| state.cards.get(&CardKey::legacy(&card.message)));
        Ok(found.cloned())
    }

    fn audit_iter(&self, stock_id: Option<&str>) -> Result<AuditIter<'_>, StoreError> {
        // Copied out: the lock is not held while the caller iterates (it may use the store).
        let state = self.state();
        let entries: Vec<AuditEntry> = match stock_id {
            None => state.audit.clone(),
            Some(stock_id) => state.stock_entries(stock_id).cloned().collect(),
        };
        Ok(Box::new(entries.into_iter().map(Ok)))
    }

    fn audit_tail(&self, stock_id: &str, count: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let state = self.state();
        Ok(state
            .stock_entries(stock_id)
            .rev()
            .take(count)
            .cloned()
            .collect())
    }

    fn verify_audit(&self) -> Result<Result<u64, AuditBreak>, StoreError> {
        let state = self.state();
        // The head a transition links to is the last entry itself: no separate record.
        let head = state.audit.last().map(AuditEntry::head);
        let entries = (1..).zip(state.audit.iter().cloned().map(Ok));
        audit::verify(entries.map(Ok::<_, StoreError>), head.as_ref())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn try_lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.leases.get(id).is_some_and(Lease::is_live) {
            return Ok(false);
        }
        state.leases.insert(id.to_string(), Lease::new(holder, ttl));
        Ok(true)
    }

    fn renew_lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self.state().leases.get_mut(id) {
            Some(lease) if lease.holder == holder => {
                *lease = Lease::new(holder, ttl);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn release_lease(&self, id: &str, holder: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.leases.get(id).is_some_and(|l| l.holder == holder) {
            state.leases.remove(id);
        }
        Ok(())
    }

    fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError> {
        Ok(self.state().leases.get(id).filter(|l| l.is_live()).cloned())
    }

    fn mark(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state().marks.get(key).cloned())
    }

    fn swap_mark(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.marks.get(key).map(String::as_str) != expected {
            return Ok(false);
        }
        match new {
            Some(value) => state.marks.insert(key.to_string(), value.to_string()),
            None => state.marks.remove(key),
        };
        Ok(true)
    }
}
