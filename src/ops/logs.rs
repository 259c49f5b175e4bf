//! Where log lines go and how they look: readable text on stderr by default (coloured on a
//! terminal), or one JSON object per line (`[log] format = "json"`, or the environment
//! variable `BUDGET_BOT_LOG_FORMAT=json`, which wins) with `timestamp`, `level`, `target`, the
//! message, the event's fields and the fields of the spans it happened in (request, stock,
//! actor), for log shippers. `RUST_LOG` chooses what is logged: a level (`debug`) and/or
//! `target=level` pairs (`info,budget_bot=debug,serenity=warn`), tracing-subscriber's `Targets`
//! filter. (Its `EnvFilter`, with span and field filters, would add 0.7 MB of regular-expression
//! engine to the release binary; issue 11.)

use anyhow::bail;
use tracing_subscriber::filter::Targets;
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
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .finish()
            .with(filter)
            .init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .finish()
            .with(filter)
            .init(),
    }
    Ok(())
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
