//! `budget-bot run` as an operator runs it: a child process against the fake Discord, its
//! stderr collected as it is written, stopped by SIGTERM or killed; and the chat steps the
//! process tests share (Bob requests, Alice approves, the cards come to show Applied).
#![allow(dead_code)]

use std::path::Path;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::AsyncReadExt;

use super::fake_discord::{FakeDiscord, ALICE_ID, APPROVALS_CHANNEL_ID, BOB_ID};

pub const WAIT: Duration = Duration::from_secs(20);

/// What issue 7 requires: `run` is gone within this long after SIGTERM.
pub const STOP_LIMIT: Duration = Duration::from_secs(10);

/// The bot token every process test gives `run`.
pub const TOKEN: &str = "fake-token";

/// One `budget-bot run` process; its log is collected as it is written.
pub struct Bot {
    child: tokio::process::Child,
    log: Arc<Mutex<String>>,
    reader: tokio::task::JoinHandle<()>,
}

/// How a process ended: when, with what status, and its log.
pub struct Ended {
    pub took: Duration,
    pub status: ExitStatus,
    pub log: String,
}

impl Ended {
    /// Status 0, within [`STOP_LIMIT`], saying it shut down.
    pub fn assert_clean_stop(&self) {
        assert!(self.status.success(), "{:?}: {}", self.status, self.log);
        assert!(self.took < STOP_LIMIT, "took {:?}: {}", self.took, self.log);
        assert!(self.log.contains("shutting down"), "{}", self.log);
    }
}

impl Bot {
    pub fn start(config: &Path) -> Bot {
        Self::start_with(config, &[])
    }

    /// With these environment variables set too (none of RUST_LOG, BUDGET_BOT_CONFIG and
    /// BUDGET_BOT_LOG_FORMAT is inherited).
    pub fn start_with(config: &Path, envs: &[(&str, &str)]) -> Bot {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_budget-bot"));
        command
            .args(["--config", config.to_str().unwrap(), "run"])
            .env("DISCORD_TOKEN", TOKEN)
            .env_remove("RUST_LOG")
            .env_remove("BUDGET_BOT_CONFIG")
            .env_remove("BUDGET_BOT_LOG_FORMAT")
            .envs(envs.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the binary runs");
        let mut stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Bot { child, log, reader }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit (SIGKILL after [`WAIT`], then fails).
    pub async fn terminate(self) -> Ended {
        let pid = self.child.id().expect("still running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        self.wait_exit().await
    }

    /// Kills the process with SIGKILL, as a crash or an OOM kill would.
    pub async fn kill(mut self) -> Ended {
        self.child.start_kill().unwrap();
        self.wait_exit().await
    }

    async fn wait_exit(mut self) -> Ended {
        let since = Instant::now();
        let status = match tokio::time::timeout(WAIT, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => {
                let _ = self.child.start_kill();
                let _ = self.child.wait().await;
                panic!(
                    "still running {WAIT:?} after the signal; log:\n{}",
                    self.log.lock().unwrap()
                );
            }
        };
        let took = since.elapsed();
        let _ = self.reader.await;
        let log = self.log.lock().unwrap().clone();
        Ended { took, status, log }
    }
}

/// Bob requests `subcommand stock limit`; returns the id of the card that appears for it.
pub async fn request(fake: &FakeDiscord, subcommand: &str, stock: &str, limit: i64) -> u64 {
    let before = fake.messages_in(APPROVALS_CHANNEL_ID).len();
    let it = fake
        .send_interaction_command(
            BOB_ID,
            "budget",
            subcommand,
            vec![("stock", json!(stock)), ("limit", json!(limit))],
        )
        .await;
    fake.wait_until("the requester's reply", WAIT, |f| {
        f.original_response(&it)
            .and_then(|m| m["content"].as_str().map(|c| c.contains("Card: ")))
            .unwrap_or(false)
    })
    .await
    .unwrap();
    let cards = fake.messages_in(APPROVALS_CHANNEL_ID);
    assert_eq!(cards.len(), before + 1);
    cards[before]["id"].as_str().unwrap().parse().unwrap()
}

/// Alice clicks Approve on a card.
pub async fn approve(fake: &FakeDiscord, card: u64) {
    let message = fake.message(card).unwrap();
    let approve = message["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(approve.ends_with(":approve"), "{approve}");
    fake.send_component_click(ALICE_ID, card, &approve).await;
}

pub fn description(fake: &FakeDiscord, card: u64) -> String {
    fake.message(card)
        .and_then(|m| m["embeds"][0]["description"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub async fn wait_applied_cards(fake: &FakeDiscord, cards: &[u64]) {
    fake.wait_until("every card to show Applied", WAIT, |f| {
        cards
            .iter()
            .all(|c| description(f, *c).contains("Status: Applied"))
    })
    .await
    .unwrap();
}
