//! The simulator's mutable world: stocks, idempotency records, the request log, applied changes
//! and queued faults. One mutex guards it all so each update-budget is checked and applied
//! atomically, like a single-row transaction on the real server.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::wechatpay::model::{StockEntity, UpdateMode};

use super::fault::{Endpoint, Fault, FaultMatch};
use super::stocks::SimStock;

/// One request as the simulator saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Arrival order, from 0.
    pub seq: u64,
    /// When the request head arrived (monotonic clock), for rate and backoff checks.
    pub arrived: Instant,
    /// The same moment as Unix milliseconds, for humans.
    pub arrived_unix_ms: u64,
    pub method: String,
    /// Path plus `?query` exactly as received (the canonical URL the signature covers).
    pub path: String,
    /// The raw body bytes.
    pub body: Vec<u8>,
    /// `out_request_no` from a JSON body, when there is one.
    pub out_request_no: Option<String>,
    /// `nonce_str` of the Authorization header, when it parsed.
    pub auth_nonce: Option<String>,
    /// `timestamp` of the Authorization header, when it parsed.
    pub auth_timestamp: Option<String>,
    /// `User-Agent`, `Accept` and `Content-Type` as sent.
    pub user_agent: Option<String>,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    /// The fault injected into this request, if any.
    pub fault: Option<Fault>,
    /// The status answered; `None` when no answer was sent (dropped connection, or the handler
    /// was abandoned or is still running).
    pub status: Option<u16>,
    /// The Request-ID answered.
    pub request_id: Option<String>,
    /// True when this request changed a stock (an idempotent replay does not).
    pub applied: bool,
}

/// One budget change the simulator applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedUpdate {
    pub product_coupon_id: String,
    pub stock_id: String,
    pub out_request_no: String,
    pub mode: UpdateMode,
    /// The value before; `None` only if the field was absent.
    pub from: Option<i64>,
    pub to: i64,
    /// `seq` of the request that applied it.
    pub request_seq: u64,
}

/// What the first successful answer to an `out_request_no` was, for replays.
#[derive(Clone, Debug)]
pub(crate) struct IdempotencyRecord {
    /// Path the request went to; a replay must go to the same stock.
    pub path: String,
    pub body: Vec<u8>,
    pub status: u16,
    pub response_body: Vec<u8>,
}

pub(crate) type StockId = (String, String);

#[derive(Debug, Default)]
pub(crate) struct State {
    pub stocks: HashMap<StockId, StockEntity>,
    pub idempotency: HashMap<String, IdempotencyRecord>,
    pub log: Vec<RequestRecord>,
    pub applied: Vec<AppliedUpdate>,
    pub faults: VecDeque<(FaultMatch, Fault)>,
    pub latency: Duration,
    /// `seq`s of redirects answered and not yet followed.
    pub redirects: HashSet<u64>,
    /// Where the API is mounted, as behind a proxy that forwards its path prefix unchanged
    /// (`/wxpay`); empty at the root.
    pub path_prefix: String,
}

impl State {
    pub fn new(stocks: Vec<SimStock>, latency: Duration) -> Self {
        Self {
            stocks: stocks
                .into_iter()
                .map(|s| ((s.product_coupon_id, s.entity.stock_id.clone()), s.entity))
                .collect(),
            latency,
            ..Self::default()
        }
    }

    /// Removes and returns the first queued fault that applies to this endpoint (FIFO among
    /// matching faults; faults for other endpoints stay queued).
    pub fn take_fault(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let index = self
            .faults
            .iter()
            .position(|(matcher, _)| matcher.matches(endpoint))?;
        self.faults.remove(index).map(|(_, fault)| fault)
    }
}
