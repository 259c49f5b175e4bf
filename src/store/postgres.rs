//! The PostgreSQL backend: one database shared by several budget-bot processes. Each
//! request is stored whole as its JSON document beside the columns its indexes need (id,
//! state, stock, creation time), so fields added to a request flow through unchanged.
//!
//! Every transition is one transaction that locks the stored request (`SELECT … FOR
//! UPDATE`), checks that it is still the one the caller read, and appends its audit entry
//! while holding the chain's head row: two processes deciding one request at once cause one
//! transition, and two writers append to the chain one after the other. Leases are rows
//! compared against the database server's clock. Connections live on threads of their own
//! ([`pool`]); the schema is migrated on open ([`schema`]).

pub mod migrate;
mod pool;
mod schema;
#[doc(hidden)]
pub mod testing;
mod tls;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use postgres::Client;

pub use self::pool::{ConnectOptions, Target, DEFAULT_CONNECT_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT};
use self::pool::{Pool, Session};
pub use self::schema::SCHEMA_VERSION;
pub use self::tls::SslMode;
use super::audit::{self, AuditBreak, AuditEntry, AuditHead};
use super::sled::decode;
use super::{AuditIter, AuditNote, CardKey, Cas, Lease, RequestStore, StoreError};
use crate::domain::request::{ChangeRequest, RequestState};

/// How many audit entries one round trip reads while the log is iterated.
const AUDIT_PAGE: i64 = 500;

/// A store in a PostgreSQL database; clones share its connections.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Arc<Pool>,
}

/// Why a transition wrote nothing.
enum Refused {
    Conflict,
    Exists,
    NotFound,
    Corrupt(StoreError),
}

impl PostgresStore {
    /// Connects to the database at `url` and brings its schema up to this build's version
    /// (under a lock, so instances started together migrate once). A database whose schema
    /// is newer than this build knows is refused.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, ConnectOptions::default())
    }

    /// [`PostgresStore::connect`] with the options `[storage]` gives.
    pub fn connect_with(url: &str, options: ConnectOptions) -> Result<Self, StoreError> {
        let pool = Pool::start(Target::parse_with(url, options)?)?;
        pool.run(schema::migrate)?;
        Ok(Self {
            pool: Arc::new(pool),
        })
    }

    /// The database in words (host, database, user), for messages.
    pub fn describe(&self) -> &str {
        self.pool.target().describe()
    }

    /// Runs `work` on a connection, the error saying what was being done.
    fn query<T: Send + 'static>(
        &self,
        doing: &'static str,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.pool
            .run(move |session: &mut Session| session.with(doing, work))
    }

    /// How many requests, cards and audit entries the database holds.
    pub fn counts(&self) -> Result<(u64, u64, u64), StoreError> {
        self.query("cannot count what the store holds", |client| {
            let row = client.query_one(
                "SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM cards), \
                        (SELECT count(*) FROM audit)",
                &[],
            )?;
            let count = |i: usize| row.get::<_, i64>(i) as u64;
            Ok((count(0), count(1), count(2)))
        })
    }

    /// Whether this store's connections are encrypted, and with which TLS version.
    pub fn tls_in_use(&self) -> Result<Option<String>, StoreError> {
        self.query("cannot read the connection's TLS state", tls_version)
    }

    /// Test hook: one statement that sleeps `seconds` on the server, as a hung query would.
    #[doc(hidden)]
    pub fn sleep_on_server(&self, seconds: f64) -> Result<(), StoreError> {
        self.query("cannot run a statement", move |client| {
            client
                .execute("SELECT pg_sleep($1)", &[&seconds])
                .map(|_| ())
        })
    }

    /// Test hook: change entry `seq`'s `after` as stored, past the store's own checks.
    #[doc(hidden)]
    pub fn tamper_audit_entry(&self, seq: u64, after: i64) -> Result<(), StoreError> {
        self.query("cannot change an audit entry", move |client| {
            let row = client.query_one(
                "SELECT entry::text FROM audit WHERE seq = $1",
                &[&(seq as i64)],
            )?;
            let text: String = row.get(0);
            let mut entry: serde_json::Value =
                serde_json::from_str(&text).expect("a stored entry is JSON");
            entry["after"] = after.into();
            client.execute(
                "UPDATE audit SET entry = $2::text::json WHERE seq = $1",
                &[&(seq as i64), &entry.to_string()],
            )?;
            Ok(())
        })
    }
}

/// What `check-config --live` learns of a database, read without changing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The newest migration applied (0: an empty database, migrated on first start).
    pub schema_version: i64,
    /// The TLS version of the connection, `None` when it is not encrypted.
    pub tls: Option<String>,
}

/// Connects to `target` as the store would (sslmode, timeouts) and reads the schema version
/// and the connection's encryption. Never migrates: `check-config` changes nothing. Runs on
/// a thread of its own, as the synchronous client must not be blocked on from a runtime.
pub fn probe(target: Target) -> Result<Probe, StoreError> {
    let work = move || {
        let mut client = target.connect()?;
        let version = schema::applied_version(&mut client)
            .map_err(|e| target.error("cannot read the schema version", &e))?;
        let tls = tls_version(&mut client)
            .map_err(|e| target.error("cannot read the connection's TLS state", &e))?;
        Ok(Probe {
            schema_version: version,
            tls,
        })
    };
    std::thread::spawn(work).join().unwrap_or_else(|_| {
        Err(StoreError::Database {
            target: "the database".into(),
            reason: "the connection thread stopped".into(),
        })
    })
}

/// The TLS version of this connection, `None` when it is not encrypted.
fn tls_version(client: &mut Client) -> Result<Option<String>, postgres::Error> {
    let row = client.query_one(
        "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )?;
    let ssl: bool = row.get(0);
    Ok(ssl.then(|| row.get::<_, Option<String>>(1).unwrap_or_default()))
}

fn insert_request(
    tx: &mut postgres::Transaction<'_>,
    request: &ChangeRequest,
    created_seq: i64,
) -> Result<u64, postgres::Error> {
    tx.execute(
        "INSERT INTO requests (id, state, stock_id, created_at, open, created_seq, doc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::json) ON CONFLICT (id) DO NOTHING",
        &[
            &request.id.as_str(),
            &request.state.as_str(),
            &request.stock_id,
            &(request.created_at as i64),
            &!request.state.is_terminal(),
            &created_seq,
            &json(request),
        ],
    )
}

/// One transition in one transaction: the stored request (absent, for a create) is locked
/// and compared with `expected`, the chain's head is locked, the entry appended, the request
/// written. A refusal rolls back, writing nothing.
fn transact(
    client: &mut Client,
    id: &str,
    expected: Option<&ChangeRequest>,
    next: &ChangeRequest,
    note: &AuditNote,
) -> Result<Result<(), Refused>, postgres::Error> {
    let mut tx = client.transaction()?;
    let stored = tx.query_opt(
        "SELECT doc::text FROM requests WHERE id = $1 FOR UPDATE",
        &[&id],
    )?;
    let current: Option<ChangeRequest> = match stored {
        Some(row) => match decode(&format!("request {id}"), row.get::<_, &str>(0).as_bytes()) {
            Ok(request) => Some(request),
            Err(e) => return Ok(Err(Refused::Corrupt(e))),
        },
        None => None,
    };
    match (expected, &current) {
        (None, Some(_)) => return Ok(Err(Refused::Exists)),
        (Some(_), None) => return Ok(Err(Refused::NotFound)),
        (Some(expected), Some(current)) if expected != current => {
            return Ok(Err(Refused::Conflict))
        }
        _ => {}
    }
    let head = tx.query_one("SELECT seq, hash FROM audit_head FOR UPDATE", &[])?;
    let head = match head.get::<_, i64>(0) {
        0 => None,
        seq => Some(AuditHead {
            seq: seq as u64,
            hash: head.get(1),
        }),
    };
    let entry = AuditEntry::next(head.as_ref(), current.as_ref(), next, note);
    let seq = entry.seq as i64;
    tx.execute(
        "INSERT INTO audit (seq, stock_id, request_id, entry) VALUES ($1, $2, $3, $4::text::json)",
        &[&seq, &entry.stock_id, &entry.request_id, &json(&entry)],
    )?;
    tx.execute(
        "UPDATE audit_head SET seq = $1, hash = $2",
        &[&seq, &entry.hash],
    )?;
    if current.is_none() {
        if insert_request(&mut tx, next, entry.seq as i64)? == 0 {
            return Ok(Err(Refused::Exists));
        }
    } else {
        tx.execute(
            "UPDATE requests SET state = $2, stock_id = $3, created_at = $4, open = $5, \
             doc = $6::text::json WHERE id = $1",
            &[
                &id,
                &next.state.as_str(),
                &next.stock_id,
                &(next.created_at as i64),
                &!next.state.is_terminal(),
                &json(next),
            ],
        )?;
    }
    tx.commit()?;
    Ok(Ok(()))
}

/// A value as the JSON text stored in a `json` column.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("store values serialize")
}

fn requests_from(rows: Vec<postgres::Row>) -> Result<Vec<ChangeRequest>, StoreError> {
    rows.iter()
        .map(|row| decode("request", row.get::<_, &str>(0).as_bytes()))
        .collect()
}

fn entry_from(seq: u64, text: &str) -> Result<AuditEntry, StoreError> {
    decode(&format!("audit entry {seq}"), text.as_bytes())
}

/// The audit log read a page at a time, optionally one stock's entries.
struct AuditPages<'a> {
    store: &'a PostgresStore,
    stock_id: Option<String>,
    after: i64,
    page: VecDeque<(i64, String)>,
    done: bool,
}

impl AuditPages<'_> {
    fn fetch(&mut self) -> Result<(), StoreError> {
        let (after, stock_id) = (self.after, self.stock_id.clone());
        let rows = self
            .store
            .query("cannot read the audit log", move |client| {
                match &stock_id {
                    None => client.query(
                        "SELECT seq, entry::text FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
                        &[&after, &AUDIT_PAGE],
                    ),
                    Some(stock_id) => client.query(
                        "SELECT seq, entry::text FROM audit WHERE stock_id = $3 AND seq > $1 \
                     ORDER BY seq LIMIT $2",
                        &[&after, &AUDIT_PAGE, stock_id],
                    ),
                }
                .map(|rows| {
                    rows.iter()
                        .map(|row| (row.get::<_, i64>(0), row.get::<_, String>(1)))
                        .collect::<Vec<_>>()
                })
            })?;
        self.done = (rows.len() as i64) < AUDIT_PAGE;
        self.page.extend(rows);
        Ok(())
    }
}

impl Iterator for AuditPages<'_> {
    type Item = Result<AuditEntry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty() && !self.done {
            if let Err(e) = self.fetch() {
                self.done = true;
                return Some(Err(e));
            }
        }
        let (seq, text) = self.page.pop_front()?;
        self.after = seq;
        Some(entry_from(seq as u64, &text))
    }
}

/// Checks the whole chain in one repeatable-read transaction (one snapshot: a writer that
/// appends meanwhile is not half seen), reading it through a cursor a page at a time.
fn verify(client: &mut Client) -> Result<Result<u64, AuditBreak>, postgres::Error> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let head = tx.query_one("SELECT seq, hash FROM audit_head", &[])?;
    let head = match head.get::<_, i64>(0) {
        0 => None,
        seq => Some(AuditHead {
            seq: seq as u64,
            hash: head.get(1),
        }),
    };
    let portal = tx.bind("SELECT seq, entry::text FROM audit ORDER BY seq", &[])?;
    let mut rows: VecDeque<postgres::Row> = VecDeque::new();
    let mut failed = None;
    let mut finished = false;
    let entries = std::iter::from_fn(|| loop {
        if let Some(row) = rows.pop_front() {
            let seq = row.get::<_, i64>(0) as u64;
            let entry = serde_json::from_str::<AuditEntry>(row.get(1)).map_err(|e| e.to_string());
            return Some(Ok::<_, ()>((seq, entry)));
        }
        if finished {
            return None;
        }
        match tx.query_portal(&portal, AUDIT_PAGE as i32) {
            Ok(page) => {
                finished = (page.len() as i64) < AUDIT_PAGE;
                rows.extend(page);
            }
            Err(e) => {
                failed = Some(e);
                return Some(Err(()));
            }
        }
    });
    let checked = audit::verify(entries, head.as_ref());
    match (checked, failed) {
        (_, Some(e)) => Err(e),
        (Ok(checked), None) => Ok(checked),
        (Err(()), None) => unreachable!("only a failed read stops the check"),
    }
}

super::deref_to_port!(PostgresStore);

impl RequestStore for PostgresStore {
    fn create(&self, request: &ChangeRequest, note: AuditNote) -> Result<(), StoreError> {
        let (id, request) = (request.id.to_string(), request.clone());
        let done = self.query("cannot store a new request", move |client| {
            transact(client, &id, None, &request, &note).map(|done| done.map_err(|r| (r, id)))
        })?;
        match done {
            Ok(()) => Ok(()),
            Err((Refused::Corrupt(e), _)) => Err(e),
            Err((_, id)) => Err(StoreError::exists(&id)),
        }
    }

    fn compare_and_set(
        &self,
        id: &str,
        expected: &ChangeRequest,
        next: &ChangeRequest,
        note: AuditNote,
    ) -> Result<Cas, StoreError> {
        let (key, expected, next) = (id.to_string(), expected.clone(), next.clone());
        let done = self.query("cannot change a request", move |client| {
            transact(client, &key, Some(&expected), &next, &note)
        })?;
        match done {
            Ok(()) => Ok(Cas::Swapped),
            Err(Refused::NotFound) => Err(StoreError::not_found(id)),
            Err(Refused::Corrupt(e)) => Err(e),
            Err(Refused::Conflict | Refused::Exists) => Ok(Cas::Conflict),
        }
    }

    fn get(&self, id: &str) -> Result<Option<ChangeRequest>, StoreError> {
        let key = id.to_string();
        let row = self.query("cannot read a request", move |client| {
            client.query_opt("SELECT doc::text FROM requests WHERE id = $1", &[&key])
        })?;
        row.map(|row| decode(&format!("request {id}"), row.get::<_, &str>(0).as_bytes()))
            .transpose()
    }

    fn all(&self) -> Result<Vec<ChangeRequest>, StoreError> {
        requests_from(self.query("cannot read the requests", |client| {
            client.query(
                "SELECT doc::text FROM requests ORDER BY created_at, id",
                &[],
            )
        })?)
    }

    fn in_state(&self, states: &[RequestState]) -> Result<Vec<ChangeRequest>, StoreError> {
        let states: Vec<String> = states.iter().map(|s| s.as_str().to_string()).collect();
        requests_from(self.query("cannot read the requests", move |client| {
            client.query(
                "SELECT doc::text FROM requests WHERE state = ANY($1) ORDER BY created_at, id",
                &[&states],
            )
        })?)
    }

    fn open_requests(&self, states: &[RequestState]) -> Result<Vec<ChangeRequest>, StoreError> {
        let states: Vec<String> = states.iter().map(|s| s.as_str().to_string()).collect();
        requests_from(self.query("cannot read the open requests", move |client| {
            client.query(
                "SELECT doc::text FROM requests WHERE open AND state = ANY($1) \
                 ORDER BY created_at, id",
                &[&states],
            )
        })?)
    }

    fn last(&self) -> Result<Option<ChangeRequest>, StoreError> {
        let rows = self.query("cannot read the last request", |client| {
            client.query(
                "SELECT doc::text FROM requests ORDER BY created_seq DESC LIMIT 1",
                &[],
            )
        })?;
        Ok(requests_from(rows)?.pop())
    }

    fn link_card(&self, card: &CardKey, request_id: &str) -> Result<(), StoreError> {
        let (card, request_id) = (card.clone(), request_id.to_string());
        self.query("cannot index a card", move |client| {
            client.execute(
                "INSERT INTO cards (platform, channel, message, request_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (platform, channel, message) DO UPDATE SET request_id = EXCLUDED.request_id",
                &[&card.platform, &card.channel, &card.message, &request_id],
            )
        })?;
        Ok(())
    }

    fn card_request(&self, card: &CardKey) -> Result<Option<String>, StoreError> {
        let card = card.clone();
        // The card's own key first; a legacy key (no platform, no channel) as a fallback.
        let row = self.query("cannot read the card index", move |client| {
            client.query_opt(
                "SELECT request_id FROM cards WHERE message = $3 \
                 AND ((platform = $1 AND channel = $2) OR (platform = '' AND channel = '')) \
                 ORDER BY platform = '' LIMIT 1",
                &[&card.platform, &card.channel, &card.message],
            )
        })?;
        Ok(row.map(|row| row.get(0)))
    }

    fn audit_iter(&self, stock_id: Option<&str>) -> Result<AuditIter<'_>, StoreError> {
        Ok(Box::new(AuditPages {
            store: self,
            stock_id: stock_id.map(str::to_string),
            after: 0,
            page: VecDeque::new(),
            done: false,
        }))
    }

    fn audit_tail(&self, stock_id: &str, count: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let (stock_id, count) = (stock_id.to_string(), count as i64);
        let rows = self.query("cannot read the audit log", move |client| {
            client.query(
                "SELECT seq, entry::text FROM audit WHERE stock_id = $1 ORDER BY seq DESC LIMIT $2",
                &[&stock_id, &count],
            )
        })?;
        rows.iter()
            .map(|row| entry_from(row.get::<_, i64>(0) as u64, row.get(1)))
            .collect()
    }

    fn verify_audit(&self) -> Result<Result<u64, AuditBreak>, StoreError> {
        self.query("cannot read the audit log", verify)
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Every transaction is durable when it commits.
        Ok(())
    }

    fn try_lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (id, holder, ttl) = (id.to_string(), holder.to_string(), ttl.as_millis() as i64);
        let taken = self.query("cannot take a lease", move |client| {
            client.execute(
                "INSERT INTO leases (id, holder, expires_at_ms) VALUES ($1, $2, budget_bot_now_ms() + $3) \
                 ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, expires_at_ms = EXCLUDED.expires_at_ms \
                 WHERE leases.expires_at_ms <= budget_bot_now_ms()",
                &[&id, &holder, &ttl],
            )
        })?;
        Ok(taken == 1)
    }

    fn renew_lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (id, holder, ttl) = (id.to_string(), holder.to_string(), ttl.as_millis() as i64);
        let renewed = self.query("cannot renew a lease", move |client| {
            client.execute(
                "UPDATE leases SET expires_at_ms = budget_bot_now_ms() + $3 \
                 WHERE id = $1 AND holder = $2",
                &[&id, &holder, &ttl],
            )
        })?;
        Ok(renewed == 1)
    }

    fn release_lease(&self, id: &str, holder: &str) -> Result<(), StoreError> {
        let (id, holder) = (id.to_string(), holder.to_string());
        self.query("cannot release a lease", move |client| {
            client.execute(
                "DELETE FROM leases WHERE id = $1 AND holder = $2",
                &[&id, &holder],
            )
        })?;
        Ok(())
    }

    fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError> {
        let id = id.to_string();
        let row = self.query("cannot read a lease", move |client| {
            client.query_opt(
                "SELECT holder, expires_at_ms FROM leases \
                 WHERE id = $1 AND expires_at_ms > budget_bot_now_ms()",
                &[&id],
            )
        })?;
        Ok(row.map(|row| Lease {
            holder: row.get(0),
            expires_at_ms: row.get::<_, i64>(1) as u64,
        }))
    }

    fn mark(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_string();
        let row = self.query("cannot read a mark", move |client| {
            client.query_opt("SELECT value FROM marks WHERE key = $1", &[&key])
        })?;
        Ok(row.map(|row| row.get(0)))
    }

    fn swap_mark(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (key, expected, new) = (
            key.to_string(),
            expected.map(str::to_string),
            new.map(str::to_string),
        );
        self.query("cannot set a mark", move |client| {
            let mut tx = client.transaction()?;
            // Each arm is one conditional statement: a row changed only if it held `expected`
            // (an insert only if there was none), so two instances racing set it once.
            let swapped = match (&expected, &new) {
                (None, Some(new)) => {
                    tx.execute(
                        "INSERT INTO marks (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[&key, new],
                    )? == 1
                }
                (Some(expected), Some(new)) => {
                    tx.execute(
                        "UPDATE marks SET value = $3 WHERE key = $1 AND value = $2",
                        &[&key, expected, new],
                    )? == 1
                }
                (Some(expected), None) => {
                    tx.execute(
                        "DELETE FROM marks WHERE key = $1 AND value = $2",
                        &[&key, expected],
                    )? == 1
                }
                (None, None) => tx
                    .query_opt("SELECT 1 FROM marks WHERE key = $1", &[&key])?
                    .is_none(),
            };
            tx.commit()?;
            Ok(swapped)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::testing::test_database;
    use super::*;

    #[test]
    fn instances_opened_together_on_an_empty_database_all_come_up() {
        let Some(db) = test_database("instances_opened_together") else {
            return;
        };
        let opened: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| PostgresStore::connect(&db.url).map(|_| ())))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(opened.iter().all(Result::is_ok), "{opened:?}");
    }

    #[test]
    fn a_schema_newer_than_this_build_is_refused() {
        let Some(db) = test_database("a_schema_newer_than_this_build_is_refused") else {
            return;
        };
        drop(PostgresStore::connect(&db.url).unwrap());
        db.execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
             VALUES (3, 'from_the_future', '2030-01-01T00:00:00Z', '0')",
        );
        let refused = PostgresStore::connect(&db.url).err().expect("refused");
        let text = refused.to_string();
        assert!(
            text.contains("version 3, newer than this budget-bot knows (version 2)"),
            "{text}"
        );
    }

    #[test]
    fn a_statement_past_the_statement_timeout_fails_cleanly_and_the_store_goes_on() {
        let Some(db) = test_database("a_statement_past_the_statement_timeout") else {
            return;
        };
        let url = db.url.replacen("budgetbot@", "budgetbot:s3cret-Pa55@", 1);
        let options = ConnectOptions {
            statement_timeout: Duration::from_secs(1),
        };
        let store = PostgresStore::connect_with(&url, options).unwrap();
        let started = std::time::Instant::now();
        let error = store.sleep_on_server(20.0).expect_err("cancelled");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        let text = format!("{error} {error:?}");
        assert!(!text.contains("s3cret-Pa55"), "{text}");
        assert!(
            text.contains("canceling statement due to statement timeout")
                && text.contains("[storage] statement_timeout")
                && text.contains("1s"),
            "{text}"
        );
        assert_eq!(store.counts().unwrap(), (0, 0, 0));
    }

    #[test]
    fn a_server_that_accepts_and_never_answers_is_reported_after_connect_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            // Held open, never answered: a hung server.
            let held: Vec<_> = listener.incoming().take(4).collect();
            std::thread::park();
            drop(held);
        });
        let (answer, answered) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let url = format!(
                "postgres://budgetbot:s3cret-Pa55@127.0.0.1:{port}/ledger?connect_timeout=1&sslmode=disable"
            );
            let _ = answer.send(PostgresStore::connect(&url).err().map(|e| e.to_string()));
        });
        let text = answered
            .recv_timeout(Duration::from_secs(15))
            .expect("the connection attempt ends instead of hanging")
            .expect("refused");
        assert!(!text.contains("s3cret-Pa55"), "{text}");
        assert!(
            text.contains(&format!("ledger on 127.0.0.1:{port}"))
                && text.contains("did not complete the connection within 1s (connect_timeout)"),
            "{text}"
        );
    }

    #[test]
    fn connection_errors_name_the_database_but_never_the_password() {
        // Port 1 on the loopback address: nothing listens there, the connection is refused.
        let url = "postgres://budgetbot:s3cret-Pa55@127.0.0.1:1/ledger?connect_timeout=5";
        let error = PostgresStore::connect(url).err().expect("nothing listens");
        let text = format!("{error} {error:?}");
        assert!(!text.contains("s3cret-Pa55"), "{text}");
        assert!(
            text.contains("PostgreSQL database ledger on 127.0.0.1:1 as user budgetbot")
                && text.contains("cannot connect"),
            "{text}"
        );
        let unparsable = "postgres://budgetbot:s3cret-Pa55@127.0.0.1:notaport/ledger";
        let text = PostgresStore::connect(unparsable)
            .err()
            .unwrap()
            .to_string();
        assert!(!text.contains("s3cret-Pa55"), "{text}");
        assert!(text.contains("not a PostgreSQL URL"), "{text}");
    }
}
