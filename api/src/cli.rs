//! The command line: `shenbian serve` (the default), `shenbian migrate`, `shenbian demo`,
//! `shenbian backup --to FILE`, and `shenbian admin create` for the first admin of a new
//! installation.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(name = "shenbian", version, about = "Shenbian (身边): neighbourhood service marketplace")]
pub struct Cli {
    /// Settings file (default: ./shenbian.toml if present).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub flags: Flags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags that override every other layer of settings.
#[derive(Debug, Default, clap::Args, Serialize)]
pub struct Flags {
    /// Address to listen on (SHENBIAN_BIND).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// Database URL (SHENBIAN_DATABASE_URL); default: SQLite under the data directory.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Directory of the embedded SQLite database (SHENBIAN_DATA_DIR).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Do not run the background worker in this process (SHENBIAN_WORKER=false).
    #[arg(long, global = true)]
    #[serde(skip)]
    pub no_worker: bool,
    /// Log format: pretty or json (SHENBIAN_LOG_FORMAT).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill a fresh database with a believable demo district and print its accounts.
    Demo,
    /// Copy the embedded SQLite database, consistently, even while a server runs.
    Backup {
        /// The new file to write (it must not exist yet).
        #[arg(long)]
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
    /// Create an admin account. The password comes from SHENBIAN_ADMIN_PASSWORD or a prompt.
    Create {
        /// Mainland mobile number, the login name.
        #[arg(long)]
        phone: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
}
