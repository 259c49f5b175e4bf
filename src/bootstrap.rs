//! Wiring shared by the binary's commands and the tests: config + ports → app → adapter.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::io::AsyncBufRead;

use crate::app::runtime::Runtime;
use crate::app::{AppParts, Clock, SystemClock};
use crate::chat::console::{Console, ConsoleNotifier, Output};
use crate::config::{Config, ConsoleConfig};
use crate::store::Store;
use crate::wechatpay::CouponApi;

/// What every adapter's app is built from, but its notifier.
fn app_parts(
    config: &Config,
    api: Arc<dyn CouponApi>,
    store: Store,
    clock: Arc<dyn Clock>,
) -> AppParts {
    AppParts {
        stocks: config.stocks.clone(),
        approval: config.approval.clone(),
        api,
        store: store.into(),
        clock,
        display: config.display.clone(),
        watch: config.watch.clone(),
    }
}

/// Builds the console adapter over a store and an API client, and starts its runtime
/// (interrupted work resumed; the console sweeps before each line rather than on a timer).
pub async fn console(
    config: &Config,
    api: Arc<dyn CouponApi>,
    store: Store,
    out: Arc<Output>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Console> {
    let users = config.console.clone().unwrap_or_default().users;
    let notifier = Arc::new(ConsoleNotifier::new(out.clone(), &users));
    let app = app_parts(config, api, store, clock).with_notifier(notifier);
    let runtime = Runtime::new(Arc::new(app));
    runtime
        .start(None)
        .await
        .context("cannot resume interrupted requests")?;
    Ok(Console::with_runtime(runtime, users, out))
}

/// Reads the console's input to the end, then stops its runtime (which flushes the store).
async fn run_to_end<R: AsyncBufRead + Unpin>(console: &Console, input: R) -> anyhow::Result<()> {
    let read = console.run(input).await.context("cannot read input");
    console.runtime().shutdown().await?;
    read
}

/// `budget-bot console`: the store from the config, the real client, stdin to the end.
pub async fn run_console<R: AsyncBufRead + Unpin>(
    config: &Config,
    api: Arc<dyn CouponApi>,
    store_path: &Path,
    json: bool,
    input: R,
) -> anyhow::Result<()> {
    if config.console.as_ref().is_none_or(|c| c.users.is_empty()) {
        bail!(
            "config file {} has no [console.users]; `console` needs at least one user (see config.toml.example)",
            config.source.display()
        );
    }
    let store = Store::open_with(store_path, &config.store_options())?;
    let out = Arc::new(Output::stdout(json));
    let console = console(config, api, store, out, Arc::new(SystemClock)).await?;
    run_to_end(&console, input).await
}

/// The console users of `budget-bot demo`.
pub fn demo_users() -> std::collections::BTreeMap<String, Vec<crate::config::Capability>> {
    use crate::config::Capability::{Approver, Requester};
    [
        ("alice", vec![Requester]),
        ("bob", vec![Approver]),
        ("carol", vec![Approver]),
        ("dave", vec![]),
    ]
    .into_iter()
    .map(|(name, caps)| (name.to_string(), caps))
    .collect()
}

/// The allow-list of the demo: every seeded simulator stock, `123` named "Spring sale".
pub fn demo_stocks(stocks: &[crate::sim::SimStock]) -> Vec<crate::config::StockConfig> {
    stocks
        .iter()
        .map(|s| crate::config::StockConfig {
            stock_id: s.entity.stock_id.clone(),
            product_coupon_id: s.product_coupon_id.clone(),
            name: (s.entity.stock_id == "123").then(|| "Spring sale".to_string()),
        })
        .collect()
}

/// `budget-bot demo`: no credentials, no config. The simulator runs in-process with its TEST
/// keys and seeded stocks, the store lives in a temporary folder, and the console reads stdin.
pub async fn run_demo<R: AsyncBufRead + Unpin>(json: bool, input: R) -> anyhow::Result<()> {
    use crate::sim::{seeded_stocks, test_keys, SimConfig, Simulator};
    use crate::wechatpay::{ClientSettings, WechatPayClient};

    let stocks = seeded_stocks();
    let simulator = Simulator::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        SimConfig::with_test_keys(stocks.clone()),
    )
    .await
    .context("cannot start the simulator")?;
    let client = WechatPayClient::new(
        test_keys::brand_signer(),
        test_keys::response_verifier(),
        ClientSettings {
            base_url: simulator.base_url(),
            ..ClientSettings::default()
        },
    )?;
    let dir = tempfile_dir()?;
    let store = Store::open(&dir.join("budget-bot.sled"))?;
    let config = Config {
        wechatpay: None,
        stocks: demo_stocks(&stocks),
        storage: None,
        approval: Default::default(),
        display: Default::default(),
        watch: None,
        console: Some(ConsoleConfig {
            users: demo_users(),
        }),
        discord: None,
        ops: None,
        log: Default::default(),
        source: "demo".into(),
    };
    let howto = [
        "budget-bot demo: a simulated WeChat Pay with stocks 123 (\"Spring sale\", SENDING), 124 (PAUSED), 125 (STOPPED), 200 (no daily limit); users alice (requester), bob and carol (approvers), dave (no role).",
        "Type `alice: /budget show 123`, then `alice: /budget set-daily 123 20000 weekend push`, then `bob: react ✅ last` (or `bob: click approve last`).",
        "Also: /budget pending, /budget history 123, /budget cancel last, /budget help. End with Ctrl-D.",
    ];
    for line in howto {
        // With --json, stdout carries only events.
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    let out = Arc::new(Output::stdout(json));
    let console = console(&config, Arc::new(client), store, out, Arc::new(SystemClock)).await?;
    let result = run_to_end(&console, input).await;
    // The store's folder can go only once the store is closed.
    drop(console);
    let _ = std::fs::remove_dir_all(&dir);
    simulator.shutdown().await;
    result
}

/// A fresh private folder under the system temp dir for the demo's store.
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "budget-bot-demo-{}-{}",
        std::process::id(),
        crate::domain::request::RequestId::generate()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Builds the Discord bot's app over a store and an API client and connects it.
pub async fn start_discord(
    config: &Config,
    token: &crate::chat::discord::Token,
    api: Arc<dyn CouponApi>,
    store: Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<crate::chat::discord::RunningBot> {
    let settings =
        crate::chat::discord::DiscordSettings::from_config(config.require_discord("run")?)?;
    start_discord_with(config, settings, token, api, store, clock).await
}

/// [`start_discord`] with settings given (tests shorten the sweep interval).
pub async fn start_discord_with(
    config: &Config,
    settings: crate::chat::discord::DiscordSettings,
    token: &crate::chat::discord::Token,
    api: Arc<dyn CouponApi>,
    store: Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<crate::chat::discord::RunningBot> {
    let parts = app_parts(config, api, store, clock);
    crate::chat::discord::start(token, settings, parts).await
}

/// `budget-bot run`: the Discord bot until SIGTERM or Ctrl-C, then a bounded shutdown (work
/// in flight finished or left for the next start to resume, store flushed). The signals are
/// listened for from the first moment, so a stop works while Discord or WeChat Pay is
/// unreachable and the bot is still starting.
pub async fn run_discord(config: &Config, api: Arc<dyn CouponApi>) -> anyhow::Result<()> {
    let stop = stop_on_signal()?;
    let discord = config.require_discord("run")?;
    let token = crate::chat::discord::Token::load(discord, &config.base_dir())?;
    let store_path = config.storage_path("run")?;
    let store = Store::open_with(&store_path, &config.store_options())?;
    let ops = start_ops(config, &store, &api).await?;
    // Dropping an unfinished start is safe: every state change is one atomic store
    // transaction, and whatever it left Approved or Submitting the next start resumes.
    let started = tokio::select! {
        started = start_discord(config, &token, api, store.clone(), Arc::new(SystemClock)) => started,
        () = stop.cancelled() => {
            tracing::info!("shutting down before the bot was connected to Discord");
            store.flush()?;
            return Ok(());
        }
    };
    let mut bot = started?;
    if let Some(ops) = &ops {
        ops.readiness().watch("discord", bot.connection());
    }
    tracing::info!("budget-bot running; SIGTERM or Ctrl-C stops it");
    let stopped = tokio::select! {
        () = stop.cancelled() => {
            tracing::info!("shutting down: finishing in-flight work");
            bot.shutdown().await
        }
        stopped = bot.wait() => stopped,
    };
    stopped
}

/// With `[ops] listen`: serves the health and metrics endpoints from now on (Discord counts
/// as not connected until the bot is), and probes WeChat Pay with a read of the first
/// allow-listed stock. Stopped when dropped.
async fn start_ops(
    config: &Config,
    store: &Store,
    api: &Arc<dyn CouponApi>,
) -> anyhow::Result<Option<crate::ops::server::OpsServer>> {
    use crate::ops::{health::Readiness, server::OpsServer};
    let Some(ops) = &config.ops else {
        return Ok(None);
    };
    let readiness = Arc::new(Readiness::new(Arc::new(store.clone())));
    readiness.watch("discord", crate::chat::Connection::default());
    let server = OpsServer::start(ops.listen, readiness).await?;
    if let Some(stock) = config.stocks.first() {
        server.probe(api.clone(), stock.clone());
    }
    Ok(Some(server))
}

/// A token cancelled on the first SIGTERM or SIGINT. The handlers are installed before this
/// returns: a signal that arrives any time later is seen.
fn stop_on_signal() -> anyhow::Result<tokio_util::sync::CancellationToken> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    let stop = tokio_util::sync::CancellationToken::new();
    let cancel = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        cancel.cancel();
    });
    Ok(stop)
}
