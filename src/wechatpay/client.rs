//! The brand API client: the `CouponApi` port and its reqwest implementation, which signs every
//! attempt afresh over the same body bytes, verifies every 2xx, checks that it is about the stock
//! asked about, never follows a redirect, retries what is safe to retry, fails over to the
//! backup host when the primary cannot be reached, and keeps under the per-brand rate limit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Url};
use tokio::time::Instant;

use crate::domain::text::echo;

use super::error::{echo_id, ApiError};
use super::hosts::{parse_base_url, request_target, Host};
use super::limiter::RateLimiter;
use super::model::{StockEntity, UpdateBudgetRequest};
use super::sign::{new_nonce, BrandSigner};
use super::verify::{headers, ResponseVerifier, SignatureHeaders};

/// `User-Agent` of every request: reqwest sends none by default and the API may require one.
pub const USER_AGENT_VALUE: &str = concat!("budget-bot/", env!("CARGO_PKG_VERSION"));

pub use crate::domain::stock::StockKey;

/// The API paths of a stock: a [`StockKey`] is both path parameters of the stock endpoints.
pub trait StockPaths {
    /// `/brand/marketing/product-coupon/product-coupons/{product_coupon_id}/stocks/{stock_id}`.
    fn path(&self) -> String;
    /// [`StockPaths::path`] + `/update-budget`.
    fn update_budget_path(&self) -> String;
}

impl StockPaths for StockKey {
    /// IDs are restricted to `[0-9A-Za-z_-]` by the config, so they need no escaping.
    fn path(&self) -> String {
        format!(
            "/brand/marketing/product-coupon/product-coupons/{}/stocks/{}",
            self.product_coupon_id, self.stock_id
        )
    }

    fn update_budget_path(&self) -> String {
        format!("{}/update-budget", self.path())
    }
}

/// A verified answer and the Request-ID it came with.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiResponse<T> {
    pub value: T,
    pub request_id: Option<String>,
}

/// The two calls the bot makes. Every `Ok` is a verified answer about the stock asked about.
/// Everything above this trait is tested against the simulator over real HTTP; tests/app_mock.rs
/// mocks it (mockall, a dev-dependency) for narrow "called exactly once" checks.
#[async_trait]
pub trait CouponApi: Send + Sync {
    /// GET the stock.
    async fn get_stock(&self, stock: &StockKey) -> Result<ApiResponse<StockEntity>, ApiError>;
    /// POST update-budget with the request's stored body bytes.
    async fn update_budget(
        &self,
        stock: &StockKey,
        request: &UpdateBudgetRequest,
    ) -> Result<ApiResponse<StockEntity>, ApiError>;
}

/// Timeouts and retry bounds.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub base_url: String,
    /// Where a request goes when `base_url` cannot be reached (connect failure or timeout).
    /// `None` by default even for the official primary, so that a client built from defaults
    /// with a local `base_url` can never reach a real host; the config derives the official
    /// backup with [`super::hosts::backup_base_url`].
    pub backup_base_url: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// No new attempt starts after this much time since the first.
    pub max_retry_time: Duration,
    /// First backoff; doubles on each retry.
    pub retry_backoff: Duration,
    /// First wait after a 429; doubles on each retry (the troubleshooting manual's
    /// 1 s → 2 s → 4 s). Not configurable; tests shorten it.
    pub rate_limit_backoff: Duration,
    pub rate_limit_per_second: u32,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            base_url: super::hosts::PRIMARY_BASE_URL.into(),
            backup_base_url: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_attempts: 4,
            max_retry_time: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(500),
            rate_limit_backoff: RATE_LIMIT_MIN_BACKOFF,
            rate_limit_per_second: 20,
        }
    }
}

/// Minimum wait after a 429 (the troubleshooting manual's 1 s → 2 s → 4 s).
const RATE_LIMIT_MIN_BACKOFF: Duration = Duration::from_secs(1);

/// The reqwest implementation of [`CouponApi`].
#[derive(Debug)]
pub struct WechatPayClient {
    http: reqwest::Client,
    primary: Url,
    backup: Option<Url>,
    signer: BrandSigner,
    verifier: ResponseVerifier,
    settings: ClientSettings,
    limiter: RateLimiter,
}

/// One attempt's failure, and whether another attempt may follow.
enum AttemptError {
    Retry(ApiError, Duration),
    /// No connection, or no answer in time: the one failure worth the backup host (spec §7:
    /// only connectivity failures fail over); otherwise retried like [`AttemptError::Retry`].
    Unreachable(ApiError, Duration),
    Fatal(ApiError),
    /// 401 SIGN_ERROR: the one 4xx worth one re-signed retry (spec §7: clock skew).
    SignError(ApiError),
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl WechatPayClient {
    pub fn new(
        signer: BrandSigner,
        verifier: ResponseVerifier,
        settings: ClientSettings,
    ) -> Result<Self, ApiError> {
        let base_url = |key: &str, text: &str| {
            parse_base_url(text).map_err(|reason| ApiError::Transport {
                attempts: 0,
                reason: format!("{key} {reason}"),
            })
        };
        let primary = base_url("base_url", &settings.base_url)?;
        let backup = settings
            .backup_base_url
            .as_deref()
            .map(|text| base_url("backup_base_url", text))
            .transpose()?;
        let http = reqwest::Client::builder()
            // The API never redirects. A followed redirect would turn update-budget into a GET
            // whose verified stock could pass for the update's answer.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(USER_AGENT_VALUE)
            .build()
            .map_err(|e| ApiError::Transport {
                attempts: 0,
                reason: format!("cannot build HTTP client: {e}"),
            })?;
        let limiter = RateLimiter::per_second(settings.rate_limit_per_second);
        Ok(Self {
            http,
            primary,
            backup,
            signer,
            verifier,
            settings,
            limiter,
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.settings
            .retry_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16))
    }

    fn base(&self, host: Host) -> &Url {
        match (host, &self.backup) {
            (Host::Backup, Some(backup)) => backup,
            _ => &self.primary,
        }
    }

    /// The host after `host` could not be reached: the backup, once per call, when there is
    /// one. Where an attempt goes is decided here and nowhere else.
    fn failover(&self, host: Host) -> Option<Host> {
        (host == Host::Primary && self.backup.is_some()).then_some(Host::Backup)
    }

    /// Sends one logical call about `stock`: every attempt is rate limited and signed afresh
    /// over `body`. The call starts on the primary host; if that cannot be reached the same
    /// request goes to the backup at once, and the call's later attempts stay there. The
    /// failover is not counted as a retry. Either host's answer is handled the same way.
    async fn call(
        &self,
        stock: &StockKey,
        method: Method,
        path: &str,
        body: &[u8],
    ) -> Result<ApiResponse<StockEntity>, ApiError> {
        let started = Instant::now();
        let max_attempts = self.settings.max_attempts.max(1);
        let mut attempt = 1;
        let mut resigned = false;
        let mut host = Host::Primary;
        let mut failovers = 0;
        loop {
            let (error, wait) = match self
                .attempt(stock, &method, host, path, body, attempt)
                .await
            {
                Ok(response) => return Ok(response),
                Err(AttemptError::Fatal(error)) => {
                    return Err(gave_up(&method, path, attempt, error))
                }
                Err(AttemptError::SignError(error)) => {
                    // Nothing was processed; a fresh timestamp and signature may pass.
                    if resigned || attempt - failovers >= max_attempts {
                        return Err(gave_up(&method, path, attempt, error));
                    }
                    tracing::warn!(%method, path, attempt, %error, "SIGN_ERROR: re-signing once");
                    crate::ops::metrics::api_retry(&error);
                    resigned = true;
                    attempt += 1;
                    continue;
                }
                Err(AttemptError::Unreachable(error, wait)) => match self.failover(host) {
                    Some(next) => {
                        tracing::warn!(%method, path, attempt, from = host.as_str(), to = next.as_str(), backup = %self.base(next).origin().ascii_serialization(), %error, "WeChat Pay host unreachable: sending the same request to the backup host");
                        crate::ops::metrics::api_retry(&error);
                        host = next;
                        failovers += 1;
                        attempt += 1;
                        continue;
                    }
                    None => (error, wait),
                },
                Err(AttemptError::Retry(error, wait)) => (error, wait),
            };
            let out_of_time = started.elapsed() + wait > self.settings.max_retry_time;
            if attempt - failovers >= max_attempts || out_of_time {
                return Err(gave_up(&method, path, attempt, error));
            }
            tracing::warn!(%method, path, attempt, host = host.as_str(), wait_ms = wait.as_millis() as u64, %error, "retrying WeChat Pay call");
            crate::ops::metrics::api_retry(&error);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        stock: &StockKey,
        method: &Method,
        host: Host,
        path: &str,
        body: &[u8],
        attempt: u32,
    ) -> Result<ApiResponse<StockEntity>, AttemptError> {
        self.limiter.acquire().await;
        let (url, target) = request_target(self.base(host), path);
        let timestamp = now_unix();
        let nonce = new_nonce();
        let authorization =
            self.signer
                .authorization(method.as_str(), &target, timestamp, &nonce, body);
        let mut builder = self
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json")
            .header("Wechatpay-Serial", self.verifier.key_id());
        if !body.is_empty() {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let backoff = self.backoff(attempt);
        let transport = |e: reqwest::Error| {
            let error = if e.is_timeout() {
                ApiError::Timeout { attempts: attempt }
            } else {
                ApiError::Transport {
                    attempts: attempt,
                    reason: echo(&transport_reason(&e)),
                }
            };
            if e.is_connect() || e.is_timeout() {
                AttemptError::Unreachable(error, backoff)
            } else {
                AttemptError::Retry(error, backoff)
            }
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let response_headers = response.headers().clone();
        let request_id = header_str(&response_headers, headers::REQUEST_ID).map(echo_id);
        let raw = response.bytes().await.map_err(transport)?;
        tracing::info!(%method, path, host = host.as_str(), status = status.as_u16(), request_id = request_id.as_deref().unwrap_or("-"), attempt, "WeChat Pay call");

        if status.as_u16() == 429 {
            return Err(AttemptError::Retry(
                ApiError::RateLimited {
                    attempts: attempt,
                    request_id,
                },
                backoff.max(
                    self.settings
                        .rate_limit_backoff
                        .saturating_mul(1u32 << (attempt - 1).min(16)),
                ),
            ));
        }
        if status.is_redirection() {
            // Not followed, not retried: for a write the outcome is unknown (the caller
            // re-reads the stock), for a read there is nothing to read.
            let location = header_str(&response_headers, LOCATION.as_str()).map(echo);
            let error = ApiError::Redirect {
                status: status.as_u16(),
                location,
                request_id,
            };
            tracing::warn!(%method, path, %error, "WeChat Pay call redirected");
            return Err(AttemptError::Fatal(error));
        }
        if !status.is_success() {
            let error = ApiError::from_answer(status.as_u16(), &raw, request_id);
            return Err(if status.is_server_error() {
                AttemptError::Retry(error, backoff)
            } else if status.as_u16() == 401 && error.code() == Some("SIGN_ERROR") {
                AttemptError::SignError(error)
            } else {
                AttemptError::Fatal(error)
            });
        }
        let signature_headers = SignatureHeaders {
            timestamp: header_str(&response_headers, headers::TIMESTAMP),
            nonce: header_str(&response_headers, headers::NONCE),
            signature: header_str(&response_headers, headers::SIGNATURE),
            serial: header_str(&response_headers, headers::SERIAL),
        };
        if let Err(source) = self.verifier.verify(signature_headers, &raw, now_unix()) {
            tracing::warn!(%method, path, request_id = request_id.as_deref().unwrap_or("-"), error = %source, "WeChat Pay response failed verification");
            let error = ApiError::Verification { source, request_id };
            // A read is safe to repeat: WeChat Pay's deliberate probe signatures
            // (WECHATPAY/SIGNTEST/) must not fail it. A write's unverified answer goes back to
            // the caller, whose outcome is unknown until it resends or re-reads.
            return Err(if *method == Method::GET {
                AttemptError::Retry(error, backoff)
            } else {
                AttemptError::Fatal(error)
            });
        }
        let value: StockEntity = serde_json::from_slice(&raw).map_err(|e| {
            AttemptError::Fatal(ApiError::Decode {
                // serde quotes the offending value, which is the API's text.
                reason: echo(&e.to_string()),
                request_id: request_id.clone(),
            })
        })?;
        about_stock(stock, &value, &request_id).map_err(AttemptError::Fatal)?;
        Ok(ApiResponse { value, request_id })
    }
}

/// Logs the error a call ends with: the chat reply names its kind, and the technical detail
/// (the network error, the decoder's complaint) is kept here.
fn gave_up(method: &Method, path: &str, attempts: u32, error: ApiError) -> ApiError {
    tracing::warn!(%method, path, attempts, %error, "WeChat Pay call failed");
    error
}

/// Refuses an answer about another stock than `expected` (another `stock_id`, or another
/// `product_coupon_id` when the answer names one), naming both.
fn about_stock(
    expected: &StockKey,
    answer: &StockEntity,
    request_id: &Option<String>,
) -> Result<(), ApiError> {
    let same_stock = answer.stock_id == expected.stock_id;
    let answer_coupon = answer.product_coupon_id.as_deref();
    let same_coupon = answer_coupon.is_none_or(|pc| pc == expected.product_coupon_id);
    if same_stock && same_coupon {
        return Ok(());
    }
    let (expected, received) = match answer_coupon.filter(|_| !same_coupon) {
        None => (expected.stock_id.clone(), echo_id(&answer.stock_id)),
        Some(pc) => (
            format!("{}/{}", expected.product_coupon_id, expected.stock_id),
            format!("{}/{}", echo_id(pc), echo_id(&answer.stock_id)),
        ),
    };
    Err(ApiError::WrongStock {
        expected,
        received,
        request_id: request_id.clone(),
    })
}

/// reqwest's error text with its source chain, for operators (it never contains headers).
fn transport_reason(e: &reqwest::Error) -> String {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    reason
}

/// Counts and times one logical call (every attempt and backoff) for `/metrics`, and
/// remembers whether it succeeded for `/readyz`.
fn record_call<T>(
    endpoint: &'static str,
    started: Instant,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    crate::ops::metrics::api_call(endpoint, started.elapsed(), result)
}

#[async_trait]
impl CouponApi for WechatPayClient {
    async fn get_stock(&self, stock: &StockKey) -> Result<ApiResponse<StockEntity>, ApiError> {
        let started = Instant::now();
        let result = self.call(stock, Method::GET, &stock.path(), b"").await;
        record_call("get_stock", started, result)
    }

    async fn update_budget(
        &self,
        stock: &StockKey,
        request: &UpdateBudgetRequest,
    ) -> Result<ApiResponse<StockEntity>, ApiError> {
        let started = Instant::now();
        let path = stock.update_budget_path();
        let result = self.call(stock, Method::POST, &path, request.body()).await;
        record_call("update_budget", started, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(product_coupon_id: Option<&str>, stock_id: &str) -> StockEntity {
        let mut value = serde_json::json!({"stock_id": stock_id, "state": "SENDING"});
        if let Some(pc) = product_coupon_id {
            value["product_coupon_id"] = pc.into();
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_answer_about_another_stock_or_coupon_is_refused_naming_both() {
        let asked = StockKey::new("200000001", "123");
        let rid = Some("R-0".to_owned());
        assert!(about_stock(&asked, &answer(Some("200000001"), "123"), &rid).is_ok());
        assert!(about_stock(&asked, &answer(None, "123"), &rid).is_ok());
        let text = |a: &StockEntity| about_stock(&asked, a, &rid).unwrap_err().to_string();
        assert_eq!(
            text(&answer(None, "124")),
            "WeChat Pay answered about stock 124 when asked about stock 123; the answer was not \
             used (Request-ID R-0)"
        );
        assert!(text(&answer(Some("200000002"), "123"))
            .contains("stock 200000002/123 when asked about stock 200000001/123"));
        let long = text(&answer(None, &format!("9\u{202E}{}", "9".repeat(5_000))));
        assert!(
            long.chars().count() < 250 && long.contains("[cut:"),
            "{long}"
        );
        assert!(!long.contains('\u{202E}'));
    }
}
