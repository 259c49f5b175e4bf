//! How cards, replies and notices look on Slack: Block Kit blocks (slack-morphism's models)
//! with a plain-text fallback for notifications and screen readers.

use crate::i18n::Lang;
use slack_morphism::prelude::*;

use crate::app::{messages, Notice, NoticeKind, Outcome};
use crate::chat::{CardView, Tone};
use crate::domain::custom_id;
use crate::domain::policy::Decision;
use crate::domain::request::{group, ChangeRequest};

/// Slack's limit on a section's text.
const MAX_SECTION_TEXT: usize = 3000;

/// `&`, `<` and `>` as Slack wants them in text a person typed, so a reason cannot
/// mention `@channel` or fake a link.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn mrkdwn(text: &str) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(cut(text, MAX_SECTION_TEXT)))
}

fn header(text: &str) -> SlackBlock {
    // Slack's limit on a header's text is 150 characters.
    SlackHeaderBlock::new(SlackBlockPlainTextOnly::from(cut(text, 150))).into()
}

pub(super) fn section(text: &str) -> SlackBlock {
    SlackSectionBlock::new().with_text(mrkdwn(text)).into()
}

fn fields(pairs: &[(&str, String)]) -> SlackBlock {
    SlackSectionBlock::new()
        .with_fields(
            pairs
                .iter()
                .map(|(name, value)| mrkdwn(&format!("*{name}*\n{value}")))
                .collect(),
        )
        .into()
}

fn context(text: &str) -> SlackBlock {
    SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
        SlackBlockMarkDownText::new(cut(text, MAX_SECTION_TEXT)),
    )])
    .into()
}

fn tone_mark(tone: Tone) -> &'static str {
    match tone {
        Tone::Open => ":hourglass_flowing_sand:",
        Tone::Applied => ":white_check_mark:",
        Tone::Ended => ":no_entry_sign:",
        Tone::Failed => ":warning:",
    }
}

/// The card as it stands now: header, text, and either the buttons (pending) or a line
/// saying how it was decided.
pub fn card_blocks(lang: Lang, request: &ChangeRequest, approvers: &str) -> Vec<SlackBlock> {
    let mut shown = request.clone();
    shown.reason = shown.reason.as_deref().map(escape);
    // Slack writes the date in each reader's time zone; the fallback is UTC.
    let expires = format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        request.expires_at,
        messages::time_text(lang, request.expires_at)
    );
    let card = CardView::new(lang, &shown, approvers, &expires);
    let mut blocks = vec![header(&card.title), section(&card.text)];
    if card.open {
        blocks.push(
            SlackActionsBlock::new(vec![
                button(lang, request, Decision::Approve).into(),
                button(lang, request, Decision::Reject).into(),
            ])
            .into(),
        );
        blocks.push(context(&messages::label(lang, "slack-card-hint")));
    } else {
        blocks.push(context(&format!(
            "{} {}",
            tone_mark(card.tone),
            messages::status_line(lang, request)
        )));
    }
    blocks
}

fn button(lang: Lang, request: &ChangeRequest, decision: Decision) -> SlackBlockButtonElement {
    let (label, style) = match decision {
        Decision::Approve => ("button-approve", SlackBlockButtonStyle::Primary),
        Decision::Reject => ("button-reject", SlackBlockButtonStyle::Danger),
    };
    SlackBlockButtonElement::new(SlackBlockPlainTextOnly::from(messages::label(lang, label)))
        .with_action_id(SlackActionId(custom_id::encode(&request.id, decision)))
        .with_value(request.id.to_string())
        .with_style(style)
}

/// The card's plain-text fallback (notifications, screen readers).
pub fn card_fallback(lang: Lang, request: &ChangeRequest) -> String {
    format!(
        "{}: {} {} → {}",
        messages::card_title(lang, request),
        request.stock_label(),
        group(request.current),
        group(request.target)
    )
}

/// An outcome's blocks, when it has richer ones than its text: `show` as the stock's limits
/// and counts in fields under a header.
pub fn outcome_blocks(lang: Lang, outcome: &Outcome) -> Option<Vec<SlackBlock>> {
    let Outcome::Stock { label, stock } = outcome else {
        return None;
    };
    let word = |id: &str| messages::label(lang, id);
    Some(vec![
        header(label),
        fields(&[
            (
                &word("embed-total-limit"),
                messages::limit_text(lang, stock.max_count()),
            ),
            (
                &word("embed-daily-limit"),
                messages::limit_text(lang, stock.max_count_per_day()),
            ),
            (
                &word("embed-per-user"),
                messages::limit_text(lang, stock.max_count_per_user()),
            ),
            (&word("embed-state"), stock.state.to_string()),
        ]),
        fields(&[
            (&word("embed-sent-today"), group(stock.sent_today())),
            (&word("embed-sent-total"), group(stock.sent_total())),
            (
                &word("embed-left-today"),
                messages::left_text(lang, stock.max_count_per_day(), stock.sent_today()),
            ),
            (
                &word("embed-left-total"),
                messages::left_text(lang, stock.max_count(), stock.sent_total()),
            ),
        ]),
    ])
}

/// A notice for the notifications channel; an applied change carries the resulting stock.
pub fn notice_blocks(lang: Lang, notice: &Notice, card_link: Option<&str>) -> Vec<SlackBlock> {
    let word = |id: &str| messages::label(lang, id);
    let mut text = notice.text.get(lang).to_string();
    if let Some(link) = card_link {
        text.push_str(&format!(" <{link}|{}>", word("link-card")));
    }
    let mut blocks = vec![section(&text)];
    if notice.kind == NoticeKind::Applied {
        if let Some(result) = &notice.request.result {
            blocks.insert(0, header(&messages::applied_title(lang, &notice.request)));
            blocks.push(fields(&[
                (
                    &word("notice-total-limit"),
                    messages::limit_text(lang, result.max_count),
                ),
                (
                    &word("notice-daily-limit"),
                    messages::limit_text(lang, result.max_count_per_day),
                ),
                (&word("embed-sent-today"), group(result.sent_today)),
                (&word("embed-sent-total"), group(result.sent_total)),
                (&word("embed-state"), result.state.clone()),
            ]));
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_cannot_mention_or_link() {
        assert_eq!(
            escape("<!channel> & <http://x|y>"),
            "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
        );
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
