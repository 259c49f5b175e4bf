//! Where a config problem is (line and dotted key) and how it is said without echoing a
//! secret: serde's path to the failing field, toml's span turned into a line, long quoted
//! values redacted.

/// Quoted strings this long in a parse error are not echoed: a token or key pasted in the
/// wrong place must not end up on the terminal or in logs.
pub(super) const REDACT_QUOTED_LONGER_THAN: usize = 16;

/// A config problem's place: the line and the dotted key (`stocks[2].stock_id`), as far as
/// they are known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    pub line: Option<usize>,
    pub key: Option<String>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        Ok(())
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(super) fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// toml's error without the source excerpt it normally prints (which would quote the line),
/// placed by the key serde was reading and toml's span, with long quoted values redacted.
pub(super) fn deserialize_error(
    error: serde_path_to_error::Error<toml::de::Error>,
    text: &str,
) -> (Place, String) {
    let key = error
        .path()
        .iter()
        .next()
        .is_some()
        .then(|| error.path().to_string());
    let error = error.into_inner();
    let line = error.span().map(|span| line_at(text, span.start));
    (Place { line, key }, redact_long_quotes(error.message()))
}

pub(super) fn redact_long_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    // Values are double-quoted in toml's messages; key names (in backticks) stay readable.
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..=start]);
        let after = &rest[start + 1..];
        match after.find('"') {
            Some(end) => {
                out.push_str(&shown(&after[..end]));
                out.push('"');
                rest = &after[end + 1..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// A value as a message may show it: a long one may be a pasted secret and is not echoed.
pub(super) fn shown(value: &str) -> std::borrow::Cow<'_, str> {
    if value.chars().count() > REDACT_QUOTED_LONGER_THAN {
        "<redacted>".into()
    } else {
        value.into()
    }
}

/// One step of a key path.
#[derive(Clone, Copy, Debug)]
pub(super) enum Step {
    Key(&'static str),
    Index(usize),
}

/// The dotted key of a value the checks after parsing refuse, shown as serde_path_to_error
/// shows the keys of type errors (`stocks[2].stock_id`).
#[derive(Clone, Debug)]
pub(super) struct KeyPath(Vec<Step>);

impl KeyPath {
    fn new(steps: &[Step]) -> Self {
        Self(steps.to_vec())
    }

    /// The line of the key's value in `text`, from toml's own parser with spans kept.
    pub(super) fn line_in(&self, text: &str) -> Option<usize> {
        let document = toml_edit::ImDocument::parse(text).ok()?;
        let mut item = document.as_item();
        for step in &self.0 {
            item = match *step {
                Step::Key(key) => item.get(key)?,
                Step::Index(index) => item.get(index)?,
            };
        }
        Some(line_at(text, item.span()?.start))
    }
}

impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if i == 0 => f.write_str(key)?,
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A value that parsed but is refused, and its key.
pub(super) struct Refusal {
    pub(super) key: KeyPath,
    pub(super) message: String,
}

pub(super) fn refuse(steps: &[Step], message: String) -> Result<(), Refusal> {
    Err(Refusal {
        key: KeyPath::new(steps),
        message,
    })
}
