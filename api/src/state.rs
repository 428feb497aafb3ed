//! What every handler shares: settings, the database (once reachable), the keys, the
//! password hasher, metrics and the clock. Nothing here must be shared between instances:
//! keys come from the database, throttling counts live there.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::{OnceCell, watch};

use crate::config::Settings;
use crate::crypto::keys::Keys;
use crate::crypto::password::Hasher;
use crate::db::Database;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::orders::log_watch::LogWatch;
use crate::readers::Reads;

/// Where "now" comes from, so tests can move time instead of sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: Database,
    pub keys: OnceCell<Keys>,
    pub hasher: Hasher,
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
    /// What the live streams hear of the event log (kept by [`crate::orders::stream::watch_log`]).
    pub log: LogWatch,
    ready: watch::Sender<bool>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(settings: Settings, clock: Arc<dyn Clock>) -> Self {
        // Password hashing gets half the cores at most: a burst of sign-ins (or an attack on
        // them) leaves the other half to the orders. Each hashing slot keeps 7 MiB.
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let hasher = Hasher::new(settings.hash_concurrency.unwrap_or((cores / 2).max(1)));
        Self(Arc::new(Inner {
            settings,
            db: Database::default(),
            keys: OnceCell::new(),
            hasher,
            metrics: Metrics::default(),
            clock,
            log: LogWatch::default(),
            ready: watch::Sender::new(false),
        }))
    }

    /// The database, or 503 while it is not reachable and migrated yet.
    pub fn db(&self) -> Result<&DatabaseConnection, ApiError> {
        self.db.get()
    }

    /// Where the hot reads run: on SQLite its own readers, given back without sqlx's ping
    /// ([`crate::readers`]); else the pool. 503 while the database is not ready.
    pub fn reads(&self) -> Result<Reads<'_>, ApiError> {
        self.db.reads()
    }

    pub fn keys(&self) -> Result<&Keys, ApiError> {
        self.keys.get().ok_or(ApiError::Unavailable)
    }

    /// Now, to the microsecond: what PostgreSQL keeps of a timestamp, so that a row built in
    /// memory and written is the row that reading it back gives (see `orders::store::write::compare_and_set`).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
    }

    /// The district's time zone (validated at start).
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.settings.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// Today's date in the district: contracts run and quotas reset by local dates.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&self.timezone()).date_naive()
    }

    /// Marks the service ready: keys first, so a reachable database implies usable keys.
    pub fn set_ready(&self, db: DatabaseConnection, keys: Keys) {
        let _ = self.keys.set(keys);
        self.db.set(db);
        self.ready.send_replace(true);
    }

    /// Waits until the database is reachable and migrated.
    pub async fn wait_ready(&self) {
        let _ = self.ready.subscribe().wait_for(|ready| *ready).await;
    }
}
