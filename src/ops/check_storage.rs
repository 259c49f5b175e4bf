//! The `[storage] backend = "postgres"` checks of `check-config`: offline, that the database
//! URL is found (`BUDGET_BOT_DATABASE_URL` or `[storage] url_path`) and parses, its sslmode
//! and root certificates included; live, that the database answers as the store would
//! connect (sslmode, timeouts) and that its schema is one this build can run on. The URL's
//! password is never printed: the database is named by host, port, database and user.

use super::{failure, not_tried, Report};
use crate::config::Config;
use crate::store::configured::{database_url, DATABASE_URL_ENV};
use crate::store::postgres::{probe, Target, SCHEMA_VERSION};

/// The offline check; the database to connect to when it passed.
pub(super) fn offline(report: &mut Report, config: &Config) -> Option<Target> {
    let options = config
        .storage
        .as_ref()
        .map(|storage| storage.connect_options())
        .unwrap_or_default();
    let target = database_url(config, "check-config")
        .map_err(|e| {
            failure(
                format!("{e:#}"),
                format!("Set {DATABASE_URL_ENV}, or [storage] url_path to a file holding the URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=verify-full)."),
            )
        })
        .and_then(|url| {
            Target::parse_with(&url, options).map_err(|e| {
                failure(
                    e.to_string(),
                    "Correct the URL: postgres://USER:PASSWORD@HOST:PORT/DATABASE, with sslmode = disable, prefer, require, verify-ca or verify-full and sslrootcert naming the CA's PEM file.",
                )
            })
        });
    match target {
        Ok(target) => {
            let note = format!(
                "{}, sslmode={}",
                target.describe(),
                target.ssl_mode().as_str()
            );
            report.push_noted("storage.url", note);
            Some(target)
        }
        Err(failed) => {
            report.push("storage.url", Err(failed));
            None
        }
    }
}

/// The live checks: the connection, then the schema version.
pub(super) async fn live(report: &mut Report, target: Option<Target>) {
    let Some(target) = target else {
        report.push("live storage", not_tried("storage"));
        return;
    };
    let described = target.describe().to_string();
    let probed = match tokio::task::spawn_blocking(move || probe(target)).await {
        Ok(probed) => probed,
        Err(e) => {
            report.push(
                "live storage",
                Err(failure(format!("the check stopped: {e}"), "Run it again.")),
            );
            return;
        }
    };
    let probe = match probed {
        Ok(probe) => probe,
        Err(e) => {
            report.push(
                "live storage",
                Err(failure(
                    e.to_string(),
                    "Check the URL's host, port, user, password and sslmode, and that the server accepts this machine (pg_hba.conf).",
                )),
            );
            return;
        }
    };
    let over = match &probe.tls {
        Some(version) => format!("encrypted ({version})"),
        None => "NOT encrypted".to_string(),
    };
    report.push_noted("live storage", format!("connected to {described}, {over}"));
    let version = probe.schema_version;
    if version > SCHEMA_VERSION {
        report.push(
            "live storage schema",
            Err(failure(
                format!("the schema is at version {version}, newer than this budget-bot knows (version {SCHEMA_VERSION})"),
                "Run the newer budget-bot that migrated it, or upgrade this one.",
            )),
        );
    } else if version == SCHEMA_VERSION {
        report.push_noted("live storage schema", format!("version {version}"));
    } else {
        report.push_noted(
            "live storage schema",
            format!(
                "version {version}; migrated to version {SCHEMA_VERSION} when budget-bot starts"
            ),
        );
    }
}
