//! Readiness (is the store open, is every chat adapter connected, did the last WeChat Pay call
//! succeed), the probe read that keeps the last point true to life while WeChat Pay is down,
//! and the `healthcheck` client a container runtime calls (the runtime image has no curl).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::chat::Connection;
use crate::config::StockConfig;
use crate::store::RequestStore;
use crate::wechatpay::CouponApi;

use super::metrics::{last_api_call, LastCall};

/// While the last WeChat Pay call failed, a probe read is made this often, so readiness comes
/// back when WeChat Pay does, without waiting for someone to use the bot.
pub const REPROBE_INTERVAL: Duration = Duration::from_secs(5);

/// How long `budget-bot healthcheck` waits for `/healthz`.
pub const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The `/readyz` body: `{"ready":false,"checks":{"store":"ok","discord":"not connected",…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub ready: bool,
    pub checks: BTreeMap<&'static str, String>,
}

/// The word of a check that passes.
pub const OK: &str = "ok";

impl Report {
    /// Ready when every check says [`OK`].
    pub fn new(checks: BTreeMap<&'static str, String>) -> Self {
        Self {
            ready: checks.values().all(|v| v == OK),
            checks,
        }
    }
}

/// What `/readyz` looks at.
pub struct Readiness {
    store: Arc<dyn RequestStore>,
    adapters: Mutex<BTreeMap<&'static str, Connection>>,
    /// Checks added by the command that serves `/readyz` (e.g. `run`'s "leader").
    extra: Mutex<BTreeMap<&'static str, ExtraCheck>>,
}

/// A check that says [`OK`] or what is wrong.
type ExtraCheck = Box<dyn Fn() -> String + Send + Sync>;

impl Readiness {
    pub fn new(store: Arc<dyn RequestStore>) -> Self {
        Self {
            store,
            adapters: Mutex::new(BTreeMap::new()),
            extra: Mutex::new(BTreeMap::new()),
        }
    }

    /// `name` counts for readiness from now on, as `check` says each time it is asked.
    pub fn add_check(
        &self,
        name: &'static str,
        check: impl Fn() -> String + Send + Sync + 'static,
    ) {
        self.extra
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, Box::new(check));
    }

    pub fn store(&self) -> &dyn RequestStore {
        self.store.as_ref()
    }

    /// `platform` counts for readiness from now on, connected when `connection` says so. A
    /// platform still connecting is watched with a fresh (unset) [`Connection`].
    pub fn watch(&self, platform: &'static str, connection: Connection) {
        self.adapters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(platform, connection);
    }

    pub fn report(&self) -> Report {
        let mut checks = BTreeMap::new();
        let store = match self.store.last() {
            Ok(_) => OK.to_string(),
            Err(e) => format!("cannot read: {e}"),
        };
        checks.insert("store", store);
        for (platform, connection) in self
            .adapters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let state = if connection.is_connected() {
                OK
            } else {
                "not connected"
            };
            checks.insert(*platform, state.to_string());
        }
        for (name, check) in self.extra.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            checks.insert(*name, check());
        }
        checks.insert("wechatpay", wechatpay_check(&last_api_call()));
        Report::new(checks)
    }
}

fn wechatpay_check(last: &LastCall) -> String {
    match last {
        LastCall::Succeeded => OK.to_string(),
        LastCall::None => "no call yet".to_string(),
        LastCall::Failed(error) => format!("last call failed: {error}"),
    }
}

/// Reads `stock` once at once, then again every [`REPROBE_INTERVAL`] while the last call of the
/// process failed, until `stop`. The client records each outcome (see `metrics::api_call`).
pub async fn probe_wechatpay(api: Arc<dyn CouponApi>, stock: StockConfig, stop: CancellationToken) {
    let key = stock.key();
    loop {
        if last_api_call() != LastCall::Succeeded {
            let probe = tokio::select! {
                () = stop.cancelled() => return,
                probe = api.get_stock(&key) => probe,
            };
            match probe {
                Ok(_) => tracing::info!(stock = %stock.stock_id, "WeChat Pay probe read succeeded"),
                Err(error) => {
                    tracing::warn!(stock = %stock.stock_id, %error, "WeChat Pay probe read failed; /readyz says not ready until a call succeeds")
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(REPROBE_INTERVAL) => {}
        }
    }
}

/// The address to reach a server listening on `listen` from the same host: a wildcard
/// address becomes loopback.
pub fn local_target(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// `budget-bot healthcheck`: `GET /healthz` on `listen` (a wildcard address as loopback),
/// which must answer 200 within [`HEALTHCHECK_TIMEOUT`]. The error says what happened.
pub async fn healthcheck(listen: SocketAddr) -> Result<(), String> {
    let url = format!("http://{}/healthz", local_target(listen));
    let client = reqwest::Client::builder()
        .timeout(HEALTHCHECK_TIMEOUT)
        // The bot's own port on this host: an HTTP(S)_PROXY in the environment must not be asked.
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    match client.get(&url).send().await {
        Ok(response) if response.status() == reqwest::StatusCode::OK => Ok(()),
        Ok(response) => Err(format!("{url} answered {}", response.status())),
        Err(e) if e.is_timeout() => Err(format!(
            "{url} did not answer within {}s",
            HEALTHCHECK_TIMEOUT.as_secs()
        )),
        Err(e) => Err(format!("{url}: {}", error_chain(&e))),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_check_is_ok() {
        let checks = |wechatpay: &str| {
            BTreeMap::from([
                ("store", OK.to_string()),
                ("discord", OK.to_string()),
                ("wechatpay", wechatpay.to_string()),
            ])
        };
        assert!(Report::new(checks(OK)).ready);
        let report = Report::new(checks(&wechatpay_check(&LastCall::Failed(
            "could not reach WeChat Pay".into(),
        ))));
        assert!(!report.ready);
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            serde_json::json!({"ready": false, "checks": {
                "store": "ok", "discord": "ok",
                "wechatpay": "last call failed: could not reach WeChat Pay"}})
        );
        assert!(!Report::new(checks(&wechatpay_check(&LastCall::None))).ready);
    }

    #[test]
    fn an_adapter_counts_once_watched_and_while_connected() {
        let readiness = Readiness::new(Arc::new(crate::store::MemoryStore::new()));
        let connection = Connection::default();
        readiness.watch("discord", connection.clone());
        assert_eq!(readiness.report().checks["discord"], "not connected");
        connection.set(true);
        assert_eq!(readiness.report().checks["discord"], OK);
        assert_eq!(readiness.report().checks["store"], OK);
    }

    #[test]
    fn a_wildcard_listen_address_is_reached_on_loopback() {
        let target = |listen: &str| local_target(listen.parse().unwrap()).to_string();
        assert_eq!(target("0.0.0.0:9090"), "127.0.0.1:9090");
        assert_eq!(target("[::]:9090"), "[::1]:9090");
        assert_eq!(target("127.0.0.1:9091"), "127.0.0.1:9091");
    }
}
