//! Randomized fault runs, to find the next fault before a user does: many request → approve →
//! apply runs against the simulator, each with random API faults queued for the reads and the
//! update and, in most runs, a crash at a random await point followed by a restart (a fresh
//! `App` over the same sled store, then `recover()`). After every run:
//!
//! - the stock changed at most once, only from the approved value to the target, and only by
//!   the request's own `out_request_no`;
//! - the request's state matches the stock: Applied ⇔ the stock shows the target through
//!   exactly one applied update; Failed or Stale ⇔ the stock is unchanged; Submitting only
//!   when the outcome was left unresolved (or a crash interrupted it), and then one more
//!   restart with the API healthy resolves it;
//! - one run stores at most one request, and leaves nothing for the next run to resume;
//! - every update-budget call carried the request's stored body, byte for byte;
//! - no applied notice shows anything but the target, and there is at most one final notice;
//! - the audit hash chain verifies.
//!
//! A second test kills the real binary at each failpoint (`BUDGET_BOT_FAILPOINT`) while random
//! quick faults hit its apply path, restarts it with the API healthy, and checks the same
//! stock, request, body and audit invariants.
//!
//! The seed is printed. `BUDGET_BOT_FAULT_SEED=N` replays a seed, `BUDGET_BOT_FAULT_RUNS=N` sets
//! how many runs (default 200). Run `i` of seed `S` uses seed `S + i` for itself, so a failure
//! message gives the seed that replays just that run with `BUDGET_BOT_FAULT_RUNS=1`. Crash
//! points and timeouts depend on timing, so a replay repeats the faults and the crash budget
//! exactly, and the interleaving only roughly.

mod common;

use common::Recorder;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use budget_bot::app::{App, ManualClock, Notice, NoticeKind};
use budget_bot::config::{ApprovalConfig, Capability};
use budget_bot::domain::budget::live_value;
use budget_bot::domain::policy::Decision;
use budget_bot::domain::request::{Actor, ChangeRequest, RequestState, Via};
use budget_bot::sim::{Fault, FaultMatch, SimHandle, Simulator};
use budget_bot::store::Store;
use budget_bot::wechatpay::UpdateMode;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const SEED_ENV: &str = "BUDGET_BOT_FAULT_SEED";
const RUNS_ENV: &str = "BUDGET_BOT_FAULT_RUNS";
const DEFAULT_RUNS: u64 = 200;
/// Runs share a store, as one process's requests do; a fresh one now and then keeps the
/// store's full scans (recovery, audit verification) from growing with the run count.
const RUNS_PER_STORE: u64 = 25;

const PC: &str = "200000001";
const STOCK: &str = "123";

/// The client gives up on an attempt after this long; a long delay fault outlasts it.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(80);
/// How long a restart waits for the simulator to finish (or abandon) every request of the
/// process that crashed.
const SETTLE_DEADLINE: Duration = Duration::from_secs(10);

/// Where a run crashes: after this many polls of the app's future, or after this long.
#[derive(Clone, Copy, Debug)]
enum Crash {
    Polls(u32),
    After(Duration),
}

/// Which use case a crash interrupts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Request,
    Approve,
}

/// Everything random about one run.
#[derive(Clone, Debug)]
struct Plan {
    mode: UpdateMode,
    target: i64,
    /// Faults for the read of `request_change`.
    request_reads: Vec<Fault>,
    /// Faults for the reads of the apply path (before sending, reconciling, resuming).
    apply_reads: Vec<Fault>,
    updates: Vec<Fault>,
    crash: Option<(Phase, Crash)>,
}

/// Faults any call may meet.
fn any_call_fault(rng: &mut StdRng) -> Fault {
    match rng.random_range(0..13) {
        0 => Fault::Status500,
        1 => Fault::Status429,
        2 => Fault::DropConnection,
        3 => Fault::Delay(Duration::from_millis(rng.random_range(0..40))),
        4 => Fault::Delay(REQUEST_TIMEOUT + Duration::from_millis(rng.random_range(10..40))),
        5 => Fault::BadSignature,
        6 => Fault::WrongSerial,
        7 => Fault::StaleTimestamp,
        8 => Fault::TamperedBody,
        9 => Fault::Redirect(302),
        10 => Fault::Redirect(307),
        11 => Fault::OtherStock,
        _ => Fault::SignError,
    }
}

/// Faults only a write has: applied or not, the answer says otherwise.
fn update_fault(rng: &mut StdRng) -> Fault {
    match rng.random_range(0..5) {
        0 => Fault::ApplyThen500,
        1 => Fault::AnswerBefore,
        2 => Fault::IgnoreAndAnswerStock,
        _ => any_call_fault(rng),
    }
}

impl Plan {
    fn random(rng: &mut StdRng) -> Plan {
        let mode = if rng.random_bool(0.5) {
            UpdateMode::MaxCountPerDay
        } else {
            UpdateMode::MaxCount
        };
        // Stock 123: daily 10,000, total 100,000 with 4,200 sent.
        let (current, low, high) = match mode {
            UpdateMode::MaxCountPerDay => (10_000, 0, 50_000),
            UpdateMode::MaxCount => (100_000, 4_200, 300_000),
        };
        let mut target = rng.random_range(low..=high);
        if target == current {
            target += 1;
        }
        let request_reads = (0..rng.random_range(0..=1))
            .map(|_| any_call_fault(rng))
            .collect();
        let apply_reads = (0..rng.random_range(0..=5))
            .map(|_| any_call_fault(rng))
            .collect();
        let updates = (0..rng.random_range(0..=5))
            .map(|_| update_fault(rng))
            .collect();
        let crash = match rng.random_range(0..10) {
            0..=1 => None,
            n => {
                let phase = if n == 2 {
                    Phase::Request
                } else {
                    Phase::Approve
                };
                // An approval takes about 2 to 20 polls and 20 to 700 ms here, most of it
                // well under 200: most planned crashes land inside it.
                let crash = if rng.random_bool(0.5) {
                    Crash::Polls(rng.random_range(1..=16))
                } else {
                    Crash::After(Duration::from_millis(rng.random_range(1..=200)))
                };
                Some((phase, crash))
            }
        };
        Plan {
            mode,
            target,
            request_reads,
            apply_reads,
            updates,
            crash,
        }
    }

    fn crash_in(&self, phase: Phase) -> Option<Crash> {
        self.crash.filter(|(p, _)| *p == phase).map(|(_, c)| c)
    }
}

/// Polls the inner future at most `polls` times; the next wake-up finds the process gone, and
/// the future (with every guard and connection it holds) is dropped where it stood.
struct CrashAfterPolls<F> {
    inner: Pin<Box<F>>,
    polls: u32,
}

impl<F: Future> Future for CrashAfterPolls<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls == 0 {
            return Poll::Ready(None);
        }
        self.polls -= 1;
        self.inner.as_mut().poll(cx).map(Some)
    }
}

/// Runs `future` to the end, or crashes it as planned; `None` when it crashed.
async fn run_or_crash<F: Future>(crash: Option<Crash>, future: F) -> Option<F::Output> {
    match crash {
        None => Some(future.await),
        Some(Crash::Polls(polls)) => {
            CrashAfterPolls {
                inner: Box::pin(future),
                polls,
            }
            .await
        }
        Some(Crash::After(after)) => tokio::time::timeout(after, future).await.ok(),
    }
}

/// One run's world: a fresh simulator, the test's sled store (one per process, as in
/// production; every earlier run's requests are finished in it), what was announced.
struct World {
    sim: Simulator,
    handle: SimHandle,
    store: Store,
    /// How many requests earlier runs stored, and the last of them.
    earlier: usize,
    earlier_last: Option<String>,
    recorder: Arc<Recorder>,
    clock: Arc<ManualClock>,
}

impl World {
    async fn new(store: &Store) -> World {
        let sim = common::start_sim().await;
        World {
            handle: sim.handle(),
            sim,
            store: store.clone(),
            earlier: store.all().unwrap().len(),
            earlier_last: store.last().unwrap().map(|r| r.id.to_string()),
            recorder: Arc::default(),
            clock: Arc::new(ManualClock::new(common::T0)),
        }
    }

    /// A process: a fresh app (and client) over the same store.
    fn app(&self) -> App {
        App::new(
            common::stock_configs(),
            ApprovalConfig {
                required_approvals: 1,
                ttl: Duration::from_secs(3600),
                ..ApprovalConfig::default()
            },
            Arc::new(common::fast_client(self.sim.base_url(), REQUEST_TIMEOUT)),
            self.store.clone(),
            self.recorder.clone(),
            self.clock.clone(),
        )
    }

    /// Waits until the simulator has finished or abandoned every request, so nothing an
    /// earlier process sent can still change the stock behind the next one's back.
    async fn settle(&self) -> Result<(), String> {
        let started = Instant::now();
        while self.handle.in_flight() > 0 {
            if started.elapsed() > SETTLE_DEADLINE {
                return Err(format!(
                    "{} simulator requests still running after {SETTLE_DEADLINE:?}",
                    self.handle.in_flight()
                ));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// A restart: the crashed process's requests settle, a new process recovers.
    async fn restart(&self) -> Result<App, String> {
        self.settle().await?;
        let app = self.app();
        app.recover().await.map_err(|e| format!("recover: {e}"))?;
        Ok(app)
    }

    /// This run's request, if it stored one.
    fn request(&self) -> Option<ChangeRequest> {
        self.store
            .last()
            .unwrap()
            .filter(|r| Some(r.id.as_str()) != self.earlier_last.as_deref())
    }
}

fn alice() -> Actor {
    Actor::new("console:alice", "alice", &[Capability::Requester])
}

fn bob() -> Actor {
    Actor::new("console:bob", "bob", &[Capability::Approver])
}

/// Approves the stored request, crashing as planned; returns the app to go on with, and
/// whether it crashed.
async fn approve(
    world: &World,
    app: App,
    id: &str,
    crash: Option<Crash>,
) -> Result<(App, bool), String> {
    let decided = run_or_crash(
        crash,
        app.decide(&bob(), id, Decision::Approve, Via::Button),
    )
    .await;
    match decided {
        Some(reply) => {
            reply.map_err(|e| format!("decide: {e}"))?;
            Ok((app, false))
        }
        None => Ok((world.restart().await?, true)),
    }
}

/// What happened in a run, for the closing summary (so a change that stops a path from being
/// exercised shows).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Tally {
    final_state: String,
    crashed: bool,
    /// Left Submitting (unresolved) before the last restart, which then resolved it.
    resolved_by_restart: bool,
}

/// One run in a fresh world: what happened, or what broke and what the simulator saw.
async fn run(store: &Store, plan: &Plan) -> Result<Tally, String> {
    let world = World::new(store).await;
    match run_in(&world, plan).await {
        Ok(mut tally) => {
            tally.final_state = world
                .request()
                .map_or_else(|| "no request".to_owned(), |r| r.state.to_string());
            Ok(tally)
        }
        Err(problem) => Err(format!(
            "{problem}\nsimulator log:\n{}",
            sim_log(&world.handle)
        )),
    }
}

async fn run_in(world: &World, plan: &Plan) -> Result<Tally, String> {
    for fault in &plan.request_reads {
        world.handle.push_fault(FaultMatch::GetStock, fault.clone());
    }
    let app = world.app();
    let created = run_or_crash(
        plan.crash_in(Phase::Request),
        app.request_change(&alice(), STOCK, plan.mode, plan.target, None),
    )
    .await;
    let crashed_creating = created.is_none();
    let mut app = match created {
        Some(reply) => {
            reply.map_err(|e| format!("request_change: {e}"))?;
            app
        }
        None => world.restart().await?,
    };
    for fault in &plan.apply_reads {
        world.handle.push_fault(FaultMatch::GetStock, fault.clone());
    }
    for fault in &plan.updates {
        world
            .handle
            .push_fault(FaultMatch::UpdateBudget, fault.clone());
    }
    let mut crashed_approving = false;
    if let Some(request) = world.request() {
        (app, crashed_approving) = approve(
            world,
            app,
            request.id.as_str(),
            plan.crash_in(Phase::Approve),
        )
        .await?;
    }

    // Before the last restart: Submitting only if the outcome was announced as unresolved,
    // or a crash interrupted the apply.
    world.settle().await?;
    let crashed = crashed_creating || crashed_approving;
    let mut tally = Tally {
        crashed,
        ..Tally::default()
    };
    if let Some(request) = world.request() {
        let unresolved_notice = world
            .recorder
            .notices
            .lock()
            .unwrap()
            .iter()
            .any(|n| n.kind == NoticeKind::Unresolved);
        if request.state == RequestState::Submitting {
            if !unresolved_notice && !crashed_approving {
                return Err("left Submitting without saying it is unresolved".into());
            }
            tally.resolved_by_restart = true;
        }
    }
    drop(app);

    // The API is healthy again; one more restart must settle everything.
    world.handle.clear_faults();
    let app = world.restart().await?;
    if let Some(request) = world.request() {
        if request.state == RequestState::Pending {
            // The crash came before the approval was stored: approve again.
            approve(world, app, request.id.as_str(), None).await?;
        }
    }
    world.settle().await?;
    check(world, plan, crashed)?;
    Ok(tally)
}

/// The invariants of a finished in-process run: [`check_outcome`], one request at most, and
/// what was announced.
fn check(world: &World, plan: &Plan, crashed: bool) -> Result<(), String> {
    let stored = world.store.all().unwrap().len() - world.earlier;
    if stored > 1 {
        return Err(format!("one run stored {stored} requests"));
    }
    check_outcome(&world.handle, &world.store, world.request(), plan)?;
    let notices = world.recorder.notices.lock().unwrap();
    let finals: Vec<&Notice> = notices
        .iter()
        .filter(|n| {
            matches!(
                n.kind,
                NoticeKind::Applied | NoticeKind::Failed | NoticeKind::Stale
            )
        })
        .collect();
    // A crash between the final store update and its notice loses the notice, never doubles it.
    if finals.len() > 1 || (finals.is_empty() && stored == 1 && !crashed) {
        return Err(format!("{} final notices", finals.len()));
    }
    for notice in finals.iter().filter(|n| n.kind == NoticeKind::Applied) {
        let shown = notice
            .request
            .result
            .as_ref()
            .and_then(|r| match plan.mode {
                UpdateMode::MaxCountPerDay => r.max_count_per_day,
                UpdateMode::MaxCount => r.max_count,
            });
        if shown != Some(plan.target) {
            return Err(format!(
                "the applied notice shows {shown:?}: {}",
                notice.text.get(budget_bot::i18n::Lang::En)
            ));
        }
    }
    Ok(())
}

/// The invariants of a finished run, read from the simulator and the store: the stock changed
/// at most once, only to the target, by this request; the request's final state matches the
/// stock; every send carried the stored body; the audit chain verifies.
fn check_outcome(
    handle: &SimHandle,
    store: &Store,
    request: Option<ChangeRequest>,
    plan: &Plan,
) -> Result<(), String> {
    let applied = handle.applied_updates();
    let stock = handle.stock(PC, STOCK).expect("stock 123 exists");
    let live = live_value(&stock, plan.mode);
    let current = match plan.mode {
        UpdateMode::MaxCountPerDay => 10_000,
        UpdateMode::MaxCount => 100_000,
    };
    match store.verify_audit().unwrap() {
        Ok(_) => {}
        Err(broken) => return Err(format!("audit chain broken: {broken:?}")),
    }
    let Some(request) = request else {
        // request_change failed (its read was refused) or crashed before storing.
        if !applied.is_empty() || live != Some(current) {
            return Err(format!("no request, yet the stock changed: {applied:?}"));
        }
        return Ok(());
    };
    if applied.len() > 1 {
        return Err(format!("applied {} times: {applied:?}", applied.len()));
    }
    if let Some(update) = applied.first() {
        if update.mode != plan.mode
            || update.from != Some(current)
            || update.to != plan.target
            || update.out_request_no != request.out_request_no.as_str()
        {
            return Err(format!("applied something else: {update:?}"));
        }
    }
    let changed = applied.len() == 1;
    let expected_live = if changed { plan.target } else { current };
    if live != Some(expected_live) {
        return Err(format!(
            "stock shows {live:?}, expected {expected_live} ({} applied updates)",
            applied.len()
        ));
    }
    let consistent = match request.state {
        RequestState::Applied => changed,
        RequestState::Failed | RequestState::Stale => !changed,
        _ => false,
    };
    if !consistent {
        return Err(format!(
            "request ended {} ({:?}) but the stock {}",
            request.state,
            request.outcome_detail,
            if changed { "changed" } else { "did not change" }
        ));
    }
    let body = request
        .update_body
        .as_deref()
        .unwrap_or_default()
        .as_bytes();
    let sends: Vec<_> = handle.update_budget_requests();
    if let Some(odd) = sends.iter().find(|r| r.body != body) {
        return Err(format!(
            "an update carried another body: {}",
            String::from_utf8_lossy(&odd.body)
        ));
    }
    Ok(())
}

/// What the simulator saw, for a failure message.
fn sim_log(handle: &SimHandle) -> String {
    handle
        .requests()
        .iter()
        .map(|r| {
            format!(
                "  #{} {} {} → {:?} fault {:?} applied {}",
                r.seq,
                r.method,
                r.path.rsplit('/').next().unwrap_or_default(),
                r.status,
                r.fault,
                r.applied
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A sled store in a new folder; the folder goes after the store (tuple fields drop in order).
fn fresh_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    (store, dir)
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a whole number")),
    )
}

/// `BUDGET_BOT_FAULT_SEED`, or a new seed from the clock.
fn seed() -> u64 {
    env_u64(SEED_ENV).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_faults_and_crashes_never_lose_or_double_a_change() {
    let seed = seed();
    let runs = env_u64(RUNS_ENV).unwrap_or(DEFAULT_RUNS);
    let mut store = None;
    println!("fault_random: seed {seed}, {runs} runs (replay: {SEED_ENV}={seed})");
    let started = Instant::now();
    let mut outcomes = std::collections::BTreeMap::<Tally, u32>::new();
    for i in 0..runs {
        if i % RUNS_PER_STORE == 0 {
            store = Some(fresh_store());
        }
        let (store, _) = store.as_ref().expect("opened above");
        let run_seed = seed.wrapping_add(i);
        let plan = Plan::random(&mut StdRng::seed_from_u64(run_seed));
        match run(store, &plan).await {
            Ok(tally) => *outcomes.entry(tally).or_default() += 1,
            Err(problem) => panic!(
                "run {i} of seed {seed} broke: {problem}\n\
                 replay just this run: {SEED_ENV}={run_seed} {RUNS_ENV}=1\nplan: {plan:#?}"
            ),
        }
    }
    println!(
        "fault_random: {runs} runs in {:.1} s; outcomes:",
        started.elapsed().as_secs_f64()
    );
    for (tally, count) in &outcomes {
        println!("  {count:4} × {tally:?}");
    }
}

/// Faults for a real process, whose client waits the production times: nothing that costs a
/// 429's second or a request timeout.
fn quick_fault(rng: &mut StdRng, update: bool) -> Fault {
    match rng.random_range(0..if update { 11 } else { 8 }) {
        0 => Fault::Status500,
        1 => Fault::DropConnection,
        2 => Fault::BadSignature,
        3 => Fault::WrongSerial,
        4 => Fault::TamperedBody,
        5 => Fault::Redirect(302),
        6 => Fault::OtherStock,
        7 => Fault::SignError,
        8 => Fault::ApplyThen500,
        9 => Fault::AnswerBefore,
        _ => Fault::IgnoreAndAnswerStock,
    }
}

/// The binary killed at each failpoint (an abort: no destructors, no flush beyond what was
/// written) while random faults hit its reads and its update, then restarted with the API
/// healthy: the same invariants as the in-process runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_processes_with_random_faults_settle_on_restart() {
    use budget_bot::failpoint;
    let seed = seed();
    println!("fault_random (processes): seed {seed} (replay: {SEED_ENV}={seed})");
    let started = Instant::now();
    for (i, point) in failpoint::POINTS.iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(i as u64));
        let mut plan = Plan::random(&mut rng);
        plan.request_reads.clear();
        plan.apply_reads = (0..rng.random_range(0..=3))
            .map(|_| quick_fault(&mut rng, false))
            .collect();
        plan.updates = (0..rng.random_range(0..=3))
            .map(|_| quick_fault(&mut rng, true))
            .collect();
        plan.crash = None;
        let verb = match plan.mode {
            UpdateMode::MaxCountPerDay => "set-daily",
            UpdateMode::MaxCount => "set-total",
        };

        let sim = common::start_sim().await;
        let handle = sim.handle();
        let dir = tempfile::tempdir().unwrap();
        let config = common::write_config(dir.path(), &sim.base_url(), "");
        let args = ["--config", config.to_str().unwrap(), "console", "--json"];
        // The request's own read goes through; the faults meet the apply path.
        handle.push_fault(FaultMatch::GetStock, Fault::Delay(Duration::ZERO));
        for fault in &plan.apply_reads {
            handle.push_fault(FaultMatch::GetStock, fault.clone());
        }
        for fault in &plan.updates {
            handle.push_fault(FaultMatch::UpdateBudget, fault.clone());
        }
        let first = format!(
            "alice: /budget {verb} {STOCK} {} fault run\nbob: react ✅ last\n",
            plan.target
        );
        let (_, _, stderr) = common::run_bin(&args, &first, &[(failpoint::ENV, point)]).await;
        let killed = stderr.contains(&format!("failpoint {point}"));

        handle.clear_faults();
        let (status, stdout, stderr) = common::run_bin(&args, "bob: react ✅ last\n", &[]).await;
        let store = Store::open(&dir.path().join("store.sled")).unwrap();
        let request = store.last().unwrap();
        println!(
            "  {point}: killed {killed}, {} applied, request {}",
            handle.applied_count(),
            request
                .as_ref()
                .map_or_else(|| "none".to_owned(), |r| r.state.to_string())
        );
        let result = if status.success() {
            check_outcome(&handle, &store, request, &plan)
        } else {
            Err(format!("the restart failed: {stderr}"))
        };
        if let Err(problem) = result {
            panic!(
                "{point} (killed: {killed}) of seed {seed} broke: {problem}\n\
                 replay: {SEED_ENV}={seed}\nplan: {plan:#?}\nsecond run: {stdout}\n\
                 simulator log:\n{}",
                sim_log(&handle)
            );
        }
    }
    println!(
        "fault_random (processes): {} runs in {:.1} s",
        failpoint::POINTS.len(),
        started.elapsed().as_secs_f64()
    );
}
