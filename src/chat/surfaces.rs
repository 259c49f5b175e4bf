//! Several chat platforms over one app: a request's card lives on the platform where it was
//! requested (the platform is the first part of the requester's id, `slack:U…`), and every
//! notice goes to every platform's notifications channel.

use std::sync::Arc;

use async_trait::async_trait;

use crate::app::{Notice, Notifier, NotifyError};
use crate::domain::i18n::Localized;
use crate::domain::request::{CardRef, ChangeRequest};

/// One [`Notifier`] made of each running platform's.
pub struct Surfaces {
    notifiers: Vec<Arc<dyn Notifier>>,
}

impl Surfaces {
    /// `notifiers` in order of preference: the first takes cards whose requester's platform
    /// is not running (a request made on a console, say).
    pub fn new(notifiers: Vec<Arc<dyn Notifier>>) -> Self {
        assert!(!notifiers.is_empty(), "at least one chat platform");
        Self { notifiers }
    }

    /// The notifier of the platform `request` was made on, if it runs here.
    fn home(&self, request: &ChangeRequest) -> Option<&Arc<dyn Notifier>> {
        let platform = request.requester.id.split(':').next().unwrap_or_default();
        self.notifiers.iter().find(|n| n.platform() == platform)
    }
}

#[async_trait]
impl Notifier for Surfaces {
    /// Which platform posted a card is decided per request; this names the first one.
    fn platform(&self) -> &'static str {
        self.notifiers[0].platform()
    }

    async fn post_card(&self, request: &ChangeRequest) -> Result<CardRef, NotifyError> {
        self.home(request)
            .unwrap_or(&self.notifiers[0])
            .post_card(request)
            .await
    }

    fn platform_of(&self, request: &ChangeRequest) -> &'static str {
        self.home(request).unwrap_or(&self.notifiers[0]).platform()
    }

    async fn decorate_card_of(
        &self,
        request: &ChangeRequest,
        card: &CardRef,
    ) -> Result<(), NotifyError> {
        self.home(request)
            .unwrap_or(&self.notifiers[0])
            .decorate_card(card)
            .await
    }

    async fn update_card(&self, request: &ChangeRequest) -> Result<(), NotifyError> {
        self.home(request)
            .unwrap_or(&self.notifiers[0])
            .update_card(request)
            .await
    }

    async fn notify(&self, notice: &Notice) -> Result<(), NotifyError> {
        let mut failed = None;
        for notifier in &self.notifiers {
            if let Err(e) = notifier.notify(notice).await {
                tracing::warn!(platform = notifier.platform(), error = %e, "could not post a notification");
                failed = Some(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    async fn alert(&self, text: &Localized) -> Result<(), NotifyError> {
        let mut failed = None;
        for notifier in &self.notifiers {
            if let Err(e) = notifier.alert(text).await {
                tracing::warn!(platform = notifier.platform(), error = %e, "could not post an alert");
                failed = Some(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }
}
