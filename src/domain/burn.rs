//! Burn alerts, as rules: which shares of a limit one read of a stock has reached, the mark
//! that says an alert was already posted (per day for the daily limit, per limit value for the
//! total), and the raise an alert suggests.

use super::limit::{UpdateMode, MAX_BUDGET_VALUE};
use super::stock::StockSnapshot;

/// One share of one limit that sends have reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reached {
    pub mode: UpdateMode,
    pub percent: u32,
    pub sent: i64,
    pub limit: i64,
}

impl Reached {
    /// The store key of this threshold's mark.
    pub fn mark_key(&self, stock_id: &str) -> String {
        let limit = match self.mode {
            UpdateMode::MaxCountPerDay => "daily",
            UpdateMode::MaxCount => "total",
        };
        format!("alert:{limit}:{stock_id}:{}", self.percent)
    }

    /// The mark's value once alerted: the alert is not repeated while the mark holds it. The
    /// daily limit alerts once per `today` (a local date); the total once per limit value, so
    /// a raised total alerts again when it too runs low.
    pub fn mark_value(&self, today: &str) -> String {
        match self.mode {
            UpdateMode::MaxCountPerDay => today.to_string(),
            UpdateMode::MaxCount => self.limit.to_string(),
        }
    }

    /// The limit suggested in the alert's ready command: +50 %, rounded up, within the API's
    /// maximum.
    pub fn suggested_limit(&self) -> i64 {
        let raised = (i128::from(self.limit) * 3 + 1) / 2;
        raised.clamp(1, i128::from(MAX_BUDGET_VALUE)) as i64
    }
}

/// The thresholds one read has reached: `daily` shares of `max_count_per_day` by sent today,
/// `total` shares of `max_count` by sent in total. Unlimited (or zero) limits reach nothing,
/// and neither does a stock whose budget cannot change (a stopped one): the alert's command
/// would be refused.
pub fn reached(stock: &StockSnapshot, daily: &[u32], total: &[u32]) -> Vec<Reached> {
    let mut found = Vec::new();
    if !stock.state.allows_budget_update() {
        return found;
    }
    let pairs = [
        (
            UpdateMode::MaxCountPerDay,
            stock.max_count_per_day,
            stock.sent_today,
            daily,
        ),
        (
            UpdateMode::MaxCount,
            stock.max_count,
            stock.sent_total,
            total,
        ),
    ];
    for (mode, limit, sent, shares) in pairs {
        let Some(limit) = limit.filter(|l| *l > 0) else {
            continue;
        };
        for &percent in shares {
            if i128::from(sent) * 100 >= i128::from(percent) * i128::from(limit) {
                found.push(Reached {
                    mode,
                    percent,
                    sent,
                    limit,
                });
            }
        }
    }
    found
}

/// The store key of a stock's last seen state.
pub fn state_key(stock_id: &str) -> String {
    format!("state:{stock_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stock::StockState;

    fn stock(
        sent_today: i64,
        daily: Option<i64>,
        sent_total: i64,
        total: Option<i64>,
    ) -> StockSnapshot {
        StockSnapshot {
            stock_id: "123".into(),
            state: StockState::Sending,
            max_count: total,
            max_count_per_day: daily,
            sent_today,
            sent_total,
        }
    }

    #[test]
    fn shares_reached_in_one_read_each_count() {
        let shares = |s: &StockSnapshot| -> Vec<u32> {
            reached(s, &[80, 95], &[90])
                .iter()
                .map(|r| r.percent)
                .collect()
        };
        assert_eq!(
            shares(&stock(79, Some(100), 0, Some(1000))),
            Vec::<u32>::new()
        );
        assert_eq!(shares(&stock(80, Some(100), 0, Some(1000))), vec![80]);
        assert_eq!(shares(&stock(96, Some(100), 0, Some(1000))), vec![80, 95]);
        assert_eq!(shares(&stock(0, None, 900, Some(1000))), vec![90]);
        assert_eq!(shares(&stock(5, Some(0), 5, None)), Vec::<u32>::new());
        let mut stopped = stock(100, Some(100), 0, None);
        stopped.state = StockState::Stopped;
        assert_eq!(shares(&stopped), Vec::<u32>::new());
    }

    #[test]
    fn suggestion_is_half_again_rounded_up() {
        let r = |limit| Reached {
            mode: UpdateMode::MaxCountPerDay,
            percent: 80,
            sent: 0,
            limit,
        };
        assert_eq!(r(100).suggested_limit(), 150);
        assert_eq!(r(101).suggested_limit(), 152);
        assert_eq!(r(1).suggested_limit(), 2);
        assert_eq!(r(MAX_BUDGET_VALUE).suggested_limit(), MAX_BUDGET_VALUE);
    }

    #[test]
    fn daily_marks_are_per_day_and_total_marks_per_limit() {
        let daily = reached(&stock(90, Some(100), 0, None), &[80], &[]).remove(0);
        assert_eq!(daily.mark_key("123"), "alert:daily:123:80");
        assert_eq!(daily.mark_value("2027-01-15"), "2027-01-15");
        let total = reached(&stock(0, None, 950, Some(1000)), &[], &[90]).remove(0);
        assert_eq!(total.mark_key("123"), "alert:total:123:90");
        assert_eq!(total.mark_value("2027-01-15"), "1000");
    }
}
