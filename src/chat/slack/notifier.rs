//! Cards and notices on Slack: the app's [`Notifier`] port over the Web API.

use std::sync::Arc;

use async_trait::async_trait;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use crate::app::{messages, Notice, NoticeKind, Notifier, NotifyError};
use crate::domain::i18n::Localized;
use crate::domain::request::{CardRef, ChangeRequest};

use super::render::{card_blocks, card_fallback, notice_blocks};
use super::settings::{Client, SlackSettings};

/// The platform name in the card index and in actor ids (`slack:U…`).
pub const PLATFORM: &str = "slack";

/// The reactions a card invites, by Slack's names.
pub const APPROVE_REACTION: &str = "white_check_mark";
pub const REJECT_REACTION: &str = "x";

/// Posts and edits cards, posts notifications, with the bot token.
pub struct SlackNotifier {
    client: Arc<Client>,
    token: SlackApiToken,
    settings: SlackSettings,
}

/// A Web API failure in words, with no token in it (slack-morphism's errors carry none).
pub(super) fn platform(e: SlackClientError) -> NotifyError {
    NotifyError(format!("Slack: {e}"))
}

impl SlackNotifier {
    /// Posts `text` (the plain-text fallback) with `blocks` to the notifications channel.
    async fn post_notification(
        &self,
        text: String,
        blocks: Vec<SlackBlock>,
    ) -> Result<(), NotifyError> {
        let content = SlackMessageContent::new()
            .with_text(text)
            .with_blocks(blocks);
        self.client
            .open_session(&self.token)
            .chat_post_message(&SlackApiChatPostMessageRequest::new(
                SlackChannelId(self.settings.notifications_channel.clone()),
                content,
            ))
            .await
            .map_err(platform)?;
        Ok(())
    }

    pub fn new(client: Arc<Client>, token: SlackApiToken, settings: SlackSettings) -> Self {
        Self {
            client,
            token,
            settings,
        }
    }

    /// A reply in the card's thread mentioning the approver groups and users, as Discord
    /// replies to the card mentioning the roles; without a card, a post in the approvals
    /// channel.
    async fn remind(&self, notice: &Notice) -> Result<(), NotifyError> {
        let lang = self.settings.lang;
        let text = messages::reminder_to(
            lang,
            &self.settings.approver_mentions(),
            notice.text.get(lang),
        );
        let content = SlackMessageContent::new()
            .with_text(text.clone())
            .with_blocks(vec![super::render::section(&text)]);
        let card = notice.request.card.as_ref();
        let channel = card.map_or(&self.settings.approvals_channel, |c| &c.channel_id);
        let mut post =
            SlackApiChatPostMessageRequest::new(SlackChannelId(channel.clone()), content);
        if let Some(card) = card {
            post = post.with_thread_ts(SlackTs(card.message_id.clone()));
        }
        self.client
            .open_session(&self.token)
            .chat_post_message(&post)
            .await
            .map_err(platform)?;
        Ok(())
    }

    fn content(&self, request: &ChangeRequest) -> SlackMessageContent {
        SlackMessageContent::new()
            .with_text(card_fallback(self.settings.lang, request))
            .with_blocks(card_blocks(
                self.settings.lang,
                request,
                &self.settings.approver_mentions(),
            ))
    }
}

#[async_trait]
impl Notifier for SlackNotifier {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    async fn post_card(&self, request: &ChangeRequest) -> Result<CardRef, NotifyError> {
        let session = self.client.open_session(&self.token);
        let posted = session
            .chat_post_message(&SlackApiChatPostMessageRequest::new(
                SlackChannelId(self.settings.approvals_channel.clone()),
                self.content(request),
            ))
            .await
            .map_err(platform)?;
        Ok(CardRef {
            channel_id: posted.channel.0,
            message_id: posted.ts.0,
        })
    }

    /// The bot's own reactions, added once the card is stored, so a reaction they invite
    /// always finds its request. A failed one is logged: the buttons still work.
    async fn decorate_card(&self, card: &CardRef) -> Result<(), NotifyError> {
        let session = self.client.open_session(&self.token);
        let mut failed = None;
        for name in [APPROVE_REACTION, REJECT_REACTION] {
            if let Err(e) = session
                .reactions_add(&SlackApiReactionsAddRequest::new(
                    SlackChannelId(card.channel_id.clone()),
                    SlackReactionName(name.into()),
                    SlackTs(card.message_id.clone()),
                ))
                .await
            {
                tracing::warn!(error = %e, reaction = name, "could not add the card's reaction");
                failed = Some(platform(e));
            }
        }
        failed.map_or(Ok(()), Err)
    }

    async fn update_card(&self, request: &ChangeRequest) -> Result<(), NotifyError> {
        let Some(card) = &request.card else {
            return Ok(());
        };
        let session = self.client.open_session(&self.token);
        session
            .chat_update(&SlackApiChatUpdateRequest::new(
                SlackChannelId(card.channel_id.clone()),
                self.content(request),
                SlackTs(card.message_id.clone()),
            ))
            .await
            .map_err(platform)?;
        Ok(())
    }

    async fn notify(&self, notice: &Notice) -> Result<(), NotifyError> {
        if notice.kind == NoticeKind::Reminder {
            return self.remind(notice).await;
        }
        self.post_notification(
            notice.text.get(self.settings.lang).to_string(),
            notice_blocks(self.settings.lang, notice, None),
        )
        .await
    }

    async fn alert(&self, text: &Localized) -> Result<(), NotifyError> {
        let text = text.get(self.settings.lang).to_string();
        let blocks = vec![super::render::section(&text)];
        self.post_notification(text, blocks).await
    }
}
