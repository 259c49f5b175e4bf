//! Wiring shared by the binary's commands and the tests: config + ports → app → adapter.

use std::path::Path;
use std::sync::Arc;

use tokio::io::AsyncBufRead;

use crate::app::{App, Clock, SystemClock};
use crate::chat::console::{Console, ConsoleNotifier, Output};
use crate::config::{Config, ConsoleConfig};
use crate::store::Store;
use crate::wechatpay::CouponApi;

/// Builds the console adapter over a store and an API client, and resumes interrupted work.
pub async fn console(
    config: &Config,
    api: Arc<dyn CouponApi>,
    store: Store,
    out: Arc<Output>,
    clock: Arc<dyn Clock>,
) -> Result<Console, String> {
    let users = config
        .console
        .clone()
        .unwrap_or_else(ConsoleConfig::default)
        .users;
    let notifier = Arc::new(ConsoleNotifier::new(out.clone(), &users));
    let app = Arc::new(App::new(
        config.stocks.clone(),
        config.approval.clone(),
        api,
        store,
        notifier,
        clock,
    ));
    app.recover()
        .await
        .map_err(|e| format!("cannot resume interrupted requests: {e}"))?;
    Ok(Console::new(app, users, out))
}

/// `budget-bot console`: the store from the config, the real client, stdin to the end.
pub async fn run_console<R: AsyncBufRead + Unpin>(
    config: &Config,
    api: Arc<dyn CouponApi>,
    store_path: &Path,
    json: bool,
    input: R,
) -> Result<(), String> {
    if config.console.as_ref().is_none_or(|c| c.users.is_empty()) {
        return Err(format!(
            "config file {} has no [console.users]; `console` needs at least one user (see config.toml.example)",
            config.source.display()
        ));
    }
    let store = Store::open(store_path).map_err(|e| e.to_string())?;
    let out = Arc::new(Output::stdout(json));
    let console = console(config, api, store.clone(), out, Arc::new(SystemClock)).await?;
    console
        .run(input)
        .await
        .map_err(|e| format!("cannot read input: {e}"))?;
    store.flush().map_err(|e| e.to_string())?;
    Ok(())
}
