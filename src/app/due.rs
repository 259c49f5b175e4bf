//! What comes due with time, besides expiry: reminders of requests still pending, and
//! scheduled changes whose time has come, applied by the one `apply` like any other.

use crate::domain::policy;
use crate::domain::request::RequestState;
use crate::store::AuditNote;

use super::{messages, App, AppError, NoticeKind};

impl App {
    /// Reminds the approvers once of every request still pending `remind_after` after it was
    /// made. The reminder is recorded on the request (compare-and-set) before it is sent, so
    /// it goes out once, across restarts and whichever worker gets there first. Returns how
    /// many were sent.
    pub async fn remind_due(&self) -> Result<usize, AppError> {
        let Some(after) = self.approval.remind_after else {
            return Ok(0);
        };
        let now = self.clock.now();
        let mut sent = 0;
        for request in self.store.open_requests(&[RequestState::Pending])? {
            if policy::remind(&request, after.as_secs(), now).is_none() {
                continue;
            }
            let reminded = self.store.update(request.id.as_str(), |current| {
                policy::remind(current, after.as_secs(), now)
                    .map(|next| (next, AuditNote::new(now, "reminded", None), ()))
                    .ok_or(())
            })?;
            let Ok((request, ())) = reminded else {
                continue;
            };
            self.announce(NoticeKind::Reminder, &request, None, || {
                messages::reminder_notice(&request)
            })
            .await;
            sent += 1;
        }
        Ok(sent)
    }

    /// Applies every Scheduled request whose time has come: Scheduled → Approved (one
    /// compare-and-set: a cancel at the same moment wins or loses whole), then the same
    /// `apply` as an immediate change, which re-reads the stock first. A request left
    /// Approved by a crash in between is resumed by `retry_unresolved`. Returns the ids.
    pub async fn apply_due(&self) -> Result<Vec<String>, AppError> {
        let now = self.clock.now();
        let mut applied = Vec::new();
        for request in self.store.open_requests(&[RequestState::Scheduled])? {
            if policy::due(&request, now).is_none() {
                continue;
            }
            let id = request.id.to_string();
            let due = self.store.update(&id, |current| {
                policy::due(current, now)
                    .map(|next| (next, AuditNote::new(now, "due", None), ()))
                    .ok_or(())
            })?;
            if due.is_err() {
                continue;
            }
            crate::ops::metrics::request_entered(RequestState::Approved);
            self.apply(&id, false).await?;
            applied.push(id);
        }
        Ok(applied)
    }
}
