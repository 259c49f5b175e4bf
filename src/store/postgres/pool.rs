//! The PostgreSQL connections: a few threads, each owning one synchronous `postgres` client,
//! take jobs from a channel and send each answer back. The store port is synchronous and is
//! called from inside tokio tasks; the `postgres` client drives a runtime of its own and
//! panics when blocked on from inside another, so it lives on threads that are not tokio's.
//! The caller waits on the answer's channel as it waits on sled's disk I/O.
//!
//! The URL is held here and nowhere else: what errors and logs name is [`Target::describe`]
//! (host, port, database, user), never the password.

use std::str::FromStr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls::{self, SslMode, TlsSettings};
use crate::store::StoreError;

/// How many connections one process opens: a transition, a lease renewal and a read can run
/// at once without waiting on one another.
const CONNECTIONS: usize = 4;

/// How long opening a connection may take before it is reported as failed, unless the URL's
/// `connect_timeout` says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub use crate::config::DEFAULT_STATEMENT_TIMEOUT;

/// What a connection is opened with besides the URL.
#[derive(Clone, Copy, Debug)]
pub struct ConnectOptions {
    /// `[storage] statement_timeout`: set on every session, so a hung or locked database
    /// turns into an error instead of a stuck bot.
    pub statement_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
        }
    }
}

/// Where the database is, parsed from its URL, and the words that name it in messages.
#[derive(Clone)]
pub struct Target {
    config: Config,
    tls: MakeRustlsConnect,
    tls_settings: TlsSettings,
    connect_timeout: Duration,
    statement_timeout: Duration,
    described: String,
}

impl Target {
    /// Parses a `postgres://user:password@host:port/db?sslmode=…` URL (or a libpq key=value
    /// string). The error says what is wrong without quoting the URL, which holds a password.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        Self::parse_with(url, ConnectOptions::default())
    }

    /// [`Target::parse`] with the options `[storage]` gives.
    pub fn parse_with(url: &str, options: ConnectOptions) -> Result<Self, StoreError> {
        let not_a_url = |why: String| {
            StoreError::Database {
            target: "the database URL".into(),
            reason: format!(
                "it is not a PostgreSQL URL ({why}); write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=verify-full"
            ),
        }
        };
        let (rest, tls_settings) = tls::take(url.trim()).map_err(not_a_url)?;
        let mut config = Config::from_str(&rest).map_err(|e| not_a_url(e.to_string()))?;
        if config.get_hosts().is_empty() {
            return Err(StoreError::Database {
                target: "the database URL".into(),
                reason: "it names no host; write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                    .into(),
            });
        }
        config.ssl_mode(tls_settings.mode.for_driver());
        let connect_timeout = *config
            .get_connect_timeout()
            .unwrap_or(&DEFAULT_CONNECT_TIMEOUT);
        config.connect_timeout(connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("budget-bot");
        }
        // The URL's own `options=-c statement_timeout=…` wins; otherwise ours is added to
        // whatever options it sets (a search_path, say).
        let session_options = config.get_options().unwrap_or_default().to_string();
        if !session_options.contains("statement_timeout") {
            let millis = options.statement_timeout.as_millis().max(1);
            config.options(format!("{session_options} -c statement_timeout={millis}").trim_start());
        }
        let described = describe(&config);
        let tls = tls::connector(&tls_settings).map_err(|reason| StoreError::Database {
            target: described.clone(),
            reason,
        })?;
        Ok(Self {
            config,
            tls,
            tls_settings,
            connect_timeout,
            statement_timeout: options.statement_timeout,
            described,
        })
    }

    /// `PostgreSQL database budgetbot on db.internal:5432 as user budgetbot`.
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// The URL's sslmode (`prefer` when it names none).
    pub fn ssl_mode(&self) -> SslMode {
        self.tls_settings.mode
    }

    /// Opens one connection; the error names the target and the cause. The driver's
    /// `connect_timeout` bounds only the TCP connect, so the whole opening (TLS handshake,
    /// authentication) runs on a thread of its own with that deadline: a server that accepts
    /// and then never answers is reported, not waited on forever. (Such a thread ends when
    /// the server finally answers or the connection breaks; its client is then dropped.)
    pub fn connect(&self) -> Result<Client, StoreError> {
        let (config, tls) = (self.config.clone(), self.tls.clone());
        let (answer, answered) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("postgres-connect".into())
            .spawn(move || {
                let _ = answer.send(config.connect(tls));
            })
            .map_err(|e| StoreError::Database {
                target: self.described.clone(),
                reason: format!("cannot start a thread to connect: {e}"),
            })?;
        // A little past the TCP deadlines (one per host the URL lists, tried in turn), so a
        // refused or unreachable server is reported with the driver's own words.
        let hosts = self.config.get_hosts().len().max(1) as u32;
        match answered.recv_timeout(self.connect_timeout * hosts + Duration::from_millis(500)) {
            Ok(connected) => connected.map_err(|e| self.error("cannot connect", &e)),
            Err(_) => Err(StoreError::Database {
                target: self.described.clone(),
                reason: format!(
                    "cannot connect: the server did not complete the connection within {} (connect_timeout); check that the host and port are PostgreSQL's and that the server is not overloaded",
                    humantime::format_duration(self.connect_timeout)
                ),
            }),
        }
    }

    /// A database error in words: what was being done, to which database, and why.
    pub fn error(&self, doing: &str, error: &postgres::Error) -> StoreError {
        StoreError::Database {
            target: self.described.clone(),
            reason: format!("{doing}: {}{}", cause(error), self.hint(error)),
        }
    }

    /// What to do about the errors whose driver text does not say it.
    fn hint(&self, error: &postgres::Error) -> String {
        if error.as_db_error().is_some_and(|db| {
            *db.code() == postgres::error::SqlState::QUERY_CANCELED
                && db.message().contains("statement timeout")
        }) {
            return format!(
                " (a statement may run for {} at most, [storage] statement_timeout: look for a long-held lock or an overloaded server, or raise it)",
                humantime::format_duration(self.statement_timeout)
            );
        }
        let text = cause(error);
        let mode = self.tls_settings.mode.as_str();
        let roots = match &self.tls_settings.roots {
            Some(tls::Roots::File(path)) => format!("sslrootcert={}", path.display()),
            _ => "the system's trusted CAs".to_string(),
        };
        if text.contains("UnknownIssuer") {
            format!(
                " (sslmode={mode}: the server's certificate is not signed by a CA in {roots}; name the CA that signed it with sslrootcert=PATH)"
            )
        } else if text.contains("not valid for name") {
            format!(
                " (sslmode={mode} checks the host name: connect by a name the certificate carries, or use sslmode=verify-ca to check only the CA)"
            )
        } else if text.contains("invalid peer certificate") {
            format!(
                " (sslmode={mode} checks the server's certificate against {roots}: renew or reissue it, or name the right CA with sslrootcert=PATH)"
            )
        } else if text.contains("server does not support TLS") {
            format!(
                " (sslmode={mode} needs a server with ssl = on; sslmode=prefer or disable send the password and data unencrypted)"
            )
        } else {
            String::new()
        }
    }
}

/// The error and its source, which is where the postgres crate keeps the useful part
/// ("Connection refused", the server's own message).
fn cause(error: &postgres::Error) -> String {
    let mut text = error.to_string();
    if let Some(db) = error.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

fn describe(config: &Config) -> String {
    use postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{} (socket, port {port})", path.display()),
            }
        })
        .collect();
    let user = config.get_user().unwrap_or("(none)");
    let database = config.get_dbname().unwrap_or(user);
    format!(
        "PostgreSQL database {database} on {} as user {user}",
        hosts.join(", ")
    )
}

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// One worker's connection, opened when first needed and again after it broke.
pub struct Session {
    target: Arc<Target>,
    client: Option<Client>,
}

impl Session {
    /// An error about this session's database that is not the driver's.
    pub fn refusal(&self, reason: String) -> StoreError {
        StoreError::Database {
            target: self.target.describe().to_string(),
            reason,
        }
    }

    /// Runs `work` on this session's connection (opening it if needed). A connection found
    /// closed afterwards is dropped, so the next job opens a new one.
    pub fn with<T>(
        &mut self,
        doing: &str,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = Some(self.target.connect()?);
        }
        let client = self.client.as_mut().expect("connected above");
        let result = work(client).map_err(|e| self.target.error(doing, &e));
        if client.is_closed() {
            self.client = None;
        }
        result
    }
}

/// The connection threads; dropping the last handle ends them.
pub struct Pool {
    target: Arc<Target>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Pool {
    /// Starts the threads. Connections are opened on them, never on the caller's thread,
    /// which may be a tokio worker (the client must not start its runtime there); the store's
    /// first job (the migration) opens one, so a wrong URL, password or unreachable server is
    /// reported when the store is opened, not at the first request.
    pub fn start(target: Target) -> Result<Self, StoreError> {
        let target = Arc::new(target);
        let (send, receive) = mpsc::channel::<Job>();
        let receive = Arc::new(Mutex::new(receive));
        let mut workers = Vec::new();
        for n in 0..CONNECTIONS {
            let receive = receive.clone();
            let mut session = Session {
                target: target.clone(),
                client: None,
            };
            let worker = std::thread::Builder::new()
                .name(format!("postgres-{n}"))
                .spawn(move || loop {
                    let job = receive.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(&mut session),
                        Err(_) => return,
                    }
                })
                .map_err(|e| StoreError::Database {
                    target: target.describe().to_string(),
                    reason: format!("cannot start a connection thread: {e}"),
                })?;
            workers.push(worker);
        }
        Ok(Self {
            target,
            jobs: Mutex::new(Some(send)),
            workers: Mutex::new(workers),
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Runs `job` on a connection thread and waits for its answer.
    pub fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = mpsc::sync_channel(1);
        let sent = {
            let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
            jobs.as_ref().is_some_and(|jobs| {
                jobs.send(Box::new(move |session: &mut Session| {
                    let _ = answer.send(job(session));
                }))
                .is_ok()
            })
        };
        let gone = || StoreError::Database {
            target: self.target.describe().to_string(),
            reason: "the connection threads have stopped".into(),
        };
        if !sent {
            return Err(gone());
        }
        answered.recv().map_err(|_| gone())?
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        for worker in self
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = worker.join();
        }
    }
}
