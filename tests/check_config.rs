//! `budget-bot check-config [--live] [--json]` through the binary, against the simulator and the
//! fake Discord: every wrong key is named with exit 1, a right config passes with exit 0, the
//! JSON says the same as the lines, and no output ever holds the token or the private key.

mod common;
mod support;

use std::path::{Path, PathBuf};

use budget_bot::sim::{test_keys, Fault, FaultMatch, Simulator};
use serde_json::Value;
use support::fake_discord::{
    FakeChannel, FakeConfig, FakeDiscord, APPROVALS_CHANNEL_ID, APPROVER_ROLE_ID, GUILD_ID,
    NOTIFICATIONS_CHANNEL_ID,
};

/// The bot token the fake requires; it must never be printed.
const TOKEN: &str = "MTAxNDk5NjI1NjgwNzQxMzg3Mg.GxYz12.secret-bot-token-value-0123456789";

struct World {
    sim: Simulator,
    fake: FakeDiscord,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl World {
    async fn new() -> World {
        Self::with_fake(FakeConfig::default()).await
    }

    async fn with_fake(fake: FakeConfig) -> World {
        let fake = FakeDiscord::start(FakeConfig {
            token: Some(TOKEN.into()),
            ..fake
        })
        .await;
        let sim = common::start_sim().await;
        let dir = tempfile::tempdir().unwrap();
        let config = common::write_config(
            dir.path(),
            &sim.base_url(),
            &support::discord_section(&fake),
        );
        World {
            sim,
            fake,
            dir,
            config,
        }
    }

    /// Replaces `from` with `to` in the config file (exactly once).
    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` is in the config once"
        );
        std::fs::write(&self.config, text.replacen(from, to, 1)).unwrap();
    }

    /// Runs `check-config` with `args`; returns (exit code, stdout), after asserting that no
    /// output holds a secret.
    async fn check(&self, args: &[&str]) -> (i32, String) {
        self.check_with_token(args, TOKEN).await
    }

    async fn check_with_token(&self, args: &[&str], token: &str) -> (i32, String) {
        let config = self.config.to_str().unwrap();
        let mut all = vec!["--config", config, "check-config"];
        all.extend_from_slice(args);
        let (status, stdout, stderr) = common::run_bin(&all, "", &[("DISCORD_TOKEN", token)]).await;
        assert_no_secret(&stdout, token);
        assert_no_secret(&stderr, token);
        (status.code().expect("exited"), stdout)
    }
}

/// Neither the bot token nor any line of the brand private key is in `output`.
fn assert_no_secret(output: &str, token: &str) {
    assert!(!output.contains(token), "the token is printed: {output}");
    assert!(!output.contains(TOKEN), "the token is printed: {output}");
    for line in test_keys::BRAND_PRIVATE_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
    {
        assert!(
            !output.contains(line),
            "the private key is printed: {output}"
        );
    }
}

/// The FAIL lines of `stdout`.
fn failures(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("FAIL ")).collect()
}

fn stock_reads(world: &World) -> usize {
    world
        .sim
        .handle()
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_config_passes_offline_and_live() {
    let world = World::new().await;

    let (code, stdout) = world.check(&[]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.lines().all(|l| l.starts_with("ok ")), "{stdout}");
    for name in [
        "config",
        "wechatpay.certificate_serial_no",
        "wechatpay.private_key_path",
        "wechatpay.wechatpay_public_key_path",
        "storage.path",
        "discord.approvals_channel_id",
        "discord.approver_role_ids[0]",
        "discord.token",
    ] {
        common::check_line(&stdout, name);
    }
    assert!(
        !stdout.contains("live"),
        "offline makes no live check: {stdout}"
    );
    assert_eq!(stock_reads(&world), 0, "offline reads nothing");
    assert!(world.fake.requests().is_empty(), "offline calls no Discord");

    let (code, stdout) = world.check(&["--live"]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.lines().all(|l| l.starts_with("ok ")), "{stdout}");
    for name in [
        "live wechatpay read of stocks[0] Spring sale (123)",
        "live wechatpay read of stocks[3] 200",
        "live discord token",
        "live discord.guild_id",
        "live discord.requester_role_ids[0]",
        "live discord.approver_role_ids[0]",
        "live discord.approvals_channel_id",
        "live discord.notifications_channel_id",
    ] {
        common::check_line(&stdout, name);
    }
    // One signed read per allow-listed stock, and only reads.
    assert_eq!(stock_reads(&world), common::stock_configs().len());
    assert_eq!(world.sim.handle().requests().len(), stock_reads(&world));
    let calls: Vec<String> = world
        .fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    for call in [
        "GET /users/@me".to_string(),
        format!("GET /guilds/{GUILD_ID}"),
        format!("GET /guilds/{GUILD_ID}/channels"),
    ] {
        assert!(calls.contains(&call), "{call} in {calls:?}");
    }
    assert!(
        calls.iter().all(|c| c.starts_with("GET ")),
        "the check changes nothing: {calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_certificate_serial_is_named() {
    let world = World::new().await;
    world.edit(
        test_keys::CERT_SERIAL,
        "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
    );
    // Offline it has the right shape: only the live read can tell.
    let (code, stdout) = world.check(&[]).await;
    assert_eq!(code, 0, "{stdout}");

    let (code, stdout) = world.check(&["--live"]).await;
    assert_eq!(code, 1, "{stdout}");
    let failed = failures(&stdout);
    assert_eq!(failed.len(), common::stock_configs().len(), "{stdout}");
    for fail in failed {
        assert!(
            fail.starts_with("FAIL live wechatpay read of stocks["),
            "{fail}"
        );
        assert!(
            fail.contains("SIGN_ERROR") && fail.contains("certificate_serial_no"),
            "{fail}"
        );
    }
    common::check_line(&stdout, "live discord token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_public_key_id_is_named() {
    let world = World::new().await;
    world.edit(
        test_keys::PUBLIC_KEY_ID,
        "PUB_KEY_ID_0000000000000000000000000000WRNG",
    );
    let (code, stdout) = world.check(&["--live"]).await;
    assert_eq!(code, 1, "{stdout}");
    let fail = common::check_line(&stdout, "live wechatpay read of stocks[1] 124");
    assert!(fail.starts_with("FAIL "), "{fail}");
    assert!(
        fail.contains("400 INVALID_REQUEST") && fail.contains("wechatpay_public_key_id"),
        "{fail}"
    );
    assert!(common::check_line(&stdout, "wechatpay.wechatpay_public_key_id").starts_with("ok "));
}

/// An answer signed under another key id, or with a signature the configured public key does
/// not verify, is never an `ok`: each is named against the key that would be wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_do_not_verify_are_named_against_the_public_key() {
    let world = World::new().await;
    let sim = world.sim.handle();
    sim.push_fault(FaultMatch::GetStock, Fault::WrongSerial);
    sim.push_fault(FaultMatch::GetStock, Fault::BadSignature);
    let (code, stdout) = world.check(&["--live"]).await;
    assert_eq!(code, 1, "{stdout}");
    let serial = common::check_line(
        &stdout,
        "live wechatpay read of stocks[0] Spring sale (123)",
    );
    assert!(
        serial.starts_with("FAIL ")
            && serial.contains("Wechatpay-Serial")
            && serial.contains("wechatpay_public_key_id"),
        "{serial}"
    );
    let signature = common::check_line(&stdout, "live wechatpay read of stocks[1] 124");
    assert!(
        signature.starts_with("FAIL ")
            && signature.contains("does not verify")
            && signature.contains("wechatpay_public_key_path"),
        "{signature}"
    );
    assert!(common::check_line(&stdout, "live wechatpay read of stocks[2] 125").starts_with("ok "));
    assert_eq!(sim.pending_faults(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_channel_and_a_role_the_guild_lacks_are_named() {
    let world = World::new().await;
    world.edit(
        &format!("approvals_channel_id = \"{APPROVALS_CHANNEL_ID}\""),
        "approvals_channel_id = \"444444444444444499\"",
    );
    world.edit(
        &format!("approver_role_ids = [\"{APPROVER_ROLE_ID}\"]"),
        &format!("approver_role_ids = [\"{APPROVER_ROLE_ID}\", \"555555555555555599\"]"),
    );
    let (code, stdout) = world.check(&["--live"]).await;
    assert_eq!(code, 1, "{stdout}");
    let mut failed = failures(&stdout);
    failed.sort_unstable();
    assert_eq!(failed.len(), 2, "{stdout}");
    assert!(
        failed[0].starts_with(
            "FAIL live discord.approvals_channel_id: channel 444444444444444499: guild"
        ) && failed[0].contains("no such channel"),
        "{stdout}"
    );
    assert!(
        failed[1].starts_with("FAIL live discord.approver_role_ids[1]: guild")
            && failed[1].contains("no role 555555555555555599"),
        "{stdout}"
    );
    assert!(common::check_line(&stdout, "live discord.approver_role_ids[0]").starts_with("ok "));
    assert!(
        common::check_line(&stdout, "live discord.notifications_channel_id").starts_with("ok ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_channel_and_a_channel_the_bot_may_not_post_in_are_named() {
    const VOICE: u64 = 444_444_444_444_444_404;
    let mut fake = FakeConfig::default();
    fake.channels.push(FakeChannel {
        kind: 2,
        ..FakeChannel::text(VOICE, "standup")
    });
    let notifications = fake
        .channels
        .iter_mut()
        .find(|c| c.id == NOTIFICATIONS_CHANNEL_ID)
        .unwrap();
    // SEND_MESSAGES denied to @everyone, which the bot is part of.
    notifications.everyone_deny = 1 << 11;
    let world = World::with_fake(fake).await;
    world.edit(
        &format!("approvals_channel_id = \"{APPROVALS_CHANNEL_ID}\""),
        &format!("approvals_channel_id = \"{VOICE}\""),
    );
    let (code, stdout) = world.check(&["--live"]).await;
    assert_eq!(code, 1, "{stdout}");
    let voice = common::check_line(&stdout, "live discord.approvals_channel_id");
    assert!(
        voice.contains("#standup is a voice channel, not a text channel"),
        "{voice}"
    );
    let muted = common::check_line(&stdout, "live discord.notifications_channel_id");
    assert!(
        muted.starts_with("FAIL ") && muted.contains("the bot lacks Send Messages"),
        "{muted}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_named_and_discord_is_asked_nothing_more() {
    let world = World::new().await;
    let wrong = "MTAxNDk5NjI1NjgwNzQxMzg3Mg.GxYz12.some-other-token-9876543210";
    let (code, stdout) = world.check_with_token(&["--live"], wrong).await;
    assert_eq!(code, 1, "{stdout}");
    let fail = common::check_line(&stdout, "live discord token");
    assert!(fail.starts_with("FAIL ") && fail.contains("401"), "{fail}");
    assert_eq!(failures(&stdout).len(), 1, "{stdout}");
    assert_eq!(
        world.fake.requests().len(),
        1,
        "no call after a refused token (Discord bans repeated invalid calls)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guild_the_bot_is_not_in_is_named() {
    let world = World::new().await;
    world.edit(
        &format!("guild_id = \"{GUILD_ID}\""),
        "guild_id = \"333333333333333399\"",
    );
    let (code, stdout) = world.check(&["--live"]).await;
    assert_eq!(code, 1, "{stdout}");
    let fail = common::check_line(&stdout, "live discord.guild_id");
    assert!(
        fail.starts_with(
            "FAIL live discord.guild_id: guild 333333333333333399 cannot be read: HTTP 404"
        ) && fail.contains("Unknown Guild"),
        "{fail}"
    );
    assert_eq!(failures(&stdout).len(), 1, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_says_the_same_as_the_lines() {
    let world = World::new().await;
    world.edit(
        &format!("approver_role_ids = [\"{APPROVER_ROLE_ID}\"]"),
        "approver_role_ids = [\"555555555555555599\"]",
    );
    let (text_code, text) = world.check(&["--live"]).await;
    let (json_code, json) = world.check(&["--live", "--json"]).await;
    assert_eq!((text_code, json_code), (1, 1));
    let report: Value = serde_json::from_str(json.trim()).expect("one JSON object");
    assert_eq!(report["ok"], false);
    assert_eq!(report["live"], true);
    let checks = report["checks"].as_array().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(checks.len(), lines.len(), "{json}\n{text}");
    for (check, line) in checks.iter().zip(lines) {
        let name = check["check"].as_str().unwrap();
        let expected = if check["ok"] == true {
            assert!(check.get("reason").is_none(), "{check}");
            format!("ok {name}")
        } else {
            format!(
                "FAIL {name}: {}. {}",
                check["reason"].as_str().unwrap(),
                check["fix"].as_str().unwrap()
            )
        };
        assert_eq!(line, expected);
    }
    assert_eq!(
        checks.iter().filter(|c| c["ok"] == false).count(),
        1,
        "{json}"
    );

    // All right: ok is true and the exit status 0.
    world.edit(
        "[\"555555555555555599\"]",
        &format!("[\"{APPROVER_ROLE_ID}\"]"),
    );
    let (code, json) = world.check(&["--json"]).await;
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(
        (report["ok"].clone(), report["live"].clone()),
        (true.into(), false.into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_does_not_parse_names_the_key() {
    let world = World::new().await;
    world.edit(
        &format!("brand_id = \"{}\"", test_keys::BRAND_ID),
        "brand_id = 1234567890",
    );
    for args in [&[][..], &["--live"][..]] {
        let (code, stdout) = world.check(args).await;
        assert_eq!(code, 1, "{stdout}");
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(stdout.starts_with("FAIL config: "), "{stdout}");
        assert!(stdout.contains("key `wechatpay.brand_id`"), "{stdout}");
        assert!(stdout.contains("line 3"), "{stdout}");
    }
    let (code, json) = world.check(&["--json"]).await;
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(report["checks"][0]["check"], "config");
    assert!(report["checks"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("wechatpay.brand_id"));
    assert_eq!(stock_reads(&world), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_files_of_the_wrong_kind_and_an_unwritable_store_are_named_offline() {
    let world = World::new().await;
    world.edit("brand_apiclient_key.pem", "wechatpay_pub.pem");
    std::fs::write(world.dir.path().join("a-file"), "not a folder").unwrap();
    world.edit("path = \"store.sled\"", "path = \"a-file/store.sled\"");
    let (code, stdout) = world.check(&["--live"]).await;
    assert_eq!(code, 1, "{stdout}");
    let key = common::check_line(&stdout, "wechatpay.private_key_path");
    assert!(
        key.starts_with("FAIL ") && key.contains("holds a public key"),
        "{key}"
    );
    let store = common::check_line(&stdout, "storage.path");
    assert!(
        store.starts_with("FAIL ") && store.contains("is a file, not a folder"),
        "{store}"
    );
    // Without a key there is nothing to sign with: said once, and nothing is sent.
    assert!(
        common::check_line(&stdout, "live wechatpay").starts_with("FAIL live wechatpay: not tried")
    );
    assert_eq!(stock_reads(&world), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_of_a_running_bot_is_checked_without_opening_it() {
    let world = World::new().await;
    let path = world.dir.path().join("store.sled");
    // Held as a running bot holds it: sled locks it against a second opener.
    let _held = budget_bot::store::Store::open(&path).unwrap();
    let (code, stdout) = world.check(&[]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(common::check_line(&stdout, "storage.path").starts_with("ok "));
    let left: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("check"))
        .collect();
    assert!(left.is_empty(), "the probe file is removed: {left:?}");
    assert!(Path::new(&path).is_dir());
}
