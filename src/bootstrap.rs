//! Wiring shared by the binary's commands and the tests: config + ports → app → adapter.

use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::io::AsyncBufRead;

use crate::app::runtime::Runtime;
use crate::app::{AppParts, Clock, SystemClock};
use crate::chat::console::{Console, ConsoleNotifier, Output};
use crate::config::{Config, ConsoleConfig};
use crate::store::{leader, SharedStore, Store};
use crate::wechatpay::CouponApi;

/// What every adapter's app is built from, but its notifier.
fn app_parts(
    config: &Config,
    api: Arc<dyn CouponApi>,
    store: SharedStore,
    clock: Arc<dyn Clock>,
) -> AppParts {
    AppParts {
        stocks: config.stocks.clone(),
        approval: config.approval.clone(),
        api,
        store,
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
    store: impl Into<SharedStore>,
    out: Arc<Output>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Console> {
    let users = config.console.clone().unwrap_or_default().users;
    let lang = config.display.language.fixed();
    let notifier = Arc::new(ConsoleNotifier::new(out.clone(), &users).with_lang(lang));
    let app = app_parts(config, api, store.into(), clock).with_notifier(notifier);
    let runtime = Runtime::new(Arc::new(app));
    runtime
        .start(None)
        .await
        .context("cannot resume interrupted requests")?;
    Ok(Console::with_runtime(runtime, users, out).with_lang(lang))
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
    json: bool,
    input: R,
) -> anyhow::Result<()> {
    if config.console.as_ref().is_none_or(|c| c.users.is_empty()) {
        bail!(
            "config file {} has no [console.users]; `console` needs at least one user (see config.toml.example)",
            config.source.display()
        );
    }
    let store = crate::store::configured::open(config, "console")?;
    let out = Arc::new(Output::stdout(json).with_lang(config.display.language.fixed()));
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
pub async fn run_demo<R: AsyncBufRead + Unpin>(
    json: bool,
    language: crate::config::Language,
    input: R,
) -> anyhow::Result<()> {
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
        watch: None,
        console: Some(ConsoleConfig {
            users: demo_users(),
        }),
        discord: None,
        slack: None,
        ops: None,
        log: Default::default(),
        display: crate::config::DisplayConfig {
            language,
            ..Default::default()
        },
        source: "demo".into(),
    };
    let lang = language.fixed();
    let howto = [
        crate::t!(lang, "demo-intro"),
        crate::t!(lang, "demo-try"),
        crate::t!(lang, "demo-also"),
    ];
    for line in howto {
        // With --json, stdout carries only events.
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    let out = Arc::new(Output::stdout(json).with_lang(config.display.language.fixed()));
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
    store: impl Into<SharedStore>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<crate::chat::discord::RunningBot> {
    let mut settings =
        crate::chat::discord::DiscordSettings::from_config(config.require_discord("run")?)?;
    settings.language = config.display.language;
    start_discord_with(config, settings, token, api, store, clock).await
}

/// [`start_discord`] with settings given (tests shorten the sweep interval).
pub async fn start_discord_with(
    config: &Config,
    settings: crate::chat::discord::DiscordSettings,
    token: &crate::chat::discord::Token,
    api: Arc<dyn CouponApi>,
    store: impl Into<SharedStore>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<crate::chat::discord::RunningBot> {
    let parts = app_parts(config, api, store.into(), clock);
    crate::chat::discord::start(token, settings, parts).await
}

/// Builds the Slack bot's app over a store and an API client and starts it.
#[cfg(feature = "slack")]
pub async fn start_slack(
    config: &Config,
    settings: crate::chat::slack::SlackSettings,
    tokens: &crate::chat::slack::SlackTokens,
    api: Arc<dyn CouponApi>,
    store: impl Into<SharedStore>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<crate::chat::slack::RunningSlack> {
    let parts = app_parts(config, api, store.into(), clock);
    let settings = crate::chat::slack::SlackSettings {
        lang: config.display.language.fixed(),
        ..settings
    };
    crate::chat::slack::start(tokens, settings, parts).await
}

/// The chat adapters `run` started, over one store and one runtime.
pub struct Bots {
    pub discord: Option<crate::chat::discord::RunningBot>,
    #[cfg(feature = "slack")]
    pub slack: Option<crate::chat::slack::RunningSlack>,
}

impl Bots {
    /// Each adapter's bounded stop (work in flight finished or left for the next start, the
    /// store flushed).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let mut stopped = Ok(());
        if let Some(bot) = self.discord {
            stopped = bot.shutdown().await;
        }
        #[cfg(feature = "slack")]
        if let Some(bot) = self.slack {
            stopped = stopped.and(bot.shutdown().await);
        }
        stopped
    }

    /// Waits until an adapter stops by itself (a Discord client with an invalid token).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        match &mut self.discord {
            Some(bot) => bot.wait().await,
            None => std::future::pending().await,
        }
    }
}

/// Starts every chat adapter whose section is present in `config`, over one store: alone,
/// each builds its app with its own notifier; together they share one app and one runtime
/// (one set of sweeps), whose notifier posts a request's card on the platform where it was
/// requested and every notice to every platform's notifications channel.
pub async fn start_bots(
    config: &Config,
    api: Arc<dyn CouponApi>,
    store: impl Into<SharedStore>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Bots> {
    use crate::chat::discord;
    let discord_setup = match &config.discord {
        Some(section) => Some((
            discord::Token::load(section, &config.base_dir())?,
            discord::DiscordSettings::from_config(section)?,
        )),
        None => None,
    };
    #[cfg(feature = "slack")]
    if let Some(section) = &config.slack {
        return start_with_slack(config, section, discord_setup, api, store.into(), clock).await;
    }
    let parts = app_parts(config, api, store.into(), clock);
    match discord_setup {
        Some((token, settings)) => Ok(Bots {
            discord: Some(discord::start(&token, settings, parts).await?),
            #[cfg(feature = "slack")]
            slack: None,
        }),
        None => bail!(
            "config file {} has neither [discord] nor [slack]; `run` needs at least one (see config.toml.example)",
            config.source.display()
        ),
    }
}

/// [`start_bots`] with a `[slack]` section: Slack alone, or Slack and Discord over one app.
#[cfg(feature = "slack")]
async fn start_with_slack(
    config: &Config,
    section: &crate::config::SlackConfig,
    discord_setup: Option<(
        crate::chat::discord::Token,
        crate::chat::discord::DiscordSettings,
    )>,
    api: Arc<dyn CouponApi>,
    store: SharedStore,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Bots> {
    use crate::chat::{discord, slack};
    let tokens = slack::SlackTokens::load(section, &config.base_dir())?;
    let settings = slack::SlackSettings {
        lang: config.display.language.fixed(),
        ..slack::SlackSettings::from_config(section)?
    };
    let parts = app_parts(config, api, store, clock);
    match discord_setup {
        None => Ok(Bots {
            discord: None,
            slack: Some(slack::start(&tokens, settings, parts).await?),
        }),
        Some((token, discord_settings)) => {
            let discord_notifier =
                Arc::new(discord::DiscordNotifier::new(discord_settings.clone()));
            let slack_notifier = slack::notifier(&settings, &tokens)?;
            let surfaces =
                crate::chat::Surfaces::new(vec![discord_notifier.clone(), slack_notifier]);
            let runtime = Runtime::new(Arc::new(parts.with_notifier(Arc::new(surfaces))));
            let discord =
                discord::start_with(&token, discord_settings, runtime.clone(), discord_notifier)
                    .await?;
            let slack = slack::listen(&tokens, settings, runtime).await?;
            Ok(Bots {
                discord: Some(discord),
                slack: Some(slack),
            })
        }
    }
}

/// `budget-bot run`: every configured chat adapter until SIGTERM or Ctrl-C, then a bounded
/// shutdown (work in flight finished or left for the next start to resume, store flushed).
/// The signals are listened for from the first moment, so a stop works while a platform or
/// WeChat Pay is unreachable and the bot is still starting. Instances sharing a PostgreSQL
/// store elect one leader ([`leader`]): only it connects to the chat platforms and sweeps;
/// the others make no chat call until the leader is gone, and one of them takes over.
pub async fn run_bots(config: &Config, api: Arc<dyn CouponApi>) -> anyhow::Result<()> {
    let stop = stop_on_signal()?;
    if config.discord.is_none() && config.slack.is_none() {
        config.require_discord("run")?;
    }
    let store = crate::store::configured::open(config, "run")?;
    let ops = start_ops(config, &store, &api).await?;
    if let Some(ops) = &ops {
        let role = store.clone();
        ops.readiness()
            .add_check("leader", move || leader::role(&role));
    }
    let unwatch = |ops: &Option<crate::ops::server::OpsServer>| {
        if let Some(ops) = ops {
            if config.discord.is_some() {
                ops.readiness()
                    .watch("discord", crate::chat::Connection::default());
            }
            if config.slack.is_some() {
                ops.readiness()
                    .watch("slack", crate::chat::Connection::default());
            }
        }
    };
    loop {
        let Some(leadership) = leader::lead(&store, &stop).await else {
            tracing::info!("shutting down: this instance was waiting to lead");
            return Ok(());
        };
        let lost = leadership.lost();
        // Dropping an unfinished start is safe: every state change is one atomic store
        // transaction, and whatever it left Approved or Submitting the next start resumes.
        let started = tokio::select! {
            started = start_bots(config, api.clone(), store.clone(), Arc::new(SystemClock)) => started,
            () = stop.cancelled() => {
                tracing::info!("shutting down before the bot was connected");
                store.flush()?;
                return Ok(());
            }
            () = lost.cancelled() => continue,
        };
        let mut bots = started?;
        if let Some(ops) = &ops {
            if let Some(bot) = &bots.discord {
                ops.readiness().watch("discord", bot.connection());
            }
            #[cfg(feature = "slack")]
            if let Some(bot) = &bots.slack {
                ops.readiness().watch("slack", bot.connection());
            }
        }
        tracing::info!("budget-bot running; SIGTERM or Ctrl-C stops it");
        tokio::select! {
            () = stop.cancelled() => {
                tracing::info!("shutting down: finishing in-flight work");
                return bots.shutdown().await;
            }
            stopped = bots.wait() => return stopped,
            () = lost.cancelled() => {
                tracing::warn!("leadership lost: disconnecting from chat, then waiting to lead again");
                bots.shutdown().await?;
                unwatch(&ops);
            }
        }
    }
}

/// `run` under its old name.
pub async fn run_discord(config: &Config, api: Arc<dyn CouponApi>) -> anyhow::Result<()> {
    run_bots(config, api).await
}

/// With `[ops] listen`: serves the health and metrics endpoints from now on (Discord counts
/// as not connected until the bot is), and probes WeChat Pay with a read of the first
/// allow-listed stock. Stopped when dropped.
async fn start_ops(
    config: &Config,
    store: &SharedStore,
    api: &Arc<dyn CouponApi>,
) -> anyhow::Result<Option<crate::ops::server::OpsServer>> {
    use crate::ops::{health::Readiness, server::OpsServer};
    let Some(ops) = &config.ops else {
        return Ok(None);
    };
    let readiness = Arc::new(Readiness::new(store.backend()));
    // Each configured platform counts as not connected until its bot is.
    if config.discord.is_some() {
        readiness.watch("discord", crate::chat::Connection::default());
    }
    if config.slack.is_some() {
        readiness.watch("slack", crate::chat::Connection::default());
    }
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
