//! Bounding text that came from outside (a user's line, an API's error message, a header) before
//! it is echoed anywhere: in a reply, a card, a notification, a console event or a log line.
//! Control characters and bidirectional overrides are removed (they reorder or hide what a
//! reader sees), and anything longer than the bound is cut and marked as cut.

use super::i18n::Lang;

/// The most characters of outside text any message echoes.
pub const MAX_ECHO: usize = 300;

/// True for characters that must never be echoed: C0/C1 controls (NUL, escape sequences,
/// carriage returns), and the Unicode bidi embeddings, overrides, isolates and marks that can make
/// text read differently from what it is (U+202E and friends), and other invisible format marks.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'   // zero-width spaces/joiners, LRM, RLM
                | '\u{202A}'..='\u{202E}' // LRE, RLE, PDF, LRO, RLO
                | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
                | '\u{2066}'..='\u{2069}' // LRI, RLI, FSI, PDI
                | '\u{061C}'              // Arabic letter mark
                | '\u{FEFF}'              // zero-width no-break space (BOM)
                | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
        )
}

/// `text` without unsafe characters (line breaks and tabs become spaces) and at most `max`
/// characters long; a longer text is cut and says how much was left out.
pub fn bounded(text: &str, max: usize) -> String {
    bounded_marked(text, max, |dropped| {
        format!("{CUT_OPEN}{dropped}{CUT_CLOSE}")
    })
}

/// How [`bounded`] marks a cut: `… [cut: N more characters]`.
const CUT_OPEN: &str = "… [cut: ";
const CUT_CLOSE: &str = " more characters]";

/// A text [`bounded`] made, split into what was kept and how many characters were cut
/// (`None`: nothing was), so a reply can mark the cut in its reader's language.
pub fn split_cut(text: &str) -> (&str, Option<usize>) {
    let cut = text.strip_suffix(CUT_CLOSE).and_then(|rest| {
        let at = rest.rfind(CUT_OPEN)?;
        let count = rest[at + CUT_OPEN.len()..].parse().ok()?;
        Some((&text[..at], count))
    });
    match cut {
        Some((kept, count)) => (kept, Some(count)),
        None => (text, None),
    }
}

/// [`bounded`], the cut marked by `mark(characters left out)`.
fn bounded_marked(text: &str, max: usize, mark: impl Fn(usize) -> String) -> String {
    let mut out = String::new();
    let mut kept = 0usize;
    let mut dropped = 0usize;
    for c in text.chars() {
        let c = match c {
            '\n' | '\r' | '\t' => ' ',
            c if is_unsafe_char(c) => continue,
            c => c,
        };
        if kept < max {
            out.push(c);
            kept += 1;
        } else {
            dropped += 1;
        }
    }
    if dropped > 0 {
        out.push_str(&mark(dropped));
    }
    out
}

/// [`bounded`] with the default bound, [`MAX_ECHO`].
pub fn echo(text: &str) -> String {
    bounded(text, MAX_ECHO)
}

/// The most characters of an identifier from an answer (an error code, a Request-ID, a stock
/// id, a state word) that are echoed; real ones are far shorter.
pub const MAX_ID_ECHO: usize = 64;

/// An identifier from an answer, bounded for echoing.
pub fn echo_id(id: &str) -> String {
    bounded(id, MAX_ID_ECHO)
}

/// Longest piece of user input echoed back in a command error, so a pasted essay does not flood
/// the chat.
pub const MAX_ARG_ECHO: usize = 40;

/// User input as it is shown inside a `code span`: bounded like every echo (see [`bounded`]: no
/// controls or bidi marks, cut at `max` characters and marked as cut), and backticks, which
/// would end the span, turned into apostrophes.
pub fn code_echo(input: &str, max: usize) -> String {
    bounded(input, max).replace('`', "'")
}

/// [`code_echo`] at the length of one command argument.
pub fn arg_echo(input: &str) -> String {
    code_echo(input, MAX_ARG_ECHO)
}

/// [`code_echo`] for a reply in `lang`: the cut is marked in the reader's language.
pub fn code_echo_in(lang: Lang, input: &str, max: usize) -> String {
    bounded_marked(input, max, |dropped| {
        t!(lang, "cut-characters", count = dropped)
    })
    .replace('`', "'")
}

/// [`arg_echo`] for a reply in `lang`.
pub fn arg_echo_in(lang: Lang, input: &str) -> String {
    code_echo_in(lang, input, MAX_ARG_ECHO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_text_splits_into_what_was_kept_and_how_much_was_cut() {
        let long = format!("签名错误{}", "x".repeat(400));
        let shown = echo(&long);
        assert_eq!(split_cut(&shown), (&long[..long.len() - 104], Some(104)));
        assert_eq!(
            split_cut("SYSTEM_ERROR 系统繁忙"),
            ("SYSTEM_ERROR 系统繁忙", None)
        );
        // Text that only looks like a marker at its end, with no count, is left whole.
        let odd = "a… [cut: many more characters]";
        assert_eq!(split_cut(odd), (odd, None));
    }

    #[test]
    fn short_clean_text_is_unchanged() {
        assert_eq!(echo("SYSTEM_ERROR 系统繁忙"), "SYSTEM_ERROR 系统繁忙");
    }

    #[test]
    fn long_text_is_cut_and_says_so() {
        let long = "x".repeat(1_000_000);
        let shown = echo(&long);
        assert!(shown.starts_with(&"x".repeat(MAX_ECHO)));
        assert!(
            shown.ends_with("… [cut: 999700 more characters]"),
            "{shown}"
        );
        assert!(shown.chars().count() < MAX_ECHO + 40);
    }

    #[test]
    fn controls_and_bidi_marks_are_removed() {
        let shown = echo("a\u{0}b\u{202E}c\u{2066}d\u{1b}[31me\nf");
        assert_eq!(shown, "abcd[31me f");
        assert!(!shown.chars().any(is_unsafe_char));
    }

    #[test]
    fn cut_counts_characters_not_bytes() {
        let shown = bounded("批次批次批次", 2);
        assert_eq!(shown, "批次… [cut: 4 more characters]");
    }
}
