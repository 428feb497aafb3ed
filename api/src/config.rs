//! Typed settings: defaults, then an optional `shenbian.toml`, then `SHENBIAN_*`
//! environment variables, then command-line flags. Validated once at start with a message
//! that names the bad setting; secrets never show in `Debug` or logs.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A value that must never be printed: `Debug` shows `<redacted>`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An address or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in the range (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl TryFrom<String> for IpNet {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let bad = || format!("`{value}` is not an IP address or CIDR range");
        let (addr, prefix) = match value.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (value.trim(), None),
        };
        let addr = addr.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

impl From<IpNet> for String {
    fn from(net: IpNet) -> Self {
        format!("{}/{}", net.addr, net.prefix)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// Survives a process crash; the last transactions may be lost on power loss.
    Normal,
    /// Survives power loss, at the cost of an fsync per commit.
    Full,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Every setting of the service. Field names are the `shenbian.toml` keys; the environment
/// variable is the name in capitals behind `SHENBIAN_` (`SHENBIAN_DATABASE_URL`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Where the embedded SQLite database lives when `database_url` is not set.
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://...`; may carry a password, so it is a secret.
    pub database_url: Option<Secret>,
    pub sqlite_synchronous: SqliteSynchronous,
    pub db_max_connections: u32,
    /// How long a request waits for a pooled connection before it answers 503.
    pub db_acquire_timeout_ms: u64,
    /// How long SQLite waits for the write lock before giving up.
    pub db_busy_timeout_ms: u64,
    /// Pause between attempts to reach the database at start.
    pub db_retry_interval_ms: u64,
    /// HS256 key, at least 32 characters. When unset, one is generated once and kept in
    /// the database, so every instance on that database shares it.
    pub jwt_secret: Option<Secret>,
    pub access_token_ttl_secs: u64,
    /// Clock skew tolerated when checking `exp`.
    pub jwt_leeway_secs: u64,
    pub refresh_token_ttl_days: u64,
    /// How long a reset or claim code stays valid.
    pub one_time_code_ttl_hours: u64,
    /// How long an invitation to join a partner waits for its answer.
    pub invitation_ttl_hours: u64,
    /// Failed password or code attempts tolerated per account from one client address
    /// within the window before 429.
    pub login_max_failures_per_account_and_address: u32,
    /// Failed attempts tolerated per client address (on any accounts) within the window
    /// before 429.
    pub login_max_failures_per_address: u32,
    pub login_failure_window_secs: u64,
    /// Failed attempts on one account, from all addresses, after which every further attempt
    /// on it waits before it is evaluated. An account is only slowed down, never locked, so
    /// that strangers cannot lock its owner out.
    pub login_slow_down_after_failures: u32,
    /// The first wait past `login_slow_down_after_failures`; it doubles with each failure.
    pub login_slow_down_base_ms: u64,
    /// The longest wait.
    pub login_slow_down_cap_ms: u64,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` entries are skipped: the
    /// client is the right-most entry that is not one of them.
    pub trusted_proxies: Vec<IpNet>,
    pub request_timeout_secs: u64,
    /// After SIGTERM, how long in-flight requests may take before the process exits anyway.
    pub shutdown_grace_secs: u64,
    /// Password hashes computed at once; defaults to the number of cores.
    pub hash_concurrency: Option<usize>,
    /// A `tracing` filter such as `info` or `shenbian=debug,info`.
    pub log: String,
    pub log_format: LogFormat,
    /// The district's time zone, for calendar months and local dates.
    pub timezone: String,
    /// Completed orders left alone are confirmed automatically after this many hours.
    pub auto_confirm_after_hours: u32,
    /// Run the background worker (offer expiry, escalation, auto-confirm, auto-dispatch) in
    /// this process. Safe in every instance at once.
    pub worker: bool,
    pub worker_interval_secs: u64,
    /// Declined or expired auto-dispatch offers after which an order is escalated to the
    /// dispatchers instead.
    pub auto_dispatch_max_attempts: u32,
    /// The public figures suppress every cell that counts fewer orders, ratings or
    /// volunteers than this (k-anonymity), so that no resident can be singled out.
    pub public_stats_min_count: u64,
    /// Let webhooks deliver to loopback, private, link-local and metadata addresses
    /// (refused by default, checked after DNS resolution at every delivery). For tests and
    /// for receivers on the district's own network.
    pub webhook_allow_private_targets: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            sqlite_synchronous: SqliteSynchronous::Normal,
            db_max_connections: 8,
            db_acquire_timeout_ms: 3_000,
            db_busy_timeout_ms: 5_000,
            db_retry_interval_ms: 1_000,
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            jwt_leeway_secs: 5,
            refresh_token_ttl_days: 30,
            one_time_code_ttl_hours: 72,
            invitation_ttl_hours: 7 * 24,
            login_max_failures_per_account_and_address: 5,
            login_max_failures_per_address: 50,
            login_failure_window_secs: 15 * 60,
            login_slow_down_after_failures: 10,
            login_slow_down_base_ms: 250,
            login_slow_down_cap_ms: 4_000,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            request_timeout_secs: 30,
            shutdown_grace_secs: 20,
            hash_concurrency: None,
            log: "info".to_owned(),
            log_format: LogFormat::Pretty,
            timezone: "Asia/Shanghai".to_owned(),
            auto_confirm_after_hours: 72,
            worker: true,
            worker_interval_secs: 5,
            auto_dispatch_max_attempts: 3,
            public_stats_min_count: 5,
            webhook_allow_private_targets: false,
        }
    }
}

/// Environment variables with the `SHENBIAN_` prefix that are not settings.
const NOT_SETTINGS: &[&str] = &["config", "test_database_url", "admin_password"];

/// The flags as a settings layer whose errors say "command-line flags", not a source file.
struct CommandLine<T>(T);

impl<T: Serialize> figment::Provider for CommandLine<T> {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("command-line flags")
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        Serialized::defaults(&self.0).data()
    }
}

/// A setting that failed validation: names the setting and says what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Load(#[from] Box<figment::Error>),
    #[error("settings file `{0}` not found (named by --config or SHENBIAN_CONFIG)")]
    MissingFile(PathBuf),
    #[error("invalid setting `{name}`: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Settings {
    /// Loads the layers in order; `overrides` are the command-line flags that were given.
    pub fn load(config_file: Option<&Path>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        Self::load_over(Settings::default(), config_file, overrides)
    }

    /// Loads the layers over `defaults` (a one-off command logs less than a server). A file
    /// named by `config_file` or `SHENBIAN_CONFIG` must exist; `./shenbian.toml` may not.
    pub fn load_over(
        defaults: Settings,
        config_file: Option<&Path>,
        overrides: impl Serialize,
    ) -> Result<Self, ConfigError> {
        let named =
            config_file.map(Path::to_path_buf).or_else(|| std::env::var_os("SHENBIAN_CONFIG").map(PathBuf::from));
        if let Some(file) = &named
            && !file.is_file()
        {
            return Err(ConfigError::MissingFile(file.clone()));
        }
        let file = named.unwrap_or_else(|| PathBuf::from("shenbian.toml"));
        let settings: Settings = Figment::from(Serialized::defaults(defaults))
            .merge(Toml::file(file))
            .merge(Env::prefixed("SHENBIAN_").ignore(NOT_SETTINGS))
            .merge(CommandLine(overrides))
            .extract()
            .map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, reason: &str| Err(ConfigError::Invalid { name, reason: reason.to_owned() });
        if let Some(secret) = &self.jwt_secret
            && secret.expose().len() < 32
        {
            return invalid("jwt_secret", "must be at least 32 characters");
        }
        if let Some(url) = &self.database_url
            && !["postgres://", "postgresql://", "sqlite:"].iter().any(|p| url.expose().starts_with(p))
        {
            return invalid("database_url", "must start with postgres:// or sqlite:");
        }
        if self.db_max_connections == 0 {
            return invalid("db_max_connections", "must be at least 1");
        }
        if self.db_acquire_timeout_ms == 0 {
            return invalid("db_acquire_timeout_ms", "must be more than 0");
        }
        if !(60..=86_400).contains(&self.access_token_ttl_secs) {
            return invalid("access_token_ttl_secs", "must be between 60 and 86400");
        }
        if self.jwt_leeway_secs > 300 {
            return invalid("jwt_leeway_secs", "must be at most 300");
        }
        if self.refresh_token_ttl_days == 0 {
            return invalid("refresh_token_ttl_days", "must be at least 1");
        }
        if !(1..=8_760).contains(&self.invitation_ttl_hours) {
            return invalid("invitation_ttl_hours", "must be between 1 and 8760 (a year)");
        }
        if self.login_max_failures_per_account_and_address == 0 {
            return invalid("login_max_failures_per_account_and_address", "must be at least 1");
        }
        if self.login_max_failures_per_address == 0 {
            return invalid("login_max_failures_per_address", "must be at least 1");
        }
        // A longer wait would run into the request timeout.
        if self.login_slow_down_cap_ms > 10_000 {
            return invalid("login_slow_down_cap_ms", "must be at most 10000");
        }
        if self.request_timeout_secs == 0 {
            return invalid("request_timeout_secs", "must be more than 0");
        }
        if self.worker_interval_secs == 0 {
            return invalid("worker_interval_secs", "must be at least 1");
        }
        if self.auto_confirm_after_hours == 0 {
            return invalid("auto_confirm_after_hours", "must be at least 1");
        }
        if self.public_stats_min_count == 0 {
            return invalid("public_stats_min_count", "must be at least 1");
        }
        if self.hash_concurrency == Some(0) {
            return invalid("hash_concurrency", "must be at least 1");
        }
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            return invalid("timezone", "is not an IANA time zone such as Asia/Shanghai");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log).is_err() {
            return invalid("log", "is not a valid tracing filter");
        }
        Ok(())
    }

    /// The database to use: the configured URL, else the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("shenbian.db").display()),
        }
    }

    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return its large error type
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let settings = Settings {
            jwt_secret: Some(Secret::new("a-very-long-secret-that-nobody-should-see")),
            database_url: Some(Secret::new("postgres://app:hunter2@db/shenbian")),
            ..Settings::default()
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("nobody-should-see"));
        assert!(!printed.contains("hunter2"));
    }

    #[test]
    fn proxy_ranges_hold_their_addresses_only() {
        let net = IpNet::try_from("10.1.0.0/16".to_owned()).unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one = IpNet::try_from("2001:db8::1".to_owned()).unwrap();
        assert!(one.contains("2001:db8::1".parse().unwrap()));
        assert!(!one.contains("2001:db8::2".parse().unwrap()));
        assert!(IpNet::try_from("0.0.0.0/0".to_owned()).unwrap().contains("192.0.2.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "proxy", "10.0.0/8", ""] {
            assert!(IpNet::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn trusted_proxies_load_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SHENBIAN_TRUSTED_PROXIES", r#"["10.0.0.0/8", "192.0.2.7"]"#);
            let settings = Settings::load(None, crate::cli::Flags::default()).unwrap();
            assert_eq!(settings.trusted_proxies.len(), 2);
            assert!(settings.trusted_proxies[0].contains("10.9.8.7".parse().unwrap()));
            Ok(())
        });
    }

    #[test]
    fn validation_names_the_bad_setting() {
        let settings = Settings { jwt_secret: Some(Secret::new("short")), ..Settings::default() };
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("jwt_secret"), "{err}");
    }

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("shenbian.toml", "bind = \"127.0.0.1:9000\"\nlog = \"debug\"")?;
            jail.set_env("SHENBIAN_LOG", "warn");
            #[derive(Serialize)]
            struct Flags {
                #[serde(skip_serializing_if = "Option::is_none")]
                data_dir: Option<String>,
            }
            let settings = Settings::load(None, Flags { data_dir: Some("/tmp/x".into()) }).unwrap();
            assert_eq!(settings.bind.port(), 9000);
            assert_eq!(settings.log, "warn");
            assert_eq!(settings.data_dir, PathBuf::from("/tmp/x"));
            Ok(())
        });
    }

    #[test]
    fn a_mistyped_value_names_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SHENBIAN_DB_MAX_CONNECTIONS", "many");
            let err = Settings::load(None, crate::cli::Flags::default()).unwrap_err().to_string();
            assert!(err.to_lowercase().contains("db_max_connections"), "{err}");
            Ok(())
        });
    }
}
