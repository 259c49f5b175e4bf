//! The API's value rules for a budget change, checked against the live stock before a request
//! is stored, so that people approve only changes the API can make.

use super::limit::{UpdateMode, MAX_BUDGET_VALUE};
use super::stock::StockSnapshot;

/// Why a requested change cannot be made. Each renders as its own message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeRefusal {
    /// Only SENDING and PAUSED stocks can change budget.
    WrongState {
        state: String,
    },
    SameAsCurrent {
        value: i64,
    },
    BelowSent {
        target: i64,
        sent: i64,
    },
    AboveMaximum {
        target: i64,
    },
    Negative {
        target: i64,
    },
    /// The API cannot turn an unlimited daily limit into a limited one.
    DailyUnlimited,
    /// The API did not report the current value of the field.
    CurrentUnknown,
}

/// Checks a change against the live stock; on success returns the current value the request
/// will carry as its compare-and-set guard. Takes anything that reads as a [`StockSnapshot`]
/// (the API's answer converts itself), so callers need not convert first.
pub fn check_change(
    stock: impl Into<StockSnapshot>,
    mode: UpdateMode,
    target: i64,
) -> Result<i64, ChangeRefusal> {
    let stock = stock.into();
    if !stock.state.allows_budget_update() {
        return Err(ChangeRefusal::WrongState {
            state: stock.state.to_string(),
        });
    }
    if target < 0 {
        return Err(ChangeRefusal::Negative { target });
    }
    if target > MAX_BUDGET_VALUE {
        return Err(ChangeRefusal::AboveMaximum { target });
    }
    let current = match mode {
        UpdateMode::MaxCount => stock.max_count.ok_or(ChangeRefusal::CurrentUnknown)?,
        UpdateMode::MaxCountPerDay => stock
            .max_count_per_day
            .ok_or(ChangeRefusal::DailyUnlimited)?,
    };
    if target == current {
        return Err(ChangeRefusal::SameAsCurrent { value: current });
    }
    if mode == UpdateMode::MaxCount && target < stock.sent_total {
        return Err(ChangeRefusal::BelowSent {
            target,
            sent: stock.sent_total,
        });
    }
    Ok(current)
}

/// The live value of the field a mode changes (`None`: unlimited or not reported).
pub fn live_value(stock: impl Into<StockSnapshot>, mode: UpdateMode) -> Option<i64> {
    let stock = stock.into();
    match mode {
        UpdateMode::MaxCount => stock.max_count,
        UpdateMode::MaxCountPerDay => stock.max_count_per_day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock(state: &str, max: i64, daily: Option<i64>, sent: i64) -> StockSnapshot {
        StockSnapshot {
            stock_id: "123".into(),
            state: state.into(),
            max_count: Some(max),
            max_count_per_day: daily,
            sent_today: 5,
            sent_total: sent,
        }
    }

    #[test]
    fn accepts_valid_changes_and_returns_current() {
        let s = stock("SENDING", 1000, Some(100), 400);
        assert_eq!(check_change(&s, UpdateMode::MaxCount, 2000), Ok(1000));
        assert_eq!(check_change(&s, UpdateMode::MaxCount, 400), Ok(1000));
        assert_eq!(check_change(&s, UpdateMode::MaxCountPerDay, 50), Ok(100));
        assert_eq!(
            check_change(
                stock("PAUSED", 1000, Some(100), 0),
                UpdateMode::MaxCountPerDay,
                0
            ),
            Ok(100)
        );
    }

    #[test]
    fn each_rule_refuses_with_its_own_reason() {
        let s = stock("SENDING", 1000, Some(100), 400);
        assert_eq!(
            check_change(&s, UpdateMode::MaxCount, 1000),
            Err(ChangeRefusal::SameAsCurrent { value: 1000 })
        );
        assert_eq!(
            check_change(&s, UpdateMode::MaxCount, 399),
            Err(ChangeRefusal::BelowSent {
                target: 399,
                sent: 400
            })
        );
        assert_eq!(
            check_change(&s, UpdateMode::MaxCount, MAX_BUDGET_VALUE + 1),
            Err(ChangeRefusal::AboveMaximum {
                target: MAX_BUDGET_VALUE + 1
            })
        );
        assert_eq!(
            check_change(&s, UpdateMode::MaxCount, MAX_BUDGET_VALUE),
            Ok(1000)
        );
        assert_eq!(
            check_change(&s, UpdateMode::MaxCount, -1),
            Err(ChangeRefusal::Negative { target: -1 })
        );
        for state in ["STOPPED", "DEACTIVATED", "AUDITING", "SOMETHING_NEW"] {
            assert_eq!(
                check_change(stock(state, 1000, Some(100), 0), UpdateMode::MaxCount, 5),
                Err(ChangeRefusal::WrongState {
                    state: state.into()
                })
            );
        }
        let unlimited = stock("SENDING", 1000, None, 0);
        assert_eq!(
            check_change(&unlimited, UpdateMode::MaxCountPerDay, 5),
            Err(ChangeRefusal::DailyUnlimited)
        );
        assert_eq!(check_change(&unlimited, UpdateMode::MaxCount, 5), Ok(1000));
    }
}
