//! Shared test harness: the simulator over real HTTP, the real client with test keys, a fresh
//! sled store, a manual clock and the console adapter writing JSON events into a buffer.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use budget_bot::app::{App, ManualClock, Notice, Notifier, NotifyError};
use budget_bot::chat::console::{Console, ConsoleNotifier, Output};
use budget_bot::config::{ApprovalConfig, Capability, StockConfig, WatchConfig};
use budget_bot::domain::request::{CardRef, ChangeRequest};
use budget_bot::sim::{seeded_stocks, test_keys, SimConfig, SimHandle, Simulator};
use budget_bot::store::Store;
use budget_bot::wechatpay::{ClientSettings, WechatPayClient};
use serde_json::Value;

/// A `Write` that keeps everything in memory.
#[derive(Clone, Default)]
pub struct Buffer(pub Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    /// Takes the JSON events written so far.
    pub fn take_events(&self) -> Vec<Value> {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap());
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every output line is JSON"))
            .collect()
    }
}

/// The bot's logs from now on, on this thread (a current-thread runtime runs the bot on the
/// test's thread), for a step that shows in no platform call.
#[allow(dead_code)]
pub struct Logs {
    buffer: Buffer,
    _guard: tracing::subscriber::DefaultGuard,
}

#[allow(dead_code)]
impl Logs {
    /// Captures the log lines `filter` (a `RUST_LOG` value) lets through.
    pub fn capture(filter: &str) -> Logs {
        use budget_bot::ops::logs;
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let filter = logs::filter(Some(filter), "info").unwrap();
        let subscriber = logs::subscriber(
            budget_bot::ops::settings::LogFormat::Text,
            filter,
            move || sink.clone(),
            false,
        );
        let guard = tracing::subscriber::set_default(subscriber);
        // Callsites first hit by another test's thread while this subscriber was being set
        // may have cached "no subscriber wants this"; ask them again.
        tracing::callsite::rebuild_interest_cache();
        Logs {
            buffer,
            _guard: guard,
        }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.lock().unwrap()).into_owned()
    }

    /// Waits (up to `wait`) until a line containing `needle` is logged.
    pub async fn wait_for(&self, needle: &str, wait: std::time::Duration) {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for the log line {needle:?}; logs:\n{text}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

pub const T0: u64 = 1_800_000_000;

/// A config with the seeded stocks and nothing else: tests add the sections they exercise with
/// struct-update syntax (`Config { discord: Some(..), ..common::bare_config() }`).
#[allow(dead_code)]
pub fn bare_config() -> budget_bot::config::Config {
    budget_bot::config::Config {
        wechatpay: None,
        stocks: stock_configs(),
        storage: None,
        approval: ApprovalConfig::default(),
        display: Default::default(),
        watch: None,
        console: None,
        discord: None,
        slack: None,
        ops: None,
        log: Default::default(),
        source: "test".into(),
    }
}

pub fn stock_configs() -> Vec<StockConfig> {
    seeded_stocks()
        .into_iter()
        .map(|s| StockConfig {
            stock_id: s.entity.stock_id.clone(),
            product_coupon_id: s.product_coupon_id.clone(),
            name: (s.entity.stock_id == "123").then(|| "Spring sale".to_string()),
        })
        .collect()
}

pub fn users() -> BTreeMap<String, Vec<Capability>> {
    BTreeMap::from([
        ("alice".to_string(), vec![Capability::Requester]),
        ("bob".to_string(), vec![Capability::Approver]),
        ("carol".to_string(), vec![Capability::Approver]),
        ("dave".to_string(), vec![]),
        (
            "erin".to_string(),
            vec![Capability::Requester, Capability::Approver],
        ),
    ])
}

pub async fn start_sim() -> Simulator {
    Simulator::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SimConfig::with_test_keys(seeded_stocks()),
    )
    .await
    .expect("simulator starts")
}

pub fn client(base_url: String) -> WechatPayClient {
    WechatPayClient::new(
        test_keys::brand_signer(),
        test_keys::response_verifier(),
        ClientSettings {
            base_url,
            retry_backoff: Duration::from_millis(20),
            request_timeout: Duration::from_secs(5),
            ..ClientSettings::default()
        },
    )
    .unwrap()
}

/// A client for many quick runs: short timeouts and backoffs (a 429 waits 1 ms, not 1 s) and
/// no practical rate limit. `request_timeout` decides which simulator delays time out.
pub fn fast_client(base_url: String, request_timeout: Duration) -> WechatPayClient {
    WechatPayClient::new(
        test_keys::brand_signer(),
        test_keys::response_verifier(),
        ClientSettings {
            base_url,
            backup_base_url: None,
            connect_timeout: request_timeout,
            request_timeout,
            max_attempts: 4,
            max_retry_time: Duration::from_secs(2),
            retry_backoff: Duration::from_millis(1),
            rate_limit_backoff: Duration::from_millis(1),
            rate_limit_per_second: 100_000,
        },
    )
    .unwrap()
}

pub struct Harness {
    pub sim: Simulator,
    pub sim_handle: SimHandle,
    pub app: Arc<App>,
    pub console: Console,
    pub clock: Arc<ManualClock>,
    pub out: Buffer,
    pub store: Store,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub async fn new(required_approvals: u32, ttl: Duration) -> Harness {
        let sim = start_sim().await;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        Self::with(sim, dir, store, required_approvals, ttl).await
    }

    pub async fn with(
        sim: Simulator,
        dir: tempfile::TempDir,
        store: Store,
        required_approvals: u32,
        ttl: Duration,
    ) -> Harness {
        let approval = ApprovalConfig {
            required_approvals,
            ttl,
            ..ApprovalConfig::default()
        };
        Self::configured(sim, dir, store, approval, None).await
    }

    /// A harness over `[approval]` and `[watch]` as given.
    pub async fn configured(
        sim: Simulator,
        dir: tempfile::TempDir,
        store: Store,
        approval: ApprovalConfig,
        watch: Option<WatchConfig>,
    ) -> Harness {
        let out = Buffer::default();
        let output = Arc::new(Output::new(true, Box::new(out.clone())));
        let clock = Arc::new(ManualClock::new(T0));
        let notifier = Arc::new(ConsoleNotifier::new(output.clone(), &users()));
        let app = Arc::new(
            App::new(
                stock_configs(),
                approval,
                Arc::new(client(sim.base_url())),
                store.clone(),
                notifier,
                clock.clone(),
            )
            .with_watch(watch),
        );
        app.recover().await.unwrap();
        let console = Console::new(app.clone(), users(), output);
        Harness {
            sim_handle: sim.handle(),
            sim,
            app,
            console,
            clock,
            out,
            store,
            dir,
        }
    }

    /// Feeds one console line and returns the events it produced (ending with `done`). Output
    /// nobody took before it (a card posted by a direct app call, say) fails the test.
    pub async fn line(&self, text: &str) -> Vec<Value> {
        self.assert_empty();
        self.console.handle_line(text).await;
        let events = self.out.take_events();
        assert_eq!(
            events.last().map(|e| e["event"].clone()),
            Some(Value::from("done")),
            "a done event closes each line: {events:?}"
        );
        events
    }

    /// Takes the output written outside [`Harness::line`] (direct app calls, recovery).
    pub fn take_events(&self) -> Vec<Value> {
        self.out.take_events()
    }

    /// Fails on output no assertion took: an extra card or notice must not go unnoticed (as
    /// rust-lang/bors' `assert_empty_queues()`). Also checked when the harness is dropped.
    pub fn assert_empty(&self) {
        let left = self.out.take_events();
        assert!(left.is_empty(), "console output nobody consumed: {left:#?}");
    }

    pub fn update_calls(&self) -> Vec<budget_bot::sim::RequestRecord> {
        self.sim_handle.update_budget_requests()
    }

    /// How many update-budget calls carried request `id`'s `out_request_no`.
    pub fn sends_of(&self, id: &str) -> usize {
        let no = self
            .store
            .get(id)
            .unwrap()
            .expect("request exists")
            .out_request_no;
        self.update_calls()
            .iter()
            .filter(|c| c.out_request_no.as_deref() == Some(no.as_str()))
            .count()
    }

    /// The stored state of request `id`.
    pub fn state(&self, id: &str) -> budget_bot::domain::request::RequestState {
        self.store.get(id).unwrap().expect("request exists").state
    }

    pub fn daily_limit(&self, stock: &str) -> Option<i64> {
        let pc = if stock == "200" {
            "200000002"
        } else {
            "200000001"
        };
        self.sim_handle
            .stock(pc, stock)
            .unwrap()
            .max_count_per_day()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // A test that already failed says why itself; a second panic would abort.
        if !std::thread::panicking() {
            self.assert_empty();
        }
    }
}

/// The events of one kind.
pub fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// The one ephemeral reply to `user` in `events`.
pub fn ephemeral_to<'a>(events: &'a [Value], user: &str) -> &'a str {
    let found: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "ephemeral" && e["to"] == user)
        .collect();
    assert_eq!(found.len(), 1, "one ephemeral reply to {user}: {events:?}");
    found[0]["text"].as_str().unwrap()
}

/// Writes a config file for the binary: the simulator's URL, the TEST keys, the seeded stocks,
/// a store in `dir`, and the console users.
pub fn write_config(dir: &std::path::Path, base_url: &str, extra: &str) -> std::path::PathBuf {
    let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys");
    let mut text = format!(
        r#"[wechatpay]
base_url = "{base_url}"
brand_id = "{brand}"
certificate_serial_no = "{serial}"
private_key_path = "{keys}/brand_apiclient_key.pem"
wechatpay_public_key_id = "{key_id}"
wechatpay_public_key_path = "{keys}/wechatpay_pub.pem"
retry_backoff = "20ms"

[storage]
path = "store.sled"

[console.users]
alice = ["requester"]
bob = ["approver"]
carol = ["approver"]
dave = []
"#,
        brand = test_keys::BRAND_ID,
        serial = test_keys::CERT_SERIAL,
        key_id = test_keys::PUBLIC_KEY_ID,
        keys = keys.display(),
    );
    text.push_str(extra);
    for stock in stock_configs() {
        text.push_str(&format!(
            "\n[[stocks]]\nstock_id = \"{}\"\nproduct_coupon_id = \"{}\"\n",
            stock.stock_id, stock.product_coupon_id
        ));
        if let Some(name) = &stock.name {
            text.push_str(&format!("name = \"{name}\"\n"));
        }
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the binary with `args` and `stdin` (text or raw bytes), returning (success, stdout,
/// stderr).
pub async fn run_bin(
    args: &[&str],
    stdin: impl AsRef<[u8]>,
    envs: &[(&str, &str)],
) -> (std::process::ExitStatus, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_budget-bot"));
    command
        .args(args)
        .env_remove("BUDGET_BOT_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("binary runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_ref()).await.unwrap();
    drop(input);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("binary finishes within 60 s")
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A notifier for app-level tests: every card gets an id, and each card edit ("card STATE")
/// and notice (its text) is logged in order; the notices themselves are kept for checks.
#[derive(Default)]
pub struct Recorder {
    pub log: Mutex<Vec<String>>,
    pub notices: Mutex<Vec<Notice>>,
}

#[async_trait::async_trait]
impl Notifier for Recorder {
    fn platform(&self) -> &'static str {
        "test"
    }

    async fn post_card(&self, request: &ChangeRequest) -> Result<CardRef, NotifyError> {
        Ok(CardRef {
            channel_id: "approvals".into(),
            message_id: format!("card-{}", request.id),
        })
    }
    async fn update_card(&self, request: &ChangeRequest) -> Result<(), NotifyError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("card {}", request.state));
        Ok(())
    }
    async fn notify(&self, notice: &Notice) -> Result<(), NotifyError> {
        self.log
            .lock()
            .unwrap()
            .push(notice.text.get(budget_bot::i18n::Lang::En).to_string());
        self.notices.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// Points a config written by [`write_config`] at the PostgreSQL store (the URL comes from
/// `BUDGET_BOT_DATABASE_URL`), with `[storage]` keys `extra` added (e.g. `lease = "2s"`).
pub fn use_postgres(config: &std::path::Path, extra: &str) {
    let text = std::fs::read_to_string(config).unwrap().replacen(
        "path = \"store.sled\"\n",
        &format!("backend = \"postgres\"\n{extra}"),
        1,
    );
    std::fs::write(config, text).unwrap();
}

/// Polls `condition` every 20 ms until it holds; fails after `within`.
pub async fn wait_for(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The one line of `check-config` check `name` in its text output.
pub fn check_line<'a>(stdout: &'a str, name: &str) -> &'a str {
    let found: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.strip_prefix("ok ")
                .or_else(|| l.strip_prefix("FAIL "))
                .is_some_and(|rest| rest == name || rest.starts_with(&format!("{name}: ")))
        })
        .collect();
    assert_eq!(found.len(), 1, "one line for `{name}` in:\n{stdout}");
    found[0]
}
