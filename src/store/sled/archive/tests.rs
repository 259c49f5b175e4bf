//! Archiving: every answer stays the same, commands never open the archive, backups carry
//! it, and an archiving stopped at any step (or impossible) loses nothing.

use super::*;
use crate::domain::policy::tests::request;
use crate::domain::request::{RequestId, RequestState};
use crate::store::{AuditNote, CardKey, RequestStore};

#[test]
fn siblings_are_next_to_the_store_folder() {
    assert_eq!(
        archive_path(Path::new("/srv/bb/store.sled/")),
        Path::new("/srv/bb/store.sled.archive")
    );
    assert_eq!(sibling(Path::new("db"), NEXT_SUFFIX), Path::new("db.next"));
}

/// Archive when more than 3 requests are finished, keep the newest finished one and the
/// newest 3 entries of each stock live.
const SMALL: ArchivePolicy = ArchivePolicy {
    after_finished: 3,
    keep_finished: 1,
    keep_per_stock: 3,
};

fn options(archive: Option<ArchivePolicy>) -> StoreOptions {
    StoreOptions {
        archive,
        ..StoreOptions::default()
    }
}

/// Opens the store at `path`, waiting for the lock of a handle this test just dropped
/// (see `sled::tests::open`).
fn open(path: &Path, archive: Option<ArchivePolicy>) -> SledStore {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match SledStore::open_with(path, &options(archive)) {
            Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
}

fn step(store: &SledStore, id: &str, state: RequestState, at: u64) {
    store
        .update(id, |r| {
            let mut next = r.clone();
            next.state = state;
            Ok::<_, ()>((next, AuditNote::new(at, state.as_str(), None), ()))
        })
        .unwrap()
        .unwrap();
}

/// Eight requests over stocks 123 and 456, each with a card (one a legacy key): six
/// finished (applied or rejected), then one approved and one pending, the last made.
fn history(store: &SledStore) -> Vec<String> {
    use RequestState::{Applied, Approved, Rejected, Submitting};
    let mut ids = Vec::new();
    for n in 0..8u64 {
        let r = ChangeRequest {
            id: RequestId::generate(),
            stock_id: if n % 2 == 0 { "123" } else { "456" }.into(),
            created_at: 1_000 + n,
            ..request(1)
        };
        let id = r.id.to_string();
        store
            .create(&r, AuditNote::new(r.created_at, "requested", None))
            .unwrap();
        let card = match n {
            3 => CardKey::legacy(&format!("9{n}")),
            _ => CardKey::new("discord", "111", &format!("9{n}")),
        };
        store.link_card(&card, &id).unwrap();
        match n {
            0..=5 if n % 3 == 2 => step(store, &id, Rejected, 2_000 + n),
            0..=5 => {
                step(store, &id, Approved, 2_000 + n);
                step(store, &id, Submitting, 2_100 + n);
                step(store, &id, Applied, 2_200 + n);
            }
            6 => step(store, &id, Approved, 2_000 + n),
            _ => {}
        }
        ids.push(id);
    }
    ids
}

/// Every answer the store gives about `ids`, their cards and the stocks' logs.
#[derive(Debug, PartialEq)]
struct Answers {
    all: Vec<ChangeRequest>,
    log: Vec<AuditEntry>,
    by_stock: Vec<Vec<AuditEntry>>,
    tails: Vec<Vec<AuditEntry>>,
    gets: Vec<Option<ChangeRequest>>,
    cards: Vec<Option<String>>,
    open: Vec<ChangeRequest>,
    last: Option<ChangeRequest>,
    verified: u64,
}

fn answers(store: &SledStore, ids: &[String]) -> Answers {
    let stocks = ["123", "456", "789"];
    let log = store.audit_entries(None).unwrap();
    Answers {
        all: store.all().unwrap(),
        by_stock: stocks
            .iter()
            .map(|s| store.audit_entries(Some(s)).unwrap())
            .collect(),
        tails: stocks
            .iter()
            .flat_map(|s| (0..=log.len() + 1).map(move |n| (s, n)))
            .map(|(s, n)| store.audit_tail(s, n).unwrap())
            .collect(),
        log,
        gets: ids.iter().map(|id| store.get(id).unwrap()).collect(),
        cards: (0..8)
            .map(|n| match n {
                3 => CardKey::legacy(&format!("9{n}")),
                _ => CardKey::new("discord", "111", &format!("9{n}")),
            })
            .map(|card| store.card_request(&card).unwrap())
            .collect(),
        open: store
            .open_requests(&[RequestState::Pending, RequestState::Approved])
            .unwrap(),
        last: store.last().unwrap(),
        verified: store.verify_audit().unwrap().unwrap(),
    }
}

fn archive_opened(store: &SledStore) -> bool {
    let opened = store.archive.opened.lock().unwrap();
    opened.is_some()
}

#[test]
fn finished_work_moves_to_the_archive_and_every_answer_stays_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = open(&path, Some(SMALL));
    let ids = history(&store);
    let before = answers(&store, &ids);
    assert_eq!(before.verified, 23);
    drop(store);

    let store = open(&path, Some(SMALL));
    assert!(archive_path(&path).exists(), "an archive was made");
    // Live: the two open requests and the newest finished one; 3 entries of each stock.
    assert_eq!(store.requests.len(), 3);
    assert_eq!(store.audit.len(), 6);
    assert_eq!(store.cards.len(), 3);
    assert!(
        !archive_opened(&store),
        "a fresh store leaves the archive closed"
    );
    // What commands and sweeps read never opens the archive.
    let pending = store.open_requests(&[RequestState::Pending]).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(store.audit_tail("123", 3).unwrap().len(), 3);
    assert_eq!(store.last().unwrap().unwrap().id.to_string(), ids[7]);
    assert!(!archive_opened(&store), "commands read the live store only");
    assert_eq!(answers(&store, &ids), before);
    assert!(archive_opened(&store));
    crate::store::contract::indexes_match_a_full_scan(&*store);

    // Work goes on in the live store, the chain across both.
    step(&store, &ids[6], RequestState::Submitting, 3_000);
    assert_eq!(store.verify_audit().unwrap(), Ok(24));
    crate::store::contract::indexes_match_a_full_scan(&*store);
    let after = answers(&store, &ids);
    drop(store);
    // Not due again (one finished request live): opened as it is.
    let store = open(&path, Some(SMALL));
    assert_eq!(store.requests.len(), 3);
    assert_eq!(answers(&store, &ids), after);
}

#[test]
fn a_backup_of_an_archived_store_restores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let ids = history(&open(&path, Some(SMALL)));
    let store = open(&path, Some(SMALL));
    let before = answers(&store, &ids);
    drop(store);
    let file = dir.path().join("backup.jsonl");
    let (summary, _) = crate::store::backup::backup(&path, &options(None), &file).unwrap();
    assert_eq!(summary.counts.requests, 8);
    assert_eq!(summary.counts.audit_entries, 23);
    assert_eq!(summary.counts.cards, 8);
    let restored_path = dir.path().join("restored");
    let restored = open(&restored_path, None);
    crate::store::backup::restore(&restored, &restored_path, &file).unwrap();
    assert_eq!(answers(&restored, &ids), before);
    // A store with an archive is not empty.
    let not_empty = crate::store::backup::restore(&open(&path, None), &path, &file);
    assert!(not_empty.is_err());
}

#[test]
fn a_store_whose_work_cannot_be_archived_still_opens_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let ids = history(&open(&path, None));
    let before = answers(&open(&path, None), &ids);
    // A file where the rebuilt copy would go: it can be neither removed nor written.
    std::fs::write(sibling(&path, NEXT_SUFFIX), b"in the way").unwrap();
    let store = open(&path, Some(SMALL));
    assert_eq!(store.requests.len(), 8, "used as it is");
    assert_eq!(answers(&store, &ids), before);
}

#[test]
fn an_archiving_stopped_at_any_step_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let ids = history(&open(&path, None));
    let store = open(&path, None);
    let before = answers(&store, &ids);
    let next = sibling(&path, NEXT_SUFFIX);

    // Stopped after the archive and the new live copy were written, before the swap.
    let plan = store.plan(&SMALL).unwrap();
    let kept = store.copy_to_archive(&plan).unwrap();
    store
        .write_live_copy(&next, &options(None), &plan, &kept)
        .unwrap();
    drop(store);
    let store = open(&path, None);
    assert!(!next.exists(), "the partial copy is removed");
    assert_eq!(store.requests.len(), 8, "the old live store is whole");
    assert_eq!(
        answers(&store, &ids),
        before,
        "copies in the archive are read once"
    );

    // Stopped after the swap, before the old live store was removed.
    let plan = store.plan(&SMALL).unwrap();
    let kept = store.copy_to_archive(&plan).unwrap();
    store
        .write_live_copy(&next, &options(None), &plan, &kept)
        .unwrap();
    exchange(&path, &next).unwrap();
    drop(store);
    let store = open(&path, None);
    assert!(!next.exists(), "the old live store is removed");
    assert_eq!(store.requests.len(), 3, "the new live store is in place");
    assert_eq!(answers(&store, &ids), before);
}

#[test]
fn trees_beside_the_request_trees_survive_archiving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = open(&path, Some(SMALL));
    history(&store);
    // Live state a later feature keeps in a tree of its own (alert marks, say).
    let marks = store.db.open_tree("marks").unwrap();
    marks.insert("alert:123:80", "2026-11-30").unwrap();
    store.flush().unwrap();
    drop((marks, store));

    let store = open(&path, Some(SMALL));
    assert!(archive_path(&path).exists(), "an archive was made");
    let marks = store.db.open_tree("marks").unwrap();
    assert_eq!(
        marks.get("alert:123:80").unwrap().as_deref(),
        Some(&b"2026-11-30"[..]),
        "a tree the archiver does not know is copied whole"
    );
}
