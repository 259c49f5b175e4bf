//! The store `[storage]` names, opened: a sled folder (the default) or a shared PostgreSQL
//! database, behind one [`SharedStore`] whose work leases last `[storage] lease`.

use std::sync::Arc;

use anyhow::Context;

use super::{RequestStore, SharedStore, SledStore};
use crate::config::{Config, StorageBackend};

/// The variable holding the PostgreSQL URL; `[storage] url_path` names a file instead.
pub const DATABASE_URL_ENV: &str = "BUDGET_BOT_DATABASE_URL";

/// The PostgreSQL URL: `BUDGET_BOT_DATABASE_URL`, else the file `[storage] url_path` names.
/// Errors name where the URL was looked for, never the URL (it holds a password).
pub fn database_url(config: &Config, command: &'static str) -> anyhow::Result<String> {
    if let Ok(url) = std::env::var(DATABASE_URL_ENV) {
        if !url.trim().is_empty() {
            return Ok(url);
        }
    }
    let storage = config.require_storage(command)?;
    let Some(path) = &storage.url_path else {
        anyhow::bail!(
            "{command} uses the PostgreSQL store, but {DATABASE_URL_ENV} is not set and config file {} has no [storage] url_path: set one of them to postgres://USER:PASSWORD@HOST:PORT/DATABASE",
            config.source.display()
        );
    };
    let path = config.base_dir().join(path);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the database URL from {} ([storage] url_path)",
            path.display()
        )
    })?;
    Ok(text.trim().to_string())
}

/// Opens the store `[storage]` names for `command`.
pub fn open(config: &Config, command: &'static str) -> anyhow::Result<SharedStore> {
    let storage = config.require_storage(command)?;
    let store: Arc<dyn RequestStore> = match storage.backend {
        StorageBackend::Sled => Arc::new(SledStore::open_with(
            &config.storage_path(command)?,
            &config.store_options(),
        )?),
        StorageBackend::Postgres => connect_postgres(config, command)?,
    };
    Ok(SharedStore::new(store).with_lease_ttl(storage.lease))
}

#[cfg(feature = "postgres")]
fn connect_postgres(
    config: &Config,
    command: &'static str,
) -> anyhow::Result<Arc<dyn RequestStore>> {
    Ok(Arc::new(super::PostgresStore::connect_with(
        &database_url(config, command)?,
        config.require_storage(command)?.connect_options(),
    )?))
}

/// Config loading already refuses `backend = "postgres"` in such a build; a config made in
/// code gets the same answer.
#[cfg(not(feature = "postgres"))]
fn connect_postgres(_: &Config, _: &'static str) -> anyhow::Result<Arc<dyn RequestStore>> {
    anyhow::bail!(crate::config::missing_feature("PostgreSQL", "postgres"))
}
