//! Where requests go: a `base_url` with a path prefix (a proxy that forwards the path
//! unchanged) signs the path it sends, and a primary host that cannot be reached (refused, or
//! silent past the timeout) fails over to the backup with the same body, while an HTTP error
//! from the primary does not. Every address is on 127.0.0.1: the "down" primaries are local
//! ports that refuse or never answer.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use budget_bot::config::Config;
use budget_bot::sim::{test_keys, Fault, FaultMatch};
use budget_bot::store::Store;
use budget_bot::wechatpay::{
    ClientSettings, CouponApi, OutRequestNo, StockKey, UpdateBudgetRequest, UpdateMode,
    WechatPayClient,
};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use common::{of, run_bin, start_sim, write_config};

const PC: &str = "200000001";
const STOCK: &str = "123";

fn key() -> StockKey {
    StockKey::new(PC, STOCK)
}

/// Raises stock 123's total limit from 100,000 to 160,000 with `out_request_no` `no` through
/// `client`, checks that the verified answer shows it, and returns the request sent.
async fn raise_123(client: &WechatPayClient, no: &str) -> UpdateBudgetRequest {
    let request = UpdateBudgetRequest::new(
        OutRequestNo::new(no).unwrap(),
        UpdateMode::MaxCount,
        100_000,
        160_000,
    );
    let answer = client.update_budget(&key(), &request).await;
    assert_eq!(
        answer
            .map(|r| r.value.max_count())
            .map_err(|e| e.to_string()),
        Ok(Some(160_000))
    );
    request
}

/// Behind a proxy mounted at `/wxpay` that forwards the path unchanged, the API sees
/// `/wxpay/brand/...`, so that is what the signature must cover (spec §2.2: the request-target
/// on the wire). Signing `/brand/...` alone gets 401 SIGN_ERROR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_with_a_path_signs_the_path_it_sends() {
    let sim = start_sim().await;
    let handle = sim.handle();
    handle.mount_at("/wxpay");
    for base_url in [
        format!("{}/wxpay", sim.base_url()),
        format!("{}/wxpay/", sim.base_url()),
    ] {
        let client = common::client(base_url.clone());
        let read = client.get_stock(&key()).await;
        assert_eq!(
            read.map(|r| r.value.stock_id).map_err(|e| e.to_string()),
            Ok(STOCK.to_owned()),
            "{base_url}"
        );
    }
    let client = common::client(format!("{}/wxpay", sim.base_url()));
    raise_123(&client, "bb-prefixed-1").await;
    assert_eq!(handle.applied_count(), 1);
    let log = handle.requests();
    assert!(
        log.iter().all(|r| r.path.starts_with("/wxpay/brand/")),
        "{log:?}"
    );
    assert!(log.iter().all(|r| r.status == Some(200)), "{log:?}");

    // The prefix is really required: the simulator refuses the bare path.
    let bare = common::client(sim.base_url());
    let err = bare.get_stock(&key()).await.expect_err("outside the mount");
    assert_eq!(err.code(), Some("NOT_FOUND"), "{err}");
}

/// `http://127.0.0.1:PORT` where nothing listens: the port was bound and released, so a
/// connection is refused at once.
async fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A host that accepts connections and reads requests but never answers; everything it
/// received is kept.
async fn silent_host() -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = received.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    keep.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    (url, received)
}

/// A host in front of `target` that forwards each request to it and throws its answer away:
/// the API did the work, but the client hears nothing.
async fn answer_swallowing_host(target: SocketAddr) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(target).await else {
                    return;
                };
                let (mut from_client, _to_client) = inbound.split();
                let (mut from_api, mut to_api) = outbound.split();
                let mut nowhere = tokio::io::sink();
                let _ = tokio::join!(
                    tokio::io::copy(&mut from_client, &mut to_api),
                    tokio::io::copy(&mut from_api, &mut nowhere),
                );
            });
        }
    });
    url
}

fn client(primary: String, backup: Option<String>, request_timeout: Duration) -> WechatPayClient {
    WechatPayClient::new(
        test_keys::brand_signer(),
        test_keys::response_verifier(),
        ClientSettings {
            base_url: primary,
            backup_base_url: backup,
            connect_timeout: Duration::from_secs(2),
            request_timeout,
            retry_backoff: Duration::from_millis(20),
            ..ClientSettings::default()
        },
    )
    .unwrap()
}

/// Polls `condition` every 10 ms until it holds or `within` passes.
async fn eventually(within: Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}

/// `[wechatpay] backup_base_url` set in a config for the binary.
fn config_with_backup(dir: &std::path::Path, primary: &str, backup: &str) -> String {
    let path = write_config(dir, primary, "");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "brand_id",
        &format!("backup_base_url = \"{backup}\"\nbrand_id"),
        1,
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// With the primary refusing connections, `show` reads the stock from the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_reads_from_the_backup_when_the_primary_refuses() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_backup(dir.path(), &refusing_url().await, &sim.base_url());
    let (status, stdout, stderr) = run_bin(&["--config", &config, "show", "123"], "", &[]).await;
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("SENDING") && stdout.contains("100,000"),
        "{stdout}"
    );
    assert!(
        stderr.contains("sending the same request to the backup host"),
        "the failover is logged: {stderr}"
    );
    assert_eq!(sim.handle().requests().len(), 1);
}

/// request → approve → apply in the console with the primary refusing every connection: each
/// call fails over, and the change is applied once, with the request's stored
/// `out_request_no` and body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_the_backup_is_applied_once() {
    let sim = start_sim().await;
    let handle = sim.handle();
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_backup(dir.path(), &refusing_url().await, &sim.base_url());
    let (status, stdout, stderr) = run_bin(
        &["--config", &config, "console", "--json"],
        "alice: /budget set-daily 123 20000\nbob: react ✅ last\n",
        &[],
    )
    .await;
    assert!(status.success(), "{stderr}");
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let id = of(&events, "card")[0]["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(stdout.contains("\"state\":\"Applied\""), "{stdout}");

    let applied = handle.applied_updates();
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0].to, 20_000);
    let stored = Store::open(&dir.path().join("store.sled"))
        .unwrap()
        .get(&id)
        .unwrap()
        .expect("the request is stored");
    assert_eq!(applied[0].out_request_no, stored.out_request_no.as_str());
    let posts: Vec<_> = handle
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(
        Some(String::from_utf8(posts[0].body.clone()).unwrap()),
        stored.update_body
    );
}

/// A primary that accepts and never answers times out, and the same request goes to the
/// backup: the very same body bytes, signed afresh (another nonce).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_primary_fails_over_with_the_same_body() {
    let sim = start_sim().await;
    let handle = sim.handle();
    let (primary, received) = silent_host().await;
    let client = client(primary, Some(sim.base_url()), Duration::from_millis(500));
    let request = raise_123(&client, "bb-silent-1").await;
    assert_eq!(handle.applied_count(), 1);
    let log = handle.requests();
    assert_eq!(log.len(), 1, "one request reached the backup: {log:?}");
    assert_eq!(log[0].body, request.body());

    let body = request.body().to_vec();
    let primary_got = || {
        let bytes = received.lock().unwrap();
        bytes
            .ends_with(&body)
            .then(|| String::from_utf8_lossy(&bytes).into_owned())
    };
    assert!(
        eventually(Duration::from_secs(5), || primary_got().is_some()).await,
        "the primary received the same body"
    );
    let nonce = log[0].auth_nonce.clone().expect("signed");
    assert!(!primary_got().unwrap().contains(&nonce), "signed afresh");
}

/// The primary does the work but its answer never arrives: the resend to the backup carries
/// the same `out_request_no` and body, so it is an idempotent replay, not a second change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_from_the_primary_is_replayed_by_the_backup_not_applied_twice() {
    let sim = start_sim().await;
    let handle = sim.handle();
    let primary = answer_swallowing_host(sim.local_addr()).await;
    let client = client(primary, Some(sim.base_url()), Duration::from_millis(500));
    let request = raise_123(&client, "bb-lost-answer-1").await;
    let log = handle.requests();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|r| r.body == request.body()), "{log:?}");
    assert_eq!(
        log.iter().map(|r| r.applied).collect::<Vec<_>>(),
        [true, false],
        "the primary's request applied, the backup's replayed"
    );
    assert_eq!(handle.applied_count(), 1);
}

/// An HTTP error is an answer, not a connectivity failure: a 500 from the primary is retried on
/// the primary, and the backup never hears of it (spec §7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_from_the_primary_does_not_fail_over() {
    let primary = start_sim().await;
    let backup = start_sim().await;
    primary
        .handle()
        .push_fault(FaultMatch::UpdateBudget, Fault::Status500);
    let client = client(
        primary.base_url(),
        Some(backup.base_url()),
        Duration::from_secs(5),
    );
    raise_123(&client, "bb-500-1").await;
    let statuses: Vec<_> = primary
        .handle()
        .requests()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(500), Some(200)]);
    assert!(backup.handle().requests().is_empty());
}

/// Without a backup host, an unreachable primary is retried as before and reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_backup_an_unreachable_primary_is_an_error() {
    let client = client(refusing_url().await, None, Duration::from_secs(1));
    let err = client.get_stock(&key()).await.expect_err("nothing answers");
    assert!(
        err.to_string()
            .contains("could not reach WeChat Pay after 4 attempts"),
        "{err}"
    );
}

/// `[wechatpay]` with `lines` added, as a config file parses it.
fn parse_wechatpay(lines: &str) -> Result<Config, String> {
    let text = format!(
        "[wechatpay]\n{lines}\nbrand_id = \"1234\"\ncertificate_serial_no = \"ABC\"\n\
         private_key_path = \"k.pem\"\nwechatpay_public_key_id = \"PUB_KEY_ID_1\"\n\
         wechatpay_public_key_path = \"p.pem\"\n"
    );
    Config::parse(&text, std::path::Path::new("c.toml")).map_err(|e| e.to_string())
}

#[test]
fn the_backup_host_defaults_only_for_the_official_primary() {
    let backup = |lines: &str| {
        let config = parse_wechatpay(lines).unwrap();
        config.wechatpay.unwrap().client_settings().backup_base_url
    };
    let api2 = Some("https://api2.mch.weixin.qq.com".to_owned());
    assert_eq!(backup(""), api2);
    assert_eq!(
        backup("base_url = \"https://api.mch.weixin.qq.com/\""),
        api2
    );
    assert_eq!(backup("base_url = \"https://proxy.example/wxpay\""), None);
    assert_eq!(backup("base_url = \"http://127.0.0.1:8080\""), None);
    assert_eq!(backup("backup_base_url = \"\""), None);
    assert_eq!(
        backup("base_url = \"https://a.example\"\nbackup_base_url = \"https://b.example/x\""),
        Some("https://b.example/x".to_owned())
    );
}

#[test]
fn base_urls_that_are_not_usable_are_refused_naming_the_line_and_key() {
    for (line, key, says) in [
        (
            "base_url = \"api.mch.weixin.qq.com\"",
            "base_url",
            "not a URL",
        ),
        (
            "base_url = \"https://p.example/w?x=1\"",
            "base_url",
            "query",
        ),
        (
            "backup_base_url = \"ftp://h\"",
            "backup_base_url",
            "http://",
        ),
        (
            "backup_base_url = \"https://api.mch.weixin.qq.com/\"",
            "backup_base_url",
            "same as base_url",
        ),
    ] {
        let err = parse_wechatpay(line).expect_err(line);
        assert!(
            err.contains(&format!("line 2, key `wechatpay.{key}`:")) && err.contains(says),
            "{line}: {err}"
        );
    }
    let err = parse_wechatpay("backup_base_url = \"ftp://h\"").unwrap_err();
    assert!(err.contains("write \"\" for no backup host"), "{err}");
}
