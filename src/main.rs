//! The `budget-bot` command line: parse arguments, load config, call into the library.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};

use budget_bot::app::messages;
use budget_bot::app::queries::{self, Allowlist};
use budget_bot::config::{Config, DEFAULT_CONFIG_PATH};
use budget_bot::store::{SharedStore, Store};
use budget_bot::wechatpay::CouponApi;

#[derive(Parser)]
#[command(
    name = "budget-bot",
    version,
    about = "Change WeChat Pay coupon budgets from chat, with approvals"
)]
struct Cli {
    /// Config file (TOML).
    #[arg(long, global = true, env = "BUDGET_BOT_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the live limits of an allow-listed stock.
    Show {
        /// stock_id or configured name
        stock: String,
        /// Print the StockEntity as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Chat from stdin: `<user>: <text>` lines (see README).
    Console {
        /// One JSON object per output line.
        #[arg(long)]
        json: bool,
    },
    /// Run the WeChat Pay brand API simulator (TEST keys) until Ctrl-C.
    Sim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// JSON array of StockEntity objects, each with its product_coupon_id (default: demo stocks).
        #[arg(long)]
        stocks: Option<PathBuf>,
    },
    /// Try the bot with no credentials: simulator, temporary store and console in one process.
    Demo {
        /// One JSON object per output line.
        #[arg(long)]
        json: bool,
        /// The bot's language: en, zh-CN (or auto, which is English on the console).
        #[arg(long, default_value = "en")]
        lang: budget_bot::config::Language,
    },
    /// Run every configured chat bot ([discord], [slack] or both) until SIGTERM or Ctrl-C.
    Run,
    /// Check the config before going live: keys, ids, store folder; exit 0 only if all pass.
    CheckConfig {
        /// Also make one signed read of every stock and check the chat platform's token,
        /// roles and channels.
        #[arg(long)]
        live: bool,
        /// Print the checks as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Exit 0 when the running bot's /healthz ([ops] listen) answers 200 within 5 s, else 1.
    Healthcheck,
    /// Check or list the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCmd,
    },
    /// Back up or restore the store (requests, card index, audit log).
    Store {
        #[command(subcommand)]
        command: StoreCmd,
    },
    /// Copy a sled store into an empty PostgreSQL store (URL: BUDGET_BOT_DATABASE_URL or
    /// [storage] url_path in --config); the copy's audit chain is verified.
    MigrateStore {
        /// The sled store: sled:PATH.
        #[arg(long)]
        from: String,
        /// The target: postgres.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum StoreCmd {
    /// Write a checked copy of the store to FILE (JSON lines); works while a bot runs.
    Backup {
        /// The backup file to write (replaced only once the new one is complete).
        file: PathBuf,
    },
    /// Restore a backup into an empty store (move a damaged store folder aside first).
    Restore {
        /// A file written by `budget-bot store backup`.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain; names the first broken entry.
    Verify,
    /// List entries.
    Show {
        /// Only this stock (id or name).
        #[arg(long)]
        stock: Option<String>,
    },
}

/// Logs as `[log]` of `config` (when one is loaded) or `BUDGET_BOT_LOG_FORMAT` say.
fn init_logs(default: &str, config: Option<&Config>) -> anyhow::Result<()> {
    budget_bot::ops::logs::init(default, config.map(|c| &c.log))
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("budget-bot: {}", chain_text(error));
    ExitCode::FAILURE
}

/// The error and its causes in one line, `context: cause: cause`. A cause whose text its
/// outer message already carries (many errors quote their source) is not repeated.
fn chain_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.is_empty() {
            text = cause;
        } else if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

impl Cmd {
    /// Whether the command runs for long with concurrent work (a bot, a simulator) and so gets
    /// the multi-threaded runtime. A one-shot command does one thing and ends: one thread
    /// starts faster and holds less memory (issue 9). No wildcard: a new command is classified
    /// here by whoever adds it.
    fn is_long_running(&self) -> bool {
        match self {
            Cmd::Console { .. } | Cmd::Sim { .. } | Cmd::Demo { .. } | Cmd::Run => true,
            Cmd::Show { .. }
            | Cmd::Audit { .. }
            | Cmd::Store { .. }
            | Cmd::MigrateStore { .. }
            | Cmd::CheckConfig { .. }
            | Cmd::Healthcheck => false,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = if cli.command.is_long_running() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Show { stock, json } => {
            // Request-IDs are logged at info: `RUST_LOG=info budget-bot show 123` shows them.
            let config = Config::load(&cli.config)?;
            init_logs("warn", Some(&config))?;
            show(&config, &stock, json).await
        }
        Cmd::Console { json } => {
            let config = Config::load(&cli.config)?;
            init_logs("info", Some(&config))?;
            let api = client(&config, "console")?;
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            budget_bot::bootstrap::run_console(&config, api, json, stdin).await
        }
        Cmd::Sim { listen, stocks } => {
            init_logs("info", None)?;
            let config = budget_bot::sim::cli_config(stocks.as_deref()).map_err(|e| anyhow!(e))?;
            budget_bot::sim::serve_forever(listen, config)
                .await
                .with_context(|| format!("simulator on {listen}"))
        }
        Cmd::Demo { json, lang } => {
            init_logs("warn", None)?;
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            budget_bot::bootstrap::run_demo(json, lang, stdin).await
        }
        Cmd::Run => {
            let config = Config::load(&cli.config)?;
            init_logs("info", Some(&config))?;
            let api = client(&config, "run")?;
            budget_bot::bootstrap::run_discord(&config, api).await
        }
        Cmd::CheckConfig { live, json } => {
            init_logs("error", None)?;
            let report = budget_bot::ops::check::check_config(&cli.config, live).await;
            if json {
                print_line(&report.json().to_string())?;
            } else {
                print_line(&report.text())?;
            }
            let failed = report.checks.iter().filter(|c| !c.ok).count();
            if failed > 0 {
                bail!("{failed} of {} checks failed", report.checks.len());
            }
            Ok(())
        }
        Cmd::Healthcheck => {
            let config = Config::load(&cli.config)?;
            let listen = config.require_ops("healthcheck")?.listen;
            budget_bot::ops::health::healthcheck(listen)
                .await
                .map_err(|why| anyhow!("not healthy: {why}"))
        }
        Cmd::Audit { command } => {
            let config = Config::load(&cli.config)?;
            init_logs("warn", Some(&config))?;
            let store = budget_bot::store::configured::open(&config, "audit")?;
            audit(&config, &store, command)
        }
        Cmd::Store { command } => {
            let config = Config::load(&cli.config)?;
            init_logs("warn", Some(&config))?;
            if config.require_storage("store")?.backend
                == budget_bot::config::StorageBackend::Postgres
            {
                bail!("`store backup` and `store restore` work on a sled store; back up a PostgreSQL store with pg_dump, and copy a sled store into one with `budget-bot migrate-store`");
            }
            let store_path = config.storage_path("store")?;
            store_command(&store_path, &config.store_options(), command)
        }
        Cmd::MigrateStore { from, to } => {
            let config = Config::load(&cli.config)?;
            init_logs("warn", Some(&config))?;
            migrate_store(&config, &from, &to)
        }
    }
}

fn store_command(
    store_path: &std::path::Path,
    options: &budget_bot::store::StoreOptions,
    command: StoreCmd,
) -> anyhow::Result<()> {
    use budget_bot::store::backup;
    match command {
        StoreCmd::Backup { file } => {
            let (summary, route) = backup::backup(store_path, options, &file)?;
            print_line(&format!(
                "backup of {} written to {}: {summary}; {route}",
                store_path.display(),
                file.display()
            ))
        }
        StoreCmd::Restore { file } => {
            let store = Store::open_with(store_path, options)?;
            let summary = backup::restore(&store, store_path, &file)?;
            let verified = match store.verify_audit()? {
                Ok(count) => format!("audit verify: {count} entries, hash chain intact"),
                Err(broken) => bail!(
                    "restored, but the audit log is broken at entry #{}: {}",
                    broken.seq,
                    broken.reason
                ),
            };
            print_line(&format!(
                "restored {} into {}: {summary}; {verified}",
                file.display(),
                store_path.display()
            ))
        }
    }
}

fn client(config: &Config, command: &'static str) -> anyhow::Result<Arc<dyn CouponApi>> {
    let client = config
        .require_wechatpay(command)?
        .build_client(&config.base_dir())?;
    Ok(Arc::new(client))
}

/// `show`: the app's own stock query, printed.
async fn show(config: &Config, token: &str, json: bool) -> anyhow::Result<()> {
    let api = client(config, "show")?;
    let stocks = Allowlist::new(config.stocks.clone());
    let (stock, live) = queries::read_stock(&stocks, api.as_ref(), token).await?;
    let text = if json {
        serde_json::to_string_pretty(&live).expect("StockEntity serializes")
    } else {
        messages::stock_text(config.display.language.fixed(), &stock.label(), &live)
    };
    print_line(&text)
}

/// Writes one line to stdout. A reader that went away (`| head`) ends the command quietly.
fn print_line(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(e).context("cannot write output"),
    }
}

/// `migrate-store --from sled:PATH --to postgres`.
#[cfg(feature = "postgres")]
fn migrate_store(config: &Config, from: &str, to: &str) -> anyhow::Result<()> {
    use budget_bot::store::PostgresStore;
    let Some(path) = from.strip_prefix("sled:").filter(|p| !p.is_empty()) else {
        bail!("--from must be sled:PATH (the folder of the sled store to copy), not `{from}`");
    };
    if to != "postgres" {
        bail!("--to must be postgres (the database of BUDGET_BOT_DATABASE_URL or [storage] url_path), not `{to}`");
    }
    let source = Store::open_with(std::path::Path::new(path), &config.store_options())?;
    let url = budget_bot::store::configured::database_url(config, "migrate-store")?;
    let options = config.storage.as_ref().map(|s| s.connect_options());
    let target = PostgresStore::connect_with(&url, options.unwrap_or_default())?;
    let copied = budget_bot::store::postgres::migrate::copy_from_sled(&source, path, &target)?;
    print_line(&copied)
}

#[cfg(not(feature = "postgres"))]
fn migrate_store(_: &Config, _: &str, _: &str) -> anyhow::Result<()> {
    bail!(budget_bot::config::missing_feature(
        "PostgreSQL",
        "postgres"
    ))
}

fn audit(config: &Config, store: &SharedStore, command: AuditCmd) -> anyhow::Result<()> {
    match command {
        AuditCmd::Verify => match store.verify_audit()? {
            Ok(count) => print_line(&format!("audit log OK: {count} entries, hash chain intact")),
            Err(broken) => bail!(
                "audit log broken at entry #{}: {}",
                broken.seq,
                broken.reason
            ),
        },
        AuditCmd::Show { stock } => {
            messages::set_timezone(config.display.timezone.clone());
            let stocks = Allowlist::new(config.stocks.clone());
            for entry in queries::audit_entries(&**store, &stocks, stock.as_deref())?? {
                // The operator's record, with each entry's stored detail: in English.
                print_line(&messages::audit_line(budget_bot::i18n::Lang::En, &entry?))?;
            }
            Ok(())
        }
    }
}
