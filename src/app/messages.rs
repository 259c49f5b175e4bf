//! Every sentence the bot says, in the reader's language: replies to each [`Outcome`],
//! refusals, cards, notices, and the adapters' own words about input they could not take. The
//! words themselves live in the Fluent catalogues (`locales/<lang>/*.ftl`); these functions pick
//! the message and format its arguments (numbers grouped as `1,000` in both languages). Replies
//! take the reader's [`Lang`]; notices and outcome details, made before anyone reads them, come
//! in every language ([`Localized`]) and each platform shows the one its channel reads.

mod grammar;

pub use crate::domain::command::help_text;
pub use grammar::{api_error, api_error_message};

use crate::domain::budget::ChangeRefusal;
use crate::domain::policy::DenyReason;
use crate::domain::request::{group, ActorRef, ChangeRequest, RequestState, StockSummary};
use crate::domain::text::{code_echo_in, MAX_ECHO};
use crate::i18n::{Lang, Localized};
use crate::store::AuditEntry;
use crate::t;
use crate::wechatpay::model::{UpdateMode, MAX_BUDGET_VALUE};
use crate::wechatpay::{ApiError, StockEntity};

use super::outcome::{Decided, Denial, Outcome, ReadPurpose};

mod details;
mod schedule;
pub use details::*;
pub use schedule::*;

/// `1 approval`, `2 approvals`.
pub fn approvals_text(lang: Lang, n: u32) -> String {
    if n == 1 {
        t!(lang, "approvals-one")
    } else {
        t!(lang, "approvals-many", count = n)
    }
}

/// `unlimited` for an absent limit, else the grouped number.
pub fn limit_text(lang: Lang, value: Option<i64>) -> String {
    value.map(group).unwrap_or_else(|| t!(lang, "unlimited"))
}

/// What is left under a limit after `sent` (`unlimited` for an absent limit, never negative).
pub fn left_text(lang: Lang, limit: Option<i64>, sent: i64) -> String {
    limit_text(lang, limit.map(|l| l.saturating_sub(sent).max(0)))
}

/// A time as text, in `[display] timezone` with its offset (`2027-01-15 16:00:00 +08:00`, or
/// `… UTC`): the one way every message writes a time.
pub fn time_text(lang: Lang, unix: u64) -> String {
    crate::domain::schedule::local_text(unix, &timezone())
        .unwrap_or_else(|| t!(lang, "unix-time", unix = unix))
}

/// Names joined the way the language lists them (`a, b` / `a、b`).
pub fn list(lang: Lang, items: &[&str]) -> String {
    items.join(&t!(lang, "list-separator"))
}

/// The field a mode changes, in words with its API name.
pub fn field_label(lang: Lang, mode: UpdateMode) -> String {
    match mode {
        UpdateMode::MaxCount => t!(lang, "field-max-count"),
        UpdateMode::MaxCountPerDay => t!(lang, "field-max-count-per-day"),
    }
}

/// A request's state in words.
pub fn state_text(lang: Lang, state: RequestState) -> String {
    match state {
        RequestState::Pending => t!(lang, "state-pending"),
        RequestState::Approved => t!(lang, "state-approved"),
        RequestState::Submitting => t!(lang, "state-submitting"),
        RequestState::Applied => t!(lang, "state-applied"),
        RequestState::Rejected => t!(lang, "state-rejected"),
        RequestState::Expired => t!(lang, "state-expired"),
        RequestState::Cancelled => t!(lang, "state-cancelled"),
        RequestState::Stale => t!(lang, "state-stale"),
        RequestState::Failed => t!(lang, "state-failed"),
        RequestState::Scheduled => t!(lang, "state-scheduled"),
    }
}

/// The lines of `/budget show`.
pub fn stock_text(lang: Lang, label: &str, stock: &StockEntity) -> String {
    t!(
        lang,
        "stock-show",
        label = label,
        state = stock.state,
        total = limit_text(lang, stock.max_count()),
        sent_total = group(stock.sent_total()),
        total_left = left_text(lang, stock.max_count(), stock.sent_total()),
        daily = limit_text(lang, stock.max_count_per_day()),
        sent_today = group(stock.sent_today()),
        today_left = left_text(lang, stock.max_count_per_day(), stock.sent_today()),
        per_user = limit_text(lang, stock.max_count_per_user()),
    )
}

/// One line summarising where a request stands.
pub fn status_line(lang: Lang, request: &ChangeRequest) -> String {
    let when = request.decided_at.map(|at| time_text(lang, at));
    let by_at = |by: &Option<ActorRef>| match (by.as_ref().map(|a| &a.display), &when) {
        (Some(name), Some(time)) => t!(lang, "status-by-at", name = name, time = time),
        (Some(name), None) => t!(lang, "status-by", name = name),
        (None, Some(time)) => t!(lang, "status-at", time = time),
        (None, None) => String::new(),
    };
    let by = &request.decided_by;
    let reason = || {
        stored_reason(
            lang,
            request.outcome_reason.as_ref(),
            request.outcome_detail.as_ref(),
        )
    };
    match request.state {
        RequestState::Pending => t!(
            lang,
            "status-pending",
            have = request.approvals.len(),
            need = request.required_approvals
        ),
        RequestState::Approved | RequestState::Submitting => {
            t!(lang, "status-approved", by_at = by_at(by))
        }
        RequestState::Applied => t!(lang, "status-applied", by_at = by_at(by)),
        RequestState::Rejected => t!(lang, "status-rejected", by_at = by_at(by)),
        RequestState::Cancelled => t!(lang, "status-cancelled", by_at = by_at(by)),
        RequestState::Expired => t!(lang, "status-expired", by_at = by_at(&None)),
        RequestState::Stale => match reason() {
            Some(detail) => t!(lang, "status-stale", detail = detail),
            None => t!(lang, "status-stale-unknown"),
        },
        RequestState::Failed => match reason() {
            Some(detail) => t!(lang, "status-failed", detail = detail),
            None => t!(lang, "status-failed-unknown"),
        },
        RequestState::Scheduled => t!(
            lang,
            "status-scheduled",
            by_at = by_at(by),
            at = request
                .apply_at
                .map(|at| time_text(lang, at))
                .unwrap_or_default()
        ),
    }
}

/// The approval card's title.
pub fn card_title(lang: Lang, request: &ChangeRequest) -> String {
    t!(
        lang,
        "card-title",
        id = request.id,
        state = state_text(lang, request.state)
    )
}

/// The approval card's text; `approvers` says who may approve (names or role mentions).
pub fn card_text(lang: Lang, request: &ChangeRequest, approvers: &str) -> String {
    card_text_with(
        lang,
        request,
        approvers,
        &time_text(lang, request.expires_at),
    )
}

/// The card's text with the expiry written by the platform (e.g. a Discord timestamp).
pub fn card_text_with(
    lang: Lang,
    request: &ChangeRequest,
    approvers: &str,
    expires: &str,
) -> String {
    let mut lines = vec![t!(
        lang,
        "card-text",
        id = request.id,
        stock = request.stock_label(),
        field = field_label(lang, request.mode),
        current = group(request.current),
        target = group(request.target),
        change = request.change_text(),
        sent_today = group(request.sent.today),
        sent_total = group(request.sent.total),
        requester = request.requester.display,
        reason = request
            .reason
            .clone()
            .unwrap_or_else(|| t!(lang, "card-no-reason")),
        expires = expires,
        approvers = approvers,
    )];
    if request.required_approvals > 1 {
        lines.push(t!(
            lang,
            "card-needs",
            approvals = approvals_text(lang, request.required_approvals)
        ));
    }
    if let Some(at) = request.apply_at {
        lines.push(t!(lang, "card-applies-at", at = time_text(lang, at)));
    }
    if !request.approvals.is_empty() {
        let names: Vec<_> = request
            .approvals
            .iter()
            .map(|a| a.by.display.as_str())
            .collect();
        lines.push(t!(lang, "card-approved-by", names = list(lang, &names)));
    }
    lines.push(t!(lang, "card-status", status = status_line(lang, request)));
    if let Some(result) = &request.result {
        lines.push(t!(
            lang,
            "card-result",
            total = limit_text(lang, result.max_count),
            daily = limit_text(lang, result.max_count_per_day),
            sent_today = group(result.sent_today),
            sent_total = group(result.sent_total),
            state = result.state,
        ));
    }
    lines.join("\n")
}

/// One line per request for `/budget pending`.
pub fn request_line(lang: Lang, request: &ChangeRequest) -> String {
    let verb = match request.mode {
        UpdateMode::MaxCount => "set-total",
        UpdateMode::MaxCountPerDay => "set-daily",
    };
    let schedule = match (request.state, request.apply_at) {
        (RequestState::Pending, Some(at)) => {
            t!(lang, "request-line-schedule", at = time_text(lang, at))
        }
        _ => String::new(),
    };
    let expires = match request.state {
        RequestState::Pending => t!(
            lang,
            "request-line-expires",
            time = time_text(lang, request.expires_at)
        ),
        _ => String::new(),
    };
    t!(
        lang,
        "request-line",
        id = request.id,
        verb = verb,
        stock = request.stock_label(),
        current = group(request.current),
        target = group(request.target),
        requester = request.requester.display,
        expires = expires,
        status = status_line(lang, request),
        schedule = schedule,
    )
}

/// One line per audit entry for `/budget history` and `audit show`.
pub fn audit_line(lang: Lang, entry: &AuditEntry) -> String {
    let actor = entry
        .actor
        .as_ref()
        .map(|a| a.display.clone())
        .unwrap_or_else(|| t!(lang, "audit-bot"));
    // An action a later version records and this catalogue does not name shows as recorded.
    let action = crate::i18n::try_lookup(lang, &format!("audit-action-{}", entry.action), &[])
        .unwrap_or_else(|| entry.action.clone());
    let mut line = t!(
        lang,
        "audit-line",
        seq = entry.seq,
        time = time_text(lang, entry.at),
        request = entry.request_id,
        stock = entry.stock_id,
        action = action,
        actor = actor,
        from = entry
            .from
            .map(|s| state_text(lang, s))
            .unwrap_or_else(|| "-".into()),
        to = state_text(lang, entry.to),
        field = entry.field,
        before = group(entry.before),
        after = group(entry.after),
    );
    if let Some(id) = &entry.api_request_id {
        line.push_str(&t!(lang, "audit-request-id", id = id));
    }
    if let Some(detail) = stored_reason(lang, entry.reason.as_ref(), entry.detail.as_ref()) {
        line.push_str(&t!(lang, "audit-detail", detail = detail));
    }
    line
}

/// The resulting stock in one line, for the notification of an applied change.
pub fn summary_text(lang: Lang, summary: &StockSummary) -> String {
    t!(
        lang,
        "summary",
        total = limit_text(lang, summary.max_count),
        daily = limit_text(lang, summary.max_count_per_day),
        sent_today = group(summary.sent_today),
        sent_total = group(summary.sent_total),
        state = summary.state,
    )
}

// ---- Replies to the actor ---------------------------------------------------------------

/// The reply to whoever acted, as plain text.
pub fn outcome(lang: Lang, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Denied(denied) => denial(lang, denied),
        Outcome::Help => help_text(lang),
        Outcome::Stock { label, stock } => stock_text(lang, label, stock),
        Outcome::Created(request) => t!(
            lang,
            "created",
            id = request.id,
            stock = request.stock_label(),
            current = group(request.current),
            target = group(request.target),
            approvals = approvals_text(lang, request.required_approvals),
            expires = time_text(lang, request.expires_at),
            schedule = request
                .apply_at
                .map(|at| t!(lang, "created-schedule", at = time_text(lang, at)))
                .unwrap_or_default(),
        ),
        Outcome::Decided { request, decided } => decided_text(lang, request, *decided),
        Outcome::Pending(list) if list.is_empty() => t!(lang, "pending-none"),
        Outcome::Pending(list) => {
            let mut lines = vec![t!(lang, "pending-head", count = list.len())];
            lines.extend(list.iter().map(|r| request_line(lang, r)));
            lines.join("\n")
        }
        Outcome::History { stock, entries } if entries.is_empty() => {
            t!(lang, "history-none", stock = stock)
        }
        Outcome::History { stock, entries } => {
            let mut lines = vec![t!(
                lang,
                "history-head",
                count = entries.len(),
                stock = stock
            )];
            lines.extend(entries.iter().map(|e| audit_line(lang, e)));
            lines.join("\n")
        }
    }
}

fn decided_text(lang: Lang, request: &ChangeRequest, decided: Decided) -> String {
    let id = &request.id;
    match decided {
        Decided::Approval { have, need } => {
            t!(lang, "decided-approval", id = id, have = have, need = need)
        }
        Decided::Rejected => t!(lang, "decided-rejected", id = id),
        Decided::Approved { settled: true } => t!(
            lang,
            "decided-approved-settled",
            id = id,
            status = status_line(lang, request)
        ),
        Decided::Approved { settled: false } => t!(lang, "decided-approved-applying", id = id),
        Decided::Scheduled { at } => {
            t!(lang, "decided-scheduled", id = id, at = time_text(lang, at))
        }
        Decided::Cancelled => t!(lang, "decided-cancelled", id = id),
    }
}

/// A refusal, saying what to do instead.
pub fn denial(lang: Lang, denial: &Denial) -> String {
    match denial {
        Denial::Parse(e) => e.text(lang),
        Denial::UnknownStock(unknown) => unknown.text(lang),
        Denial::Policy(reason) => deny_reason(lang, reason),
        Denial::Change(refusal) => change_refusal(lang, refusal),
        Denial::Limit(refusal) => limit_refusal(lang, refusal),
        Denial::Schedule(refusal) => schedule_refusal(lang, refusal),
        Denial::StockUnreadable {
            label,
            purpose: ReadPurpose::Show,
            error,
        } => t!(
            lang,
            "stock-unreadable-show",
            label = label,
            error = api_error(lang, error)
        ),
        Denial::StockUnreadable {
            label,
            purpose: ReadPurpose::CheckChange,
            error,
        } => t!(
            lang,
            "stock-unreadable-check",
            label = label,
            error = api_error(lang, error)
        ),
    }
}

/// Who may do what, and when.
pub fn deny_reason(lang: Lang, reason: &DenyReason) -> String {
    match reason {
        DenyReason::NotRequester => t!(lang, "deny-not-requester"),
        DenyReason::NotApprover => t!(lang, "deny-not-approver"),
        DenyReason::SelfApproval => t!(lang, "deny-self-approval"),
        DenyReason::AlreadyApproved { have, need } => {
            t!(lang, "deny-already-approved", have = have, need = need)
        }
        DenyReason::NotPending { id, state } => t!(
            lang,
            "deny-not-pending",
            id = id,
            state = state_text(lang, *state)
        ),
        DenyReason::Expired { id } => t!(lang, "deny-expired", id = id),
        DenyReason::NotYourRequest { id } => t!(lang, "deny-not-your-request", id = id),
        DenyReason::UnknownRequest { given } => t!(
            lang,
            "deny-unknown-request",
            given = code_echo_in(lang, given, MAX_ECHO)
        ),
        DenyReason::NoRequests => t!(lang, "deny-no-requests"),
    }
}

/// A change the API cannot make on the live stock.
pub fn change_refusal(lang: Lang, refusal: &ChangeRefusal) -> String {
    match refusal {
        ChangeRefusal::WrongState { state } => t!(lang, "refuse-wrong-state", state = state),
        ChangeRefusal::SameAsCurrent { value } => t!(lang, "refuse-same", value = group(*value)),
        ChangeRefusal::BelowSent { target, sent } => t!(
            lang,
            "refuse-below-sent",
            target = group(*target),
            sent = group(*sent)
        ),
        ChangeRefusal::AboveMaximum { target } => t!(
            lang,
            "refuse-above-max",
            target = group(*target),
            max = group(MAX_BUDGET_VALUE)
        ),
        ChangeRefusal::Negative { target } => t!(lang, "refuse-negative", target = group(*target)),
        ChangeRefusal::DailyUnlimited => t!(lang, "refuse-daily-unlimited"),
        ChangeRefusal::CurrentUnknown => t!(lang, "refuse-current-unknown"),
    }
}

/// What a user sees when the bot itself failed (the store). The error is technical English,
/// so it goes to the log, here, and the reply says where to find it.
pub fn internal_error(lang: Lang, e: &impl std::fmt::Display) -> String {
    tracing::error!(error = %e, "a reply reports the bot's own failure");
    t!(lang, "internal-error")
}

// ---- Notices in the notifications channel (every language: the channel picks) -----------

pub fn requested_notice(actor: &str, request: &ChangeRequest) -> Localized {
    Localized::new(|lang| {
        t!(
            lang,
            "notice-requested",
            actor = actor,
            field = field_label(lang, request.mode),
            stock = request.stock_label(),
            current = group(request.current),
            target = group(request.target),
            change = request.change_text(),
        )
    })
}

pub fn approval_notice(actor: &str, request: &ChangeRequest, have: u32, need: u32) -> Localized {
    Localized::new(|lang| {
        t!(
            lang,
            "notice-approval",
            actor = actor,
            id = request.id,
            have = have,
            need = need
        )
    })
}

pub fn rejected_notice(actor: &str, request: &ChangeRequest) -> Localized {
    Localized::new(|lang| t!(lang, "notice-rejected", actor = actor, id = request.id))
}

pub fn approved_notice(actor: &str, request: &ChangeRequest) -> Localized {
    Localized::new(|lang| t!(lang, "notice-approved", actor = actor, id = request.id))
}

pub fn cancelled_notice(actor: &str, request: &ChangeRequest) -> Localized {
    Localized::new(|lang| t!(lang, "notice-cancelled", actor = actor, id = request.id))
}

/// Names the requester, who is the one to act on it.
pub fn expired_notice(request: &ChangeRequest) -> Localized {
    Localized::new(|lang| {
        t!(
            lang,
            "notice-expired",
            requester = request.requester.display,
            id = request.id,
            have = request.approvals.len(),
            approvals = approvals_text(lang, request.required_approvals)
        )
    })
}

/// A request reached a final state (`detail` is its outcome detail).
pub fn finished_notice(request: &ChangeRequest, detail: &Localized) -> Localized {
    Localized::new(|lang| match request.state {
        RequestState::Applied => t!(
            lang,
            "notice-applied",
            id = request.id,
            field = request.mode.field_name(),
            stock = request.stock_label(),
            current = group(request.current),
            target = group(request.target),
            summary = request
                .result
                .as_ref()
                .map(|r| summary_text(lang, r))
                .unwrap_or_default(),
        ),
        state => t!(
            lang,
            "notice-finished",
            id = request.id,
            state = state_text(lang, state),
            detail = detail.get(lang)
        ),
    })
}

/// The title of an applied change's notice, where a platform shows one.
pub fn applied_title(lang: Lang, request: &ChangeRequest) -> String {
    t!(lang, "notice-applied-title", stock = request.stock_label())
}

pub fn unresolved_notice(request: &ChangeRequest, error: &ApiError) -> Localized {
    Localized::new(|lang| {
        t!(
            lang,
            "notice-unresolved",
            id = request.id,
            error = api_error(lang, error)
        )
    })
}

// ---- The adapters' words about input they could not take ---------------------------------

// Each takes the emoji it names (`approve`/`reject`, or the one reacted with) from the
// adapter: which emoji decide is the chat layer's business.

/// How a console line is written.
pub fn console_line_hint(lang: Lang, approve: &str) -> String {
    t!(lang, "console-line-hint", approve = approve)
}

pub fn not_a_console_user(lang: Lang, user: &str, users: &[&str]) -> String {
    t!(
        lang,
        "not-a-console-user",
        user = code_echo_in(lang, user, MAX_ECHO),
        users = list(lang, users)
    )
}

pub fn no_console_approvers(lang: Lang) -> String {
    t!(lang, "no-console-approvers")
}

pub fn not_a_decision_emoji(lang: Lang, given: &str, approve: &str, reject: &str) -> String {
    t!(
        lang,
        "not-a-decision-emoji",
        approve = approve,
        reject = reject,
        given = code_echo_in(lang, given, MAX_ECHO)
    )
}

pub fn not_a_button(lang: Lang, given: &str, request: &str) -> String {
    t!(
        lang,
        "not-a-button",
        given = code_echo_in(lang, given, MAX_ECHO),
        request = code_echo_in(lang, request, MAX_ECHO)
    )
}

pub fn console_not_understood(lang: Lang, text: &str, approve: &str) -> String {
    t!(
        lang,
        "console-not-understood",
        text = code_echo_in(lang, text, MAX_ECHO),
        approve = approve
    )
}

pub fn line_not_utf8(lang: Lang, number: u64, position: usize) -> String {
    t!(lang, "line-not-utf8", number = number, position = position)
}

/// The start of a line too long to read, marked as cut.
pub fn line_cut(lang: Lang, start: &str, bytes: usize) -> String {
    t!(lang, "line-cut", start = start, bytes = bytes)
}

pub fn line_too_long(lang: Lang, number: u64, bytes: usize, max: usize) -> String {
    t!(
        lang,
        "line-too-long",
        number = number,
        bytes = bytes,
        max = max
    )
}

/// The last line of a pending card on the console.
pub fn console_card_prompt(
    lang: Lang,
    request: &ChangeRequest,
    approve: &str,
    reject: &str,
) -> String {
    t!(
        lang,
        "console-card-prompt",
        approve = approve,
        reject = reject,
        id = request.id
    )
}

/// Why a reaction in the approvals channel was taken back: it is on no card the bot knows.
pub fn unknown_card(lang: Lang, emoji: &str) -> String {
    t!(lang, "unknown-card", emoji = emoji)
}

/// Why a reaction was taken back when the bot itself failed.
pub fn reaction_failed(lang: Lang, emoji: &str, e: &impl std::fmt::Display) -> String {
    t!(
        lang,
        "reaction-failed",
        emoji = emoji,
        error = internal_error(lang, e)
    )
}

/// The link to a new request's card, under the reply that created it.
pub fn card_link_line(lang: Lang, link: &str) -> String {
    format!("\n{}", t!(lang, "card-link", link = link))
}

pub fn pick_a_subcommand(lang: Lang) -> String {
    t!(lang, "pick-a-subcommand")
}

pub fn option_required(lang: Lang, name: &str) -> String {
    t!(lang, "option-required", name = name)
}

pub fn limit_option_required(lang: Lang) -> String {
    t!(lang, "limit-option-required")
}

pub fn unknown_subcommand(lang: Lang, given: &str) -> String {
    t!(lang, "unknown-subcommand", given = given)
}

/// A short label of the platform's own (a button, an embed field) by its catalogue id.
pub fn label(lang: Lang, id: &str) -> String {
    crate::i18n::lookup(lang, id, &[])
}

/// Why a reaction on an approval card did not count, where the bot cannot take it back.
pub fn reaction_not_counted(lang: Lang, emoji: &str, reason: &str) -> String {
    t!(lang, "reaction-not-counted", emoji = emoji, reason = reason)
}

/// A decision reaction in the approvals channel on a message that is no card the bot knows.
pub fn reaction_on_no_card(lang: Lang, emoji: &str) -> String {
    t!(lang, "reaction-on-no-card", emoji = emoji)
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
        let texts: std::collections::HashSet<String> =
            all.iter().map(|r| change_refusal(Lang::En, r)).collect();
        assert_eq!(texts.len(), all.len());
        assert!(change_refusal(
            Lang::En,
            &ChangeRefusal::BelowSent {
                target: 1,
                sent: 2_000
            }
        )
        .contains("at least 2,000"));
        assert!(change_refusal(
            Lang::En,
            &ChangeRefusal::AboveMaximum {
                target: 100_000_001
            }
        )
        .contains("100,000,000"));
    }
}
