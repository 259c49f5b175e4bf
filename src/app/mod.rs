//! The use cases: show, request a change, decide, apply, cancel, expire, recover, history.
//! Every adapter reaches these; none keeps rules of its own. Denials are replies to the actor,
//! not errors.

pub mod ports;
pub mod render;

use std::sync::Arc;

use crate::config::{ApprovalConfig, StockConfig};
use crate::domain::budget::{check_change, live_value};
use crate::domain::command::{self, Command, StockEntry};
use crate::domain::policy::{self, DecideOutcome, Decision, DenyReason};
use crate::domain::request::{
    group, Actor, ChangeRequest, RequestId, RequestState, SentCounts, StockSummary, Via,
};
use crate::failpoint;
use crate::store::{AuditEntry, AuditNote, SharedStore, StoreError};
use crate::wechatpay::model::{OutRequestNo, UpdateMode};
use crate::wechatpay::{ApiError, CouponApi, StockEntity};

pub use ports::{Clock, ManualClock, Notice, NoticeKind, Notifier, NotifyError, SystemClock};

/// A reply to whoever acted. Ephemeral replies are shown only to them.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub ephemeral: bool,
    pub body: ReplyBody,
}

/// What a reply carries; adapters render it (text, embeds).
#[derive(Clone, Debug, PartialEq)]
pub enum ReplyBody {
    /// A refusal, error or confirmation in words.
    Text(String),
    /// `/budget show`.
    Stock {
        label: String,
        stock: Box<StockEntity>,
    },
    /// A request was stored and its card posted.
    Created(Box<ChangeRequest>),
    /// The state of a request after a decision or cancel.
    Request {
        request: Box<ChangeRequest>,
        text: String,
    },
    Pending(Vec<ChangeRequest>),
    History {
        stock: String,
        entries: Vec<AuditEntry>,
    },
    Help(String),
}

impl Reply {
    fn private(text: impl Into<String>) -> Self {
        Self {
            ephemeral: true,
            body: ReplyBody::Text(text.into()),
        }
    }

    /// The reply as plain text.
    pub fn text(&self) -> String {
        match &self.body {
            ReplyBody::Text(t) | ReplyBody::Help(t) => t.clone(),
            ReplyBody::Stock { label, stock } => render::stock_text(label, stock),
            ReplyBody::Created(request) => format!(
                "Request {} stored: {} {} → {}. It needs {} approval(s) by {}; the card is in the approvals channel.",
                request.id,
                request.stock_label(),
                group(request.current),
                group(request.target),
                request.required_approvals,
                render::time_text(request.expires_at)
            ),
            ReplyBody::Request { text, .. } => text.clone(),
            ReplyBody::Pending(list) if list.is_empty() => "No pending requests.".into(),
            ReplyBody::Pending(list) => {
                let mut lines = vec![format!("{} pending request(s):", list.len())];
                lines.extend(list.iter().map(render::request_line));
                lines.join("\n")
            }
            ReplyBody::History { stock, entries } if entries.is_empty() => {
                format!("No history for {stock} yet.")
            }
            ReplyBody::History { stock, entries } => {
                let mut lines = vec![format!("Last {} event(s) for {stock}:", entries.len())];
                lines.extend(entries.iter().map(render::audit_line));
                lines.join("\n")
            }
        }
    }
}

/// A failure of the bot itself (store, platform), as opposed to a denial.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The use cases over their ports.
pub struct App {
    stocks: Vec<StockConfig>,
    approval: ApprovalConfig,
    api: Arc<dyn CouponApi>,
    store: SharedStore,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
}

fn api_failure_text(action: &str, e: &ApiError) -> String {
    format!("{action}: {e}")
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
            stocks,
            approval,
            api,
            store: store.into(),
            notifier,
            clock,
        }
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    pub fn stocks(&self) -> &[StockConfig] {
        &self.stocks
    }

    /// Resolves a stock id or configured name against the allow-list.
    pub fn resolve_stock(&self, token: &str) -> Result<&StockConfig, String> {
        let entries: Vec<StockEntry<'_>> = self
            .stocks
            .iter()
            .map(|s| StockEntry {
                stock_id: &s.stock_id,
                name: s.name.as_deref(),
            })
            .collect();
        command::resolve_stock(token, &entries)
            .map(|i| &self.stocks[i])
            .map_err(|unknown| unknown.to_string())
    }

    /// Parses and runs one `/budget ...` text.
    pub async fn handle_text(&self, actor: &Actor, text: &str) -> Result<Reply, AppError> {
        match command::parse_command(text) {
            Ok(cmd) => self.handle_command(actor, cmd).await,
            Err(e) => Ok(Reply::private(e.to_string())),
        }
    }

    /// Runs one parsed command.
    pub async fn handle_command(&self, actor: &Actor, cmd: Command) -> Result<Reply, AppError> {
        match cmd {
            Command::Show { stock } => Ok(self.show(&stock).await),
            Command::SetLimit {
                mode,
                stock,
                limit,
                reason,
            } => {
                self.request_change(actor, &stock, mode, limit, reason)
                    .await
            }
            Command::Pending => Ok(Reply {
                ephemeral: false,
                body: ReplyBody::Pending(self.store.in_state(&[RequestState::Pending])?),
            }),
            Command::Cancel { request } => self.cancel(actor, &request).await,
            Command::History { stock, count } => self.history(&stock, count as usize),
            Command::Help => Ok(Reply {
                ephemeral: true,
                body: ReplyBody::Help(command::help_text()),
            }),
        }
    }

    /// `/budget show`: the live limits of an allow-listed stock.
    pub async fn show(&self, token: &str) -> Reply {
        let stock = match self.resolve_stock(token) {
            Ok(stock) => stock,
            Err(message) => return Reply::private(message),
        };
        match self.api.get_stock(&stock.key()).await {
            Ok(response) => Reply {
                ephemeral: false,
                body: ReplyBody::Stock {
                    label: stock.label(),
                    stock: Box::new(response.value),
                },
            },
            Err(e) => Reply::private(api_failure_text(
                &format!("Could not read stock {}", stock.label()),
                &e,
            )),
        }
    }

    /// `/budget set-daily|set-total`: checks the live stock, stores the request, posts its card.
    pub async fn request_change(
        &self,
        actor: &Actor,
        token: &str,
        mode: UpdateMode,
        target: i64,
        reason: Option<String>,
    ) -> Result<Reply, AppError> {
        if let Err(denied) = policy::may_request(actor) {
            return Ok(Reply::private(denied.to_string()));
        }
        let stock = match self.resolve_stock(token) {
            Ok(stock) => stock,
            Err(message) => return Ok(Reply::private(message)),
        };
        let live = match self.api.get_stock(&stock.key()).await {
            Ok(response) => response.value,
            Err(e) => {
                return Ok(Reply::private(api_failure_text(
                    &format!("Could not read stock {} to check the change", stock.label()),
                    &e,
                )))
            }
        };
        let current = match check_change(&live, mode, target) {
            Ok(current) => current,
            Err(refusal) => return Ok(Reply::private(refusal.to_string())),
        };
        let now = self.clock.now();
        let id = RequestId::generate();
        let out_request_no = OutRequestNo::new(format!("bb-{now}-{id}"))
            .expect("bb-<digits>-<id> is a valid out_request_no");
        let request = ChangeRequest {
            id,
            stock_id: stock.stock_id.clone(),
            product_coupon_id: stock.product_coupon_id.clone(),
            stock_name: stock.name.clone(),
            mode,
            current,
            target,
            sent: SentCounts {
                today: live.sent_today(),
                total: live.sent_total(),
            },
            requester: actor.as_ref(),
            reason,
            created_at: now,
            expires_at: now + self.approval.ttl.as_secs().max(1),
            out_request_no,
            state: RequestState::Pending,
            approvals: Vec::new(),
            required_approvals: self.approval.required_approvals.max(1),
            decided_by: None,
            decided_at: None,
            outcome_detail: None,
            api_request_id: None,
            result: None,
            card: None,
            update_body: None,
        };
        let request = ChangeRequest {
            update_body: Some(
                String::from_utf8(request.update_request().body().to_vec()).expect("JSON is UTF-8"),
            ),
            ..request
        };
        // Claimed before it is stored, so no sweep posts its card a second time.
        let working = self.store.claim_work(request.id.as_str());
        self.store.create(
            &request,
            AuditNote::new(now, "requested", Some(actor.as_ref())),
        )?;
        failpoint::hit("after_request_stored");
        let request = self.attach_card(request).await?;
        drop(working);
        failpoint::hit("after_card_posted");
        self.announce(NoticeKind::Requested, &request, Some(actor), || {
            format!(
                "{} requests {} of {}: {} → {} ({}).",
                actor.display,
                crate::domain::request::field_label(mode),
                request.stock_label(),
                group(request.current),
                group(request.target),
                request.change_text()
            )
        })
        .await;
        // A quorum reached while this worker held the request (posting its card) found it busy
        // and could not apply it; the claim is released now, so apply it here rather than
        // leave it to the next sweep. `apply` claims it again, so it runs once.
        let request = match self.store.get(request.id.as_str())? {
            Some(now) if now.state == RequestState::Approved => {
                self.apply(now.id.as_str(), false).await?.unwrap_or(now)
            }
            Some(now) => now,
            None => request,
        };
        Ok(Reply {
            ephemeral: true,
            body: ReplyBody::Created(Box::new(request)),
        })
    }

    /// Posts the card of a stored request and records where it is (also used on recovery for
    /// a request whose card was never posted). The card is known to the store as soon as it
    /// exists, before the bot invites reactions on it, so no decision on it can go astray; a
    /// decision that came while it was being posted is shown on it at once.
    async fn attach_card(&self, request: ChangeRequest) -> Result<ChangeRequest, AppError> {
        let card = match self.notifier.post_card(&request).await {
            Ok(card) => card,
            Err(e) => {
                tracing::error!(request = %request.id, error = %e, "could not post approval card");
                return Ok(request);
            }
        };
        self.store
            .index_card(&card.message_id, request.id.as_str())?;
        let stored = self.store.update(request.id.as_str(), |r| {
            let mut next = r.clone();
            next.card = Some(card.clone());
            Ok::<_, ()>((
                next,
                AuditNote::new(self.clock.now(), "card_posted", None),
                (),
            ))
        })?;
        if let Err(e) = self.notifier.decorate_card(&card).await {
            tracing::warn!(request = %request.id, error = %e, "could not finish the approval card; its buttons still work");
        }
        let Some(latest) = self.store.get(request.id.as_str())? else {
            return Ok(stored.map(|(r, _)| r).unwrap_or(request));
        };
        if latest.state != request.state || latest.approvals.len() != request.approvals.len() {
            self.update_card(&latest).await;
        }
        Ok(latest)
    }

    /// Finds a request by id or `last`.
    fn find(&self, token: &str) -> Result<Result<ChangeRequest, DenyReason>, AppError> {
        if token.eq_ignore_ascii_case("last") {
            return Ok(self.store.last()?.ok_or(DenyReason::NoRequests));
        }
        let found = match RequestId::parse(token) {
            Some(id) => self.store.get(id.as_str())?,
            None => None,
        };
        Ok(found.ok_or(DenyReason::UnknownRequest {
            given: token.to_string(),
        }))
    }

    /// The one way of deciding: every button, reaction and console line comes here.
    pub async fn decide(
        &self,
        actor: &Actor,
        token: &str,
        decision: Decision,
        via: Via,
    ) -> Result<Reply, AppError> {
        let request = match self.find(token)? {
            Ok(request) => request,
            Err(denied) => return Ok(Reply::private(denied.to_string())),
        };
        self.decide_request(actor, request, decision, via).await
    }

    /// Deciding on the request whose card is `message_id`; `None` when it is not a card.
    pub async fn decide_on_card(
        &self,
        actor: &Actor,
        message_id: &str,
        decision: Decision,
        via: Via,
    ) -> Result<Option<Reply>, AppError> {
        let Some(id) = self.store.request_for_card(message_id)? else {
            return Ok(None);
        };
        let Some(request) = self.store.get(&id)? else {
            return Ok(None);
        };
        self.decide_request(actor, request, decision, via)
            .await
            .map(Some)
    }

    async fn decide_request(
        &self,
        actor: &Actor,
        request: ChangeRequest,
        decision: Decision,
        via: Via,
    ) -> Result<Reply, AppError> {
        let now = self.clock.now();
        if policy::is_expired(&request, now) {
            self.expire_one(&request).await?;
        }
        let action = match decision {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        };
        let decided = self.store.update(request.id.as_str(), |current| {
            let (next, outcome) = policy::decide(current, actor, decision, via, now)?;
            let mut note = AuditNote::new(now, action, Some(actor.as_ref()));
            note.detail = Some(format!("via {via}"));
            Ok::<_, DenyReason>((next, note, outcome))
        })?;
        let (request, outcome) = match decided {
            Ok(done) => done,
            Err(denied) => return Ok(Reply::private(denied.to_string())),
        };
        self.update_card(&request).await;
        match outcome {
            DecideOutcome::Approval { have, need } => {
                self.announce(NoticeKind::Approval, &request, Some(actor), || {
                    format!(
                        "{} approved request {} ({have} of {need}).",
                        actor.display, request.id
                    )
                })
                .await;
                Ok(request_reply(
                    request.clone(),
                    format!(
                        "Your approval of {} is recorded: {have} of {need}.",
                        request.id
                    ),
                ))
            }
            DecideOutcome::Rejected => {
                self.announce(NoticeKind::Rejected, &request, Some(actor), || {
                    format!(
                        "{} rejected request {}; nothing changes.",
                        actor.display, request.id
                    )
                })
                .await;
                Ok(request_reply(
                    request.clone(),
                    format!("You rejected request {}.", request.id),
                ))
            }
            DecideOutcome::Approved => {
                self.announce(NoticeKind::Approved, &request, Some(actor), || {
                    format!(
                        "{} approved request {}; applying it now.",
                        actor.display, request.id
                    )
                })
                .await;
                failpoint::hit("after_approved");
                let applied = self.apply(request.id.as_str(), false).await?;
                let text = match &applied {
                    Some(r) => format!("You approved request {}. {}", r.id, render::status_line(r)),
                    None => format!("You approved request {}; it is being applied.", request.id),
                };
                Ok(request_reply(applied.unwrap_or(request), text))
            }
        }
    }

    /// `/budget cancel`: the requester withdraws a pending request.
    pub async fn cancel(&self, actor: &Actor, token: &str) -> Result<Reply, AppError> {
        let request = match self.find(token)? {
            Ok(request) => request,
            Err(denied) => return Ok(Reply::private(denied.to_string())),
        };
        let now = self.clock.now();
        if policy::is_expired(&request, now) {
            self.expire_one(&request).await?;
        }
        let cancelled = self.store.update(request.id.as_str(), |current| {
            let next = policy::cancel(current, actor, now)?;
            Ok::<_, DenyReason>((
                next,
                AuditNote::new(now, "cancelled", Some(actor.as_ref())),
                (),
            ))
        })?;
        let request = match cancelled {
            Ok((request, ())) => request,
            Err(denied) => return Ok(Reply::private(denied.to_string())),
        };
        self.update_card(&request).await;
        self.announce(NoticeKind::Cancelled, &request, Some(actor), || {
            format!("{} cancelled request {}.", actor.display, request.id)
        })
        .await;
        Ok(request_reply(
            request.clone(),
            format!("Request {} is cancelled.", request.id),
        ))
    }

    /// `/budget history`: the last `count` audit entries of a stock.
    pub fn history(&self, token: &str, count: usize) -> Result<Reply, AppError> {
        let stock = match self.resolve_stock(token) {
            Ok(stock) => stock,
            Err(message) => return Ok(Reply::private(message)),
        };
        let mut entries = self.store.audit_entries(Some(&stock.stock_id))?;
        let skip = entries.len().saturating_sub(count);
        entries.drain(..skip);
        Ok(Reply {
            ephemeral: false,
            body: ReplyBody::History {
                stock: stock.label(),
                entries,
            },
        })
    }

    /// Expires every pending request past its TTL; returns how many.
    pub async fn expire_due(&self) -> Result<usize, AppError> {
        let now = self.clock.now();
        let mut expired = 0;
        for request in self.store.in_state(&[RequestState::Pending])? {
            if policy::is_expired(&request, now) && self.expire_one(&request).await? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    async fn expire_one(&self, request: &ChangeRequest) -> Result<bool, AppError> {
        let now = self.clock.now();
        let expired = self.store.update(request.id.as_str(), |current| {
            policy::expire(current, now)
                .map(|next| (next, AuditNote::new(now, "expired", None), ()))
                .ok_or(())
        })?;
        let Ok((request, ())) = expired else {
            return Ok(false);
        };
        self.update_card(&request).await;
        self.announce(NoticeKind::Expired, &request, None, || {
            format!("Request {} expired without enough approvals.", request.id)
        })
        .await;
        Ok(true)
    }

    /// On start: post cards that were never posted and resume requests left Approved or
    /// Submitting. Returns the ids resumed.
    pub async fn recover(&self) -> Result<Vec<String>, AppError> {
        self.retry_unresolved().await
    }

    /// Finishes work no worker of this process is doing: cards of pending requests that were
    /// never posted, and requests left Approved or Submitting (after a restart, or when an
    /// outcome could not be confirmed), resumed with their stored number. Run at start and
    /// then periodically by the adapters. Returns the ids resumed.
    pub async fn retry_unresolved(&self) -> Result<Vec<String>, AppError> {
        for request in self.store.in_state(&[RequestState::Pending])? {
            if request.card.is_some() {
                continue;
            }
            if let Some(_working) = self.store.claim_work(request.id.as_str()) {
                // Re-read: the worker that created it may have attached it meanwhile.
                if let Some(request) = self.store.get(request.id.as_str())? {
                    if request.card.is_none() {
                        self.attach_card(request).await?;
                    }
                }
            }
        }
        let mut resumed = Vec::new();
        for request in self
            .store
            .in_state(&[RequestState::Approved, RequestState::Submitting])?
        {
            let id = request.id.to_string();
            if self.store.is_busy(&id) {
                continue;
            }
            tracing::info!(request = %id, state = %request.state, "resuming request");
            self.apply(&id, true).await?;
            resumed.push(id);
        }
        Ok(resumed)
    }

    /// Approved → Submitting (atomically: one caller wins), re-read the stock, send the update
    /// with the stored request number and body, record the outcome. `resumed` is true when an
    /// earlier attempt (before a restart, or unconfirmed) may already have been applied.
    async fn apply(&self, id: &str, resumed: bool) -> Result<Option<ChangeRequest>, AppError> {
        let Some(_working) = self.store.claim_work(id) else {
            return Ok(self.store.get(id)?);
        };
        let now = self.clock.now();
        let claimed = self.store.update(id, |current| match current.state {
            RequestState::Approved => {
                let mut next = current.clone();
                next.state = RequestState::Submitting;
                Ok((next, AuditNote::new(now, "submitting", None), false))
            }
            RequestState::Submitting if resumed => {
                Ok((current.clone(), AuditNote::new(now, "resumed", None), true))
            }
            _ => Err(()),
        })?;
        let Ok((request, may_have_been_sent)) = claimed else {
            // Someone else is applying it, or it is already done.
            return Ok(self.store.get(id)?);
        };
        failpoint::hit("after_submitting");
        let live = match self.api.get_stock(&request.stock_key()).await {
            Ok(response) => response.value,
            Err(e) if may_have_been_sent => {
                // An earlier send may have gone through: nothing is known until a read works.
                return self.unresolved(&request, &e, &e).await;
            }
            Err(e) => {
                return self
                    .finish(
                        &request,
                        RequestState::Failed,
                        e.request_id().map(str::to_owned),
                        None,
                        format!(
                            "could not re-read the stock before applying, so nothing was sent: {e}"
                        ),
                    )
                    .await
                    .map(Some)
            }
        };
        let seen = live_value(&live, request.mode);
        let already_ours = may_have_been_sent && seen == Some(request.target);
        if seen != Some(request.current) && !already_ours {
            return self
                .finish(
                    &request,
                    RequestState::Stale,
                    None,
                    Some(StockSummary::of(&live)),
                    format!(
                        "the live value is now {} but {} was approved; nothing was sent. Make a new request.",
                        crate::app::render::limit_text(seen),
                        group(request.current)
                    ),
                )
                .await
                .map(Some);
        }
        let update = request.update_request();
        if request
            .update_body
            .as_deref()
            .is_some_and(|stored| stored.as_bytes() != update.body())
        {
            return self
                .finish(
                    &request,
                    RequestState::Failed,
                    None,
                    None,
                    "the stored request body differs from the one this version builds; nothing was sent. Make a new request.".into(),
                )
                .await
                .map(Some);
        }
        let mut result = self.api.update_budget(&request.stock_key(), &update).await;
        failpoint::hit("after_update_sent");
        if matches!(&result, Err(ApiError::Verification { .. })) {
            // The client retries timeouts and 5xx itself; an answer that failed verification
            // is resent once here: same number, same body, signed afresh.
            tracing::warn!(request = %request.id, "update answer unverifiable; resending the same request");
            result = self.api.update_budget(&request.stock_key(), &update).await;
        }
        match result {
            // Applied only on a verified answer (about this stock: the client checks) that
            // shows the target. A 2xx showing anything else proves nothing either way.
            Ok(response) if live_value(&response.value, request.mode) == Some(request.target) => {
                let detail = format!(
                    "{} is now {}",
                    request.mode.field_name(),
                    group(request.target)
                );
                self.finish(
                    &request,
                    RequestState::Applied,
                    response.request_id,
                    Some(StockSummary::of(&response.value)),
                    detail,
                )
                .await
                .map(Some)
            }
            Ok(response) => {
                let unconfirmed = ApiError::Unconfirmed {
                    field: request.mode.field_name(),
                    target: request.target,
                    shown: live_value(&response.value, request.mode),
                    request_id: response.request_id,
                };
                self.reconcile(&request, unconfirmed).await
            }
            // Whatever the last answer was, an earlier attempt may have been applied (a
            // timeout, then a 400 for the stale current value): the stock decides.
            Err(e) => self.reconcile(&request, e).await,
        }
    }

    /// After a failed send: read the stock and decide from what it shows.
    async fn reconcile(
        &self,
        request: &ChangeRequest,
        error: ApiError,
    ) -> Result<Option<ChangeRequest>, AppError> {
        match self.api.get_stock(&request.stock_key()).await {
            Ok(response) => {
                let live = live_value(&response.value, request.mode);
                let summary = Some(StockSummary::of(&response.value));
                let (state, detail, api_request_id) = if live == Some(request.target) {
                    (
                        RequestState::Applied,
                        format!("confirmed by re-reading the stock after: {error}"),
                        response.request_id,
                    )
                } else if error.is_outcome_unknown() {
                    (
                        RequestState::Failed,
                        format!(
                            "not applied: the stock still shows {} after: {error}",
                            render::limit_text(live)
                        ),
                        error.request_id().map(str::to_owned),
                    )
                } else {
                    (
                        RequestState::Failed,
                        error.to_string(),
                        error.request_id().map(str::to_owned),
                    )
                };
                self.finish(request, state, api_request_id, summary, detail)
                    .await
                    .map(Some)
            }
            Err(read_error) => self.unresolved(request, &error, &read_error).await,
        }
    }

    /// The outcome cannot be known now: stay Submitting; `retry_unresolved` resumes it with
    /// the same request number.
    async fn unresolved(
        &self,
        request: &ChangeRequest,
        error: &ApiError,
        read_error: &ApiError,
    ) -> Result<Option<ChangeRequest>, AppError> {
        tracing::error!(request = %request.id, %error, %read_error, "outcome unknown; left Submitting for retry");
        let text = format!(
            "Request {}: WeChat Pay did not confirm the change ({error}) and the stock could not be re-read; \
             the bot will retry with the same request number.",
            request.id
        );
        self.announce(NoticeKind::Unresolved, request, None, || text.clone())
            .await;
        Ok(Some(request.clone()))
    }

    /// Submitting → a final state, with audit, card edit and notification.
    async fn finish(
        &self,
        request: &ChangeRequest,
        state: RequestState,
        api_request_id: Option<String>,
        result: Option<StockSummary>,
        detail: String,
    ) -> Result<ChangeRequest, AppError> {
        let now = self.clock.now();
        let action = state.as_str().to_lowercase();
        let finished = self.store.update(request.id.as_str(), |current| {
            if current.state != RequestState::Submitting {
                return Err(());
            }
            let mut next = current.clone();
            next.state = state;
            next.api_request_id = api_request_id.clone().or(next.api_request_id);
            next.result = result.clone().or(next.result);
            next.outcome_detail = Some(detail.clone());
            if state != RequestState::Applied {
                next.decided_at = Some(now);
            }
            let mut note = AuditNote::new(now, &action, None);
            note.api_request_id = api_request_id.clone();
            note.detail = Some(detail.clone());
            Ok((next, note, ()))
        })?;
        let request = match finished {
            Ok((request, ())) => request,
            Err(()) => {
                return Ok(self
                    .store
                    .get(request.id.as_str())?
                    .unwrap_or(request.clone()))
            }
        };
        failpoint::hit("after_applied");
        self.update_card(&request).await;
        let kind = match state {
            RequestState::Applied => NoticeKind::Applied,
            RequestState::Stale => NoticeKind::Stale,
            _ => NoticeKind::Failed,
        };
        self.announce(kind, &request, None, || match state {
            RequestState::Applied => format!(
                "Applied request {}: {} of {} changed {} → {}. {}",
                request.id,
                request.mode.field_name(),
                request.stock_label(),
                group(request.current),
                group(request.target),
                request
                    .result
                    .as_ref()
                    .map(summary_text)
                    .unwrap_or_default()
            ),
            _ => format!("Request {} {}: {}", request.id, state, detail),
        })
        .await;
        Ok(request)
    }

    async fn update_card(&self, request: &ChangeRequest) {
        if let Err(e) = self.notifier.update_card(request).await {
            tracing::error!(request = %request.id, error = %e, "could not update approval card");
        }
    }

    async fn announce(
        &self,
        kind: NoticeKind,
        request: &ChangeRequest,
        actor: Option<&Actor>,
        text: impl FnOnce() -> String,
    ) {
        let notice = Notice {
            kind,
            request: request.clone(),
            actor: actor.map(Actor::as_ref),
            text: text(),
        };
        if let Err(e) = self.notifier.notify(&notice).await {
            tracing::error!(request = %request.id, error = %e, "could not post notification");
        }
    }
}

fn request_reply(request: ChangeRequest, text: String) -> Reply {
    Reply {
        ephemeral: true,
        body: ReplyBody::Request {
            request: Box::new(request),
            text,
        },
    }
}

/// The resulting stock in one line, for the notification of an applied change.
pub fn summary_text(summary: &StockSummary) -> String {
    format!(
        "Now: total limit {}, daily limit {}, sent today {}, sent in total {}, state {}.",
        render::limit_text(summary.max_count),
        render::limit_text(summary.max_count_per_day),
        group(summary.sent_today),
        group(summary.sent_total),
        summary.state
    )
}
