//! Applying an approved request exactly once: claim it, re-read the stock, send the stored
//! body with the stored number, and settle the outcome (reconciling by re-reading when the
//! answer is unclear).

use crate::domain::budget::live_value;
use crate::domain::request::{ChangeRequest, RequestState, StockSummary};
use crate::failpoint;
use crate::i18n::{Lang, Localized, Message};
use crate::store::AuditNote;
use crate::wechatpay::ApiError;

use super::{messages, App, AppError, NoticeKind};

impl App {
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
        for request in self.store.open_requests(&[RequestState::Pending])? {
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
            .open_requests(&[RequestState::Approved, RequestState::Submitting])?
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
    #[tracing::instrument(skip_all, fields(request = %id, resumed = resumed))]
    pub(super) async fn apply(
        &self,
        id: &str,
        resumed: bool,
    ) -> Result<Option<ChangeRequest>, AppError> {
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
        if !may_have_been_sent {
            crate::ops::metrics::request_entered(RequestState::Submitting);
        }
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
                        messages::reread_failed_detail(&e),
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
                    messages::stale_detail(seen, &request),
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
                    messages::body_changed_detail(),
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
                let detail = messages::applied_detail(&request);
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
                        messages::confirmed_detail(&error),
                        response.request_id,
                    )
                } else if error.is_outcome_unknown() {
                    (
                        RequestState::Failed,
                        messages::not_applied_detail(live, &error),
                        error.request_id().map(str::to_owned),
                    )
                } else {
                    (
                        RequestState::Failed,
                        messages::api_error_detail(&error),
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
        let text = messages::unresolved_notice(request, error);
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
        detail: Message,
    ) -> Result<ChangeRequest, AppError> {
        // The English text is the record (what `audit show` and older versions read); the
        // message lets each language say it.
        let record = detail.render(Lang::En);
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
            next.outcome_detail = Some(record.clone());
            next.outcome_reason = Some(detail.clone());
            if state != RequestState::Applied {
                next.decided_at = Some(now);
            }
            let mut note = AuditNote::new(now, &action, None);
            note.api_request_id = api_request_id.clone();
            note.detail = Some(record.clone());
            note.reason = Some(detail.clone());
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
        crate::ops::metrics::request_entered(state);
        failpoint::hit("after_applied");
        self.update_card(&request).await;
        let kind = match state {
            RequestState::Applied => NoticeKind::Applied,
            RequestState::Stale => NoticeKind::Stale,
            _ => NoticeKind::Failed,
        };
        self.announce(kind, &request, None, || {
            messages::finished_notice(&request, &Localized::from(&detail))
        })
        .await;
        Ok(request)
    }
}
