//! Appending to the event log. Every event gets a global sequence number from one counter
//! row, bumped as the last write of its transaction: the row lock is held until commit, so
//! sequence numbers commit in order and a feed cursor never skips an event that commits late.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, Query as SqlQuery, SelectStatement, UnionType, WithClause,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, Iterable, ModelTrait, Statement};
use shenbian_domain::order::{Action, ActorRole, OrderStatus};
use uuid::Uuid;

use super::Stored;
use crate::entity::{event_counter, order_event};

/// One event to append.
pub struct NewEvent {
    pub action: Action,
    pub actor_id: Option<Uuid>,
    pub role: ActorRole,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub reason: Option<String>,
    pub provider_id: Option<Uuid>,
}

impl NewEvent {
    pub fn new(action: Action, actor_id: Option<Uuid>, role: ActorRole, from: OrderStatus, to: OrderStatus) -> Self {
        Self { action, actor_id, role, from: Some(from), to, reason: None, provider_id: None }
    }

    pub fn reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }

    pub fn provider(mut self, provider_id: Uuid) -> Self {
        self.provider_id = Some(provider_id);
        self
    }
}

/// Appends events of one order in one go. Call it last in the transaction.
pub async fn append(db: &impl ConnectionTrait, order_id: Uuid, events: Vec<NewEvent>, at: DateTime<Utc>) -> Stored<()> {
    let rows: Vec<order_event::Model> = events
        .into_iter()
        .map(|e| order_event::Model {
            id: Uuid::now_v7(),
            seq: 0,
            order_id,
            action: e.action.into(),
            actor_id: e.actor_id,
            actor_role: e.role.into(),
            from_status: e.from.map(Into::into),
            to_status: e.to.into(),
            reason: e.reason,
            provider_id: e.provider_id,
            at,
        })
        .collect();
    if insert_in_sequence(db, &rows).await? {
        Ok(())
    } else {
        Err(DbErr::Custom("event counter missing".into()).into())
    }
}

/// Bumps the event counter by the number of events and inserts them numbered from it (their
/// `seq` as given is ignored), in one round trip: on PostgreSQL one statement (the bump a
/// data-modifying `WITH`), on SQLite the bump and the insert as two statements of one
/// query. The counter's row is then locked (PostgreSQL) from this statement to the commit,
/// without a further round trip in between. `false` when the counter's row is missing.
pub async fn insert_in_sequence(db: &impl ConnectionTrait, events: &[order_event::Model]) -> Result<bool, DbErr> {
    let Some(n) = i64::try_from(events.len()).ok().filter(|n| *n > 0) else { return Ok(true) };
    let backend = db.get_database_backend();
    let mut bump = SqlQuery::update();
    bump.table(event_counter::Entity)
        .value(event_counter::Column::Value, Expr::col(event_counter::Column::Value).add(n))
        .and_where(event_counter::Column::Id.eq(1));
    // One `SELECT` per event, numbered from the counter's new value `c.value`: the bump's
    // `RETURNING` (PostgreSQL), or the counter's row as the bump just left it (SQLite).
    let c = Alias::new("c");
    let mut rows: Option<SelectStatement> = None;
    for (i, event) in (0..).zip(events) {
        let mut row = SqlQuery::select();
        for column in order_event::Column::iter() {
            match column {
                order_event::Column::Seq => {
                    row.expr(Expr::col((c.clone(), event_counter::Column::Value)).sub(n - 1 - i))
                }
                _ => row.expr(Expr::value(event.get(column))),
            };
        }
        if backend == DatabaseBackend::Postgres {
            row.from(c.clone());
        } else {
            row.from_as(event_counter::Entity, c.clone())
                .and_where(Expr::col((c.clone(), event_counter::Column::Id)).eq(1));
        }
        match rows.as_mut() {
            Some(first) => {
                first.union(UnionType::All, row);
            }
            None => rows = Some(row),
        }
    }
    let mut insert = SqlQuery::insert();
    insert
        .into_table(order_event::Entity)
        .columns(order_event::Column::iter())
        .select_from(rows.unwrap_or_default())
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    let statement = if backend == DatabaseBackend::Postgres {
        bump.returning_col(event_counter::Column::Value);
        let cte = CommonTableExpression::new().query(bump).table_name(c).to_owned();
        backend.build(&insert.with(WithClause::new().cte(cte).to_owned()))
    } else {
        let (bump, insert) = (backend.build(&bump), backend.build(&insert));
        let mut values = bump.values.map(|v| v.0).unwrap_or_default();
        values.extend(insert.values.map(|v| v.0).unwrap_or_default());
        Statement::from_sql_and_values(backend, format!("{};\n{}", bump.sql, insert.sql), values)
    };
    Ok(db.execute_raw(statement).await?.rows_affected() > 0)
}
