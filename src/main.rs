//! The `budget-bot` command line: parse arguments, load config, call into the library.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use budget_bot::app::render;
use budget_bot::config::{Config, DEFAULT_CONFIG_PATH};
use budget_bot::domain::command::{resolve_stock, StockEntry};
use budget_bot::store::Store;
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
    },
    /// Run the Discord bot until SIGTERM or Ctrl-C.
    Run,
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

fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("budget-bot: {message}");
    ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Cmd::Show { stock, json } => {
            // Request-IDs are logged at info: `RUST_LOG=info budget-bot show 123` shows them.
            init_logs("warn");
            let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
            show(&config, &stock, json).await
        }
        Cmd::Console { json } => {
            init_logs("info");
            let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
            let store_path = config.storage_path("console").map_err(|e| e.to_string())?;
            let api = client(&config, "console")?;
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            budget_bot::bootstrap::run_console(&config, api, &store_path, json, stdin).await
        }
        Cmd::Sim { listen, stocks } => {
            init_logs("info");
            let config = budget_bot::sim::cli_config(stocks.as_deref())?;
            budget_bot::sim::serve_forever(listen, config)
                .await
                .map_err(|e| format!("simulator on {listen}: {e}"))
        }
        Cmd::Demo { json } => {
            init_logs("warn");
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            budget_bot::bootstrap::run_demo(json, stdin).await
        }
        Cmd::Run => {
            init_logs("info");
            let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
            let api = client(&config, "run")?;
            budget_bot::bootstrap::run_discord(&config, api).await
        }
        Cmd::Audit { command } => {
            init_logs("warn");
            let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
            let store_path = config.storage_path("audit").map_err(|e| e.to_string())?;
            let store = Store::open(&store_path).map_err(|e| e.to_string())?;
            audit(&config, &store, command)
        }
        Cmd::Store { command } => {
            init_logs("warn");
            let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
            let store_path = config.storage_path("store").map_err(|e| e.to_string())?;
            store_command(&store_path, command)
        }
    }
}

fn store_command(store_path: &std::path::Path, command: StoreCmd) -> Result<(), String> {
    use budget_bot::store::backup;
    match command {
        StoreCmd::Backup { file } => {
            let (summary, route) = backup::backup(store_path, &file).map_err(|e| e.to_string())?;
            print_line(&format!(
                "backup of {} written to {}: {summary}; {route}",
                store_path.display(),
                file.display()
            ))
        }
        StoreCmd::Restore { file } => {
            let store = Store::open(store_path).map_err(|e| e.to_string())?;
            let summary = backup::restore(&store, store_path, &file).map_err(|e| e.to_string())?;
            let verified = match store.verify_audit().map_err(|e| e.to_string())? {
                Ok(count) => format!("audit verify: {count} entries, hash chain intact"),
                Err(broken) => {
                    return Err(format!(
                        "restored, but the audit log is broken at entry #{}: {}",
                        broken.seq, broken.reason
                    ))
                }
            };
            print_line(&format!(
                "restored {} into {}: {summary}; {verified}",
                file.display(),
                store_path.display()
            ))
        }
    }
}

fn client(config: &Config, command: &'static str) -> Result<Arc<dyn CouponApi>, String> {
    let wechatpay = config
        .require_wechatpay(command)
        .map_err(|e| e.to_string())?;
    let client = wechatpay
        .build_client(&config.base_dir())
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(client))
}

fn stock_entries(config: &Config) -> Vec<StockEntry<'_>> {
    config
        .stocks
        .iter()
        .map(|s| StockEntry {
            stock_id: &s.stock_id,
            name: s.name.as_deref(),
        })
        .collect()
}

async fn show(config: &Config, token: &str, json: bool) -> Result<(), String> {
    let api = client(config, "show")?;
    let index = resolve_stock(token, &stock_entries(config)).map_err(|e| e.to_string())?;
    let stock = &config.stocks[index];
    let response = api
        .get_stock(&stock.key())
        .await
        .map_err(|e| format!("cannot show stock {}: {e}", stock.stock_id))?;
    let text = if json {
        serde_json::to_string_pretty(&response.value).expect("StockEntity serializes")
    } else {
        render::stock_text(&stock.label(), &response.value)
    };
    print_line(&text)
}

/// Writes one line to stdout. A reader that went away (`| head`) ends the command quietly.
fn print_line(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(format!("cannot write output: {e}")),
    }
}

fn audit(config: &Config, store: &Store, command: AuditCmd) -> Result<(), String> {
    match command {
        AuditCmd::Verify => match store.verify_audit().map_err(|e| e.to_string())? {
            Ok(count) => print_line(&format!("audit log OK: {count} entries, hash chain intact")),
            Err(broken) => Err(format!(
                "audit log broken at entry #{}: {}",
                broken.seq, broken.reason
            )),
        },
        AuditCmd::Show { stock } => {
            let stock_id = match stock {
                Some(token) => {
                    let index =
                        resolve_stock(&token, &stock_entries(config)).map_err(|e| e.to_string())?;
                    Some(config.stocks[index].stock_id.clone())
                }
                None => None,
            };
            let entries = store
                .audit_entries(stock_id.as_deref())
                .map_err(|e| e.to_string())?;
            for entry in &entries {
                print_line(&render::audit_line(entry))?;
            }
            Ok(())
        }
    }
}
