//! The use cases: show, request a change, decide, apply, cancel, expire, recover, history.
//! Every adapter reaches these through [`App::handle`]; none keeps rules of its own. What
//! happened comes back as a typed [`Outcome`] (a refusal is [`Outcome::Denied`], not an
//! error), which [`messages`] puts into words.

mod apply;
mod create;
mod decide;
mod due;
pub mod input;
pub mod messages;
pub mod outcome;
pub mod ports;
pub mod queries;
pub mod runtime;
mod watch;

use std::sync::Arc;

use crate::config::{ApprovalConfig, DisplayConfig, StockConfig, WatchConfig};
use crate::domain::command::{self, Command, UnknownStock};
use crate::domain::request::{Actor, ChangeRequest, RequestState};
use crate::i18n::Localized;
use crate::store::{SharedStore, StoreError};
use crate::wechatpay::CouponApi;

pub use input::Input;
pub use outcome::{Decided, Denial, Outcome, ReadPurpose};
pub use ports::{Clock, ManualClock, Notice, NoticeKind, Notifier, NotifyError, SystemClock};
pub use queries::Allowlist;

/// The plain-text renderings, under their old name.
pub use messages as render;

/// A failure of the bot itself (store, platform), as opposed to a denial.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything an [`App`] is made of but its notifier. An adapter that shows cards builds its
/// app from these and its own notifier ([`AppParts::with_notifier`]), so the cards the app
/// posts can only go where that adapter looks for them.
pub struct AppParts {
    pub stocks: Vec<StockConfig>,
    pub approval: ApprovalConfig,
    pub api: Arc<dyn CouponApi>,
    pub store: SharedStore,
    pub clock: Arc<dyn Clock>,
    pub display: DisplayConfig,
    pub watch: Option<WatchConfig>,
}

impl AppParts {
    pub fn with_notifier(self, notifier: Arc<dyn Notifier>) -> App {
        App::new(
            self.stocks,
            self.approval,
            self.api,
            self.store,
            notifier,
            self.clock,
        )
        .with_display(self.display)
        .with_watch(self.watch)
    }
}

/// The use cases over their ports.
pub struct App {
    stocks: Allowlist,
    approval: ApprovalConfig,
    api: Arc<dyn CouponApi>,
    store: SharedStore,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    display: DisplayConfig,
    watch: Option<WatchConfig>,
    /// When the stocks were last watched (app clock), so each sweep knows whether it is time.
    watched_at: std::sync::Mutex<Option<u64>>,
}

impl App {
    pub fn new(
        stocks: Vec<StockConfig>,
        approval: ApprovalConfig,
        api: Arc<dyn CouponApi>,
        store: impl Into<SharedStore>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            stocks: Allowlist::new(stocks),
            approval,
            api,
            store: store.into(),
            notifier,
            clock,
            display: DisplayConfig::default(),
            watch: None,
            watched_at: std::sync::Mutex::new(None),
        }
    }

    /// The time zone `at HH:MM` is read in and every time is written in (default
    /// Asia/Shanghai). One per process: plain-text messages read it.
    pub fn with_display(mut self, display: DisplayConfig) -> Self {
        messages::set_timezone(display.timezone.clone());
        self.display = display;
        self
    }

    /// Burn alerts: with `Some`, each sweep reads the stocks once `interval` has passed.
    pub fn with_watch(mut self, watch: Option<WatchConfig>) -> Self {
        self.watch = watch;
        self
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    pub fn stocks(&self) -> &[StockConfig] {
        self.stocks.all()
    }

    /// Resolves a stock id or configured name against the allow-list.
    pub fn resolve_stock(&self, token: &str) -> Result<&StockConfig, UnknownStock> {
        self.stocks.resolve(token)
    }

    /// Runs one input from one actor: the one entrance for every adapter.
    pub async fn handle(&self, actor: &Actor, input: Input) -> Result<Outcome, AppError> {
        match input {
            Input::Text(text) => match command::parse_command(&text) {
                Ok(cmd) => self.handle_command(actor, cmd).await,
                Err(e) => Ok(Denial::Parse(e).into()),
            },
            Input::Command(cmd) => self.handle_command(actor, cmd).await,
            Input::Decide {
                request,
                decision,
                via,
            } => self.decide(actor, &request, decision, via).await,
        }
    }

    /// Parses and runs one `/budget ...` text.
    pub async fn handle_text(&self, actor: &Actor, text: &str) -> Result<Outcome, AppError> {
        self.handle(actor, Input::Text(text.to_string())).await
    }

    /// Runs one parsed command.
    pub async fn handle_command(&self, actor: &Actor, cmd: Command) -> Result<Outcome, AppError> {
        match cmd {
            Command::Show { stock } => Ok(self.show(&stock).await),
            Command::SetLimit {
                mode,
                stock,
                limit,
                reason,
                at,
            } => {
                self.request_change_at(actor, &stock, mode, limit, reason, at)
                    .await
            }
            Command::Pending => {
                Ok(Outcome::Pending(self.store.open_requests(&[
                    RequestState::Pending,
                    RequestState::Scheduled,
                ])?))
            }
            Command::Cancel { request } => self.cancel(actor, &request).await,
            Command::History { stock, count } => self.history(&stock, count as usize),
            Command::Help => Ok(Outcome::Help),
        }
    }

    async fn update_card(&self, request: &ChangeRequest) {
        if let Err(e) = self.notifier.update_card(request).await {
            tracing::error!(request = %request.id, error = %e, "could not update approval card");
            crate::ops::metrics::notify_failed();
        }
    }

    async fn announce(
        &self,
        kind: NoticeKind,
        request: &ChangeRequest,
        actor: Option<&Actor>,
        text: impl FnOnce() -> Localized,
    ) {
        let notice = Notice {
            kind,
            request: request.clone(),
            actor: actor.map(Actor::as_ref),
            text: text(),
        };
        if let Err(e) = self.notifier.notify(&notice).await {
            tracing::error!(request = %request.id, error = %e, "could not post notification");
            crate::ops::metrics::notify_failed();
        }
    }
}

/// The resulting stock in one line (kept at its old path).
pub use messages::summary_text;
