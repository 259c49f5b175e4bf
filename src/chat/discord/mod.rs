//! The Discord adapter (serenity 0.12): slash commands, approval cards with buttons and
//! reactions, notifications. A thin shim: it turns events into the app's commands and
//! decisions, with the actor's roles taken from the event payload itself, and renders replies.
//! Every interaction is acknowledged (deferred) before any WeChat Pay call.

mod command;
mod handler;
mod notifier;
mod render;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serenity::all::{GatewayIntents, Http, ShardManager};
use serenity::client::{Client, ClientBuilder};

use crate::app::runtime::{Runtime, SHUTDOWN_GRACE};
use crate::app::AppParts;

pub use command::{budget_command, command_from_options, stock_choices};
pub use handler::{Handler, UNKNOWN_CARD_WAIT};
pub use notifier::DiscordNotifier;
pub use render::{card_buttons, card_embed};
pub use settings::{http_client, DiscordSettings, Token, EXPIRY_SWEEP_INTERVAL, TOKEN_ENV};

/// The intents the bot needs: guild data and reactions. No privileged intents.
pub const INTENTS: GatewayIntents =
    GatewayIntents::GUILDS.union(GatewayIntents::GUILD_MESSAGE_REACTIONS);

/// How long one ask for the gateway URL may take before it is asked again.
pub const GATEWAY_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first pause between asks for the gateway URL; it doubles up to 30 s.
pub const GATEWAY_RETRY_DELAY: Duration = Duration::from_secs(1);
const GATEWAY_RETRY_MAX: Duration = Duration::from_secs(30);

/// How long the gateway's close may take after work in flight is finished or dropped; with
/// the runtime's grace period this keeps a stop under 10 s whatever Discord or WeChat Pay is
/// doing.
const GATEWAY_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A running bot: stop it with [`RunningBot::shutdown`].
pub struct RunningBot {
    shard_manager: Arc<ShardManager>,
    client_task: tokio::task::JoinHandle<Result<(), serenity::Error>>,
    runtime: Runtime,
    gateway_url: String,
    connection: crate::chat::Connection,
}

impl RunningBot {
    /// Stops taking events, lets work in flight finish for up to [`SHUTDOWN_GRACE`] (then
    /// drops it, to be resumed by the next start), disconnects and flushes the store. Bounded
    /// whatever Discord or WeChat Pay is doing: serenity's own `shutdown_all` returns at once
    /// while its shard has never connected, and `Client::start` then never returns, so the
    /// client's task is ended here rather than awaited.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.runtime.finish_work(SHUTDOWN_GRACE).await;
        if tokio::time::timeout(GATEWAY_CLOSE_WAIT, self.shard_manager.shutdown_all())
            .await
            .is_err()
        {
            tracing::warn!("the gateway connection did not close in time; dropping it");
        }
        self.client_task.abort();
        let _ = self.client_task.await;
        self.runtime
            .flush()
            .context("cannot flush the store at shutdown")
    }

    /// Waits until the gateway client stops by itself (e.g. an invalid token).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        match (&mut self.client_task).await {
            Ok(result) => result.context("Discord client stopped"),
            Err(e) => Err(e).context("Discord client task failed"),
        }
    }

    /// Whether the gateway session is up now (for `/readyz`).
    pub fn connection(&self) -> crate::chat::Connection {
        self.connection.clone()
    }

    /// The gateway URL the bot connects to, as the configured server named it.
    pub fn gateway_url(&self) -> &str {
        &self.gateway_url
    }
}

/// Asks the server the HTTP client talks to (Discord, or `api_base_url`) for the gateway URL
/// until it answers. Never gives up and never asks anyone else: stopping is the caller's
/// business (dropping this future).
async fn discover_gateway(http: &Http, settings: &DiscordSettings) -> String {
    let mut pause = settings.gateway_retry_delay;
    let mut attempt = 0u32;
    loop {
        attempt = attempt.saturating_add(1);
        match tokio::time::timeout(settings.gateway_attempt_timeout, http.get_gateway()).await {
            Ok(Ok(gateway)) => return gateway.url,
            Ok(Err(e)) => {
                tracing::warn!(attempt, error = %e, retry_in = ?pause, "could not get the gateway URL; asking the same server again")
            }
            Err(_) => {
                tracing::warn!(attempt, timeout = ?settings.gateway_attempt_timeout, retry_in = ?pause, "no answer with the gateway URL; asking the same server again")
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(GATEWAY_RETRY_MAX);
    }
}

/// Builds the serenity client connected only to the gateway the configured server names.
/// serenity 0.12.5's `ClientBuilder` asks `GET /gateway` once and, when that fails, falls back
/// to Discord's public gateway host (`"wss://gateway.discord.gg"` in `client/mod.rs`), which
/// would bypass an `api_base_url` proxy; so the URL is asked for here until the server answers,
/// and written over whatever the builder chose (shards read `Client::ws_url` when they connect).
async fn build_client(
    token: &Token,
    settings: &DiscordSettings,
    handler: Arc<Handler>,
) -> anyhow::Result<(Client, String)> {
    loop {
        let http = http_client(token, settings.api_base_url.as_deref());
        let url = discover_gateway(&http, settings).await;
        let builder =
            ClientBuilder::new_with_http(http, INTENTS).event_handler_arc(handler.clone());
        // The builder asks for the URL again, with no time limit of its own.
        match tokio::time::timeout(settings.gateway_attempt_timeout, builder).await {
            Ok(Ok(client)) => {
                *client.ws_url.lock().await = url.clone();
                tracing::info!(%url, "gateway URL from the configured server");
                return Ok((client, url));
            }
            Ok(Err(e)) => return Err(e).context("cannot create the Discord client"),
            Err(_) => tracing::warn!(
                "the Discord server stopped answering while the client was built; asking again"
            ),
        }
    }
}

/// Connects the bot: builds its app from `parts` and its own notifier (so the cards the app
/// posts are this bot's), builds the client, starts the runtime (recovery once, then the
/// sweeps) and the gateway connection. Until the configured server names its gateway this
/// waits; the caller stops it by dropping it.
pub async fn start(
    token: &Token,
    settings: DiscordSettings,
    parts: AppParts,
) -> anyhow::Result<RunningBot> {
    let notifier = Arc::new(DiscordNotifier::new(settings.clone()));
    let runtime = Runtime::new(Arc::new(parts.with_notifier(notifier.clone())));
    start_with(token, settings, runtime, notifier).await
}

/// [`start`] over a runtime whose app posts through `notifier` (alone, or beside other
/// platforms' notifiers): connects, then starts the runtime's recovery and sweeps.
pub async fn start_with(
    token: &Token,
    settings: DiscordSettings,
    runtime: Runtime,
    notifier: Arc<DiscordNotifier>,
) -> anyhow::Result<RunningBot> {
    let handler = Arc::new(Handler::new(runtime.clone(), settings.clone()));
    let connection = handler.connection();
    let (mut client, gateway_url) = build_client(token, &settings, handler).await?;
    notifier.set_http(client.http.clone());
    runtime
        .start(Some(settings.sweep_interval))
        .await
        .context("cannot resume interrupted requests")?;
    let shard_manager = client.shard_manager.clone();
    let client_task = tokio::spawn(async move { client.start().await });
    Ok(RunningBot {
        shard_manager,
        client_task,
        runtime,
        gateway_url,
        connection,
    })
}
