//! A stateful fake of the WeChat Pay brand API over real HTTP, for integration tests,
//! `budget-bot sim` and `budget-bot demo`. It checks requests the way the spec says the real
//! API does, signs every answer with a (test) platform key, and can inject faults.
//!
//! # Public surface
//!
//! - [`Simulator::start`]`(addr, SimConfig) -> io::Result<Simulator>`; then
//!   [`Simulator::base_url`], [`Simulator::local_addr`], [`Simulator::handle`],
//!   [`Simulator::shutdown`] (dropping it also stops it).
//! - [`SimHandle`] (cloneable): [`requests`](SimHandle::requests),
//!   [`stock`](SimHandle::stock), [`update_stock`](SimHandle::update_stock),
//!   [`set_sent`](SimHandle::set_sent), [`set_state`](SimHandle::set_state),
//!   [`insert_stock`](SimHandle::insert_stock), [`mount_at`](SimHandle::mount_at),
//!   [`applied_count`](SimHandle::applied_count),
//!   [`applied_updates`](SimHandle::applied_updates), [`set_latency`](SimHandle::set_latency),
//!   [`push_fault`](SimHandle::push_fault), [`pending_faults`](SimHandle::pending_faults),
//!   [`clear_faults`](SimHandle::clear_faults), [`in_flight`](SimHandle::in_flight).
//! - [`SimConfig`] (keys, key id, brand id, stocks, latency) and
//!   [`SimConfig::with_test_keys`]; [`SimStock`], [`seeded_stocks`], [`load_stocks_file`].
//! - [`cli_config`] and [`serve_forever`] for `budget-bot sim --listen ADDR [--stocks FILE]`.
//! - [`test_keys`]: TEST-ONLY keys and identities. Never a production default.
//! - [`Fault`] / [`FaultMatch`] / [`CannedAnswer`], [`RequestRecord`], [`AppliedUpdate`], [`rules::codes`].
//!
//! # Endpoints
//!
//! `GET /brand/marketing/product-coupon/product-coupons/{pc}/stocks/{stock}` and
//! `POST …/stocks/{stock}/update-budget` (spec §4.1, §4.2), under the
//! [`mount_at`](SimHandle::mount_at) prefix when one is set. Anything else is 404 NOT_FOUND.
//!
//! # Checks, in order
//!
//! 1. `Wechatpay-Serial` present and equal to the public key id, else 400 INVALID_REQUEST.
//! 2. `Authorization` parsed strictly (shared `parse_authorization`), else 400 INVALID_REQUEST
//!    "Authorization值格式错误…".
//! 3. `brand_id` equal to the configured one, else 401 SIGN_ERROR.
//! 4. `serial_no` equal to the configured brand API certificate serial, else 401 SIGN_ERROR (the
//!    real API finds the certificate by it, so an unknown serial cannot verify).
//! 5. Request timestamp within 300 s of the server clock, else 401 SIGN_ERROR.
//! 6. Signature over `METHOD\nPATH?QUERY\nTS\nNONCE\nBODY\n` with the brand public key, else
//!    401 SIGN_ERROR with `detail.sign_information.truncated_sign_message`.
//! 7. update-budget only: JSON object body; valid `out_request_no` (400 PARAM_ERROR);
//!    idempotency (below); `update_mode` (400 PARAM_ERROR); the other mode's fields absent and
//!    this mode's pair present (400 INVALID_REQUEST, the API's 「…」必须同时设置 message);
//!    stock exists (**404** NOT_FOUND, Request-ID code 268578608: the spec leaves 404 vs 400
//!    open, 404 is the more useful signal); state SENDING or PAUSED (400 INVALID_REQUEST);
//!    per-day mode on a stock without a daily limit (400 INVALID_REQUEST); `current_*` equals
//!    the live value (400 INVALID_REQUEST); target in 0..=100,000,000 (400 PARAM_ERROR);
//!    MAX_COUNT target not below the sent total (400 INVALID_REQUEST).
//!
//! # Idempotency
//!
//! The first *successful* update for an `out_request_no` is remembered with its path, body and
//! answer. The same `out_request_no` with a byte-identical body to the same stock replays that
//! answer (status and body, freshly signed) without applying again; with a different body or
//! stock it is 400 INVALID_REQUEST. Rejected requests (4xx) are not remembered, so a corrected
//! retry with the same `out_request_no` is possible. The check comes before the business rules,
//! so a replay succeeds even though `current_*` no longer matches.
//!
//! # Answers
//!
//! Every answer, errors included, carries `Request-ID` (`{unique}-{code}`, code 0 on success),
//! `Wechatpay-Timestamp`, `-Nonce`, `-Signature`, `-Serial` and
//! `Wechatpay-Signature-Type: WECHATPAY-BRAND-SHA256-RSA2048`, signed with the platform private
//! key over `TS\nNONCE\nBODY\n`.
//! The one exception is a fault: a gateway's [`CannedAnswer`] carries none of them, as an
//! answer from a proxy in front of the API would not.
//!
//! # Faults
//!
//! Queued FIFO with [`SimHandle::push_fault`]; each is consumed by the next request its
//! [`FaultMatch`] accepts. See [`Fault`] for what each does. A global latency is added before
//! every request is handled.

mod fault;
pub mod rules;
mod server;
mod state;
mod stocks;
pub mod test_keys;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsa::{PrivateKey, PublicKey};
use tokio::task::JoinHandle;

use crate::wechatpay::model::{StockEntity, StockState};
use crate::wechatpay::sign::{RsaSigner, RsaVerifier};

pub use fault::{CannedAnswer, Fault, FaultMatch};
pub use server::WRONG_SERIAL;
pub use state::{AppliedUpdate, RequestRecord};
pub use stocks::{load_stocks_file, parse_stocks_json, seeded_stocks, SimStock};

use server::Shared;
use state::State;

/// What the simulator is: whose requests it accepts, how it signs, and what it serves.
#[derive(Clone)]
pub struct SimConfig {
    /// The brand id requests must carry in Authorization.
    pub brand_id: String,
    /// The brand API certificate serial requests must carry as `serial_no` in Authorization
    /// (the real API looks the certificate up by it).
    pub certificate_serial_no: String,
    /// Verifies request signatures.
    pub brand_public_key: PublicKey,
    /// Signs answers (the simulated WeChat Pay platform key).
    pub platform_private_key: PrivateKey,
    /// The WeChat Pay public key id: required as request `Wechatpay-Serial`, sent back as the
    /// answer's `Wechatpay-Serial`.
    pub public_key_id: String,
    pub stocks: Vec<SimStock>,
    /// Added before every request is handled.
    pub latency: Duration,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("brand_id", &self.brand_id)
            .field("certificate_serial_no", &self.certificate_serial_no)
            .field("public_key_id", &self.public_key_id)
            .field("keys", &"<redacted>")
            .field("stocks", &self.stocks.len())
            .field("latency", &self.latency)
            .finish()
    }
}

impl SimConfig {
    /// The TEST-ONLY identities of [`test_keys`], these stocks and no latency.
    pub fn with_test_keys(stocks: Vec<SimStock>) -> Self {
        Self {
            brand_id: test_keys::BRAND_ID.into(),
            certificate_serial_no: test_keys::CERT_SERIAL.into(),
            brand_public_key: test_keys::brand_public_key(),
            platform_private_key: test_keys::platform_private_key(),
            public_key_id: test_keys::PUBLIC_KEY_ID.into(),
            stocks,
            latency: Duration::ZERO,
        }
    }
}

/// A running simulator. Dropping it stops it (in-flight connections are aborted).
#[derive(Debug)]
pub struct Simulator {
    local_addr: SocketAddr,
    handle: SimHandle,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Binds `addr` (use `127.0.0.1:0` in tests) and starts serving.
    pub async fn start(addr: SocketAddr, config: SimConfig) -> io::Result<Simulator> {
        let listener = server::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            base_url: loopback_url(local_addr),
            in_flight: AtomicU64::new(0),
            state: Mutex::new(State::new(config.stocks, config.latency)),
            brand_id: config.brand_id,
            certificate_serial_no: config.certificate_serial_no,
            public_key_id: config.public_key_id,
            brand_key: RsaVerifier::new(config.brand_public_key),
            platform_signer: RsaSigner::new(config.platform_private_key),
            next_seq: AtomicU64::new(0),
        });
        let task = tokio::spawn(server::accept_loop(listener, shared.clone()));
        tracing::info!(%local_addr, "WeChat Pay brand API simulator started");
        Ok(Simulator {
            local_addr,
            handle: SimHandle { shared },
            task: Some(task),
        })
    }

    /// `http://IP:PORT`, with a wildcard listen address replaced by loopback.
    pub fn base_url(&self) -> String {
        loopback_url(self.local_addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A cloneable handle to inspect and change the simulator's state.
    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }

    /// Stops accepting and aborts open connections.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        tracing::info!(local_addr = %self.local_addr, "WeChat Pay brand API simulator stopped");
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// `http://IP:PORT`, with a wildcard listen address replaced by loopback.
fn loopback_url(mut addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    format!("http://{addr}")
}

/// Inspects and changes a running simulator. Clones share the same simulator.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimHandle")
    }
}

impl SimHandle {
    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        let mut log = self.shared.lock().log.clone();
        log.sort_by_key(|r| r.seq);
        log
    }

    /// Every update-budget request so far, in arrival order: what tests count and compare to
    /// prove a change was sent once, with the same body on every retry.
    pub fn update_budget_requests(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/update-budget"))
            .collect()
    }

    /// The stock as GET would return it now.
    pub fn stock(&self, product_coupon_id: &str, stock_id: &str) -> Option<StockEntity> {
        self.shared
            .lock()
            .stocks
            .get(&(product_coupon_id.to_owned(), stock_id.to_owned()))
            .cloned()
    }

    /// Changes a stock in place; false when there is no such stock.
    pub fn update_stock(
        &self,
        product_coupon_id: &str,
        stock_id: &str,
        change: impl FnOnce(&mut StockEntity),
    ) -> bool {
        let mut state = self.shared.lock();
        match state
            .stocks
            .get_mut(&(product_coupon_id.to_owned(), stock_id.to_owned()))
        {
            Some(entity) => {
                change(entity);
                true
            }
            None => false,
        }
    }

    /// Sets `sent_count_info`; false when there is no such stock.
    pub fn set_sent(
        &self,
        product_coupon_id: &str,
        stock_id: &str,
        total: i64,
        today: i64,
    ) -> bool {
        self.update_stock(product_coupon_id, stock_id, |entity| {
            let sent = entity.sent_count_info.get_or_insert_with(Default::default);
            sent.total_count = Some(total);
            sent.today_count = Some(today);
        })
    }

    /// Sets the state; false when there is no such stock.
    pub fn set_state(&self, product_coupon_id: &str, stock_id: &str, state: StockState) -> bool {
        self.update_stock(product_coupon_id, stock_id, |entity| entity.state = state)
    }

    /// Adds or replaces a stock.
    pub fn insert_stock(&self, stock: SimStock) {
        self.shared.lock().stocks.insert(
            (stock.product_coupon_id, stock.entity.stock_id.clone()),
            stock.entity,
        );
    }

    /// How many budget changes were applied (replays do not count).
    pub fn applied_count(&self) -> usize {
        self.shared.lock().applied.len()
    }

    /// Every budget change applied, in order.
    pub fn applied_updates(&self) -> Vec<AppliedUpdate> {
        self.shared.lock().applied.clone()
    }

    /// Latency added before every later request is handled.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Serves the API under `prefix` (`/wxpay`), as behind a proxy that forwards the prefix
    /// unchanged: routes are matched after the prefix, while the signature must still cover
    /// the whole request-target as received. Paths outside the prefix are 404.
    pub fn mount_at(&self, prefix: &str) {
        self.shared.lock().path_prefix = prefix.trim_end_matches('/').to_owned();
    }

    /// Queues a fault for the next request `matcher` accepts.
    pub fn push_fault(&self, matcher: FaultMatch, fault: Fault) {
        self.shared.lock().faults.push_back((matcher, fault));
    }

    /// Faults queued and not yet consumed.
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().faults.len()
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Requests being handled right now, delayed ones included. A request whose client hung up
    /// stops counting once the simulator notices and abandons it (then nothing was applied).
    pub fn in_flight(&self) -> u64 {
        self.shared
            .in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The configuration of `budget-bot sim`: TEST-ONLY keys, and the stocks of `stocks_file` or
/// the [`seeded_stocks`].
pub fn cli_config(stocks_file: Option<&Path>) -> Result<SimConfig, String> {
    let stocks = match stocks_file {
        Some(path) => load_stocks_file(path)?,
        None => seeded_stocks(),
    };
    Ok(SimConfig::with_test_keys(stocks))
}

/// Runs a simulator until Ctrl-C, printing where it listens and how to point the bot at it.
pub async fn serve_forever(addr: SocketAddr, config: SimConfig) -> io::Result<()> {
    let brand_id = config.brand_id.clone();
    let serial = config.certificate_serial_no.clone();
    let public_key_id = config.public_key_id.clone();
    let stocks: Vec<String> = config
        .stocks
        .iter()
        .map(|s| {
            format!(
                "{}/{} ({})",
                s.product_coupon_id, s.entity.stock_id, s.entity.state
            )
        })
        .collect();
    let simulator = Simulator::start(addr, config).await?;
    println!(
        "WeChat Pay brand API simulator listening on {}",
        simulator.base_url()
    );
    println!(
        "Point the bot at it: base_url = \"{}\", brand_id = \"{brand_id}\", \
         certificate_serial_no = \"{serial}\", wechatpay_public_key_id = \"{public_key_id}\", with the TEST keys from testdata/keys/ \
         (brand_apiclient_key.pem, wechatpay_pub.pem). Never use these keys for real.",
        simulator.base_url()
    );
    println!("Stocks: {}", stocks.join(", "));
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    simulator.shutdown().await;
    Ok(())
}
