//! The sentences of tiered approvals, hard limits, schedules, reminders and burn alerts,
//! and the display time zone their times are written in. Part of [`super`]: callers name
//! them `messages::...`.

use std::sync::RwLock;

use jiff::tz::TimeZone;

use crate::config::StockConfig;
use crate::domain::burn::Reached;
use crate::domain::limit::{LimitRefusal, UpdateMode};
use crate::domain::request::{field_label, group, ChangeRequest};
use crate::domain::schedule::{local_text, ScheduleRefusal, MAX_AHEAD};
use crate::domain::stock::StockState;
use crate::domain::text::{code_echo, MAX_ECHO};

use super::{approvals_text, time_text};

/// The display time zone (`[display] timezone`), set once when the app is built.
static TIMEZONE: RwLock<Option<TimeZone>> = RwLock::new(None);

/// Sets the time zone [`local_time`] writes in.
pub fn set_timezone(tz: TimeZone) {
    *TIMEZONE.write().unwrap_or_else(|p| p.into_inner()) = Some(tz);
}

fn timezone() -> TimeZone {
    TIMEZONE
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_else(|| crate::config::DisplayConfig::default().timezone)
}

/// `2027-01-15 16:00 (Asia/Shanghai)`: a time in the display time zone.
pub fn local_time(unix: u64) -> String {
    local_text(unix, &timezone())
}

/// `2027-01-15`: the date in the display time zone (the day burn alerts count in).
pub fn local_date(unix: u64) -> String {
    jiff::Timestamp::from_second(unix as i64)
        .map(|ts| ts.to_zoned_datetime(timezone()).date().to_string())
        .unwrap_or_default()
}

/// A change past a hard limit of `[approval]`.
pub fn limit_refusal(refusal: &LimitRefusal) -> String {
    match refusal {
        LimitRefusal::AboveMaxTarget { target, max } => format!(
            "{} is above this bot's hard limit max_target of {}; nobody can approve it. \
             Use at most {}, or ask an admin to change [approval] max_target.",
            group(*target),
            group(*max),
            group(*max)
        ),
        LimitRefusal::IncreaseTooLarge {
            current,
            target,
            max_percent,
        } => {
            let allowed =
                i128::from(*current) + i128::from(*current) * i128::from(*max_percent) / 100;
            let by = if *current <= 0 {
                "a raise from 0".to_string()
            } else {
                format!(
                    "+{:.1}%",
                    (*target - *current) as f64 * 100.0 / *current as f64
                )
            };
            let instead = if *current > 0 {
                format!(
                    " Use at most {}, or",
                    group(allowed.min(i128::from(i64::MAX)) as i64)
                )
            } else {
                String::new()
            };
            format!(
                "{} → {} ({by}) is past this bot's hard limit max_increase_percent of {max_percent}%; \
                 nobody can approve it.{instead} ask an admin to change [approval] max_increase_percent.",
                group(*current),
                group(*target),
            )
        }
    }
}

/// An `at` time that cannot be used.
pub fn schedule_refusal(refusal: &ScheduleRefusal) -> String {
    let shown = |at: i64| {
        u64::try_from(at)
            .map(local_time)
            .unwrap_or_else(|_| at.to_string())
    };
    match refusal {
        ScheduleRefusal::NotInFuture { at } => format!(
            "{} is not in the future. Give a later time, e.g. `at +2h` or `at 20:00` (the next 20:00).",
            shown(*at)
        ),
        ScheduleRefusal::TooFar { at } => format!(
            "{} is more than {} days ahead; a change can be scheduled at most {} days ahead.",
            if *at == i64::MAX { "That time".to_string() } else { shown(*at) },
            MAX_AHEAD.as_secs() / 86_400,
            MAX_AHEAD.as_secs() / 86_400
        ),
    }
}

pub fn scheduled_notice(actor: &str, request: &ChangeRequest, at: u64) -> String {
    format!(
        "{actor} approved request {}; it applies at {}.",
        request.id,
        local_time(at)
    )
}

/// A request still waiting: sent once to the approvers (see [`reminder_to`]).
pub fn reminder_notice(request: &ChangeRequest) -> String {
    format!(
        "Reminder: request {} ({} of {}: {} → {}) is still waiting, with {} of {}; it expires at {}.",
        request.id,
        field_label(request.mode),
        request.stock_label(),
        group(request.current),
        group(request.target),
        request.approvals.len(),
        approvals_text(request.required_approvals),
        time_text(request.expires_at)
    )
}

/// A reminder addressed to the approvers (names or role mentions).
pub fn reminder_to(approvers: &str, text: &str) -> String {
    format!("{approvers}: {text}")
}

/// A stock's state changed between two reads.
pub fn state_alert(stock: &str, before: &str, now: &StockState) -> String {
    format!("Stock {stock} changed state: {} → {now}.", text_of(before))
}

fn text_of(state: &str) -> String {
    StockState::from(state).to_string()
}

/// Sends reached a share of a limit, with a ready command to raise it.
pub fn burn_alert(stock: &StockConfig, reached: &Reached) -> String {
    let (which, sent, verb) = match reached.mode {
        UpdateMode::MaxCountPerDay => ("daily limit", "sent today", "set-daily"),
        UpdateMode::MaxCount => ("total limit", "sent in total", "set-total"),
    };
    format!(
        "Stock {} reached {}% of its {which}: {sent} {} / {}. To raise it by half: /budget {verb} {} {}",
        stock.label(),
        reached.percent,
        group(reached.sent),
        group(reached.limit),
        stock.stock_id,
        reached.suggested_limit()
    )
}

pub fn not_a_time(given: &str) -> String {
    format!(
        "`{}` is not a time. Write `20:00` (the next 20:00), `2026-06-18 20:00`, \
         `2026-06-18T20:00:00+08:00` or `+90m`.",
        code_echo(given, MAX_ECHO)
    )
}
