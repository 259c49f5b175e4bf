//! The Slack adapter (slack-morphism): `/budget`, Block Kit approval cards with buttons and
//! reactions, notifications, over Socket Mode or signed HTTP. A thin shim like the Discord
//! one: events become the app's inputs with the actor's capabilities from the configured
//! user groups, and every event is acknowledged before any WeChat Pay call.

mod handler;
mod http;
mod members;
mod notifier;
mod render;
mod settings;

use std::sync::Arc;

use anyhow::Context;
use slack_morphism::prelude::*;

use crate::app::runtime::{Runtime, SHUTDOWN_GRACE};
use crate::app::AppParts;
use crate::config::SlackMode;

pub use handler::SlackBot;
pub use notifier::{SlackNotifier, APPROVE_REACTION, PLATFORM, REJECT_REACTION};
pub use render::{card_blocks, escape, outcome_blocks};
pub use settings::{
    client, Client, Secret, SlackSettings, SlackTokens, APP_TOKEN_ENV, BOT_TOKEN_ENV,
    MEMBERSHIP_TTL, SIGNING_SECRET_ENV,
};

/// How Slack's events reach a running bot.
enum Listener {
    Socket(SlackClientSocketModeListener<SlackClientHyperHttpsConnector>),
    Http(http::HttpListener),
}

/// A running Slack bot: stop it with [`RunningSlack::shutdown`].
pub struct RunningSlack {
    listener: Listener,
    bot: Arc<SlackBot>,
}

impl RunningSlack {
    /// Stops taking events, lets work in flight finish for up to [`SHUTDOWN_GRACE`], closes
    /// the connection and flushes the store.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.bot.runtime.finish_work(SHUTDOWN_GRACE).await;
        match self.listener {
            Listener::Socket(listener) => listener.shutdown().await,
            Listener::Http(listener) => listener.shutdown().await,
        }
        self.bot.connection.set(false);
        self.bot
            .runtime
            .flush()
            .context("cannot flush the store at shutdown")
    }

    /// Whether Slack's events can reach the bot now (for `/readyz`).
    pub fn connection(&self) -> crate::chat::Connection {
        self.bot.connection.clone()
    }

    /// Where http mode listens (its port when `listen` named port 0).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match &self.listener {
            Listener::Http(listener) => Some(listener.local_addr()),
            Listener::Socket(_) => None,
        }
    }
}

/// The notifier of a Slack bot, to build the app with (alone or beside other platforms).
pub fn notifier(
    settings: &SlackSettings,
    tokens: &SlackTokens,
) -> anyhow::Result<Arc<SlackNotifier>> {
    Ok(Arc::new(SlackNotifier::new(
        client(settings.api_base_url.as_deref())?,
        tokens.bot.api_token(),
        settings.clone(),
    )))
}

/// Slack alone: builds the app with this bot's notifier, starts the runtime (recovery once,
/// then the sweeps), then listens.
pub async fn start(
    tokens: &SlackTokens,
    settings: SlackSettings,
    parts: AppParts,
) -> anyhow::Result<RunningSlack> {
    let runtime = Runtime::new(Arc::new(parts.with_notifier(notifier(&settings, tokens)?)));
    runtime
        .start(Some(settings.sweep_interval))
        .await
        .context("cannot resume interrupted requests")?;
    listen(tokens, settings, runtime).await
}

/// Listens for Slack's events over `runtime`, whose app already posts to Slack (alone or
/// beside other platforms) and whose clock already runs.
pub async fn listen(
    tokens: &SlackTokens,
    settings: SlackSettings,
    runtime: Runtime,
) -> anyhow::Result<RunningSlack> {
    let client = client(settings.api_base_url.as_deref())?;
    let bot = Arc::new(SlackBot::new(
        runtime,
        settings.clone(),
        client.clone(),
        tokens.bot.api_token(),
    ));
    bot.identify().await?;
    let listener = match settings.mode {
        SlackMode::Socket => {
            let app_token = tokens
                .app
                .as_ref()
                .context("socket mode needs the app-level token (SLACK_APP_TOKEN)")?;
            Listener::Socket(socket_listener(client, bot.clone(), app_token).await?)
        }
        SlackMode::Http => {
            let secret = tokens
                .signing_secret
                .clone()
                .context("http mode needs the signing secret (SLACK_SIGNING_SECRET)")?;
            let addr = settings.listen.context("http mode needs [slack] listen")?;
            let listener = http::HttpListener::start(addr, secret, bot.clone()).await?;
            bot.connection.set(true);
            Listener::Http(listener)
        }
    };
    Ok(RunningSlack { listener, bot })
}

/// The error a command callback returns once it has spawned its work: the command is acked
/// bare (no payload), and its answer follows through the `response_url`.
#[derive(Debug)]
struct AnsweredLater;

impl std::fmt::Display for AnsweredLater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answered through the response_url")
    }
}

impl std::error::Error for AnsweredLater {}

fn bot_of(state: &SlackClientEventsUserStateStorage) -> Option<Arc<SlackBot>> {
    state.get_user_state::<Arc<SlackBot>>().cloned()
}

/// Socket Mode's `hello` (slack-morphism does not export its type by a reachable path,
/// hence the generic).
async fn on_hello<Hello>(_event: Hello, _client: Arc<Client>, state: SlackClientEventsUserState) {
    if let Some(bot) = bot_of(&*state.read().await) {
        bot.connection.set(true);
        tracing::info!("connected to Slack (Socket Mode)");
    }
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    if let Some(bot) = bot_of(&*state.read().await) {
        bot.spawn(move |bot| async move { bot.command(event).await });
    }
    Err(Box::new(AnsweredLater))
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(bot) = bot_of(&*state.read().await) {
        bot.spawn(move |bot| async move { bot.interaction(event).await });
    }
    Ok(())
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(bot) = bot_of(&*state.read().await) {
        bot.spawn(move |bot| async move { bot.push(event).await });
    }
    Ok(())
}

/// A spawned command acks bare; any other listener error is logged and not acked, so Slack
/// delivers it again.
fn on_error(
    error: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<Client>,
    _state: SlackClientEventsUserState,
) -> axum::http::StatusCode {
    if error.is::<AnsweredLater>() {
        return axum::http::StatusCode::OK;
    }
    tracing::warn!(error = %error, "Slack listener error");
    axum::http::StatusCode::BAD_REQUEST
}

async fn socket_listener(
    client: Arc<Client>,
    bot: Arc<SlackBot>,
    app_token: &Secret,
) -> anyhow::Result<SlackClientSocketModeListener<SlackClientHyperHttpsConnector>> {
    let environment = Arc::new(
        SlackClientEventsListenerEnvironment::new(client)
            .with_error_handler(on_error)
            .with_user_state(bot),
    );
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_hello_events(on_hello)
        .with_command_events(on_command)
        .with_interaction_events(on_interaction)
        .with_push_events(on_push);
    let listener = SlackClientSocketModeListener::new(
        &SlackClientSocketModeConfig::new(),
        environment,
        callbacks,
    );
    listener
        .listen_for(&app_token.api_token())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open a Socket Mode connection: {e}"))?;
    listener.start().await;
    Ok(listener)
}
