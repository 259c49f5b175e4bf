//! End-to-end throughput and latency of request → approve → applied, through the console
//! adapter, a real sled store and the simulator over real HTTP (simulator latency zero).
//! Run with `cargo bench --bench workflow`; `BENCH_ITERS` sets the number of changes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use budget_bot::app::{App, SystemClock};
use budget_bot::bootstrap::{demo_stocks, demo_users};
use budget_bot::chat::console::{Console, ConsoleNotifier, Output};
use budget_bot::config::ApprovalConfig;
use budget_bot::domain::request::RequestState;
use budget_bot::sim::{seeded_stocks, test_keys, SimConfig, Simulator};
use budget_bot::store::Store;
use budget_bot::wechatpay::{ClientSettings, WechatPayClient};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Runs `iterations` request → approve → applied cycles with the client limited to
/// `rate_limit_per_second` calls, and prints throughput and latency.
async fn run(iterations: u32, rate_limit_per_second: u32, what: &str) {
    let stocks = seeded_stocks();
    let sim = Simulator::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SimConfig::with_test_keys(stocks.clone()),
    )
    .await
    .expect("simulator starts");
    let client = WechatPayClient::new(
        test_keys::brand_signer(),
        test_keys::response_verifier(),
        ClientSettings {
            base_url: sim.base_url(),
            rate_limit_per_second,
            ..ClientSettings::default()
        },
    )
    .expect("client builds");
    let dir = std::env::temp_dir().join(format!(
        "budget-bot-bench-{}-{rate_limit_per_second}",
        std::process::id()
    ));
    let store = Store::open(&dir).expect("store opens");
    let out = Arc::new(Output::new(true, Box::new(std::io::sink())));
    let notifier = Arc::new(ConsoleNotifier::new(out.clone(), &demo_users()));
    let app = Arc::new(App::new(
        demo_stocks(&stocks),
        ApprovalConfig::default(),
        Arc::new(client),
        store.clone(),
        notifier,
        Arc::new(SystemClock),
    ));
    let console = Console::new(app, demo_users(), out);

    let mut latencies = Vec::with_capacity(iterations as usize);
    let started = Instant::now();
    for i in 0..iterations {
        let begin = Instant::now();
        console
            .handle_line(&format!("alice: /budget set-daily 123 {}", 20_000 + i))
            .await;
        console.handle_line("bob: react ✅ last").await;
        latencies.push(begin.elapsed());
    }
    let total = started.elapsed();
    let applied = store
        .in_state(&[RequestState::Applied])
        .expect("store reads")
        .len();
    assert_eq!(applied, iterations as usize, "every change was applied");
    assert_eq!(sim.handle().applied_count(), iterations as usize);
    latencies.sort();
    println!(
        "{what}: {iterations} changes in {:.2} s = {:.1} changes/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total.as_secs_f64(),
        f64::from(iterations) / total.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let iterations: u32 = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    println!(
        "request → approve → applied through the console, sled (fsync per transition) and the \
         simulator over HTTP (latency 0); each change = GET, GET, POST"
    );
    run(iterations, 20, "with the production limiter (20 calls/s)").await;
    run(
        iterations,
        1_000_000,
        "limiter lifted (the workflow's own cost)",
    )
    .await;
}
