//! Every sentence the bot says, in one place: replies to each [`Outcome`], refusals, cards,
//! notices, and the adapters' own words about input they could not take. A second language is
//! a second file shaped like this one. (The command grammar's own errors and the allow-list's
//! did-you-mean still render in `domain::command`, which is being split separately.)

use crate::domain::budget::ChangeRefusal;
use crate::domain::command::{code_echo, help_text};
use crate::domain::policy::DenyReason;
use crate::domain::request::{
    field_label, group, ActorRef, ChangeRequest, RequestState, StockSummary,
};
use crate::domain::text::MAX_ECHO;
use crate::store::AuditEntry;
use crate::wechatpay::model::{UpdateMode, MAX_BUDGET_VALUE};
use crate::wechatpay::{ApiError, StockEntity};

use super::outcome::{Decided, Denial, Outcome, ReadPurpose};

mod schedule;
pub use schedule::*;

/// `1 approval`, `2 approvals`.
pub fn approvals_text(n: u32) -> String {
    if n == 1 {
        "1 approval".into()
    } else {
        format!("{n} approvals")
    }
}

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
    let who = |r: &Option<ActorRef>| {
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
        RequestState::Scheduled => format!(
            "Approved{}{when}; applies at {}",
            who(&request.decided_by),
            request.apply_at.map(local_time).unwrap_or_default()
        ),
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

/// The approval card's title.
pub fn card_title(request: &ChangeRequest) -> String {
    format!("Budget change {} — {}", request.id, request.state)
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
    if request.required_approvals > 1 {
        lines.push(format!(
            "Needs: {} from different people",
            approvals_text(request.required_approvals)
        ));
    }
    if let Some(at) = request.apply_at {
        lines.push(format!("Applies at: {} once approved", local_time(at)));
    }
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
    let schedule = match (request.state, request.apply_at) {
        (RequestState::Pending, Some(at)) => {
            format!("; applies at {} once approved", local_time(at))
        }
        _ => String::new(),
    };
    let expires = match request.state {
        RequestState::Pending => format!("expires {}; ", time_text(request.expires_at)),
        _ => String::new(),
    };
    format!(
        "{} {} {} {} → {} by {} ({expires}{}{schedule})",
        request.id,
        verb,
        request.stock_label(),
        group(request.current),
        group(request.target),
        request.requester.display,
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

/// The resulting stock in one line, for the notification of an applied change.
pub fn summary_text(summary: &StockSummary) -> String {
    format!(
        "Now: total limit {}, daily limit {}, sent today {}, sent in total {}, state {}.",
        limit_text(summary.max_count),
        limit_text(summary.max_count_per_day),
        group(summary.sent_today),
        group(summary.sent_total),
        summary.state
    )
}

// ---- Replies to the actor ---------------------------------------------------------------

/// The reply to whoever acted, as plain text.
pub fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Denied(denied) => denial(denied),
        Outcome::Help => help_text(),
        Outcome::Stock { label, stock } => stock_text(label, stock),
        Outcome::Created(request) => format!(
            "Request {} stored: {} {} → {}. It needs {} by {}{}; the card is in the approvals channel.",
            request.id,
            request.stock_label(),
            group(request.current),
            group(request.target),
            approvals_text(request.required_approvals),
            time_text(request.expires_at),
            request
                .apply_at
                .map(|at| format!(" and then applies at {}", local_time(at)))
                .unwrap_or_default()
        ),
        Outcome::Decided { request, decided } => decided_text(request, *decided),
        Outcome::Pending(list) if list.is_empty() => "No pending requests.".into(),
        Outcome::Pending(list) => {
            let mut lines = vec![format!("{} pending request(s):", list.len())];
            lines.extend(list.iter().map(request_line));
            lines.join("\n")
        }
        Outcome::History { stock, entries } if entries.is_empty() => {
            format!("No history for {stock} yet.")
        }
        Outcome::History { stock, entries } => {
            let mut lines = vec![format!("Last {} event(s) for {stock}:", entries.len())];
            lines.extend(entries.iter().map(audit_line));
            lines.join("\n")
        }
    }
}

fn decided_text(request: &ChangeRequest, decided: Decided) -> String {
    let id = &request.id;
    match decided {
        Decided::Approval { have, need } => {
            format!("Your approval of {id} is recorded: {have} of {need}.")
        }
        Decided::Rejected => format!("You rejected request {id}."),
        Decided::Approved { settled: true } => {
            format!("You approved request {id}. {}", status_line(request))
        }
        Decided::Approved { settled: false } => {
            format!("You approved request {id}; it is being applied.")
        }
        Decided::Scheduled { at } => format!(
            "You approved request {id}. It applies at {}; until then it can be cancelled.",
            local_time(at)
        ),
        Decided::Cancelled => format!("Request {id} is cancelled."),
    }
}

/// A refusal, saying what to do instead.
pub fn denial(denial: &Denial) -> String {
    match denial {
        Denial::Parse(e) => e.to_string(),
        Denial::UnknownStock(unknown) => unknown.to_string(),
        Denial::Policy(reason) => deny_reason(reason),
        Denial::Change(refusal) => change_refusal(refusal),
        Denial::Limit(refusal) => limit_refusal(refusal),
        Denial::Schedule(refusal) => schedule_refusal(refusal),
        Denial::StockUnreadable {
            label,
            purpose: ReadPurpose::Show,
            error,
        } => api_failure(&format!("Could not read stock {label}"), error),
        Denial::StockUnreadable {
            label,
            purpose: ReadPurpose::CheckChange,
            error,
        } => api_failure(
            &format!("Could not read stock {label} to check the change"),
            error,
        ),
    }
}

fn api_failure(action: &str, e: &ApiError) -> String {
    format!("{action}: {e}")
}

/// Who may do what, and when.
pub fn deny_reason(reason: &DenyReason) -> String {
    match reason {
        DenyReason::NotRequester => "You don't have the requester role, so you can't request budget changes. Ask an admin for it.".into(),
        DenyReason::NotApprover => "You don't have the approver role, so you can't approve or reject changes. Ask someone who has it.".into(),
        DenyReason::SelfApproval => "You requested this change, so you can't approve it: someone else with the approver role must.".into(),
        DenyReason::AlreadyApproved { have, need } => format!(
            "You already approved this request; it has {have} of {need} approvals and needs someone else."
        ),
        DenyReason::NotPending { id, state } => format!(
            "Request {id} is already {state}; there is nothing left to decide. See /budget pending for open requests."
        ),
        DenyReason::Expired { id } => format!(
            "Request {id} has expired. Make a new request with /budget set-daily or /budget set-total."
        ),
        DenyReason::NotYourRequest { id } => format!(
            "Only the person who made request {id} can cancel it; approvers can reject it instead."
        ),
        DenyReason::UnknownRequest { given } => format!(
            "There is no request `{}`. See /budget pending for open requests and their ids.",
            code_echo(given, MAX_ECHO)
        ),
        DenyReason::NoRequests => "There are no requests yet. Make one with /budget set-daily or /budget set-total.".into(),
    }
}

/// A change the API cannot make on the live stock.
pub fn change_refusal(refusal: &ChangeRefusal) -> String {
    match refusal {
        ChangeRefusal::WrongState { state } => format!(
            "This stock is {state}; budgets can only change while it is SENDING or PAUSED."
        ),
        ChangeRefusal::SameAsCurrent { value } => format!(
            "The limit is already {}. Nothing to change: give a different number.",
            group(*value)
        ),
        ChangeRefusal::BelowSent { target, sent } => format!(
            "{} is below the {} coupons already sent; the total limit cannot go under that. Use at least {}.",
            group(*target),
            group(*sent),
            group(*sent)
        ),
        ChangeRefusal::AboveMaximum { target } => format!(
            "{} is above the API's maximum of {}. Use a number up to {}.",
            group(*target),
            group(MAX_BUDGET_VALUE),
            group(MAX_BUDGET_VALUE)
        ),
        ChangeRefusal::Negative { target } => {
            format!("{} is negative; limits are 0 or more.", group(*target))
        }
        ChangeRefusal::DailyUnlimited => "This stock's daily limit is unlimited, and the API cannot turn an unlimited daily \
             limit into a limited one. Change it on the brand platform, or use set-total."
            .into(),
        ChangeRefusal::CurrentUnknown => "WeChat Pay did not report this stock's current limit, so the change cannot be guarded. Try again later.".into(),
    }
}

/// What a user sees when the bot itself failed (the store); details go to the logs.
pub fn internal_error(e: &impl std::fmt::Display) -> String {
    format!("Something went wrong on the bot's side: {e}")
}

// ---- Notices in the notifications channel -----------------------------------------------

pub fn requested_notice(actor: &str, request: &ChangeRequest) -> String {
    format!(
        "{actor} requests {} of {}: {} → {} ({}).",
        field_label(request.mode),
        request.stock_label(),
        group(request.current),
        group(request.target),
        request.change_text()
    )
}

pub fn approval_notice(actor: &str, request: &ChangeRequest, have: u32, need: u32) -> String {
    format!(
        "{actor} approved request {} ({have} of {need}).",
        request.id
    )
}

pub fn rejected_notice(actor: &str, request: &ChangeRequest) -> String {
    format!("{actor} rejected request {}; nothing changes.", request.id)
}

pub fn approved_notice(actor: &str, request: &ChangeRequest) -> String {
    format!("{actor} approved request {}; applying it now.", request.id)
}

pub fn cancelled_notice(actor: &str, request: &ChangeRequest) -> String {
    format!("{actor} cancelled request {}.", request.id)
}

pub fn expired_notice(request: &ChangeRequest) -> String {
    format!(
        "{}: your request {} expired with {} of {}; nothing changes. Make a new request if it is still needed.",
        request.requester.display,
        request.id,
        request.approvals.len(),
        approvals_text(request.required_approvals)
    )
}

/// A request reached a final state (`detail` is its outcome detail).
pub fn finished_notice(request: &ChangeRequest, detail: &str) -> String {
    match request.state {
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
        state => format!("Request {} {}: {}", request.id, state, detail),
    }
}

/// The title of an applied change's notice, where a platform shows one.
pub fn applied_title(request: &ChangeRequest) -> String {
    format!("Applied: {}", request.stock_label())
}

pub fn unresolved_notice(request: &ChangeRequest, error: &ApiError) -> String {
    format!(
        "Request {}: WeChat Pay did not confirm the change ({error}) and the stock could not be re-read; \
         the bot will retry with the same request number.",
        request.id
    )
}

// ---- Outcome details stored on a request and shown on its card --------------------------

pub fn applied_detail(request: &ChangeRequest) -> String {
    format!(
        "{} is now {}",
        request.mode.field_name(),
        group(request.target)
    )
}

pub fn reread_failed_detail(e: &ApiError) -> String {
    format!("could not re-read the stock before applying, so nothing was sent: {e}")
}

pub fn stale_detail(seen: Option<i64>, request: &ChangeRequest) -> String {
    format!(
        "the live value is now {} but {} was approved; nothing was sent. Make a new request.",
        limit_text(seen),
        group(request.current)
    )
}

pub const BODY_CHANGED_DETAIL: &str = "the stored request body differs from the one this version builds; nothing was sent. Make a new request.";

pub fn confirmed_detail(error: &ApiError) -> String {
    format!("confirmed by re-reading the stock after: {error}")
}

pub fn not_applied_detail(live: Option<i64>, error: &ApiError) -> String {
    format!(
        "not applied: the stock still shows {} after: {error}",
        limit_text(live)
    )
}

// ---- The adapters' words about input they could not take ---------------------------------

// Each takes the emoji it names (`approve`/`reject`, or the one reacted with) from the
// adapter: which emoji decide is the chat layer's business.

/// How a console line is written.
pub fn console_line_hint(approve: &str) -> String {
    format!("Lines look like `alice: /budget show 123`, `bob: react {approve} last` or `bob: click approve last`.")
}

pub fn not_a_console_user(user: &str, users: &[&str]) -> String {
    format!(
        "`{}` is not a console user. Add them under [console.users] in the config, \
         or use one of: {}.",
        code_echo(user, MAX_ECHO),
        users.join(", ")
    )
}

pub fn no_console_approvers() -> String {
    "nobody (no console user has the approver capability)".into()
}

pub fn not_a_decision_emoji(given: &str, approve: &str, reject: &str) -> String {
    format!(
        "React with {approve} to approve or {reject} to reject; `{}` does nothing.",
        code_echo(given, MAX_ECHO)
    )
}

pub fn not_a_button(given: &str, request: &str) -> String {
    format!(
        "The card's buttons are `approve` and `reject`; `{}` is not one. Try `click approve {}`.",
        code_echo(given, MAX_ECHO),
        code_echo(request, MAX_ECHO)
    )
}

pub fn console_not_understood(text: &str, approve: &str) -> String {
    format!(
        "I don't understand `{}`. Type a /budget command (see /budget help), \
         `react {approve} <request>` or `click approve|reject <request>`.",
        code_echo(text, MAX_ECHO)
    )
}

pub fn line_not_utf8(number: u64, position: usize) -> String {
    format!(
        "Line {number} is not valid UTF-8 (bad byte at position {position}) and \
         was ignored. Save the input as UTF-8 text."
    )
}

pub fn line_too_long(number: u64, bytes: usize, max: usize) -> String {
    format!(
        "Line {number} is {bytes} bytes long, over the limit of \
         {max}, and was ignored without being read as a \
         command. Type one command per line."
    )
}

/// The last line of a pending card on the console.
pub fn console_card_prompt(request: &ChangeRequest, approve: &str, reject: &str) -> String {
    format!(
        "React {approve} to approve or {reject} to reject (or click approve|reject {}).",
        request.id
    )
}

/// Why a reaction in the approvals channel was taken back: it is on no card the bot knows.
pub fn unknown_card(emoji: &str) -> String {
    format!(
        "Your {emoji} in the approvals channel did not count, so the bot removed it: that message is not an \
         approval card the bot knows (not a card, or a card that was replaced). React on the request's \
         current card or use its Approve/Reject buttons; /budget pending lists the open requests."
    )
}

/// Why a reaction was taken back when the bot itself failed.
pub fn reaction_failed(emoji: &str, e: &impl std::fmt::Display) -> String {
    format!(
        "Your {emoji} did not count, so the bot removed it. {} Please react again, or use the card's buttons.",
        internal_error(e)
    )
}

/// The link to a new request's card, under the reply that created it.
pub fn card_link_line(link: &str) -> String {
    format!("\nCard: {link}")
}

pub fn pick_a_subcommand() -> String {
    "Pick a /budget subcommand.".into()
}

pub fn option_required(name: &str) -> String {
    format!("The `{name}` option is required.")
}

pub fn limit_option_required() -> String {
    "The `limit` option is required: a whole number.".into()
}

pub fn unknown_subcommand(given: &str) -> String {
    format!("Unknown subcommand `{given}`; see /budget help.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_refusals_are_distinct_and_say_what_to_do() {
        let all = [
            ChangeRefusal::WrongState {
                state: "STOPPED".into(),
            },
            ChangeRefusal::SameAsCurrent { value: 1 },
            ChangeRefusal::BelowSent { target: 1, sent: 2 },
            ChangeRefusal::AboveMaximum {
                target: 100_000_001,
            },
            ChangeRefusal::Negative { target: -1 },
            ChangeRefusal::DailyUnlimited,
            ChangeRefusal::CurrentUnknown,
        ];
        let texts: std::collections::HashSet<String> = all.iter().map(change_refusal).collect();
        assert_eq!(texts.len(), all.len());
        assert!(change_refusal(&ChangeRefusal::BelowSent {
            target: 1,
            sent: 2_000
        })
        .contains("at least 2,000"));
        assert!(change_refusal(&ChangeRefusal::AboveMaximum {
            target: 100_000_001
        })
        .contains("100,000,000"));
    }
}
