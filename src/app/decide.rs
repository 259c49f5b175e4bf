//! Deciding: approve, reject, cancel and expire. Every button, reaction and console line
//! reaches the one `decide_request`.

use crate::domain::policy::{self, DecideOutcome, Decision, DenyReason};
use crate::domain::request::{Actor, ChangeRequest, RequestId, RequestState, Via};
use crate::failpoint;
use crate::i18n::Lang;
use crate::store::{AuditNote, CardKey};

use super::{messages, App, AppError, Decided, NoticeKind, Outcome};

impl App {
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
    ) -> Result<Outcome, AppError> {
        let request = match self.find(token)? {
            Ok(request) => request,
            Err(denied) => return Ok(denied.into()),
        };
        self.decide_request(actor, request, decision, via).await
    }

    /// Deciding on the request whose card is `card`; `None` when it is not a card.
    pub async fn decide_on_card(
        &self,
        actor: &Actor,
        card: &CardKey,
        decision: Decision,
        via: Via,
    ) -> Result<Option<Outcome>, AppError> {
        let Some(id) = self.store.request_for_card(card)? else {
            return Ok(None);
        };
        let Some(request) = self.store.get(&id)? else {
            return Ok(None);
        };
        self.decide_request(actor, request, decision, via)
            .await
            .map(Some)
    }

    #[tracing::instrument(skip_all, fields(request = %request.id, stock = %request.stock_id, actor = %actor.id))]
    async fn decide_request(
        &self,
        actor: &Actor,
        request: ChangeRequest,
        decision: Decision,
        via: Via,
    ) -> Result<Outcome, AppError> {
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
            let how = messages::via_detail(&via.to_string());
            note.detail = Some(how.render(Lang::En));
            note.reason = Some(how);
            Ok::<_, DenyReason>((next, note, outcome))
        })?;
        let (request, outcome) = match decided {
            Ok(done) => done,
            Err(denied) => return Ok(denied.into()),
        };
        if request.state != RequestState::Pending {
            crate::ops::metrics::request_entered(request.state);
        }
        self.update_card(&request).await;
        let decided = |request: ChangeRequest, decided| Outcome::Decided {
            request: Box::new(request),
            decided,
        };
        match outcome {
            DecideOutcome::Approval { have, need } => {
                self.announce(NoticeKind::Approval, &request, Some(actor), || {
                    messages::approval_notice(&actor.display, &request, have, need)
                })
                .await;
                Ok(decided(request, Decided::Approval { have, need }))
            }
            DecideOutcome::Rejected => {
                self.announce(NoticeKind::Rejected, &request, Some(actor), || {
                    messages::rejected_notice(&actor.display, &request)
                })
                .await;
                Ok(decided(request, Decided::Rejected))
            }
            DecideOutcome::Scheduled { at } => {
                self.announce(NoticeKind::Scheduled, &request, Some(actor), || {
                    messages::scheduled_notice(&actor.display, &request, at)
                })
                .await;
                Ok(decided(request, Decided::Scheduled { at }))
            }
            DecideOutcome::Approved => {
                self.announce(NoticeKind::Approved, &request, Some(actor), || {
                    messages::approved_notice(&actor.display, &request)
                })
                .await;
                failpoint::hit("after_approved");
                let applied = self.apply(request.id.as_str(), false).await?;
                let settled = applied.is_some();
                Ok(decided(
                    applied.unwrap_or(request),
                    Decided::Approved { settled },
                ))
            }
        }
    }

    /// `/budget cancel`: the requester withdraws a pending request, or a scheduled one before
    /// its time.
    pub async fn cancel(&self, actor: &Actor, token: &str) -> Result<Outcome, AppError> {
        let request = match self.find(token)? {
            Ok(request) => request,
            Err(denied) => return Ok(denied.into()),
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
            Err(denied) => return Ok(denied.into()),
        };
        crate::ops::metrics::request_entered(RequestState::Cancelled);
        self.update_card(&request).await;
        self.announce(NoticeKind::Cancelled, &request, Some(actor), || {
            messages::cancelled_notice(&actor.display, &request)
        })
        .await;
        Ok(Outcome::Decided {
            request: Box::new(request),
            decided: Decided::Cancelled,
        })
    }

    /// Expires every pending request past its TTL; returns how many.
    pub async fn expire_due(&self) -> Result<usize, AppError> {
        let now = self.clock.now();
        let mut expired = 0;
        for request in self.store.open_requests(&[RequestState::Pending])? {
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
        crate::ops::metrics::request_entered(RequestState::Expired);
        self.update_card(&request).await;
        self.announce(NoticeKind::Expired, &request, None, || {
            messages::expired_notice(&request)
        })
        .await;
        Ok(true)
    }
}
