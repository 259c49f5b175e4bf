//! The contract every [`RequestStore`] backend keeps, run against each of them: transitions
//! and their audit entries, compare-and-set under contention, the card index across
//! platforms, the audit chain, work leases, and the indexed queries (open requests, a stock's
//! newest audit entries), whose answers must equal those of a full scan.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::Barrier;
use std::time::{Duration, Instant};

#[cfg(feature = "postgres")]
use super::postgres::testing::{test_database, TestDatabase};
#[cfg(feature = "postgres")]
use super::PostgresStore;
use super::{
    AuditEntry, AuditNote, CardKey, Cas, MemoryStore, RequestStore, SharedStore, SledStore,
    StoreError,
};
use crate::domain::policy::tests::request;
use crate::domain::request::{ChangeRequest, RequestId, RequestState};

/// How a backend is opened for one test, and how its stored audit log is tampered with.
trait Backend {
    /// Kept alive as long as the store (a temporary folder).
    type Keep;
    type Raw: RequestStore + Clone + 'static;
    fn open() -> (Self::Keep, Self::Raw);
    /// Changes entry `seq`'s `after` as stored, past the store's own checks.
    fn tamper(raw: &Self::Raw, seq: u64);
}

struct Sled;

impl Backend for Sled {
    type Keep = tempfile::TempDir;
    type Raw = SledStore;

    fn open() -> (Self::Keep, Self::Raw) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("db")).unwrap();
        (dir, store)
    }

    fn tamper(raw: &SledStore, seq: u64) {
        let tree = raw.raw_audit_tree();
        let key = seq.to_be_bytes();
        let mut entry: AuditEntry =
            serde_json::from_slice(&tree.get(key).unwrap().unwrap()).unwrap();
        entry.after = 999_999;
        tree.insert(key, serde_json::to_vec(&entry).unwrap())
            .unwrap();
    }
}

struct Memory;

impl Backend for Memory {
    type Keep = ();
    type Raw = MemoryStore;

    fn open() -> (Self::Keep, Self::Raw) {
        ((), MemoryStore::new())
    }

    fn tamper(raw: &MemoryStore, seq: u64) {
        raw.edit_raw_audit(|entries| entries[seq as usize - 1].after = 999_999);
    }
}

/// A schema of its own in the test database (see [`test_database`]).
#[cfg(feature = "postgres")]
struct Postgres;

#[cfg(feature = "postgres")]
impl Backend for Postgres {
    type Keep = TestDatabase;
    type Raw = PostgresStore;

    fn open() -> (Self::Keep, Self::Raw) {
        let db = test_database("the PostgreSQL contract tests")
            .expect("checked by the test before opening");
        let store = PostgresStore::connect(&db.url).unwrap();
        (db, store)
    }

    fn tamper(raw: &PostgresStore, seq: u64) {
        raw.tamper_audit_entry(seq, 999_999).unwrap();
    }
}

/// Runs each named contract test against each backend; the PostgreSQL ones skip (loudly)
/// where no test database is configured, and fail on CI.
macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod sled { $(#[test] fn $test() { super::$test::<super::Sled>(); })* }
        mod memory { $(#[test] fn $test() { super::$test::<super::Memory>(); })* }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(#[test] fn $test() {
                if super::test_database(stringify!($test)).is_some() {
                    super::$test::<super::Postgres>();
                }
            })*
        }
    };
}

contract!(
    transitions_are_stored_with_their_audit_entries,
    concurrent_transitions_let_exactly_one_win,
    a_stale_compare_and_set_writes_nothing,
    cards_of_two_platforms_with_one_message_id_stay_apart,
    a_legacy_card_key_still_resolves,
    tampering_is_detected_at_the_first_broken_entry,
    a_held_lease_refuses_other_claimants_until_released,
    a_lease_whose_holder_stopped_renewing_expires,
    a_held_lease_is_renewed_past_its_ttl,
    the_open_index_follows_every_transition,
    audit_tail_reads_one_stocks_newest_entries_first,
    a_scheduled_request_stays_open_until_it_is_applied_or_cancelled,
    marks_change_only_from_the_value_expected,
    concurrent_marks_let_exactly_one_win,
);

/// Checks the indexed queries against full scans of the same store: `open_requests` against
/// `all` (every open state, and a terminal one that matches nothing), and `audit_iter` and
/// `audit_tail` of every stock, for every count, against the whole log.
pub(super) fn indexes_match_a_full_scan(store: &dyn RequestStore) {
    use RequestState::{Applied, Approved, Pending, Scheduled, Submitting};
    let all = store.all().unwrap();
    for states in [
        &[Pending][..],
        &[Approved, Submitting],
        &[Pending, Approved, Submitting],
        &[Pending, Scheduled],
        &[Scheduled],
        &[Applied],
    ] {
        let scanned: Vec<&ChangeRequest> = all
            .iter()
            .filter(|r| !r.state.is_terminal() && states.contains(&r.state))
            .collect();
        let indexed = store.open_requests(states).unwrap();
        assert_eq!(indexed.iter().collect::<Vec<_>>(), scanned, "{states:?}");
    }
    let log = store.audit_entries(None).unwrap();
    let stocks: BTreeSet<&str> = log.iter().map(|e| e.stock_id.as_str()).collect();
    for stock in stocks.into_iter().chain(["no-such-stock"]) {
        let of_stock: Vec<&AuditEntry> = log.iter().filter(|e| e.stock_id == stock).collect();
        let iterated: Vec<AuditEntry> = store
            .audit_iter(Some(stock))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(iterated.iter().collect::<Vec<_>>(), of_stock, "{stock}");
        for count in 0..=of_stock.len() + 1 {
            let newest: Vec<&AuditEntry> = of_stock.iter().rev().take(count).copied().collect();
            let tail = store.audit_tail(stock, count).unwrap();
            assert_eq!(tail.iter().collect::<Vec<_>>(), newest, "{stock} {count}");
        }
    }
}

fn shared<B: Backend>(raw: &B::Raw) -> SharedStore {
    SharedStore::from(raw.clone())
}

fn approve(
    store: &SharedStore,
    id: &str,
) -> Result<Result<(ChangeRequest, ()), String>, StoreError> {
    store.update(id, |r| {
        if r.state != RequestState::Pending {
            return Err(format!("already {}", r.state));
        }
        let mut next = r.clone();
        next.state = RequestState::Approved;
        Ok((next, AuditNote::new(2000, "approved", None), ()))
    })
}

fn create(store: &SharedStore, r: &ChangeRequest) {
    store
        .create(
            r,
            AuditNote::new(r.created_at, "requested", Some(r.requester.clone())),
        )
        .unwrap();
}

/// A request with its own id, stock and creation time.
fn made(id: &str, stock_id: &str, created_at: u64) -> ChangeRequest {
    ChangeRequest {
        id: RequestId::parse(id).unwrap(),
        stock_id: stock_id.into(),
        created_at,
        ..request(1)
    }
}

/// Moves request `id` to `state`, whatever it is in.
fn move_to(store: &SharedStore, id: &str, state: RequestState) -> ChangeRequest {
    let moved = store.update(id, |r| {
        let mut next = r.clone();
        next.state = state;
        Ok::<_, ()>((next, AuditNote::new(3000, state.as_str(), None), ()))
    });
    moved.unwrap().unwrap().0
}

fn open_ids(store: &SharedStore, states: &[RequestState]) -> Vec<String> {
    let open = store.open_requests(states).unwrap();
    open.iter().map(|r| r.id.to_string()).collect()
}

/// A second request, of another stock, made later.
fn other_request() -> ChangeRequest {
    ChangeRequest {
        id: RequestId::parse("jkmnpqrs").unwrap(),
        stock_id: "456".into(),
        created_at: 1500,
        ..request(1)
    }
}

fn transitions_are_stored_with_their_audit_entries<B: Backend>() {
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    let (r, other) = (request(1), other_request());
    let id = r.id.as_str();
    assert_eq!(store.get(id).unwrap(), None);
    assert_eq!(store.last().unwrap(), None);
    create(&store, &r);
    assert!(
        store
            .create(&r, AuditNote::new(1000, "requested", None))
            .is_err(),
        "an id is stored once"
    );
    create(&store, &other);
    assert_eq!(
        store.last().unwrap().unwrap().id,
        other.id,
        "the newest request is last"
    );

    let (approved, ()) = approve(&store, id).unwrap().unwrap();
    assert_eq!(approved.state, RequestState::Approved);
    assert_eq!(store.get(id).unwrap(), Some(approved));
    assert_eq!(approve(&store, id).unwrap(), Err("already Approved".into()));
    assert!(store
        .update("zzzzzzzz", |r| Ok::<_, ()>((
            r.clone(),
            AuditNote::default(),
            ()
        )))
        .is_err());

    let ids = |states: &[RequestState]| -> Vec<String> {
        store
            .in_state(states)
            .unwrap()
            .iter()
            .map(|r| r.id.to_string())
            .collect()
    };
    assert_eq!(ids(&[RequestState::Pending]), vec![other.id.to_string()]);
    assert_eq!(
        ids(&[RequestState::Pending, RequestState::Approved]),
        vec![r.id.to_string(), other.id.to_string()]
    );
    assert_eq!(store.all().unwrap().len(), 2);

    let entries = store.audit_entries(Some("123")).unwrap();
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert_eq!(
        (entries[0].from, entries[0].to),
        (None, RequestState::Pending)
    );
    assert_eq!(entries[0].actor.as_ref(), Some(&r.requester));
    assert_eq!(
        (entries[1].from, entries[1].to),
        (Some(RequestState::Pending), RequestState::Approved)
    );
    assert_eq!(
        (
            entries[1].action.as_str(),
            entries[1].before,
            entries[1].after
        ),
        ("approved", 100, 200)
    );
    let all = store.audit_entries(None).unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        all.windows(2).all(|w| w[1].prev_hash == w[0].hash),
        "each entry links to the one before"
    );
    assert_eq!(store.verify_audit().unwrap(), Ok(3));
    store.flush().unwrap();
}

fn concurrent_transitions_let_exactly_one_win<B: Backend>() {
    const WORKERS: usize = 4;
    for _ in 0..10 {
        let (_keep, raw) = B::open();
        let store = shared::<B>(&raw);
        let r = request(1);
        create(&store, &r);
        // Every worker has read the pending request before any writes: all race to set it.
        let all_read = Barrier::new(WORKERS);
        let wins: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..WORKERS)
                .map(|_| {
                    s.spawn(|| {
                        let first = Cell::new(true);
                        let approved = store.update(r.id.as_str(), |current| {
                            if first.replace(false) {
                                all_read.wait();
                            }
                            if current.state != RequestState::Pending {
                                return Err(());
                            }
                            let mut next = current.clone();
                            next.state = RequestState::Approved;
                            Ok((next, AuditNote::new(2000, "approved", None), ()))
                        });
                        approved.unwrap().is_ok() as usize
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(wins, 1);
        assert_eq!(store.audit_entries(None).unwrap().len(), 2);
        assert_eq!(store.verify_audit().unwrap(), Ok(2));
        // The losers' conflicts wrote nothing: the request is open once, as approved.
        assert_eq!(
            open_ids(&store, &[RequestState::Pending]),
            Vec::<String>::new()
        );
        assert_eq!(
            open_ids(&store, &[RequestState::Pending, RequestState::Approved]),
            vec![r.id.to_string()]
        );
    }
}

fn a_stale_compare_and_set_writes_nothing<B: Backend>() {
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    let r = request(1);
    create(&store, &r);
    let (approved, ()) = approve(&store, r.id.as_str()).unwrap().unwrap();
    let mut rejected = r.clone();
    rejected.state = RequestState::Rejected;
    let note = AuditNote::new(3000, "rejected", None);
    let cas = store
        .compare_and_set(r.id.as_str(), &r, &rejected, note)
        .unwrap();
    assert_eq!(
        cas,
        Cas::Conflict,
        "the request is no longer the pending one read"
    );
    assert_eq!(store.get(r.id.as_str()).unwrap(), Some(approved));
    assert_eq!(store.audit_entries(None).unwrap().len(), 2);
}

fn cards_of_two_platforms_with_one_message_id_stay_apart<B: Backend>() {
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    let discord = CardKey::new("discord", "111", "42");
    let slack = CardKey::new("slack", "C01", "42");
    store.index_card(&discord, "aaaaaaaa").unwrap();
    store.index_card(&slack, "bbbbbbbb").unwrap();
    assert_eq!(
        store.request_for_card(&discord).unwrap().as_deref(),
        Some("aaaaaaaa")
    );
    assert_eq!(
        store.request_for_card(&slack).unwrap().as_deref(),
        Some("bbbbbbbb")
    );
    let elsewhere = CardKey::new("discord", "222", "43");
    assert_eq!(store.request_for_card(&elsewhere).unwrap(), None);
}

fn a_legacy_card_key_still_resolves<B: Backend>() {
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    // Indexed as today's callers do, by the message id alone.
    store.index_card("42", "aaaaaaaa").unwrap();
    assert_eq!(
        store.request_for_card("42").unwrap().as_deref(),
        Some("aaaaaaaa")
    );
    let full = CardKey::new("discord", "111", "42");
    assert_eq!(
        store.request_for_card(&full).unwrap().as_deref(),
        Some("aaaaaaaa")
    );
    // A card indexed with its platform wins over the legacy entry for its own platform.
    store.index_card(&full, "bbbbbbbb").unwrap();
    assert_eq!(
        store.request_for_card(&full).unwrap().as_deref(),
        Some("bbbbbbbb")
    );
}

fn tampering_is_detected_at_the_first_broken_entry<B: Backend>() {
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    let r = request(1);
    create(&store, &r);
    approve(&store, r.id.as_str()).unwrap().unwrap();
    assert_eq!(store.verify_audit().unwrap(), Ok(2));
    B::tamper(&raw, 1);
    let broken = store.verify_audit().unwrap().unwrap_err();
    assert_eq!(broken.seq, 1);
    assert!(broken.reason.contains("hash"), "{broken:?}");
}

fn a_held_lease_refuses_other_claimants_until_released<B: Backend>() {
    let (_keep, raw) = B::open();
    let (one, other) = (shared::<B>(&raw), shared::<B>(&raw));
    assert_ne!(one.holder(), other.holder());
    let guard = one.claim_work("aaaaaaaa").expect("free");
    assert!(
        one.claim_work("aaaaaaaa").is_none(),
        "one worker at a time, even of one holder"
    );
    assert!(
        other.claim_work("aaaaaaaa").is_none(),
        "another holder respects the lease"
    );
    assert!(one.is_busy("aaaaaaaa") && other.is_busy("aaaaaaaa"));
    let other_request = other
        .claim_work("bbbbbbbb")
        .expect("leases are per request");
    assert!(!one.is_busy("cccccccc"));
    drop(guard);
    assert!(
        !other.is_busy("aaaaaaaa"),
        "released at once when the guard drops"
    );
    assert!(other.claim_work("aaaaaaaa").is_some());
    drop(other_request);
}

/// Polls `condition` until it holds or `within` passes.
fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    condition()
}

fn a_lease_whose_holder_stopped_renewing_expires<B: Backend>() {
    let (_keep, raw) = B::open();
    let ttl = Duration::from_millis(300);
    // A holder that took the lease and died: nothing renews or releases it.
    assert!(raw.try_lease("aaaaaaaa", "dead-holder", ttl).unwrap());
    let taken_at = Instant::now();
    let other = shared::<B>(&raw);
    assert!(other.claim_work("aaaaaaaa").is_none());
    let mut guard = None;
    assert!(
        eventually(Duration::from_secs(5), || {
            guard = other.claim_work("aaaaaaaa");
            guard.is_some()
        }),
        "the lease expires"
    );
    assert!(
        taken_at.elapsed() >= ttl - Duration::from_millis(20),
        "not before its expiry"
    );
    assert_eq!(
        raw.lease("aaaaaaaa").unwrap().unwrap().holder,
        other.holder()
    );
}

fn a_held_lease_is_renewed_past_its_ttl<B: Backend>() {
    let (_keep, raw) = B::open();
    // Renewed every third of it: a renewal late by up to two thirds still holds.
    let ttl = Duration::from_millis(400);
    let one = shared::<B>(&raw).with_lease_ttl(ttl);
    let other = shared::<B>(&raw).with_lease_ttl(ttl);
    let guard = one.claim_work("aaaaaaaa").expect("free");
    let held = Instant::now();
    while held.elapsed() < ttl * 4 {
        assert!(
            other.claim_work("aaaaaaaa").is_none(),
            "taken over after {:?}",
            held.elapsed()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(guard);
    assert!(other.claim_work("aaaaaaaa").is_some());
}

fn the_open_index_follows_every_transition<B: Backend>() {
    use RequestState::{Applied, Approved, Cancelled, Pending, Rejected, Submitting};
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // Stored out of creation order, two made at the same second: returned by time, then id.
    for r in [
        made("cccccccc", "123", 2000),
        made("bbbbbbbb", "123", 1000),
        made("aaaaaaaa", "123", 2000),
        made("dddddddd", "456", 500),
    ] {
        create(&store, &r);
    }
    let everyone = ids(&["dddddddd", "bbbbbbbb", "aaaaaaaa", "cccccccc"]);
    assert_eq!(open_ids(&store, &[Pending]), everyone);
    indexes_match_a_full_scan(&*store);

    move_to(&store, "bbbbbbbb", Approved);
    assert_eq!(
        open_ids(&store, &[Pending]),
        ids(&["dddddddd", "aaaaaaaa", "cccccccc"])
    );
    assert_eq!(
        open_ids(&store, &[Approved, Submitting]),
        ids(&["bbbbbbbb"])
    );
    assert_eq!(open_ids(&store, &[Pending, Approved, Submitting]), everyone);
    move_to(&store, "bbbbbbbb", Submitting);
    assert_eq!(open_ids(&store, &[Approved]), ids(&[]));
    assert_eq!(open_ids(&store, &[Submitting]), ids(&["bbbbbbbb"]));
    indexes_match_a_full_scan(&*store);

    move_to(&store, "bbbbbbbb", Applied);
    move_to(&store, "aaaaaaaa", Rejected);
    assert_eq!(
        open_ids(&store, &[Pending, Approved, Submitting]),
        ids(&["dddddddd", "cccccccc"])
    );
    assert_eq!(
        open_ids(&store, &[Applied, Rejected]),
        ids(&[]),
        "a closed request is not open"
    );
    assert_eq!(store.in_state(&[Applied, Rejected]).unwrap().len(), 2);

    // A compare-and-set from a version no longer stored conflicts and leaves the index.
    let pending = store.get("cccccccc").unwrap().unwrap();
    let mut stale = pending.clone();
    stale.state = Approved;
    let mut cancelled = pending.clone();
    cancelled.state = Cancelled;
    let cancel_from = |expected: &ChangeRequest| {
        let note = AuditNote::new(4000, "cancelled", None);
        store
            .compare_and_set("cccccccc", expected, &cancelled, note)
            .unwrap()
    };
    assert_eq!(cancel_from(&stale), Cas::Conflict);
    assert_eq!(open_ids(&store, &[Pending]), ids(&["dddddddd", "cccccccc"]));
    assert_eq!(cancel_from(&pending), Cas::Swapped);
    assert_eq!(open_ids(&store, &[Pending]), ids(&["dddddddd"]));
    indexes_match_a_full_scan(&*store);
}

fn audit_tail_reads_one_stocks_newest_entries_first<B: Backend>() {
    use RequestState::{Applied, Approved, Rejected, Submitting};
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    // Stock `12` is a prefix of stock `123`: neither may see the other's entries.
    create(&store, &made("aaaaaaaa", "123", 1000)); // 1
    create(&store, &made("bbbbbbbb", "12", 1100)); // 2
    move_to(&store, "aaaaaaaa", Approved); // 3
    move_to(&store, "bbbbbbbb", Rejected); // 4
    move_to(&store, "aaaaaaaa", Submitting); // 5
    move_to(&store, "aaaaaaaa", Applied); // 6
    let seqs = |entries: Vec<AuditEntry>| entries.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(store.audit_tail("123", 2).unwrap()), vec![6, 5]);
    assert_eq!(seqs(store.audit_tail("123", 10).unwrap()), vec![6, 5, 3, 1]);
    assert_eq!(seqs(store.audit_tail("12", 10).unwrap()), vec![4, 2]);
    assert_eq!(seqs(store.audit_tail("123", 0).unwrap()), Vec::<u64>::new());
    assert_eq!(seqs(store.audit_tail("1", 10).unwrap()), Vec::<u64>::new());
    let newest = &store.audit_tail("123", 1).unwrap()[0];
    assert_eq!((newest.from, newest.to), (Some(Submitting), Applied));
    let of_stock: Vec<AuditEntry> = store
        .audit_iter(Some("123"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(seqs(of_stock), vec![1, 3, 5, 6], "oldest first");
    assert_eq!(store.audit_entries(Some("12")).unwrap().len(), 2);
    indexes_match_a_full_scan(&*store);
}

fn a_scheduled_request_stays_open_until_it_is_applied_or_cancelled<B: Backend>() {
    use RequestState::{Approved, Cancelled, Pending, Scheduled};
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    create(&store, &made("aaaaaaaa", "123", 1000));
    create(&store, &made("bbbbbbbb", "123", 2000));
    move_to(&store, "aaaaaaaa", Scheduled);
    move_to(&store, "bbbbbbbb", Scheduled);
    assert_eq!(open_ids(&store, &[Pending]), ids(&[]));
    assert_eq!(
        open_ids(&store, &[Pending, Scheduled]),
        ids(&["aaaaaaaa", "bbbbbbbb"])
    );
    indexes_match_a_full_scan(&*store);
    move_to(&store, "aaaaaaaa", Approved);
    move_to(&store, "bbbbbbbb", Cancelled);
    assert_eq!(open_ids(&store, &[Scheduled]), ids(&[]));
    assert_eq!(open_ids(&store, &[Approved]), ids(&["aaaaaaaa"]));
    indexes_match_a_full_scan(&*store);
}

fn marks_change_only_from_the_value_expected<B: Backend>() {
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    assert_eq!(store.mark("state:123").unwrap(), None);
    assert!(store.swap_mark("state:123", None, Some("SENDING")).unwrap());
    assert!(
        !store.swap_mark("state:123", None, Some("PAUSED")).unwrap(),
        "set already: not absent"
    );
    assert!(!store
        .swap_mark("state:123", Some("PAUSED"), Some("STOPPED"))
        .unwrap());
    assert_eq!(store.mark("state:123").unwrap().as_deref(), Some("SENDING"));
    assert!(store
        .swap_mark("state:123", Some("SENDING"), Some("PAUSED"))
        .unwrap());
    assert_eq!(store.mark("state:123").unwrap().as_deref(), Some("PAUSED"));
    assert_eq!(store.mark("state:124").unwrap(), None, "keys stay apart");
    assert!(store.swap_mark("state:123", Some("PAUSED"), None).unwrap());
    assert_eq!(store.mark("state:123").unwrap(), None);
}

fn concurrent_marks_let_exactly_one_win<B: Backend>() {
    let (_keep, raw) = B::open();
    let store = shared::<B>(&raw);
    let threads = 8;
    let barrier = Barrier::new(threads);
    let wins: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (store, barrier) = (&store, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let value = format!("worker {i}");
                    usize::from(
                        store
                            .swap_mark("alert:daily:123:80", None, Some(&value))
                            .unwrap(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(wins, 1);
    assert!(store
        .mark("alert:daily:123:80")
        .unwrap()
        .unwrap()
        .starts_with("worker "));
}
