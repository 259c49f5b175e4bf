//! The `[ops]` and `[log]` config sections: where `run` serves its health and metrics
//! endpoints, and how log lines are written. Part of the strict config file (unknown keys are
//! refused like everywhere else).

use serde::Deserialize;

/// `[ops]`: `run` serves `/healthz`, `/readyz` and `/metrics` on `listen`; off when absent.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// An IP address and port, e.g. `127.0.0.1:9090` (`0.0.0.0:9090` in a container).
    pub listen: std::net::SocketAddr,
}

/// `[log]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default)]
    pub format: LogFormat,
}

/// How log lines are written on stderr.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    use super::*;

    #[test]
    fn ops_and_log_are_off_and_text_when_absent() {
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        assert!(c.ops.is_none());
        assert_eq!(c.log.format, LogFormat::Text);
    }

    #[test]
    fn ops_listen_and_log_format_parse() {
        let text = "[ops]\nlisten = \"0.0.0.0:9090\"\n[log]\nformat = \"json\"\n";
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.ops.unwrap().listen, "0.0.0.0:9090".parse().unwrap());
        assert_eq!(c.log.format, LogFormat::Json);
    }

    #[test]
    fn bad_ops_and_log_values_name_their_key() {
        for (text, key) in [
            ("[ops]\nlisten = \"localhost\"\n", "ops.listen"),
            ("[ops]\nlisten = \"127.0.0.1:9090\"\nport = 1\n", "port"),
            ("[ops]\n", "listen"),
            ("[log]\nformat = \"xml\"\n", "log.format"),
        ] {
            let err = Config::parse(text, Path::new("c.toml"))
                .expect_err(text)
                .to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }
}
