//! Appending to the event log. Every event gets a global sequence number from one counter
//! row, bumped as the last write of its transaction: the row lock is held until commit, so
//! sequence numbers commit in order and a feed cursor never skips an event that commits late.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, InsertStatement, Query as SqlQuery, ReturningClause,
    SelectStatement, SubQueryStatement, UnionType, UpdateStatement, WithClause,
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
    if insert_in_sequence(db, &rows(order_id, events, at)).await? {
        Ok(())
    } else {
        Err(DbErr::Custom("event counter missing".into()).into())
    }
}

/// The event rows to insert (their `seq` assigned by the statement).
pub fn rows(order_id: Uuid, events: Vec<NewEvent>, at: DateTime<Utc>) -> Vec<order_event::Model> {
    events
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
        .collect()
}

/// Bumps the event counter by the number of events and inserts them numbered from it (their
/// `seq` as given is ignored), in one round trip: on PostgreSQL one statement (the bump a
/// data-modifying `WITH`), on SQLite the bump and the insert as two statements of one
/// query. The counter's row is then locked (PostgreSQL) from this statement to the commit,
/// without a further round trip in between. `false` when the counter's row is missing.
pub async fn insert_in_sequence(db: &impl ConnectionTrait, events: &[order_event::Model]) -> Result<bool, DbErr> {
    let Some(statement) = in_sequence(db.get_database_backend(), events, None)? else { return Ok(true) };
    Ok(db.execute_raw(statement).await?.rows_affected() > 0)
}

/// A write the events of [`in_sequence`] depend on: they are inserted only if it wrote a
/// row; and, optionally, a write that depends on it in the same way.
pub struct Guard {
    first: GuardWrite,
    then: Option<UpdateStatement>,
}

enum GuardWrite {
    Update(UpdateStatement),
    Insert(InsertStatement),
}

impl Guard {
    pub fn update(update: UpdateStatement) -> Self {
        Self { first: GuardWrite::Update(update), then: None }
    }

    pub fn insert(insert: InsertStatement) -> Self {
        Self { first: GuardWrite::Insert(insert), then: None }
    }

    /// `then` written too, only if the guard wrote a row.
    pub fn then(mut self, then: Option<UpdateStatement>) -> Self {
        self.then = then;
        self
    }

    /// Whether a write depends on the guard besides the events.
    pub fn has_then(&self) -> bool {
        self.then.is_some()
    }
}

/// [`insert_in_sequence`]'s statement; with `guard`, a write that runs first in the same
/// round trip, and the events are inserted only if it changed a row: on PostgreSQL it is a
/// data-modifying `WITH` (`moved`, returning its rows) that the counter's bump requires, on
/// SQLite the first statement of the query, whose count of changed rows (`changes()`) the
/// bump and the insert require. The guard's `then` is another data-modifying `WITH` that
/// requires `moved` (PostgreSQL), or the last statement, requiring the events' insert to
/// have changed rows (SQLite). With a guard the statement returns one row per event
/// inserted: none when the guard changed nothing. `None` for no events.
pub fn in_sequence(
    backend: DatabaseBackend,
    events: &[order_event::Model],
    guard: Option<Guard>,
) -> Result<Option<Statement>, DbErr> {
    in_sequence_after(backend, events, guard, Vec::new(), None)
}

/// [`in_sequence`] on PostgreSQL after the data-modifying `WITH`s `before` (which the
/// events do not depend on: the statement fails as a whole or writes it all), returning
/// `returning` for each event inserted instead of what it would. On SQLite `before` must be
/// empty.
pub fn in_sequence_after(
    backend: DatabaseBackend,
    events: &[order_event::Model],
    guard: Option<Guard>,
    before: Vec<CommonTableExpression>,
    returning: Option<ReturningClause>,
) -> Result<Option<Statement>, DbErr> {
    if backend != DatabaseBackend::Postgres && !before.is_empty() {
        return Err(DbErr::Custom("data-modifying WITHs before the events are PostgreSQL's".into()));
    }
    let Some(n) = i64::try_from(events.len()).ok().filter(|n| *n > 0) else { return Ok(None) };
    let pg = backend == DatabaseBackend::Postgres;
    let moved = Alias::new("moved");
    // The guard's condition on the bump and the insert.
    let held = || -> Expr {
        if pg {
            Expr::exists(SqlQuery::select().expr(Expr::val(1)).from(moved.clone()).to_owned())
        } else {
            Expr::cust("changes() = 1")
        }
    };
    let mut bump = SqlQuery::update();
    bump.table(event_counter::Entity)
        .value(event_counter::Column::Value, Expr::col(event_counter::Column::Value).add(n))
        .and_where(event_counter::Column::Id.eq(1));
    if guard.is_some() {
        bump.and_where(held());
    }
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
        if pg {
            row.from(c.clone());
        } else {
            row.from_as(event_counter::Entity, c.clone())
                .and_where(Expr::col((c.clone(), event_counter::Column::Id)).eq(1));
            if guard.is_some() {
                row.and_where(held());
            }
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
    let one = || SqlQuery::returning().expr(Expr::val(1));
    if let Some(returning) = returning {
        insert.returning(returning);
    } else if guard.is_some() {
        insert.returning(one());
    }
    let statement = if pg {
        bump.returning_col(event_counter::Column::Value);
        let mut with = WithClause::new();
        for cte in before {
            with.cte(cte);
        }
        if let Some(Guard { first, then }) = guard {
            let first: SubQueryStatement = match first {
                GuardWrite::Update(mut update) => update.returning(one()).to_owned().into(),
                GuardWrite::Insert(mut insert) => insert.returning(one()).to_owned().into(),
            };
            with.cte(CommonTableExpression::new().query(first).table_name(moved.clone()).to_owned());
            if let Some(mut then) = then {
                then.and_where(held()).returning(one());
                with.cte(CommonTableExpression::new().query(then).table_name(Alias::new("followed")).to_owned());
            }
        }
        with.cte(CommonTableExpression::new().query(bump).table_name(c).to_owned());
        backend.build(&insert.with(with))
    } else {
        let mut parts = Vec::new();
        let mut then = None;
        if let Some(Guard { first, then: next }) = guard {
            parts.push(match first {
                GuardWrite::Update(update) => backend.build(&update),
                GuardWrite::Insert(insert) => backend.build(&insert),
            });
            then = next;
        }
        parts.push(backend.build(&bump));
        parts.push(backend.build(&insert));
        if let Some(mut then) = then {
            // After the events' insert, `changes()` is the number of events inserted.
            parts.push(backend.build(then.and_where(Expr::cust("changes() > 0"))));
        }
        crate::statement::sqlite_batch(parts)
    };
    Ok(Some(statement))
}
