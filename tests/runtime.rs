//! The runtime that owns time for every adapter: its timer sweeps settle requests with no
//! input at all, and its stop is bounded: work in flight gets a grace period, then is dropped.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use budget_bot::app::runtime::Runtime;
use budget_bot::domain::request::RequestState;
use common::{of, Harness};

const TTL: Duration = Duration::from_secs(60);

/// Polls `done` until it holds, failing after 10 s.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn the_timer_sweep_expires_a_request_without_any_input() {
    let h = Harness::new(1, TTL).await;
    let events = h.line("alice: /budget set-daily 123 20000").await;
    let id = of(&events, "card")[0]["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    h.clock.advance(TTL.as_secs() + 1);
    let runtime = Runtime::new(h.app.clone());
    runtime
        .start(Some(Duration::from_millis(20)))
        .await
        .unwrap();
    until("the sweep to expire it", || {
        h.state(&id) == RequestState::Expired
    })
    .await;
    runtime.shutdown().await.unwrap();
    let events = h.take_events();
    assert_eq!(
        of(&events, "notify").len(),
        1,
        "one expiry notice: {events:?}"
    );
    assert_eq!(of(&events, "card_update")[0]["state"], "Expired");
}

#[tokio::test]
async fn a_stop_waits_for_work_in_flight_then_drops_what_overruns_and_takes_no_new_work() {
    let h = Harness::new(1, TTL).await;
    let runtime = h.console.runtime().clone();
    let started = Arc::new(AtomicBool::new(false));
    let stuck = {
        let (runtime, started) = (runtime.clone(), started.clone());
        tokio::spawn(async move {
            runtime
                .run(async {
                    started.store(true, Ordering::SeqCst);
                    std::future::pending::<()>().await
                })
                .await
        })
    };
    until("the stuck job to start", || started.load(Ordering::SeqCst)).await;
    let begun = Instant::now();
    let dropped = runtime.finish_work(Duration::from_millis(200)).await;
    assert_eq!(
        dropped, 1,
        "the stuck job is dropped after the grace period"
    );
    assert!(
        begun.elapsed() < Duration::from_secs(3),
        "{:?}",
        begun.elapsed()
    );
    tokio::time::timeout(Duration::from_secs(5), stuck)
        .await
        .expect("the dropped job ends")
        .unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    runtime
        .run(async move { flag.store(true, Ordering::SeqCst) })
        .await;
    assert!(
        !ran.load(Ordering::SeqCst),
        "no new work after the stop began"
    );
    runtime.flush().unwrap();
}
