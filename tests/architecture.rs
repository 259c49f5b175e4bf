//! The house rules of `src/`, read from the source text: the domain imports nothing of ours but
//! itself and no runtime, chat, HTTP or storage crate; the simulator imports only the wire
//! (`wechatpay`), never the bot's rules; no chat adapter imports another. A rule broken by a new `use` (or by an inline path
//! such as `crate::store::Store` in a function body) fails here, naming the file and line.

use std::path::{Path, PathBuf};

/// External crates that do I/O or belong to one adapter: none of them in the domain.
const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio_util",
    "serenity",
    "reqwest",
    "sled",
    "axum",
    "hyper",
    "hyper_util",
];

/// One reference from a source file to a module or crate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    /// Absolute path segments within this crate (`["wechatpay", "model"]`), or for an external
    /// crate its name alone, with `external` set.
    path: Vec<String>,
    external: bool,
}

/// Comments, string and character literals turned into spaces (line breaks kept), so that
/// neither a doc comment nor a test's string mentioning `crate::store` counts as a reference.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"') | Some('#'))
            && (i == 0 || !is_ident(chars[i - 1]))
            && raw_string_hashes(&chars, i + 1).is_some()
        {
            let hashes = raw_string_hashes(&chars, i + 1).unwrap_or(0);
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let start = i + 2 + hashes;
            for _ in i..start {
                out.push(' ');
            }
            i = start;
            while i < chars.len() && !chars[i..].starts_with(&closing) {
                out.push(blank(chars[i]));
                i += 1;
            }
            for _ in 0..closing.len().min(chars.len() - i) {
                out.push(' ');
            }
            i += closing.len();
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let step = if chars[i] == '\\' { 2 } else { 1 };
                for k in 0..step {
                    if let Some(&ch) = chars.get(i + k) {
                        out.push(blank(ch));
                    }
                }
                i += step;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && is_char_literal(&chars, i) {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                let step = if chars[i] == '\\' { 2 } else { 1 };
                for _ in 0..step {
                    out.push(' ');
                }
                i += step;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `Some(n)` when `r` at `at - 1` starts a raw string with `n` hashes.
fn raw_string_hashes(chars: &[char], at: usize) -> Option<usize> {
    let hashes = chars[at..].iter().take_while(|c| **c == '#').count();
    (chars.get(at + hashes) == Some(&'"')).then_some(hashes)
}

/// A `'` that opens a character literal rather than a lifetime or label.
fn is_char_literal(chars: &[char], at: usize) -> bool {
    match chars.get(at + 1) {
        Some('\\') => true,
        Some(_) => chars.get(at + 2) == Some(&'\''),
        None => false,
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The word starting at `at`, if an identifier starts there.
fn word_at(chars: &[char], at: usize) -> Option<String> {
    if at > 0 && is_ident(chars[at - 1]) {
        return None;
    }
    let word: String = chars[at..].iter().take_while(|c| is_ident(**c)).collect();
    (!word.is_empty()).then_some(word)
}

fn skip_space(chars: &[char], mut at: usize) -> usize {
    while at < chars.len() && chars[at].is_whitespace() {
        at += 1;
    }
    at
}

/// At `at`: `::` (spaces allowed around it)? Then the position after it.
fn after_colons(chars: &[char], at: usize) -> Option<usize> {
    let at = skip_space(chars, at);
    (chars.get(at) == Some(&':') && chars.get(at + 1) == Some(&':'))
        .then(|| skip_space(chars, at + 2))
}

/// The first segment of each top-level item of a `{a::b, c, d::{e, f}}` group starting at `open`,
/// and the position after its closing brace.
fn group_heads(chars: &[char], open: usize) -> (Vec<String>, usize) {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '{' => {
                depth += 1;
                i += 1;
            }
            '}' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                expect_head = true;
                i += 1;
            }
            c if is_ident(c) && depth == 1 && expect_head => {
                let word: String = chars[i..].iter().take_while(|c| is_ident(**c)).collect();
                i += word.len();
                heads.push(word);
                expect_head = false;
            }
            _ => i += 1,
        }
    }
    (heads, i)
}

/// Every reference in `source`, a file whose module path in this crate is `module`
/// (`["domain", "command", "grammar"]`). `super::` and `self::` are resolved, inline `mod x { }`
/// blocks included.
fn references(source: &str, module: &[String]) -> Vec<Reference> {
    let code = code_only(source);
    let chars: Vec<char> = code.chars().collect();
    let mut line = 1;
    let mut found = Vec::new();
    // Inline modules open at each brace depth: (depth at which they close, name).
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
        }
        if c == '{' {
            depth += 1;
            if let Some(name) = pending_mod.take() {
                inline.push((depth, name));
            }
            i += 1;
            continue;
        }
        if c == '}' {
            if inline.last().is_some_and(|(d, _)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        if c == ';' {
            pending_mod = None;
        }
        let Some(word) = word_at(&chars, i) else {
            i += 1;
            continue;
        };
        let end = i + word.len();
        if word == "mod" {
            let name_at = skip_space(&chars, end);
            pending_mod = word_at(&chars, name_at);
            i = end;
            continue;
        }
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(_, name)| name.clone()))
            .collect();
        let mut base: Option<Vec<String>> = match word.as_str() {
            "crate" => Some(Vec::new()),
            "self" => Some(here.clone()),
            "super" => Some(here[..here.len().saturating_sub(1)].to_vec()),
            _ => None,
        };
        // `tokio::…`, `::tokio::…` or `use tokio;`: any use of the crate, not a word that merely
        // contains its name.
        if base.is_none() && IO_CRATES.contains(&word.as_str()) {
            let before: String = chars[..i].iter().rev().take(4).collect();
            if after_colons(&chars, end).is_some() || before == " esu" {
                found.push(Reference {
                    line,
                    path: vec![word.clone()],
                    external: true,
                });
            }
        }
        let Some(mut path) = base.take() else {
            i = end;
            continue;
        };
        // Further `super::` / `self::` steps and named segments, up to the end of the path or a
        // `{...}` group, whose items each make a path.
        let mut at = end;
        let mut group = None;
        let mut named = false;
        while let Some(next) = after_colons(&chars, at) {
            if chars.get(next) == Some(&'{') {
                let (heads, after) = group_heads(&chars, next);
                group = Some(heads);
                at = after;
                break;
            }
            match word_at(&chars, next) {
                Some(step) if step == "super" && !named => {
                    path.pop();
                    at = next + step.len();
                }
                Some(step) if step == "self" && !named => at = next + step.len(),
                Some(step) => {
                    named = true;
                    at = next + step.len();
                    path.push(step);
                }
                None => break,
            }
        }
        let paths = match group {
            Some(heads) => heads
                .into_iter()
                .map(|head| {
                    let mut full = path.clone();
                    if head != "self" {
                        full.push(head);
                    }
                    full
                })
                .collect(),
            None if named => vec![path],
            None => Vec::new(),
        };
        for path in paths {
            found.push(Reference {
                line,
                path,
                external: false,
            });
        }
        // A `{...}` group was skipped: count the lines it spanned.
        line += chars[end..at].iter().filter(|c| **c == '\n').count();
        i = at;
    }
    found
}

/// `src/domain/command/grammar.rs` → `["domain", "command", "grammar"]`; `mod.rs` names its folder.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("file is under src");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The rule a file breaks by one reference, in words, or `None`.
fn violation(module: &[String], reference: &Reference, adapters: &[String]) -> Option<String> {
    let area = module.first().map(String::as_str)?;
    let target = reference.path.first().map(String::as_str).unwrap_or("");
    match area {
        "domain" if reference.external => Some(format!(
            "the domain must not use `{target}`: it does no I/O (keep it in app/, store/, chat/ or wechatpay/)"
        )),
        "domain" if target != "domain" => Some(format!(
            "the domain imports nothing of ours but itself, not `crate::{}`",
            reference.path.join("::")
        )),
        "sim" if !reference.external && matches!(target, "domain" | "app") => Some(format!(
            "the simulator must not import the bot's rules (`crate::{}`): a simulator that shares them cannot catch them wrong",
            reference.path.join("::")
        )),
        "sim" if !reference.external && !matches!(target, "sim" | "wechatpay") => Some(format!(
            "the simulator imports only the wire (`crate::wechatpay`), not `crate::{}`",
            reference.path.join("::")
        )),
        "chat" if !reference.external && matches!(target, "store" | "wechatpay" | "sim") => Some(format!(
            "adapters reach the API and the store only through app/, not `crate::{}`",
            reference.path.join("::")
        )),
        "chat" if !reference.external && target == "chat" => {
            let own = module.get(1)?;
            let other = reference.path.get(1)?;
            (adapters.contains(other) && other != own).then(|| {
                format!("chat adapter `{own}` must not import adapter `{other}`: share through chat/mod.rs or app/")
            })
        }
        _ => None,
    }
}

/// Chat adapters: every module directly under `src/chat/` but `mod.rs`.
fn adapters(src: &Path) -> Vec<String> {
    std::fs::read_dir(src.join("chat"))
        .expect("src/chat exists")
        .map(|e| e.expect("directory entry").path())
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let name = name.strip_suffix(".rs").map(str::to_owned).unwrap_or(name);
            (name != "mod").then_some(name)
        })
        .collect()
}

fn violations_in(module: &[String], source: &str, adapters: &[String]) -> Vec<(usize, String)> {
    references(source, module)
        .iter()
        .filter_map(|r| violation(module, r, adapters).map(|why| (r.line, why)))
        .collect()
}

#[test]
fn src_keeps_the_house_rules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let adapters = adapters(&src);
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in rust_files(&src) {
        let module = module_of(&src, &file);
        let source = std::fs::read_to_string(&file).expect("source is UTF-8");
        checked += 1;
        for (line, why) in violations_in(&module, &source, &adapters) {
            broken.push(format!("{}:{line}: {why}", file.display()));
        }
    }
    assert!(checked > 30, "only {checked} files found under src/");
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

fn m(path: &str) -> Vec<String> {
    path.split("::").map(str::to_owned).collect()
}

fn adapters_for_test() -> Vec<String> {
    m("console::discord::slack")
}

#[test]
fn each_kind_of_violating_reference_is_found() {
    let cases: &[(&str, &str, usize)] = &[
        ("domain::request", "use crate::config::Capability;", 1),
        (
            "domain::request",
            "use crate::{domain::limit::UpdateMode, wechatpay};",
            1,
        ),
        ("domain::request", "use super::super::store::Store;", 1),
        (
            "domain::command::grammar",
            "use super::super::super::app::App;",
            1,
        ),
        (
            "domain::budget",
            "fn f() -> crate::wechatpay::StockEntity { todo!() }",
            1,
        ),
        ("domain::budget", "use tokio::sync::Mutex;", 1),
        ("domain::budget", "fn f() { ::sled::open(\"x\"); }", 1),
        (
            "domain::budget",
            "use std::sync::Arc;\nuse reqwest\n  ::Client;",
            1,
        ),
        (
            "domain::policy",
            "mod tests {\n    use super::super::super::chat::console;\n}",
            1,
        ),
        ("chat::discord::handler", "use crate::store::CardKey;", 1),
        ("chat::console", "use crate::wechatpay::StockEntity;", 1),
        (
            "sim::rules",
            "use crate::domain::limit::MAX_BUDGET_VALUE;",
            1,
        ),
        ("sim::rules", "use crate::app::App;", 1),
        ("sim::state", "use crate::store::Store;", 1),
        ("sim", "use super::app;", 1),
        ("chat::console", "use crate::chat::discord::Settings;", 1),
        ("chat::console", "use super::discord;", 1),
        (
            "chat::discord::handler",
            "use super::super::console::Output;",
            1,
        ),
    ];
    for (module, source, expected) in cases {
        let found = violations_in(&m(module), source, &adapters_for_test());
        assert_eq!(
            found.len(),
            *expected,
            "{module}: {source:?} gave {found:?}"
        );
    }
}

#[test]
fn allowed_references_and_mere_mentions_are_not_violations() {
    let cases: &[(&str, &str)] = &[
        (
            "domain::request",
            "use super::limit::UpdateMode;\nuse crate::domain::text;",
        ),
        (
            "domain::command::grammar",
            "use super::super::limit::MAX_BUDGET_VALUE;",
        ),
        (
            "domain::policy",
            "mod tests {\n    use super::*;\n    use super::super::request::RequestId;\n}",
        ),
        (
            "domain::text",
            "// crate::wechatpay::model is where the wire lives\n/// tokio::spawn\nfn f() {}",
        ),
        (
            "domain::text",
            "const S: &str = \"crate::store::Store tokio::spawn\";",
        ),
        (
            "domain::text",
            "const R: &str = r#\"use crate::app;\"#; fn f<'a>(x: &'a str) -> char { '\"' }",
        ),
        (
            "domain::request",
            "fn f(stock_tokio: u8) -> u8 { stock_tokio }",
        ),
        (
            "sim::rules",
            "use crate::wechatpay::model::ErrorBody;\nuse super::state::State;",
        ),
        (
            "chat::console",
            "use crate::chat::CardKey;\nuse super::console_helpers;",
        ),
        (
            "chat::discord::render",
            "use super::settings::Settings;\nuse crate::chat::discord::notifier;",
        ),
        (
            "app",
            "use crate::wechatpay::CouponApi;\nuse tokio::sync::Mutex;",
        ),
    ];
    for (module, source) in cases {
        let found = violations_in(&m(module), source, &adapters_for_test());
        assert!(found.is_empty(), "{module}: {source:?} gave {found:?}");
    }
}

#[test]
fn lines_are_counted_past_comments_strings_and_groups() {
    let source = "//! doc\n/* a\n b */\nconst S: &str = \"x\ny\";\nuse crate::{\n    domain::text,\n    store,\n};\nuse crate::app;\n";
    let found = violations_in(&m("domain::x"), source, &[]);
    let lines: Vec<usize> = found.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [6, 10], "{found:?}");
}

/// The most lines a source file may have, tests included: past it a file holds more than one job.
const MAX_FILE_LINES: usize = 800;

/// Every file under `src/`, unit tests included.
#[test]
fn no_source_file_is_over_800_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let long: Vec<String> = rust_files(&src)
        .into_iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(&file)
                .expect("source is UTF-8")
                .lines()
                .count();
            (lines > MAX_FILE_LINES).then(|| format!("{}: {lines} lines", file.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "no file under src/ may be over {MAX_FILE_LINES} lines; split these: {long:?}"
    );
}
