//! A change request: what was asked, what was seen, who approved, and its state machine.

use rand::distr::{Distribution, Uniform};
use serde::{Deserialize, Serialize};

pub use super::actor::{Actor, ActorRef, Via};
use super::limit::{OutRequestNo, UpdateMode};
use super::stock::{StockKey, StockSnapshot};

/// Characters of request ids: lowercase letters and digits without the look-alikes 0/o, 1/l/i.
const ID_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const ID_LEN: usize = 8;

/// A request's id: short enough to type in chat (`/budget cancel k3m9x2ab`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    pub fn generate() -> Self {
        let pick = Uniform::new(0, ID_ALPHABET.len()).expect("alphabet is not empty");
        let mut rng = rand::rng();
        let id = (0..ID_LEN)
            .map(|_| ID_ALPHABET[pick.sample(&mut rng)] as char)
            .collect();
        Self(id)
    }

    /// Accepts what `generate` makes (case-insensitively); anything else is not a request id.
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        (lower.len() == ID_LEN && lower.bytes().all(|b| ID_ALPHABET.contains(&b)))
            .then_some(Self(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub by: ActorRef,
    pub at: u64,
    pub via: Via,
}

/// The life of a request. Pending → Approved → Submitting → Applied | Failed | Stale;
/// Pending → Rejected | Expired | Cancelled. A request with a schedule that is approved before
/// its time waits as Scheduled → Approved (at its time) | Cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequestState {
    Pending,
    Approved,
    Submitting,
    Applied,
    /// Approved, waiting for its `apply_at`; nothing is sent before it.
    Scheduled,
    Rejected,
    Expired,
    Cancelled,
    Stale,
    Failed,
}

impl RequestState {
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            RequestState::Pending
                | RequestState::Approved
                | RequestState::Submitting
                | RequestState::Scheduled
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "Pending",
            RequestState::Approved => "Approved",
            RequestState::Submitting => "Submitting",
            RequestState::Applied => "Applied",
            RequestState::Scheduled => "Scheduled",
            RequestState::Rejected => "Rejected",
            RequestState::Expired => "Expired",
            RequestState::Cancelled => "Cancelled",
            RequestState::Stale => "Stale",
            RequestState::Failed => "Failed",
        }
    }
}

impl std::fmt::Display for RequestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request's approval card was posted, so clicks and reactions find it after restarts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRef {
    pub channel_id: String,
    pub message_id: String,
}

/// Where a card is: the platform that posted it, its channel and its message. Message ids
/// are only unique within a platform, so two platforms' cards never share a key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CardKey {
    pub platform: String,
    pub channel: String,
    pub message: String,
}

impl CardKey {
    pub fn new(platform: &str, channel: &str, message: &str) -> Self {
        Self {
            platform: platform.into(),
            channel: channel.into(),
            message: message.into(),
        }
    }

    /// A card known by its message id alone, as stores written before [`CardKey`] index
    /// them (one platform per store then).
    pub fn legacy(message: &str) -> Self {
        Self::new("", "", message)
    }

    pub fn is_legacy(&self) -> bool {
        self.platform.is_empty() && self.channel.is_empty()
    }
}

/// A bare message id names a card the way today's callers do: [`CardKey::legacy`].
impl From<&str> for CardKey {
    fn from(message: &str) -> Self {
        Self::legacy(message)
    }
}

impl From<&String> for CardKey {
    fn from(message: &String) -> Self {
        Self::legacy(message)
    }
}

impl From<&CardKey> for CardKey {
    fn from(key: &CardKey) -> Self {
        key.clone()
    }
}

/// The stock's send counts when the request was made, shown on the card.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentCounts {
    pub today: i64,
    pub total: i64,
}

/// The outcome summary of an applied change: the stock as the API returned it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockSummary {
    pub state: String,
    pub max_count: Option<i64>,
    pub max_count_per_day: Option<i64>,
    pub sent_today: i64,
    pub sent_total: i64,
}

impl StockSummary {
    pub fn of(stock: impl Into<StockSnapshot>) -> Self {
        let stock = stock.into();
        Self {
            state: stock.state.to_string(),
            max_count: stock.max_count,
            max_count_per_day: stock.max_count_per_day,
            sent_today: stock.sent_today,
            sent_total: stock.sent_total,
        }
    }
}

/// A request to change one limit of one stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    pub id: RequestId,
    pub stock_id: String,
    pub product_coupon_id: String,
    pub stock_name: Option<String>,
    pub mode: UpdateMode,
    /// The live value when the request was made: sent as `current_*`, the API's compare-and-set guard.
    pub current: i64,
    pub target: i64,
    pub sent: SentCounts,
    pub requester: ActorRef,
    pub reason: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
    pub out_request_no: OutRequestNo,
    pub state: RequestState,
    pub approvals: Vec<Approval>,
    pub required_approvals: u32,
    /// Who ended it (rejecter, canceller) or who made the last approval.
    pub decided_by: Option<ActorRef>,
    pub decided_at: Option<u64>,
    /// Why it failed or went stale, in English words: the record, and all that requests
    /// stored before [`Self::outcome_reason`] existed have.
    pub outcome_detail: Option<String>,
    /// The same reason as a catalogue message, so each language can say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_reason: Option<crate::domain::i18n::Message>,
    /// Request-ID of the last API call about this request.
    pub api_request_id: Option<String>,
    pub result: Option<StockSummary>,
    pub card: Option<CardRef>,
    /// The update-budget body, serialized once when the request was made; every send must
    /// carry exactly these bytes.
    #[serde(default)]
    pub update_body: Option<String>,
    /// When an approved change is to be applied (Unix seconds); `None`: at once. Requests
    /// stored before schedules existed have none.
    #[serde(default)]
    pub apply_at: Option<u64>,
    /// When the approvers were reminded of it, so they are reminded once, across restarts.
    #[serde(default)]
    pub reminded_at: Option<u64>,
}

impl ChangeRequest {
    pub fn stock_key(&self) -> StockKey {
        StockKey::new(&self.product_coupon_id, &self.stock_id)
    }

    pub fn stock_label(&self) -> String {
        match &self.stock_name {
            Some(name) => format!("{name} ({})", self.stock_id),
            None => self.stock_id.clone(),
        }
    }

    pub fn has_approved(&self, actor_id: &str) -> bool {
        self.approvals.iter().any(|a| a.by.id == actor_id)
    }

    /// `+5,000, +25.0%`-style change description.
    pub fn change_text(&self) -> String {
        let delta = self.target - self.current;
        let sign = if delta >= 0 { "+" } else { "-" };
        let pct = if self.current == 0 {
            String::new()
        } else {
            format!(
                ", {sign}{:.1}%",
                (delta.abs() as f64) * 100.0 / self.current as f64
            )
        };
        format!("{sign}{}{pct}", group(delta.abs()))
    }
}

/// `1234567` → `1,234,567`.
pub fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The field a mode changes, in words.
pub fn field_label(mode: UpdateMode) -> &'static str {
    match mode {
        UpdateMode::MaxCount => "total limit (max_count)",
        UpdateMode::MaxCountPerDay => "daily limit (max_count_per_day)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_typable_and_parse_back() {
        for _ in 0..100 {
            let id = RequestId::generate();
            assert_eq!(RequestId::parse(id.as_str()), Some(id.clone()));
            assert_eq!(RequestId::parse(&id.as_str().to_uppercase()), Some(id));
        }
        assert_eq!(RequestId::parse("last"), None);
        assert_eq!(RequestId::parse("abcdefg0"), None);
    }

    #[test]
    fn requests_stored_before_schedules_still_read() {
        let mut stored = serde_json::to_value(crate::domain::policy::tests::request(1)).unwrap();
        let fields = stored.as_object_mut().unwrap();
        fields.remove("apply_at");
        fields.remove("reminded_at");
        let read: ChangeRequest = serde_json::from_value(stored).unwrap();
        assert_eq!((read.apply_at, read.reminded_at), (None, None));
        let scheduled = serde_json::to_string(&RequestState::Scheduled).unwrap();
        assert_eq!(
            serde_json::from_str::<RequestState>(&scheduled).unwrap(),
            RequestState::Scheduled
        );
        assert!(!RequestState::Scheduled.is_terminal());
    }

    #[test]
    fn grouping() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(-1234567), "-1,234,567");
        assert_eq!(group(100_000_000), "100,000,000");
    }
}
