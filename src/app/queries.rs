//! The read-only use cases: show a stock, pending requests, a stock's history, the audit log.
//! The CLI's `show` and `audit show` use the same functions as the chat commands.

use crate::config::StockConfig;
use crate::domain::command::{self, StockEntry, UnknownStock};
use crate::store::{AuditIter, RequestStore, StoreError};
use crate::wechatpay::{ApiError, CouponApi, StockEntity};

use super::{App, AppError, Denial, Outcome, ReadPurpose};

/// The allow-listed stocks: the only ones the bot reads or changes.
#[derive(Clone, Debug)]
pub struct Allowlist(Vec<StockConfig>);

impl Allowlist {
    pub fn new(stocks: Vec<StockConfig>) -> Self {
        Self(stocks)
    }

    pub fn all(&self) -> &[StockConfig] {
        &self.0
    }

    /// A stock id or configured name, resolved (with a did-you-mean when it is neither).
    pub fn resolve(&self, token: &str) -> Result<&StockConfig, UnknownStock> {
        let entries: Vec<StockEntry<'_>> = self
            .0
            .iter()
            .map(|s| StockEntry {
                stock_id: &s.stock_id,
                name: s.name.as_deref(),
            })
            .collect();
        command::resolve_stock(token, &entries).map(|i| &self.0[i])
    }
}

/// Why a stock could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error(transparent)]
    Unknown(UnknownStock),
    #[error("cannot show stock {stock_id}: {error}")]
    Api {
        stock_id: String,
        label: String,
        error: ApiError,
    },
}

/// Reads an allow-listed stock live: its configuration and what the API says now.
pub async fn read_stock<'a>(
    stocks: &'a Allowlist,
    api: &dyn CouponApi,
    token: &str,
) -> Result<(&'a StockConfig, StockEntity), ShowError> {
    let stock = stocks.resolve(token).map_err(ShowError::Unknown)?;
    match api.get_stock(&stock.key()).await {
        Ok(response) => Ok((stock, response.value)),
        Err(error) => Err(ShowError::Api {
            stock_id: stock.stock_id.clone(),
            label: stock.label(),
            error,
        }),
    }
}

/// The audit entries of one stock (id or name), or of all stocks with `None`, oldest first,
/// read one at a time as the iterator is advanced.
pub fn audit_entries<'s>(
    store: &'s dyn RequestStore,
    stocks: &Allowlist,
    stock: Option<&str>,
) -> Result<Result<AuditIter<'s>, UnknownStock>, StoreError> {
    let stock_id = match stock.map(|token| stocks.resolve(token)) {
        Some(Ok(stock)) => Some(stock.stock_id.as_str()),
        Some(Err(unknown)) => return Ok(Err(unknown)),
        None => None,
    };
    store.audit_iter(stock_id).map(Ok)
}

impl App {
    /// `/budget show`: the live limits of an allow-listed stock.
    pub async fn show(&self, token: &str) -> Outcome {
        match read_stock(&self.stocks, self.api.as_ref(), token).await {
            Ok((stock, live)) => Outcome::Stock {
                label: stock.label(),
                stock: Box::new(live),
            },
            Err(ShowError::Unknown(unknown)) => Denial::UnknownStock(unknown).into(),
            Err(ShowError::Api { label, error, .. }) => Denial::StockUnreadable {
                label,
                purpose: ReadPurpose::Show,
                error,
            }
            .into(),
        }
    }

    /// `/budget history`: the last `count` audit entries of a stock, oldest first; only those
    /// are read.
    pub fn history(&self, token: &str, count: usize) -> Result<Outcome, AppError> {
        let stock = match self.resolve_stock(token) {
            Ok(stock) => stock,
            Err(denied) => return Ok(denied.into()),
        };
        let mut entries = self.store.audit_tail(&stock.stock_id, count)?;
        entries.reverse();
        Ok(Outcome::History {
            stock: stock.label(),
            entries,
        })
    }
}
