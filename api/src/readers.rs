//! SQLite's readers outside sqlx's pool, for the hot reads (an order, a page of orders, the
//! caller's session).
//!
//! sqlx's pool pings every connection given back to it (`PoolConnection::return_to_pool`:
//! "test the connection on-release"), whatever `test_before_acquire` says: on SQLite a
//! command through the connection's channel and its thread woken to answer it, after every
//! statement — half of a read's thread switches (docs/BENCHMARKS.md, "The request path:
//! where a request's time goes"). The ping guards against a statement's future dropped
//! before it ended, which leaves the connection in a state nobody knows. These readers are
//! given back without a ping when their statement ended, and closed, not given back, when it
//! did not. Their rows are sea-orm's own (`QueryResult` from sqlx's `SqliteRow`), so what
//! they read decodes as everything else does.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sea_orm::sqlx::{self, Connection};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Connections to one SQLite file for reading, as many at once as the pool has, opened with
/// the pool's connect options.
pub struct Readers {
    options: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Semaphore,
    acquire_timeout: Duration,
}

impl Readers {
    /// Readers beside the pool `db`: for a SQLite file, none for PostgreSQL or an in-memory
    /// database (whose every connection would open a database of its own).
    pub fn beside(db: &DatabaseConnection) -> Option<Self> {
        if db.get_database_backend() != DatabaseBackend::Sqlite {
            return None;
        }
        let pool = db.get_sqlite_connection_pool();
        let options = pool.connect_options();
        if !options.get_filename().is_file() {
            return None;
        }
        Some(Self {
            options: (*options).clone(),
            idle: Mutex::default(),
            permits: Semaphore::new(pool.options().get_max_connections() as usize),
            acquire_timeout: pool.options().get_acquire_timeout(),
        })
    }

    /// A connection for one statement: an idle one, or a new one; waits for one at most the
    /// pool's acquire timeout.
    async fn lease(&self) -> Result<Lease<'_>, DbErr> {
        let lease = async {
            let permit =
                self.permits.acquire().await.map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
            let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let connection = match idle {
                Some(connection) => connection,
                None => SqliteConnection::connect_with(&self.options)
                    .await
                    .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?,
            };
            Ok(Lease { readers: self, connection: Some(connection), ended: false, _permit: permit })
        };
        tokio::time::timeout(self.acquire_timeout, lease)
            .await
            .unwrap_or(Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)))
    }

    async fn query_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut lease = self.lease().await?;
        let rows = query(&statement).fetch_all(lease.connection()).await;
        lease.ended = true;
        Ok(rows.map_err(query_err)?.into_iter().map(QueryResult::from).collect())
    }

    async fn query_one(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut lease = self.lease().await?;
        let row = query(&statement).fetch_optional(lease.connection()).await;
        lease.ended = true;
        Ok(row.map_err(query_err)?.map(QueryResult::from))
    }
}

/// sqlx's query for a sea-orm statement, its values bound.
fn query(statement: &Statement) -> sqlx::query::Query<'_, sqlx::Sqlite, SqlxValues> {
    let values = SqlxValues(statement.values.clone().unwrap_or_else(|| sea_orm::Values(Vec::new())));
    sqlx::query_with(sqlx::AssertSqlSafe(statement.sql.as_str()), values)
}

/// A statement's failure, as sea-orm reports its own.
fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

/// A reader lent for one statement: given back when the statement ended (rows or an
/// error), closed when its future was dropped before.
struct Lease<'a> {
    readers: &'a Readers,
    connection: Option<SqliteConnection>,
    ended: bool,
    _permit: SemaphorePermit<'a>,
}

impl Lease<'_> {
    fn connection(&mut self) -> &mut SqliteConnection {
        self.connection.as_mut().expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take().filter(|_| self.ended) {
            self.readers.idle.lock().unwrap_or_else(PoisonError::into_inner).push(connection);
        }
    }
}

/// Where a hot read runs: SQLite's [`Readers`] when the database has them, else the pool.
/// Anything but a query goes to the pool.
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    pub pool: &'a DatabaseConnection,
    pub readers: Option<&'a Readers>,
}

#[async_trait::async_trait]
impl ConnectionTrait for Reads<'_> {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        self.pool.execute_raw(statement).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.pool.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self.readers {
            Some(readers) => readers.query_one(statement).await,
            None => self.pool.query_one_raw(statement).await,
        }
    }

    async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self.readers {
            Some(readers) => readers.query_all(statement).await,
            None => self.pool.query_all_raw(statement).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use sea_orm::{DbBackend, TryGetable};

    use super::*;
    use crate::config::Settings;

    /// Counts to `n` in SQLite: a statement that runs for a while.
    fn count_to(n: i64) -> Statement {
        let sql =
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT count(*) AS n FROM c";
        Statement::from_sql_and_values(DbBackend::Sqlite, sql, [n.into()])
    }

    async fn counted(readers: &Readers, n: i64) -> i64 {
        let rows = readers.query_all(count_to(n)).await.expect("the count");
        i64::try_get(&rows[0], "", "n").expect("n")
    }

    fn idle(readers: &Readers) -> usize {
        readers.idle.lock().unwrap().len()
    }

    #[tokio::test]
    async fn a_reader_whose_statement_was_dropped_unfinished_is_closed_and_the_next_read_answers() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings { data_dir: dir.path().to_path_buf(), ..Settings::default() };
        let db = crate::db::connect(&settings).await.expect("connects");
        let readers = Readers::beside(&db).expect("a SQLite file has readers");
        assert_eq!(counted(&readers, 10).await, 10);
        assert_eq!(idle(&readers), 1, "a reader whose statement ended is given back");

        // A long count, polled once (sent to the reader's thread), then dropped.
        let mut long = Box::pin(readers.query_all(count_to(5_000_000)));
        let polled = long.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert!(matches!(polled, Poll::Pending), "the count is still running");
        drop(long);
        assert_eq!(idle(&readers), 0, "a reader dropped mid-statement is not given back");

        assert_eq!(counted(&readers, 1000).await, 1000);
        assert_eq!(idle(&readers), 1);
    }

    #[tokio::test]
    async fn an_in_memory_sqlite_database_has_no_readers() {
        let memory = sea_orm::Database::connect("sqlite::memory:").await.expect("in memory");
        assert!(Readers::beside(&memory).is_none());
    }
}
