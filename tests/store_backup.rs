//! `budget-bot store backup` and `store restore` through the binary: a round trip gives back
//! the same store, restore refuses a store that is not empty and a backup that was cut or
//! edited (leaving the store empty), backup works while a bot holds the store (also while it
//! writes), and every way the store can fail to open says what happened and what to do.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use budget_bot::domain::request::{ChangeRequest, RequestId, RequestState};
use budget_bot::store::{AuditEntry, AuditNote, Store};
use budget_bot::wechatpay::OutRequestNo;
use common::{run_bin, start_sim, write_config};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// Two requests made through the console: one applied, one left pending (it is `last`).
const TWO_REQUESTS: &str = "alice: /budget set-daily 123 20000 weekend push\nbob: react ✅ last\nalice: /budget set-total 123 120000 more room\n";

/// A config in its own folder, whose store is `<folder>/store.sled`.
struct Place {
    dir: tempfile::TempDir,
    config: String,
}

impl Place {
    fn new(base_url: &str) -> Place {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), base_url, "");
        Place {
            config: config.to_str().unwrap().to_string(),
            dir,
        }
    }
    fn store(&self) -> PathBuf {
        self.dir.path().join("store.sled")
    }
    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
    /// Runs a command that must fail and returns its stderr, which says why.
    async fn refused(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args, "").await;
        assert!(!ok, "{args:?} is refused: {stdout}");
        stderr
    }
    async fn run(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        let mut all = vec!["--config", self.config.as_str()];
        all.extend_from_slice(args);
        let (status, stdout, stderr) = run_bin(&all, stdin, &[]).await;
        (status.success(), stdout, stderr)
    }
}

/// Everything a store holds, read through the library (the store must not be held).
#[derive(Debug, PartialEq)]
struct Contents {
    requests: Vec<ChangeRequest>,
    last: Option<ChangeRequest>,
    audit: Vec<AuditEntry>,
    cards: Vec<(String, Option<String>)>,
}

fn contents(path: &Path) -> Contents {
    let store = Store::open(path).unwrap();
    let requests = store.all().unwrap();
    let cards = requests
        .iter()
        .filter_map(|r| r.card.as_ref())
        .map(|card| {
            let key =
                budget_bot::store::CardKey::new("console", &card.channel_id, &card.message_id);
            let id = store.request_for_card(key).unwrap();
            (card.message_id.clone(), id)
        })
        .collect();
    Contents {
        last: store.last().unwrap(),
        audit: store.audit_entries(None).unwrap(),
        requests,
        cards,
    }
}

async fn populated(base_url: &str) -> Place {
    let place = Place::new(base_url);
    let (ok, stdout, stderr) = place.run(&["console", "--json"], TWO_REQUESTS).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("\"state\":\"Applied\""), "{stdout}");
    place
}

/// [`populated`], then backed up to `backup.jsonl` in its folder (returned).
async fn backed_up(base_url: &str) -> (Place, String) {
    let place = populated(base_url).await;
    let file = place.file("backup.jsonl");
    let (ok, stdout, stderr) = place.run(&["store", "backup", &file], "").await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("read from the store directly"), "{stdout}");
    (place, file)
}

#[tokio::test]
async fn backup_then_restore_gives_back_the_same_store() {
    let sim = start_sim().await;
    let (source, file) = backed_up(&sim.base_url()).await;
    let before = contents(&source.store());
    assert_eq!(before.requests.len(), 2);
    assert_eq!(before.cards.len(), 2, "both requests have cards");
    assert_eq!(before.last.as_ref().unwrap().state, RequestState::Pending);

    let text = std::fs::read_to_string(&file).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let header = &header["header"];
    assert_eq!(header["version"], 2);
    assert_eq!(header["counts"]["requests"], 2);
    assert_eq!(header["counts"]["cards"], 2);
    assert_eq!(header["counts"]["audit_entries"], before.audit.len());
    assert_eq!(
        header["audit_head"]["hash"],
        before.audit.last().unwrap().hash.as_str()
    );
    assert_eq!(
        header["last_request"],
        before.last.as_ref().unwrap().id.as_str()
    );
    assert_eq!(text.lines().count(), 1 + before.audit.len() + 2 + 2 + 1);

    let target = Place::new(&sim.base_url());
    let (ok, stdout, stderr) = target.run(&["store", "restore", &file], "").await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("2 requests, 2 cards"), "{stdout}");
    let (ok, stdout, _) = target.run(&["audit", "verify"], "").await;
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains(&format!("{} entries", before.audit.len())),
        "{stdout}"
    );
    assert_eq!(contents(&target.store()), before);

    // The bot carries on from the restored store: `last` is the pending request.
    let (ok, stdout, stderr) = target
        .run(&["console", "--json"], "bob: react ✅ last\n")
        .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("\"state\":\"Applied\""), "{stdout}");
    let after = contents(&target.store());
    assert_eq!(after.last.unwrap().id, before.last.unwrap().id);
    assert_eq!(after.requests[1].state, RequestState::Applied);
}

#[tokio::test]
async fn restore_refuses_a_store_that_is_not_empty_and_changes_nothing() {
    let sim = start_sim().await;
    let (source, file) = backed_up(&sim.base_url()).await;
    // One more request, so a restore over the store would be visible.
    let (ok, stdout, stderr) = source
        .run(
            &["console", "--json"],
            "alice: /budget set-total 200 60000\n",
        )
        .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("\"event\":\"card\""), "{stdout}");
    let before = contents(&source.store());

    let stderr = source.refused(&["store", "restore", &file]).await;
    assert!(
        stderr.contains("is not empty (3 requests")
            && stderr.contains("nothing was changed")
            && stderr.contains("move the folder aside"),
        "{stderr}"
    );
    assert_eq!(contents(&source.store()), before);
}

/// The end line of a backup recomputed for `lines` (everything before it).
fn with_end_line(lines: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut body = String::new();
    for line in lines {
        body.push_str(line);
        body.push('\n');
    }
    let digest: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{body}{{\"end\":{{\"sha256\":\"{digest}\"}}}}\n")
}

/// A backup written before marks were backed up (format version 1: no marks, no count of
/// them) still restores.
#[tokio::test]
async fn a_version_1_backup_still_restores() {
    let sim = start_sim().await;
    let (source, file) = backed_up(&sim.base_url()).await;
    let good = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    assert!(lines[0].contains("\"version\":2") && lines[0].contains(",\"marks\":0"));
    let header = lines[0]
        .replace("\"version\":2", "\"version\":1")
        .replace(",\"marks\":0", "");
    let mut old = lines[..lines.len() - 1].to_vec();
    old[0] = &header;
    let v1 = source.file("v1.jsonl");
    std::fs::write(&v1, with_end_line(&old)).unwrap();

    let target = Place::new(&sim.base_url());
    let (ok, stdout, stderr) = target.run(&["store", "restore", &v1], "").await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("2 requests, 2 cards"), "{stdout}");
    assert_eq!(contents(&target.store()), contents(&source.store()));
}

#[tokio::test]
async fn restore_refuses_cut_or_edited_backups_and_leaves_the_store_empty() {
    let sim = start_sim().await;
    let (source, file) = backed_up(&sim.base_url()).await;
    let good = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let n = lines.len();
    let audit_line = lines.iter().position(|l| l.contains("\"bob\"")).unwrap();
    let pending_line = lines
        .iter()
        .position(|l| l.starts_with("{\"request\"") && l.contains("\"Pending\""))
        .unwrap();

    let cut_lines = lines[..n / 2].join("\n") + "\n";
    let cut_mid_line = good[..good.len() - 30].to_string();
    let no_end_line = lines[..n - 1].join("\n") + "\n";
    let edited_request = good.replace("more room", "more ROOM");
    let edited_audit = {
        let mut edited = lines.clone();
        let changed = lines[audit_line].replace("\"bob\"", "\"eve\"");
        edited[audit_line] = &changed;
        edited.join("\n") + "\n"
    };
    let edited_count = good.replacen("\"requests\":2", "\"requests\":1", 1);
    // An edit whose checksum was recomputed: the pending request claimed applied.
    let forged_state = {
        let changed = lines[pending_line].replace("\"Pending\"", "\"Applied\"");
        let mut edited = lines[..n - 1].to_vec();
        edited[pending_line] = &changed;
        with_end_line(&edited)
    };
    // A whole request (and its card) left out, the counts and checksum made to match.
    let forged_missing = {
        let applied: serde_json::Value = serde_json::from_str(
            lines
                .iter()
                .find(|l| l.starts_with("{\"request\"") && l.contains("\"Applied\""))
                .unwrap(),
        )
        .unwrap();
        let applied_id = applied["request"]["id"].as_str().unwrap();
        let header = lines[0]
            .replace("\"requests\":2", "\"requests\":1")
            .replace("\"cards\":2", "\"cards\":1");
        let mut kept = vec![header.as_str()];
        kept.extend(lines[1..n - 1].iter().copied().filter(|l| {
            let record: serde_json::Value = serde_json::from_str(l).unwrap();
            record["request"]["id"] != applied_id && record["card"]["request_id"] != applied_id
        }));
        assert_eq!(kept.len(), n - 3);
        with_end_line(&kept)
    };

    let target = Place::new(&sim.base_url());
    let bad = target.file("bad.jsonl");
    for (name, text, expected) in [
        ("cut between lines", cut_lines, "cut short"),
        (
            "cut inside a line",
            cut_mid_line,
            "not a complete backup record",
        ),
        ("end line removed", no_end_line, "without its end line"),
        ("request edited", edited_request, "checksum does not match"),
        ("audit entry edited", edited_audit, "audit chain is broken"),
        (
            "header count edited",
            edited_count,
            "checksum does not match",
        ),
        (
            "state forged",
            forged_state,
            "its last audit entry says Pending",
        ),
        (
            "request removed",
            forged_missing,
            "has audit entries but is missing",
        ),
        (
            "not a backup",
            "[wechatpay]\n".to_string(),
            "not a budget-bot store backup",
        ),
    ] {
        std::fs::write(&bad, text).unwrap();
        let stderr = target.refused(&["store", "restore", &bad]).await;
        assert!(
            stderr.contains(expected) && stderr.contains("nothing was restored"),
            "{name}: {stderr}"
        );
        let left = contents(&target.store());
        assert!(
            left.requests.is_empty() && left.audit.is_empty() && left.last.is_none(),
            "{name}: the store is still empty"
        );
    }
    // Still empty, so the good backup goes in.
    let (ok, _, stderr) = target.run(&["store", "restore", &file], "").await;
    assert!(ok, "{stderr}");
    assert_eq!(contents(&target.store()), contents(&source.store()));
}

/// A child process fed through its stdin, read through its stdout, killed if the test ends first.
fn spawn_piped(mut command: tokio::process::Command) -> tokio::process::Child {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// A `budget-bot console` that has opened the store and keeps it (its stdin stays open).
struct Holder {
    child: tokio::process::Child,
}

impl Holder {
    async fn start(place: &Place) -> Holder {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_budget-bot"));
        command
            .args(["--config", &place.config, "console", "--json"])
            .env_remove("RUST_LOG");
        let mut child = spawn_piped(command);
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(b"dave: /budget pending\n").await.unwrap();
        stdin.flush().await.unwrap();
        // A `done` event means the line was handled, so the store is open and locked.
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("\"event\":\"done\"") {
                    return;
                }
            }
            panic!("the console ended before answering");
        })
        .await
        .expect("the console answers within 60 s");
        Holder { child }
    }

    async fn stop(mut self) {
        drop(self.child.stdin.take());
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the console ends at the end of its input")
            .unwrap();
        assert!(status.success());
    }
}

#[tokio::test]
async fn backup_while_a_bot_holds_the_store_copies_its_folder() {
    let sim = start_sim().await;
    let source = populated(&sim.base_url()).await;
    let holder = Holder::start(&source).await;

    let stderr = source.refused(&["audit", "verify"]).await;
    assert!(
        stderr.contains("is locked by another process (is another budget-bot using it?)"),
        "{stderr}"
    );

    let file = source.file("backup.jsonl");
    let (ok, stdout, stderr) = source.run(&["store", "backup", &file], "").await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("in use by another process") && stdout.contains("folder was copied"),
        "{stdout}"
    );
    holder.stop().await;

    let target = Place::new(&sim.base_url());
    let (ok, _, stderr) = target.run(&["store", "restore", &file], "").await;
    assert!(ok, "{stderr}");
    assert_eq!(contents(&target.store()), contents(&source.store()));
}

const WRITER_ENV: &str = "BUDGET_BOT_TEST_WRITER_STORE";

/// Request `n` of the writer: `template` (made by the bot) under a new id and number.
fn nth_request(template: &ChangeRequest, n: u64) -> ChangeRequest {
    let id = RequestId::generate();
    ChangeRequest {
        out_request_no: OutRequestNo::new(format!("bb-{n}-{id}")).unwrap(),
        id,
        target: template.target + n as i64,
        created_at: template.created_at + n,
        state: RequestState::Pending,
        approvals: vec![],
        card: None,
        ..template.clone()
    }
}

/// Run by `backup_of_a_store_being_written_is_consistent` in a child process: holds the store
/// and writes to it as fast as it can (create, card, approve: three flushed writes per request)
/// until its stdin ends, printing a line per request.
#[test]
#[ignore = "helper process of backup_of_a_store_being_written_is_consistent"]
fn store_writer_helper() {
    let Ok(path) = std::env::var(WRITER_ENV) else {
        eprintln!(
            "store_writer_helper is a helper process; {WRITER_ENV} is not set, nothing to do"
        );
        return;
    };
    let store = Store::open(Path::new(&path)).unwrap();
    let template = store.last().unwrap().expect("the bot made a request");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    std::thread::spawn(move || {
        std::io::copy(&mut std::io::stdin(), &mut std::io::sink()).ok();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let mut n = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        n += 1;
        let request = nth_request(&template, n);
        let id = request.id.as_str().to_string();
        store
            .create(&request, AuditNote::new(n, "requested", None))
            .unwrap();
        store.index_card(&format!("m{n}"), &id).unwrap();
        store
            .update(&id, |r| {
                let mut next = r.clone();
                next.state = RequestState::Approved;
                Ok::<_, ()>((next, AuditNote::new(n, "approved", None), ()))
            })
            .unwrap()
            .unwrap();
        println!("wrote {n}");
    }
}

#[tokio::test]
async fn backup_of_a_store_being_written_is_consistent() {
    let sim = start_sim().await;
    let source = populated(&sim.base_url()).await;
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "store_writer_helper", "--ignored", "--nocapture"])
        .env(WRITER_ENV, source.store());
    let mut writer = spawn_piped(command);
    let mut progress = tokio::io::BufReader::new(writer.stdout.take().unwrap()).lines();
    let count = |line: Option<String>| {
        line.and_then(|l| l.strip_prefix("wrote ").and_then(|n| n.parse::<u64>().ok()))
    };
    // Wait until the writer is well under way, then keep reading its progress so it never
    // blocks on a full pipe.
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(progress.next_line().await.unwrap()).unwrap_or(0) < 50 {
        assert!(Instant::now() < deadline, "the writer makes progress");
    }
    let drain = tokio::spawn(async move {
        let mut last = 0;
        while let Ok(Some(line)) = progress.next_line().await {
            last = count(Some(line)).unwrap_or(last);
        }
        last
    });

    let mut copies = Vec::new();
    for round in 0..4 {
        let file = source.file(&format!("backup-{round}.jsonl"));
        let (ok, stdout, stderr) = source.run(&["store", "backup", &file], "").await;
        assert!(ok, "round {round}: {stderr}");
        assert!(stdout.contains("folder was copied"), "{stdout}");
        copies.push(stdout);

        let target = Place::new(&sim.base_url());
        let (ok, stdout, stderr) = target.run(&["store", "restore", &file], "").await;
        assert!(ok, "round {round}: {stderr}");
        assert!(stdout.contains("hash chain intact"), "{stdout}");
        let restored = contents(&target.store());
        // The writer's requests come after the bot's two (their created_at is the template's + n).
        let by_writer = &restored.requests[2..];
        assert!(by_writer.len() >= 50, "round {round}: {}", by_writer.len());
        assert!(
            by_writer
                .iter()
                .all(|r| r.state == RequestState::Approved || Some(r) == restored.last.as_ref()),
            "round {round}: every request but the newest was approved in the same run"
        );
    }
    drop(writer.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(60), writer.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let total = drain.await.unwrap();
    eprintln!("writer wrote {total} requests; backups: {copies:#?}");
}

#[tokio::test]
async fn store_errors_say_what_happened_and_the_way_back_works() {
    let sim = start_sim().await;

    // No store yet: nothing to back up, and none is made.
    let place = Place::new(&sim.base_url());
    let stderr = place
        .refused(&["store", "backup", &place.file("b.jsonl")])
        .await;
    assert!(stderr.contains("there is no store at"), "{stderr}");
    assert!(!place.store().exists());

    // A file where the folder should be.
    std::fs::write(place.store(), "not a store").unwrap();
    let stderr = place.refused(&["audit", "verify"]).await;
    assert!(stderr.contains("is not a folder"), "{stderr}");
    assert!(!stderr.contains("another budget-bot"), "{stderr}");

    // A folder nobody may enter.
    let (place, file) = backed_up(&sim.base_url()).await;
    permission_denied_is_named(&place).await;

    // A store cut short.
    let before = contents(&place.store());
    std::fs::OpenOptions::new()
        .write(true)
        .open(place.store().join("db"))
        .unwrap()
        .set_len(100)
        .unwrap();
    let stderr = place.refused(&["audit", "verify"]).await;
    assert!(
        stderr.contains("is damaged")
            && stderr.contains("budget-bot store restore <backup file>")
            && stderr.contains("Move the folder aside"),
        "{stderr}"
    );
    assert!(!stderr.contains("another budget-bot"), "{stderr}");

    // The way back, as the message says it.
    std::fs::rename(place.store(), place.dir.path().join("store.sled.damaged")).unwrap();
    let (ok, _, stderr) = place.run(&["store", "restore", &file], "").await;
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = place.run(&["audit", "verify"], "").await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("hash chain intact"), "{stdout}");
    assert_eq!(contents(&place.store()), before);
}

/// `chmod 000` on the store folder. Permission checks do not apply to a privileged user
/// (root in CI): then the binary runs as `nobody` through `setpriv` where that exists, and
/// only if it cannot is the assertion skipped, with a note.
async fn permission_denied_is_named(place: &Place) {
    use std::os::unix::fs::PermissionsExt;
    let set_mode = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    set_mode(&place.store(), 0o000);
    let privileged = std::fs::read_dir(place.store()).is_ok();
    let (status, stderr) = if !privileged {
        let (ok, _, stderr) = place.run(&["audit", "verify"], "").await;
        (Some(ok), stderr)
    } else {
        // `nobody` must reach the config: open the folders above it to others (read only).
        set_mode(place.dir.path(), 0o755);
        set_mode(Path::new(&place.config), 0o644);
        let output = tokio::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_budget-bot"))
            .args(["--config", &place.config, "audit", "verify"])
            .env_remove("BUDGET_BOT_CONFIG")
            .output()
            .await;
        match output {
            Ok(out) if out.status.code().is_some_and(|c| c != 126 && c != 127) => (
                Some(out.status.success()),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
            _ => (None, String::new()),
        }
    };
    set_mode(&place.store(), 0o755);
    match status {
        Some(ok) => {
            assert!(!ok);
            assert!(stderr.contains("permission denied on the store"), "{stderr}");
            assert!(!stderr.contains("another budget-bot"), "{stderr}");
        }
        None => eprintln!(
            "note: running privileged and `setpriv` could not run budget-bot as nobody; the permission-denied assertion is skipped"
        ),
    }
}
