//! The binary from the outside: `show` against the simulator over real HTTP, config and key
//! errors (each placed by file, line and key), `audit verify` on an intact and a tampered log,
//! `demo`.

mod common;

use budget_bot::sim::{Fault, FaultMatch};
use budget_bot::store::{AuditEntry, Store};
use common::{run_bin, start_sim, write_config};

#[tokio::test]
async fn show_prints_live_limits_and_json() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.base_url(), "");
    let config = config.to_str().unwrap();

    let (status, stdout, stderr) = run_bin(&["--config", config, "show", "123"], "", &[]).await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("Spring sale (123): SENDING"), "{stdout}");
    assert!(
        stdout.contains("max_count): 100,000 | sent 4,200 | left 95,800"),
        "{stdout}"
    );
    assert!(stdout.contains("left today 9,690"), "{stdout}");
    assert!(stdout.contains("max_count_per_user): 1"), "{stdout}");

    let (status, stdout, _) = run_bin(&["--config", config, "show", "200"], "", &[]).await;
    assert!(status.success());
    assert!(stdout.contains("max_count_per_day): unlimited"), "{stdout}");

    let (status, stdout, stderr) = run_bin(
        &["--config", config, "show", "spring sale", "--json"],
        "",
        &[],
    )
    .await;
    assert!(status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is pure JSON");
    assert_eq!(json["stock_id"], "123");
    assert_eq!(json["stock_send_rule"]["max_count"], 100_000);
    assert_eq!(json["state"], "SENDING");
}

#[tokio::test]
async fn show_failures_exit_nonzero_with_one_line_reason() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = "\n[[stocks]]\nstock_id = \"777\"\nproduct_coupon_id = \"200000001\"\n";
    let config = write_config(dir.path(), &sim.base_url(), extra);
    let config = config.to_str().unwrap();

    let (status, stdout, stderr) = run_bin(&["--config", config, "show", "999"], "", &[]).await;
    assert!(!status.success());
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not on the allow-list"), "{stderr}");

    // Allow-listed but unknown to WeChat Pay: the API's code and Request-ID.
    let (status, _, stderr) = run_bin(&["--config", config, "show", "777"], "", &[]).await;
    assert!(!status.success());
    assert!(
        stderr.contains("404") && stderr.contains("Request-ID"),
        "{stderr}"
    );

    // An answer whose signature fails is never shown (every attempt gets a bad one).
    for _ in 0..4 {
        sim.handle()
            .push_fault(FaultMatch::GetStock, Fault::BadSignature);
    }
    let (status, stdout, stderr) = run_bin(&["--config", config, "show", "123"], "", &[]).await;
    assert!(!status.success());
    assert!(stdout.is_empty());
    assert!(stderr.contains("signature verification"), "{stderr}");
}

#[tokio::test]
async fn config_and_key_problems_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let (status, _, stderr) = run_bin(
        &["--config", missing.to_str().unwrap(), "show", "123"],
        "",
        &[],
    )
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains("does not exist") && stderr.contains("config.toml.example"),
        "{stderr}"
    );

    let config = write_config(
        dir.path(),
        "http://127.0.0.1:9",
        "\n[approval]\nttl = \"1h\"\nrequired_approvalz = 2\n",
    );
    let (status, _, stderr) = run_bin(
        &["--config", config.to_str().unwrap(), "show", "123"],
        "",
        &[],
    )
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains("required_approvalz") && stderr.contains("config.toml"),
        "{stderr}"
    );

    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("required_approvalz = 2\n", "")
        .replace("brand_apiclient_key.pem", "brand_apiclient_key_pkcs1.pem");
    std::fs::write(&config, text).unwrap();
    let (status, _, stderr) = run_bin(
        &["--config", config.to_str().unwrap(), "show", "123"],
        "",
        &[],
    )
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains("PKCS#1") && stderr.contains("openssl pkcs8"),
        "{stderr}"
    );
    let key = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/keys/brand_apiclient_key_pkcs1.pem"),
    )
    .unwrap();
    assert!(
        !stderr.contains(key.lines().nth(1).unwrap()),
        "no key material in errors"
    );
}

#[tokio::test]
async fn config_type_and_value_errors_name_the_file_the_line_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, key, starts) in [
        (
            "\n[approval]\nrequired_approvals = \"two\"\n",
            "approval.required_approvals",
            "required_approvals",
        ),
        (
            "\n[[stocks]]\nproduct_coupon_id = \"200000009\"\nstock_id = \"12/3\"\n",
            "stocks[0].stock_id",
            "stock_id = \"12/3\"",
        ),
    ] {
        let config = write_config(dir.path(), "http://127.0.0.1:9", extra);
        let text = std::fs::read_to_string(&config).unwrap();
        let line = text.lines().position(|l| l.starts_with(starts)).unwrap() + 1;
        let (status, _, stderr) = run_bin(
            &["--config", config.to_str().unwrap(), "audit", "verify"],
            "",
            &[],
        )
        .await;
        assert!(!status.success());
        assert!(
            stderr.contains(&format!(
                "config file {}, line {line}, key `{key}`:",
                config.display()
            )),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn audit_verify_detects_a_tampered_entry() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.base_url(), "");
    let config = config.to_str().unwrap();
    let (status, stdout, stderr) = run_bin(
        &["--config", config, "console", "--json"],
        "alice: /budget set-daily 123 20000\nbob: react ✅ last\n",
        &[],
    )
    .await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("\"state\":\"Applied\""), "{stdout}");

    let (status, stdout, _) = run_bin(&["--config", config, "audit", "verify"], "", &[]).await;
    assert!(status.success());
    assert!(stdout.contains("5 entries"), "{stdout}");
    let (status, stdout, _) = run_bin(
        &["--config", config, "audit", "show", "--stock", "123"],
        "",
        &[],
    )
    .await;
    assert!(status.success());
    assert_eq!(stdout.lines().count(), 5, "{stdout}");
    assert!(stdout.contains("applied by bot"), "{stdout}");

    // Tamper in a separate process: sled holds its folder lock until its process ends.
    let tamper = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tamper_audit_entry_3",
            "--ignored",
            "--nocapture",
        ])
        .env(TAMPER_ENV, dir.path().join("store.sled"))
        .output()
        .unwrap();
    // The child's own test-harness report stays out of this test's output (log parsers that
    // count `test result:` lines would otherwise see a phantom run), but is shown on failure.
    assert!(
        tamper.status.success(),
        "tamper helper failed:\n{}\n{}",
        String::from_utf8_lossy(&tamper.stdout),
        String::from_utf8_lossy(&tamper.stderr)
    );
    let (status, _, stderr) = run_bin(&["--config", config, "audit", "verify"], "", &[]).await;
    assert!(!status.success());
    assert!(stderr.contains("entry #3"), "{stderr}");
}

#[tokio::test]
async fn console_refuses_unknown_users_and_exits_zero() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.base_url(), "");
    let (status, stdout, _) = run_bin(
        &["--config", config.to_str().unwrap(), "console", "--json"],
        "# a comment\nmallory: /budget show 123\nnot a line\n",
        &[],
    )
    .await;
    assert!(status.success());
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.iter().filter(|e| e["event"] == "done").count(), 2);
    assert_eq!(events[0]["event"], "ephemeral");
    assert_eq!(events[0]["to"], "mallory");
    assert_eq!(events[2]["event"], "error");
}

#[tokio::test]
async fn demo_runs_with_no_config() {
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = run_bin(
        &[
            "--config",
            dir.path().join("absent.toml").to_str().unwrap(),
            "demo",
            "--json",
        ],
        "alice: /budget set-daily 123 20000\nbob: click approve last\ndave: /budget show 123\n",
        &[],
    )
    .await;
    assert!(status.success(), "{stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("budget-bot demo")
                || l.starts_with("Type")
                || l.starts_with("Also"))
            .count(),
        3
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("pure JSON"))
        .collect();
    assert!(events
        .iter()
        .any(|e| e["event"] == "card_update" && e["state"] == "Applied"));
    let show = events.iter().find(|e| e["event"] == "reply").unwrap();
    assert!(show["text"].as_str().unwrap().contains("20,000"));
}

/// `demo --lang zh-CN` speaks Chinese from its first line to its last reply.
#[tokio::test]
async fn demo_speaks_chinese_with_lang_zh_cn() {
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = run_bin(
        &[
            "--config",
            dir.path().join("absent.toml").to_str().unwrap(),
            "demo",
            "--lang",
            "zh-CN",
        ],
        "alice: /budget show 123\nbob: react ✅ last\n",
        &[],
    )
    .await;
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.starts_with("budget-bot demo：模拟的微信支付"),
        "{stdout}"
    );
    assert!(
        stdout.contains("发放次数总上限（max_count）：100,000"),
        "{stdout}"
    );
    assert!(stdout.contains("还没有任何申请"), "{stdout}");
    let (status, _, stderr) = run_bin(
        &["--config", "absent.toml", "demo", "--lang", "fr"],
        "",
        &[],
    )
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains("use \"en\", \"zh-CN\" or \"auto\""),
        "{stderr}"
    );
}

/// One byte that is not UTF-8 used to end the session with exit 1, dropping the approval after
/// it. Now that line alone is refused, in both `demo` and `console`.
#[tokio::test]
async fn a_line_that_is_not_utf8_does_not_end_the_session() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.base_url(), "");
    let config = config.to_str().unwrap();
    let absent = dir.path().join("absent.toml");
    let mut stdin = b"alice: /budget set-daily 123 20000\n".to_vec();
    stdin.extend_from_slice(b"bob: \xFF\xFE click approve last\n");
    stdin.extend_from_slice(b"bob: click approve last\ndave: /budget show 123\n");
    for args in [
        ["--config", absent.to_str().unwrap(), "demo", "--json"],
        ["--config", config, "console", "--json"],
    ] {
        let (status, stdout, stderr) = run_bin(&args, &stdin, &[]).await;
        assert!(status.success(), "{args:?}: {stderr}");
        let events: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("pure JSON"))
            .collect();
        let errors: Vec<&str> = events
            .iter()
            .filter(|e| e["event"] == "error")
            .map(|e| e["text"].as_str().unwrap())
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {events:?}");
        assert!(
            errors[0].contains("Line 2 is not valid UTF-8") && errors[0].contains("ignored"),
            "{}",
            errors[0]
        );
        assert_eq!(events.iter().filter(|e| e["event"] == "done").count(), 4);
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "card_update" && e["state"] == "Applied"),
            "{args:?}: {events:?}"
        );
        let show = events.iter().find(|e| e["event"] == "reply").unwrap();
        assert!(show["text"].as_str().unwrap().contains("20,000"), "{show}");
    }
}

const TAMPER_ENV: &str = "BUDGET_BOT_TEST_TAMPER_STORE";

/// Run by `audit_verify_detects_a_tampered_entry` in a child process: rewrites audit entry #3.
#[test]
#[ignore = "helper process of audit_verify_detects_a_tampered_entry"]
fn tamper_audit_entry_3() {
    // Only a helper: `audit_verify_detects_a_tampered_entry` runs it with TAMPER_ENV set and then
    // checks that `audit verify` reports entry #3, so a helper that tampered with nothing fails
    // that test. Run any other way (`cargo test -- --ignored` or `--include-ignored`) there is no
    // store to tamper with, and that must not fail the suite.
    let Ok(path) = std::env::var(TAMPER_ENV) else {
        eprintln!(
            "tamper_audit_entry_3 is a helper process; {TAMPER_ENV} is not set, nothing to do"
        );
        return;
    };
    let store = Store::open(std::path::Path::new(&path)).unwrap();
    let key = 3u64.to_be_bytes();
    let raw = store.raw_audit_tree().get(key).unwrap().unwrap();
    let mut entry: AuditEntry = serde_json::from_slice(&raw).unwrap();
    entry.actor.as_mut().unwrap().display = "mallory".into();
    store
        .raw_audit_tree()
        .insert(key, serde_json::to_vec(&entry).unwrap())
        .unwrap();
    store.flush().unwrap();
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.base_url(), "");
    let (status, _, stderr) = run_bin(
        &["--config", config.to_str().unwrap(), "console"],
        "alice: /budget set-daily 123 20000\nbob: react ✅ last\n",
        &[("RUST_LOG", "trace")],
    )
    .await;
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("WeChat Pay call"),
        "trace logs were written: {stderr}"
    );
    let key = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/keys/brand_apiclient_key.pem"),
    )
    .unwrap();
    for line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!stderr.contains(line), "private key material in logs");
    }
    for secret in [
        "PRIVATE KEY",
        "signature=\"",
        "WECHATPAY-BRAND-SHA256-RSA2048 brand_id",
    ] {
        assert!(!stderr.contains(secret), "{secret} in logs");
    }
    // The Request-ID of every call is logged.
    let logged_ids = stderr.matches("request_id=").count();
    assert_eq!(
        logged_ids, 3,
        "GET, GET, POST each logged with its Request-ID: {stderr}"
    );
}

/// README's steps: `budget-bot sim` in one process, `budget-bot show` with the committed
/// `testdata/sim.config.toml` in another.
#[tokio::test]
async fn readme_steps_sim_then_show() {
    use tokio::io::AsyncBufReadExt;
    let mut sim = tokio::process::Command::new(env!("CARGO_BIN_EXE_budget-bot"))
        .args(["sim", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(sim.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the simulator says where it listens")
        .unwrap()
        .unwrap();
    let base_url = first
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(root.join("testdata/sim.config.toml"))
        .unwrap()
        .replace("http://127.0.0.1:8080", &base_url)
        .replace(
            "\"keys/",
            &format!("\"{}/", root.join("testdata/keys").display()),
        )
        .replace("../data/sim-budget-bot.sled", "store.sled");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    let (status, stdout, stderr) = run_bin(
        &["--config", path.to_str().unwrap(), "show", "123"],
        "",
        &[],
    )
    .await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.starts_with("Spring sale (123): SENDING"), "{stdout}");
    sim.kill().await.unwrap();
}
