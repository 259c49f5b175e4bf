//! A fake Discord (REST + gateway WebSocket) for integration tests of serenity-based code.
//!
//! [`FakeDiscord::start`] binds `127.0.0.1:0` and serves:
//!
//! * **REST** under `/api/v10/...`: the routes a slash-command/approval bot uses (gateway
//!   discovery, command bulk-overwrite, interaction callbacks, webhook edits/follow-ups, channel
//!   messages, reactions, DM channels) and the reads `check-config --live` makes (`GET /users/@me`,
//!   `/guilds/{id}` (with its roles), `/guilds/{id}/channels`, `/guilds/{id}/members/{user}`;
//!   another guild is 404 10004 "Unknown Guild"). With [`FakeConfig::token`] set, a call without
//!   that bot token is 401 `{"message":"401: Unauthorized","code":0}`. Every call is recorded as a [`RecordedRequest`] (path
//!   without the `/api/v10` prefix and percent-decoded, so `✅` shows as `✅`). Unknown routes are
//!   recorded too and answered with `404 {"message":"Unknown route","code":0}`. Several Discord
//!   rules are enforced so bugs show up as HTTP errors, like the real thing: the 3 s initial-ack
//!   deadline (10062 "Unknown interaction", see [`FakeConfig::ack_deadline`]), double ack (40060),
//!   callback type vs interaction kind (6/7 only for components, 8 only for autocomplete), editing
//!   `@original` before acking (10008), empty messages (50006), command name/description rules
//!   (50035).
//! * **Gateway** at `ws://127.0.0.1:PORT/ws` (JSON text frames, no compression; serenity 0.12.5
//!   connects with `?v=10` only, no `encoding`/`compress` query; it
//!   sends `compress: true` in IDENTIFY but also accepts uncompressed text frames, which is all
//!   the fake ever sends). HELLO → IDENTIFY →
//!   READY + GUILD_CREATE; heartbeats are ACKed; RESUME is answered with RESUMED (or op 9
//!   INVALID_SESSION `false` when resuming is disabled via [`FakeDiscord::set_allow_resume`]).
//!   Events injected while no session is live are queued and delivered after the next
//!   READY/RESUMED. Sequence numbers are per session and continue across a resume.
//!
//! Messages the bot posts or edits are kept as state ([`FakeDiscord::messages_in`],
//! [`FakeDiscord::message`], [`FakeDiscord::original_response`]). Ephemeral interaction
//! responses are not listed by `messages_in` (nobody else can see them) but are available through
//! `original_response` / `interaction_messages`.
//!
//! Waiting never polls: every state change bumps a `tokio::sync::watch` counter and
//! [`FakeDiscord::wait_until`] / [`FakeDiscord::wait_for_request`] re-check on each bump.
//!
//! # Public API
//!
//! * `FakeDiscord::start(FakeConfig) -> FakeDiscord` (cheap `Clone`); `FakeConfig::default()`
//!   has one guild ([`GUILD_ID`]), channels [`APPROVALS_CHANNEL_ID`],
//!   [`NOTIFICATIONS_CHANNEL_ID`], [`GENERAL_CHANNEL_ID`], roles [`APPROVER_ROLE_ID`],
//!   [`REQUESTER_ROLE_ID`] and members [`ALICE_ID`] (approver), [`BOB_ID`] (requester),
//!   [`CAROL_ID`] (no roles).
//! * `base_url()` (`http://127.0.0.1:PORT`, no `/api/v10`: serenity's proxy replaces
//!   `https://discord.com`), `gateway_url()`.
//! * gateway: `wait_ready`, `identified_intents`, `identify_payload`, `identify_count`,
//!   `resume_count`, `gateway_queries`, `live_sessions`, `disconnect_all`, `set_allow_resume`,
//!   `dispatched_events`.
//! * events: `send_interaction_command`, `send_interaction_command_in`, `send_component_click`,
//!   `send_autocomplete`, `send_reaction_add` (all return once the event is queued to the socket).
//! * REST log: `requests`, `wait_for_request`, `wait_until`, `wait_commands_registered`.
//! * races and outages: `hold_responses` / `release_held` / `held_calls` (a bot call is handled
//!   but answered only on release, e.g. its card post or its own reactions), `script_gateway`
//!   (`GET /gateway` answered, refused with 503, or never answered), `refuse_gateway_socket`,
//!   `post_member_message` (a human post the bot did not make).
//! * state: `messages_in`, `message`, `reactions_on`, `original_response`,
//!   `interaction_messages`, `registered_commands`, `dm_channel_of`, `set_member_roles`,
//!   `member_roles`.
//!
//! # serenity 0.12.5 behaviour seen against this fake
//!
//! * Build the client's `Http` with `HttpBuilder::new(token).proxy(fake.base_url())
//!   .ratelimiter_disabled(true)`; with the rate limiter enabled the proxy is ignored.
//! * `ClientBuilder` calls only `GET /gateway` (not `/gateway/bot`, which only
//!   `start_autosharded` uses); `Client::start` makes no further REST call. The application id
//!   for `/applications/{app}/...` and `/webhooks/{app}/...` comes from READY's `application.id`.
//! * Interaction callbacks carry no query string (no `with_response`); serenity expects 204.
//! * A resumable close (4000) makes serenity RESUME within milliseconds on the same URL (it
//!   ignores `resume_gateway_url`). A refused resume (op 9 `false`) restarts the shard, and
//!   serenity's shard manager then waits ~5 s ("Failed to cleanly shutdown shard 0, reached
//!   timeout") before the fresh IDENTIFY; allow for it in timeouts.
//! * serenity's `Event` enum has an untagged `Unknown` fallback, so a malformed known event is
//!   silently dropped by the client rather than reported; the smoke test therefore
//!   deserializes every `dispatched_events()` payload itself.
//!
//! # Example
//!
//! ```ignore
//! let fake = FakeDiscord::start(FakeConfig::default()).await;
//! let http = HttpBuilder::new("fake-token").proxy(fake.base_url()).ratelimiter_disabled(true).build();
//! let mut client = ClientBuilder::new_with_http(http, intents).event_handler(MyBot).await?;
//! tokio::spawn(async move { client.start().await });
//! fake.wait_ready(Duration::from_secs(10)).await?;
//! let it = fake.send_interaction_command(ALICE_ID, "budget", "show", vec![]).await;
//! fake.wait_for_request(|r| r.is_callback_for(&it), Duration::from_secs(5)).await?;
//! ```
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

pub const APPLICATION_ID: u64 = 111_111_111_111_111_111;
pub const BOT_USER_ID: u64 = 222_222_222_222_222_222;
pub const GUILD_ID: u64 = 333_333_333_333_333_333;
pub const APPROVALS_CHANNEL_ID: u64 = 444_444_444_444_444_401;
pub const NOTIFICATIONS_CHANNEL_ID: u64 = 444_444_444_444_444_402;
pub const GENERAL_CHANNEL_ID: u64 = 444_444_444_444_444_403;
pub const APPROVER_ROLE_ID: u64 = 555_555_555_555_555_501;
pub const REQUESTER_ROLE_ID: u64 = 555_555_555_555_555_502;
pub const ALICE_ID: u64 = 666_666_666_666_666_601;
pub const BOB_ID: u64 = 666_666_666_666_666_602;
pub const CAROL_ID: u64 = 666_666_666_666_666_603;

/// Permissions of `@everyone` in the fake guild: VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS,
/// READ_MESSAGE_HISTORY, ADD_REACTIONS, MANAGE_MESSAGES, USE_APPLICATION_COMMANDS.
pub const EVERYONE_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 6) | (1 << 13) | (1 << 31);

const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
const EPHEMERAL: u64 = 1 << 6;
const LOADING: u64 = 1 << 7;

#[derive(Clone, Debug)]
pub struct FakeChannel {
    pub id: u64,
    pub name: String,
    /// Discord's channel type: 0 text (the default), 2 voice, 4 category, 5 announcement.
    pub kind: u8,
    /// Permissions an `@everyone` overwrite on this channel denies (0: no overwrite).
    pub everyone_deny: u64,
}

impl FakeChannel {
    /// A text channel without overwrites.
    pub fn text(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_string(),
            kind: 0,
            everyone_deny: 0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct FakeRole {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
}

#[derive(Clone, Debug)]
pub struct FakeMember {
    pub user_id: u64,
    pub name: String,
    pub roles: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub application_id: u64,
    pub bot_user_id: u64,
    pub bot_name: String,
    pub guild_id: u64,
    pub guild_name: String,
    /// Guild text channels.
    pub channels: Vec<FakeChannel>,
    /// Channel used by [`FakeDiscord::send_interaction_command`] and `send_autocomplete`.
    pub default_channel_id: u64,
    /// Guild roles (an `@everyone` role with id = guild id is always added).
    pub roles: Vec<FakeRole>,
    /// Guild members (the bot's own member is always added).
    pub members: Vec<FakeMember>,
    pub heartbeat_interval_ms: u64,
    /// Answer RESUME with RESUMED (true) or INVALID_SESSION(false) (false).
    pub allow_resume: bool,
    /// Initial interaction responses later than this get 404 code 10062, as on Discord.
    /// `None` disables the check.
    pub ack_deadline: Option<Duration>,
    /// The bot token REST calls must carry (`Authorization: Bot TOKEN`), else 401 as on
    /// Discord. `None` accepts any.
    pub token: Option<String>,
    /// The guild's `preferred_locale` (GUILD_CREATE) and every interaction's `guild_locale`.
    pub guild_locale: String,
}

impl Default for FakeConfig {
    fn default() -> Self {
        let member = |user_id, name: &str, roles: Vec<u64>| FakeMember {
            user_id,
            name: name.to_string(),
            roles,
        };
        FakeConfig {
            application_id: APPLICATION_ID,
            bot_user_id: BOT_USER_ID,
            bot_name: "budget-bot".to_string(),
            guild_id: GUILD_ID,
            guild_name: "Fake Guild".to_string(),
            channels: vec![
                FakeChannel::text(APPROVALS_CHANNEL_ID, "budget-approvals"),
                FakeChannel::text(NOTIFICATIONS_CHANNEL_ID, "budget-notifications"),
                FakeChannel::text(GENERAL_CHANNEL_ID, "general"),
            ],
            default_channel_id: GENERAL_CHANNEL_ID,
            roles: vec![
                FakeRole {
                    id: APPROVER_ROLE_ID,
                    name: "budget-approver".to_string(),
                    permissions: 0,
                },
                FakeRole {
                    id: REQUESTER_ROLE_ID,
                    name: "budget-requester".to_string(),
                    permissions: 0,
                },
            ],
            members: vec![
                member(ALICE_ID, "alice", vec![APPROVER_ROLE_ID]),
                member(BOB_ID, "bob", vec![REQUESTER_ROLE_ID]),
                member(CAROL_ID, "carol", vec![]),
            ],
            heartbeat_interval_ms: 41_250,
            allow_resume: true,
            ack_deadline: Some(Duration::from_secs(3)),
            token: None,
            guild_locale: "en-US".to_string(),
        }
    }
}

/// One REST call received by the fake.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Path without the `/api/v10` prefix, percent-decoded, e.g. `/channels/1/messages`.
    pub path: String,
    /// Path exactly as received (with `/api/v10`, percent-encoded).
    pub raw_path: String,
    /// Raw query string without `?` (serenity writes `&a=b&c=d`), empty if none.
    pub query: String,
    /// JSON body (for multipart: the `payload_json` part), `Null` if none.
    pub body: Value,
    pub authorization: Option<String>,
    /// Status the fake answered with.
    pub status: u16,
    /// Body the fake answered with (`Null` for 204).
    pub response: Value,
    pub at: Instant,
}

impl RecordedRequest {
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }

    /// True for `POST /interactions/{id}/{token}/callback` of this interaction.
    pub fn is_callback_for(&self, it: &InteractionRef) -> bool {
        self.method == "POST"
            && self.path == format!("/interactions/{}/{}/callback", it.id, it.token)
    }

    /// True for any `/webhooks/{app}/{token}...` call using this interaction's token.
    pub fn is_webhook_for(&self, it: &InteractionRef) -> bool {
        self.path.starts_with("/webhooks/")
            && self.path.split('/').nth(3) == Some(it.token.as_str())
    }
}

/// Identifies an injected interaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionRef {
    pub id: u64,
    pub token: String,
}

#[derive(Clone, Debug)]
struct StoredMessage {
    channel_id: u64,
    json: Value,
    /// emoji key (`✅` or `name:id`) -> users, in insertion order.
    reactions: Vec<(String, Vec<u64>)>,
    ephemeral: bool,
}

#[derive(Clone, Debug)]
struct InteractionState {
    id: u64,
    /// 2 command, 3 component, 4 autocomplete
    kind: u8,
    channel_id: u64,
    source_message: Option<u64>,
    created: Instant,
    ack: Option<u64>,
    original: Option<u64>,
    followups: Vec<u64>,
}

enum Outgoing {
    Dispatch(String, Value),
    Close(u16),
}

struct Conn {
    tx: mpsc::UnboundedSender<Outgoing>,
    ready: bool,
}

struct GatewayState {
    next_conn: u64,
    connections: HashMap<u64, Conn>,
    /// session id -> last sequence number sent
    sessions: HashMap<String, u64>,
    pending: Vec<(String, Value)>,
    dispatched: Vec<(String, Value)>,
    identify: Option<Value>,
    identify_count: u64,
    resume_count: u64,
    invalid_session_count: u64,
    queries: Vec<String>,
}

struct StateData {
    members: Vec<FakeMember>,
    allow_resume: bool,
    requests: Vec<RecordedRequest>,
    messages: BTreeMap<u64, StoredMessage>,
    dm_channels: HashMap<u64, u64>,
    interactions: HashMap<String, InteractionState>,
    guild_commands: Vec<Value>,
    global_commands: Vec<Value>,
    last_id: u64,
    gw: GatewayState,
    /// REST calls this rule matches are handled at once but answered only after
    /// [`FakeDiscord::release_held`].
    hold: Option<RequestRule>,
    /// Calls waiting for their answer now, and every call ever held.
    held_now: u64,
    held_total: u64,
    release_gen: u64,
    /// Answers to the next `GET /gateway` calls, one each; then `gateway_then`.
    gateway_script: VecDeque<GatewayAnswer>,
    gateway_then: GatewayAnswer,
    /// Answer the gateway WebSocket upgrade with 503 instead of accepting it.
    refuse_socket: bool,
    /// The `locale` of the interactions injected from now on (the user's client language).
    user_locale: String,
}

/// Which REST calls (method, path without `/api/v10`) a rule applies to.
pub type RequestRule = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// How the fake answers one `GET /gateway` (see [`FakeDiscord::script_gateway`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayAnswer {
    /// `{"url": gateway_url()}`, as Discord does.
    Answer,
    /// `503`, as an unreachable upstream behind a proxy.
    Refuse,
    /// Never answers (the call is recorded with status 0).
    Hold,
}

struct Inner {
    cfg: FakeConfig,
    addr: SocketAddr,
    state: Mutex<StateData>,
    version: watch::Sender<u64>,
}

/// Handle to a running fake Discord. Cheap to clone.
#[derive(Clone)]
pub struct FakeDiscord {
    inner: Arc<Inner>,
}

type Reply = (StatusCode, Value);

fn reply(v: Value) -> Reply {
    (StatusCode::OK, v)
}

fn no_content() -> Reply {
    (StatusCode::NO_CONTENT, Value::Null)
}

fn error(status: StatusCode, code: u64, message: &str) -> Reply {
    (status, json!({ "message": message, "code": code }))
}

fn form_error(message: &str) -> Reply {
    (
        StatusCode::BAD_REQUEST,
        json!({
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": { "fake_discord": { "_errors": [ { "code": "BASE_TYPE_INVALID", "message": message } ] } }
        }),
    )
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn emoji_json(key: &str) -> Value {
    match key.rsplit_once(':') {
        Some((name, id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            json!({ "id": id, "name": name, "animated": false })
        }
        _ => json!({ "id": null, "name": key }),
    }
}

fn user_json(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": null,
        "bot": bot,
        "public_flags": 0,
    })
}

fn parse_id(s: &str) -> Option<u64> {
    s.parse().ok()
}

/// Checks command/option names and descriptions the way Discord does (subset).
fn validate_command(cmd: &Value, path: &str) -> Result<(), String> {
    let name = cmd["name"].as_str().unwrap_or_default();
    let kind = cmd["type"].as_u64().unwrap_or(1);
    if name.is_empty()
        || name.chars().count() > 32
        || !name
            .chars()
            .all(|c| c == '-' || c == '_' || c.is_alphanumeric())
        || (kind == 1 && name != name.to_lowercase())
    {
        return Err(format!("{path}: invalid name {name:?}"));
    }
    let desc = cmd["description"].as_str().unwrap_or_default();
    if kind == 1 && !(1..=100).contains(&desc.chars().count()) {
        return Err(format!(
            "{path} ({name}): description must be 1-100 characters"
        ));
    }
    validate_options(&cmd["options"], &format!("{path}.{name}"))
}

fn validate_options(options: &Value, path: &str) -> Result<(), String> {
    let Some(options) = options.as_array() else {
        return Ok(());
    };
    if options.len() > 25 {
        return Err(format!("{path}: more than 25 options"));
    }
    let mut seen_optional = false;
    let mut names = Vec::new();
    for opt in options {
        let name = opt["name"].as_str().unwrap_or_default();
        let kind = opt["type"].as_u64().unwrap_or(0);
        if name.is_empty()
            || name.chars().count() > 32
            || name != name.to_lowercase()
            || !name
                .chars()
                .all(|c| c == '-' || c == '_' || c.is_alphanumeric())
        {
            return Err(format!("{path}: invalid option name {name:?}"));
        }
        if names.contains(&name) {
            return Err(format!("{path}: duplicate option name {name:?}"));
        }
        names.push(name);
        let desc = opt["description"].as_str().unwrap_or_default();
        if !(1..=100).contains(&desc.chars().count()) {
            return Err(format!(
                "{path}.{name}: option description must be 1-100 characters"
            ));
        }
        if !(1..=11).contains(&kind) {
            return Err(format!("{path}.{name}: invalid option type {kind}"));
        }
        if opt["choices"].as_array().is_some_and(|c| c.len() > 25) {
            return Err(format!("{path}.{name}: more than 25 choices"));
        }
        if kind == 1 || kind == 2 {
            validate_options(&opt["options"], &format!("{path}.{name}"))?;
        } else {
            let required = opt["required"].as_bool().unwrap_or(false);
            if required && seen_optional {
                return Err(format!(
                    "{path}.{name}: required options must be placed before non-required options"
                ));
            }
            seen_optional |= !required;
        }
    }
    Ok(())
}

/// Extracts the `payload_json` part of a multipart body (good enough for serenity's forms).
fn multipart_payload(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let Some(pos) = text.find("name=\"payload_json\"") else {
        return Value::Null;
    };
    let rest = &text[pos..];
    let Some(start) = rest.find("\r\n\r\n") else {
        return Value::Null;
    };
    let rest = &rest[start + 4..];
    let end = rest.find("\r\n--").unwrap_or(rest.len());
    serde_json::from_str(&rest[..end]).unwrap_or(Value::Null)
}

impl FakeDiscord {
    /// Starts the fake on `127.0.0.1:0` (HTTP + WebSocket on the same port).
    pub async fn start(cfg: FakeConfig) -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake discord");
        let addr = listener.local_addr().expect("local addr");
        let (version, _) = watch::channel(0u64);
        let state = StateData {
            members: cfg.members.clone(),
            allow_resume: cfg.allow_resume,
            requests: Vec::new(),
            messages: BTreeMap::new(),
            dm_channels: HashMap::new(),
            interactions: HashMap::new(),
            guild_commands: Vec::new(),
            global_commands: Vec::new(),
            last_id: 0,
            gw: GatewayState {
                next_conn: 0,
                connections: HashMap::new(),
                sessions: HashMap::new(),
                pending: Vec::new(),
                dispatched: Vec::new(),
                identify: None,
                identify_count: 0,
                resume_count: 0,
                invalid_session_count: 0,
                queries: Vec::new(),
            },
            hold: None,
            held_now: 0,
            held_total: 0,
            release_gen: 0,
            gateway_script: VecDeque::new(),
            gateway_then: GatewayAnswer::Answer,
            refuse_socket: false,
            user_locale: "en-US".to_string(),
        };
        let fake = FakeDiscord {
            inner: Arc::new(Inner {
                cfg,
                addr,
                state: Mutex::new(state),
                version,
            }),
        };
        let app = Router::new()
            .route("/ws", get(ws_handler))
            .fallback(rest_handler)
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn config(&self) -> &FakeConfig {
        &self.inner.cfg
    }

    /// `http://127.0.0.1:PORT` — pass to `HttpBuilder::proxy` (serenity replaces
    /// `https://discord.com` with it and keeps the `/api/v10` path).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// `ws://127.0.0.1:PORT/ws`, as returned by `GET /gateway` and `GET /gateway/bot`.
    pub fn gateway_url(&self) -> String {
        format!("ws://{}/ws", self.inner.addr)
    }

    fn lock(&self) -> MutexGuard<'_, StateData> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.inner.version.send_modify(|v| *v += 1);
    }

    /// Waits (without polling) until `pred` holds; it is re-evaluated after every state change
    /// (REST call, gateway event, connection change).
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&FakeDiscord) -> bool,
    ) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.version.subscribe();
        loop {
            if pred(self) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(format!("fake discord gone while waiting for {what}")),
                Err(_) => {
                    return Err(format!(
                        "timed out after {timeout:?} waiting for {what}; requests so far:\n{}",
                        self.request_summary()
                    ))
                }
            }
        }
    }

    fn request_summary(&self) -> String {
        self.requests()
            .iter()
            .map(|r| format!("  {} {} -> {} {}", r.method, r.path, r.status, r.body))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until a client has IDENTIFYed (or RESUMEd) and a session is live.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        self.wait_until("a live gateway session", timeout, |f| f.live_sessions() > 0)
            .await
    }

    /// Number of gateway connections that completed READY/RESUMED and are still open.
    pub fn live_sessions(&self) -> usize {
        self.lock()
            .gw
            .connections
            .values()
            .filter(|c| c.ready)
            .count()
    }

    /// Intents from the latest IDENTIFY.
    pub fn identified_intents(&self) -> Option<u64> {
        self.lock()
            .gw
            .identify
            .as_ref()
            .and_then(|d| d["intents"].as_u64())
    }

    /// The `d` of the latest IDENTIFY (token included).
    pub fn identify_payload(&self) -> Option<Value> {
        self.lock().gw.identify.clone()
    }

    pub fn identify_count(&self) -> u64 {
        self.lock().gw.identify_count
    }

    pub fn resume_count(&self) -> u64 {
        self.lock().gw.resume_count
    }

    pub fn invalid_session_count(&self) -> u64 {
        self.lock().gw.invalid_session_count
    }

    /// Query strings of every gateway WebSocket connection (serenity: `v=10`).
    pub fn gateway_queries(&self) -> Vec<String> {
        self.lock().gw.queries.clone()
    }

    /// Interactions injected from now on come from a client set to `locale` (`zh-CN`, ...).
    pub fn set_user_locale(&self, locale: &str) {
        self.lock().user_locale = locale.to_string();
    }

    /// Every dispatch (`t`, `d`) actually written to a socket, READY and GUILD_CREATE included.
    pub fn dispatched_events(&self) -> Vec<(String, Value)> {
        self.lock().gw.dispatched.clone()
    }

    /// false: answer the next RESUMEs with INVALID_SESSION(false), forcing a fresh IDENTIFY.
    pub fn set_allow_resume(&self, allow: bool) {
        self.lock().allow_resume = allow;
    }

    /// Waits until the client has bulk-overwritten its commands successfully `n` times (a bot
    /// that registers on READY: once per connection).
    pub async fn wait_commands_registered(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<(), String> {
        self.wait_until("command registration", timeout, |f| {
            f.requests()
                .iter()
                .filter(|r| r.method == "PUT" && r.path.ends_with("/commands") && r.status == 200)
                .count()
                >= n
        })
        .await
    }

    /// Answers the next `GET /gateway` calls with `script`, one each, and later ones with
    /// `then`. Start a script with [`GatewayAnswer::Hold`] when testing an old client that falls
    /// back to Discord's public gateway on an error: a call that is never answered cannot make
    /// it fall back, so no test reaches beyond 127.0.0.1.
    pub fn script_gateway(&self, script: Vec<GatewayAnswer>, then: GatewayAnswer) {
        let mut st = self.lock();
        st.gateway_script = script.into();
        st.gateway_then = then;
    }

    /// true: the gateway WebSocket upgrade is answered with 503, as a Discord that cannot be
    /// reached (serenity then re-queues its shard every 5 s).
    pub fn refuse_gateway_socket(&self, refuse: bool) {
        self.lock().refuse_socket = refuse;
    }

    /// REST calls `rule` matches are handled at once (state changes, recorded) but answered only
    /// after [`Self::release_held`]: the bot waits on its call while everyone else sees its
    /// effect, which makes its races deterministic.
    pub fn hold_responses(&self, rule: impl Fn(&str, &str) -> bool + Send + Sync + 'static) {
        self.lock().hold = Some(Arc::new(rule));
    }

    /// Answers every held call and holds no more.
    pub fn release_held(&self) {
        {
            let mut st = self.lock();
            st.hold = None;
            st.release_gen += 1;
        }
        self.bump();
    }

    /// Calls being held now, and every call held so far.
    pub fn held_calls(&self) -> (u64, u64) {
        let st = self.lock();
        (st.held_now, st.held_total)
    }

    /// Creates a message by a member (not the bot) in a guild channel, e.g. a human post in the
    /// approvals channel, and returns its id. No gateway event is sent (the bot needs none).
    pub fn post_member_message(&self, channel_id: u64, user_id: u64, content: &str) -> u64 {
        let id = {
            let mut st = self.lock();
            let member = Self::find_member(&st, user_id);
            let id = self.new_message(
                &mut st,
                channel_id,
                &json!({ "content": content }),
                0,
                false,
            );
            let msg = st.messages.get_mut(&id).expect("just created");
            msg.json["author"] = user_json(user_id, &member.name, false);
            id
        };
        self.bump();
        id
    }

    /// Waits until [`Self::release_held`] was called after generation `gen`.
    async fn wait_released(&self, gen: u64) {
        let mut rx = self.inner.version.subscribe();
        while self.lock().release_gen <= gen {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Closes every gateway socket with close code 4000 (resumable) and waits until the fake
    /// has dropped them. A serenity client then reconnects and RESUMEs (or re-IDENTIFYs).
    pub async fn disconnect_all(&self) {
        let ids: Vec<u64> = {
            let st = self.lock();
            for c in st.gw.connections.values() {
                let _ = c.tx.send(Outgoing::Close(4000));
            }
            st.gw.connections.keys().copied().collect()
        };
        let _ = self
            .wait_until("gateway sockets to close", Duration::from_secs(5), |f| {
                let st = f.lock();
                ids.iter().all(|id| !st.gw.connections.contains_key(id))
            })
            .await;
    }

    fn dispatch(&self, t: &str, d: Value) {
        {
            let mut st = self.lock();
            let targets: Vec<_> = st
                .gw
                .connections
                .values()
                .filter(|c| c.ready)
                .map(|c| c.tx.clone())
                .collect();
            if targets.is_empty() {
                st.gw.pending.push((t.to_string(), d));
            } else {
                for tx in targets {
                    let _ = tx.send(Outgoing::Dispatch(t.to_string(), d.clone()));
                }
            }
        }
        self.bump();
    }

    // ----- REST log -----

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Returns the first recorded request (past or future) matching `pred`.
    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&RecordedRequest) -> bool,
        timeout: Duration,
    ) -> Result<RecordedRequest, String> {
        let mut found = None;
        self.wait_until("a matching REST request", timeout, |f| {
            found = f.lock().requests.iter().find(|r| pred(r)).cloned();
            found.is_some()
        })
        .await?;
        Ok(found.expect("found"))
    }

    // ----- state -----

    /// Non-ephemeral messages currently in the channel (posted/edited by the bot, interaction
    /// responses included), oldest first, with `reactions` rendered.
    pub fn messages_in(&self, channel_id: u64) -> Vec<Value> {
        let st = self.lock();
        st.messages
            .values()
            .filter(|m| m.channel_id == channel_id && !m.ephemeral)
            .map(render)
            .collect()
    }

    /// Any stored message by id (ephemeral ones included).
    pub fn message(&self, message_id: u64) -> Option<Value> {
        self.lock().messages.get(&message_id).map(render)
    }

    /// Reactions on a message: emoji (`✅` or `name:id`) -> user ids.
    pub fn reactions_on(&self, message_id: u64) -> Vec<(String, Vec<u64>)> {
        self.lock()
            .messages
            .get(&message_id)
            .map(|m| m.reactions.clone())
            .unwrap_or_default()
    }

    /// The interaction's `@original` message (created by callback type 4/5, or the clicked
    /// message for components acked with 6/7).
    pub fn original_response(&self, it: &InteractionRef) -> Option<Value> {
        let st = self.lock();
        let id = st.interactions.get(&it.token)?.original?;
        st.messages.get(&id).map(render)
    }

    /// Original response followed by follow-ups.
    pub fn interaction_messages(&self, it: &InteractionRef) -> Vec<Value> {
        let st = self.lock();
        let Some(i) = st.interactions.get(&it.token) else {
            return Vec::new();
        };
        i.original
            .iter()
            .chain(i.followups.iter())
            .filter_map(|id| st.messages.get(id).map(render))
            .collect()
    }

    /// Callback type the interaction was acknowledged with, if any.
    pub fn ack_type(&self, it: &InteractionRef) -> Option<u64> {
        self.lock().interactions.get(&it.token)?.ack
    }

    /// Guild commands as last bulk-overwritten (as echoed back, with ids).
    pub fn registered_commands(&self) -> Vec<Value> {
        self.lock().guild_commands.clone()
    }

    pub fn dm_channel_of(&self, user_id: u64) -> Option<u64> {
        self.lock().dm_channels.get(&user_id).copied()
    }

    /// Changes a member's roles for future events. A GUILD_MEMBER_UPDATE is dispatched only if
    /// the client identified with GUILD_MEMBERS (1 << 1), as on Discord.
    pub fn set_member_roles(&self, user_id: u64, roles: Vec<u64>) {
        let (update, wants) = {
            let mut st = self.lock();
            let m = st
                .members
                .iter_mut()
                .find(|m| m.user_id == user_id)
                .unwrap_or_else(|| panic!("fake discord: unknown member {user_id}"));
            m.roles = roles;
            let m = m.clone();
            let wants = st
                .gw
                .identify
                .as_ref()
                .and_then(|d| d["intents"].as_u64())
                .is_some_and(|i| i & (1 << 1) != 0);
            let mut update = self.member_json(&m);
            update["guild_id"] = json!(self.inner.cfg.guild_id.to_string());
            (update, wants)
        };
        if wants {
            self.dispatch("GUILD_MEMBER_UPDATE", update);
        } else {
            self.bump();
        }
    }

    pub fn member_roles(&self, user_id: u64) -> Option<Vec<u64>> {
        self.lock()
            .members
            .iter()
            .find(|m| m.user_id == user_id)
            .map(|m| m.roles.clone())
    }

    // ----- JSON builders -----

    fn bot_user_json(&self) -> Value {
        user_json(self.inner.cfg.bot_user_id, &self.inner.cfg.bot_name, true)
    }

    fn member_json(&self, m: &FakeMember) -> Value {
        json!({
            "user": user_json(m.user_id, &m.name, m.user_id == self.inner.cfg.bot_user_id),
            "nick": null,
            "avatar": null,
            "banner": null,
            "roles": m.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "joined_at": "2024-01-01T00:00:00.000Z",
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "communication_disabled_until": null,
        })
    }

    fn member_permissions(&self, m: &FakeMember) -> u64 {
        self.inner
            .cfg
            .roles
            .iter()
            .filter(|r| m.roles.contains(&r.id))
            .fold(EVERYONE_PERMISSIONS, |acc, r| acc | r.permissions)
    }

    fn find_member(st: &StateData, user_id: u64) -> FakeMember {
        st.members
            .iter()
            .find(|m| m.user_id == user_id)
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "fake discord: user {user_id} is not a member (add it to FakeConfig::members)"
                )
            })
    }

    fn interaction_member_json(&self, m: &FakeMember) -> Value {
        let mut v = self.member_json(m);
        v["permissions"] = json!(self.member_permissions(m).to_string());
        v
    }

    fn channel_json(&self, c: &FakeChannel, position: usize) -> Value {
        let overwrites = if c.everyone_deny == 0 {
            json!([])
        } else {
            // Type 0: a role overwrite; the @everyone role's id is the guild's.
            json!([{
                "id": self.inner.cfg.guild_id.to_string(),
                "type": 0,
                "allow": "0",
                "deny": c.everyone_deny.to_string(),
            }])
        };
        json!({
            "id": c.id.to_string(),
            "type": c.kind,
            "guild_id": self.inner.cfg.guild_id.to_string(),
            "name": c.name,
            "position": position,
            "permission_overwrites": overwrites,
            "topic": null,
            "nsfw": false,
            "last_message_id": null,
            "rate_limit_per_user": 0,
            "parent_id": null,
            "flags": 0,
        })
    }

    fn guild_channel(&self, id: u64) -> Option<(usize, &FakeChannel)> {
        self.inner
            .cfg
            .channels
            .iter()
            .enumerate()
            .find(|(_, c)| c.id == id)
    }

    fn partial_channel_json(&self, channel_id: u64) -> Value {
        match self.guild_channel(channel_id) {
            Some((_, c)) => json!({
                "id": c.id.to_string(), "type": c.kind, "name": c.name,
                "guild_id": self.inner.cfg.guild_id.to_string(),
                "permissions": EVERYONE_PERMISSIONS.to_string(),
            }),
            None => json!({ "id": channel_id.to_string(), "type": 1 }),
        }
    }

    fn role_json(&self, id: u64, name: &str, permissions: u64, position: usize) -> Value {
        json!({
            "id": id.to_string(),
            "name": name,
            "color": 0,
            "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
            "hoist": false,
            "icon": null,
            "unicode_emoji": null,
            "position": position,
            "permissions": permissions.to_string(),
            "managed": false,
            "mentionable": false,
            "flags": 0,
        })
    }

    /// The guild's members, the bot's own member included.
    fn guild_members(&self, st: &StateData) -> Vec<FakeMember> {
        let cfg = &self.inner.cfg;
        let mut members = st.members.clone();
        if !members.iter().any(|m| m.user_id == cfg.bot_user_id) {
            members.push(FakeMember {
                user_id: cfg.bot_user_id,
                name: cfg.bot_name.clone(),
                roles: vec![],
            });
        }
        members
    }

    /// The guild's roles, `@everyone` (id = guild id) first.
    fn roles_json(&self) -> Vec<Value> {
        let cfg = &self.inner.cfg;
        let mut roles = vec![self.role_json(cfg.guild_id, "@everyone", EVERYONE_PERMISSIONS, 0)];
        roles.extend(
            cfg.roles
                .iter()
                .enumerate()
                .map(|(i, r)| self.role_json(r.id, &r.name, r.permissions, i + 1)),
        );
        roles
    }

    fn channels_json(&self) -> Vec<Value> {
        self.inner
            .cfg
            .channels
            .iter()
            .enumerate()
            .map(|(i, c)| self.channel_json(c, i))
            .collect()
    }

    /// The guild object as `GET /guilds/{id}` returns it (no gateway-only fields).
    fn guild_json(&self, st: &StateData) -> Value {
        let cfg = &self.inner.cfg;
        json!({
            "id": cfg.guild_id.to_string(),
            "name": cfg.guild_name,
            "icon": null,
            "icon_hash": null,
            "splash": null,
            "discovery_splash": null,
            "owner_id": st.members.first().map_or(cfg.bot_user_id, |m| m.user_id).to_string(),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "widget_enabled": false,
            "widget_channel_id": null,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": self.roles_json(),
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "rules_channel_id": null,
            "max_presences": null,
            "max_members": 500000,
            "vanity_url_code": null,
            "description": null,
            "banner": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.inner.cfg.guild_locale,
            "public_updates_channel_id": null,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": false,
            "safety_alerts_channel_id": null,
            "incidents_data": null,
        })
    }

    fn guild_create_json(&self, st: &StateData) -> Value {
        let members: Vec<Value> = self
            .guild_members(st)
            .iter()
            .map(|m| self.member_json(m))
            .collect();
        let mut guild = self.guild_json(st);
        let gateway_only = json!({
            "joined_at": "2024-01-01T00:00:00.000Z",
            "large": false,
            "unavailable": false,
            "member_count": members.len(),
            "voice_states": [],
            "members": members,
            "channels": self.channels_json(),
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        });
        let (Some(guild_fields), Value::Object(extra)) = (guild.as_object_mut(), gateway_only)
        else {
            unreachable!("json objects")
        };
        guild_fields.extend(extra);
        guild
    }

    fn ready_json(&self, session_id: &str, shard: &Value) -> Value {
        let cfg = &self.inner.cfg;
        let mut v = json!({
            "v": 10,
            "user": self.bot_user_json(),
            "guilds": [ { "id": cfg.guild_id.to_string(), "unavailable": true } ],
            "session_id": session_id,
            "resume_gateway_url": self.gateway_url(),
            "application": { "id": cfg.application_id.to_string(), "flags": 0 },
            "private_channels": [],
            "relationships": [],
        });
        if shard.is_array() {
            v["shard"] = shard.clone();
        }
        v
    }

    fn application_json(&self) -> Value {
        let cfg = &self.inner.cfg;
        json!({
            "id": cfg.application_id.to_string(),
            "name": cfg.bot_name,
            "icon": null,
            "description": "fake application",
            "bot_public": false,
            "bot_require_code_grant": false,
            "verify_key": "0".repeat(64),
            "team": null,
            "owner": user_json(ALICE_ID, "alice", false),
            "flags": 0,
            "bot": self.bot_user_json(),
        })
    }

    fn dm_channel_json(&self, st: &StateData, channel_id: u64, user_id: u64) -> Value {
        let name = st
            .members
            .iter()
            .find(|m| m.user_id == user_id)
            .map_or_else(|| format!("user{user_id}"), |m| m.name.clone());
        json!({
            "id": channel_id.to_string(),
            "type": 1,
            "last_message_id": null,
            "recipients": [ user_json(user_id, &name, false) ],
            "flags": 0,
        })
    }

    fn next_id(st: &mut StateData) -> u64 {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
            .saturating_sub(DISCORD_EPOCH_MS);
        let id = (ms << 22).max(st.last_id + 1);
        st.last_id = id;
        id
    }

    fn new_message(
        &self,
        st: &mut StateData,
        channel_id: u64,
        data: &Value,
        kind: u64,
        via_interaction: bool,
    ) -> u64 {
        let id = Self::next_id(st);
        let flags = data["flags"].as_u64().unwrap_or(0);
        let mut json = json!({
            "id": id.to_string(),
            "channel_id": channel_id.to_string(),
            "author": self.bot_user_json(),
            "content": data["content"].as_str().unwrap_or_default(),
            "timestamp": now_rfc3339(),
            "edited_timestamp": null,
            "tts": data["tts"].as_bool().unwrap_or(false),
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": data.get("embeds").filter(|v| v.is_array()).cloned().unwrap_or(json!([])),
            "pinned": false,
            "type": kind,
            "flags": flags,
            "components": data.get("components").filter(|v| v.is_array()).cloned().unwrap_or(json!([])),
        });
        if via_interaction {
            json["application_id"] = json!(self.inner.cfg.application_id.to_string());
            json["webhook_id"] = json!(self.inner.cfg.application_id.to_string());
        }
        st.messages.insert(
            id,
            StoredMessage {
                channel_id,
                json,
                reactions: Vec::new(),
                ephemeral: flags & EPHEMERAL != 0,
            },
        );
        id
    }

    fn known_channel(&self, st: &StateData, channel_id: u64) -> bool {
        self.guild_channel(channel_id).is_some()
            || st.dm_channels.values().any(|c| *c == channel_id)
    }

    // ----- REST routing -----

    fn route(&self, st: &mut StateData, method: &Method, segs: &[&str], body: &Value) -> Reply {
        let cfg = &self.inner.cfg;
        let app = cfg.application_id.to_string();
        let guild = cfg.guild_id.to_string();
        match (method.as_str(), segs) {
            ("GET", ["gateway"]) => reply(json!({ "url": self.gateway_url() })),
            ("GET", ["gateway", "bot"]) => reply(json!({
                "url": self.gateway_url(),
                "shards": 1,
                "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 },
            })),
            ("GET", ["users", "@me"]) => reply(self.bot_user_json()),
            ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => {
                reply(self.application_json())
            }
            ("PUT", ["applications", a, "guilds", g, "commands"]) if *a == app && *g == guild => {
                self.bulk_overwrite(st, body, true)
            }
            ("GET", ["applications", a, "guilds", g, "commands"]) if *a == app && *g == guild => {
                reply(Value::Array(st.guild_commands.clone()))
            }
            ("PUT", ["applications", a, "commands"]) if *a == app => {
                self.bulk_overwrite(st, body, false)
            }
            ("GET", ["applications", a, "commands"]) if *a == app => {
                reply(Value::Array(st.global_commands.clone()))
            }
            ("POST", ["interactions", id, token, "callback"]) => {
                self.interaction_callback(st, id, token, body)
            }
            (m, ["webhooks", a, token, "messages", target]) => {
                if *a != app {
                    return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
                }
                self.webhook_message(st, m, token, target, body)
            }
            ("POST", ["webhooks", a, token]) => {
                if *a != app {
                    return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
                }
                self.followup(st, token, body)
            }
            ("POST", ["channels", c, "messages"]) => {
                let Some(c) = parse_id(c).filter(|c| self.known_channel(st, *c)) else {
                    return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
                };
                if let Err(e) = check_message_body(body, true) {
                    return e;
                }
                let id = self.new_message(st, c, body, 0, false);
                reply(render(&st.messages[&id]))
            }
            (m @ ("GET" | "PATCH" | "DELETE"), ["channels", c, "messages", mid]) => {
                let (Some(c), Some(mid)) = (parse_id(c), parse_id(mid)) else {
                    return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
                };
                if st.messages.get(&mid).is_none_or(|msg| msg.channel_id != c) {
                    return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
                }
                match m {
                    "GET" => reply(render(&st.messages[&mid])),
                    "DELETE" => {
                        st.messages.remove(&mid);
                        no_content()
                    }
                    _ => {
                        if let Err(e) = check_message_body(body, false) {
                            return e;
                        }
                        let msg = st.messages.get_mut(&mid).expect("checked");
                        apply_edit(msg, body);
                        reply(render(msg))
                    }
                }
            }
            ("PUT", ["channels", c, "messages", mid, "reactions", emoji, "@me"]) => {
                let bot = cfg.bot_user_id;
                self.with_message(st, c, mid, |msg| {
                    add_reaction(msg, emoji, bot);
                    no_content()
                })
            }
            ("DELETE", ["channels", c, "messages", mid, "reactions", emoji, user]) => {
                let user = if *user == "@me" {
                    Some(cfg.bot_user_id)
                } else {
                    parse_id(user)
                };
                let Some(user) = user else {
                    return error(StatusCode::NOT_FOUND, 10013, "Unknown User");
                };
                self.with_message(st, c, mid, |msg| {
                    for (key, users) in &mut msg.reactions {
                        if key == emoji {
                            users.retain(|u| *u != user);
                        }
                    }
                    msg.reactions.retain(|(_, users)| !users.is_empty());
                    no_content()
                })
            }
            ("POST", ["users", "@me", "channels"]) => {
                let recipient = body["recipient_id"]
                    .as_str()
                    .and_then(parse_id)
                    .or_else(|| body["recipient_id"].as_u64());
                let Some(user) = recipient else {
                    return form_error("recipient_id is required");
                };
                let channel = match st.dm_channels.get(&user) {
                    Some(c) => *c,
                    None => {
                        let c = Self::next_id(st);
                        st.dm_channels.insert(user, c);
                        c
                    }
                };
                reply(self.dm_channel_json(st, channel, user))
            }
            ("GET", ["guilds", g]) if *g == guild => reply(self.guild_json(st)),
            ("GET", ["guilds", g, "channels"]) if *g == guild => reply(json!(self.channels_json())),
            ("GET", ["guilds", g, "members", user]) if *g == guild => {
                let member = parse_id(user)
                    .and_then(|id| self.guild_members(st).into_iter().find(|m| m.user_id == id));
                match member {
                    Some(m) => reply(self.member_json(&m)),
                    None => error(StatusCode::NOT_FOUND, 10007, "Unknown Member"),
                }
            }
            // Discord answers a guild the bot is not in like one that does not exist.
            ("GET", ["guilds", g, ..]) if *g != guild => {
                error(StatusCode::NOT_FOUND, 10004, "Unknown Guild")
            }
            ("GET", ["channels", c]) => {
                let Some(c) = parse_id(c) else {
                    return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
                };
                if let Some((pos, ch)) = self.guild_channel(c) {
                    return reply(self.channel_json(ch, pos));
                }
                match st.dm_channels.iter().find(|(_, ch)| **ch == c) {
                    Some((user, _)) => reply(self.dm_channel_json(st, c, *user)),
                    None => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
                }
            }
            _ => error(StatusCode::NOT_FOUND, 0, "Unknown route"),
        }
    }

    /// True when [`FakeConfig::token`] is set and the call does not carry it.
    fn refuses_token(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.inner.cfg.token else {
            return false;
        };
        let sent = headers.get("authorization").and_then(|v| v.to_str().ok());
        sent != Some(format!("Bot {token}").as_str())
    }

    fn with_message(
        &self,
        st: &mut StateData,
        channel: &str,
        message: &str,
        f: impl FnOnce(&mut StoredMessage) -> Reply,
    ) -> Reply {
        let (Some(c), Some(m)) = (parse_id(channel), parse_id(message)) else {
            return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
        };
        match st.messages.get_mut(&m) {
            Some(msg) if msg.channel_id == c => f(msg),
            _ => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
        }
    }

    fn bulk_overwrite(&self, st: &mut StateData, body: &Value, guild: bool) -> Reply {
        let Some(cmds) = body.as_array() else {
            return form_error("expected an array of commands");
        };
        if cmds.len() > 100 {
            return form_error("more than 100 commands");
        }
        for (i, c) in cmds.iter().enumerate() {
            if let Err(e) = validate_command(c, &i.to_string()) {
                return form_error(&e);
            }
        }
        let old = if guild {
            st.guild_commands.clone()
        } else {
            st.global_commands.clone()
        };
        let mut out = Vec::new();
        for c in cmds {
            let name = c["name"].as_str().unwrap_or_default();
            let kind = c["type"].as_u64().unwrap_or(1);
            let id = old
                .iter()
                .find(|o| o["name"] == name && o["type"].as_u64() == Some(kind))
                .and_then(|o| o["id"].as_str().map(str::to_string))
                .unwrap_or_else(|| Self::next_id(st).to_string());
            let mut v = c.clone();
            let obj = v.as_object_mut().expect("command object");
            obj.insert("id".into(), json!(id));
            obj.insert(
                "application_id".into(),
                json!(self.inner.cfg.application_id.to_string()),
            );
            if guild {
                obj.insert(
                    "guild_id".into(),
                    json!(self.inner.cfg.guild_id.to_string()),
                );
            }
            obj.insert("version".into(), json!(Self::next_id(st).to_string()));
            obj.insert("type".into(), json!(kind));
            obj.entry("description").or_insert(json!(""));
            obj.entry("options").or_insert(json!([]));
            obj.entry("default_member_permissions")
                .or_insert(Value::Null);
            obj.entry("nsfw").or_insert(json!(false));
            out.push(v);
        }
        if guild {
            st.guild_commands = out.clone();
        } else {
            st.global_commands = out.clone();
        }
        reply(Value::Array(out))
    }

    fn interaction_callback(
        &self,
        st: &mut StateData,
        id: &str,
        token: &str,
        body: &Value,
    ) -> Reply {
        let unknown = || error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
        let Some(it) = st.interactions.get(token).cloned() else {
            return unknown();
        };
        if parse_id(id) != Some(it.id) {
            return unknown();
        }
        if it.ack.is_some() {
            return error(
                StatusCode::BAD_REQUEST,
                40060,
                "Interaction has already been acknowledged.",
            );
        }
        if let Some(deadline) = self.inner.cfg.ack_deadline {
            if it.created.elapsed() > deadline {
                return unknown();
            }
        }
        let Some(kind) = body["type"].as_u64() else {
            return form_error("type is required");
        };
        let allowed: &[u64] = match it.kind {
            2 => &[4, 5, 9],
            3 => &[4, 5, 6, 7, 9],
            _ => &[8],
        };
        if !allowed.contains(&kind) {
            return form_error(&format!(
                "interaction response type {kind} is not valid for interaction type {}",
                it.kind
            ));
        }
        let data = body.get("data").cloned().unwrap_or(Value::Null);
        let original = match kind {
            4 => {
                if let Err(e) = check_message_body(&data, true) {
                    return e;
                }
                let msg_kind = if it.kind == 2 { 20 } else { 19 };
                Some(self.new_message(st, it.channel_id, &data, msg_kind, true))
            }
            5 => {
                let flags = data["flags"].as_u64().unwrap_or(0);
                if flags & !EPHEMERAL != 0 {
                    return form_error("only the EPHEMERAL flag may be set on a deferred response");
                }
                let loading = json!({ "content": "", "flags": flags | LOADING });
                let msg_kind = if it.kind == 2 { 20 } else { 19 };
                Some(self.new_message(st, it.channel_id, &loading, msg_kind, true))
            }
            6 => it.source_message,
            7 => {
                if let Some(src) = it.source_message.and_then(|m| st.messages.get_mut(&m)) {
                    apply_edit(src, &data);
                }
                it.source_message
            }
            _ => None,
        };
        let state = st.interactions.get_mut(token).expect("interaction");
        state.ack = Some(kind);
        state.original = original;
        no_content()
    }

    fn webhook_message(
        &self,
        st: &mut StateData,
        method: &str,
        token: &str,
        target: &str,
        body: &Value,
    ) -> Reply {
        let unknown_msg = || error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
        let Some(it) = st.interactions.get(token).cloned() else {
            return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
        };
        let mid = if target == "@original" {
            it.original
        } else {
            parse_id(target).filter(|m| it.original == Some(*m) || it.followups.contains(m))
        };
        let Some(mid) = mid.filter(|m| st.messages.contains_key(m)) else {
            return unknown_msg();
        };
        match method {
            "GET" => reply(render(&st.messages[&mid])),
            "DELETE" => {
                st.messages.remove(&mid);
                no_content()
            }
            "PATCH" => {
                if let Err(e) = check_message_body(body, false) {
                    return e;
                }
                let msg = st.messages.get_mut(&mid).expect("checked");
                apply_edit(msg, body);
                reply(render(msg))
            }
            _ => error(StatusCode::METHOD_NOT_ALLOWED, 0, "405: Method Not Allowed"),
        }
    }

    fn followup(&self, st: &mut StateData, token: &str, body: &Value) -> Reply {
        let Some(it) = st.interactions.get(token).cloned() else {
            return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
        };
        if it.ack.is_none() {
            return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
        }
        if let Err(e) = check_message_body(body, true) {
            return e;
        }
        // Discord: the first follow-up after a deferred (type 5) response replaces the
        // "thinking..." message instead of creating a new one.
        if it.ack == Some(5) {
            if let Some(orig) = it.original.and_then(|m| st.messages.get_mut(&m)) {
                if orig.json["flags"].as_u64().unwrap_or(0) & LOADING != 0 {
                    apply_edit(orig, body);
                    return reply(render(orig));
                }
            }
        }
        let id = self.new_message(st, it.channel_id, body, 0, true);
        st.interactions
            .get_mut(token)
            .expect("interaction")
            .followups
            .push(id);
        reply(render(&st.messages[&id]))
    }

    // ----- injected events -----

    fn new_interaction(
        &self,
        kind: u8,
        channel_id: u64,
        source_message: Option<u64>,
    ) -> InteractionRef {
        let mut st = self.lock();
        let id = Self::next_id(&mut st);
        let token = format!("fake-interaction-token-{id}");
        st.interactions.insert(
            token.clone(),
            InteractionState {
                id,
                kind,
                channel_id,
                source_message,
                created: Instant::now(),
                ack: None,
                original: None,
                followups: Vec::new(),
            },
        );
        InteractionRef { id, token }
    }

    fn interaction_envelope(
        &self,
        it: &InteractionRef,
        kind: u8,
        user_id: u64,
        channel_id: u64,
        data: Value,
    ) -> Value {
        let cfg = &self.inner.cfg;
        let (member, locale) = {
            let st = self.lock();
            (Self::find_member(&st, user_id), st.user_locale.clone())
        };
        json!({
            "id": it.id.to_string(),
            "application_id": cfg.application_id.to_string(),
            "type": kind,
            "data": data,
            "guild_id": cfg.guild_id.to_string(),
            "channel_id": channel_id.to_string(),
            "channel": self.partial_channel_json(channel_id),
            "member": self.interaction_member_json(&member),
            "token": it.token,
            "version": 1,
            "app_permissions": EVERYONE_PERMISSIONS.to_string(),
            "locale": locale,
            "guild_locale": cfg.guild_locale,
            "entitlements": [],
            "context": 0,
            "attachment_size_limit": 10_485_760,
        })
    }

    /// (command id, option-name -> option type) from the registered schema, if any.
    fn command_schema(
        &self,
        name: &str,
        subcommand: &str,
    ) -> (Option<String>, HashMap<String, u64>) {
        let st = self.lock();
        let Some(cmd) = st
            .guild_commands
            .iter()
            .chain(st.global_commands.iter())
            .find(|c| c["name"] == name && c["type"].as_u64().unwrap_or(1) == 1)
        else {
            return (None, HashMap::new());
        };
        let id = cmd["id"].as_str().map(str::to_string);
        let opts = if subcommand.is_empty() {
            cmd["options"].clone()
        } else {
            cmd["options"]
                .as_array()
                .and_then(|o| o.iter().find(|o| o["name"] == subcommand))
                .map(|o| o["options"].clone())
                .unwrap_or(Value::Null)
        };
        let types = opts
            .as_array()
            .map(|o| {
                o.iter()
                    .filter_map(|o| Some((o["name"].as_str()?.to_string(), o["type"].as_u64()?)))
                    .collect()
            })
            .unwrap_or_default();
        (id, types)
    }

    fn command_data(
        &self,
        name: &str,
        subcommand: &str,
        options: Vec<Value>,
        cmd_id: Option<String>,
    ) -> Value {
        let cmd_id = cmd_id.unwrap_or_else(|| {
            let mut st = self.lock();
            Self::next_id(&mut st).to_string()
        });
        let options = if subcommand.is_empty() {
            options
        } else {
            vec![json!({ "name": subcommand, "type": 1, "options": options })]
        };
        json!({
            "id": cmd_id,
            "name": name,
            "type": 1,
            "options": options,
            "guild_id": self.inner.cfg.guild_id.to_string(),
        })
    }

    /// Injects a slash command (`INTERACTION_CREATE` type 2) from `user_id` in
    /// `FakeConfig::default_channel_id`. Option types come from the registered command schema
    /// (falling back to the JSON value's type); snowflake-typed values may be numbers.
    pub async fn send_interaction_command(
        &self,
        user_id: u64,
        name: &str,
        subcommand: &str,
        options: Vec<(&str, Value)>,
    ) -> InteractionRef {
        let channel = self.inner.cfg.default_channel_id;
        self.send_interaction_command_in(channel, user_id, name, subcommand, options)
            .await
    }

    /// Like [`Self::send_interaction_command`] in a given channel.
    pub async fn send_interaction_command_in(
        &self,
        channel_id: u64,
        user_id: u64,
        name: &str,
        subcommand: &str,
        options: Vec<(&str, Value)>,
    ) -> InteractionRef {
        let (cmd_id, types) = self.command_schema(name, subcommand);
        let options = options
            .into_iter()
            .map(|(n, v)| {
                let kind = types.get(n).copied().unwrap_or(match &v {
                    Value::Bool(_) => 5,
                    Value::Number(x) if x.is_f64() => 10,
                    Value::Number(_) => 4,
                    _ => 3,
                });
                let v = match (kind, &v) {
                    (6..=9 | 11, Value::Number(x)) => json!(x.to_string()),
                    _ => v,
                };
                json!({ "name": n, "type": kind, "value": v })
            })
            .collect();
        let data = self.command_data(name, subcommand, options, cmd_id);
        let it = self.new_interaction(2, channel_id, None);
        let payload = self.interaction_envelope(&it, 2, user_id, channel_id, data);
        self.dispatch("INTERACTION_CREATE", payload);
        it
    }

    /// Injects an autocomplete request (`INTERACTION_CREATE` type 4) with `focused` holding the
    /// partial string `partial`.
    pub async fn send_autocomplete(
        &self,
        user_id: u64,
        name: &str,
        subcommand: &str,
        focused: &str,
        partial: &str,
    ) -> InteractionRef {
        let channel = self.inner.cfg.default_channel_id;
        let (cmd_id, types) = self.command_schema(name, subcommand);
        let kind = types.get(focused).copied().unwrap_or(3);
        let options =
            vec![json!({ "name": focused, "type": kind, "value": partial, "focused": true })];
        let data = self.command_data(name, subcommand, options, cmd_id);
        let it = self.new_interaction(4, channel, None);
        let payload = self.interaction_envelope(&it, 4, user_id, channel, data);
        self.dispatch("INTERACTION_CREATE", payload);
        it
    }

    /// Injects a button click (`INTERACTION_CREATE` type 3) on a message the bot posted.
    /// Panics if the message is unknown to the fake.
    pub async fn send_component_click(
        &self,
        user_id: u64,
        message_id: u64,
        custom_id: &str,
    ) -> InteractionRef {
        let (channel, message) = {
            let st = self.lock();
            let msg = st
                .messages
                .get(&message_id)
                .unwrap_or_else(|| panic!("fake discord: unknown message {message_id}"));
            (msg.channel_id, render(msg))
        };
        let it = self.new_interaction(3, channel, Some(message_id));
        let data = json!({ "custom_id": custom_id, "component_type": 2 });
        let mut payload = self.interaction_envelope(&it, 3, user_id, channel, data);
        payload["message"] = message;
        self.dispatch("INTERACTION_CREATE", payload);
        it
    }

    /// Injects `MESSAGE_REACTION_ADD` (with `member` when the channel is a guild channel) and
    /// records the reaction on the stored message. `emoji` is a unicode emoji or `name:id`.
    pub async fn send_reaction_add(
        &self,
        user_id: u64,
        channel_id: u64,
        message_id: u64,
        emoji: &str,
    ) {
        let in_guild = self.guild_channel(channel_id).is_some();
        let (member, author) = {
            let mut st = self.lock();
            let member = in_guild.then(|| Self::find_member(&st, user_id));
            let author = st.messages.get_mut(&message_id).map(|m| {
                add_reaction(m, emoji, user_id);
                m.json["author"]["id"].clone()
            });
            (member, author)
        };
        let mut d = json!({
            "user_id": user_id.to_string(),
            "channel_id": channel_id.to_string(),
            "message_id": message_id.to_string(),
            "emoji": emoji_json(emoji),
            "burst": false,
            "burst_colors": [],
            "type": 0,
        });
        if let Some(m) = member {
            d["guild_id"] = json!(self.inner.cfg.guild_id.to_string());
            d["member"] = self.member_json(&m);
        }
        if let Some(a) = author {
            d["message_author_id"] = a;
        }
        self.dispatch("MESSAGE_REACTION_ADD", d);
    }

    // ----- gateway connection -----

    async fn run_connection(self, mut socket: WebSocket) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let conn_id = {
            let mut st = self.lock();
            st.gw.next_conn += 1;
            let id = st.gw.next_conn;
            st.gw.connections.insert(id, Conn { tx, ready: false });
            id
        };
        self.bump();
        let mut session: Option<String> = None;
        let hello = json!({ "op": 10, "s": null, "t": null,
            "d": { "heartbeat_interval": self.inner.cfg.heartbeat_interval_ms } });
        if send_json(&mut socket, &hello).await.is_ok() {
            loop {
                tokio::select! {
                    incoming = socket.recv() => {
                        let text = match incoming {
                            Some(Ok(WsMessage::Text(t))) => t.to_string(),
                            Some(Ok(WsMessage::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                            Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                            Some(Ok(_)) => continue,
                        };
                        let Ok(v) = serde_json::from_str::<Value>(&text) else {
                            close(&mut socket, 4002, "Error while decoding payload.").await;
                            break;
                        };
                        if !self.handle_op(conn_id, &mut socket, &mut session, &v).await {
                            break;
                        }
                    }
                    out = rx.recv() => match out {
                        Some(Outgoing::Dispatch(t, d)) => {
                            if self.send_dispatch(&mut socket, session.as_deref(), &t, d).await.is_err() {
                                break;
                            }
                        }
                        Some(Outgoing::Close(code)) => {
                            close(&mut socket, code, "fake discord: disconnect").await;
                            break;
                        }
                        None => break,
                    }
                }
            }
        }
        self.lock().gw.connections.remove(&conn_id);
        self.bump();
    }

    /// Returns false when the connection must end.
    async fn handle_op(
        &self,
        conn_id: u64,
        socket: &mut WebSocket,
        session: &mut Option<String>,
        v: &Value,
    ) -> bool {
        match v["op"].as_u64() {
            Some(1) => send_json(
                socket,
                &json!({ "op": 11, "s": null, "t": null, "d": null }),
            )
            .await
            .is_ok(),
            Some(2) => {
                if session.is_some() {
                    close(socket, 4005, "Already authenticated.").await;
                    return false;
                }
                let d = v["d"].clone();
                let sid = {
                    let mut st = self.lock();
                    let sid = format!("fake-session-{}", Self::next_id(&mut st));
                    st.gw.sessions.insert(sid.clone(), 0);
                    st.gw.identify = Some(d.clone());
                    sid
                };
                *session = Some(sid.clone());
                let ready = self.ready_json(&sid, &d["shard"]);
                let guild = {
                    let st = self.lock();
                    self.guild_create_json(&st)
                };
                if self
                    .send_dispatch(socket, Some(&sid), "READY", ready)
                    .await
                    .is_err()
                    || self
                        .send_dispatch(socket, Some(&sid), "GUILD_CREATE", guild)
                        .await
                        .is_err()
                {
                    return false;
                }
                self.mark_ready(conn_id, |gw| gw.identify_count += 1);
                true
            }
            Some(6) => {
                let sid = v["d"]["session_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let ok = {
                    let st = self.lock();
                    st.allow_resume && st.gw.sessions.contains_key(&sid)
                };
                if !ok {
                    self.lock().gw.invalid_session_count += 1;
                    self.bump();
                    return send_json(
                        socket,
                        &json!({ "op": 9, "s": null, "t": null, "d": false }),
                    )
                    .await
                    .is_ok();
                }
                *session = Some(sid.clone());
                if self
                    .send_dispatch(socket, Some(&sid), "RESUMED", json!({}))
                    .await
                    .is_err()
                {
                    return false;
                }
                self.mark_ready(conn_id, |gw| gw.resume_count += 1);
                true
            }
            // presence update, voice state, request guild members, ...: accepted and ignored
            Some(3 | 4 | 8 | 31) => true,
            _ => {
                close(socket, 4001, "Unknown opcode.").await;
                false
            }
        }
    }

    fn mark_ready(&self, conn_id: u64, count: impl FnOnce(&mut GatewayState)) {
        {
            let mut st = self.lock();
            let pending = std::mem::take(&mut st.gw.pending);
            count(&mut st.gw);
            if let Some(c) = st.gw.connections.get_mut(&conn_id) {
                c.ready = true;
                for (t, d) in pending {
                    let _ = c.tx.send(Outgoing::Dispatch(t, d));
                }
            }
        }
        self.bump();
    }

    async fn send_dispatch(
        &self,
        socket: &mut WebSocket,
        session: Option<&str>,
        t: &str,
        d: Value,
    ) -> Result<(), axum::Error> {
        let seq = {
            let mut st = self.lock();
            let seq = match session.and_then(|s| st.gw.sessions.get_mut(s)) {
                Some(seq) => {
                    *seq += 1;
                    *seq
                }
                None => 1,
            };
            st.gw.dispatched.push((t.to_string(), d.clone()));
            seq
        };
        let res = send_json(socket, &json!({ "op": 0, "s": seq, "t": t, "d": d })).await;
        self.bump();
        res
    }
}

fn render(m: &StoredMessage) -> Value {
    let mut v = m.json.clone();
    v["reactions"] = Value::Array(
        m.reactions
            .iter()
            .map(|(key, users)| {
                json!({
                    "count": users.len(),
                    "count_details": { "burst": 0, "normal": users.len() },
                    "me": users.contains(&m.json["author"]["id"].as_str().and_then(parse_id).unwrap_or(0)),
                    "me_burst": false,
                    "emoji": emoji_json(key),
                    "burst_colors": [],
                })
            })
            .collect(),
    );
    v
}

fn add_reaction(msg: &mut StoredMessage, emoji: &str, user: u64) {
    match msg.reactions.iter_mut().find(|(k, _)| k == emoji) {
        Some((_, users)) => {
            if !users.contains(&user) {
                users.push(user);
            }
        }
        None => msg.reactions.push((emoji.to_string(), vec![user])),
    }
}

fn apply_edit(msg: &mut StoredMessage, data: &Value) {
    let Some(obj) = msg.json.as_object_mut() else {
        return;
    };
    for key in ["content", "embeds", "components", "attachments"] {
        if let Some(v) = data.get(key) {
            let v = if v.is_null() {
                if key == "content" {
                    json!("")
                } else {
                    json!([])
                }
            } else {
                v.clone()
            };
            obj.insert(key.to_string(), v);
        }
    }
    let old_flags = obj.get("flags").and_then(Value::as_u64).unwrap_or(0);
    // Ephemerality can't change after creation; editing clears the "loading" state.
    let mut flags = (old_flags & !LOADING) | (old_flags & EPHEMERAL);
    if let Some(new) = data["flags"].as_u64() {
        flags = (new & !EPHEMERAL & !LOADING) | (old_flags & EPHEMERAL);
    }
    obj.insert("flags".into(), json!(flags));
    obj.insert("edited_timestamp".into(), json!(now_rfc3339()));
}

fn check_message_body(body: &Value, create: bool) -> Result<(), Reply> {
    let content = body["content"].as_str().unwrap_or_default();
    if content.chars().count() > 2000 {
        return Err(form_error("content: Must be 2000 or fewer in length."));
    }
    if body["embeds"].as_array().is_some_and(|e| e.len() > 10) {
        return Err(form_error("embeds: Must be 10 or fewer in length."));
    }
    if body["components"].as_array().is_some_and(|c| c.len() > 5) {
        return Err(form_error("components: Must be 5 or fewer in length."));
    }
    let nonempty = |k: &str| body[k].as_array().is_some_and(|a| !a.is_empty());
    if create
        && content.is_empty()
        && !nonempty("embeds")
        && !nonempty("components")
        && !nonempty("attachments")
        && !nonempty("sticker_ids")
        && body.get("poll").is_none()
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        ));
    }
    Ok(())
}

async fn send_json(socket: &mut WebSocket, v: &Value) -> Result<(), axum::Error> {
    socket.send(WsMessage::Text(v.to_string().into())).await
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let _ = socket
        .send(WsMessage::Close(Some(CloseFrame {
            code,
            reason: reason.to_string().into(),
        })))
        .await;
}

/// One REST call whose answer is being held; see [`FakeDiscord::hold_responses`].
struct HeldCall(FakeDiscord);

impl Drop for HeldCall {
    fn drop(&mut self) {
        self.0.lock().held_now -= 1;
        self.0.bump();
    }
}

async fn ws_handler(
    State(fake): State<FakeDiscord>,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let refuse = {
        let mut st = fake.lock();
        st.gw.queries.push(query.unwrap_or_default());
        st.refuse_socket
    };
    fake.bump();
    if refuse {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "fake discord: gateway refused",
        )
            .into_response();
    }
    ws.on_upgrade(move |socket| fake.run_connection(socket))
}

async fn rest_handler(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_path = uri.path().to_string();
    let decoded = percent_decode(&raw_path);
    let path = decoded
        .strip_prefix("/api/v10")
        .map(str::to_string)
        .unwrap_or_else(|| decoded.clone());
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let json_body = if body.is_empty() {
        Value::Null
    } else if content_type.starts_with("multipart/form-data") {
        multipart_payload(&body)
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let (status, response, held, never) = {
        let mut st = fake.lock();
        let scripted = (method == Method::GET && path == "/gateway").then(|| {
            let then = st.gateway_then;
            st.gateway_script.pop_front().unwrap_or(then)
        });
        let reply = match scripted {
            Some(GatewayAnswer::Hold) => (StatusCode::OK, Value::Null),
            Some(GatewayAnswer::Refuse) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                0,
                "fake discord: gateway discovery unavailable",
            ),
            _ if fake.refuses_token(&headers) => {
                error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
            }
            _ if decoded.starts_with("/api/v10/") => {
                let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                fake.route(&mut st, &method, &segs, &json_body)
            }
            _ => error(StatusCode::NOT_FOUND, 0, "Unknown route"),
        };
        let never = scripted == Some(GatewayAnswer::Hold);
        let held = match &st.hold {
            Some(rule) if !never && rule(method.as_str(), &path) => {
                st.held_now += 1;
                st.held_total += 1;
                Some(st.release_gen)
            }
            _ => None,
        };
        st.requests.push(RecordedRequest {
            method: method.to_string(),
            path,
            raw_path,
            query: uri.query().unwrap_or_default().to_string(),
            body: json_body,
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            status: if never { 0 } else { reply.0.as_u16() },
            response: reply.1.clone(),
            at: Instant::now(),
        });
        (reply.0, reply.1, held, never)
    };
    fake.bump();
    if never {
        // Recorded, never answered: the client waits until it gives up.
        return std::future::pending().await;
    }
    if let Some(gen) = held {
        // Counted down even when the client hangs up while waiting.
        let _waiting = HeldCall(fake.clone());
        fake.wait_released(gen).await;
    }
    if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        (status, axum::Json(response)).into_response()
    }
}
