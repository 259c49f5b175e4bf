//! The ports the use cases need from the outside world besides the API and the store: a clock
//! and a notifier that posts and edits approval cards and announces events.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::domain::request::{ActorRef, CardRef, ChangeRequest};
use crate::i18n::Localized;

/// Unix time in seconds.
pub trait Clock: Send + Sync {
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock tests move by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(now: u64) -> Self {
        Self(AtomicU64::new(now))
    }
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What happened, for the notifications channel.
#[derive(Clone, Debug, PartialEq)]
pub enum NoticeKind {
    Requested,
    Approval,
    Approved,
    /// Approved before its time: it applies at its `apply_at`.
    Scheduled,
    /// The approvers are reminded of a request still pending.
    Reminder,
    Rejected,
    Cancelled,
    /// The request expired; its requester is told.
    Expired,
    Applied,
    Stale,
    Failed,
    /// The outcome is not known yet; the bot will retry with the same request number.
    Unresolved,
}

/// One announcement: the request as it is now, who caused it, and words for it in every
/// language (the platform shows the one its channel reads).
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub request: ChangeRequest,
    pub actor: Option<ActorRef>,
    pub text: Localized,
}

/// A chat platform's failure to post or edit; logged, never fatal to the workflow.
#[derive(Debug, thiserror::Error)]
#[error("chat platform error: {0}")]
pub struct NotifyError(pub String);

/// Where cards and notices go. Each adapter (console, Discord) implements it.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// The platform this notifier posts to (`discord`, `console`, ...): with the card's channel
    /// and message it names a card uniquely, whichever platforms share the store.
    fn platform(&self) -> &'static str;
    /// Posts the approval card of a new request and says where it is. Nothing more: the app
    /// stores where the card is before anyone can be invited to act on it.
    async fn post_card(&self, request: &ChangeRequest) -> Result<CardRef, NotifyError>;
    /// Finishes a card once it is stored (e.g. the bot's own ✅/❌ that invite reactions).
    async fn decorate_card(&self, _card: &CardRef) -> Result<(), NotifyError> {
        Ok(())
    }
    /// The platform that posts `request`'s card: [`Notifier::platform`], unless this
    /// notifier fronts several platforms and picks one per request.
    fn platform_of(&self, _request: &ChangeRequest) -> &'static str {
        self.platform()
    }
    /// [`Notifier::decorate_card`] for `request`'s card, for a notifier that fronts several
    /// platforms and must know whose card it is.
    async fn decorate_card_of(
        &self,
        _request: &ChangeRequest,
        card: &CardRef,
    ) -> Result<(), NotifyError> {
        self.decorate_card(card).await
    }
    /// Re-renders the card after any change of the request.
    async fn update_card(&self, request: &ChangeRequest) -> Result<(), NotifyError>;
    /// Announces an event in the notifications channel. A [`NoticeKind::Reminder`] goes to
    /// the approvers (on the card, where the platform can reply to it, naming them); an
    /// [`NoticeKind::Expired`] names the requester.
    async fn notify(&self, notice: &Notice) -> Result<(), NotifyError>;
    /// Posts an alert about a stock, not a request (burn alerts), in the notifications
    /// channel. A platform that cannot refuses, and the alert is logged instead.
    async fn alert(&self, _text: &Localized) -> Result<(), NotifyError> {
        Err(NotifyError(
            "this platform does not post stock alerts".into(),
        ))
    }
}
