//! A stock as the rules see it: which one ([`StockKey`]), its lifecycle state, and the
//! [`StockSnapshot`] of limits and send counts that budget rules and cards read. The API's own
//! shape of a stock stays in `wechatpay`, which converts it into a snapshot.

use serde::{Deserialize, Serialize};

use super::text::echo_id;

/// Which stock: both ids the API names a stock by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StockKey {
    pub product_coupon_id: String,
    pub stock_id: String,
}

impl StockKey {
    pub fn new(product_coupon_id: impl Into<String>, stock_id: impl Into<String>) -> Self {
        Self {
            product_coupon_id: product_coupon_id.into(),
            stock_id: stock_id.into(),
        }
    }
}

/// A stock's state. Unknown words from a newer API are kept, not rejected.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StockState {
    Auditing,
    Sending,
    Paused,
    Stopped,
    Deactivated,
    Other(String),
}

impl StockState {
    pub fn as_str(&self) -> &str {
        match self {
            StockState::Auditing => "AUDITING",
            StockState::Sending => "SENDING",
            StockState::Paused => "PAUSED",
            StockState::Stopped => "STOPPED",
            StockState::Deactivated => "DEACTIVATED",
            StockState::Other(s) => s,
        }
    }

    /// Update-budget's precondition: only SENDING and PAUSED stocks can change budget.
    pub fn allows_budget_update(&self) -> bool {
        matches!(self, StockState::Sending | StockState::Paused)
    }
}

impl From<&str> for StockState {
    fn from(s: &str) -> Self {
        match s {
            "AUDITING" => StockState::Auditing,
            "SENDING" => StockState::Sending,
            "PAUSED" => StockState::Paused,
            "STOPPED" => StockState::Stopped,
            "DEACTIVATED" => StockState::Deactivated,
            other => StockState::Other(other.to_string()),
        }
    }
}

/// An unknown state is the API's text: shown bounded and stripped (serialization keeps it whole).
impl std::fmt::Display for StockState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StockState::Other(s) => f.write_str(&echo_id(s)),
            known => f.write_str(known.as_str()),
        }
    }
}

impl Serialize for StockState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StockState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(StockState::from(s.as_str()))
    }
}

/// What the rules read of a live stock. `None` limits are unlimited or not reported; send
/// counts the API left out count as 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockSnapshot {
    pub stock_id: String,
    pub state: StockState,
    pub max_count: Option<i64>,
    pub max_count_per_day: Option<i64>,
    pub sent_today: i64,
    pub sent_total: i64,
}

/// Lets a rule take a snapshot by reference as readily as anything that converts into one.
impl From<&StockSnapshot> for StockSnapshot {
    fn from(snapshot: &StockSnapshot) -> Self {
        snapshot.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_state_is_kept_whole_but_shown_bounded() {
        let odd = StockState::from(format!("A\u{0}\u{202E}{}", "B".repeat(500)).as_str());
        assert!(odd.to_string().starts_with("ABBB") && odd.to_string().contains("[cut:"));
        assert_eq!(odd.as_str().chars().count(), 503);
        assert!(!odd.allows_budget_update());
        assert_eq!(StockState::from("ARCHIVED").to_string(), "ARCHIVED");
    }

    #[test]
    fn only_sending_and_paused_stocks_change_budget() {
        let open: Vec<&str> = ["AUDITING", "SENDING", "PAUSED", "STOPPED", "DEACTIVATED"]
            .into_iter()
            .filter(|s| StockState::from(*s).allows_budget_update())
            .collect();
        assert_eq!(open, ["SENDING", "PAUSED"]);
    }
}
