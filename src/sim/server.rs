//! The simulator's HTTP side: its own hyper accept loop (so a fault can close a connection
//! without answering), routing, fault injection and response signing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::wechatpay::sign::{new_nonce, parse_authorization, RsaSigner, RsaVerifier, AUTH_SCHEME};
use crate::wechatpay::verify::response_message;

use super::fault::{CannedAnswer, Endpoint, Fault};
use super::rules::{self, Authenticator, Outcome, SignedRequest};
use super::state::{RequestRecord, State};

/// Where the stock endpoints live.
const STOCKS_PREFIX: &str = "/brand/marketing/product-coupon/product-coupons/";

/// The query parameter of a [`Fault::Redirect`]'s `Location`: the redirect it redeems.
const REDIRECT_TOKEN: &str = "redirected";

/// The redirect a followed `Location` redeems, if the URL is one.
fn redirect_token(canonical_url: &str) -> Option<u64> {
    let (_, query) = canonical_url.split_once('?')?;
    query.split('&').find_map(|pair| {
        pair.strip_prefix(REDIRECT_TOKEN)?
            .strip_prefix('=')?
            .parse()
            .ok()
    })
}

/// The serial a [`Fault::WrongSerial`] answer carries.
pub const WRONG_SERIAL: &str = "PUB_KEY_ID_9999999999999999999999999999WRONG";

/// How old a [`Fault::StaleTimestamp`] answer's timestamp is.
const STALE_BY: Duration = Duration::from_secs(600);

/// Everything the connection tasks share.
pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub brand_id: String,
    pub certificate_serial_no: String,
    pub public_key_id: String,
    pub brand_key: RsaVerifier,
    pub platform_signer: RsaSigner,
    pub next_seq: AtomicU64,
    /// `http://127.0.0.1:PORT`: where [`Fault::Redirect`] points.
    pub base_url: String,
    /// Requests whose handler is running (or waiting on a delay) right now.
    pub in_flight: AtomicU64,
}

/// Counts a handler in [`Shared::in_flight`] until it returns or hyper drops it (the client
/// hung up), so a test can wait until no abandoned request can still change a stock.
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    /// The state lock. A panic while holding it (a simulator bug) must not hide the log from
    /// the test that is about to fail, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The error a service returns to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until the task is aborted; aborting drops the JoinSet, which aborts
/// every connection task too.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = shared.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |request| handle(shared.clone(), request));
                        if let Err(error) = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                        {
                            tracing::debug!(%peer, %error, "simulator connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The route of a request.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    GetStock {
        product_coupon_id: String,
        stock_id: String,
    },
    UpdateBudget {
        product_coupon_id: String,
        stock_id: String,
    },
    Unknown,
}

impl Route {
    fn parse(method: &str, path: &str) -> Route {
        let Some(rest) = path.strip_prefix(STOCKS_PREFIX) else {
            return Route::Unknown;
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let ids = |pc: &str, stock: &str| {
            (!pc.is_empty() && !stock.is_empty()).then(|| (pc.to_owned(), stock.to_owned()))
        };
        match (method, segments.as_slice()) {
            ("GET", [pc, "stocks", stock]) => {
                ids(pc, stock).map_or(Route::Unknown, |(product_coupon_id, stock_id)| {
                    Route::GetStock {
                        product_coupon_id,
                        stock_id,
                    }
                })
            }
            ("POST", [pc, "stocks", stock, "update-budget"]) => {
                ids(pc, stock).map_or(Route::Unknown, |(product_coupon_id, stock_id)| {
                    Route::UpdateBudget {
                        product_coupon_id,
                        stock_id,
                    }
                })
            }
            _ => Route::Unknown,
        }
    }

    /// `(product_coupon_id, stock_id)` of a stock route.
    fn stock(&self) -> Option<(&str, &str)> {
        match self {
            Route::GetStock {
                product_coupon_id,
                stock_id,
            }
            | Route::UpdateBudget {
                product_coupon_id,
                stock_id,
            } => Some((product_coupon_id, stock_id)),
            Route::Unknown => None,
        }
    }

    fn endpoint(&self) -> Endpoint {
        match self {
            Route::GetStock { .. } => Endpoint::GetStock,
            Route::UpdateBudget { .. } => Endpoint::UpdateBudget,
            Route::Unknown => Endpoint::Unknown,
        }
    }
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn header<'a>(request: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let _in_flight = InFlight::enter(&shared.in_flight);
    let arrived = Instant::now();
    let arrived_unix = unix_now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let canonical_url = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
    let serial = header(&request, "wechatpay-serial").map(str::to_owned);
    let authorization = header(&request, "authorization").map(str::to_owned);
    let user_agent = header(&request, "user-agent").map(str::to_owned);
    let accept = header(&request, "accept").map(str::to_owned);
    let content_type = header(&request, "content-type").map(str::to_owned);
    // A client that hangs up mid-body gets nothing back, so there is nothing to log either.
    let body = request
        .into_body()
        .collect()
        .await
        .map_err(|_| DropConnection)?
        .to_bytes();

    // Behind a prefix the route is what follows it; the signature still covers all of
    // `canonical_url`, as the real API sees whatever the proxy forwards.
    let prefix = shared.lock().path_prefix.clone();
    let route = match path.strip_prefix(prefix.as_str()) {
        Some(api_path) if api_path.starts_with('/') => Route::parse(&method, api_path),
        _ => Route::Unknown,
    };
    let out_request_no = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("out_request_no")?.as_str().map(str::to_owned));
    let auth_fields = authorization
        .as_deref()
        .and_then(|a| parse_authorization(a).ok());
    let seq = shared.next_seq.fetch_add(1, Ordering::SeqCst);
    let (fault, latency) = {
        let mut state = shared.lock();
        let fault = state.take_fault(route.endpoint());
        state.log.push(RequestRecord {
            seq,
            arrived,
            arrived_unix_ms: arrived_unix.as_millis() as u64,
            method: method.clone(),
            path: canonical_url.clone(),
            body: body.to_vec(),
            out_request_no,
            auth_nonce: auth_fields.as_ref().map(|f| f.nonce_str.clone()),
            auth_timestamp: auth_fields.as_ref().map(|f| f.timestamp.clone()),
            user_agent,
            accept,
            content_type,
            fault: fault.clone(),
            status: None,
            request_id: None,
            applied: false,
        });
        (fault, state.latency)
    };

    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(Fault::Delay(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }

    let mut location = None;
    let outcome = match &fault {
        Some(Fault::DropConnection) => {
            tracing::info!(seq, %method, path = %canonical_url, "simulator dropping the connection (injected fault)");
            return Err(DropConnection);
        }
        Some(Fault::Status500) => Outcome::system_error(),
        Some(Fault::Status429) => Outcome::rate_limited(),
        Some(Fault::SignError) => crate::sim::rules::sign_error(
            "签名错误: the request timestamp is too far from the server clock (injected fault)"
                .to_string(),
        ),
        Some(Fault::Redirect(status)) => {
            shared.lock().redirects.insert(seq);
            location = Some(match route.stock() {
                Some((pc, stock)) => format!(
                    "{}{STOCKS_PREFIX}{pc}/stocks/{stock}?{REDIRECT_TOKEN}={seq}",
                    shared.base_url
                ),
                None => format!("{}/", shared.base_url),
            });
            Outcome::bare(*status, Vec::new())
        }
        // A follower of a redirect reads the stock it points at. The follower's Authorization
        // was signed for the redirected request, so the target is served without checking it,
        // once per redirect (what a caching edge in front of the API would do).
        _ if route.endpoint() == Endpoint::GetStock
            && redirect_token(&canonical_url)
                .is_some_and(|token| shared.lock().redirects.remove(&token)) =>
        {
            let (pc, stock) = route.stock().expect("a stock route");
            rules::get_stock(&shared.lock(), pc, stock)
        }
        Some(Fault::Answer(canned)) => Outcome::bare(canned.status, canned.body.clone()),
        Some(Fault::IgnoreAndAnswerStock) => match route.stock() {
            Some((pc, stock)) => rules::get_stock(&shared.lock(), pc, stock),
            None => Outcome::not_found(format!("接口不存在: {method} {path}")),
        },
        _ => {
            let before = route.stock().and_then(|(pc, stock)| {
                shared
                    .lock()
                    .stocks
                    .get(&(pc.to_owned(), stock.to_owned()))
                    .cloned()
            });
            let outcome = process(
                &shared,
                &route,
                &method,
                &path,
                &canonical_url,
                serial.as_deref(),
                authorization.as_deref(),
                &body,
                seq,
                arrived_unix.as_secs(),
            );
            let success = (200..300).contains(&outcome.status);
            match &fault {
                // The work is done (and remembered for replay); only the answer is lost.
                Some(Fault::ApplyThen500) => Outcome {
                    applied: outcome.applied,
                    ..Outcome::system_error()
                },
                Some(Fault::OtherStock) if success => Outcome {
                    body: other_stock_body(&shared, &route, &outcome.body),
                    ..outcome
                },
                Some(Fault::AnswerBefore) if success => match before {
                    Some(entity) => Outcome {
                        body: serde_json::to_vec(&entity).expect("entities serialize"),
                        ..outcome
                    },
                    None => outcome,
                },
                _ => outcome,
            }
        }
    };

    let request_id = format!(
        "{:012X}{:08X}{}-{}",
        arrived_unix.as_millis(),
        seq,
        &new_nonce()[..8],
        outcome.code
    );
    let canned = match &fault {
        Some(Fault::Answer(canned)) => Some(canned),
        _ => None,
    };
    let request_id = match canned {
        Some(CannedAnswer { gateway: true, .. }) => None,
        Some(CannedAnswer {
            request_id: Some(given),
            ..
        }) => Some(given.clone()),
        _ => Some(request_id),
    };
    let response = signed_response(
        &shared,
        &outcome,
        request_id.as_deref(),
        fault.as_ref(),
        location.as_deref(),
    );
    {
        let mut state = shared.lock();
        if let Some(record) = state.log.iter_mut().rev().find(|r| r.seq == seq) {
            record.status = Some(outcome.status);
            record.request_id.clone_from(&request_id);
            record.applied = outcome.applied;
        }
    }
    tracing::info!(seq, %method, path = %canonical_url, status = outcome.status, request_id = request_id.as_deref().unwrap_or("-"), applied = outcome.applied, fault = ?fault, "simulator answered");
    Ok(response)
}

/// Authentication, then the endpoint's rules; unknown routes are 404 before authentication,
/// like a gateway that does not know the path.
#[allow(clippy::too_many_arguments)]
fn process(
    shared: &Shared,
    route: &Route,
    method: &str,
    path: &str,
    canonical_url: &str,
    serial: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
    seq: u64,
    now_unix: u64,
) -> Outcome {
    if *route == Route::Unknown {
        return Outcome::not_found(format!("接口不存在: {method} {path}"));
    }
    let authenticator = Authenticator {
        brand_id: &shared.brand_id,
        certificate_serial_no: &shared.certificate_serial_no,
        public_key_id: &shared.public_key_id,
        brand_key: &shared.brand_key,
    };
    let request = SignedRequest {
        method,
        canonical_url,
        serial,
        authorization,
        body,
    };
    if let Err(outcome) = authenticator.check(request, now_unix) {
        return outcome;
    }
    let mut state = shared.lock();
    match route {
        Route::GetStock {
            product_coupon_id,
            stock_id,
        } => rules::get_stock(&state, product_coupon_id, stock_id),
        Route::UpdateBudget {
            product_coupon_id,
            stock_id,
        } => rules::update_budget(&mut state, product_coupon_id, stock_id, path, body, seq),
        Route::Unknown => unreachable!("handled above"),
    }
}

/// Signs `TIMESTAMP\nNONCE\nBODY\n` with the platform key and builds the response, applying the
/// header and body faults after signing. A gateway's canned answer (no `request_id`, no
/// signature) carries neither.
fn signed_response(
    shared: &Shared,
    outcome: &Outcome,
    request_id: Option<&str>,
    fault: Option<&Fault>,
    location: Option<&str>,
) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(outcome.status)
        .header("content-type", "application/json");
    if let Some(location) = location {
        builder = builder.header("location", location);
    }
    let gateway = matches!(
        fault,
        Some(Fault::Answer(CannedAnswer { gateway: true, .. }))
    );
    let mut body = outcome.body.clone();
    if !gateway {
        let mut timestamp = unix_now().as_secs();
        if fault == Some(&Fault::StaleTimestamp) {
            timestamp -= STALE_BY.as_secs();
        }
        let timestamp = match fault {
            Some(Fault::TimestampHeader(given)) => given.clone(),
            _ => timestamp.to_string(),
        };
        let nonce = new_nonce();
        let mut signature = shared.platform_signer.sign_base64(&response_message(
            &timestamp,
            &nonce,
            &outcome.body,
        ));
        let mut serial = shared.public_key_id.as_str();
        match fault {
            Some(Fault::BadSignature) => signature = format!("WECHATPAY/SIGNTEST/{signature}"),
            Some(Fault::WrongSerial) => serial = WRONG_SERIAL,
            Some(Fault::TamperedBody) => body = tamper(&body),
            _ => {}
        }
        builder = builder
            .header("Wechatpay-Timestamp", timestamp)
            .header("Wechatpay-Nonce", nonce)
            .header("Wechatpay-Signature", signature)
            .header("Wechatpay-Serial", serial)
            .header("Wechatpay-Signature-Type", AUTH_SCHEME);
    }
    if let Some(request_id) = request_id {
        builder = builder.header("Request-ID", request_id);
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .expect("status and header values are valid")
}

/// The body of a [`Fault::OtherStock`] answer: the first other stock the simulator serves, or,
/// when it serves only this one, this answer with another `stock_id`.
fn other_stock_body(shared: &Shared, route: &Route, body: &[u8]) -> Vec<u8> {
    let this = route
        .stock()
        .map(|(pc, stock)| (pc.to_owned(), stock.to_owned()));
    let state = shared.lock();
    let other = state
        .stocks
        .iter()
        .filter(|(key, _)| Some(*key) != this.as_ref())
        .min_by(|a, b| a.0.cmp(b.0))
        .map(|(_, entity)| serde_json::to_vec(entity).expect("entities serialize"));
    other.unwrap_or_else(|| match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            if let Some(id) = value.get_mut("stock_id") {
                *id = format!("{}0", id.as_str().unwrap_or_default()).into();
            }
            serde_json::to_vec(&value).expect("values serialize")
        }
        Err(_) => body.to_vec(),
    })
}

/// A modification an attacker would want: a bigger `max_count` when there is one, otherwise an
/// extra field. Either way the bytes differ from what was signed.
fn tamper(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            if let Some(max) = value
                .pointer_mut("/stock_send_rule/max_count")
                .filter(|v| v.is_i64())
            {
                *max = (max.as_i64().unwrap_or(0) + 1_000_000).into();
            } else if let Some(object) = value.as_object_mut() {
                object.insert("tampered".into(), true.into());
            }
            serde_json::to_vec(&value).expect("values serialize")
        }
        Err(_) => {
            let mut body = body.to_vec();
            body.push(b' ');
            body
        }
    }
}

/// Binds the listener; split out so `start` can report bind errors before spawning.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
