//! The console adapter: one `<user>: <text>` line at a time from stdin, each handled to the
//! end (API calls and posts included) before the next is read. Used by `budget-bot console`,
//! `budget-bot demo` and scripted tests. Output is readable text, or JSON lines with `--json`.
//!
//! Input is untrusted: a line that is not UTF-8 or longer than [`MAX_LINE_BYTES`] is refused on
//! its own (an error event, then the next line), and every piece of a line shown back is bounded
//! and stripped of control and bidi characters (see [`crate::domain::text`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::app::runtime::Runtime;
use crate::app::{
    messages, App, AppError, Input, Notice, NoticeKind, Notifier, NotifyError, Outcome,
};
use crate::config::Capability;
use crate::domain::policy::Decision;
use crate::domain::request::{Actor, CardRef, ChangeRequest, Via};
use crate::domain::text::{self, MAX_ECHO};
use crate::i18n::{Lang, Localized};
use crate::t;

use super::{decision_for_emoji, CardView, APPROVE_EMOJI, REJECT_EMOJI};

/// Channel names of the console's pretend chat.
pub const COMMAND_CHANNEL: &str = "budget";
pub const APPROVALS_CHANNEL: &str = "approvals";
pub const NOTIFICATIONS_CHANNEL: &str = "notifications";

/// Longest input line read, newline excluded. A command is one short line; a longer one is
/// refused without being parsed, and only this much of it is ever held in memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One output event. In JSON mode it is printed as one line and flushed at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub text: String,
}

impl Event {
    fn new(event: &'static str, channel: Option<&str>, text: impl Into<String>) -> Self {
        Self {
            event,
            channel: channel.map(str::to_owned),
            to: None,
            request_id: None,
            state: None,
            text: text.into(),
        }
    }

    fn about(mut self, request: &ChangeRequest) -> Self {
        self.request_id = Some(request.id.to_string());
        self.state = Some(request.state.to_string());
        self
    }
}

/// Where events go: stdout in the binary, a buffer in tests.
pub struct Output {
    json: bool,
    sink: Mutex<Box<dyn Write + Send>>,
    lang: Lang,
}

impl Output {
    pub fn new(json: bool, sink: Box<dyn Write + Send>) -> Self {
        Self {
            json,
            sink: Mutex::new(sink),
            lang: Lang::default(),
        }
    }

    /// Readable output framed in `lang` (JSON lines carry only the events' own text).
    pub fn with_lang(self, lang: Lang) -> Self {
        Self { lang, ..self }
    }

    pub fn stdout(json: bool) -> Self {
        Self::new(json, Box::new(std::io::stdout()))
    }

    pub fn emit(&self, event: Event) {
        let line = if self.json {
            serde_json::to_string(&event).expect("events serialize")
        } else {
            match human_text(self.lang, &event) {
                Some(text) => text,
                None => return,
            }
        };
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        // A closed stdout is not worth crashing the workflow over.
        let _ = writeln!(sink, "{line}");
        let _ = sink.flush();
    }
}

fn human_text(lang: Lang, event: &Event) -> Option<String> {
    let channel = event.channel.as_deref().unwrap_or("-");
    let text = event.text.replace('\n', "\n    ");
    let card = format!("\n    {text}");
    Some(match event.event {
        "reply" => t!(lang, "console-reply", channel = channel, text = text),
        "ephemeral" => t!(
            lang,
            "console-ephemeral",
            channel = channel,
            to = event.to.as_deref().unwrap_or("?"),
            text = text
        ),
        "card" => t!(lang, "console-card", channel = channel, text = card),
        "card_update" => t!(lang, "console-card-update", channel = channel, text = card),
        "notify" => format!("[#{channel}] {}", event.text),
        "error" => t!(lang, "console-error", text = event.text),
        _ => return None,
    })
}

/// The console's notifier: cards and notices become events.
pub struct ConsoleNotifier {
    out: Arc<Output>,
    /// The console users who may approve, or none.
    approvers: Vec<String>,
    lang: Lang,
}

impl ConsoleNotifier {
    pub fn new(out: Arc<Output>, users: &BTreeMap<String, Vec<Capability>>) -> Self {
        let approvers = users
            .iter()
            .filter(|(_, caps)| caps.contains(&Capability::Approver))
            .map(|(name, _)| name.clone())
            .collect();
        Self {
            out,
            approvers,
            lang: Lang::default(),
        }
    }

    /// Cards and notices in `lang` (the console has one reader's language: `[display]`).
    pub fn with_lang(self, lang: Lang) -> Self {
        Self { lang, ..self }
    }

    /// The approvers by name, as the card and reminders show them.
    fn approvers_text(&self) -> String {
        if self.approvers.is_empty() {
            messages::no_console_approvers(self.lang)
        } else {
            let names: Vec<&str> = self.approvers.iter().map(String::as_str).collect();
            messages::list(self.lang, &names)
        }
    }

    fn card_text(&self, request: &ChangeRequest) -> String {
        let lang = self.lang;
        let approvers = self.approvers_text();
        let expires = messages::time_text(lang, request.expires_at);
        let card = CardView::new(lang, request, &approvers, &expires);
        let mut text = card.text;
        if card.open {
            text.push('\n');
            text.push_str(&messages::console_card_prompt(
                lang,
                request,
                APPROVE_EMOJI,
                REJECT_EMOJI,
            ));
        }
        text
    }
}

#[async_trait]
impl Notifier for ConsoleNotifier {
    fn platform(&self) -> &'static str {
        "console"
    }

    async fn post_card(&self, request: &ChangeRequest) -> Result<CardRef, NotifyError> {
        self.out.emit(
            Event::new("card", Some(APPROVALS_CHANNEL), self.card_text(request)).about(request),
        );
        Ok(CardRef {
            channel_id: APPROVALS_CHANNEL.into(),
            message_id: format!("console-card-{}", request.id),
        })
    }

    async fn update_card(&self, request: &ChangeRequest) -> Result<(), NotifyError> {
        self.out.emit(
            Event::new(
                "card_update",
                Some(APPROVALS_CHANNEL),
                self.card_text(request),
            )
            .about(request),
        );
        Ok(())
    }

    async fn notify(&self, notice: &Notice) -> Result<(), NotifyError> {
        let mut event = match notice.kind {
            // To the approvers, by name.
            NoticeKind::Reminder => Event::new(
                "notify",
                Some(NOTIFICATIONS_CHANNEL),
                messages::reminder_to(
                    self.lang,
                    &self.approvers_text(),
                    notice.text.get(self.lang),
                ),
            ),
            _ => Event::new(
                "notify",
                Some(NOTIFICATIONS_CHANNEL),
                notice.text.get(self.lang),
            ),
        }
        .about(&notice.request);
        if notice.kind == NoticeKind::Expired {
            event.to = Some(notice.request.requester.display.clone());
        }
        self.out.emit(event);
        Ok(())
    }

    async fn alert(&self, text: &Localized) -> Result<(), NotifyError> {
        self.out.emit(Event::new(
            "notify",
            Some(NOTIFICATIONS_CHANNEL),
            text.get(self.lang),
        ));
        Ok(())
    }
}

/// The line-oriented adapter.
pub struct Console {
    runtime: Runtime,
    users: BTreeMap<String, Vec<Capability>>,
    out: Arc<Output>,
    lang: Lang,
}

impl Console {
    /// A console over an app whose interrupted work was already resumed.
    pub fn new(app: Arc<App>, users: BTreeMap<String, Vec<Capability>>, out: Arc<Output>) -> Self {
        Self::with_runtime(Runtime::new(app), users, out)
    }

    /// A console over a started runtime.
    pub fn with_runtime(
        runtime: Runtime,
        users: BTreeMap<String, Vec<Capability>>,
        out: Arc<Output>,
    ) -> Self {
        Self {
            runtime,
            users,
            out,
            lang: Lang::default(),
        }
    }

    /// Replies in `lang` (the console has one reader's language: `[display]`).
    pub fn with_lang(self, lang: Lang) -> Self {
        Self { lang, ..self }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Reads lines until end of input; each is finished before the next is read. A line that is
    /// not UTF-8 or is over [`MAX_LINE_BYTES`] gets an error event and a `done`, and reading goes
    /// on: one bad line must not drop the lines after it (an approval, say). Only a failure to
    /// read at all ends the session.
    pub async fn run<R: AsyncBufRead + Unpin>(&self, mut input: R) -> std::io::Result<()> {
        let mut number = 0u64;
        while let Some(line) = read_line(&mut input, MAX_LINE_BYTES).await? {
            number += 1;
            match line {
                Line::Text(bytes) => match String::from_utf8(bytes) {
                    Ok(line) => self.handle_line(&line).await,
                    Err(e) => {
                        let at = e.utf8_error().valid_up_to();
                        self.refuse_line(
                            text::echo(String::from_utf8_lossy(e.as_bytes()).trim()),
                            messages::line_not_utf8(self.lang, number, at + 1),
                        )
                    }
                },
                Line::TooLong { start, bytes } => {
                    // Only the start was kept, so the cut is counted here, in bytes.
                    let start: String = String::from_utf8_lossy(&start)
                        .chars()
                        .take(MAX_ECHO)
                        .collect();
                    self.refuse_line(
                        messages::line_cut(self.lang, &text::echo(start.trim()), bytes),
                        messages::line_too_long(self.lang, number, bytes, MAX_LINE_BYTES),
                    )
                }
            }
        }
        Ok(())
    }

    /// An error event for a line that is not handled at all, then its `done`.
    fn refuse_line(&self, done: String, why: String) {
        self.out.emit(Event::new("error", None, why));
        self.out.emit(Event::new("done", None, done));
    }

    /// Handles one input line and closes it with a `done` event (comments and blank lines
    /// produce nothing). The console has no clock of its own: the runtime's sweep runs before
    /// each line, so what expired or waits for a retry is settled before the line is read.
    pub async fn handle_line(&self, line: &str) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return;
        }
        for e in self.runtime.sweep().await {
            self.out.emit(Event::new("error", None, e.to_string()));
        }
        self.handle_input(line).await;
        self.out.emit(Event::new("done", None, text::echo(line)));
    }

    async fn handle_input(&self, line: &str) {
        let Some((user, text)) = line.split_once(':') else {
            self.out.emit(Event::new(
                "error",
                None,
                messages::console_line_hint(self.lang, APPROVE_EMOJI),
            ));
            return;
        };
        let (user, text) = (user.trim(), text.trim());
        let Some(caps) = self.users.get(user) else {
            let users: Vec<&str> = self.users.keys().map(String::as_str).collect();
            self.private(
                text::echo(user),
                messages::not_a_console_user(self.lang, user, &users),
            );
            return;
        };
        let actor = Actor::new(format!("console:{user}"), user, caps);
        let input = match parse_input(self.lang, text) {
            Ok(input) => input,
            Err(refusal) => return self.private(user.to_string(), refusal),
        };
        crate::ops::metrics::chat_event("console", input_kind(&input));
        match self.runtime.app().handle(&actor, input).await {
            Ok(outcome) => self.reply(user, &outcome),
            Err(e) => self.error(&e),
        }
    }

    fn error(&self, e: &AppError) {
        self.out.emit(Event::new("error", None, e.to_string()));
    }

    /// An ephemeral line to `to` (already made safe to show).
    fn private(&self, to: String, text: String) {
        let mut event = Event::new("ephemeral", Some(COMMAND_CHANNEL), text);
        event.to = Some(to);
        self.out.emit(event);
    }

    fn reply(&self, user: &str, outcome: &Outcome) {
        let private = outcome.is_private();
        let kind = if private { "ephemeral" } else { "reply" };
        let mut event = Event::new(
            kind,
            Some(COMMAND_CHANNEL),
            messages::outcome(self.lang, outcome),
        );
        if private {
            event.to = Some(user.to_string());
        }
        if let Some(request) = outcome.request() {
            event = event.about(request);
        }
        self.out.emit(event);
    }
}

/// A console line's text (after `user:`) as the app's input, or why it is none.
fn parse_input(lang: Lang, text: &str) -> Result<Input, String> {
    let decide = |request: &str, decision, via| Input::Decide {
        request: request.to_string(),
        decision,
        via,
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [first, ..] if first.starts_with('/') => Ok(Input::Text(text.to_string())),
        ["react", emoji, request] => match decision_for_emoji(emoji) {
            Some(decision) => Ok(decide(request, decision, Via::Reaction)),
            None => Err(messages::not_a_decision_emoji(
                lang,
                emoji,
                APPROVE_EMOJI,
                REJECT_EMOJI,
            )),
        },
        ["click", "approve", request] => Ok(decide(request, Decision::Approve, Via::Button)),
        ["click", "reject", request] => Ok(decide(request, Decision::Reject, Via::Button)),
        ["click", other, request] => Err(messages::not_a_button(lang, other, request)),
        _ => Err(messages::console_not_understood(lang, text, APPROVE_EMOJI)),
    }
}

/// The `kind` label of a console input, named as on the other platforms.
fn input_kind(input: &Input) -> &'static str {
    match input {
        Input::Text(_) | Input::Command(_) => "command",
        Input::Decide {
            via: Via::Button, ..
        } => "button",
        Input::Decide { .. } => "reaction",
    }
}

/// One line read by [`read_line`].
enum Line {
    /// The line's bytes, without the newline (or `\r\n`).
    Text(Vec<u8>),
    /// Over the limit: its first bytes (for the echo) and its full length.
    TooLong { start: Vec<u8>, bytes: usize },
}

/// Reads up to the next `\n` or end of input, holding at most `max` bytes of the line: the rest
/// of an over-long line is skipped as it streams by. `None` at end of input. (tokio's `lines()`
/// fails the whole stream on one invalid byte and reads lines of any length into memory.)
async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    max: usize,
) -> std::io::Result<Option<Line>> {
    // One byte over `max` is kept so that a `\r` before the newline does not count.
    let keep = max.saturating_add(1);
    let mut line = Vec::new();
    let mut bytes = 0usize;
    let mut last = None;
    let mut read_any = false;
    loop {
        let buf = input.fill_buf().await?;
        if buf.is_empty() {
            break;
        }
        read_any = true;
        let (chunk, used, ended) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        bytes += chunk.len();
        last = chunk.last().copied().or(last);
        let room = keep.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        input.consume(used);
        if ended {
            break;
        }
    }
    if !read_any {
        return Ok(None);
    }
    if last == Some(b'\r') {
        bytes -= 1;
        line.truncate(bytes);
    }
    Ok(Some(if bytes > max {
        // Enough bytes for MAX_ECHO characters of any script.
        line.truncate(MAX_ECHO * 4);
        Line::TooLong { start: line, bytes }
    } else {
        Line::Text(line)
    }))
}
