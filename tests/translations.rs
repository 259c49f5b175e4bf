//! The catalogues in `locales/` against each other and against the code: every message exists
//! in every language with the same placeholders, every id the code looks up exists, and a
//! Chinese conversation keeps Latin letters only where the issue allows them (ids, API field
//! names and upper-case values, Request-ID, command words and placeholders, user and stock
//! names, the user's own words).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use budget_bot::app::{messages, App, ManualClock};
use budget_bot::bootstrap::{demo_stocks, demo_users};
use budget_bot::chat::console::{Console, ConsoleNotifier, Output};
use budget_bot::config::ApprovalConfig;
use budget_bot::domain::command::SUBCOMMANDS;
use budget_bot::i18n::Lang;
use budget_bot::sim::{seeded_stocks, CannedAnswer, Fault, FaultMatch};
use budget_bot::store::Store;
use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};

/// Message id → the variables it uses, of every `.ftl` file in `dir`.
type Catalogue = BTreeMap<String, BTreeSet<String>>;

fn variables_of(pattern: &Pattern<&str>, into: &mut BTreeSet<String>) {
    fn inline(expression: &InlineExpression<&str>, into: &mut BTreeSet<String>) {
        match expression {
            InlineExpression::VariableReference { id } => {
                into.insert(id.name.to_string());
            }
            InlineExpression::Placeable { expression } => expr(expression, into),
            _ => {}
        }
    }
    fn expr(expression: &Expression<&str>, into: &mut BTreeSet<String>) {
        match expression {
            Expression::Inline(e) => inline(e, into),
            Expression::Select { selector, variants } => {
                inline(selector, into);
                for variant in variants {
                    variables_of(&variant.value, into);
                }
            }
        }
    }
    for element in &pattern.elements {
        if let PatternElement::Placeable { expression } = element {
            expr(expression, into);
        }
    }
}

fn catalogue(dir: &Path) -> Catalogue {
    let mut messages = Catalogue::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ftl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .ftl files in {}", dir.display());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let resource = fluent_syntax::parser::parse(text.as_str())
            .unwrap_or_else(|(_, errors)| panic!("{} does not parse: {errors:?}", file.display()));
        for entry in &resource.body {
            match entry {
                Entry::Message(message) => {
                    let mut vars = BTreeSet::new();
                    if let Some(value) = &message.value {
                        variables_of(value, &mut vars);
                    }
                    let id = message.id.name.to_string();
                    assert!(
                        messages.insert(id.clone(), vars).is_none(),
                        "{} defines `{id}` twice",
                        dir.display()
                    );
                }
                Entry::Junk { content } => panic!("{}: junk {content:?}", file.display()),
                _ => {}
            }
        }
    }
    messages
}

fn locales() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")
}

#[test]
fn every_message_exists_in_every_language_with_the_same_placeholders() {
    let english = catalogue(&locales().join(Lang::En.tag()));
    for lang in Lang::ALL {
        let other = catalogue(&locales().join(lang.tag()));
        let missing: Vec<_> = english
            .keys()
            .filter(|id| !other.contains_key(*id))
            .collect();
        let extra: Vec<_> = other
            .keys()
            .filter(|id| !english.contains_key(*id))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: missing {missing:?}, not in English {extra:?}",
            lang.tag()
        );
        for (id, vars) in &english {
            assert_eq!(
                &other[id],
                vars,
                "`{id}` in {} has other placeholders than in English",
                lang.tag()
            );
        }
    }
}

/// The literal ids the code passes to `t!(lang, "id", ...)` and `label(lang, "id")`.
fn ids_in_code() -> BTreeSet<String> {
    fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut ids = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // `t!(lang, "id", ..)`, `messages::label(lang, "id")`, the adapters' one-argument
        // shorthands `label("id")` / `word("id")`, and stored messages `Message::new("id")`.
        for opener in ["t!(", "label(", "word(", "Message::new("] {
            for (at, _) in text.match_indices(opener) {
                let before = text[..at].chars().next_back().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' {
                    continue;
                }
                let args = text[at + opener.len()..].trim_start();
                let second = args.find(',').map(|comma| args[comma + 1..].trim_start());
                let literal = args
                    .strip_prefix('"')
                    .or(second.and_then(|a| a.strip_prefix('"')));
                if let Some(literal) = literal {
                    ids.insert(literal[..literal.find('"').unwrap()].to_string());
                }
            }
        }
    }
    ids
}

#[test]
fn every_id_the_code_looks_up_is_in_the_catalogue() {
    let english = catalogue(&locales().join(Lang::En.tag()));
    let mut used = ids_in_code();
    assert!(used.len() > 100, "only {} ids found in src/", used.len());
    used.extend(SUBCOMMANDS.iter().map(|s| format!("help-about-{}", s.name)));
    let unknown: Vec<_> = used
        .iter()
        .filter(|id| !english.contains_key(*id))
        .collect();
    assert!(
        unknown.is_empty(),
        "looked up but in no catalogue: {unknown:?}"
    );
}

/// Latin words a Chinese reply may hold besides backquoted input, `<placeholders>`, quoted
/// examples and ids: the API's field names, command words, the demo's users, stock and reason.
const ALLOWED: &[&str] = &[
    "max_count",
    "max_count_per_day",
    "max_count_per_user",
    "stock_id",
    "Request-ID",
    "budget",
    "show",
    "set-daily",
    "set-total",
    "pending",
    "cancel",
    "history",
    "help",
    "react",
    "click",
    "approve",
    "reject",
    "last",
    "console.users",
    "UTF-8",
    "alice",
    "bob",
    "carol",
    "dave",
    "mallory",
    "Spring",
    "sale",
    "weekend",
    "push",
];

/// The Latin words of `text` that no rule allows.
fn stray_latin(text: &str) -> Vec<String> {
    let mut kept = String::new();
    let mut skip_until = None;
    for c in text.chars() {
        match skip_until {
            Some(end) if c == end => skip_until = None,
            Some(_) => {}
            // Backquoted input and command examples, placeholders, quoted stock names.
            None if c == '`' => skip_until = Some('`'),
            None if c == '<' => skip_until = Some('>'),
            None if c == '"' => skip_until = Some('"'),
            None => kept.push(c),
        }
    }
    kept.split(|c: char| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
        .map(|w| w.trim_matches(|c: char| ".-/".contains(c)))
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        // Upper-case API values (SENDING, INVALID_REQUEST), and ids and times: request ids,
        // Request-ID values and `09:00:00Z` all have a digit.
        .filter(|w| !w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .filter(|w| !ALLOWED.contains(w))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_checker_finds_english_words() {
    assert_eq!(
        stray_latin("批次 `abc` <stock> \"Spring sale\" SENDING"),
        Vec::<String>::new()
    );
    assert_eq!(stray_latin("批次 is unlimited"), vec!["is", "unlimited"]);
}

/// What the bot said since the last call (every event but the `done` echo of the input).
fn said_since(buffer: &common::Buffer) -> Vec<String> {
    buffer
        .take_events()
        .iter()
        .filter(|e| e["event"] != "done")
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect()
}

/// A Chinese conversation on the console: the README's demo plus refusals of every kind a
/// console line reaches.
#[tokio::test]
async fn a_chinese_conversation_has_no_stray_english() {
    let sim = common::start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let buffer = common::Buffer::default();
    let out = Arc::new(Output::new(true, Box::new(buffer.clone())));
    let app = Arc::new(App::new(
        demo_stocks(&seeded_stocks()),
        ApprovalConfig::default(),
        Arc::new(common::client(sim.base_url())),
        store.clone(),
        Arc::new(ConsoleNotifier::new(out.clone(), &demo_users()).with_lang(Lang::ZhCn)),
        Arc::new(ManualClock::new(common::T0)),
    ));
    let console = Console::new(app, demo_users(), out).with_lang(Lang::ZhCn);
    let lines = [
        "bob: react ✅ last",
        "alice: /budget show 123",
        "alice: /budget",
        "alice: /budget sho 123",
        "alice: /budget set-daily 123",
        "alice: /budget set-daily 123 many",
        "alice: /budget set-daily 123 20 000",
        "alice: /budget history 123 500",
        "alice: /budget show 999",
        "alice: /budget show \"Sprng sale\"",
        "alice: /budget set-daily 125 20000",
        "alice: /budget set-daily 123 10000",
        "alice: /budget set-total 123 100",
        "alice: /budget set-daily 200 5000",
        "dave: /budget set-daily 123 20000",
        "alice: /budget set-daily 123 20000 weekend push",
        "alice: /budget pending",
        "dave: react ✅ last",
        "bob: react ✅ abcdefgh",
        "bob: react ✅ last",
        "carol: react ❌ last",
        "dave: /budget history 123",
        "mallory: /budget pending",
        "bob: react 👍 last",
        "bob: click maybe last",
        "bob: hello",
        "no colon here",
        "alice: /budget help",
    ];
    let mut said = Vec::new();
    for line in lines {
        console.handle_line(line).await;
        said.extend(said_since(&buffer));
    }
    assert!(said.len() > lines.len(), "{said:?}");

    // WeChat Pay's technical failures, each on every attempt of a `show`: the reply names the
    // kind in Chinese (the detail is in the log).
    let failures = [
        (Fault::BadSignature, "签名无法用微信支付公钥验证"),
        (Fault::WrongSerial, "Wechatpay-Serial"),
        (Fault::StaleTimestamp, "时钟同步"),
        (Fault::TimestampHeader("soon".into()), "不是数字"),
        (
            Fault::Answer(CannedAnswer::gateway(200, "{}")),
            "缺少应答头",
        ),
        (
            Fault::Answer(CannedAnswer::api(200, "<html>not json</html>")),
            "无法解析",
        ),
        (Fault::DropConnection, "无法连接微信支付"),
        // The API's own message, too long to echo whole: kept as it came, the cut marked in
        // Chinese.
        (
            Fault::Answer(CannedAnswer::api(
                400,
                format!(
                    r#"{{"code":"INVALID_REQUEST","message":"{}"}}"#,
                    "错".repeat(350)
                ),
            )),
            "错…［已截断，还有 50 个字符］",
        ),
    ];
    for (fault, expected) in failures {
        for _ in 0..4 {
            sim.handle().push_fault(FaultMatch::GetStock, fault.clone());
        }
        console.handle_line("alice: /budget show 123").await;
        sim.handle().clear_faults();
        let replies = said_since(&buffer);
        assert!(
            replies.iter().any(|r| r.contains(expected)),
            "{expected} for {fault:?}: {replies:?}"
        );
        said.extend(replies);
    }
    // A change WeChat Pay refuses: the card and `history` give the stored reason in Chinese,
    // and `history` each entry's detail.
    console
        .handle_line("alice: /budget set-daily 123 30000 weekend push")
        .await;
    sim.handle().push_fault(
        FaultMatch::UpdateBudget,
        Fault::Answer(CannedAnswer::api(
            400,
            r#"{"code":"INVALID_REQUEST","message":"参数错误"}"#,
        )),
    );
    console.handle_line("bob: react ✅ last").await;
    console.handle_line("dave: /budget history 123 20").await;
    let replies = said_since(&buffer);
    let failed_card = "状态：失败：微信支付返回 400 INVALID_REQUEST：参数错误";
    assert!(
        replies.iter().any(|r| r.contains(failed_card)),
        "{failed_card}: {replies:#?}"
    );
    let history = replies.last().unwrap();
    for detail in [
        "［经由表情回应］",
        "［max_count_per_day 现为 20,000］",
        "［微信支付返回 400 INVALID_REQUEST：参数错误",
    ] {
        assert!(history.contains(detail), "{detail} in {history}");
    }
    said.extend(replies);

    // Input too long to echo whole is cut, and the cut is marked in Chinese.
    console
        .handle_line(&format!("alice: /budget show {}", "9".repeat(100)))
        .await;
    let replies = said_since(&buffer);
    assert!(
        replies
            .iter()
            .any(|r| r.contains("［已截断，还有 60 个字符］")),
        "{replies:?}"
    );
    said.extend(replies);

    // A line too long to read: its echo marks the cut in Chinese.
    let long = format!("{}\n", "1234 ".repeat(20_000));
    console.run(long.as_bytes()).await.unwrap();
    let events = buffer.take_events();
    assert!(
        events
            .iter()
            .any(|e| e["text"].as_str().unwrap().contains("已截断")),
        "{events:?}"
    );
    said.extend(
        events
            .iter()
            .map(|e| e["text"].as_str().unwrap().to_string()),
    );

    // Request ids are ids even when their random letters hold no digit.
    let ids: Vec<String> = store
        .all()
        .unwrap()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    let strays: Vec<(String, Vec<String>)> = said
        .iter()
        .map(|text| {
            let stray: Vec<String> = stray_latin(text)
                .into_iter()
                .filter(|word| !ids.contains(word))
                .collect();
            (text.clone(), stray)
        })
        .filter(|(_, stray)| !stray.is_empty())
        .collect();
    assert!(
        strays.is_empty(),
        "English left in Chinese replies: {strays:#?}"
    );
    // And the same sentences in English are English (the check is not vacuous).
    assert!(!stray_latin(&messages::help_text(Lang::En)).is_empty());
}
