//! Cards and notices on Discord: the app's [`Notifier`] port.

use std::sync::{Arc, OnceLock};

use serenity::all::{
    ChannelId, CreateActionRow, CreateEmbed, CreateMessage, EditMessage, Http, MessageId,
    ReactionType,
};
use serenity::async_trait;

use crate::app::{messages, Notice, NoticeKind, Notifier, NotifyError};
use crate::chat::{Tone, APPROVE_EMOJI, REJECT_EMOJI};
use crate::domain::request::{group, CardRef, ChangeRequest};
use crate::i18n::Localized;

use super::render::{card_buttons, card_embed, card_link, tone_color};
use super::settings::DiscordSettings;

/// The platform name in the card index (see [`Notifier::platform`]).
pub const PLATFORM: &str = "discord";

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

    /// A card as posted and as edited: the same embed and buttons, in the guild's language.
    fn card(&self, request: &ChangeRequest) -> (CreateEmbed, Vec<CreateActionRow>) {
        let lang = self.settings.guild_lang();
        (
            card_embed(lang, request, &self.settings.approver_mentions()),
            card_buttons(lang, request),
        )
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
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    async fn post_card(&self, request: &ChangeRequest) -> Result<CardRef, NotifyError> {
        let http = self.http()?;
        let (embed, buttons) = self.card(request);
        let message = self
            .settings
            .approvals_channel
            .send_message(http, CreateMessage::new().embed(embed).components(buttons))
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
        let (embed, buttons) = self.card(request);
        channel
            .edit_message(
                self.http()?,
                message,
                EditMessage::new().embed(embed).components(buttons),
            )
            .await
            .map_err(platform)?;
        Ok(())
    }

    async fn notify(&self, notice: &Notice) -> Result<(), NotifyError> {
        if notice.kind == NoticeKind::Reminder {
            return self.remind(notice).await;
        }
        let lang = self.settings.guild_lang();
        let label = |id: &str| messages::label(lang, id);
        let mut embed = CreateEmbed::new()
            .description(notice.text.get(lang))
            .color(tone_color(Tone::of(notice.request.state)));
        if notice.kind == NoticeKind::Applied {
            if let Some(result) = &notice.request.result {
                embed = embed
                    .title(messages::applied_title(lang, &notice.request))
                    .field(
                        label("notice-total-limit"),
                        messages::limit_text(lang, result.max_count),
                        true,
                    )
                    .field(
                        label("notice-daily-limit"),
                        messages::limit_text(lang, result.max_count_per_day),
                        true,
                    )
                    .field(label("embed-sent-today"), group(result.sent_today), true)
                    .field(label("embed-sent-total"), group(result.sent_total), true)
                    .field(label("embed-state"), &result.state, true);
            }
        }
        if let Some(card) = &notice.request.card {
            embed = embed.url(card_link(self.settings.guild_id, card));
        }
        let mut message = CreateMessage::new().embed(embed);
        if notice.kind == NoticeKind::Expired {
            // Mentions in an embed ping nobody: the requester is named in the content.
            message = message.content(&notice.request.requester.display);
        }
        self.settings
            .notifications_channel
            .send_message(self.http()?, message)
            .await
            .map_err(platform)?;
        Ok(())
    }

    async fn alert(&self, text: &Localized) -> Result<(), NotifyError> {
        let embed = CreateEmbed::new()
            .description(text.get(self.settings.guild_lang()))
            .color(tone_color(Tone::Failed));
        self.settings
            .notifications_channel
            .send_message(self.http()?, CreateMessage::new().embed(embed))
            .await
            .map_err(platform)?;
        Ok(())
    }
}

impl DiscordNotifier {
    /// A reply to the request's card mentioning the approver roles; without a card, a post
    /// in the approvals channel.
    async fn remind(&self, notice: &Notice) -> Result<(), NotifyError> {
        let lang = self.settings.guild_lang();
        let text = messages::reminder_to(
            lang,
            &self.settings.approver_mentions(),
            notice.text.get(lang),
        );
        let mut message = CreateMessage::new().content(text);
        if let Some((channel, card)) = notice
            .request
            .card
            .as_ref()
            .and_then(|c| parse_message_id(c).ok())
        {
            message = message.reference_message((channel, card));
        }
        self.settings
            .approvals_channel
            .send_message(self.http()?, message)
            .await
            .map_err(platform)?;
        Ok(())
    }
}
