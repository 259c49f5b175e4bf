//! What the simulated API answers: request authentication (spec §2) and the business rules of
//! GET stock and update-budget (spec §4.1, §4.2, §7). Pure functions over [`State`], so the
//! HTTP layer only adds faults, latency and response signatures.
//!
//! Choices where the spec says UNCONFIRMED (all documented in the `sim` module doc too):
//! - an unknown stock is 404 NOT_FOUND (Request-ID code 268578608), not 400;
//! - a wrong `brand_id`, an unknown certificate `serial_no` and a request timestamp more than
//!   300 s away are 401 SIGN_ERROR, like a signature that does not verify (the one 401 the client
//!   may retry after re-signing);
//! - a `current_*` mismatch is 400 INVALID_REQUEST;
//! - MAX_COUNT_PER_DAY on a stock without a daily limit is 400 INVALID_REQUEST, whatever
//!   `current_max_count_per_day` says;
//! - only successful updates are remembered for idempotency: a rejected request leaves no trace,
//!   so the same `out_request_no` can be retried with a corrected body;
//! - the same `out_request_no` with a different body (or for another stock) is 400
//!   INVALID_REQUEST.

use serde_json::{json, Value};

use crate::wechatpay::model::{ErrorBody, StockState, UpdateMode};
use crate::wechatpay::sign::{parse_authorization, request_message, RsaVerifier};

use super::state::{AppliedUpdate, IdempotencyRecord, State};

/// The highest `target_*` the API accepts (spec §4.2). Written out here rather than taken from
/// the bot, like every rule below: a simulator that shares the bot's rules cannot catch them wrong.
pub const MAX_TARGET: i64 = 100_000_000;

/// The request timestamp may be this far from the server clock, either way.
pub const REQUEST_TIMESTAMP_TOLERANCE_SECS: u64 = 300;

/// Internal codes after the last `-` of Request-ID. The first three are documented (SK-TS);
/// the rest are the simulator's own, so tests can tell the cases apart.
pub mod codes {
    pub const OK: u64 = 0;
    /// The object does not exist or does not belong to this brand (SK-TS).
    pub const NOT_FOUND: u64 = 268_578_608;
    /// 频率过快 (SK-TS).
    pub const RATE_LIMITED: u64 = 270_924_289;
    /// Parameter invalid (SK-TS).
    pub const PARAM_INVALID: u64 = 268_435_461;
    /// Simulator-only: a rule of the request was violated.
    pub const INVALID_REQUEST: u64 = 268_435_460;
    /// Simulator-only: authentication failed.
    pub const SIGN_ERROR: u64 = 268_435_457;
    /// Simulator-only: injected server error.
    pub const SYSTEM_ERROR: u64 = 268_435_456;
}

/// An answer before signing: status, raw body, the Request-ID code, and whether it changed state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub status: u16,
    pub body: Vec<u8>,
    pub code: u64,
    pub applied: bool,
}

impl Outcome {
    pub fn ok(body: Vec<u8>) -> Self {
        Self {
            status: 200,
            body,
            code: codes::OK,
            applied: false,
        }
    }

    /// An answer given as it is, without looking at the request (a fault); nothing is applied.
    pub fn bare(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            body,
            code: if status < 400 {
                codes::OK
            } else {
                codes::SYSTEM_ERROR
            },
            applied: false,
        }
    }

    pub fn error(status: u16, error_code: &str, message: impl Into<String>, code: u64) -> Self {
        Self::error_with_detail(status, error_code, message, code, None)
    }

    fn error_with_detail(
        status: u16,
        error_code: &str,
        message: impl Into<String>,
        code: u64,
        detail: Option<Value>,
    ) -> Self {
        let body = ErrorBody {
            code: error_code.into(),
            message: message.into(),
            detail,
        };
        Self {
            status,
            body: serde_json::to_vec(&body).expect("error bodies serialize"),
            code,
            applied: false,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::error(400, "INVALID_REQUEST", message, codes::INVALID_REQUEST)
    }

    pub fn param_error(message: impl Into<String>) -> Self {
        Self::error(400, "PARAM_ERROR", message, codes::PARAM_INVALID)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::error(404, "NOT_FOUND", message, codes::NOT_FOUND)
    }

    pub fn system_error() -> Self {
        Self::error(
            500,
            "SYSTEM_ERROR",
            "系统错误，请稍后重试",
            codes::SYSTEM_ERROR,
        )
    }

    pub fn rate_limited() -> Self {
        Self::error(
            429,
            "FREQUENCY_LIMITED",
            "频率超限, 请降低请求接口频率",
            codes::RATE_LIMITED,
        )
    }
}

/// The parts of a request authentication looks at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SignedRequest<'a> {
    pub method: &'a str,
    /// Path plus `?query` as received.
    pub canonical_url: &'a str,
    pub serial: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
}

/// Who the server is and how it checks requests.
pub(crate) struct Authenticator<'a> {
    pub brand_id: &'a str,
    pub certificate_serial_no: &'a str,
    pub public_key_id: &'a str,
    pub brand_key: &'a RsaVerifier,
}

impl Authenticator<'_> {
    /// Checks in this order: Wechatpay-Serial, Authorization format, brand_id, certificate
    /// serial, timestamp window, signature. The first failure is the answer.
    pub fn check(&self, request: SignedRequest<'_>, now_unix: u64) -> Result<(), Outcome> {
        match request.serial {
            None => {
                return Err(Outcome::invalid_request(
                    "Http头Wechatpay-Serial缺失：请填写微信支付公钥ID",
                ))
            }
            Some(serial) if serial != self.public_key_id => {
                return Err(Outcome::invalid_request(format!(
                    "Http头Wechatpay-Serial值{serial}不是有效的微信支付公钥ID"
                )))
            }
            Some(_) => {}
        }
        let header = request
            .authorization
            .ok_or_else(|| Outcome::invalid_request("Http头Authorization缺失"))?;
        let fields = parse_authorization(header).map_err(|reason| {
            Outcome::invalid_request(format!("Authorization值格式错误: {reason}"))
        })?;
        if fields.brand_id != self.brand_id {
            return Err(sign_error(format!(
                "brand_id {} 与签名密钥不匹配",
                fields.brand_id
            )));
        }
        // The real API finds the brand API certificate by `serial_no`: with an unknown one
        // there is no key to verify with, so it is a signature error, not a format error.
        if fields.serial_no != self.certificate_serial_no {
            return Err(sign_error(format!(
                "serial_no {} 不是该品牌的品牌API证书序列号",
                fields.serial_no
            )));
        }
        // Only canonical decimal seconds: the signed line is the header's text, and the shared
        // message builder formats the number, so both must be the same string.
        let timestamp: u64 = match fields.timestamp.parse() {
            Ok(t) if u64::to_string(&t) == fields.timestamp => t,
            _ => {
                return Err(Outcome::invalid_request(format!(
                    "Authorization值格式错误: timestamp {} 不是Unix秒数",
                    fields.timestamp
                )))
            }
        };
        if timestamp.abs_diff(now_unix) > REQUEST_TIMESTAMP_TOLERANCE_SECS {
            return Err(sign_error(format!(
                "请求时间戳{timestamp}与服务器时间{now_unix}相差超过{REQUEST_TIMESTAMP_TOLERANCE_SECS}秒"
            )));
        }
        let message = request_message(
            request.method,
            request.canonical_url,
            timestamp,
            &fields.nonce_str,
            request.body,
        );
        if !self.brand_key.verify_base64(&message, &fields.signature) {
            // Like merchant APIv3, say what was expected to be signed (spec §6), so a client bug
            // shows up as a readable diff rather than a bare 401.
            let detail = json!({
                "sign_information": {
                    "method": request.method,
                    "url": request.canonical_url,
                    "truncated_sign_message": String::from_utf8_lossy(&message),
                }
            });
            return Err(Outcome::error_with_detail(
                401,
                "SIGN_ERROR",
                "签名错误，请检查后再试",
                codes::SIGN_ERROR,
                Some(detail),
            ));
        }
        Ok(())
    }
}

pub(crate) fn sign_error(message: String) -> Outcome {
    Outcome::error(401, "SIGN_ERROR", message, codes::SIGN_ERROR)
}

/// GET stock.
pub(crate) fn get_stock(state: &State, product_coupon_id: &str, stock_id: &str) -> Outcome {
    match state
        .stocks
        .get(&(product_coupon_id.to_owned(), stock_id.to_owned()))
    {
        Some(entity) => Outcome::ok(serde_json::to_vec(entity).expect("entities serialize")),
        None => not_found(product_coupon_id, stock_id),
    }
}

fn not_found(product_coupon_id: &str, stock_id: &str) -> Outcome {
    Outcome::not_found(format!(
        "商品券批次不存在: product_coupon_id={product_coupon_id}, stock_id={stock_id}"
    ))
}

/// The field names of a mode's pair, and the other mode's, with the API's name of the limit.
fn pair(mode: UpdateMode) -> (&'static str, &'static str, [&'static str; 2], &'static str) {
    match mode {
        UpdateMode::MaxCount => (
            "current_max_count",
            "target_max_count",
            ["current_max_count_per_day", "target_max_count_per_day"],
            "批次发放次数总上限",
        ),
        UpdateMode::MaxCountPerDay => (
            "current_max_count_per_day",
            "target_max_count_per_day",
            ["current_max_count", "target_max_count"],
            "批次单天发放次数上限",
        ),
    }
}

/// `out_request_no`'s format (spec §4.2): 6 to 40 characters of `[0-9A-Za-z_-]`.
fn is_out_request_no(text: &str) -> bool {
    (6..=40).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// update-budget, after authentication. `path` is the request path (without query), used to
/// tie an `out_request_no` to its stock.
pub(crate) fn update_budget(
    state: &mut State,
    product_coupon_id: &str,
    stock_id: &str,
    path: &str,
    body: &[u8],
    request_seq: u64,
) -> Outcome {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Outcome::param_error("请求体不是合法的JSON对象");
    };
    let out_request_no = match fields.get("out_request_no") {
        None => return Outcome::param_error("缺少参数out_request_no"),
        Some(Value::String(s)) if is_out_request_no(s) => s.as_str(),
        Some(Value::String(_)) => {
            return Outcome::param_error("out_request_no格式错误：应为6-40位数字、大小写字母、_或-")
        }
        Some(_) => return Outcome::param_error("out_request_no应为字符串"),
    };

    // Idempotency comes before every business rule: a replay must succeed even though the stock
    // has changed since (its `current_*` no longer matches, precisely because it was applied).
    if let Some(record) = state.idempotency.get(out_request_no) {
        if record.path == path && record.body == body {
            return Outcome {
                status: record.status,
                body: record.response_body.clone(),
                code: codes::OK,
                applied: false,
            };
        }
        return Outcome::invalid_request(format!(
            "out_request_no {out_request_no} 已被使用，且请求参数与原请求不一致"
        ));
    }

    let mode = match fields.get("update_mode").and_then(Value::as_str) {
        Some("MAX_COUNT") => UpdateMode::MaxCount,
        Some("MAX_COUNT_PER_DAY") => UpdateMode::MaxCountPerDay,
        Some(other) => {
            return Outcome::param_error(format!(
                "update_mode {other} 无效：应为MAX_COUNT或MAX_COUNT_PER_DAY"
            ))
        }
        None => return Outcome::param_error("缺少参数update_mode"),
    };
    let (current_name, target_name, others, label) = pair(mode);
    if let Some(other) = others.iter().find(|name| fields.contains_key(**name)) {
        return Outcome::invalid_request(format!(
            "update_mode为{}时不应填写{other}",
            mode.as_str()
        ));
    }
    let (current, target) = match (fields.get(current_name), fields.get(target_name)) {
        (Some(current), Some(target)) => match (current.as_i64(), target.as_i64()) {
            (Some(c), Some(t)) => (c, t),
            _ => return Outcome::param_error(format!("{current_name}和{target_name}应为整数")),
        },
        _ => {
            return Outcome::invalid_request(format!(
                "更新「{label}」时必须同时设置{current_name}和{target_name}"
            ))
        }
    };

    let key = (product_coupon_id.to_owned(), stock_id.to_owned());
    let Some(entity) = state.stocks.get_mut(&key) else {
        return not_found(product_coupon_id, stock_id);
    };
    if !matches!(entity.state, StockState::Sending | StockState::Paused) {
        return Outcome::invalid_request(format!(
            "批次状态为{}，仅SENDING或PAUSED状态的批次可修改发放预算",
            entity.state
        ));
    }
    let live = match mode {
        UpdateMode::MaxCount => entity.max_count(),
        UpdateMode::MaxCountPerDay => match entity.max_count_per_day() {
            Some(value) => Some(value),
            None => {
                return Outcome::invalid_request(
                    "批次未设置单天发放次数上限（不限），不可按MAX_COUNT_PER_DAY修改",
                )
            }
        },
    };
    if live != Some(current) {
        return Outcome::invalid_request(format!(
            "{current_name}={current} 与批次当前值{}不一致，请查询批次后重试",
            live.map_or_else(|| "（未设置）".to_owned(), |v| v.to_string())
        ));
    }
    if !(0..=MAX_TARGET).contains(&target) {
        return Outcome::param_error(format!(
            "{target_name}={target} 超出范围：应在0到{MAX_TARGET}之间"
        ));
    }
    if mode == UpdateMode::MaxCount && target < entity.sent_total() {
        return Outcome::invalid_request(format!(
            "target_max_count={target} 不能小于已发放总数{}",
            entity.sent_total()
        ));
    }

    let rule = entity.stock_send_rule.get_or_insert_with(Default::default);
    match mode {
        UpdateMode::MaxCount => rule.max_count = Some(target),
        UpdateMode::MaxCountPerDay => rule.max_count_per_day = Some(target),
    }
    let response_body = serde_json::to_vec(&*entity).expect("entities serialize");
    state.applied.push(AppliedUpdate {
        product_coupon_id: product_coupon_id.to_owned(),
        stock_id: stock_id.to_owned(),
        out_request_no: out_request_no.to_owned(),
        mode,
        from: live,
        to: target,
        request_seq,
    });
    state.idempotency.insert(
        out_request_no.to_owned(),
        IdempotencyRecord {
            path: path.to_owned(),
            body: body.to_vec(),
            status: 200,
            response_body: response_body.clone(),
        },
    );
    Outcome {
        applied: true,
        ..Outcome::ok(response_body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_request_no_format_is_the_specs() {
        assert!(!is_out_request_no("abc12"));
        assert!(is_out_request_no("abc123"));
        assert!(is_out_request_no(&"a".repeat(40)));
        assert!(!is_out_request_no(&"a".repeat(41)));
        assert!(!is_out_request_no("abc 123"));
        assert!(!is_out_request_no("abc/123"));
        assert!(!is_out_request_no("批次批次批次"));
        assert!(is_out_request_no("AZaz09_-"));
    }
}
