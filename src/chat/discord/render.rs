//! How cards, replies and notices look on Discord: embeds, colours, buttons, links.

use serenity::all::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, GuildId};

use crate::app::{messages, Outcome};
use crate::chat::{CardView, Tone};
use crate::domain::custom_id;
use crate::domain::policy::Decision;
use crate::domain::request::{group, CardRef, ChangeRequest, RequestState};
use crate::i18n::Lang;

/// Embed colours by outcome.
const COLOR_PENDING: u32 = 0xF1C40F;
const COLOR_APPLIED: u32 = 0x2ECC71;
const COLOR_ENDED: u32 = 0x95A5A6;
const COLOR_FAILED: u32 = 0xE74C3C;
const COLOR_INFO: u32 = 0x3498DB;

pub(super) fn tone_color(tone: Tone) -> u32 {
    match tone {
        Tone::Open => COLOR_PENDING,
        Tone::Applied => COLOR_APPLIED,
        Tone::Failed => COLOR_FAILED,
        Tone::Ended => COLOR_ENDED,
    }
}

/// The card's embed, in `lang`.
pub fn card_embed(lang: Lang, request: &ChangeRequest, approvers: &str) -> CreateEmbed {
    // A Discord timestamp: each reader sees their own time zone, and how long is left.
    let expires = format!("<t:{0}:f> (<t:{0}:R>)", request.expires_at);
    let card = CardView::new(lang, request, approvers, &expires);
    CreateEmbed::new()
        .title(card.title)
        .description(card.text)
        .color(tone_color(card.tone))
}

/// Approve and Reject, disabled once the request is decided.
pub fn card_buttons(lang: Lang, request: &ChangeRequest) -> Vec<CreateActionRow> {
    let decided = request.state != RequestState::Pending;
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(custom_id::encode(&request.id, Decision::Approve))
            .label(messages::label(lang, "button-approve"))
            .style(ButtonStyle::Success)
            .disabled(decided),
        CreateButton::new(custom_id::encode(&request.id, Decision::Reject))
            .label(messages::label(lang, "button-reject"))
            .style(ButtonStyle::Danger)
            .disabled(decided),
    ])]
}

/// The message link of a card.
pub(super) fn card_link(guild: GuildId, card: &CardRef) -> String {
    format!(
        "https://discord.com/channels/{guild}/{}/{}",
        card.channel_id, card.message_id
    )
}

/// The embed an outcome is shown as, when it has one (`show`); others are text.
pub(super) fn reply_embed(lang: Lang, outcome: &Outcome) -> Option<CreateEmbed> {
    let word = |id: &str| messages::label(lang, id);
    match outcome {
        Outcome::Stock { label, stock } => Some(
            CreateEmbed::new()
                .title(label)
                .color(COLOR_INFO)
                .field(word("embed-state"), stock.state.to_string(), true)
                .field(
                    word("embed-total-limit"),
                    messages::limit_text(lang, stock.max_count()),
                    true,
                )
                .field(
                    word("embed-daily-limit"),
                    messages::limit_text(lang, stock.max_count_per_day()),
                    true,
                )
                .field(
                    word("embed-per-user"),
                    messages::limit_text(lang, stock.max_count_per_user()),
                    true,
                )
                .field(word("embed-sent-total"), group(stock.sent_total()), true)
                .field(word("embed-sent-today"), group(stock.sent_today()), true)
                .field(
                    word("embed-left-total"),
                    messages::left_text(lang, stock.max_count(), stock.sent_total()),
                    true,
                )
                .field(
                    word("embed-left-today"),
                    messages::left_text(lang, stock.max_count_per_day(), stock.sent_today()),
                    true,
                ),
        ),
        _ => None,
    }
}

pub(super) fn truncate(text: &str) -> String {
    const LIMIT: usize = 1900;
    if text.chars().count() <= LIMIT {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(LIMIT).collect();
        cut.push_str("\n…");
        cut
    }
}
