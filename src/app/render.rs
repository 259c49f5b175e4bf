//! Plain-text renderings shared by the adapters: stock summaries, approval cards, lists. The
//! Discord adapter builds embeds from the same pieces.

use crate::domain::request::{field_label, group, ChangeRequest, RequestState};
use crate::store::AuditEntry;
use crate::wechatpay::model::UpdateMode;
use crate::wechatpay::StockEntity;

/// `unlimited` for an absent limit, else the grouped number.
pub fn limit_text(value: Option<i64>) -> String {
    value.map(group).unwrap_or_else(|| "unlimited".into())
}

/// What is left under a limit after `sent` (`unlimited` for an absent limit, never negative).
pub fn left_text(limit: Option<i64>, sent: i64) -> String {
    limit
        .map(|l| group(l.saturating_sub(sent).max(0)))
        .unwrap_or_else(|| "unlimited".into())
}

/// UTC `YYYY-MM-DD HH:MM:SSZ`.
pub fn time_text(unix: u64) -> String {
    /// 9999-12-31T23:59:59Z: humantime cannot format later instants.
    const LAST_FORMATTABLE: u64 = 253_402_300_799;
    if unix > LAST_FORMATTABLE {
        return format!("unix time {unix}");
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
}

/// The lines of `/budget show`.
pub fn stock_text(label: &str, stock: &StockEntity) -> String {
    let total_left = left_text(stock.max_count(), stock.sent_total());
    let today_left = left_text(stock.max_count_per_day(), stock.sent_today());
    format!(
        "{label}: {state}\n\
         total limit (max_count): {total} | sent {sent_total} | left {total_left}\n\
         daily limit (max_count_per_day): {daily} | sent today {sent_today} | left today {today_left}\n\
         per user (max_count_per_user): {per_user}",
        state = stock.state,
        total = limit_text(stock.max_count()),
        sent_total = group(stock.sent_total()),
        daily = limit_text(stock.max_count_per_day()),
        sent_today = group(stock.sent_today()),
        per_user = limit_text(stock.max_count_per_user()),
    )
}

/// One line summarising where a request stands.
pub fn status_line(request: &ChangeRequest) -> String {
    let who = |r: &Option<crate::domain::request::ActorRef>| {
        r.as_ref()
            .map(|a| format!(" by {}", a.display))
            .unwrap_or_default()
    };
    let when = request
        .decided_at
        .map(|t| format!(" at {}", time_text(t)))
        .unwrap_or_default();
    match request.state {
        RequestState::Pending => format!(
            "Pending: {} of {} approvals",
            request.approvals.len(),
            request.required_approvals
        ),
        RequestState::Approved | RequestState::Submitting => {
            format!("Approved{}{when}; applying", who(&request.decided_by))
        }
        RequestState::Applied => format!("Applied{}{when}", who(&request.decided_by)),
        RequestState::Rejected => format!("Rejected{}{when}", who(&request.decided_by)),
        RequestState::Cancelled => format!("Cancelled{}{when}", who(&request.decided_by)),
        RequestState::Expired => format!("Expired{when}"),
        RequestState::Stale => format!(
            "Stale: {}",
            request
                .outcome_detail
                .as_deref()
                .unwrap_or("the live value changed")
        ),
        RequestState::Failed => format!(
            "Failed: {}",
            request
                .outcome_detail
                .as_deref()
                .unwrap_or("see the audit log")
        ),
    }
}

/// The approval card's text; `approvers` says who may approve (names or role mentions).
pub fn card_text(request: &ChangeRequest, approvers: &str) -> String {
    card_text_with(request, approvers, &time_text(request.expires_at))
}

/// The card's text with the expiry written by the platform (e.g. a Discord timestamp).
pub fn card_text_with(request: &ChangeRequest, approvers: &str, expires: &str) -> String {
    let mut lines = vec![
        format!("Budget change request {}", request.id),
        format!("Stock: {}", request.stock_label()),
        format!("Field: {}", field_label(request.mode)),
        format!(
            "Change: {} → {} ({})",
            group(request.current),
            group(request.target),
            request.change_text()
        ),
        format!(
            "Sent: {} today, {} in total",
            group(request.sent.today),
            group(request.sent.total)
        ),
        format!("Requested by: {}", request.requester.display),
        format!(
            "Reason: {}",
            request.reason.as_deref().unwrap_or("(none given)")
        ),
        format!("Expires: {expires}"),
        format!("May approve: {approvers}"),
    ];
    if !request.approvals.is_empty() {
        let names: Vec<_> = request
            .approvals
            .iter()
            .map(|a| a.by.display.as_str())
            .collect();
        lines.push(format!("Approved by: {}", names.join(", ")));
    }
    lines.push(format!("Status: {}", status_line(request)));
    if let Some(result) = &request.result {
        lines.push(format!(
            "Result: total {}, daily {}, sent today {}, sent total {}, state {}",
            limit_text(result.max_count),
            limit_text(result.max_count_per_day),
            group(result.sent_today),
            group(result.sent_total),
            result.state
        ));
    }
    lines.join("\n")
}

/// One line per request for `/budget pending`.
pub fn request_line(request: &ChangeRequest) -> String {
    let verb = match request.mode {
        UpdateMode::MaxCount => "set-total",
        UpdateMode::MaxCountPerDay => "set-daily",
    };
    format!(
        "{} {} {} {} → {} by {} (expires {}; {})",
        request.id,
        verb,
        request.stock_label(),
        group(request.current),
        group(request.target),
        request.requester.display,
        time_text(request.expires_at),
        status_line(request)
    )
}

/// One line per audit entry for `/budget history` and `audit show`.
pub fn audit_line(entry: &AuditEntry) -> String {
    let actor = entry
        .actor
        .as_ref()
        .map(|a| a.display.as_str())
        .unwrap_or("bot");
    let from = entry.from.map(|s| s.as_str()).unwrap_or("-");
    let mut line = format!(
        "#{} {} {} {} {} by {}: {} → {} ({} {} → {})",
        entry.seq,
        time_text(entry.at),
        entry.request_id,
        entry.stock_id,
        entry.action,
        actor,
        from,
        entry.to,
        entry.field,
        group(entry.before),
        group(entry.after)
    );
    if let Some(id) = &entry.api_request_id {
        line.push_str(&format!(" Request-ID {id}"));
    }
    if let Some(detail) = &entry.detail {
        line.push_str(&format!(" [{detail}]"));
    }
    line
}
