//! The Discord adapter (serenity 0.12): slash commands, approval cards with buttons and
//! reactions, notifications. A thin shim: it turns events into the app's commands and
//! decisions, with the actor's roles taken from the event payload itself, and renders replies.
//! Every interaction is acknowledged (deferred) before any WeChat Pay call.

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serenity::all::{
    ButtonStyle, ChannelId, CommandDataOption, CommandDataOptionValue, CommandInteraction,
    CommandOptionType, ComponentInteraction, CreateActionRow, CreateAutocompleteResponse,
    CreateButton, CreateCommand, CreateCommandOption, CreateEmbed, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    EditInteractionResponse, EditMessage, GatewayIntents, GuildId, Http, HttpBuilder, Interaction,
    Member, MessageId, Reaction, ReactionType, Ready, RoleId, ShardManager, UserId,
};
use serenity::async_trait;
use serenity::client::{Client, ClientBuilder, Context, EventHandler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::{render, App, Notice, NoticeKind, Notifier, NotifyError, Reply, ReplyBody};
use crate::config::{Capability, DiscordConfig, StockConfig};
use crate::domain::command::{Command, DEFAULT_HISTORY_COUNT};
use crate::domain::custom_id;
use crate::domain::policy::Decision;
use crate::domain::request::{Actor, CardRef, ChangeRequest, RequestState, Via};
use crate::wechatpay::model::{UpdateMode, MAX_BUDGET_VALUE};

/// The intents the bot needs: guild data and reactions. No privileged intents.
pub const INTENTS: GatewayIntents =
    GatewayIntents::GUILDS.union(GatewayIntents::GUILD_MESSAGE_REACTIONS);

/// How often pending requests are checked for expiry, and unconfirmed ones retried.
pub const EXPIRY_SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// How long one ask for the gateway URL may take before it is asked again.
pub const GATEWAY_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first pause between asks for the gateway URL; it doubles up to 30 s.
pub const GATEWAY_RETRY_DELAY: Duration = Duration::from_secs(1);
const GATEWAY_RETRY_MAX: Duration = Duration::from_secs(30);

/// How long a ✅/❌ in the approvals channel on a message that is not a known card is retried
/// before it is taken back: the card may be being stored right then (Discord can deliver a
/// reaction before the bot has heard back from its own post of the card).
pub const UNKNOWN_CARD_WAIT: Duration = Duration::from_secs(5);
const UNKNOWN_CARD_POLL: Duration = Duration::from_millis(100);

/// At shutdown, how long work in flight (handlers, a sweep) may take to finish. Whatever is
/// still running then is dropped: every state change is one atomic store transaction, and a
/// request left Approved or Submitting is resumed by the next start with its stored number.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long dropped work and the gateway's close may take after that; with the grace period
/// this keeps a stop under 10 s whatever Discord or WeChat Pay is doing.
const SHUTDOWN_DROP_WAIT: Duration = Duration::from_secs(1);
const GATEWAY_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Env var holding the bot token.
pub const TOKEN_ENV: &str = "DISCORD_TOKEN";

const APPROVE_EMOJI: &str = "✅";
const REJECT_EMOJI: &str = "❌";

/// Embed colours by outcome.
const COLOR_PENDING: u32 = 0xF1C40F;
const COLOR_APPLIED: u32 = 0x2ECC71;
const COLOR_ENDED: u32 = 0x95A5A6;
const COLOR_FAILED: u32 = 0xE74C3C;
const COLOR_INFO: u32 = 0x3498DB;

/// The bot token. Never printed: `Debug` is redacted and it is not `Display`.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// `DISCORD_TOKEN`, else the file at `token_path` (relative to the config's folder).
    pub fn load(config: &DiscordConfig, base_dir: &Path) -> Result<Self, String> {
        if let Ok(token) = std::env::var(TOKEN_ENV) {
            if !token.trim().is_empty() {
                return Ok(Self(token.trim().to_string()));
            }
        }
        let Some(path) = &config.token_path else {
            return Err(format!(
                "no Discord bot token: set the env var {TOKEN_ENV} or token_path in [discord]"
            ));
        };
        let path = base_dir.join(path);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read the Discord token file {}: {}",
                path.display(),
                e.kind()
            )
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(format!(
                "the Discord token file {} is empty",
                path.display()
            ));
        }
        Ok(Self(token.to_string()))
    }
}

/// `[discord]` with its ids parsed.
#[derive(Clone, Debug)]
pub struct DiscordSettings {
    pub guild_id: GuildId,
    pub approvals_channel: ChannelId,
    pub notifications_channel: ChannelId,
    pub requester_roles: HashSet<RoleId>,
    pub approver_roles: HashSet<RoleId>,
    pub api_base_url: Option<String>,
    /// How often expiry and unresolved requests are swept ([`EXPIRY_SWEEP_INTERVAL`]).
    pub sweep_interval: Duration,
    /// One ask for the gateway URL ([`GATEWAY_ATTEMPT_TIMEOUT`]).
    pub gateway_attempt_timeout: Duration,
    /// The first pause before asking again ([`GATEWAY_RETRY_DELAY`]).
    pub gateway_retry_delay: Duration,
}

fn snowflake(key: &str, value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| *v != 0)
        .ok_or_else(|| {
            format!("[discord] {key} `{value}` is not a Discord id: copy it with Developer Mode → Copy ID")
        })
}

impl DiscordSettings {
    pub fn from_config(config: &DiscordConfig) -> Result<Self, String> {
        let roles = |key: &str, ids: &[String]| -> Result<HashSet<RoleId>, String> {
            ids.iter()
                .map(|id| snowflake(key, id).map(RoleId::new))
                .collect()
        };
        snowflake("application_id", &config.application_id)?;
        let settings = Self {
            guild_id: GuildId::new(snowflake("guild_id", &config.guild_id)?),
            approvals_channel: ChannelId::new(snowflake(
                "approvals_channel_id",
                &config.approvals_channel_id,
            )?),
            notifications_channel: ChannelId::new(snowflake(
                "notifications_channel_id",
                &config.notifications_channel_id,
            )?),
            requester_roles: roles("requester_role_ids", &config.requester_role_ids)?,
            approver_roles: roles("approver_role_ids", &config.approver_role_ids)?,
            api_base_url: config.api_base_url.clone(),
            sweep_interval: EXPIRY_SWEEP_INTERVAL,
            gateway_attempt_timeout: GATEWAY_ATTEMPT_TIMEOUT,
            gateway_retry_delay: GATEWAY_RETRY_DELAY,
        };
        if settings.approver_roles.is_empty() {
            return Err("[discord] approver_role_ids is empty: nobody could approve".into());
        }
        Ok(settings)
    }

    /// The actor behind an event, with capabilities from the role ids the event carried.
    pub fn actor(&self, user: UserId, roles: &[RoleId]) -> Actor {
        let mut caps = Vec::new();
        if roles.iter().any(|r| self.requester_roles.contains(r)) {
            caps.push(Capability::Requester);
        }
        if roles.iter().any(|r| self.approver_roles.contains(r)) {
            caps.push(Capability::Approver);
        }
        Actor::new(format!("discord:{user}"), format!("<@{user}>"), &caps)
    }

    fn approver_mentions(&self) -> String {
        let mut ids: Vec<u64> = self.approver_roles.iter().map(|r| r.get()).collect();
        ids.sort_unstable();
        ids.iter()
            .map(|id| format!("<@&{id}>"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The HTTP client: to Discord, or to `api_base_url` (a proxy or a test fake), in which case
/// serenity's own rate limiter is off, as proxies such as nirn-proxy expect and as serenity
/// requires for its proxy setting to take effect.
pub fn http_client(token: &Token, api_base_url: Option<&str>) -> Http {
    let builder = HttpBuilder::new(&token.0);
    match api_base_url {
        Some(url) => builder
            .proxy(url.trim_end_matches('/'))
            .ratelimiter_disabled(true)
            .build(),
        None => builder.build(),
    }
}

/// The `/budget` command with typed options.
pub fn budget_command() -> CreateCommand {
    let stock = || {
        CreateCommandOption::new(
            CommandOptionType::String,
            "stock",
            "Stock id or name from the allow-list",
        )
        .required(true)
        .set_autocomplete(true)
    };
    let limit = || {
        CreateCommandOption::new(CommandOptionType::Integer, "limit", "The new limit")
            .required(true)
            .min_int_value(0)
            .max_int_value(MAX_BUDGET_VALUE as u64)
    };
    let reason = || {
        CreateCommandOption::new(
            CommandOptionType::String,
            "reason",
            "Why (shown to approvers)",
        )
        .max_length(200)
    };
    let sub = |name: &str, description: &str| {
        CreateCommandOption::new(CommandOptionType::SubCommand, name, description)
    };
    CreateCommand::new("budget")
        .description("WeChat Pay coupon budgets: show, change with approval, history")
        .dm_permission(false)
        .add_option(
            sub("show", "Show a stock's live limits and what was sent").add_sub_option(stock()),
        )
        .add_option(
            sub("set-daily", "Request a new daily limit (max_count_per_day)")
                .add_sub_option(stock())
                .add_sub_option(limit())
                .add_sub_option(reason()),
        )
        .add_option(
            sub("set-total", "Request a new total limit (max_count)")
                .add_sub_option(stock())
                .add_sub_option(limit())
                .add_sub_option(reason()),
        )
        .add_option(sub("pending", "List requests waiting for approval"))
        .add_option(
            sub("cancel", "Cancel your pending request").add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    "request",
                    "Request id or `last`",
                )
                .required(true),
            ),
        )
        .add_option(
            sub("history", "Recent audit entries of a stock")
                .add_sub_option(stock())
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::Integer,
                        "count",
                        "How many (1-50)",
                    )
                    .min_int_value(1)
                    .max_int_value(50),
                ),
        )
}

/// The subcommand and its options of a `/budget` interaction, as a domain command.
pub fn command_from_options(options: &[CommandDataOption]) -> Result<Command, String> {
    let Some(sub) = options.first() else {
        return Err("Pick a /budget subcommand.".into());
    };
    let CommandDataOptionValue::SubCommand(args) = &sub.value else {
        return Err("Pick a /budget subcommand.".into());
    };
    let string = |name: &str| {
        args.iter()
            .find(|o| o.name == name)
            .and_then(|o| match &o.value {
                CommandDataOptionValue::String(s) => Some(s.clone()),
                _ => None,
            })
    };
    let integer = |name: &str| {
        args.iter()
            .find(|o| o.name == name)
            .and_then(|o| match &o.value {
                CommandDataOptionValue::Integer(i) => Some(*i),
                _ => None,
            })
    };
    let required = |value: Option<String>, name: &str| {
        value.ok_or_else(|| format!("The `{name}` option is required."))
    };
    let set = |mode| -> Result<Command, String> {
        Ok(Command::SetLimit {
            mode,
            stock: required(string("stock"), "stock")?,
            limit: integer("limit").ok_or("The `limit` option is required: a whole number.")?,
            reason: string("reason").filter(|r| !r.trim().is_empty()),
        })
    };
    match sub.name.as_str() {
        "show" => Ok(Command::Show {
            stock: required(string("stock"), "stock")?,
        }),
        "set-daily" => set(UpdateMode::MaxCountPerDay),
        "set-total" => set(UpdateMode::MaxCount),
        "pending" => Ok(Command::Pending),
        "cancel" => Ok(Command::Cancel {
            request: required(string("request"), "request")?,
        }),
        "history" => Ok(Command::History {
            stock: required(string("stock"), "stock")?,
            count: integer("count")
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(DEFAULT_HISTORY_COUNT),
        }),
        other => Err(format!("Unknown subcommand `{other}`; see /budget help.")),
    }
}

/// Autocomplete choices for the `stock` option: allow-listed stocks matching what was typed.
pub fn stock_choices<'a>(stocks: &'a [StockConfig], typed: &str) -> Vec<(String, &'a str)> {
    let typed = typed.trim().to_lowercase();
    stocks
        .iter()
        .filter(|s| {
            typed.is_empty()
                || s.stock_id.to_lowercase().contains(&typed)
                || s.name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&typed))
        })
        .take(25)
        .map(|s| (s.label(), s.stock_id.as_str()))
        .collect()
}

fn state_color(state: RequestState) -> u32 {
    match state {
        RequestState::Pending | RequestState::Approved | RequestState::Submitting => COLOR_PENDING,
        RequestState::Applied => COLOR_APPLIED,
        RequestState::Failed | RequestState::Stale => COLOR_FAILED,
        RequestState::Rejected | RequestState::Expired | RequestState::Cancelled => COLOR_ENDED,
    }
}

/// The card's embed.
pub fn card_embed(request: &ChangeRequest, approvers: &str) -> CreateEmbed {
    let expires = format!("<t:{0}:f> (<t:{0}:R>)", request.expires_at);
    CreateEmbed::new()
        .title(format!("Budget change {} — {}", request.id, request.state))
        .description(render::card_text_with(request, approvers, &expires))
        .color(state_color(request.state))
}

/// Approve and Reject, disabled once the request is decided.
pub fn card_buttons(request: &ChangeRequest) -> Vec<CreateActionRow> {
    let decided = request.state != RequestState::Pending;
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(custom_id::encode(&request.id, Decision::Approve))
            .label("Approve")
            .style(ButtonStyle::Success)
            .disabled(decided),
        CreateButton::new(custom_id::encode(&request.id, Decision::Reject))
            .label("Reject")
            .style(ButtonStyle::Danger)
            .disabled(decided),
    ])]
}

/// Posts and edits cards, posts notifications. Its HTTP client is set once the serenity
/// client exists (serenity owns the one it builds).
pub struct DiscordNotifier {
    http: OnceLock<Arc<Http>>,
    settings: DiscordSettings,
}

impl DiscordNotifier {
    pub fn new(settings: DiscordSettings) -> Self {
        Self {
            http: OnceLock::new(),
            settings,
        }
    }

    pub fn set_http(&self, http: Arc<Http>) {
        let _ = self.http.set(http);
    }

    fn http(&self) -> Result<&Arc<Http>, NotifyError> {
        self.http
            .get()
            .ok_or_else(|| NotifyError("Discord client not started".into()))
    }
}

fn platform(e: serenity::Error) -> NotifyError {
    NotifyError(e.to_string())
}

fn parse_message_id(card: &CardRef) -> Result<(ChannelId, MessageId), NotifyError> {
    let channel = card.channel_id.parse::<u64>().ok().filter(|v| *v != 0);
    let message = card.message_id.parse::<u64>().ok().filter(|v| *v != 0);
    match (channel, message) {
        (Some(c), Some(m)) => Ok((ChannelId::new(c), MessageId::new(m))),
        _ => Err(NotifyError(format!(
            "card {}/{} is not a Discord message",
            card.channel_id, card.message_id
        ))),
    }
}

#[async_trait]
impl Notifier for DiscordNotifier {
    async fn post_card(&self, request: &ChangeRequest) -> Result<CardRef, NotifyError> {
        let http = self.http()?;
        let message = self
            .settings
            .approvals_channel
            .send_message(
                http,
                CreateMessage::new()
                    .embed(card_embed(request, &self.settings.approver_mentions()))
                    .components(card_buttons(request)),
            )
            .await
            .map_err(platform)?;
        Ok(CardRef {
            channel_id: message.channel_id.to_string(),
            message_id: message.id.to_string(),
        })
    }

    /// The bot's own ✅ and ❌, added only once the card is stored, so a reaction they invite
    /// always finds its request. A failed one is logged: the card's buttons still work.
    async fn decorate_card(&self, card: &CardRef) -> Result<(), NotifyError> {
        let http = self.http()?;
        let (channel, message) = parse_message_id(card)?;
        let mut failed = None;
        for emoji in [APPROVE_EMOJI, REJECT_EMOJI] {
            if let Err(e) = http
                .create_reaction(channel, message, &ReactionType::Unicode(emoji.into()))
                .await
            {
                tracing::warn!(error = %e, emoji, "could not add the card's reaction");
                failed = Some(platform(e));
            }
        }
        failed.map_or(Ok(()), Err)
    }

    async fn update_card(&self, request: &ChangeRequest) -> Result<(), NotifyError> {
        let Some(card) = &request.card else {
            return Ok(());
        };
        let (channel, message) = parse_message_id(card)?;
        channel
            .edit_message(
                self.http()?,
                message,
                EditMessage::new()
                    .embed(card_embed(request, &self.settings.approver_mentions()))
                    .components(card_buttons(request)),
            )
            .await
            .map_err(platform)?;
        Ok(())
    }

    async fn notify(&self, notice: &Notice) -> Result<(), NotifyError> {
        let mut embed = CreateEmbed::new()
            .description(&notice.text)
            .color(state_color(notice.request.state));
        if notice.kind == NoticeKind::Applied {
            if let Some(result) = &notice.request.result {
                embed = embed
                    .title(format!("Applied: {}", notice.request.stock_label()))
                    .field("Total limit", render::limit_text(result.max_count), true)
                    .field(
                        "Daily limit",
                        render::limit_text(result.max_count_per_day),
                        true,
                    )
                    .field(
                        "Sent today",
                        crate::domain::request::group(result.sent_today),
                        true,
                    )
                    .field(
                        "Sent in total",
                        crate::domain::request::group(result.sent_total),
                        true,
                    )
                    .field("State", &result.state, true);
            }
        }
        if let Some(card) = &notice.request.card {
            embed = embed.url(card_link(self.settings.guild_id, card));
        }
        self.settings
            .notifications_channel
            .send_message(self.http()?, CreateMessage::new().embed(embed))
            .await
            .map_err(platform)?;
        Ok(())
    }
}

/// serenity's event handler: defers, calls the app, renders.
pub struct Handler {
    app: Arc<App>,
    settings: DiscordSettings,
    bot_user: OnceLock<UserId>,
    work: Work,
}

/// The bot's work in flight (event handlers, sweeps) and how a shutdown ends it.
#[derive(Clone, Default)]
struct Work {
    /// Cancelled when shutdown begins: no new work starts.
    stop: CancellationToken,
    /// Cancelled when [`SHUTDOWN_GRACE`] is over: work still running is dropped.
    abandon: CancellationToken,
    /// Every piece of work in flight, so shutdown can wait for it.
    tasks: TaskTracker,
}

impl Work {
    /// Runs `job` unless shutdown has begun; counted in flight until it ends or is abandoned.
    async fn run(&self, job: impl Future<Output = ()>) {
        // Tracked before the check: a shutdown that begins after the check waits for it.
        let tracked = self.tasks.track_future(async {
            if self.stop.is_cancelled() {
                return;
            }
            tokio::select! {
                () = job => {}
                () = self.abandon.cancelled() => {}
            }
        });
        tracked.await
    }
}

/// The message link of a card.
fn card_link(guild: GuildId, card: &CardRef) -> String {
    format!(
        "https://discord.com/channels/{guild}/{}/{}",
        card.channel_id, card.message_id
    )
}

/// What a user sees when the bot itself failed (the store); details go to the logs.
fn internal_error_text(e: &crate::app::AppError) -> String {
    format!("Something went wrong on the bot's side: {e}")
}

fn emoji_of(decision: Decision) -> &'static str {
    match decision {
        Decision::Approve => APPROVE_EMOJI,
        Decision::Reject => REJECT_EMOJI,
    }
}

/// Why a ✅/❌ in the approvals channel was taken back: it is on no card the bot knows.
fn unknown_card_text(decision: Decision) -> String {
    format!(
        "Your {} in the approvals channel did not count, so the bot removed it: that message is not an \
         approval card the bot knows (not a card, or a card that was replaced). React on the request's \
         current card or use its Approve/Reject buttons; /budget pending lists the open requests.",
        emoji_of(decision)
    )
}

/// Why a ✅/❌ was taken back when the bot itself failed.
fn reaction_failed_text(decision: Decision, e: &crate::app::AppError) -> String {
    format!(
        "Your {} did not count, so the bot removed it. {} Please react again, or use the card's buttons.",
        emoji_of(decision),
        internal_error_text(e)
    )
}

fn member_roles(member: Option<&Member>) -> &[RoleId] {
    member.map(|m| m.roles.as_slice()).unwrap_or(&[])
}

fn reply_embed(reply: &Reply) -> Option<CreateEmbed> {
    match &reply.body {
        ReplyBody::Stock { label, stock } => Some(
            CreateEmbed::new()
                .title(label)
                .color(COLOR_INFO)
                .field("State", stock.state.to_string(), true)
                .field(
                    "Total limit (max_count)",
                    render::limit_text(stock.max_count()),
                    true,
                )
                .field(
                    "Daily limit (max_count_per_day)",
                    render::limit_text(stock.max_count_per_day()),
                    true,
                )
                .field(
                    "Per user",
                    render::limit_text(stock.max_count_per_user()),
                    true,
                )
                .field(
                    "Sent in total",
                    crate::domain::request::group(stock.sent_total()),
                    true,
                )
                .field(
                    "Sent today",
                    crate::domain::request::group(stock.sent_today()),
                    true,
                )
                .field(
                    "Left in total",
                    render::left_text(stock.max_count(), stock.sent_total()),
                    true,
                )
                .field(
                    "Left today",
                    render::left_text(stock.max_count_per_day(), stock.sent_today()),
                    true,
                ),
        ),
        _ => None,
    }
}

impl Handler {
    fn new(app: Arc<App>, settings: DiscordSettings, work: Work) -> Self {
        Self {
            app,
            settings,
            bot_user: OnceLock::new(),
            work,
        }
    }

    fn reply_text(&self, reply: &Reply) -> String {
        let mut text = reply.text();
        if let ReplyBody::Created(request) = &reply.body {
            if let Some(card) = &request.card {
                text.push_str(&format!(
                    "\nCard: {}",
                    card_link(self.settings.guild_id, card)
                ));
            }
        }
        text
    }

    async fn on_command(&self, ctx: &Context, cmd: &CommandInteraction) {
        let actor = self
            .settings
            .actor(cmd.user.id, member_roles(cmd.member.as_deref()));
        let command = match command_from_options(&cmd.data.options) {
            Ok(command) => command,
            Err(message) => return respond_ephemeral(ctx, cmd, message).await,
        };
        // `show` answers in the channel; an unknown stock is refused before deferring, since
        // a deferred reply cannot become ephemeral later.
        let public = matches!(command, Command::Show { .. });
        if let Command::Show { stock } = &command {
            if let Err(message) = self.app.resolve_stock(stock) {
                return respond_ephemeral(ctx, cmd, message).await;
            }
        }
        let deferred = if public {
            cmd.defer(&ctx.http).await
        } else {
            cmd.defer_ephemeral(&ctx.http).await
        };
        if let Err(e) = deferred {
            tracing::error!(error = %e, "could not defer the interaction");
            return;
        }
        let reply = match self.app.handle_command(&actor, command).await {
            Ok(reply) => reply,
            Err(e) => {
                tracing::error!(error = %e, "command failed");
                Reply {
                    ephemeral: true,
                    body: ReplyBody::Text(internal_error_text(&e)),
                }
            }
        };
        if public && reply.ephemeral {
            // A refusal after a public deferral: drop the public placeholder, answer privately.
            let _ = cmd.delete_response(&ctx.http).await;
            let followup = CreateInteractionResponseFollowup::new()
                .content(truncate(&self.reply_text(&reply)))
                .ephemeral(true);
            if let Err(e) = cmd.create_followup(&ctx.http, followup).await {
                tracing::error!(error = %e, "could not send the reply");
            }
            return;
        }
        let edit = match reply_embed(&reply) {
            Some(embed) => EditInteractionResponse::new().embed(embed),
            None => EditInteractionResponse::new().content(truncate(&self.reply_text(&reply))),
        };
        if let Err(e) = cmd.edit_response(&ctx.http, edit).await {
            tracing::error!(error = %e, "could not send the reply");
        }
    }

    async fn on_autocomplete(&self, ctx: &Context, ac: &CommandInteraction) {
        let typed = ac.data.autocomplete().map(|o| o.value).unwrap_or("");
        let mut response = CreateAutocompleteResponse::new();
        for (label, value) in stock_choices(self.app.stocks(), typed) {
            response = response.add_string_choice(label, value);
        }
        if let Err(e) = ac
            .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(response))
            .await
        {
            tracing::warn!(error = %e, "could not answer autocomplete");
        }
    }

    async fn on_button(&self, ctx: &Context, click: &ComponentInteraction) {
        let Some((request, decision)) = custom_id::decode(&click.data.custom_id) else {
            return;
        };
        if let Err(e) = click.defer_ephemeral(&ctx.http).await {
            tracing::error!(error = %e, "could not defer the button click");
            return;
        }
        let actor = self
            .settings
            .actor(click.user.id, member_roles(click.member.as_ref()));
        let text = match self
            .app
            .decide(&actor, request.as_str(), decision, Via::Button)
            .await
        {
            Ok(reply) => reply.text(),
            Err(e) => internal_error_text(&e),
        };
        if let Err(e) = click
            .edit_response(
                &ctx.http,
                EditInteractionResponse::new().content(truncate(&text)),
            )
            .await
        {
            tracing::error!(error = %e, "could not answer the button click");
        }
    }

    async fn on_reaction(&self, ctx: &Context, reaction: &Reaction) {
        let Some(user) = reaction.user_id else {
            return;
        };
        if Some(&user) == self.bot_user.get() {
            return;
        }
        let decision = match &reaction.emoji {
            ReactionType::Unicode(e) if e.trim_end_matches('\u{fe0f}') == APPROVE_EMOJI => {
                Decision::Approve
            }
            ReactionType::Unicode(e) if e.trim_end_matches('\u{fe0f}') == REJECT_EMOJI => {
                Decision::Reject
            }
            _ => return,
        };
        // Only reactions in the server, with the member's roles in the payload, count.
        let Some(member) = reaction.member.as_ref() else {
            return;
        };
        let actor = self.settings.actor(user, &member.roles);
        // Elsewhere a ✅ is anyone's business; in the approvals channel it is a decision, and no
        // decision may vanish without a word.
        let on_approvals = reaction.channel_id == self.settings.approvals_channel;
        let message = reaction.message_id.to_string();
        let give_up = Instant::now() + UNKNOWN_CARD_WAIT;
        let mut waiting = false;
        let reply = loop {
            match self
                .app
                .decide_on_card(&actor, &message, decision, Via::Reaction)
                .await
            {
                Ok(Some(reply)) => break reply,
                Ok(None) if !on_approvals => return,
                Ok(None) if Instant::now() < give_up => {
                    if !waiting {
                        tracing::debug!(%message, "reaction on a message that is not a known card (yet); waiting for its card to be stored");
                        waiting = true;
                    }
                    tokio::time::sleep(UNKNOWN_CARD_POLL).await;
                }
                Ok(None) => {
                    tracing::info!(%message, %user, "reaction on a message that is no known card; taking it back");
                    return take_back(ctx, reaction, user, &unknown_card_text(decision)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "reaction decision failed");
                    if on_approvals {
                        take_back(ctx, reaction, user, &reaction_failed_text(decision, &e)).await;
                    }
                    return;
                }
            }
        };
        if let ReplyBody::Text(reason) = &reply.body {
            take_back(ctx, reaction, user, reason).await;
        }
    }
}

/// Removes a reaction that did not count and tells its author why, privately (a reaction has
/// no interaction to answer).
async fn take_back(ctx: &Context, reaction: &Reaction, user: UserId, reason: &str) {
    if let Err(e) = reaction.delete(&ctx.http).await {
        tracing::warn!(error = %e, "could not remove a refused reaction");
    }
    send_dm(ctx, user, reason).await;
}

fn truncate(text: &str) -> String {
    const LIMIT: usize = 1900;
    if text.chars().count() <= LIMIT {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(LIMIT).collect();
        cut.push_str("\n…");
        cut
    }
}

async fn respond_ephemeral(ctx: &Context, cmd: &CommandInteraction, message: String) {
    let response = CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(truncate(&message))
            .ephemeral(true),
    );
    if let Err(e) = cmd.create_response(&ctx.http, response).await {
        tracing::error!(error = %e, "could not answer the interaction");
    }
}

async fn send_dm(ctx: &Context, user: UserId, text: &str) {
    match user.create_dm_channel(&ctx.http).await {
        Ok(channel) => {
            if let Err(e) = channel
                .id
                .send_message(&ctx.http, CreateMessage::new().content(truncate(text)))
                .await
            {
                tracing::warn!(error = %e, "could not send a DM");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not open a DM channel"),
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.bot_user.set(ready.user.id);
        match self
            .settings
            .guild_id
            .set_commands(&ctx.http, vec![budget_command()])
            .await
        {
            Ok(commands) => {
                tracing::info!(count = commands.len(), user = %ready.user.name, "connected; /budget registered")
            }
            Err(e) => tracing::error!(error = %e, "could not register /budget"),
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        self.work
            .run(async {
                match &interaction {
                    Interaction::Command(cmd) if cmd.data.name == "budget" => {
                        self.on_command(&ctx, cmd).await
                    }
                    Interaction::Autocomplete(ac) if ac.data.name == "budget" => {
                        self.on_autocomplete(&ctx, ac).await
                    }
                    Interaction::Component(click) => self.on_button(&ctx, click).await,
                    _ => {}
                }
            })
            .await
    }

    async fn reaction_add(&self, ctx: Context, reaction: Reaction) {
        self.work.run(self.on_reaction(&ctx, &reaction)).await
    }
}

/// A running bot: stop it with [`RunningBot::shutdown`].
pub struct RunningBot {
    shard_manager: Arc<ShardManager>,
    client_task: tokio::task::JoinHandle<Result<(), serenity::Error>>,
    work: Work,
    app: Arc<App>,
    gateway_url: String,
}

impl RunningBot {
    /// Stops taking events, lets work in flight finish for up to [`SHUTDOWN_GRACE`] (then
    /// drops it, to be resumed by the next start), disconnects and flushes the store. Bounded
    /// whatever Discord or WeChat Pay is doing: serenity's own `shutdown_all` returns at once
    /// while its shard has never connected, and `Client::start` then never returns, so the
    /// client's task is ended here rather than awaited.
    pub async fn shutdown(self) -> Result<(), String> {
        self.work.stop.cancel();
        self.work.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.work.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                in_flight = self.work.tasks.len(),
                "work still in flight after {SHUTDOWN_GRACE:?} is dropped; the next start resumes any request it left"
            );
            self.work.abandon.cancel();
            let _ = tokio::time::timeout(SHUTDOWN_DROP_WAIT, self.work.tasks.wait()).await;
        }
        if tokio::time::timeout(GATEWAY_CLOSE_WAIT, self.shard_manager.shutdown_all())
            .await
            .is_err()
        {
            tracing::warn!("the gateway connection did not close in time; dropping it");
        }
        self.client_task.abort();
        let _ = self.client_task.await;
        self.app.store().flush().map_err(|e| e.to_string())
    }

    /// Waits until the gateway client stops by itself (e.g. an invalid token).
    pub async fn wait(&mut self) -> Result<(), String> {
        match (&mut self.client_task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("Discord client stopped: {e}")),
            Err(e) => Err(format!("Discord client task failed: {e}")),
        }
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
) -> Result<(Client, String), String> {
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
            Ok(Err(e)) => return Err(format!("cannot create the Discord client: {e}")),
            Err(_) => tracing::warn!(
                "the Discord server stopped answering while the client was built; asking again"
            ),
        }
    }
}

/// Connects the bot: builds the client, resumes interrupted requests, starts the gateway
/// connection and the expiry sweep. `app` must use `notifier` as its notifier. Until the
/// configured server names its gateway this waits; the caller stops it by dropping it.
pub async fn start(
    token: &Token,
    settings: DiscordSettings,
    app: Arc<App>,
    notifier: Arc<DiscordNotifier>,
) -> Result<RunningBot, String> {
    let sweep_interval = settings.sweep_interval;
    let work = Work::default();
    let handler = Arc::new(Handler::new(app.clone(), settings.clone(), work.clone()));
    let (mut client, gateway_url) = build_client(token, &settings, handler).await?;
    notifier.set_http(client.http.clone());
    let resumed = app
        .recover()
        .await
        .map_err(|e| format!("cannot resume interrupted requests: {e}"))?;
    if !resumed.is_empty() {
        tracing::info!(?resumed, "resumed interrupted requests");
    }
    let shard_manager = client.shard_manager.clone();
    let client_task = tokio::spawn(async move { client.start().await });
    let sweep_app = app.clone();
    let sweep_work = work.clone();
    work.tasks.spawn(async move {
        let mut interval = tokio::time::interval(sweep_interval);
        loop {
            tokio::select! {
                () = sweep_work.stop.cancelled() => return,
                _ = interval.tick() => {}
            }
            sweep_work
                .run(async {
                    if let Err(e) = sweep_app.expire_due().await {
                        tracing::error!(error = %e, "expiry sweep failed");
                    }
                    if let Err(e) = sweep_app.retry_unresolved().await {
                        tracing::error!(error = %e, "retrying unresolved requests failed");
                    }
                })
                .await;
        }
    });
    Ok(RunningBot {
        shard_manager,
        client_task,
        work,
        app,
        gateway_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> DiscordSettings {
        DiscordSettings::from_config(&DiscordConfig {
            token_path: None,
            application_id: "10".into(),
            guild_id: "11".into(),
            approvals_channel_id: "12".into(),
            notifications_channel_id: "13".into(),
            requester_role_ids: vec!["20".into()],
            approver_role_ids: vec!["21".into(), "22".into()],
            api_base_url: None,
        })
        .unwrap()
    }

    fn option(name: &str, value: CommandDataOptionValue) -> CommandDataOption {
        serde_json::from_value(serde_json::json!({"name": name, "type": 3, "value": ""}))
            .map(|mut o: CommandDataOption| {
                o.value = value;
                o
            })
            .unwrap()
    }

    #[test]
    fn capabilities_come_from_the_events_roles() {
        let s = settings();
        let both = s.actor(UserId::new(5), &[RoleId::new(20), RoleId::new(22)]);
        assert!(both.can(Capability::Requester) && both.can(Capability::Approver));
        assert_eq!(both.id, "discord:5");
        assert_eq!(both.display, "<@5>");
        let none = s.actor(UserId::new(6), &[RoleId::new(99)]);
        assert!(none.capabilities.is_empty());
        assert_eq!(s.approver_mentions(), "<@&21> <@&22>");
    }

    #[test]
    fn bad_ids_in_config_say_how_to_get_them() {
        let mut config = DiscordConfig {
            token_path: None,
            application_id: "10".into(),
            guild_id: "my-server".into(),
            approvals_channel_id: "12".into(),
            notifications_channel_id: "13".into(),
            requester_role_ids: vec![],
            approver_role_ids: vec!["21".into()],
            api_base_url: None,
        };
        let err = DiscordSettings::from_config(&config).unwrap_err();
        assert!(err.contains("guild_id") && err.contains("Copy ID"), "{err}");
        config.guild_id = "11".into();
        config.approver_role_ids.clear();
        assert!(DiscordSettings::from_config(&config)
            .unwrap_err()
            .contains("nobody could approve"));
    }

    #[test]
    fn typed_options_become_domain_commands() {
        let sub = |name: &str, args: Vec<CommandDataOption>| {
            vec![option(name, CommandDataOptionValue::SubCommand(args))]
        };
        let stock = option("stock", CommandDataOptionValue::String("123".into()));
        let limit = option("limit", CommandDataOptionValue::Integer(20_000));
        let reason = option("reason", CommandDataOptionValue::String("push".into()));
        assert_eq!(
            command_from_options(&sub(
                "set-daily",
                vec![stock.clone(), limit.clone(), reason]
            )),
            Ok(Command::SetLimit {
                mode: UpdateMode::MaxCountPerDay,
                stock: "123".into(),
                limit: 20_000,
                reason: Some("push".into())
            })
        );
        assert_eq!(
            command_from_options(&sub("set-total", vec![stock.clone(), limit])),
            Ok(Command::SetLimit {
                mode: UpdateMode::MaxCount,
                stock: "123".into(),
                limit: 20_000,
                reason: None
            })
        );
        assert_eq!(
            command_from_options(&sub("history", vec![stock.clone()])),
            Ok(Command::History {
                stock: "123".into(),
                count: DEFAULT_HISTORY_COUNT
            })
        );
        assert!(command_from_options(&sub("set-daily", vec![stock]))
            .unwrap_err()
            .contains("limit"));
        assert!(command_from_options(&[]).is_err());
    }

    #[test]
    fn autocomplete_matches_ids_and_names() {
        let stocks = vec![
            StockConfig {
                stock_id: "123".into(),
                product_coupon_id: "1".into(),
                name: Some("Spring sale".into()),
            },
            StockConfig {
                stock_id: "456".into(),
                product_coupon_id: "1".into(),
                name: None,
            },
        ];
        assert_eq!(
            stock_choices(&stocks, "SPR"),
            vec![("Spring sale (123)".to_string(), "123")]
        );
        assert_eq!(
            stock_choices(&stocks, "45"),
            vec![("456".to_string(), "456")]
        );
        assert_eq!(stock_choices(&stocks, "").len(), 2);
    }

    #[test]
    fn token_never_prints() {
        let token = Token::new("secret-token-value");
        assert!(!format!("{token:?}").contains("secret"));
        let config = DiscordConfig {
            token_path: Some("missing-token-file".into()),
            application_id: "10".into(),
            guild_id: "11".into(),
            approvals_channel_id: "12".into(),
            notifications_channel_id: "13".into(),
            requester_role_ids: vec![],
            approver_role_ids: vec!["21".into()],
            api_base_url: None,
        };
        if std::env::var(TOKEN_ENV).is_err() {
            let err = Token::load(&config, Path::new("/nonexistent")).unwrap_err();
            assert!(err.contains("missing-token-file"), "{err}");
        }
    }
}
