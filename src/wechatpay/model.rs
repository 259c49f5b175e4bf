//! The API's data: `StockEntity` (spec §5), parsed tolerantly, and the update-budget request,
//! whose type admits only bodies the API accepts (spec §4.2).

use serde::{Deserialize, Serialize};

use crate::domain::request::ChangeRequest;

pub use crate::domain::limit::{OutRequestNo, UpdateMode, MAX_BUDGET_VALUE};
pub use crate::domain::stock::{StockSnapshot, StockState};

/// The budget part of a stock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockSendRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<i64>,
    /// Absent means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count_per_day: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count_per_user: Option<i64>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// How many coupons have been sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentCountInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today_count: Option<i64>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A product-coupon stock (batch). Only `stock_id` and `state` are required; every field the bot
/// does not use is kept in `extra` so `show --json` prints what the API sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockEntity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_coupon_id: Option<String>,
    pub stock_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub state: StockState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_send_rule: Option<StockSendRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_count_info: Option<SentCountInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_code_mode: Option<String>,
    /// `deactivate_time` and the like stay as they are: the API's own examples are not strict RFC3339.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl StockEntity {
    pub fn max_count(&self) -> Option<i64> {
        self.stock_send_rule.as_ref().and_then(|r| r.max_count)
    }
    /// `None` means the daily limit is unlimited.
    pub fn max_count_per_day(&self) -> Option<i64> {
        self.stock_send_rule
            .as_ref()
            .and_then(|r| r.max_count_per_day)
    }
    pub fn max_count_per_user(&self) -> Option<i64> {
        self.stock_send_rule
            .as_ref()
            .and_then(|r| r.max_count_per_user)
    }
    pub fn sent_total(&self) -> i64 {
        self.sent_count_info
            .as_ref()
            .and_then(|s| s.total_count)
            .unwrap_or(0)
    }
    pub fn sent_today(&self) -> i64 {
        self.sent_count_info
            .as_ref()
            .and_then(|s| s.today_count)
            .unwrap_or(0)
    }
}

/// What the domain's rules read of an answer: the limits and counts, without the wire's nesting.
impl From<&StockEntity> for StockSnapshot {
    fn from(stock: &StockEntity) -> Self {
        Self {
            stock_id: stock.stock_id.clone(),
            state: stock.state.clone(),
            max_count: stock.max_count(),
            max_count_per_day: stock.max_count_per_day(),
            sent_today: stock.sent_today(),
            sent_total: stock.sent_total(),
        }
    }
}

/// One update-budget call: a mode and exactly its `current_*`/`target_*` pair. The body is
/// serialized once, here, and those bytes are what is signed, sent and resent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateBudgetRequest {
    out_request_no: OutRequestNo,
    mode: UpdateMode,
    current: i64,
    target: i64,
    body: Vec<u8>,
}

#[derive(Serialize)]
struct MaxCountBody<'a> {
    out_request_no: &'a str,
    update_mode: &'static str,
    current_max_count: i64,
    target_max_count: i64,
}

#[derive(Serialize)]
struct MaxCountPerDayBody<'a> {
    out_request_no: &'a str,
    update_mode: &'static str,
    current_max_count_per_day: i64,
    target_max_count_per_day: i64,
}

impl UpdateBudgetRequest {
    pub fn new(out_request_no: OutRequestNo, mode: UpdateMode, current: i64, target: i64) -> Self {
        let no = out_request_no.as_str();
        let body = match mode {
            UpdateMode::MaxCount => serde_json::to_vec(&MaxCountBody {
                out_request_no: no,
                update_mode: mode.as_str(),
                current_max_count: current,
                target_max_count: target,
            }),
            UpdateMode::MaxCountPerDay => serde_json::to_vec(&MaxCountPerDayBody {
                out_request_no: no,
                update_mode: mode.as_str(),
                current_max_count_per_day: current,
                target_max_count_per_day: target,
            }),
        }
        .expect("serializing integers and strings cannot fail");
        Self {
            out_request_no,
            mode,
            current,
            target,
            body,
        }
    }

    pub fn out_request_no(&self) -> &OutRequestNo {
        &self.out_request_no
    }
    pub fn mode(&self) -> UpdateMode {
        self.mode
    }
    pub fn current(&self) -> i64 {
        self.current
    }
    pub fn target(&self) -> i64 {
        self.target
    }
    /// The one update-budget call of a change request, rebuilt identically from its stored
    /// fields: the same request always gives the same body bytes.
    pub fn for_change(request: &ChangeRequest) -> Self {
        Self::new(
            request.out_request_no.clone(),
            request.mode,
            request.current,
            request.target,
        )
    }

    /// The exact JSON bytes to sign and send.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Defined here, beside the wire type it builds, so that the domain holds no wire types; callers
/// keep writing `request.update_request()`.
impl ChangeRequest {
    /// The one update-budget body of this request, rebuilt identically from stored fields.
    pub fn update_request(&self) -> UpdateBudgetRequest {
        UpdateBudgetRequest::for_change(self)
    }
}

/// The error body of a non-2xx answer (spec §6); any part may be missing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seed_style_entity_with_unknown_fields() {
        let json = r#"{"product_coupon_id":"1000000013","stock_id":"1000000013001","remark":"r",
            "coupon_code_mode":"UPLOAD","stock_send_rule":{"max_count":10000000,"max_count_per_day":10000,
            "max_count_per_user":1},"progressive_bundle_usage_rule":{"x":1},"state":"SENDING",
            "deactivate_time":"2025-01-01T00:00+08:00","sent_count_info":{"total_count":100,"today_count":10},
            "brand_new_field":[1,2]}"#;
        let stock: StockEntity = serde_json::from_str(json).unwrap();
        assert_eq!(stock.state, StockState::Sending);
        assert_eq!(stock.max_count(), Some(10_000_000));
        assert_eq!(stock.max_count_per_day(), Some(10_000));
        assert_eq!(stock.sent_total(), 100);
        assert_eq!(stock.sent_today(), 10);
        assert_eq!(stock.extra["deactivate_time"], "2025-01-01T00:00+08:00");
        assert!(stock.extra.contains_key("brand_new_field"));
    }

    #[test]
    fn unknown_state_and_missing_daily_limit() {
        let stock: StockEntity = serde_json::from_str(
            r#"{"stock_id":"1","state":"ARCHIVED","stock_send_rule":{"max_count":5}}"#,
        )
        .unwrap();
        assert_eq!(stock.state, StockState::Other("ARCHIVED".into()));
        assert_eq!(stock.state.to_string(), "ARCHIVED");
        assert!(!stock.state.allows_budget_update());
        assert_eq!(stock.max_count_per_day(), None);
    }

    #[test]
    fn snapshot_reads_limits_and_counts_missing_counts_are_zero() {
        let stock: StockEntity = serde_json::from_str(
            r#"{"stock_id":"7","state":"PAUSED","stock_send_rule":{"max_count":50,"max_count_per_day":5},
                "sent_count_info":{"today_count":3}}"#,
        )
        .unwrap();
        assert_eq!(
            StockSnapshot::from(&stock),
            StockSnapshot {
                stock_id: "7".into(),
                state: StockState::Paused,
                max_count: Some(50),
                max_count_per_day: Some(5),
                sent_today: 3,
                sent_total: 0,
            }
        );
    }

    #[test]
    fn update_body_carries_only_its_modes_pair() {
        let no = OutRequestNo::new("bb-123-abc").unwrap();
        let daily = UpdateBudgetRequest::new(no.clone(), UpdateMode::MaxCountPerDay, 10, 20);
        assert_eq!(
            std::str::from_utf8(daily.body()).unwrap(),
            r#"{"out_request_no":"bb-123-abc","update_mode":"MAX_COUNT_PER_DAY","current_max_count_per_day":10,"target_max_count_per_day":20}"#
        );
        let total = UpdateBudgetRequest::new(no, UpdateMode::MaxCount, 100, 200);
        assert_eq!(
            std::str::from_utf8(total.body()).unwrap(),
            r#"{"out_request_no":"bb-123-abc","update_mode":"MAX_COUNT","current_max_count":100,"target_max_count":200}"#
        );
    }
}
