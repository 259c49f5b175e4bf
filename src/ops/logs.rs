//! Where log lines go and how they look: readable text on stderr by default (coloured on a
//! terminal), or one JSON object per line (`[log] format = "json"`, or the environment
//! variable `BUDGET_BOT_LOG_FORMAT=json`, which wins) with `timestamp`, `level`, `target`, the
//! message, the event's fields and the fields of the spans it happened in (request, stock,
//! actor), for log shippers. `RUST_LOG` chooses what is logged: a level (`debug`) and/or
//! `target=level` pairs (`info,budget_bot=debug,serenity=warn`), tracing-subscriber's `Targets`
//! filter. (Its `EnvFilter`, with span and field filters, would add 0.7 MB of regular-expression
//! engine to the release binary; issue 11.)

use anyhow::bail;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::settings::{LogConfig, LogFormat};

/// The environment variable that chooses the log format over the config file.
pub const FORMAT_ENV: &str = "BUDGET_BOT_LOG_FORMAT";

/// The format from the environment's `value` if set, else the config's.
pub fn format(config: Option<&LogConfig>, value: Option<&str>) -> anyhow::Result<LogFormat> {
    match value.map(str::trim) {
        None | Some("") => Ok(config.map(|c| c.format).unwrap_or_default()),
        Some(v) if v.eq_ignore_ascii_case("json") => Ok(LogFormat::Json),
        Some(v) if v.eq_ignore_ascii_case("text") => Ok(LogFormat::Text),
        Some(v) => bail!(
            "{FORMAT_ENV} is `{}`: set it to `json` or `text`, or unset it",
            crate::domain::text::echo(v)
        ),
    }
}

/// The environment variable that chooses what is logged.
pub const FILTER_ENV: &str = "RUST_LOG";

/// What is logged: the environment's `value` if set, else `default` (e.g. `info`).
pub fn filter(value: Option<&str>, default: &str) -> anyhow::Result<Targets> {
    let text = match value.map(str::trim) {
        None | Some("") => default,
        Some(v) => v,
    };
    match text.parse() {
        Ok(targets) => Ok(targets),
        Err(_) => bail!(
            "{FILTER_ENV} is `{}`: write a level (`info`) and/or target=level pairs (`info,budget_bot=debug,serenity=warn`), or unset it",
            crate::domain::text::echo(text)
        ),
    }
}

/// Installs the process's log subscriber: `RUST_LOG` filters, else `default` (e.g. `info`).
pub fn init(default: &str, config: Option<&LogConfig>) -> anyhow::Result<()> {
    let value = std::env::var(FORMAT_ENV).ok();
    let format = format(config, value.as_deref())?;
    let filter = filter(std::env::var(FILTER_ENV).ok().as_deref(), default)?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    subscriber(format, filter, std::io::stderr, ansi).init();
    Ok(())
}

/// The subscriber that writes what `filter` lets through to `writer`, in `format` (colours
/// only with `ansi`, and only in text).
pub fn subscriber<W>(
    format: LogFormat,
    filter: Targets,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // fmt's builder has a level cap of its own, INFO unless told otherwise; `filter` decides
    // alone, so that `RUST_LOG=budget_bot=debug` shows debug lines.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(true)
                .finish()
                .with(filter),
        ),
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish().with(filter)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_takes_levels_and_targets_and_a_bad_one_says_what_to_do() {
        let unset = filter(None, "warn").unwrap();
        assert!(unset.would_enable("budget_bot::app", &Level::WARN));
        assert!(!unset.would_enable("budget_bot::app", &Level::INFO));
        let targets = filter(Some("info,budget_bot=debug,serenity=warn"), "warn").unwrap();
        assert!(targets.would_enable("budget_bot::app::apply", &Level::DEBUG));
        assert!(!targets.would_enable("budget_bot::app::apply", &Level::TRACE));
        assert!(!targets.would_enable("serenity::gateway", &Level::INFO));
        assert!(targets.would_enable("sled::pagecache", &Level::INFO));
        assert!(!targets.would_enable("sled::pagecache", &Level::DEBUG));
        assert!(filter(Some("  "), "info")
            .unwrap()
            .would_enable("x", &Level::INFO));
        let err = filter(Some("budget_bot=loud"), "info")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("RUST_LOG is `budget_bot=loud`") && err.contains("or unset it"),
            "{err}"
        );
    }

    /// Everything written to it, for the subscriber's output.
    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_filter_alone_decides_what_is_written_debug_included() {
        for format in [LogFormat::Text, LogFormat::Json] {
            let sink = Sink::default();
            let out = sink.clone();
            let filter = filter(Some("warn,budget_bot=debug"), "info").unwrap();
            let subscriber = subscriber(format, filter, move || out.clone(), false);
            tracing::subscriber::with_default(subscriber, || {
                tracing::debug!(target: "budget_bot::app", "shown-debug");
                tracing::trace!(target: "budget_bot::app", "hidden-trace");
                tracing::info!(target: "sled::tree", "hidden-info");
                tracing::warn!(target: "sled::tree", "shown-warn");
            });
            let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
            assert!(text.contains("shown-debug"), "{format:?}: {text}");
            assert!(text.contains("shown-warn"), "{format:?}: {text}");
            assert!(!text.contains("hidden"), "{format:?}: {text}");
        }
    }

    #[test]
    fn the_environment_wins_over_the_config_and_a_bad_value_says_what_to_do() {
        let json = LogConfig {
            format: LogFormat::Json,
        };
        assert_eq!(format(None, None).unwrap(), LogFormat::Text);
        assert_eq!(format(Some(&json), None).unwrap(), LogFormat::Json);
        assert_eq!(format(Some(&json), Some("text")).unwrap(), LogFormat::Text);
        assert_eq!(format(None, Some("JSON")).unwrap(), LogFormat::Json);
        assert_eq!(format(Some(&json), Some("")).unwrap(), LogFormat::Json);
        let err = format(None, Some("xml")).unwrap_err().to_string();
        assert!(
            err.contains(FORMAT_ENV) && err.contains("`json` or `text`"),
            "{err}"
        );
    }
}
