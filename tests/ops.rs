//! Operating `budget-bot run` (issue 11): the binary with `[ops] listen`, against the fake
//! Discord and the WeChat Pay simulator. `/metrics` after a request → approve → applied run
//! shows the counters moved and parses as Prometheus text; `/readyz` follows WeChat Pay down
//! and back while `/healthz` stays 200; `budget-bot healthcheck` exits 0 or 1; JSON logs
//! parse line by line.

mod common;
mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use budget_bot::sim::{
    seeded_stocks, CannedAnswer, Fault, FaultMatch, SimConfig, SimHandle, Simulator,
};
use prometheus_parse::{Sample, Scrape, Value as Metric};
use serde_json::{json, Value};
use support::fake_discord::{FakeConfig, FakeDiscord, ALICE_ID, BOB_ID};
use support::process::{approve, request, wait_applied_cards, Bot, TOKEN, WAIT};

/// Long enough for the bot's re-probe (every 5 s) to run at least twice.
const READY_WAIT: Duration = Duration::from_secs(25);

/// The fake Discord, the simulator (which a test may stop and start again on the same
/// address), a folder with the config and the store.
struct World {
    fake: FakeDiscord,
    sim: Option<Simulator>,
    sim_addr: SocketAddr,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl World {
    /// `extra` goes into the config after `[discord]`; `[ops]` listens on a free port.
    async fn new(extra: &str) -> World {
        let fake = FakeDiscord::start(FakeConfig::default()).await;
        let sim = common::start_sim().await;
        let sim_addr = sim.local_addr();
        let dir = tempfile::tempdir().unwrap();
        let extra = format!(
            "{}\n[ops]\nlisten = \"127.0.0.1:0\"\n{extra}",
            support::discord_section(&fake)
        );
        let config = common::write_config(dir.path(), &sim.base_url(), &extra);
        World {
            fake,
            sim: Some(sim),
            sim_addr,
            config,
            _dir: dir,
        }
    }

    fn sim(&self) -> SimHandle {
        self.sim.as_ref().expect("the simulator runs").handle()
    }

    async fn stop_sim(&mut self) {
        self.sim
            .take()
            .expect("the simulator runs")
            .shutdown()
            .await;
    }

    async fn start_sim_again(&mut self) {
        let config = SimConfig::with_test_keys(seeded_stocks());
        self.sim = Some(Simulator::start(self.sim_addr, config).await.unwrap());
    }

    /// Starts `budget-bot run` and waits until it has registered its commands.
    async fn start_bot(&self) -> Bot {
        let bot = Bot::start(&self.config);
        self.fake.wait_commands_registered(1, WAIT).await.unwrap();
        bot
    }
}

/// `http://127.0.0.1:PORT` of the ops endpoints, from the bot's log line that names it.
async fn ops_url(bot: &Bot) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = bot.log();
        let found = log
            .lines()
            .filter(|l| l.contains("ops endpoints listening"))
            .find_map(|l| {
                let at = l.find("http://127.0.0.1:")?;
                Some(
                    l[at..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect::<String>(),
                )
            });
        if let Some(url) = found {
            return url;
        }
        assert!(Instant::now() < deadline, "no ops address logged:\n{log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGTERM; the process stops cleanly. Returns its log.
async fn stop(bot: Bot) -> String {
    let ended = bot.terminate().await;
    ended.assert_clean_stop();
    ended.log
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Status, `Content-Type` and body of `GET url`.
async fn get(url: &str) -> (u16, String, String) {
    let response = http().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// Polls `GET {ops}/readyz` until its status is `status` and `pred` holds for its body.
async fn readyz_until(ops: &str, status: u16, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + READY_WAIT;
    loop {
        let (got, _, body) = get(&format!("{ops}/readyz")).await;
        let body: Value = serde_json::from_str(&body).expect("/readyz answers JSON");
        if got == status && pred(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: /readyz still {got} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A `/readyz` body whose WeChat Pay check starts with `text`.
fn wechatpay_says(text: &'static str) -> impl Fn(&Value) -> bool {
    move |body| {
        body["checks"]["wechatpay"]
            .as_str()
            .is_some_and(|check| check.starts_with(text))
    }
}

/// `/metrics` parsed, after checking its media type and that every sample line was parsed.
async fn scrape(ops: &str) -> Vec<Sample> {
    let (status, content_type, text) = get(&format!("{ops}/metrics")).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/plain; version=0.0.4");
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let samples = Scrape::parse(lines).expect("Prometheus text").samples;
    // The parser skips what it cannot read: count that every sample line became a value.
    let sample_lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    let parsed: usize = samples
        .iter()
        .map(|s| match &s.value {
            // The buckets; `_sum` and `_count` are samples of their own.
            Metric::Histogram(buckets) => buckets.len(),
            _ => 1,
        })
        .sum();
    assert_eq!(parsed, sample_lines, "every line parses:\n{text}");
    samples
}

/// The value of the counter or gauge `metric` with exactly these labels (0 when absent).
fn value(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<&str, &str> = labels.iter().copied().collect();
    samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| {
            let have: BTreeMap<&str, &str> = s
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            have == want
        })
        .map(|s| match s.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => v,
            ref other => panic!("{metric} is not a single value: {other:?}"),
        })
        .sum()
}

#[tokio::test]
async fn metrics_show_a_request_approved_and_applied_and_parse_as_prometheus_text() {
    let w = World::new("").await;
    let bot = w.start_bot().await;
    let ops = ops_url(&bot).await;
    let before = scrape(&ops).await;

    let card = request(&w.fake, "set-daily", "123", 20_000).await;
    let waiting = scrape(&ops).await;
    assert_eq!(value(&waiting, "budget_bot_pending_requests", &[]), 1.0);
    let oldest = value(&waiting, "budget_bot_oldest_pending_seconds", &[]);
    assert!((0.0..60.0).contains(&oldest), "{oldest}");

    approve(&w.fake, card).await;
    wait_applied_cards(&w.fake, &[card]).await;
    let after = scrape(&ops).await;
    let moved = |metric: &str, labels: &[(&str, &str)]| {
        value(&after, metric, labels) - value(&before, metric, labels)
    };
    for state in ["pending", "approved", "submitting", "applied"] {
        assert_eq!(
            moved("budget_bot_requests_total", &[("state", state)]),
            1.0,
            "{state}"
        );
    }
    for state in ["rejected", "failed", "stale", "expired", "cancelled"] {
        assert_eq!(moved("budget_bot_requests_total", &[("state", state)]), 0.0);
    }
    let calls = |endpoint| [("endpoint", endpoint), ("outcome", "ok")];
    assert_eq!(
        moved("budget_bot_api_calls_total", &calls("update_budget")),
        1.0
    );
    // The check when requesting and the re-read before sending.
    assert!(moved("budget_bot_api_calls_total", &calls("get_stock")) >= 2.0);
    let discord = |kind| [("platform", "discord"), ("kind", kind)];
    assert_eq!(
        moved("budget_bot_chat_events_total", &discord("command")),
        1.0
    );
    assert_eq!(
        moved("budget_bot_chat_events_total", &discord("button")),
        1.0
    );
    assert_eq!(value(&after, "budget_bot_pending_requests", &[]), 0.0);
    assert_eq!(value(&after, "budget_bot_oldest_pending_seconds", &[]), 0.0);
    assert_eq!(value(&after, "budget_bot_notify_failures_total", &[]), 0.0);
    assert_eq!(
        value(
            &after,
            "budget_bot_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );

    // The duration is a histogram with buckets, not a summary.
    let histogram = after
        .iter()
        .find(|s| {
            s.metric == "budget_bot_api_call_duration_seconds"
                && s.labels.get("endpoint") == Some("update_budget")
        })
        .expect("a duration histogram for update_budget");
    let Metric::Histogram(buckets) = &histogram.value else {
        panic!("not a histogram: {histogram:?}");
    };
    assert!(buckets.len() >= 10, "{buckets:?}");
    let inf = buckets.iter().find(|b| b.less_than.is_infinite()).unwrap();
    assert_eq!(inf.count, 1.0, "one update call: {buckets:?}");
    assert_eq!(
        value(
            &after,
            "budget_bot_api_call_duration_seconds_count",
            &[("endpoint", "update_budget")]
        ),
        1.0
    );

    // Label values are fixed lowercase words: no user id, token or free text.
    for sample in &after {
        for (key, label) in sample.labels.iter() {
            assert_eq!(label, &label.to_lowercase(), "{}: {key}", sample.metric);
            let (alice, bob) = (ALICE_ID.to_string(), BOB_ID.to_string());
            for secret in [alice.as_str(), bob.as_str(), TOKEN, "123"] {
                assert!(
                    !label.contains(secret),
                    "{}{{{key}={label}}}",
                    sample.metric
                );
            }
        }
    }
    stop(bot).await;
}

#[tokio::test]
async fn readyz_follows_wechat_pay_down_and_back_while_healthz_and_healthcheck_stay_ok() {
    let mut w = World::new("").await;
    w.stop_sim().await;
    let bot = w.start_bot().await;
    let ops = ops_url(&bot).await;

    // WeChat Pay refuses connections: the start's probe read failed.
    let down = readyz_until(
        &ops,
        503,
        "WeChat Pay down",
        wechatpay_says("last call failed: could not reach WeChat Pay"),
    )
    .await;
    assert_eq!(down["ready"], false);
    assert_eq!(down["checks"]["store"], "ok", "{down}");
    assert_eq!(down["checks"]["discord"], "ok", "{down}");
    assert_eq!(get(&format!("{ops}/healthz")).await.0, 200);
    let port = ops.rsplit(':').next().unwrap();
    let (status, _, stderr) = healthcheck(&format!("0.0.0.0:{port}")).await;
    assert!(
        status.success(),
        "healthy while WeChat Pay is down: {stderr}"
    );

    // Back: a re-probe succeeds without anyone using the bot.
    w.start_sim_again().await;
    let up = readyz_until(&ops, 200, "WeChat Pay back", |b| b["ready"] == true).await;
    assert_eq!(
        up,
        json!({"ready": true, "checks": {"store": "ok", "discord": "ok", "leader": "ok", "wechatpay": "ok"}})
    );

    // Faulted: a user's read is refused, and so is the next probe read (so the 503 lasts at
    // least one re-probe interval); ready again once a read succeeds.
    for _ in 0..2 {
        w.sim().push_fault(
            FaultMatch::GetStock,
            Fault::Answer(CannedAnswer::api(
                404,
                r#"{"code":"RESOURCE_NOT_EXISTS","message":"gone"}"#,
            )),
        );
    }
    w.fake
        .send_interaction_command(BOB_ID, "budget", "show", vec![("stock", json!("123"))])
        .await;
    let faulted = readyz_until(
        &ops,
        503,
        "WeChat Pay faulted",
        wechatpay_says("last call failed: WeChat Pay answered 404 RESOURCE_NOT_EXISTS"),
    )
    .await;
    assert_eq!(faulted["ready"], false);
    readyz_until(&ops, 200, "the fault passed", |b| b["ready"] == true).await;
    let samples = scrape(&ops).await;
    let refused = [("endpoint", "get_stock"), ("outcome", "client_error")];
    assert_eq!(value(&samples, "budget_bot_api_calls_total", &refused), 2.0);
    assert!(
        value(
            &samples,
            "budget_bot_api_retries_total",
            &[("reason", "transport")]
        ) >= 1.0,
        "the refused connections were retried"
    );
    stop(bot).await;
}

/// `budget-bot healthcheck` with a config whose `[ops] listen` is `listen`.
async fn healthcheck(listen: &str) -> (std::process::ExitStatus, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[ops]\nlisten = \"{listen}\"\n")).unwrap();
    common::run_bin(
        &["--config", config.to_str().unwrap(), "healthcheck"],
        "",
        &[],
    )
    .await
}

#[tokio::test]
async fn healthcheck_exits_1_when_nothing_answers_200_in_time() {
    // Nothing listens: a port that was just free.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let (status, _, stderr) = healthcheck(&format!("127.0.0.1:{port}")).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not healthy") && stderr.contains("/healthz"),
        "{stderr}"
    );

    // Something accepts and never answers: given up after 5 s.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let since = Instant::now();
    let (status, _, stderr) = healthcheck(&addr.to_string()).await;
    let took = since.elapsed();
    held.abort();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not answer within 5s"), "{stderr}");
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(15)).contains(&took),
        "{took:?}"
    );

    // No [ops] section: said so.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let (status, _, stderr) = common::run_bin(
        &["--config", config.to_str().unwrap(), "healthcheck"],
        "",
        &[],
    )
    .await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("[ops]") && stderr.contains("healthcheck"),
        "{stderr}"
    );
}

/// Every line of `log` is a JSON object with the keys every log line has.
fn json_lines(log: &str) -> Vec<Value> {
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(line[key].is_string(), "no {key}: {line}");
        }
    }
    lines
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_request_s_span_fields() {
    let w = World::new("\n[log]\nformat = \"json\"\n").await;
    let bot = w.start_bot().await;
    let card = request(&w.fake, "set-daily", "123", 20_000).await;
    approve(&w.fake, card).await;
    wait_applied_cards(&w.fake, &[card]).await;
    let log = stop(bot).await;
    assert!(!log.contains(TOKEN), "the token is never logged");
    let lines = json_lines(&log);

    // The update call is logged inside the decision's and the apply's spans, with their fields.
    let request = budget_bot::store::Store::open(&w._dir.path().join("store.sled"))
        .unwrap()
        .all()
        .unwrap()
        .remove(0);
    let update = lines
        .iter()
        .find(|l| {
            l["message"] == "WeChat Pay call"
                && l["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/update-budget"))
        })
        .expect("the update-budget call is logged");
    let spans = update["spans"].as_array().expect("the span list");
    let field = |name: &str| {
        spans
            .iter()
            .find_map(|s| s[name].as_str().map(str::to_owned))
    };
    assert_eq!(
        field("request").as_deref(),
        Some(request.id.as_str()),
        "{update}"
    );
    assert_eq!(field("stock").as_deref(), Some("123"), "{update}");
    assert_eq!(
        field("actor"),
        Some(format!("discord:{ALICE_ID}")),
        "{update}"
    );
    assert_eq!(update["span"]["request"], request.id.as_str(), "{update}");
}

#[tokio::test]
async fn the_environment_variable_turns_json_logs_on_for_any_command() {
    let sim = common::start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(dir.path(), &sim.base_url(), "");
    let (status, stdout, stderr) = common::run_bin(
        &["--config", config.to_str().unwrap(), "show", "123"],
        "",
        &[("BUDGET_BOT_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    )
    .await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("123"), "{stdout}");
    let lines = json_lines(&stderr);
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "WeChat Pay call" && l["status"] == 200),
        "{stderr}"
    );

    let (status, _, stderr) = common::run_bin(
        &["--config", config.to_str().unwrap(), "show", "123"],
        "",
        &[("BUDGET_BOT_LOG_FORMAT", "yaml")],
    )
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains("BUDGET_BOT_LOG_FORMAT is `yaml`"),
        "{stderr}"
    );
}

#[tokio::test]
async fn rust_log_chooses_targets_and_levels_and_a_bad_one_stops_the_command_with_the_fix() {
    let sim = common::start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(dir.path(), &sim.base_url(), "");
    let show = ["--config", config.to_str().unwrap(), "show", "123"];
    let logged = |rust_log: &'static str| async move {
        let env = [("RUST_LOG", rust_log)];
        let (status, _, stderr) = common::run_bin(&show, "", &env).await;
        assert!(status.success(), "{stderr}");
        stderr.contains("WeChat Pay call")
    };
    assert!(logged("warn,budget_bot::wechatpay=info").await);
    assert!(!logged("info,budget_bot::wechatpay=warn").await);

    let env = [("RUST_LOG", "budget_bot=loud")];
    let (status, stdout, stderr) = common::run_bin(&show, "", &env).await;
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("RUST_LOG is `budget_bot=loud`") && stderr.contains("target=level"),
        "{stderr}"
    );
}
