//! What history costs: one console line, `pending`, `history <stock> 10`, a sweep, `run` start
//! to ready (against the fake Discord) and the idle RSS of `run` and `console`, with an empty
//! store, with one holding the same few open requests and a little history, and with one
//! holding 50,000 applied changes (plus those open requests), side by side. Issue 9's targets:
//! every figure within 1.2× of the empty store's, idle RSS ≤ 30 MB. An empty store has no
//! open request to list or sweep, so the in-process figures (microseconds) are compared with
//! the small store too (`full/small`): that ratio is what history alone adds. Whole console
//! sessions run interleaved across the stores, so a drift in the machine's load touches all alike.
//! Run with `cargo bench --bench history`. `BENCH_CHANGES` sets the number of changes,
//! `BENCH_ITERS` the repetitions per figure (`BENCH_BUDGET_SECS`, default 60, stops a figure
//! early after at least 3), `BENCH_RSS_SWEEP=1` also reads `run`'s RSS after its second sweep
//! (30 s later).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use budget_bot::domain::request::{
    ActorRef, Approval, CardRef, ChangeRequest, RequestId, RequestState, SentCounts, StockSummary,
    Via,
};
use budget_bot::store::{AuditNote, Store};
use budget_bot::wechatpay::model::{OutRequestNo, UpdateMode};
use support::fake_discord::{FakeConfig, FakeDiscord};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// Bump when the shape of the filled store changes; the store's own sources are hashed into
/// the cache key too, so a change to how the store writes never reuses an old fill.
const FILL_VERSION: u32 = 1;

/// Open requests left in the full store: what `pending` lists and a sweep looks at.
const OPEN_REQUESTS: usize = 5;

/// Applied changes in the baseline store beside the full one: enough that `history <stock> 10`
/// shows 10 entries there too (3 changes of each of the 4 stocks, 4 entries each), so the
/// full/small ratio compares the same output and measures what history alone adds.
const SMALL_HISTORY: usize = 12;

/// Issue 9: at 50,000 changes each figure is within this factor of the empty store's...
const RATIO_TARGET: f64 = 1.2;
/// ...and idle RSS of `run` and `console` at or under this many MiB.
const RSS_TARGET_MB: f64 = 30.0;

/// The console lines timed: (in the adapter, as a whole `budget-bot console` session), line.
const LINES: [([&str; 2], &str); 3] = [
    (
        [
            "in-process: console line `help`",
            "`console` one line: `help`",
        ],
        "alice: /budget help",
    ),
    (
        ["in-process: `pending`", "`console` one line: `pending`"],
        "alice: /budget pending",
    ),
    (
        [
            "in-process: `history 123 10`",
            "`console` one line: `history`",
        ],
        "alice: /budget history 123 10",
    ),
];

const WAIT: Duration = Duration::from_secs(120);

/// How long a process is left alone after its last event before its RSS is read.
const SETTLE: Duration = Duration::from_secs(2);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Medians and p95 of repeated timings.
struct Timings(Vec<Duration>);

impl Timings {
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
    }
    fn median_ms(&self) -> f64 {
        self.percentile(0.5).as_secs_f64() * 1e3
    }
    fn p95_ms(&self) -> f64 {
        self.percentile(0.95).as_secs_f64() * 1e3
    }
}

/// Times `job` `iterations` times, stopping early (after at least 3) once `budget` is spent,
/// so a slow full store does not hold the bench for many minutes.
async fn time<F: std::future::Future<Output = ()>>(
    iterations: usize,
    budget: Duration,
    mut job: impl FnMut() -> F,
) -> Timings {
    let started = Instant::now();
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let begin = Instant::now();
        job().await;
        samples.push(begin.elapsed());
        if samples.len() >= 3 && started.elapsed() > budget {
            break;
        }
    }
    Timings(samples)
}

/// What one store costs.
#[derive(Default)]
struct Figures {
    timings: Vec<(&'static str, Timings)>,
    /// (what, MiB)
    rss: Vec<(&'static str, f64)>,
}

// ---------------------------------------------------------------------------------------------
// Filling the store

/// The stocks of the seeded simulator, as the fill spreads changes over them.
fn stocks() -> Vec<budget_bot::config::StockConfig> {
    common::stock_configs()
}

fn actor(name: &str) -> ActorRef {
    ActorRef {
        id: format!("console:{name}"),
        display: name.to_string(),
    }
}

/// A request as the app creates it, card posted, on stock `n % stocks`.
fn new_request(n: usize, open: bool) -> ChangeRequest {
    let stocks = stocks();
    let stock = &stocks[n % stocks.len()];
    let created_at = common::T0 - 3_600 * 24 * 365 + n as u64;
    let id = RequestId::generate();
    let request = ChangeRequest {
        out_request_no: OutRequestNo::new(format!("bb-{created_at}-{id}"))
            .expect("a valid out_request_no"),
        id,
        stock_id: stock.stock_id.clone(),
        product_coupon_id: stock.product_coupon_id.clone(),
        stock_name: stock.name.clone(),
        mode: UpdateMode::MaxCountPerDay,
        current: 10_000 + (n % 1_000) as i64,
        target: 10_001 + (n % 1_000) as i64,
        sent: SentCounts {
            today: 310,
            total: 4_200,
        },
        requester: actor("alice"),
        reason: Some("weekend push".into()),
        created_at,
        // Open requests never expire during the bench: sweeps find nothing to do.
        expires_at: if open {
            common::T0 + 3_600 * 24 * 365 * 10
        } else {
            created_at + 86_400
        },
        state: RequestState::Pending,
        approvals: Vec::new(),
        required_approvals: 1,
        decided_by: None,
        decided_at: None,
        outcome_detail: None,
        outcome_reason: None,
        api_request_id: None,
        result: None,
        // A posted card: recovery has no card to post for it.
        card: Some(CardRef {
            channel_id: "444444444444444401".into(),
            message_id: format!("{}", 900_000_000_000_000_000u64 + n as u64),
        }),
        update_body: None,
        apply_at: None,
        reminded_at: None,
    };
    ChangeRequest {
        update_body: Some(
            String::from_utf8(request.update_request().body().to_vec()).expect("JSON is UTF-8"),
        ),
        ..request
    }
}

/// One transition through the store API, as the app makes it (compare-and-set + audit entry).
fn step(
    store: &Store,
    request: &ChangeRequest,
    note: AuditNote,
    change: impl Fn(&mut ChangeRequest),
) {
    store
        .update(request.id.as_str(), |current| {
            let mut next = current.clone();
            change(&mut next);
            Ok::<_, ()>((next, note.clone(), ()))
        })
        .expect("store writes")
        .expect("no refusal");
}

/// Stores `changes` applied changes (requested → approved → submitting → applied, each with
/// its audit entry) and [`OPEN_REQUESTS`] pending ones.
fn fill(store: &Store, changes: usize) {
    let started = Instant::now();
    for n in 0..changes {
        let request = new_request(n, false);
        let at = request.created_at;
        store
            .create(
                &request,
                AuditNote::new(at, "requested", Some(actor("alice"))),
            )
            .expect("store writes");
        let mut approved = AuditNote::new(at + 60, "approved", Some(actor("bob")));
        approved.detail = Some("via reaction".into());
        step(store, &request, approved, |r| {
            r.state = RequestState::Approved;
            r.approvals.push(Approval {
                by: actor("bob"),
                at: at + 60,
                via: Via::Reaction,
            });
            r.decided_by = Some(actor("bob"));
            r.decided_at = Some(at + 60);
        });
        step(
            store,
            &request,
            AuditNote::new(at + 61, "submitting", None),
            |r| r.state = RequestState::Submitting,
        );
        let mut applied = AuditNote::new(at + 62, "applied", None);
        applied.api_request_id = Some(format!("sim-{n}"));
        applied.detail = Some("applied".into());
        step(store, &request, applied, |r| {
            r.state = RequestState::Applied;
            r.api_request_id = Some(format!("sim-{n}"));
            r.outcome_detail = Some("applied".into());
            r.result = Some(StockSummary {
                state: "SENDING".into(),
                max_count: Some(100_000),
                max_count_per_day: Some(r.target),
                sent_today: 310,
                sent_total: 4_200,
            });
        });
        if (n + 1) % 10_000 == 0 {
            eprintln!(
                "  filled {} changes in {:.0} s",
                n + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    for n in 0..OPEN_REQUESTS {
        let request = new_request(changes + n, true);
        store
            .create(
                &request,
                AuditNote::new(request.created_at, "requested", Some(actor("alice"))),
            )
            .expect("store writes");
    }
    store.flush().expect("store flushes");
}

/// A hash of the store's sources, its sub-folders' included: a fill made by other store code
/// is not reused.
fn store_sources_hash() -> u64 {
    fn files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/store is readable") {
            let path = entry.expect("src/store is readable").path();
            if path.is_dir() {
                files(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store"),
        &mut found,
    );
    found.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in found {
        std::fs::read(&file).unwrap_or_default().hash(&mut hasher);
    }
    hasher.finish()
}

/// The filled store, made once and kept under target/ (filling takes a while: every
/// transition is a durable sled transaction).
fn cached_fill(changes: usize) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-history");
    let (prefix, suffix) = (
        format!("v{FILL_VERSION}-"),
        format!("-{:016x}", store_sources_hash()),
    );
    let key = format!("{prefix}{changes}{suffix}");
    let done = root.join(&key);
    if done.exists() {
        eprintln!("reusing the filled store {}", done.display());
        return done;
    }
    // Fills of another version or store code (or left half-made) are of no use any more.
    for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(&prefix) && name.ends_with(&suffix)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let building = root.join(format!("{key}.partial"));
    std::fs::create_dir_all(&building).expect("target/bench-history is writable");
    eprintln!(
        "filling a store with {changes} changes (once; kept in {})",
        done.display()
    );
    let started = Instant::now();
    let path = building.join("store.sled");
    {
        let store = Store::open(&path).expect("store opens");
        fill(&store, changes);
    }
    eprintln!("filled in {:.1} s", started.elapsed().as_secs_f64());
    // As the bot's next start would: finished work moves to the archive (the store is closed
    // by now, but sled lets go of its lock only once its threads end).
    let started = Instant::now();
    let deadline = Instant::now() + WAIT;
    while let Err(e) = Store::open(&path) {
        assert!(Instant::now() < deadline, "the filled store reopens: {e}");
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "archived finished work in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Renamed only once complete: an interrupted fill is never reused.
    std::fs::rename(&building, &done).expect("the fill is renamed into place");
    done
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy target is writable");
    for entry in std::fs::read_dir(from).expect("store folder is readable") {
        let entry = entry.expect("store folder is readable");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("store file copies");
        }
    }
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_size(&e.path()),
                    _ => e.metadata().map_or(0, |m| m.len()),
                })
                .sum()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// VmRSS and VmHWM of a process, in MiB.
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The in-process figures: the console adapter as the console tests drive it, over the store
/// in `dir` and the simulator.
async fn in_process(
    dir: tempfile::TempDir,
    iterations: usize,
    figures: &mut Figures,
) -> tempfile::TempDir {
    let budget = Duration::from_secs(env_or("BENCH_BUDGET_SECS", 60));
    let store = Store::open(&dir.path().join("store.sled")).expect("store opens");
    let sim = common::start_sim().await;
    // The harness gets a folder of its own: the store's outlives it, for the binary's runs.
    let spare = tempfile::tempdir().expect("temp dir");
    let h = common::Harness::with(sim, spare, store, 1, Duration::from_secs(3_600)).await;
    h.take_events();
    let h = &h;
    for (what, line) in LINES {
        let timings = time(iterations, budget, || async move {
            h.line(line).await;
        })
        .await;
        figures.timings.push((what[0], timings));
    }
    let timings = time(iterations, budget, || async move {
        let failed = h.console.runtime().sweep().await;
        assert!(failed.is_empty(), "sweep failed: {failed:?}");
    })
    .await;
    figures.timings.push(("in-process: one sweep", timings));
    h.store.flush().expect("store flushes");
    dir
}

/// A spawned `budget-bot` with its stderr kept (it is the only place a failure shows).
struct Process {
    child: tokio::process::Child,
}

impl Process {
    fn spawn(config: &Path, args: &[&str]) -> Process {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_budget-bot"))
            .arg("--config")
            .arg(config)
            .args(args)
            .env("DISCORD_TOKEN", "fake-token")
            // serenity warns of every close frame it does not get back from the fake.
            .env("RUST_LOG", "warn,serenity=error")
            .env_remove("BUDGET_BOT_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary runs");
        Process { child }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("the process runs")
    }

    /// SIGTERM, as an operator stops it, and waits for a clean exit.
    async fn stop(mut self) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("the bot stops after SIGTERM")
            .expect("wait works");
        assert!(status.success(), "the bot stopped cleanly: {status:?}");
    }
}

/// `run` start to commands registered, repeated; then its idle RSS after the first sweep (and,
/// with `BENCH_RSS_SWEEP=1`, after the second).
async fn run_binary(config: &Path, fake: &FakeDiscord, iterations: usize, figures: &mut Figures) {
    let budget = Duration::from_secs(env_or("BENCH_BUDGET_SECS", 60));
    let mut registered = 0;
    let timings = time(iterations, budget, || {
        registered += 1;
        let n = registered;
        async move {
            let bot = Process::spawn(config, &["run"]);
            fake.wait_commands_registered(n, WAIT)
                .await
                .expect("run registers its commands");
            bot.stop().await;
        }
    })
    .await;
    figures
        .timings
        .push(("`run` start → commands registered", timings));

    let bot = Process::spawn(config, &["run"]);
    fake.wait_commands_registered(registered + 1, WAIT)
        .await
        .expect("run registers its commands");
    tokio::time::sleep(SETTLE).await;
    let (rss, _) = memory_mb(bot.pid());
    figures.rss.push(("run idle RSS", rss));
    if env_or("BENCH_RSS_SWEEP", 0) == 1 {
        tokio::time::sleep(budget_bot::chat::discord::EXPIRY_SWEEP_INTERVAL).await;
        let (rss, peak) = memory_mb(bot.pid());
        figures.rss.push(("run RSS after 2nd sweep", rss));
        figures.rss.push(("run peak RSS (VmHWM)", peak));
    }
    bot.stop().await;
}

/// `budget-bot console` given one line: process start (store opened, interrupted work
/// resumed) to exit, as a script or an operator would run it.
/// One `budget-bot console` session of one line, to its end.
async fn console_session(config: &Path, line: &str) {
    let mut console = Process::spawn(config, &["console", "--json"]);
    let mut stdin = console.child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(format!("{line}\n").as_bytes())
        .await
        .expect("console reads");
    drop(stdin);
    let output = tokio::time::timeout(WAIT, console.child.wait_with_output())
        .await
        .expect("console ends at end of input")
        .expect("wait works");
    assert!(output.status.success(), "console ended cleanly: {output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("\"done\""),
        "console answered the line"
    );
}

/// Whole console sessions, one line each, interleaved store by store (empty, small, full,
/// empty, …), so a drift in the machine's load touches every store alike.
async fn console_sessions(configs: &[PathBuf], iterations: usize, figures: &mut [Figures]) {
    let budget = Duration::from_secs(env_or("BENCH_BUDGET_SECS", 60));
    for (what, line) in LINES {
        let started = Instant::now();
        let mut samples = vec![Vec::with_capacity(iterations); configs.len()];
        for _ in 0..iterations {
            for (config, samples) in configs.iter().zip(&mut samples) {
                let begin = Instant::now();
                console_session(config, line).await;
                samples.push(begin.elapsed());
            }
            if samples[0].len() >= 3 && started.elapsed() > budget * configs.len() as u32 {
                break;
            }
        }
        for (figures, samples) in figures.iter_mut().zip(samples) {
            figures.timings.push((what[1], Timings(samples)));
        }
    }
}

/// `console`: its RSS once a `help` line is answered and it waits for the next.
async fn console_binary(config: &Path, figures: &mut Figures) {
    let mut console = Process::spawn(config, &["console", "--json"]);
    let mut stdin = console.child.stdin.take().expect("stdin is piped");
    let mut stdout =
        tokio::io::BufReader::new(console.child.stdout.take().expect("stdout is piped"));
    stdin
        .write_all(b"alice: /budget help\n")
        .await
        .expect("console reads");
    let mut line = String::new();
    loop {
        line.clear();
        let read = tokio::time::timeout(WAIT, stdout.read_line(&mut line))
            .await
            .expect("console answers")
            .expect("console output is readable");
        assert!(read > 0, "console ended before answering");
        if line.contains("\"done\"") {
            break;
        }
    }
    tokio::time::sleep(SETTLE).await;
    let (rss, peak) = memory_mb(console.pid());
    figures.rss.push(("console idle RSS", rss));
    figures.rss.push(("console peak RSS (VmHWM)", peak));
    drop(stdin);
    let status = tokio::time::timeout(WAIT, console.child.wait())
        .await
        .expect("console ends at end of input")
        .expect("wait works");
    assert!(status.success(), "console ended cleanly: {status:?}");
}

/// Every figure for the store in `dir` (a `store.sled` folder, or none for an empty store).
/// A store under measurement, after its in-process figures: its folder and fakes, and the
/// config the binary runs with.
struct Subject {
    _dir: tempfile::TempDir,
    fake: FakeDiscord,
    sim: budget_bot::sim::Simulator,
    config: PathBuf,
    figures: Figures,
}

/// Measures a store's in-process figures and sets it up for the binary's runs.
async fn prepare(what: &str, dir: tempfile::TempDir, iterations: usize) -> Subject {
    eprintln!("measuring the {what} store in-process…");
    let mut figures = Figures::default();
    let dir = in_process(dir, iterations, &mut figures).await;
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let sim = common::start_sim().await;
    let config = common::write_config(
        dir.path(),
        &sim.base_url(),
        &support::discord_section(&fake),
    );
    Subject {
        _dir: dir,
        fake,
        sim,
        config,
        figures,
    }
}

/// The whole-process figures of every store: console sessions interleaved, then `run`'s start
/// and the idle RSS of each.
async fn measure(subjects: &mut [Subject], iterations: usize) {
    eprintln!("measuring whole console sessions, the stores interleaved…");
    let configs: Vec<PathBuf> = subjects.iter().map(|s| s.config.clone()).collect();
    let mut figures: Vec<Figures> = subjects
        .iter_mut()
        .map(|s| std::mem::take(&mut s.figures))
        .collect();
    console_sessions(&configs, iterations, &mut figures).await;
    for (subject, figures) in subjects.iter_mut().zip(figures) {
        subject.figures = figures;
        eprintln!(
            "measuring `run` and idle RSS on {}…",
            subject.config.display()
        );
        run_binary(
            &subject.config,
            &subject.fake,
            iterations,
            &mut subject.figures,
        )
        .await;
        console_binary(&subject.config, &mut subject.figures).await;
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "OVER"
    }
}

fn print(changes: usize, empty: &Figures, open: &Figures, full: &Figures) {
    println!();
    println!(
        "{:<40} {:>20} {:>20} {:>20} {:>9} {:>9}",
        "figure (median / p95 ms)",
        "empty store",
        format!("{OPEN_REQUESTS} open, {SMALL_HISTORY} changes"),
        format!("{changes} changes"),
        "full/empty",
        "full/small"
    );
    for (((what, e), (_, o)), (_, f)) in empty.timings.iter().zip(&open.timings).zip(&full.timings)
    {
        let ratio = f.median_ms() / e.median_ms();
        let history = f.median_ms() / o.median_ms();
        println!(
            "{what:<40} {:>9.3} / {:>8.3} {:>9.3} / {:>8.3} {:>9.3} / {:>8.3} {:>8.2}× {} {:>8.2}× {} (n={}/{}/{})",
            e.median_ms(),
            e.p95_ms(),
            o.median_ms(),
            o.p95_ms(),
            f.median_ms(),
            f.p95_ms(),
            ratio,
            verdict(ratio <= RATIO_TARGET),
            history,
            verdict(history <= RATIO_TARGET),
            e.0.len(),
            o.0.len(),
            f.0.len()
        );
    }
    for ((what, e), (_, f)) in empty.rss.iter().zip(&full.rss) {
        let limit = !what.contains("peak");
        println!(
            "{:<40} {:>16.1} MiB {:>16.1} MiB {:>8.2}× {}",
            what,
            e,
            f,
            f / e,
            if limit {
                verdict(*f <= RSS_TARGET_MB)
            } else {
                "(no target)"
            }
        );
    }
    println!(
        "targets (issue 9): each time within {RATIO_TARGET}× of the empty store's (in-process: of the small store's, the same work without the history), idle RSS ≤ {RSS_TARGET_MB} MiB"
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let changes: usize = env_or("BENCH_CHANGES", 50_000);
    let iterations: usize = env_or("BENCH_ITERS", 15);
    let cached = cached_fill(changes);
    let mib = |path: &Path| dir_size(path) as f64 / (1024.0 * 1024.0);
    let live = cached.join("store.sled");
    println!(
        "history bench: {changes} applied changes ({} audit entries) + {OPEN_REQUESTS} pending over {} stocks; on disk: live store {:.1} MiB, archive {:.0} MiB",
        changes * 4 + OPEN_REQUESTS,
        stocks().len(),
        mib(&live),
        mib(&budget_bot::store::archive_path(&live)),
    );
    let empty_dir = tempfile::tempdir().expect("temp dir");
    let empty = prepare("empty", empty_dir, iterations).await;
    // The same open work as the full store and a little history: what `pending`, a sweep and
    // `history 123 10` cost for what they return, so full/small is what history alone adds.
    let built = tempfile::tempdir().expect("temp dir");
    {
        let store = Store::open(&built.path().join("store.sled")).expect("store opens");
        fill(&store, SMALL_HISTORY);
    }
    // Copied (flushed above) rather than reopened: sled lets go of its lock only once its
    // threads end.
    let open_dir = tempfile::tempdir().expect("temp dir");
    copy_dir(built.path(), open_dir.path());
    let open = prepare("open work, small history", open_dir, iterations).await;
    let full_dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&cached, full_dir.path());
    let full = prepare("full", full_dir, iterations).await;
    let mut subjects = [empty, open, full];
    measure(&mut subjects, iterations).await;
    let [empty, open, full] = subjects;
    print(changes, &empty.figures, &open.figures, &full.figures);
    for subject in [empty, open, full] {
        subject.sim.shutdown().await;
    }
}
