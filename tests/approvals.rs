//! Tiered approvals, hard limits, reminders, scheduled changes and burn alerts through the
//! console adapter, wired as `budget-bot console` wires it (config → app → runtime), with the
//! simulator over real HTTP and a manual clock. A restart drops the console and its store and
//! builds them again on the same folder.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use budget_bot::app::ManualClock;
use budget_bot::chat::console::{Console, Output};
use budget_bot::config::{ApprovalConfig, Config, ConsoleConfig, WatchConfig};
use budget_bot::domain::policy::Tier;
use budget_bot::domain::request::RequestState;
use budget_bot::domain::stock::StockState;
use budget_bot::sim::Simulator;
use budget_bot::store::{Store, StoreError};
use common::{of, Buffer};
use serde_json::Value;

const HOUR: Duration = Duration::from_secs(3600);
const PC: &str = "200000001";

/// The tiers of the issue: +50 % needs 2 approvals, +1,000,000 coupons needs 3.
fn tiered() -> ApprovalConfig {
    ApprovalConfig {
        ttl: HOUR,
        tiers: vec![
            Tier {
                min_increase_percent: Some(50),
                min_increase: None,
                required_approvals: 2,
            },
            Tier {
                min_increase_percent: None,
                min_increase: Some(1_000_000),
                required_approvals: 3,
            },
        ],
        ..ApprovalConfig::default()
    }
}

struct Bot {
    sim: Simulator,
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    out: Buffer,
    config: Config,
    console: Option<Console>,
    store: Option<Store>,
}

impl Bot {
    async fn start(approval: ApprovalConfig, watch: Option<WatchConfig>) -> Bot {
        let config = Config {
            approval,
            watch,
            console: Some(ConsoleConfig {
                users: common::users(),
            }),
            ..common::bare_config()
        };
        let mut bot = Bot {
            sim: common::start_sim().await,
            dir: tempfile::tempdir().unwrap(),
            clock: Arc::new(ManualClock::new(common::T0)),
            out: Buffer::default(),
            config,
            console: None,
            store: None,
        };
        bot.boot().await;
        bot
    }

    /// Opens the store (waiting, up to a deadline, for a closed one's lock to go) and wires
    /// the console as the binary does, recovery included.
    async fn boot(&mut self) {
        let path = self.dir.path().join("db");
        let deadline = Instant::now() + Duration::from_secs(10);
        let store = loop {
            match Store::open(&path) {
                Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                    tokio::task::yield_now().await
                }
                other => break other.unwrap(),
            }
        };
        let output = Arc::new(Output::new(true, Box::new(self.out.clone())));
        let console = budget_bot::bootstrap::console(
            &self.config,
            Arc::new(common::client(self.sim.base_url())),
            store.clone(),
            output,
            self.clock.clone(),
        )
        .await
        .unwrap();
        self.console = Some(console);
        self.store = Some(store);
    }

    /// Stops the bot (its store closed) and starts it again on the same folder.
    async fn restart(&mut self) {
        self.stop().await;
        self.boot().await;
        self.assert_quiet_boot();
    }

    /// Stops the bot, backs its store up (`store backup`), restores the backup into an empty
    /// folder in the store's place (`store restore`), and starts the bot on the restored store.
    async fn restart_from_backup(&mut self) {
        use budget_bot::store::backup;
        self.stop().await;
        let path = self.dir.path().join("db");
        let file = self.dir.path().join("backup.jsonl");
        backup::backup(&path, &Default::default(), &file).unwrap();
        std::fs::rename(&path, self.dir.path().join("db.old")).unwrap();
        let empty = Store::open(&path).unwrap();
        backup::restore(&empty, &path, &file).unwrap();
        drop(empty);
        self.boot().await;
        self.assert_quiet_boot();
    }

    async fn stop(&mut self) {
        if let Some(console) = self.console.take() {
            console.runtime().shutdown().await.unwrap();
        }
        self.store = None;
    }

    fn assert_quiet_boot(&self) {
        let recovered = self.out.take_events();
        assert!(
            recovered.is_empty(),
            "a restart says nothing: {recovered:?}"
        );
    }

    fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    async fn line(&self, text: &str) -> Vec<Value> {
        self.console.as_ref().unwrap().handle_line(text).await;
        let events = self.out.take_events();
        assert_eq!(events.last().unwrap()["event"], "done", "{events:?}");
        events
    }

    fn update_calls(&self) -> usize {
        self.sim.handle().update_budget_requests().len()
    }

    fn state(&self, id: &str) -> RequestState {
        self.store().get(id).unwrap().unwrap().state
    }

    /// Creates a request for stock 123 and returns its id and the creation events.
    async fn request(&self, command: &str) -> (String, Vec<Value>) {
        let events = self.line(&format!("alice: {command}")).await;
        let cards = of(&events, "card");
        assert_eq!(cards.len(), 1, "one card: {events:?}");
        (cards[0]["request_id"].as_str().unwrap().to_string(), events)
    }
}

fn text(event: &Value) -> &str {
    event["text"].as_str().unwrap()
}

fn reply_to<'a>(events: &'a [Value], user: &str) -> &'a str {
    common::ephemeral_to(events, user)
}

fn notices(events: &[Value]) -> Vec<String> {
    of(events, "notify")
        .iter()
        .map(|e| text(e).to_string())
        .collect()
}

#[tokio::test]
async fn a_60_percent_raise_needs_two_different_approvers_and_applies_once() {
    let bot = Bot::start(tiered(), None).await;
    let (id, events) = bot
        .request("/budget set-daily 123 16000 evening push")
        .await;
    assert!(
        reply_to(&events, "alice").contains("needs 2 approvals"),
        "{events:?}"
    );
    assert!(text(of(&events, "card")[0]).contains("Needs: 2 approvals"));

    let events = bot.line("bob: react ✅ last").await;
    assert!(reply_to(&events, "bob").contains("1 of 2"), "{events:?}");
    assert_eq!(bot.state(&id), RequestState::Pending);
    let events = bot.line("bob: click approve last").await;
    assert!(
        reply_to(&events, "bob").contains("already approved"),
        "the same approver counts once: {events:?}"
    );
    assert_eq!(bot.store().get(&id).unwrap().unwrap().approvals.len(), 1);
    assert_eq!(bot.update_calls(), 0, "nothing is sent before the quorum");

    let events = bot.line("carol: react ✅ last").await;
    assert_eq!(bot.state(&id), RequestState::Applied, "{events:?}");
    assert_eq!(bot.update_calls(), 1);
    bot.line("dave: /budget pending").await;
    assert_eq!(bot.update_calls(), 1, "applied once");
}

#[tokio::test]
async fn a_10_percent_raise_needs_one_approval() {
    let bot = Bot::start(tiered(), None).await;
    let (id, events) = bot.request("/budget set-daily 123 11000").await;
    assert!(
        reply_to(&events, "alice").contains("needs 1 approval "),
        "{events:?}"
    );
    assert!(!text(of(&events, "card")[0]).contains("Needs:"));
    bot.line("bob: react ✅ last").await;
    assert_eq!(bot.state(&id), RequestState::Applied);
    assert_eq!(bot.update_calls(), 1);
}

#[tokio::test]
async fn changes_past_a_hard_limit_are_refused_and_nothing_is_stored() {
    let bot = Bot::start(
        ApprovalConfig {
            max_target: Some(200_000),
            max_increase_percent: Some(1000),
            ..tiered()
        },
        None,
    )
    .await;
    for (command, limit) in [
        ("/budget set-total 123 200,001", "max_target of 200,000"),
        ("/budget set-daily 123 200,001", "max_target of 200,000"),
        (
            "/budget set-daily 123 110,001",
            "max_increase_percent of 1000%",
        ),
    ] {
        let events = bot.line(&format!("alice: {command}")).await;
        let said = reply_to(&events, "alice");
        assert!(
            said.contains(limit) && said.contains("nobody can approve"),
            "{command}: {said}"
        );
        assert!(of(&events, "card").is_empty(), "{command}: {events:?}");
        assert!(bot.store().all().unwrap().is_empty(), "{command}");
    }
    // Equal to a limit is allowed: daily 10,000 → 110,000 is +1000 %; total to 200,000.
    for command in [
        "/budget set-daily 123 110,000",
        "/budget set-total 123 200,000",
    ] {
        let (id, _) = bot.request(command).await;
        assert_eq!(bot.state(&id), RequestState::Pending, "{command}");
    }
}

#[tokio::test]
async fn approvers_are_reminded_once_and_the_requester_told_of_expiry() {
    let bot = Bot::start(
        ApprovalConfig {
            remind_after: Some(Duration::from_secs(20 * 60)),
            ..tiered()
        },
        None,
    )
    .await;
    let (id, _) = bot.request("/budget set-daily 123 16000").await;
    bot.clock.advance(20 * 60 - 1);
    let events = bot.line("dave: /budget pending").await;
    assert!(notices(&events).is_empty(), "not yet: {events:?}");
    bot.clock.advance(1);
    let events = bot.line("dave: /budget pending").await;
    let reminders = notices(&events);
    assert_eq!(reminders.len(), 1, "{events:?}");
    for needle in [
        id.as_str(),
        "Reminder",
        "bob, carol, erin",
        "0 of 2 approvals",
    ] {
        assert!(reminders[0].contains(needle), "{needle}: {}", reminders[0]);
    }
    bot.clock.advance(10 * 60);
    let events = bot.line("dave: /budget pending").await;
    assert!(notices(&events).is_empty(), "reminded once: {events:?}");

    bot.clock.advance(HOUR.as_secs());
    let events = bot.line("dave: /budget pending").await;
    let expired: Vec<&Value> = of(&events, "notify")
        .into_iter()
        .filter(|e| e["state"] == "Expired")
        .collect();
    assert_eq!(expired.len(), 1, "{events:?}");
    assert_eq!(expired[0]["to"], "alice");
    assert!(text(expired[0]).contains(&id) && text(expired[0]).contains("alice"));
}

#[tokio::test]
async fn a_reminder_is_not_repeated_after_a_restart() {
    let mut bot = Bot::start(
        ApprovalConfig {
            remind_after: Some(Duration::from_secs(60)),
            ..tiered()
        },
        None,
    )
    .await;
    bot.request("/budget set-daily 123 11000").await;
    bot.clock.advance(60);
    let events = bot.line("dave: /budget pending").await;
    assert_eq!(notices(&events).len(), 1, "{events:?}");
    bot.restart().await;
    bot.clock.advance(60);
    let events = bot.line("dave: /budget pending").await;
    assert!(notices(&events).is_empty(), "{events:?}");
}

#[tokio::test]
async fn a_scheduled_raise_applies_exactly_once_at_its_time_across_a_restart() {
    let mut bot = Bot::start(tiered(), None).await;
    let (id, events) = bot
        .request("/budget set-daily 123 11000 at +5s evening push")
        .await;
    assert!(
        reply_to(&events, "alice").contains("then applies at"),
        "{events:?}"
    );
    let card = text(of(&events, "card")[0]);
    assert!(
        card.contains("Applies at:") && card.contains("Reason: evening push"),
        "{card}"
    );
    let events = bot.line("bob: react ✅ last").await;
    assert!(
        reply_to(&events, "bob").contains("applies at"),
        "{events:?}"
    );
    assert_eq!(bot.state(&id), RequestState::Scheduled);
    let events = bot.line("dave: /budget pending").await;
    let listed = text(of(&events, "reply")[0]);
    assert!(
        listed.contains(&id) && listed.contains("applies at"),
        "{listed}"
    );

    bot.clock.advance(4);
    bot.line("dave: /budget pending").await;
    assert_eq!(bot.update_calls(), 0, "nothing is sent before its time");
    bot.restart().await;
    bot.line("dave: /budget pending").await;
    assert_eq!(bot.state(&id), RequestState::Scheduled);
    assert_eq!(bot.update_calls(), 0);

    bot.clock.advance(1);
    let events = bot.line("dave: /budget pending").await;
    assert_eq!(bot.state(&id), RequestState::Applied, "{events:?}");
    assert_eq!(bot.update_calls(), 1);
    let stored = bot.store().get(&id).unwrap().unwrap();
    let call = bot
        .sim
        .handle()
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/update-budget"))
        .unwrap();
    assert_eq!(
        call.out_request_no.as_deref(),
        Some(stored.out_request_no.as_str())
    );
    assert_eq!(
        call.body,
        stored.update_body.unwrap().into_bytes(),
        "the body stored at request time"
    );
    bot.clock.advance(60);
    bot.restart().await;
    bot.line("dave: /budget pending").await;
    assert_eq!(bot.update_calls(), 1, "applied exactly once");
}

#[tokio::test]
async fn a_last_approval_after_the_time_applies_at_once() {
    let bot = Bot::start(tiered(), None).await;
    let (id, _) = bot.request("/budget set-daily 123 11000 at +5s").await;
    bot.clock.advance(30);
    bot.line("bob: react ✅ last").await;
    assert_eq!(bot.state(&id), RequestState::Applied);
    assert_eq!(bot.update_calls(), 1);
}

#[tokio::test]
async fn a_cancelled_scheduled_request_is_never_applied() {
    let bot = Bot::start(tiered(), None).await;
    let (id, _) = bot.request("/budget set-daily 123 11000 at +5s").await;
    bot.line("bob: react ✅ last").await;
    assert_eq!(bot.state(&id), RequestState::Scheduled);
    let events = bot.line("alice: /budget cancel last").await;
    assert!(
        reply_to(&events, "alice").contains("cancelled"),
        "{events:?}"
    );
    assert_eq!(bot.state(&id), RequestState::Cancelled);
    bot.clock.advance(60);
    bot.line("dave: /budget pending").await;
    assert_eq!(bot.state(&id), RequestState::Cancelled);
    assert_eq!(bot.update_calls(), 0);
}

#[tokio::test]
async fn a_scheduled_request_whose_value_moved_goes_stale_unsent() {
    let bot = Bot::start(tiered(), None).await;
    let (id, _) = bot.request("/budget set-daily 123 11000 at +5s").await;
    bot.line("bob: react ✅ last").await;
    bot.sim.handle().update_stock(PC, "123", |stock| {
        stock.stock_send_rule.as_mut().unwrap().max_count_per_day = Some(12_000);
    });
    bot.clock.advance(5);
    let events = bot.line("dave: /budget pending").await;
    assert_eq!(bot.state(&id), RequestState::Stale, "{events:?}");
    assert_eq!(bot.update_calls(), 0);
}

#[tokio::test]
async fn schedules_in_the_past_or_too_far_ahead_are_refused() {
    let bot = Bot::start(tiered(), None).await;
    for (when, says) in [
        ("+0s", "is not in the future"),
        ("+8d", "at most 7 days ahead"),
        ("2020-01-01T00:00:00Z", "is not in the future"),
    ] {
        let events = bot
            .line(&format!("alice: /budget set-daily 123 11000 at {when}"))
            .await;
        assert!(
            reply_to(&events, "alice").contains(says),
            "{when}: {events:?}"
        );
        assert!(bot.store().all().unwrap().is_empty());
    }
    // Not a time: `at` is reason text.
    let (id, _) = bot
        .request("/budget set-daily 123 11000 at the weekend")
        .await;
    let stored = bot.store().get(&id).unwrap().unwrap();
    assert_eq!(stored.apply_at, None);
    assert_eq!(stored.reason.as_deref(), Some("at the weekend"));
}

fn watching() -> Option<WatchConfig> {
    Some(WatchConfig::default())
}

fn alerts(events: &[Value]) -> Vec<String> {
    of(events, "notify")
        .iter()
        .filter(|e| e.get("request_id").is_none())
        .map(|e| text(e).to_string())
        .collect()
}

#[tokio::test]
async fn burn_alerts_at_80_and_95_percent_post_once_even_across_a_restart() {
    let mut bot = Bot::start(tiered(), watching()).await;
    let interval = WatchConfig::default().interval.as_secs();
    let events = bot.line("dave: /budget pending").await;
    assert!(alerts(&events).is_empty(), "first read records: {events:?}");

    bot.sim.handle().set_sent(PC, "123", 4_200, 8_500);
    let events = bot.line("dave: /budget pending").await;
    assert!(alerts(&events).is_empty(), "not before the interval");
    bot.clock.advance(interval);
    let events = bot.line("dave: /budget pending").await;
    let posted = alerts(&events);
    assert_eq!(posted.len(), 1, "{events:?}");
    for needle in [
        "Spring sale (123)",
        "80%",
        "8,500 / 10,000",
        "/budget set-daily 123 15000",
    ] {
        assert!(posted[0].contains(needle), "{needle}: {}", posted[0]);
    }
    bot.clock.advance(interval);
    let events = bot.line("dave: /budget pending").await;
    assert!(alerts(&events).is_empty(), "once: {events:?}");

    bot.sim.handle().set_sent(PC, "123", 4_200, 9_600);
    bot.clock.advance(interval);
    let events = bot.line("dave: /budget pending").await;
    let posted = alerts(&events);
    assert_eq!(posted.len(), 1, "{events:?}");
    assert!(posted[0].contains("95%") && posted[0].contains("9,600 / 10,000"));

    bot.restart().await;
    let events = bot.line("dave: /budget pending").await;
    assert!(
        alerts(&events).is_empty(),
        "not again after a restart: {events:?}"
    );
    bot.restart_from_backup().await;
    bot.clock.advance(interval);
    let events = bot.line("dave: /budget pending").await;
    assert!(
        alerts(&events).is_empty(),
        "not again after a backup is restored: {events:?}"
    );
    bot.clock.advance(interval);
    let events = bot.line("dave: /budget pending").await;
    assert!(alerts(&events).is_empty(), "{events:?}");
}

#[tokio::test]
async fn two_thresholds_crossed_in_one_read_alert_once_each_and_state_changes_alert() {
    let mut bot = Bot::start(tiered(), watching()).await;
    let interval = WatchConfig::default().interval.as_secs();
    bot.sim.handle().set_sent(PC, "123", 4_200, 9_700);
    let events = bot.line("dave: /budget pending").await;
    let posted = alerts(&events);
    assert_eq!(posted.len(), 2, "{events:?}");
    assert!(
        posted[0].contains("80%") && posted[1].contains("95%"),
        "{posted:?}"
    );

    // A change while the bot was down is alerted on the first read after.
    bot.restart().await;
    bot.sim.handle().set_state(PC, "123", StockState::Paused);
    bot.clock.advance(interval);
    let events = bot.line("dave: /budget pending").await;
    let posted = alerts(&events);
    assert_eq!(posted.len(), 1, "{events:?}");
    assert!(
        posted[0].contains("Spring sale (123)") && posted[0].contains("SENDING → PAUSED"),
        "{posted:?}"
    );
    bot.clock.advance(interval);
    let events = bot.line("dave: /budget pending").await;
    assert!(alerts(&events).is_empty(), "{events:?}");
}

/// Every `YYYY-MM-DD HH:MM:SS` in `text` with the zone written after it, read back as an
/// instant; and each date written any other way (so a time in another shape is seen).
fn written_times(text: &str) -> (Vec<(jiff::Timestamp, String)>, Vec<&str>) {
    let mut found = Vec::new();
    let mut others = Vec::new();
    for (at, _) in text.char_indices() {
        if text[..at].ends_with(|c: char| c.is_ascii_digit())
            || !text[at..].starts_with(|c: char| c.is_ascii_digit())
        {
            continue;
        }
        let rest = &text[at..];
        let Some(date) = rest.get(..10) else { continue };
        if jiff::civil::Date::strptime("%Y-%m-%d", date).is_err() {
            continue;
        }
        let Some(civil) = rest.get(..19) else {
            continue;
        };
        let after = &rest[19..];
        let zone = if after.starts_with(" UTC") {
            "UTC"
        } else {
            match after.get(1..7).filter(|_| after.starts_with(' ')) {
                Some(offset) => offset,
                None => {
                    others.push(rest.get(..30).unwrap_or(rest));
                    continue;
                }
            }
        };
        let offset = if zone == "UTC" { "+00:00" } else { zone };
        let Ok(instant) = format!("{civil}{offset}")
            .replacen(' ', "T", 1)
            .parse::<jiff::Timestamp>()
        else {
            others.push(rest.get(..30).unwrap_or(rest));
            continue;
        };
        found.push((instant, zone.to_string()));
    }
    (found, others)
}

/// Card and `pending` expiry, the schedule, the notice, `history` and `audit show`: every
/// time shown as text is in `[display] timezone` with its offset (or `UTC`), and means the
/// instant it stands for.
#[tokio::test]
async fn plain_text_times_are_in_the_display_time_zone() {
    for (zone, suffix) in [("Asia/Shanghai", "+08:00"), ("UTC", "UTC")] {
        let sim = common::start_sim().await;
        let dir = tempfile::tempdir().unwrap();
        let config = common::write_config(
            dir.path(),
            &sim.base_url(),
            &format!("\n[display]\ntimezone = \"{zone}\"\n"),
        );
        let config = config.to_str().unwrap();
        let start = jiff::Timestamp::now();
        let (status, transcript, stderr) = common::run_bin(
            &["--config", config, "console"],
            "alice: /budget set-daily 123 11000 at +2h evening push\n\
             dave: /budget pending\n\
             bob: react ✅ last\n\
             dave: /budget history 123\n",
            &[],
        )
        .await;
        assert!(status.success(), "{stderr}");
        let (status, audit, stderr) =
            common::run_bin(&["--config", config, "audit", "show"], "", &[]).await;
        assert!(status.success(), "{stderr}");
        let end = jiff::Timestamp::now();
        let text = format!("{transcript}\n{audit}");
        for needle in ["Expires:", "expires ", "applies at", "#1 "] {
            assert!(text.contains(needle), "{zone}: no {needle} in {text}");
        }
        let (times, others) = written_times(&text);
        assert!(times.len() >= 8, "{zone}: {times:?} in {text}");
        assert!(
            others.is_empty(),
            "{zone}: times without their zone: {others:?}"
        );
        // Created now, expiring in an hour, applying in two: all within these bounds.
        let earliest = start - jiff::SignedDuration::from_secs(2);
        let latest = end + jiff::SignedDuration::from_secs(2 * 3600 + 2);
        for (instant, written) in &times {
            assert_eq!(written, suffix, "{zone}: {text}");
            assert!(
                (earliest..=latest).contains(instant),
                "{zone}: {instant} is not a time of this run: {text}"
            );
        }
    }
}
