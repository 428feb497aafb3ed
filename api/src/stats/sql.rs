//! What the community's queries share: the window's orders, a timestamp as milliseconds
//! since the epoch (the one expression the two databases spell differently), the snapshot
//! the queries read, and a query's typed rows.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, FromQueryResult,
    IsolationLevel, StatementBuilder, TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use super::Window;
use crate::entity::order;

/// An `orders` column, named with its table (some queries join other tables).
pub fn col(c: order::Column) -> Expr {
    Expr::col((order::Entity, c))
}

/// `SELECT … FROM orders` with no columns yet, over the orders of `community` created in
/// the window: the key of the index that carries every column the figures read
/// (`ix_order_community_figures`).
pub fn window_orders(community: Uuid, w: &Window) -> SelectStatement {
    Query::select()
        .from(order::Entity)
        .and_where(col(order::Column::CommunityId).eq(community))
        .and_where(col(order::Column::CreatedAt).gte(w.start))
        .and_where(col(order::Column::CreatedAt).lt(w.end))
        .to_owned()
}

/// Milliseconds since the epoch of a timestamp column, as a bigint (SQLite keeps times as
/// RFC 3339 text). NULL when the column is.
pub fn millis(backend: DbBackend, c: order::Column) -> Expr {
    let seconds = match backend {
        DbBackend::Sqlite => Func::cust("unixepoch").arg(col(c)).arg("subsec"),
        // `date_part` is double precision, several times cheaper than `EXTRACT`'s numeric.
        _ => Func::cust("date_part").arg("epoch").arg(col(c)),
    };
    // Rounded to the millisecond on both.
    Func::cast_as(Func::round(Expr::from(seconds).mul(1000)), "BIGINT").into()
}

/// `COUNT(CASE WHEN {cond} THEN 1 END)`: the rows for which `cond` holds.
pub fn count_if(cond: Expr) -> Expr {
    Func::count(Expr::case(cond, Expr::cust("1"))).into()
}

/// A count from the database as the figures show it (never negative).
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A derived table's column, unqualified.
pub fn named(name: &'static str) -> Expr {
    Expr::col(Alias::new(name))
}

/// The rows of a query, each decoded by column name.
pub async fn rows<T: FromQueryResult>(
    db: &impl ConnectionTrait,
    query: &impl StatementBuilder,
) -> Result<Vec<T>, DbErr> {
    T::find_by_statement(db.get_database_backend().build(query)).all(db).await
}

/// A read-only snapshot for a community's queries, so that its figures add up even while
/// orders change: on PostgreSQL a repeatable-read transaction, with 32 MB for its sorts and
/// hashes instead of the server's default 4 MB, so that a long window's stay in memory; on
/// SQLite a deferred transaction, whose first read fixes what it sees.
pub async fn snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return db.begin().await;
    }
    let tx = db
        .begin_with_options(TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            sqlite_transaction_mode: None,
        })
        .await?;
    tx.execute_unprepared("SET LOCAL work_mem = '32MB'").await?;
    Ok(tx)
}
