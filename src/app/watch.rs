//! Burn alerts: every `[watch] interval` (by the app's clock, checked at each sweep), read
//! each allow-listed stock and post one alert per share of a limit newly reached and per
//! change of the stock's state. What was alerted, and the state last seen, are marks in the
//! store, each set by compare-and-set before its alert is posted: a restart does not repeat
//! them, and two workers never post the same one.

use crate::config::{StockConfig, WatchConfig};
use crate::domain::burn::{self, Reached};
use crate::domain::stock::StockSnapshot;
use crate::i18n::{Lang, Localized};

use super::{messages, App, AppError};

impl App {
    /// Watches the stocks if `[watch]` is set and its interval has passed since the last
    /// watch. Returns how many alerts were posted.
    pub async fn watch_due(&self) -> Result<usize, AppError> {
        let Some(watch) = &self.watch else {
            return Ok(0);
        };
        let now = self.clock.now();
        {
            let mut last = self.watched_at.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| now < at.saturating_add(watch.interval.as_secs().max(1))) {
                return Ok(0);
            }
            *last = Some(now);
        }
        let mut posted = 0;
        for stock in self.stocks.all() {
            let live = match self.api.get_stock(&stock.key()).await {
                Ok(response) => StockSnapshot::from(&response.value),
                Err(e) => {
                    tracing::warn!(stock = %stock.stock_id, error = %e, "could not read the stock to watch it; next interval tries again");
                    continue;
                }
            };
            posted += self.watch_stock(stock, &live, watch, now).await?;
        }
        Ok(posted)
    }

    async fn watch_stock(
        &self,
        stock: &StockConfig,
        live: &StockSnapshot,
        watch: &WatchConfig,
        now: u64,
    ) -> Result<usize, AppError> {
        let mut posted = 0;
        let state_key = burn::state_key(&stock.stock_id);
        let seen = self.store.mark(&state_key)?;
        let state = live.state.as_str();
        if seen.as_deref() != Some(state)
            && self
                .store
                .swap_mark(&state_key, seen.as_deref(), Some(state))?
        {
            // The very first read only records the state.
            if let Some(before) = seen {
                self.post_alert(messages::state_alert(&stock.label(), &before, &live.state))
                    .await;
                posted += 1;
            }
        }
        let today = messages::local_date(now);
        for reached in burn::reached(live, &watch.daily_sent_percent, &watch.total_sent_percent) {
            if self.mark_once(&stock.stock_id, &reached, &today)? {
                self.post_alert(messages::burn_alert(stock, &reached)).await;
                posted += 1;
            }
        }
        Ok(posted)
    }

    /// Sets the threshold's mark for today (or this limit); true when this call set it, so the
    /// caller posts the alert.
    fn mark_once(&self, stock_id: &str, reached: &Reached, today: &str) -> Result<bool, AppError> {
        let key = reached.mark_key(stock_id);
        let value = reached.mark_value(today);
        let old = self.store.mark(&key)?;
        if old.as_deref() == Some(value.as_str()) {
            return Ok(false);
        }
        Ok(self.store.swap_mark(&key, old.as_deref(), Some(&value))?)
    }

    async fn post_alert(&self, text: Localized) {
        if let Err(e) = self.notifier.alert(&text).await {
            tracing::error!(error = %e, alert = %text.get(Lang::En), "could not post a stock alert");
            crate::ops::metrics::notify_failed();
        }
    }
}
