//! Wiring shared by the binary's commands and the tests: config + ports → app → adapter.

use std::path::Path;
use std::sync::Arc;

use tokio::io::AsyncBufRead;

use crate::app::{App, Clock, SystemClock};
use crate::chat::console::{Console, ConsoleNotifier, Output};
use crate::config::{Config, ConsoleConfig};
use crate::store::Store;
use crate::wechatpay::CouponApi;

/// Builds the console adapter over a store and an API client, and resumes interrupted work.
pub async fn console(
    config: &Config,
    api: Arc<dyn CouponApi>,
    store: Store,
    out: Arc<Output>,
    clock: Arc<dyn Clock>,
) -> Result<Console, String> {
    let users = config.console.clone().unwrap_or_default().users;
    let notifier = Arc::new(ConsoleNotifier::new(out.clone(), &users));
    let app = Arc::new(App::new(
        config.stocks.clone(),
        config.approval.clone(),
        api,
        store,
        notifier,
        clock,
    ));
    app.recover()
        .await
        .map_err(|e| format!("cannot resume interrupted requests: {e}"))?;
    Ok(Console::new(app, users, out))
}

/// `budget-bot console`: the store from the config, the real client, stdin to the end.
pub async fn run_console<R: AsyncBufRead + Unpin>(
    config: &Config,
    api: Arc<dyn CouponApi>,
    store_path: &Path,
    json: bool,
    input: R,
) -> Result<(), String> {
    if config.console.as_ref().is_none_or(|c| c.users.is_empty()) {
        return Err(format!(
            "config file {} has no [console.users]; `console` needs at least one user (see config.toml.example)",
            config.source.display()
        ));
    }
    let store = Store::open(store_path).map_err(|e| e.to_string())?;
    let out = Arc::new(Output::stdout(json));
    let console = console(config, api, store.clone(), out, Arc::new(SystemClock)).await?;
    console
        .run(input)
        .await
        .map_err(|e| format!("cannot read input: {e}"))?;
    store.flush().map_err(|e| e.to_string())?;
    Ok(())
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
pub async fn run_demo<R: AsyncBufRead + Unpin>(json: bool, input: R) -> Result<(), String> {
    use crate::sim::{seeded_stocks, test_keys, SimConfig, Simulator};
    use crate::wechatpay::{ClientSettings, WechatPayClient};

    let stocks = seeded_stocks();
    let simulator = Simulator::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        SimConfig::with_test_keys(stocks.clone()),
    )
    .await
    .map_err(|e| format!("cannot start the simulator: {e}"))?;
    let client = WechatPayClient::new(
        test_keys::brand_signer(),
        test_keys::response_verifier(),
        ClientSettings {
            base_url: simulator.base_url(),
            ..ClientSettings::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let dir = tempfile_dir()?;
    let store = Store::open(&dir.join("budget-bot.sled")).map_err(|e| e.to_string())?;
    let config = Config {
        wechatpay: None,
        stocks: demo_stocks(&stocks),
        storage: None,
        approval: Default::default(),
        console: Some(ConsoleConfig {
            users: demo_users(),
        }),
        discord: None,
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
    let console = console(
        &config,
        Arc::new(client),
        store.clone(),
        out,
        Arc::new(SystemClock),
    )
    .await?;
    let result = console
        .run(input)
        .await
        .map_err(|e| format!("cannot read input: {e}"));
    store.flush().map_err(|e| e.to_string())?;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    simulator.shutdown().await;
    result
}

/// A fresh private folder under the system temp dir for the demo's store.
fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "budget-bot-demo-{}-{}",
        std::process::id(),
        crate::domain::request::RequestId::generate()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Builds the Discord bot's app over a store and an API client and connects it.
pub async fn start_discord(
    config: &Config,
    token: &crate::chat::discord::Token,
    api: Arc<dyn CouponApi>,
    store: Store,
    clock: Arc<dyn Clock>,
) -> Result<crate::chat::discord::RunningBot, String> {
    let settings = crate::chat::discord::DiscordSettings::from_config(
        config.require_discord("run").map_err(|e| e.to_string())?,
    )?;
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
) -> Result<crate::chat::discord::RunningBot, String> {
    use crate::chat::discord::{self, DiscordNotifier};
    let notifier = Arc::new(DiscordNotifier::new(settings.clone()));
    let app = Arc::new(App::new(
        config.stocks.clone(),
        config.approval.clone(),
        api,
        store,
        notifier.clone(),
        clock,
    ));
    discord::start(token, settings, app, notifier).await
}

/// `budget-bot run`: the Discord bot until SIGTERM or Ctrl-C, then a bounded shutdown (work
/// in flight finished or left for the next start to resume, store flushed). The signals are
/// listened for from the first moment, so a stop works while Discord or WeChat Pay is
/// unreachable and the bot is still starting.
pub async fn run_discord(config: &Config, api: Arc<dyn CouponApi>) -> Result<(), String> {
    let stop = stop_on_signal()?;
    let discord = config.require_discord("run").map_err(|e| e.to_string())?;
    let token = crate::chat::discord::Token::load(discord, &config.base_dir())?;
    let store_path = config.storage_path("run").map_err(|e| e.to_string())?;
    let store = Store::open(&store_path).map_err(|e| e.to_string())?;
    // Dropping an unfinished start is safe: every state change is one atomic store
    // transaction, and whatever it left Approved or Submitting the next start resumes.
    let started = tokio::select! {
        started = start_discord(config, &token, api, store.clone(), Arc::new(SystemClock)) => started,
        () = stop.cancelled() => {
            tracing::info!("shutting down before the bot was connected to Discord");
            return store.flush().map_err(|e| e.to_string());
        }
    };
    let mut bot = started?;
    tracing::info!("budget-bot running; SIGTERM or Ctrl-C stops it");
    tokio::select! {
        () = stop.cancelled() => {
            tracing::info!("shutting down: finishing in-flight work");
            bot.shutdown().await
        }
        stopped = bot.wait() => stopped,
    }
}

/// A token cancelled on the first SIGTERM or SIGINT. The handlers are installed before this
/// returns: a signal that arrives any time later is seen.
fn stop_on_signal() -> Result<tokio_util::sync::CancellationToken, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot listen for Ctrl-C: {e}"))?;
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
