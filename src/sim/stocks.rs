//! The simulator's stock fixtures: the demo stocks and loading a JSON stocks file.

use std::collections::HashSet;
use std::path::Path;

use crate::wechatpay::model::{SentCountInfo, StockEntity, StockSendRule, StockState};

/// One stock the simulator serves: its product coupon and the entity GET returns.
#[derive(Clone, Debug, PartialEq)]
pub struct SimStock {
    pub product_coupon_id: String,
    pub entity: StockEntity,
}

impl SimStock {
    /// Wraps an entity; its `product_coupon_id` is set to match, since the API returns it.
    pub fn new(product_coupon_id: impl Into<String>, mut entity: StockEntity) -> Self {
        let product_coupon_id = product_coupon_id.into();
        entity.product_coupon_id = Some(product_coupon_id.clone());
        Self {
            product_coupon_id,
            entity,
        }
    }

    /// A stock with the budget fields set and everything else plain. `max_count_per_day: None`
    /// means the daily limit is unlimited (the field is absent from the JSON).
    #[allow(clippy::too_many_arguments)]
    pub fn with_budget(
        product_coupon_id: &str,
        stock_id: &str,
        state: StockState,
        max_count: i64,
        max_count_per_day: Option<i64>,
        max_count_per_user: i64,
        sent_total: i64,
        sent_today: i64,
    ) -> Self {
        let mut extra = serde_json::Map::new();
        extra.insert("store_scope".into(), "NONE".into());
        Self::new(
            product_coupon_id,
            StockEntity {
                product_coupon_id: None,
                stock_id: stock_id.into(),
                remark: None,
                state,
                stock_send_rule: Some(StockSendRule {
                    max_count: Some(max_count),
                    max_count_per_day,
                    max_count_per_user: Some(max_count_per_user),
                    extra: serde_json::Map::new(),
                }),
                sent_count_info: Some(SentCountInfo {
                    total_count: Some(sent_total),
                    today_count: Some(sent_today),
                    extra: serde_json::Map::new(),
                }),
                coupon_code_mode: Some("WECHATPAY".into()),
                extra,
            },
        )
    }

    fn remark(mut self, remark: &str) -> Self {
        self.entity.remark = Some(remark.into());
        self
    }
}

/// The demo stocks: one of each situation the bot has to handle.
///
/// | product coupon | stock | state | max_count | per day | per user | sent total / today |
/// |---|---|---|---|---|---|---|
/// | 200000001 | 123 | SENDING | 100000 | 10000 | 1 | 4200 / 310 |
/// | 200000001 | 124 | PAUSED | 5000 | 500 | 1 | 1200 / 0 |
/// | 200000001 | 125 | STOPPED | 2000 | 200 | 1 | 2000 / 0 |
/// | 200000002 | 200 | SENDING | 50000 | unlimited | 2 | 100 / 20 |
pub fn seeded_stocks() -> Vec<SimStock> {
    vec![
        SimStock::with_budget(
            "200000001",
            "123",
            StockState::Sending,
            100_000,
            Some(10_000),
            1,
            4_200,
            310,
        )
        .remark("demo sending"),
        SimStock::with_budget(
            "200000001",
            "124",
            StockState::Paused,
            5_000,
            Some(500),
            1,
            1_200,
            0,
        )
        .remark("demo paused"),
        SimStock::with_budget(
            "200000001",
            "125",
            StockState::Stopped,
            2_000,
            Some(200),
            1,
            2_000,
            0,
        )
        .remark("demo stopped"),
        SimStock::with_budget(
            "200000002",
            "200",
            StockState::Sending,
            50_000,
            None,
            2,
            100,
            20,
        )
        .remark("demo no daily limit"),
    ]
}

/// Reads a stocks file: a JSON array of StockEntity objects, each with its `product_coupon_id`.
/// Errors name the file and say what is wrong.
pub fn load_stocks_file(path: &Path) -> Result<Vec<SimStock>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read stocks file {}: {e}", path.display()))?;
    parse_stocks_json(&text).map_err(|e| format!("stocks file {}: {e}", path.display()))
}

/// The body of [`load_stocks_file`], separate so it can be tested without files.
pub fn parse_stocks_json(text: &str) -> Result<Vec<SimStock>, String> {
    let entities: Vec<StockEntity> = serde_json::from_str(text).map_err(|e| {
        format!("expected a JSON array of StockEntity objects (each with product_coupon_id): {e}")
    })?;
    let mut seen = HashSet::new();
    let mut stocks = Vec::with_capacity(entities.len());
    for (index, entity) in entities.into_iter().enumerate() {
        let product_coupon_id = match entity.product_coupon_id.clone() {
            Some(pc) if !pc.is_empty() => pc,
            _ => {
                return Err(format!(
                    "entry {index} (stock_id {}) has no product_coupon_id",
                    entity.stock_id
                ))
            }
        };
        if !seen.insert((product_coupon_id.clone(), entity.stock_id.clone())) {
            return Err(format!(
                "entry {index}: stock {product_coupon_id}/{} appears twice",
                entity.stock_id
            ));
        }
        stocks.push(SimStock::new(product_coupon_id, entity));
    }
    Ok(stocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_stocks_cover_the_demo_cases() {
        let stocks = seeded_stocks();
        let main = stocks
            .iter()
            .find(|s| s.entity.stock_id == "123")
            .expect("stock 123");
        assert_eq!(main.product_coupon_id, "200000001");
        assert_eq!(main.entity.product_coupon_id.as_deref(), Some("200000001"));
        assert_eq!(main.entity.state, StockState::Sending);
        assert_eq!(main.entity.max_count(), Some(100_000));
        assert_eq!(main.entity.max_count_per_day(), Some(10_000));
        assert_eq!(main.entity.max_count_per_user(), Some(1));
        assert_eq!(main.entity.sent_total(), 4_200);
        assert_eq!(main.entity.sent_today(), 310);
        assert!(stocks.iter().any(|s| s.entity.state == StockState::Paused));
        assert!(stocks.iter().any(|s| s.entity.state == StockState::Stopped));
        assert!(stocks.iter().any(
            |s| s.entity.state == StockState::Sending && s.entity.max_count_per_day().is_none()
        ));
    }

    #[test]
    fn stocks_file_round_trips_and_rejects_bad_entries() {
        let entities: Vec<StockEntity> = seeded_stocks().into_iter().map(|s| s.entity).collect();
        let json = serde_json::to_string(&entities).unwrap();
        assert_eq!(parse_stocks_json(&json).unwrap(), seeded_stocks());
        let err = parse_stocks_json(r#"[{"stock_id":"1","state":"SENDING"}]"#).unwrap_err();
        assert!(err.contains("no product_coupon_id"), "{err}");
        let twice = r#"[{"product_coupon_id":"9","stock_id":"1","state":"SENDING"},
                        {"product_coupon_id":"9","stock_id":"1","state":"PAUSED"}]"#;
        assert!(parse_stocks_json(twice).unwrap_err().contains("twice"));
        assert!(parse_stocks_json("{}").is_err());
    }
}
