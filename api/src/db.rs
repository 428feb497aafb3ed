//! The database: connecting (SQLite tuned for concurrent writers, or PostgreSQL), migrating,
//! and the write transactions every state change runs in.
//!
//! The server does not need the database to start: [`Database`] is empty until a background
//! task has connected and migrated, and handlers asking for it meanwhile answer 503.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous as SqlxSync};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use shenbian_migrations::{Migrator, MigratorTrait};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::config::{Settings, SqliteSynchronous};
use crate::error::ApiError;
use crate::readers::{Readers, Reads};

/// Opens a pool for the configured database. For SQLite: WAL, the configured `synchronous`,
/// foreign keys, a busy timeout, and the data directory created on first start.
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    let url = settings.effective_database_url();
    if settings.database_url.is_none() {
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|e| DbErr::Custom(format!("cannot create data directory: {e}")))?;
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(pool_size(settings))
        .min_connections(0)
        .acquire_timeout(settings.db_acquire_timeout())
        .connect_timeout(settings.db_acquire_timeout())
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    let synchronous = match settings.sqlite_synchronous {
        SqliteSynchronous::Normal => SqlxSync::Normal,
        SqliteSynchronous::Full => SqlxSync::Full,
    };
    let busy = Duration::from_millis(settings.db_busy_timeout_ms);
    options.map_sqlx_sqlite_opts(move |opts| {
        opts.journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(busy)
            .create_if_missing(true)
    });
    // A row held locked elsewhere must not hang a request: fail fast, answer 503. A quarter
    // of the acquire timeout, not all of it: a request waiting for a lock holds a pooled
    // connection, and the requests queued behind it wait for one at most the acquire
    // timeout. Were the two equal, the lock waiters would give their connections back just
    // as everyone queued behind them gave up: reads of unrelated rows would answer 503 too,
    // and requests at the locked row would take up to three acquire timeouts
    // (api/tests/pool_exhaustion.rs).
    let lock_timeout = (settings.db_acquire_timeout_ms / 4).max(1);
    options.map_sqlx_postgres_opts(move |opts| {
        // No JIT: compiling a plan costs tens of milliseconds, more than any statement here
        // gains from it (the year's figures spent 75 ms compiling).
        opts.options([
            ("lock_timeout", format!("{lock_timeout}ms")),
            ("timezone", "UTC".to_owned()),
            ("jit", "off".to_owned()),
        ])
    });
    sea_orm::Database::connect(options).await
}

/// The pool's size: `db_max_connections`, and on SQLite at most as many as the machine has
/// cores (at least two). Each SQLite connection runs its statements on a thread of its own:
/// more of them than cores add threads, task switches and memory, not reads (at 32 users on
/// two cores, two readers served the mixed load as fast as eight, with 6 MiB less memory;
/// docs/BENCHMARKS.md, "Memory: SQLite's readers"). The writes have their own connection.
pub fn pool_size(settings: &Settings) -> u32 {
    if !settings.effective_database_url().starts_with("sqlite:") {
        return settings.db_max_connections;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
    settings.db_max_connections.min(cores.max(2))
}

/// Connects and applies every pending migration. Safe to run while a server uses the
/// same database: migrations are idempotent and recorded in `seaql_migrations`.
pub async fn connect_and_migrate(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    let db = connect(settings).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Begins a write transaction. On SQLite it begins IMMEDIATE, taking the write lock at
/// once: a deferred transaction that reads and then writes fails with BUSY_SNAPSHOT when
/// another writer got in between, while an immediate one simply queues.
///
/// On SQLite the writers of this process take turns, on one gate per database file, and
/// write on one connection of their own, the file's writer: SQLite has one write lock, and
/// a writer that finds it taken sleeps in the busy handler (1, 2, 5, 10, … up to 100 ms);
/// queued on the gate, a writer starts the moment the one before it commits. The writer
/// is not one of the pool's connections, so a writer never waits for the readers to give
/// one back while the others queue behind it, and every write transaction runs on the
/// same connection (its statements prepared, its pages cached). The busy timeout still
/// covers other processes (the CLI) writing to the same file.
///
/// The writer does not checkpoint the write-ahead log after its commits (SQLite's default,
/// every 1,000 pages, copies the log into the database file and syncs both, tens of
/// milliseconds with the write lock held: every writer queued behind waited for it); a
/// checkpoint runs beside the writers every [`CHECKPOINT_EVERY`] commits instead, on a
/// connection of its own, and holds the writers back only for the last few pages when the
/// log is to start over ([`Checkpointer`]).
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTx, DbErr> {
    let writer = (db.get_database_backend() == DatabaseBackend::Sqlite).then(|| sqlite_writer(db));
    let db = writer.as_ref().map_or_else(|| db.clone(), |w| w.connection.clone());
    Ok(WriteTx { db, tx: OnceCell::new(), writer, turn: OnceCell::new() })
}

async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// SQLite write commits between two checkpoints of the write-ahead log. A step writes some
/// eighteen pages (the order, the offer, the event, their indexes), so a checkpoint has
/// about 5 MB of log to sync: a few milliseconds of the disk, during which the writer's own
/// appends to the log may wait. Shorter syncs, more often, keep those waits short
/// (docs/BENCHMARKS.md, "SQLite's checkpoints").
pub const CHECKPOINT_EVERY: u32 = 64;

/// Pages in the write-ahead log from which a checkpoint finishes with the writers held
/// back, so that the log starts over from its beginning (16 MB).
pub const RESTART_AT: i64 = 4_096;

/// Pages in the write-ahead log at which the writer checkpoints in its own turn (SQLite's
/// `wal_autocheckpoint`): the backstop when the checkpointer cannot finish (64 MB).
pub const BACKSTOP_AT: i64 = 16_384;

/// The writer's checkpoints of one SQLite file, one at a time, on a connection of its own:
/// every [`CHECKPOINT_EVERY`] commits a `PASSIVE` checkpoint, which copies what it can of
/// the log into the database file without waiting for, or blocking, readers and writers.
///
/// Under a steady load such a checkpoint never finishes — the writer appends while it
/// copies — and SQLite starts the log over only after a finished one, so the log would
/// grow until the writer's own checkpoint at 16,384 pages, which syncs both files inside
/// the writer's turn (8–10 ms every 1.3 s at 1,000 requests/s). So once the log holds
/// [`RESTART_AT`] pages, the checkpointer copies again what was written meanwhile, then
/// takes the writers' turn and copies the rest — a few dozen pages, usually in a
/// millisecond or two, though the syncs decide — and the next writer starts the log over.
/// The writer keeps SQLite's own checkpoint at 16,384 pages as a backstop (a reader that
/// holds on to an old snapshot keeps the log from starting over).
struct Checkpointer {
    commits: AtomicU32,
    running: AtomicBool,
    connection: DatabaseConnection,
    /// The writers' gate, held for a checkpoint's last pages.
    gate: Arc<Semaphore>,
}

impl Checkpointer {
    /// Counts `n` committed write transactions and, every [`CHECKPOINT_EVERY`], starts a
    /// checkpoint unless one runs.
    fn committed(self: &Arc<Self>, n: u32) {
        if self.commits.fetch_add(n, Ordering::Relaxed) + n < CHECKPOINT_EVERY
            || self.running.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.commits.store(0, Ordering::Relaxed);
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.checkpoint().await {
                tracing::warn!(error = %e, "write-ahead log checkpoint failed");
            }
            this.running.store(false, Ordering::Release);
        });
    }

    /// A `PASSIVE` checkpoint and, once the log is long, its finish in the writers' turn.
    async fn checkpoint(&self) -> Result<(), DbErr> {
        if self.passive().await? < RESTART_AT {
            return Ok(());
        }
        self.passive().await?;
        let _turn = self.gate.clone().acquire_owned().await.map_err(|e| DbErr::Custom(e.to_string()))?;
        self.passive().await?;
        Ok(())
    }

    /// One `PASSIVE` checkpoint; the pages in the log.
    async fn passive(&self) -> Result<i64, DbErr> {
        let sql = Statement::from_string(DatabaseBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
        let row = self.connection.query_one_raw(sql).await?;
        // (busy, pages in the log, pages copied); -1 when the file is not in WAL mode.
        Ok(row.map(|row| row.try_get_by_index::<i64>(1)).transpose()?.unwrap_or(-1))
    }
}

/// The writers of one SQLite database file in this process: their gate, their connection,
/// their checkpoints and the queue of their commit groups.
#[derive(Clone)]
struct SqliteWriter {
    gate: Arc<Semaphore>,
    connection: DatabaseConnection,
    checkpointer: Arc<Checkpointer>,
    groups: Arc<Groups>,
}

/// The writer of the pool's database file, shared by every pool of the process on that
/// file (a pool of one connection, with the pool's settings and connect options; it
/// connects on first use and again after a failure).
fn sqlite_writer(db: &DatabaseConnection) -> SqliteWriter {
    static WRITERS: LazyLock<Mutex<HashMap<PathBuf, SqliteWriter>>> = LazyLock::new(Default::default);
    let pool = db.get_sqlite_connection_pool();
    let options = pool.connect_options();
    let file = options.get_filename();
    let mut writers = WRITERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(writer) = writers.get(file) {
        return writer.clone();
    }
    // Files that are gone (a test's database) take their writers with them.
    writers.retain(|file, _| file.exists());
    let one = || pool.options().clone().max_connections(1).min_connections(0);
    let writer_options = (*options)
        .clone()
        .pragma("wal_autocheckpoint", BACKSTOP_AT.to_string())
        .statement_cache_capacity(WRITER_STATEMENTS);
    let connection = one().connect_lazy_with(writer_options);
    let checkpoints = one().connect_lazy_with((*options).clone());
    let gate = Arc::new(Semaphore::new(1));
    let writer = SqliteWriter {
        gate: gate.clone(),
        connection: sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(connection),
        checkpointer: Arc::new(Checkpointer {
            commits: AtomicU32::new(0),
            running: AtomicBool::new(false),
            connection: sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(checkpoints),
            gate,
        }),
        groups: Arc::default(),
    };
    writers.insert(file.to_path_buf(), writer.clone());
    writer
}

/// Prepared statements the SQLite writer's connection keeps (sqlx's default is 100): every
/// shape of member a commit group runs, in its four framings (see [`run_group`]), besides the
/// statements of the writes that are not groups' members.
const WRITER_STATEMENTS: usize = 200;

/// The most write transactions one commit group holds.
pub const GROUP_MAX: usize = 32;

/// The queue of one SQLite writer's commit groups, and what they have committed.
#[derive(Default)]
struct Groups {
    /// The queue's sending end; the thread that runs the groups holds the other, and ends
    /// when this is dropped.
    queue: Mutex<Option<mpsc::UnboundedSender<Member>>>,
    done: Arc<GroupsDone>,
}

/// What one writer's commit groups have committed.
#[derive(Default)]
struct GroupsDone {
    groups: AtomicU64,
    members: AtomicU64,
}

/// A write transaction of one batch of statements, waiting for a commit group.
struct Member {
    batch: Statement,
    answer: oneshot::Sender<Result<Vec<QueryResult>, DbErr>>,
}

impl SqliteWriter {
    /// Runs `batch` as a write transaction of its own in the writer's next commit group;
    /// the rows its statements return, once the group has committed.
    async fn in_group(&self, batch: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let (answer, answered) = oneshot::channel();
        self.enqueue(Member { batch, answer })?;
        answered.await.map_err(|_| DbErr::Custom("the writer stopped before the commit".to_owned()))?
    }

    /// Queues a member, starting the thread that runs the groups when there is none.
    fn enqueue(&self, member: Member) -> Result<(), DbErr> {
        let mut queue = self.groups.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let member = match queue.as_ref() {
            Some(running) => match running.send(member) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(member)) => member,
            },
            None => member,
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let _ = sender.send(member);
        let groups = GroupRunner {
            gate: self.gate.clone(),
            connection: self.connection.clone(),
            checkpointer: self.checkpointer.clone(),
            done: self.groups.done.clone(),
        };
        // A thread of its own, on a runtime of its own: between one member's hand-off and the
        // next, the groups wait for the writer's connection only, never behind the requests
        // queued on the server's runtime.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbErr::Custom(format!("cannot start the commit groups' runtime: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-groups".to_owned())
            .spawn(move || runtime.block_on(groups.run(receiver)))
            .map_err(|e| DbErr::Custom(format!("cannot start the commit groups' thread: {e}")))?;
        *queue = Some(sender);
        Ok(())
    }
}

/// What runs one writer's commit groups.
struct GroupRunner {
    gate: Arc<Semaphore>,
    connection: DatabaseConnection,
    checkpointer: Arc<Checkpointer>,
    done: Arc<GroupsDone>,
}

impl GroupRunner {
    /// The writer's commit groups, one after another: a group takes every write transaction
    /// queued when the one before has committed — up to [`GROUP_MAX`], and those that queue
    /// while it waits for the writers' turn — and runs them in one transaction, each in a
    /// savepoint of its own, with one commit. A group never waits for more members: under a
    /// light load a group is one transaction, under a heavy one the queue fills while the
    /// group before commits. A member whose request has gone (timed out) is left out.
    async fn run(self, mut queue: mpsc::UnboundedReceiver<Member>) {
        let mut group = Vec::with_capacity(GROUP_MAX);
        while let Some(first) = queue.recv().await {
            group.push(first);
            let Ok(turn) = self.gate.clone().acquire_owned().await else { return };
            while group.len() < GROUP_MAX
                && let Ok(member) = queue.try_recv()
            {
                group.push(member);
            }
            group.retain(|m| !m.answer.is_closed());
            let committed = run_group(&self.connection, std::mem::take(&mut group), &self.done).await;
            drop(turn);
            if committed > 0 {
                self.checkpointer.committed(committed);
            }
        }
    }
}

/// Runs one commit group on the writer's connection and answers its members; the number of
/// members committed.
///
/// Each member is one hand-off to the connection's thread: its batch inside `SAVEPOINT
/// member … RELEASE member`, the first also beginning the transaction (`BEGIN IMMEDIATE`),
/// the last also committing it. Every batch text is then one of four per shape of member,
/// each prepared once. A member whose batch fails is rolled back to its savepoint, alone,
/// and answered its error; the others go on. When the rollback to the savepoint itself
/// fails (SQLite rolled the whole transaction back, or the commit failed), the transaction
/// is rolled back and every member of it answered with the error. Members are answered
/// once their commit is done, and counted in `done` (a transaction committed) before that.
async fn run_group(db: &DatabaseConnection, group: Vec<Member>, done: &GroupsDone) -> u32 {
    let mut pending: Vec<(oneshot::Sender<_>, Vec<QueryResult>)> = Vec::with_capacity(group.len());
    let mut committed = 0;
    let mut open = false;
    let last = group.len().saturating_sub(1);
    for (i, Member { batch, answer }) in group.into_iter().enumerate() {
        let begin = if open { "" } else { "BEGIN IMMEDIATE;\n" };
        let commit = if i == last { ";\nCOMMIT" } else { "" };
        let sql = format!("{begin}SAVEPOINT member;\n{};\nRELEASE member{commit}", batch.sql);
        match db.query_all_raw(Statement { sql, ..batch }).await {
            Ok(rows) => {
                pending.push((answer, rows));
                open = i != last;
            }
            Err(e) => match db.execute_unprepared("ROLLBACK TO member; RELEASE member").await {
                Ok(_) => {
                    let _ = answer.send(Err(e));
                    open = true;
                }
                Err(_) => {
                    rollback(db).await;
                    let message = e.to_string();
                    for (answer, _) in pending.drain(..) {
                        let _ = answer.send(Err(DbErr::Custom(message.clone())));
                    }
                    let _ = answer.send(Err(e));
                    open = false;
                }
            },
        }
        if i == last && open {
            // The last member failed alone: the others commit without it.
            if let Err(e) = db.execute_unprepared("COMMIT").await {
                rollback(db).await;
                let message = e.to_string();
                for (answer, _) in pending.drain(..) {
                    let _ = answer.send(Err(DbErr::Custom(message.clone())));
                }
            }
            open = false;
        }
        if !open && !pending.is_empty() {
            // Counted before the answers: whoever is answered sees its commit counted.
            done.groups.fetch_add(1, Ordering::Relaxed);
            done.members.fetch_add(pending.len() as u64, Ordering::Relaxed);
            for (answer, rows) in pending.drain(..) {
                committed += 1;
                let _ = answer.send(Ok(rows));
            }
        }
    }
    committed
}

/// Rolls back the writer's transaction, if one is open.
async fn rollback(db: &DatabaseConnection) {
    if let Err(e) = db.execute_unprepared("ROLLBACK").await
        && !e.to_string().contains("no transaction is active")
    {
        tracing::error!(error = %e, "a commit group could not be rolled back");
    }
}

/// How many commit groups the SQLite writer of `db`'s file has committed, and how many write
/// transactions they held; `None` on PostgreSQL.
pub fn commit_groups_done(db: &DatabaseConnection) -> Option<(u64, u64)> {
    (db.get_database_backend() == DatabaseBackend::Sqlite).then(|| {
        let done = &sqlite_writer(db).groups.done;
        (done.groups.load(Ordering::Relaxed), done.members.load(Ordering::Relaxed))
    })
}

/// Empties SQLite's write-ahead log into the database file (a `TRUNCATE` checkpoint) in the
/// writers' turn, so that a stopped server leaves its data in the one file and a log of
/// zero bytes. Run at shutdown, after the last request; nothing to do on PostgreSQL.
pub async fn checkpoint_to_zero(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(());
    }
    let writer = sqlite_writer(db);
    let _turn = writer.gate.acquire().await.map_err(|e| DbErr::Custom(e.to_string()))?;
    let sql = Statement::from_string(DatabaseBackend::Sqlite, "PRAGMA wal_checkpoint(TRUNCATE)");
    let row = writer.checkpointer.connection.query_one_raw(sql).await?;
    let busy: i32 = row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(0);
    if busy != 0 {
        return Err(DbErr::Custom("a reader held the write-ahead log; it was not emptied".to_owned()));
    }
    Ok(())
}

/// Writes a consistent copy of a SQLite database, live or not, to a new file (`VACUUM
/// INTO`: one read transaction, so writers carry on meanwhile). The copy is a complete
/// database of its own, compacted, with no log beside it.
pub async fn backup_sqlite(db: &DatabaseConnection, to: &std::path::Path) -> Result<(), String> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Err("backup copies the embedded SQLite database; back up PostgreSQL with pg_dump".to_owned());
    }
    if to.exists() {
        return Err(format!("--to: {} exists already; name a new file", to.display()));
    }
    let path = to.to_str().ok_or("--to: the path is not valid UTF-8")?;
    let sql = Statement::from_sql_and_values(DatabaseBackend::Sqlite, "VACUUM INTO ?", [path.into()]);
    db.execute_raw(sql).await.map_err(|e| format!("backup failed: {e}"))?;
    Ok(())
}

/// A write transaction ([`begin_write`]); on SQLite it holds the process's turn to write
/// from its first statement until it commits, rolls back or is dropped. It begins with its
/// first statement: one that is its only batch ([`WriteTx::finish_with`]) then takes one
/// round trip.
pub struct WriteTx {
    db: DatabaseConnection,
    tx: OnceCell<DatabaseTransaction>,
    /// SQLite's writer of the file; none on PostgreSQL.
    writer: Option<SqliteWriter>,
    turn: OnceCell<Turn>,
}

/// A SQLite writer's turn: the gate's permit, and whom to tell of the commit.
struct Turn {
    _gate: OwnedSemaphorePermit,
    checkpointer: Arc<Checkpointer>,
}

impl WriteTx {
    /// The transaction, begun now (in the writer's turn, on SQLite) if it has not been.
    async fn tx(&self) -> Result<&DatabaseTransaction, DbErr> {
        if let Some(writer) = &self.writer {
            self.turn
                .get_or_try_init(|| async {
                    let gate = writer.gate.clone().acquire_owned().await.map_err(|e| DbErr::Custom(e.to_string()))?;
                    Ok::<_, DbErr>(Turn { _gate: gate, checkpointer: writer.checkpointer.clone() })
                })
                .await?;
        }
        self.tx.get_or_try_init(|| begin(&self.db)).await
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        if let Some(tx) = self.tx.into_inner() {
            tx.commit().await?;
        }
        if let Some(Turn { _gate: gate, checkpointer }) = self.turn.into_inner() {
            // The next writer's turn first; the checkpoint runs beside it.
            drop(gate);
            checkpointer.committed(1);
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        match self.tx.into_inner() {
            Some(tx) => tx.rollback().await,
            None => Ok(()),
        }
    }

    /// Runs `batch` (one statement, or on SQLite several separated by `;`) as the
    /// transaction's last, commits, and returns the rows the batch returns. A transaction
    /// that has not begun takes one round trip for it all: on PostgreSQL the statement runs
    /// on its own (one statement is atomic by itself); on SQLite the batch joins the writer's
    /// next commit group ([`GroupRunner::run`]), one hand-off to the writer's thread, in a
    /// savepoint of its own. When the batch fails, nothing of the transaction is kept.
    pub async fn finish_with(self, batch: Statement) -> Result<Vec<QueryResult>, DbErr> {
        if self.tx.initialized() || self.turn.initialized() {
            let rows = self.query_all_raw(batch).await?;
            self.commit().await?;
            return Ok(rows);
        }
        match &self.writer {
            Some(writer) => writer.in_group(batch).await,
            None => self.db.query_all_raw(batch).await,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tx().await?.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tx().await?.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tx().await?.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tx().await?.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.db.support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.db.is_mock_connection()
    }
}

/// Checks that the database answers.
pub async fn ping(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// The database once it is reachable and migrated; empty before.
#[derive(Clone, Default)]
pub struct Database(Arc<OnceCell<Connected>>);

/// A connected database: its pool, and on SQLite the hot reads' [`Readers`] beside it.
struct Connected {
    pool: DatabaseConnection,
    readers: Option<Readers>,
}

impl Database {
    pub fn ready(db: DatabaseConnection) -> Self {
        let database = Self::default();
        database.set(db);
        database
    }

    pub fn get(&self) -> Result<&DatabaseConnection, ApiError> {
        self.0.get().map(|c| &c.pool).ok_or(ApiError::Unavailable)
    }

    /// Where the hot reads run ([`Reads`]).
    pub fn reads(&self) -> Result<Reads<'_>, ApiError> {
        let connected = self.0.get().ok_or(ApiError::Unavailable)?;
        Ok(Reads { pool: &connected.pool, readers: connected.readers.as_ref() })
    }

    pub fn set(&self, db: DatabaseConnection) {
        let readers = Readers::beside(&db);
        let _ = self.0.set(Connected { pool: db, readers });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn sqlite_reads_on_at_most_as_many_connections_as_cores_postgresql_on_the_setting() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32).max(2);
        let sqlite = Settings { db_max_connections: 64, ..Settings::default() };
        assert_eq!(pool_size(&sqlite), cores.min(64));
        let one = Settings { db_max_connections: 1, ..Settings::default() };
        assert_eq!(pool_size(&one), 1);
        let pg = Settings {
            db_max_connections: 64,
            database_url: Some(Secret::new("postgres://postgres@127.0.0.1:5432/postgres")),
            ..Settings::default()
        };
        assert_eq!(pool_size(&pg), 64);
    }
}
