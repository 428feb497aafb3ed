//! The command line: `shenbian serve` (the default), `shenbian migrate`, `shenbian demo`,
//! `shenbian backup --to FILE`, and `shenbian admin create` for the first admin of a new
//! installation. Flags that every command reads (the settings file, the database, the log
//! format) are global; the rest belong to their command, so each `--help` lists its own.
//! Flags are typed, so that a bad value is refused by name (`--bind`) before anything runs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};
use serde::Serialize;

use crate::config::LogFormat;

#[derive(Debug, Parser)]
#[command(name = "shenbian", version, about = "Shenbian (身边): neighbourhood service marketplace")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalFlags,
    /// `serve`'s flags, for `shenbian` without a command.
    #[command(flatten)]
    pub serve: ServeFlags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the process's arguments into the command to run (`serve` when none is named);
    /// `serve`'s flags before another command are refused.
    pub fn parse_args() -> (GlobalFlags, Command) {
        let cli = Self::parse();
        let command = match cli.command {
            None => Command::Serve(cli.serve),
            Some(Command::Serve(after)) => Command::Serve(ServeFlags {
                bind: after.bind.or(cli.serve.bind),
                no_worker: after.no_worker || cli.serve.no_worker,
            }),
            Some(_) if cli.serve.bind.is_some() || cli.serve.no_worker => {
                let message = "--bind and --no-worker are flags of `serve`";
                Self::command().error(clap::error::ErrorKind::ArgumentConflict, message).exit()
            }
            Some(command) => command,
        };
        (cli.global, command)
    }
}

/// Flags every command reads.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct GlobalFlags {
    /// Settings file (SHENBIAN_CONFIG); default: ./shenbian.toml if present. A file named
    /// here must exist.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL, postgres://… or sqlite:… (SHENBIAN_DATABASE_URL); default: SQLite under
    /// the data directory.
    #[arg(long, global = true, value_name = "URL", value_parser = database_url)]
    pub database_url: Option<String>,
    /// Directory of the embedded SQLite database (SHENBIAN_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format (SHENBIAN_LOG_FORMAT).
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// Flags of `serve`.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeFlags {
    /// Address to listen on (SHENBIAN_BIND).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Do not run the background worker in this process (SHENBIAN_WORKER=false).
    #[arg(long)]
    pub no_worker: bool,
}

/// The flags that were given, as the last layer of settings (see `config::Settings::load`).
#[derive(Debug, Default, Serialize)]
pub struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<bool>,
}

impl Flags {
    pub fn new(global: &GlobalFlags, serve: Option<&ServeFlags>) -> Self {
        Self {
            bind: serve.and_then(|s| s.bind),
            database_url: global.database_url.clone(),
            data_dir: global.data_dir.clone(),
            log_format: global.log_format,
            worker: serve.and_then(|s| s.no_worker.then_some(false)),
        }
    }
}

fn database_url(value: &str) -> Result<String, String> {
    if ["postgres://", "postgresql://", "sqlite:"].iter().any(|p| value.starts_with(p)) {
        Ok(value.to_owned())
    } else {
        Err("must start with postgres:// or sqlite:".to_owned())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(ServeFlags),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill a fresh database with a believable demo district and print its accounts.
    Demo,
    /// Copy the embedded SQLite database, consistently, even while a server runs.
    Backup {
        /// The new file to write (it must not exist yet).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account. The password comes from SHENBIAN_ADMIN_PASSWORD or, at a
    /// terminal, a prompt.
    Create {
        /// Mainland mobile number, the login name.
        #[arg(long)]
        phone: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
