//! `budget-bot migrate-store --from sled:PATH --to postgres`: a sled store copied into an
//! empty PostgreSQL store in one transaction, streamed: the sled records are read in order
//! (live and archived, as a backup reads them) and sent in batches of [`BATCH`] through a
//! channel of two batches to the connection that writes them, so the copy holds a few
//! batches in memory whatever the store's size. The sled store is first read through once
//! as a backup reads it (every request against its last audit entry, the chain, the head),
//! so a damaged store is refused before anything is written; the chain is copied as it is,
//! hashes included, and verified again in the copy.

use std::sync::mpsc::{sync_channel, SyncSender};

use anyhow::{anyhow, bail, Context};

use super::{insert_request, json, PostgresStore};
use crate::domain::request::ChangeRequest;
use crate::store::audit::{AuditEntry, AuditHead};
use crate::store::sled::{audit_key_seq, card_key_from_bytes, decode, utf8, Records};
use crate::store::{CardKey, RequestStore, SledStore, StoreError};

/// How many records one batch carries.
const BATCH: usize = 500;

/// Copies `from` into `to` (which must be empty); says what was copied.
pub fn copy_from_sled(
    from: &SledStore,
    from_name: &str,
    to: &PostgresStore,
) -> anyhow::Result<String> {
    copy_in_batches(from, from_name, to, BATCH)
}

fn copy_in_batches(
    from: &SledStore,
    from_name: &str,
    to: &PostgresStore,
    batch: usize,
) -> anyhow::Result<String> {
    crate::store::backup::write_backup(from, std::io::sink())
        .with_context(|| format!("the sled store at {from_name} cannot be copied"))?;
    let head = from.audit_head()?;
    let (send, receive) = sync_channel(2);
    let (imported, produced) = std::thread::scope(|scope| {
        let importer = scope.spawn(|| to.import(head, receive));
        let produced = produce(from, batch, &send);
        if let Ok(Some(_)) = produced {
            let _ = send.send(Batch::Done);
        }
        drop(send);
        (importer.join(), produced)
    });
    let imported = imported.map_err(|_| anyhow!("the copy into {} stopped", to.describe()))?;
    let produced =
        produced.with_context(|| format!("the sled store at {from_name} cannot be read"))?;
    // A refusal stops the importer taking batches, so it explains a producer cut short.
    if let Err(refused) = imported? {
        let (r, c, a) = to.counts()?;
        bail!(
            "{refused} ({} holds {r} requests, {c} cards and {a} audit entries): migrate into an empty database",
            to.describe()
        );
    }
    let counts = produced.ok_or_else(|| anyhow!("the copy into {} stopped", to.describe()))?;
    if to.counts()? != counts {
        bail!("the copy in {} does not hold what was read", to.describe());
    }
    match to.verify_audit()? {
        Ok(entries) => Ok(format!(
            "copied {} requests, {} cards and {entries} audit entries from {from_name} into {} (audit verify: hash chain intact)",
            counts.0,
            counts.1,
            to.describe(),
        )),
        Err(broken) => bail!(
            "copied, but the audit chain in {} is broken at entry #{}: {}",
            to.describe(),
            broken.seq,
            broken.reason
        ),
    }
}

/// Reads the audit chain, the requests and the cards in batches; (requests, cards, audit
/// entries) sent, or `None` when the importer stopped taking them.
fn produce(
    from: &SledStore,
    batch: usize,
    send: &SyncSender<Batch>,
) -> Result<Option<(u64, u64, u64)>, StoreError> {
    let audit = from.records(Records::Audit)?.map(|item| {
        let (key, bytes) = item?;
        decode::<AuditEntry>(&format!("audit entry #{}", audit_key_seq(&key)), &bytes)
    });
    let Some(audit) = stream(audit, batch, send, Batch::Audit)? else {
        return Ok(None);
    };
    let requests = from.records(Records::Requests)?.map(|item| {
        let (key, bytes) = item?;
        decode(
            &format!("request {}", String::from_utf8_lossy(&key)),
            &bytes,
        )
    });
    let Some(requests) = stream(requests, batch, send, Batch::Requests)? else {
        return Ok(None);
    };
    let cards = from.records(Records::Cards)?.map(|item| {
        let (key, value) = item?;
        Ok((
            card_key_from_bytes(&key)?,
            utf8("card index entry", &value)?,
        ))
    });
    let Some(cards) = stream(cards, batch, send, Batch::Cards)? else {
        return Ok(None);
    };
    // The marks (what reminders and burn alerts already said, Slack event ids seen) come
    // along, so the bot on the copy does not say it again.
    let marks = from.marks.iter().map(|item| {
        let (key, value) = item?;
        Ok((utf8("mark key", &key)?, utf8("mark", &value)?))
    });
    if stream(marks, batch, send, Batch::Marks)?.is_none() {
        return Ok(None);
    }
    Ok(Some((requests, cards, audit)))
}

/// Sends `items` in batches of `batch`; how many were sent (`None`: the importer stopped).
fn stream<T>(
    items: impl Iterator<Item = Result<T, StoreError>>,
    batch: usize,
    send: &SyncSender<Batch>,
    wrap: fn(Vec<T>) -> Batch,
) -> Result<Option<u64>, StoreError> {
    let mut sent = 0;
    let mut pending = Vec::with_capacity(batch);
    let mut items = items.peekable();
    while let Some(item) = items.next() {
        pending.push(item?);
        if pending.len() == batch || items.peek().is_none() {
            sent += pending.len() as u64;
            let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
            if send.send(wrap(full)).is_err() {
                return Ok(None);
            }
        }
    }
    Ok(Some(sent))
}

impl PostgresStore {
    /// Copies a whole store into this one in one transaction, as its batches arrive:
    /// requests, cards, and the audit chain as it is, hashes included; `head` is the chain's
    /// head. Refused unless this store is empty; a sender that goes away before
    /// [`Batch::Done`] leaves the store as it was.
    pub(crate) fn import(
        &self,
        head: Option<AuditHead>,
        batches: std::sync::mpsc::Receiver<Batch>,
    ) -> Result<Result<(), String>, StoreError> {
        self.query("cannot copy into the store", move |client| {
            let mut tx = client.transaction()?;
            let row = tx.query_one(
                "SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM cards) \
                        + (SELECT count(*) FROM audit) FROM audit_head FOR UPDATE",
                &[],
            )?;
            if row.get::<_, i64>(0) != 0 {
                return Ok(Err("the target store is not empty".to_string()));
            }
            let audit = tx.prepare(
                "INSERT INTO audit (seq, stock_id, request_id, entry) \
                 VALUES ($1, $2, $3, $4::text::json)",
            )?;
            let card = tx.prepare(
                "INSERT INTO cards (platform, channel, message, request_id) VALUES ($1, $2, $3, $4)",
            )?;
            // A mark the target already holds (a bot ran on it before the copy) is newer.
            let mark = tx.prepare(
                "INSERT INTO marks (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )?;
            // Each request is written before the entry that created it is known by id, under
            // a distinct negative number, and given that entry's seq once the chain is in.
            let mut placeholder = 0_i64;
            loop {
                match batches.recv() {
                    Err(_) => return Ok(Err("the copy was abandoned before its end".into())),
                    Ok(Batch::Done) => break,
                    Ok(Batch::Audit(entries)) => {
                        for entry in &entries {
                            tx.execute(
                                &audit,
                                &[
                                    &(entry.seq as i64),
                                    &entry.stock_id,
                                    &entry.request_id,
                                    &json(entry),
                                ],
                            )?;
                        }
                    }
                    Ok(Batch::Requests(requests)) => {
                        for request in &requests {
                            placeholder -= 1;
                            insert_request(&mut tx, request, placeholder)?;
                        }
                    }
                    Ok(Batch::Cards(cards)) => {
                        for (key, request_id) in &cards {
                            tx.execute(
                                &card,
                                &[&key.platform, &key.channel, &key.message, request_id],
                            )?;
                        }
                    }
                    Ok(Batch::Marks(marks)) => {
                        for (key, value) in &marks {
                            tx.execute(&mark, &[key, value])?;
                        }
                    }
                }
            }
            if let Some(head) = &head {
                tx.execute(
                    "UPDATE audit_head SET seq = $1, hash = $2",
                    &[&(head.seq as i64), &head.hash],
                )?;
            }
            tx.execute(
                "UPDATE requests r SET created_seq = a.seq FROM audit a \
                 WHERE a.request_id = r.id AND (a.entry->>'from') IS NULL",
                &[],
            )?;
            if let Some(orphan) =
                tx.query_opt("SELECT id FROM requests WHERE created_seq < 0 LIMIT 1", &[])?
            {
                let id: String = orphan.get(0);
                return Ok(Err(format!(
                    "request {id} has no audit entry that created it"
                )));
            }
            tx.commit()?;
            Ok(Ok(()))
        })
    }
}

/// Part of a whole store copied in (see [`PostgresStore::import`]).
pub(crate) enum Batch {
    Audit(Vec<AuditEntry>),
    Requests(Vec<ChangeRequest>),
    Cards(Vec<(CardKey, String)>),
    /// Store marks: key, value.
    Marks(Vec<(String, String)>),
    /// Everything was sent: commit.
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::tests::request;
    use crate::domain::request::{ChangeRequest, RequestId, RequestState};
    use crate::store::postgres::testing::test_database;
    use crate::store::{ArchivePolicy, AuditNote, CardKey, SharedStore, StoreOptions};
    use std::time::{Duration, Instant};

    /// Opens the sled store at `path`, waiting for the lock of a handle just dropped.
    fn reopen(path: &std::path::Path, options: &StoreOptions) -> SledStore {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match SledStore::open_with(path, options) {
                Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                    std::thread::yield_now()
                }
                opened => return opened.unwrap(),
            }
        }
    }

    #[test]
    fn a_store_larger_than_a_batch_is_copied_whole_archive_included() {
        let Some(db) = test_database("a_store_larger_than_a_batch_is_copied_whole") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let never = StoreOptions {
            archive: None,
            ..StoreOptions::default()
        };
        let sled = reopen(&path, &never);
        let shared = SharedStore::from(sled.clone());
        let ids = "abcdefghjkmnpqrstuvwxyz";
        for (i, c) in ids.chars().enumerate() {
            let r = ChangeRequest {
                id: RequestId::parse(&c.to_string().repeat(8)).unwrap(),
                created_at: 1000 + i as u64,
                ..request(1)
            };
            shared
                .create(&r, AuditNote::new(r.created_at, "requested", None))
                .unwrap();
            if i % 3 == 0 {
                let rejected = |r: &ChangeRequest| {
                    let next = ChangeRequest {
                        state: RequestState::Rejected,
                        ..r.clone()
                    };
                    Ok::<_, ()>((next, AuditNote::new(2000, "rejected", None), ()))
                };
                shared.update(r.id.as_str(), rejected).unwrap().unwrap();
            }
            sled.link_card(&CardKey::new("discord", "7", &i.to_string()), r.id.as_str())
                .unwrap();
        }
        // More marks than a batch holds, so they too cross batch boundaries.
        let marks: Vec<(String, String)> = (0..6)
            .map(|i| (format!("watch:123:day:{i}"), format!("alerted {i}")))
            .collect();
        for (key, value) in &marks {
            assert!(sled.swap_mark(key, None, Some(value)).unwrap());
        }
        drop((shared, sled));
        // Reopened with a small archive policy, most finished work (and its cards) moves to
        // the archive, which the copy must read as well as the live store.
        let archiving = StoreOptions {
            archive: Some(ArchivePolicy {
                after_finished: 2,
                keep_finished: 1,
                keep_per_stock: 3,
            }),
            ..StoreOptions::default()
        };
        let sled = reopen(&path, &archiving);
        assert!(sled.cards.len() < ids.len(), "cards were archived");

        let to = PostgresStore::connect(&db.url).unwrap();
        let said = copy_in_batches(&sled, "test.sled", &to, 4).unwrap();
        let audit = sled.audit_entries(None).unwrap();
        assert_eq!(audit.len(), ids.len() + ids.len().div_ceil(3));
        let counted = format!(
            "copied {} requests, {} cards and {} audit entries",
            ids.len(),
            ids.len(),
            audit.len()
        );
        assert!(said.contains(&counted), "{said}");
        assert_eq!(to.all().unwrap(), sled.all().unwrap());
        assert_eq!(to.audit_entries(None).unwrap(), audit, "hashes and all");
        assert_eq!(to.verify_audit().unwrap(), Ok(audit.len() as u64));
        assert_eq!(to.last().unwrap(), sled.last().unwrap());
        for i in 0..ids.len() {
            let card = CardKey::new("discord", "7", &i.to_string());
            let copied = to.card_request(&card).unwrap();
            assert!(copied.is_some(), "card {i}");
            assert_eq!(copied, sled.card_request(&card).unwrap(), "card {i}");
        }
        for (key, value) in &marks {
            assert_eq!(
                to.mark(key).unwrap().as_deref(),
                Some(value.as_str()),
                "{key}"
            );
        }
        let refused = copy_in_batches(&sled, "test.sled", &to, 4)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("the target store is not empty"),
            "{refused}"
        );
        let (requests, _, _) = to.counts().unwrap();
        assert_eq!(requests, ids.len() as u64, "the refused copy wrote nothing");
    }
}
