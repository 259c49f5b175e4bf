//! Console input that is not a short, clean line: bytes that are not UTF-8, over-long lines,
//! huge or hostile words echoed back. Each bad line is refused on its own, every echo is bounded
//! and defused, and the lines after it are still handled (approvals included).

mod common;

use std::time::Duration;

use budget_bot::chat::console::MAX_LINE_BYTES;
use budget_bot::domain::request::RequestState;
use budget_bot::domain::text::is_unsafe_char;
use common::{of, Harness};
use serde_json::Value;

const HOUR: Duration = Duration::from_secs(3600);

/// Runs `input` through `Console::run` to its end and returns every event.
async fn run(h: &Harness, input: &[u8]) -> Vec<Value> {
    h.out.take_events();
    h.console
        .run(input)
        .await
        .expect("bad lines do not end the session");
    h.out.take_events()
}

fn texts<'a>(events: &'a [Value], kind: &str) -> Vec<&'a str> {
    of(events, kind)
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

/// The request id on the one card in `events`.
fn card_id(events: &[Value]) -> String {
    let cards = of(events, "card");
    assert_eq!(cards.len(), 1, "{events:?}");
    cards[0]["request_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_line_that_is_not_utf8_is_refused_and_later_lines_still_run() {
    let h = Harness::new(1, HOUR).await;
    let mut input = b"alice: /budget set-daily 123 20000 weekend push\n".to_vec();
    input.extend_from_slice(b"bob: click approve l\xFFast\n");
    input.extend_from_slice(b"bob: click approve last\r\n");
    input.extend_from_slice(b"dave: /budget show 123");
    let events = run(&h, &input).await;

    let errors = texts(&events, "error");
    assert_eq!(errors.len(), 1, "{events:?}");
    assert!(
        errors[0].contains("Line 2 is not valid UTF-8"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("ignored"), "{}", errors[0]);
    // Every line is closed, the refused one included, and the order is kept.
    assert_eq!(of(&events, "done").len(), 4, "{events:?}");
    let error_at = events.iter().position(|e| e["event"] == "error").unwrap();
    let done_at: Vec<usize> = (0..events.len())
        .filter(|&i| events[i]["event"] == "done")
        .collect();
    assert!(done_at[0] < error_at && error_at < done_at[1], "{events:?}");

    let id = card_id(&events);
    assert_eq!(h.state(&id), RequestState::Applied);
    assert_eq!(h.sends_of(&id), 1);
    assert_eq!(h.daily_limit("123"), Some(20_000));
    let show = texts(&events, "reply");
    assert!(show.iter().any(|t| t.contains("20,000")), "{show:?}");
}

#[tokio::test]
async fn an_over_long_line_is_refused_without_being_run() {
    let h = Harness::new(1, HOUR).await;
    let id = card_id(
        &h.line("alice: /budget set-daily 123 20000 weekend push")
            .await,
    );
    // A valid approval padded past the limit: read as a command it would approve.
    let mut input = b"bob: click approve last".to_vec();
    input.resize(MAX_LINE_BYTES + 1, b' ');
    input.push(b'\n');
    let events = run(&h, &input).await;
    let errors = texts(&events, "error");
    assert_eq!(errors.len(), 1, "{events:?}");
    assert!(
        errors[0].contains(&format!("is {} bytes long", MAX_LINE_BYTES + 1)),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("ignored"), "{}", errors[0]);
    assert_eq!(of(&events, "done").len(), 1, "{events:?}");
    assert_eq!(h.state(&id), RequestState::Pending);
    assert_eq!(h.sends_of(&id), 0);

    // Exactly at the limit (a `\r\n` ending not counted) is still a line.
    let mut input = b"bob: click approve last".to_vec();
    input.resize(MAX_LINE_BYTES, b' ');
    input.extend_from_slice(b"\r\n");
    let events = run(&h, &input).await;
    assert!(of(&events, "error").is_empty(), "{events:?}");
    assert_eq!(h.state(&id), RequestState::Applied);
}

#[tokio::test]
async fn a_megabyte_line_costs_a_few_hundred_bytes_of_output() {
    let h = Harness::new(1, HOUR).await;
    let mut input = b"alice: /budget set-daily 123 20000 weekend push\n".to_vec();
    input.extend_from_slice(b"alice: ");
    input.extend(std::iter::repeat_n(b'x', 1 << 20));
    input.extend_from_slice(b"\nbob: react \xE2\x9C\x85 last\n");
    h.out.take_events();
    h.console.run(&input[..]).await.unwrap();
    let bytes = h.out.0.lock().unwrap().len();
    let events = h.out.take_events();
    let id = card_id(&events);
    assert_eq!(h.state(&id), RequestState::Applied);
    // The card, its edit, the notifications and the request's reply are a few KB; the 1 MB line
    // adds one short error and a bounded `done`.
    assert!(bytes < 16 * 1024, "{bytes} bytes of output");
    let long_done = of(&events, "done")[1]["text"].as_str().unwrap();
    assert!(long_done.chars().count() < 400, "{long_done}");
    assert!(long_done.starts_with("alice: xxx"), "{long_done}");
    assert!(
        long_done.ends_with(&format!("… [cut: {} bytes in all]", 7 + (1 << 20))),
        "{long_done}"
    );
}

#[tokio::test]
async fn every_echo_of_a_line_is_bounded_and_defused() {
    let h = Harness::new(1, HOUR).await;
    let long = "y".repeat(60_000);
    let hostile = "\u{202E}evil\u{0}\u{1b}[2J\u{2066}";
    for line in [
        format!("alice: {long}{hostile}"),
        format!("{long}{hostile}: hi"),
        format!("bob: react {long}{hostile} last"),
        format!("bob: click {long}{hostile} last"),
        format!("bob: click approve {long}{hostile}"),
        format!("bob: react ✅ {hostile}{long}"),
        format!("alice: /budget cancel {long}{hostile}"),
        format!("alice: /budget show {hostile}{long}"),
        format!("alice: /budget set-daily 123 {long}{hostile}"),
        format!("alice: /budget frob{hostile}{long}"),
    ] {
        let events = h.line(&line).await;
        let output = events
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            output.len() < 2_000,
            "{} bytes for {:?}…: {output:.300}",
            output.len(),
            line.chars().take(20).collect::<String>()
        );
        for event in &events {
            for field in ["text", "to"] {
                if let Some(text) = event[field].as_str() {
                    assert!(
                        !text.chars().any(|c| is_unsafe_char(c) && c != '\n'),
                        "{field} of {event}"
                    );
                }
            }
        }
    }
}
