//! The `budget-bot run` binary as an operator runs it, against the fake Discord and the WeChat
//! Pay simulator: stopped by SIGTERM whatever Discord or WeChat Pay is doing, killed with
//! SIGKILL in the middle of an update, restarted on the same store.

mod common;
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use budget_bot::domain::request::RequestState;
use budget_bot::sim::{Fault, FaultMatch, RequestRecord, SimHandle, Simulator};
use budget_bot::store::Store;
use serde_json::Value;
use support::fake_discord::{
    FakeConfig, FakeDiscord, GatewayAnswer, ALICE_ID, APPROVALS_CHANNEL_ID,
    NOTIFICATIONS_CHANNEL_ID,
};
use support::process::{approve, request, wait_applied_cards, Bot, WAIT};

/// Longer than any stop may take, shorter than the client's request timeout in these configs,
/// so an update stalled by it is still in flight when the bot is stopped.
const STALL: Duration = Duration::from_secs(40);

/// The fake Discord, the simulator, a folder for the store and a config for the binary
/// (update-budget calls are not retried by the client within a [`STALL`]).
struct World {
    fake: FakeDiscord,
    sim: Simulator,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl World {
    async fn new() -> World {
        let fake = FakeDiscord::start(FakeConfig::default()).await;
        let sim = common::start_sim().await;
        let dir = tempfile::tempdir().unwrap();
        let config = common::write_config(
            dir.path(),
            &sim.base_url(),
            &support::discord_section(&fake),
        );
        let text = std::fs::read_to_string(&config).unwrap().replacen(
            "retry_backoff = \"20ms\"\n",
            "retry_backoff = \"20ms\"\nrequest_timeout = \"60s\"\n",
            1,
        );
        std::fs::write(&config, text).unwrap();
        World {
            fake,
            sim,
            dir,
            config,
        }
    }

    /// Starts `budget-bot run` and waits until it has connected for the `n`th time.
    async fn start_connected(&self, n: usize) -> Bot {
        let bot = Bot::start(&self.config);
        self.fake.wait_commands_registered(n, WAIT).await.unwrap();
        bot
    }

    /// Queues a stall of the next update-budget call at the simulator.
    fn stall_next_update(&self) {
        self.sim
            .handle()
            .push_fault(FaultMatch::UpdateBudget, Fault::Delay(STALL));
    }
}

fn updates(sim: &SimHandle) -> Vec<RequestRecord> {
    sim.update_budget_requests()
}

/// Polls the simulator (it has no change feed) until `n` update-budget calls have arrived.
async fn wait_updates_arrived(sim: &SimHandle, n: usize) {
    let deadline = Instant::now() + WAIT;
    while updates(sim).len() < n {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {n} update-budget calls"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// After the bot has stopped: every request Applied, each applied exactly once at the
/// simulator, every send of a request carrying its one out_request_no and body, and the audit
/// chain verified by `budget-bot audit verify`.
impl World {
    async fn assert_applied_exactly_once(&self, count: usize) {
        let sim = &self.sim.handle();
        let (status, stdout, stderr) = common::run_bin(
            &["--config", self.config.to_str().unwrap(), "audit", "verify"],
            "",
            &[],
        )
        .await;
        assert!(status.success(), "audit verify: {stderr}");
        assert!(stdout.contains("hash chain intact"), "{stdout}");

        let store = Store::open(&self.dir.path().join("store.sled")).unwrap();
        let requests = store.all().unwrap();
        assert_eq!(requests.len(), count);
        let applied = sim.applied_updates();
        assert_eq!(
            applied.len(),
            count,
            "each change applied once: {applied:?}"
        );
        for request in &requests {
            assert_eq!(request.state, RequestState::Applied, "{}", request.id);
            let no = request.out_request_no.as_str();
            let mine: Vec<_> = applied.iter().filter(|a| a.out_request_no == no).collect();
            assert_eq!(mine.len(), 1, "{no} applied once");
            assert_eq!(mine[0].to, request.target);
            assert_eq!(mine[0].stock_id, request.stock_id);
            let sends: Vec<_> = updates(sim)
                .into_iter()
                .filter(|u| u.out_request_no.as_deref() == Some(no))
                .collect();
            assert!(
                sends.len() >= 2,
                "sent before the stop and again after: {}",
                sends.len()
            );
            let body = request.update_body.as_deref().unwrap().as_bytes();
            assert!(
                sends.iter().all(|s| s.body == body),
                "every send of {no} carries the stored body"
            );
        }
        assert!(
            updates(sim).iter().all(|u| requests
                .iter()
                .any(|r| u.out_request_no.as_deref() == Some(r.out_request_no.as_str()))),
            "no send under any other number"
        );
    }
}

/// Issue 7: while the configured Discord server does not answer gateway discovery, SIGTERM
/// stops `run` at once with status 0. (Every `GET /gateway` is left hanging: a bot that fell
/// back to Discord's public gateway would need an answer first, so none can leave 127.0.0.1.)
#[tokio::test]
async fn sigterm_while_gateway_discovery_hangs_stops_at_once() {
    let w = World::new().await;
    w.fake.script_gateway(vec![], GatewayAnswer::Hold);
    let bot = Bot::start(&w.config);
    w.fake
        .wait_for_request(|r| r.is("GET", "/gateway"), WAIT)
        .await
        .unwrap();
    let ended = bot.terminate().await;
    eprintln!("stop while gateway discovery hangs: {:?}", ended.took);
    ended.assert_clean_stop();
    assert!(w.fake.gateway_queries().is_empty(), "no gateway connection");
}

/// Issue 7: with the gateway refusing every connection (serenity re-queues its shard every
/// 5 s), SIGTERM still stops `run` within 10 s, with status 0.
#[tokio::test]
async fn sigterm_while_the_gateway_refuses_connections_stops_within_10s() {
    let w = World::new().await;
    w.fake.refuse_gateway_socket(true);
    let bot = Bot::start(&w.config);
    w.fake
        .wait_until("a refused gateway connection", WAIT, |f| {
            !f.gateway_queries().is_empty()
        })
        .await
        .unwrap();
    let ended = bot.terminate().await;
    eprintln!("stop while the gateway refuses: {:?}", ended.took);
    ended.assert_clean_stop();
    assert_eq!(w.fake.identify_count(), 0);
}

/// Issue 7: SIGTERM while WeChat Pay stalls two approved updates stops `run` within 10 s;
/// the next start resumes both with their numbers and each is applied exactly once.
#[tokio::test]
async fn sigterm_while_wechat_pay_stalls_leaves_approvals_to_the_next_start() {
    let w = World::new().await;
    let bot = w.start_connected(1).await;
    let daily = request(&w.fake, "set-daily", "123", 20_000).await;
    let total = request(&w.fake, "set-total", "200", 60_000).await;
    w.stall_next_update();
    w.stall_next_update();
    approve(&w.fake, daily).await;
    approve(&w.fake, total).await;
    wait_updates_arrived(&w.sim.handle(), 2).await;

    let ended = bot.terminate().await;
    eprintln!(
        "stop with two updates stalled at WeChat Pay: {:?}",
        ended.took
    );
    ended.assert_clean_stop();
    assert_eq!(w.sim.handle().applied_count(), 0, "both still stalled");

    let bot = w.start_connected(2).await;
    wait_applied_cards(&w.fake, &[daily, total]).await;
    bot.terminate().await.assert_clean_stop();
    w.assert_applied_exactly_once(2).await;
    let stock = |pc, id| w.sim.handle().stock(pc, id).unwrap();
    assert_eq!(stock("200000001", "123").max_count_per_day(), Some(20_000));
    assert_eq!(stock("200000002", "200").max_count(), Some(60_000));
}

/// Killed with SIGKILL while its update-budget call is at WeChat Pay, then restarted on the
/// same store: the change is applied exactly once, with the same number and body, the request
/// ends Applied and the audit chain verifies.
#[tokio::test]
async fn killed_mid_apply_then_restarted_applies_exactly_once() {
    let w = World::new().await;
    let bot = w.start_connected(1).await;
    let card = request(&w.fake, "set-daily", "123", 20_000).await;
    w.stall_next_update();
    w.fake
        .send_reaction_add(ALICE_ID, APPROVALS_CHANNEL_ID, card, "✅")
        .await;
    wait_updates_arrived(&w.sim.handle(), 1).await;
    let killed = bot.kill().await;
    assert!(!killed.status.success());
    assert_eq!(
        w.sim.handle().applied_count(),
        0,
        "still stalled when killed"
    );

    let bot = w.start_connected(2).await;
    wait_applied_cards(&w.fake, &[card]).await;
    bot.terminate().await.assert_clean_stop();
    w.assert_applied_exactly_once(1).await;
    let stock = w.sim.handle().stock("200000001", "123").unwrap();
    assert_eq!(stock.max_count_per_day(), Some(20_000));
    let notices: Vec<Value> = w.fake.messages_in(NOTIFICATIONS_CHANNEL_ID);
    assert!(
        notices
            .iter()
            .any(|m| m["embeds"][0]["title"] == "Applied: Spring sale (123)"),
        "the restart announced the outcome"
    );
}
