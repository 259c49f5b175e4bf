//! The sentences of tiered approvals, hard limits, schedules, reminders and burn alerts,
//! and the display time zone their times are written in. Part of [`super`]: callers name
//! them `messages::...`.

use std::sync::RwLock;

use jiff::tz::TimeZone;

use crate::config::StockConfig;
use crate::domain::burn::Reached;
use crate::domain::limit::{LimitRefusal, UpdateMode};
use crate::domain::request::{group, ChangeRequest};
use crate::domain::schedule::{ScheduleRefusal, MAX_AHEAD};
use crate::domain::stock::StockState;
use crate::domain::text::{code_echo_in, MAX_ECHO};

use crate::i18n::{lookup, Lang, Localized};
use crate::t;

use super::{approvals_text, field_label, time_text};

/// The display time zone (`[display] timezone`), set once when the app is built.
static TIMEZONE: RwLock<Option<TimeZone>> = RwLock::new(None);

/// Sets the time zone [`super::time_text`] writes in.
pub fn set_timezone(tz: TimeZone) {
    *TIMEZONE.write().unwrap_or_else(|p| p.into_inner()) = Some(tz);
}

/// The display time zone ([`set_timezone`]; Asia/Shanghai until it is set).
pub(super) fn timezone() -> TimeZone {
    TIMEZONE
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_else(|| crate::config::DisplayConfig::default().timezone)
}

/// `2027-01-15`: the date in the display time zone (the day burn alerts count in).
pub fn local_date(unix: u64) -> String {
    jiff::Timestamp::from_second(unix as i64)
        .map(|ts| ts.to_zoned(timezone()).date().to_string())
        .unwrap_or_default()
}

/// A change past a hard limit of `[approval]`.
pub fn limit_refusal(lang: Lang, refusal: &LimitRefusal) -> String {
    match refusal {
        LimitRefusal::AboveMaxTarget { target, max } => t!(
            lang,
            "limit-above-max-target",
            target = group(*target),
            max = group(*max)
        ),
        LimitRefusal::IncreaseTooLarge {
            current,
            target,
            max_percent,
        } => {
            let (current, target, max_percent) = (*current, *target, *max_percent);
            if current <= 0 {
                return t!(
                    lang,
                    "limit-increase-from-zero",
                    current = group(current),
                    target = group(target),
                    max_percent = max_percent
                );
            }
            let allowed = i128::from(current) + i128::from(current) * i128::from(max_percent) / 100;
            t!(
                lang,
                "limit-increase-too-large",
                current = group(current),
                target = group(target),
                by = format!("{:.1}", (target - current) as f64 * 100.0 / current as f64),
                max_percent = max_percent,
                allowed = group(allowed.min(i128::from(i64::MAX)) as i64)
            )
        }
    }
}

/// An `at` time that cannot be used.
pub fn schedule_refusal(lang: Lang, refusal: &ScheduleRefusal) -> String {
    let shown = |at: i64| {
        u64::try_from(at)
            .map(|at| time_text(lang, at))
            .unwrap_or_else(|_| at.to_string())
    };
    let days = MAX_AHEAD.as_secs() / 86_400;
    match refusal {
        ScheduleRefusal::NotInFuture { at } => {
            t!(lang, "schedule-not-in-future", at = shown(*at))
        }
        ScheduleRefusal::TooFar { at } if *at == i64::MAX => {
            t!(lang, "schedule-too-far-unknown", days = days)
        }
        ScheduleRefusal::TooFar { at } => {
            t!(lang, "schedule-too-far", at = shown(*at), days = days)
        }
    }
}

pub fn scheduled_notice(actor: &str, request: &ChangeRequest, at: u64) -> Localized {
    Localized::new(|lang| {
        t!(
            lang,
            "notice-scheduled",
            actor = actor,
            id = request.id,
            at = time_text(lang, at)
        )
    })
}

/// A request still waiting: sent once to the approvers (see [`reminder_to`]).
pub fn reminder_notice(request: &ChangeRequest) -> Localized {
    Localized::new(|lang| {
        t!(
            lang,
            "notice-reminder",
            id = request.id,
            field = field_label(lang, request.mode),
            stock = request.stock_label(),
            current = group(request.current),
            target = group(request.target),
            have = request.approvals.len(),
            approvals = approvals_text(lang, request.required_approvals),
            expires = time_text(lang, request.expires_at)
        )
    })
}

/// A reminder addressed to the approvers (names or role mentions).
pub fn reminder_to(lang: Lang, approvers: &str, text: &str) -> String {
    t!(lang, "reminder-to", approvers = approvers, text = text)
}

/// A stock's state changed between two reads.
pub fn state_alert(stock: &str, before: &str, now: &StockState) -> Localized {
    let before = StockState::from(before).to_string();
    Localized::new(|lang| {
        t!(
            lang,
            "alert-state",
            stock = stock,
            before = before,
            now = now
        )
    })
}

/// Sends reached a share of a limit, with a ready command to raise it.
pub fn burn_alert(stock: &StockConfig, reached: &Reached) -> Localized {
    let (id, verb) = match reached.mode {
        UpdateMode::MaxCountPerDay => ("alert-burn-daily", "set-daily"),
        UpdateMode::MaxCount => ("alert-burn-total", "set-total"),
    };
    let args = [
        ("stock", stock.label()),
        ("percent", reached.percent.to_string()),
        ("sent", group(reached.sent)),
        ("limit", group(reached.limit)),
        (
            "command",
            format!(
                "/budget {verb} {} {}",
                stock.stock_id,
                reached.suggested_limit()
            ),
        ),
    ];
    Localized::new(|lang| lookup(lang, id, &args))
}

pub fn not_a_time(lang: Lang, given: &str) -> String {
    t!(
        lang,
        "not-a-time",
        given = code_echo_in(lang, given, MAX_ECHO)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock() -> StockConfig {
        StockConfig {
            stock_id: "123".into(),
            product_coupon_id: "p1".into(),
            name: None,
        }
    }

    #[test]
    fn burn_alerts_name_the_limit_and_the_command_in_both_languages() {
        let daily = Reached {
            mode: UpdateMode::MaxCountPerDay,
            percent: 80,
            sent: 85,
            limit: 100,
        };
        let alert = burn_alert(&stock(), &daily);
        assert!(
            alert.get(Lang::En).contains(
                "reached 80% of its daily limit: sent today 85 / 100. \
                 To raise it by half: /budget set-daily 123 150"
            ),
            "{}",
            alert.get(Lang::En)
        );
        let zh = alert.get(Lang::ZhCn);
        for part in [
            "当天已发放次数",
            "每日发放次数上限",
            "80%",
            "85 / 100",
            "/budget set-daily 123 150",
        ] {
            assert!(zh.contains(part), "{part}: {zh}");
        }
        let total = Reached {
            mode: UpdateMode::MaxCount,
            ..daily
        };
        let zh = burn_alert(&stock(), &total).get(Lang::ZhCn).to_string();
        assert!(
            zh.contains("发放次数总上限") && zh.contains("/budget set-total 123 150"),
            "{zh}"
        );
    }

    #[test]
    fn hard_limit_refusals_name_the_limit_in_both_languages() {
        let past = LimitRefusal::IncreaseTooLarge {
            current: 1000,
            target: 1600,
            max_percent: 50,
        };
        let en = limit_refusal(Lang::En, &past);
        assert!(
            en.contains("(+60.0%)")
                && en.contains("max_increase_percent of 50%")
                && en.contains("Use at most 1,500"),
            "{en}"
        );
        let zh = limit_refusal(Lang::ZhCn, &past);
        assert!(
            zh.contains("硬性上限") && zh.contains("+60.0%") && zh.contains("1,500"),
            "{zh}"
        );
        let from_zero = LimitRefusal::IncreaseTooLarge {
            current: 0,
            target: 10,
            max_percent: 50,
        };
        let en = limit_refusal(Lang::En, &from_zero);
        assert!(
            en.contains("(a raise from 0)") && !en.contains("Use at most"),
            "{en}"
        );
        let above = LimitRefusal::AboveMaxTarget {
            target: 60_000_000,
            max: 50_000_000,
        };
        assert!(limit_refusal(Lang::ZhCn, &above).contains("50,000,000"));
    }
}
