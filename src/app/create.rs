//! Requesting a change: check its schedule, check it against the live stock and the hard
//! limits, fix how many approvals it needs, store it with its fixed request number and body,
//! post its card.

use crate::domain::budget::check_change;
use crate::domain::policy;
use crate::domain::request::{Actor, ChangeRequest, RequestId, RequestState, SentCounts};
use crate::domain::schedule::{self, When};
use crate::failpoint;
use crate::store::{AuditNote, CardKey};
use crate::wechatpay::model::{OutRequestNo, UpdateMode};

use super::{messages, App, AppError, Denial, NoticeKind, Outcome, ReadPurpose};

impl App {
    /// `/budget set-daily|set-total`: checks the live stock, stores the request, posts its card.
    pub async fn request_change(
        &self,
        actor: &Actor,
        token: &str,
        mode: UpdateMode,
        target: i64,
        reason: Option<String>,
    ) -> Result<Outcome, AppError> {
        self.request_change_at(actor, token, mode, target, reason, None)
            .await
    }

    /// [`App::request_change`], applied once approved and `at` has come (`None`: at once).
    #[tracing::instrument(skip_all, fields(stock = %crate::domain::text::echo(token), actor = %actor.id))]
    pub async fn request_change_at(
        &self,
        actor: &Actor,
        token: &str,
        mode: UpdateMode,
        target: i64,
        reason: Option<String>,
        at: Option<When>,
    ) -> Result<Outcome, AppError> {
        if let Err(denied) = policy::may_request(actor) {
            return Ok(denied.into());
        }
        let apply_at = match at
            .map(|when| schedule::resolve(&when, self.clock.now(), &self.display.timezone))
            .transpose()
        {
            Ok(apply_at) => apply_at,
            Err(refusal) => return Ok(Denial::Schedule(refusal).into()),
        };
        let stock = match self.resolve_stock(token) {
            Ok(stock) => stock,
            Err(denied) => return Ok(denied.into()),
        };
        let live = match self.api.get_stock(&stock.key()).await {
            Ok(response) => response.value,
            Err(error) => {
                return Ok(Denial::StockUnreadable {
                    label: stock.label(),
                    purpose: ReadPurpose::CheckChange,
                    error,
                }
                .into())
            }
        };
        let current = match check_change(&live, mode, target) {
            Ok(current) => current,
            Err(refusal) => return Ok(Denial::Change(refusal).into()),
        };
        if let Err(refusal) = self.approval.hard_limits().check(current, target) {
            return Ok(Denial::Limit(refusal).into());
        }
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
            required_approvals: self.approval.required_for(current, target),
            decided_by: None,
            decided_at: None,
            outcome_detail: None,
            outcome_reason: None,
            api_request_id: None,
            result: None,
            card: None,
            update_body: None,
            apply_at,
            reminded_at: None,
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
        crate::ops::metrics::request_entered(RequestState::Pending);
        failpoint::hit("after_request_stored");
        let request = self.attach_card(request).await?;
        drop(working);
        failpoint::hit("after_card_posted");
        self.announce(NoticeKind::Requested, &request, Some(actor), || {
            messages::requested_notice(&actor.display, &request)
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
        Ok(Outcome::Created(Box::new(request)))
    }

    /// Posts the card of a stored request and records where it is (also used on recovery for
    /// a request whose card was never posted). The card is known to the store as soon as it
    /// exists, before the bot invites reactions on it, so no decision on it can go astray; a
    /// decision that came while it was being posted is shown on it at once.
    pub(super) async fn attach_card(
        &self,
        request: ChangeRequest,
    ) -> Result<ChangeRequest, AppError> {
        let card = match self.notifier.post_card(&request).await {
            Ok(card) => card,
            Err(e) => {
                tracing::error!(request = %request.id, error = %e, "could not post approval card");
                crate::ops::metrics::notify_failed();
                return Ok(request);
            }
        };
        self.store.index_card(
            CardKey::new(
                self.notifier.platform_of(&request),
                &card.channel_id,
                &card.message_id,
            ),
            request.id.as_str(),
        )?;
        let stored = self.store.update(request.id.as_str(), |r| {
            let mut next = r.clone();
            next.card = Some(card.clone());
            Ok::<_, ()>((
                next,
                AuditNote::new(self.clock.now(), "card_posted", None),
                (),
            ))
        })?;
        if let Err(e) = self.notifier.decorate_card_of(&request, &card).await {
            tracing::warn!(request = %request.id, error = %e, "could not finish the approval card; its buttons still work");
            crate::ops::metrics::notify_failed();
        }
        let Some(latest) = self.store.get(request.id.as_str())? else {
            return Ok(stored.map(|(r, _)| r).unwrap_or(request));
        };
        if latest.state != request.state || latest.approvals.len() != request.approvals.len() {
            self.update_card(&latest).await;
        }
        Ok(latest)
    }
}
