//! Where log lines go and how they look: readable text on stderr by default (coloured on a
//! terminal), or one JSON object per line (`[log] format = "json"`, or the environment
//! variable `BUDGET_BOT_LOG_FORMAT=json`, which wins) with `timestamp`, `level`, `target`, the
//! message, the event's fields and the fields of the spans it happened in (request, stock,
//! actor), for log shippers.

use anyhow::bail;
use tracing_subscriber::EnvFilter;

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

/// Installs the process's log subscriber: `RUST_LOG` filters, else `default` (e.g. `info`).
pub fn init(default: &str, config: Option<&LogConfig>) -> anyhow::Result<()> {
    let value = std::env::var(FORMAT_ENV).ok();
    let format = format(config, value.as_deref())?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
