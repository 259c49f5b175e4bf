//! serenity's event handler: each event is acknowledged (deferred) before any WeChat Pay call,
//! turned into one app input, and its outcome rendered. Work runs through the runtime, so a
//! shutdown waits for it.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serenity::all::{
    CommandInteraction, ComponentInteraction, ConnectionStage, CreateAutocompleteResponse,
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateMessage, EditInteractionResponse, Guild, Interaction, Member, Reaction, ReactionType,
    Ready, RoleId, ShardStageUpdateEvent, UserId,
};
use serenity::async_trait;
use serenity::client::{Context, EventHandler};

use crate::app::runtime::Runtime;
use crate::app::{messages, Denial, Input, Outcome};
use crate::chat::{decision_for_emoji, emoji_of, Connection};
use crate::domain::command::Command;
use crate::domain::custom_id;
use crate::domain::request::CardKey;
use crate::domain::request::Via;
use crate::i18n::Lang;

use super::command::{budget_command, command_from_options, stock_choices};
use super::notifier::PLATFORM;
use super::render::{card_link, reply_embed, truncate};
use super::settings::DiscordSettings;

/// How long a ✅/❌ in the approvals channel on a message that is not a known card is retried
/// before it is taken back: the card may be being stored right then (Discord can deliver a
/// reaction before the bot has heard back from its own post of the card).
pub const UNKNOWN_CARD_WAIT: Duration = Duration::from_secs(5);
const UNKNOWN_CARD_POLL: Duration = Duration::from_millis(100);

/// serenity's event handler: defers, calls the app, renders.
pub struct Handler {
    runtime: Runtime,
    settings: DiscordSettings,
    bot_user: OnceLock<UserId>,
    connection: Connection,
}

fn member_roles(member: Option<&Member>) -> &[RoleId] {
    member.map(|m| m.roles.as_slice()).unwrap_or(&[])
}

impl Handler {
    pub(super) fn new(runtime: Runtime, settings: DiscordSettings) -> Self {
        Self {
            runtime,
            settings,
            bot_user: OnceLock::new(),
            connection: Connection::default(),
        }
    }

    /// Set while the gateway session is up (from `ready` until the shard leaves Connected).
    pub(super) fn connection(&self) -> Connection {
        self.connection.clone()
    }

    fn reply_text(&self, lang: Lang, outcome: &Outcome) -> String {
        let mut text = messages::outcome(lang, outcome);
        if let Outcome::Created(request) = outcome {
            if let Some(card) = &request.card {
                text.push_str(&messages::card_link_line(
                    lang,
                    &card_link(self.settings.guild_id, card),
                ));
            }
        }
        text
    }

    /// The language of a reply to an interaction (its user's locale under `auto`); the guild's
    /// locale it carries is kept for channel posts.
    fn interaction_lang(&self, locale: &str, guild_locale: Option<&str>) -> Lang {
        if let Some(guild_locale) = guild_locale {
            self.settings.guild_locale.set(guild_locale);
        }
        self.settings.reply_lang(locale)
    }

    async fn on_command(&self, ctx: &Context, cmd: &CommandInteraction) {
        // Every reply to a command, the public `show` included, follows the user's locale.
        let lang = self.interaction_lang(&cmd.locale, cmd.guild_locale.as_deref());
        let actor = self
            .settings
            .actor(cmd.user.id, member_roles(cmd.member.as_deref()));
        let command = match command_from_options(lang, &cmd.data.options) {
            Ok(command) => command,
            Err(message) => return respond_ephemeral(ctx, cmd, message).await,
        };
        // `show` answers in the channel; an unknown stock is refused before deferring, since
        // a deferred reply cannot become ephemeral later.
        let public = matches!(command, Command::Show { .. });
        if let Command::Show { stock } = &command {
            if let Err(unknown) = self.runtime.app().resolve_stock(stock) {
                let denied = Denial::UnknownStock(unknown);
                return respond_ephemeral(ctx, cmd, messages::denial(lang, &denied)).await;
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
        let (private, text, embed) = match self
            .runtime
            .app()
            .handle(&actor, Input::Command(command))
            .await
        {
            Ok(outcome) => (
                outcome.is_private(),
                self.reply_text(lang, &outcome),
                reply_embed(lang, &outcome),
            ),
            Err(e) => {
                tracing::error!(error = %e, "command failed");
                (true, messages::internal_error(lang, &e), None)
            }
        };
        if public && private {
            // A refusal after a public deferral: drop the public placeholder, answer privately.
            let _ = cmd.delete_response(&ctx.http).await;
            let followup = CreateInteractionResponseFollowup::new()
                .content(truncate(&text))
                .ephemeral(true);
            if let Err(e) = cmd.create_followup(&ctx.http, followup).await {
                tracing::error!(error = %e, "could not send the reply");
            }
            return;
        }
        let edit = match embed {
            Some(embed) => EditInteractionResponse::new().embed(embed),
            None => EditInteractionResponse::new().content(truncate(&text)),
        };
        if let Err(e) = cmd.edit_response(&ctx.http, edit).await {
            tracing::error!(error = %e, "could not send the reply");
        }
    }

    async fn on_autocomplete(&self, ctx: &Context, ac: &CommandInteraction) {
        let typed = ac.data.autocomplete().map(|o| o.value).unwrap_or("");
        let mut response = CreateAutocompleteResponse::new();
        for (label, value) in stock_choices(self.runtime.app().stocks(), typed) {
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
        let lang = self.interaction_lang(&click.locale, click.guild_locale.as_deref());
        let actor = self
            .settings
            .actor(click.user.id, member_roles(click.member.as_ref()));
        let input = Input::Decide {
            request: request.to_string(),
            decision,
            via: Via::Button,
        };
        let text = match self.runtime.app().handle(&actor, input).await {
            Ok(outcome) => messages::outcome(lang, &outcome),
            Err(e) => messages::internal_error(lang, &e),
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
        let ReactionType::Unicode(emoji) = &reaction.emoji else {
            return;
        };
        let Some(decision) = decision_for_emoji(emoji) else {
            return;
        };
        // Only reactions in the server, with the member's roles in the payload, count.
        let Some(member) = reaction.member.as_ref() else {
            return;
        };
        let actor = self.settings.actor(user, &member.roles);
        // A reaction carries no locale: the DM about a refused one reads as the guild does.
        let lang = self.settings.guild_lang();
        // Elsewhere a ✅ is anyone's business; in the approvals channel it is a decision, and no
        // decision may vanish without a word.
        let on_approvals = reaction.channel_id == self.settings.approvals_channel;
        let message = reaction.message_id.to_string();
        let card = CardKey::new(PLATFORM, &reaction.channel_id.to_string(), &message);
        let give_up = Instant::now() + UNKNOWN_CARD_WAIT;
        let mut waiting = false;
        let outcome = loop {
            match self
                .runtime
                .app()
                .decide_on_card(&actor, &card, decision, Via::Reaction)
                .await
            {
                Ok(Some(outcome)) => break outcome,
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
                    return take_back(
                        ctx,
                        reaction,
                        user,
                        &messages::unknown_card(lang, emoji_of(decision)),
                    )
                    .await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "reaction decision failed");
                    if on_approvals {
                        let why = messages::reaction_failed(lang, emoji_of(decision), &e);
                        take_back(ctx, reaction, user, &why).await;
                    }
                    return;
                }
            }
        };
        if let Some(denied) = outcome.denial() {
            take_back(ctx, reaction, user, &messages::denial(lang, denied)).await;
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

/// The `kind` label of an interaction.
fn interaction_kind(interaction: &Interaction) -> &'static str {
    match interaction {
        Interaction::Command(_) => "command",
        Interaction::Autocomplete(_) => "autocomplete",
        Interaction::Component(_) => "button",
        _ => "other",
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.bot_user.set(ready.user.id);
        self.connection.set(true);
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

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        if guild.id == self.settings.guild_id {
            self.settings.guild_locale.set(&guild.preferred_locale);
        }
    }

    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        self.connection.set(event.new == ConnectionStage::Connected);
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        crate::ops::metrics::chat_event(PLATFORM, interaction_kind(&interaction));
        self.runtime
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
        crate::ops::metrics::chat_event(PLATFORM, "reaction");
        self.runtime.run(self.on_reaction(&ctx, &reaction)).await
    }
}
