//! An order's intake: what checking a new order (or a correction) reads — its community,
//! category, compound and building, and the caller — the idempotency keys that make a
//! retried creation safe, the residents a dispatcher enters orders for, and the insert.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, InsertStatement, IntoIden, OnConflict, Query as SqlQuery,
    QueryStatementBuilder, WithClause,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult, Iterable,
    ModelTrait, QueryFilter, QueryResult, QuerySelect, Statement, TryInsertResult,
};
use shenbian_domain::{Role, RoleSet};
use uuid::Uuid;

use super::{Stored, events};
use crate::auth::{CallerSession, join_session};
use crate::entity::{building, category, community, compound, idempotency_key, order, order_event, user};
use crate::statement::sqlite_batch;

/// What checking an order's fields needs from the database, with the caller's session, read
/// in one statement of scalar subqueries.
#[derive(FromQueryResult)]
pub struct Lookups {
    /// The community's settings (stored JSON), if it exists.
    pub community_settings: Option<String>,
    /// The category's service levels (stored JSON), if it exists and takes orders.
    pub category_sla: Option<String>,
    /// The community of the named compound, the compound of the named building.
    pub compound_community: Option<Uuid>,
    pub building_compound: Option<Uuid>,
    /// The names of the named compound and building.
    pub compound_name: Option<String>,
    pub building_name: Option<String>,
    /// The caller's phone and display name, when asked for.
    pub my_phone: Option<String>,
    pub my_name: Option<String>,
    /// The caller's session, when asked for ([`join_session`]).
    #[sea_orm(skip)]
    pub session: Option<CallerSession>,
}

/// Reads what checking an order's fields needs; `session` is checked in the same statement,
/// `me` is the caller whose phone and name are wanted.
pub async fn lookups(
    db: &impl ConnectionTrait,
    session: Option<Uuid>,
    community_id: Uuid,
    category_code: &str,
    compound_id: Option<Uuid>,
    building_id: Option<Uuid>,
    me: Option<Uuid>,
) -> Stored<Lookups> {
    // `(SELECT <column> FROM <table> WHERE <condition>)`: NULL when no row matches.
    fn scalar(column: impl IntoIden, table: impl IntoIden, condition: Expr) -> Expr {
        let q = SqlQuery::select().column(column).from(table).and_where(condition).to_owned();
        Expr::SubQuery(None, Box::new(q.into_sub_query_statement()))
    }
    let building_id = building_id.unwrap_or_default();
    let me = me.unwrap_or_default();
    let mut query = SqlQuery::select()
        .expr_as(
            scalar(community::Column::Settings, community::Entity, community::Column::Id.eq(community_id)),
            "community_settings",
        )
        .expr_as(
            scalar(
                category::Column::Sla,
                category::Entity,
                category::Column::Code.eq(category_code).and(category::Column::Active.eq(true)),
            ),
            "category_sla",
        )
        .expr_as(
            scalar(
                compound::Column::CommunityId,
                compound::Entity,
                compound::Column::Id.eq(compound_id.unwrap_or_default()),
            ),
            "compound_community",
        )
        .expr_as(
            scalar(building::Column::CompoundId, building::Entity, building::Column::Id.eq(building_id)),
            "building_compound",
        )
        .expr_as(
            scalar(compound::Column::Name, compound::Entity, compound::Column::Id.eq(compound_id.unwrap_or_default())),
            "compound_name",
        )
        .expr_as(
            scalar(building::Column::Name, building::Entity, building::Column::Id.eq(building_id)),
            "building_name",
        )
        .expr_as(scalar(user::Column::Phone, user::Entity, user::Column::Id.eq(me)), "my_phone")
        .expr_as(scalar(user::Column::DisplayName, user::Entity, user::Column::Id.eq(me)), "my_name")
        .from_subquery(SqlQuery::select().expr(Expr::val(1)).to_owned(), Alias::new("one"))
        .to_owned();
    if let Some(session_id) = session {
        join_session(&mut query, session_id);
    }
    let row = db
        .query_one(&query)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("a select of subqueries answered no row".into()))?;
    let mut found = Lookups::from_query_result(&row, "")?;
    found.session = if session.is_some() { CallerSession::read(&row)? } else { None };
    Ok(found)
}

/// What an idempotency key holds: the first request's hash and, once it committed, its answer.
pub enum Claimed {
    /// The key is new: this request is the first, and its answer is kept with [`keep`].
    First,
    /// The key was used before, by a request that committed.
    Before(idempotency_key::Model),
}

/// Claims an idempotency key for a request with this body hash, after forgetting the
/// caller's keys older than a day; a racing request with the same key waits for the first.
pub async fn claim_key(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    key: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> Stored<Claimed> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::UserId.eq(user_id))
        .filter(idempotency_key::Column::CreatedAt.lt(now - Duration::hours(24)))
        .exec(db)
        .await?;
    let claimed = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        user_id: Set(user_id),
        key: Set(key.to_owned()),
        request_hash: Set(hash.to_owned()),
        status: Set(0),
        body: Set(String::new()),
        created_at: Set(now),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    if !matches!(claimed, TryInsertResult::Conflicted) {
        return Ok(Claimed::First);
    }
    let first = idempotency_key::Entity::find_by_id((user_id, key.to_owned())).one(db).await?;
    first.map(Claimed::Before).ok_or(super::StoreError::LostRace)
}

/// Keeps a first request's answer under its idempotency key.
pub async fn keep(db: &impl ConnectionTrait, user_id: Uuid, key: &str, status: u16, body: String) -> Stored<()> {
    idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::Status, Expr::value(i32::from(status)))
        .col_expr(idempotency_key::Column::Body, Expr::value(body))
        .filter(idempotency_key::Column::UserId.eq(user_id))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Inserts a new order as built, numbered as the next of its community's local day `day`
/// (`YYYYMMDD`); returns its number. One round trip: the day's counter is bumped (or
/// started) and the order inserted with its number formatted from it, in one statement on
/// PostgreSQL (the bump a data-modifying `WITH`) and in two statements of one query on
/// SQLite. The counter's row stays locked to the commit, so numbers follow the commits.
pub async fn insert(db: &impl ConnectionTrait, created: &order::Model, day: &str) -> Stored<String> {
    let backend = db.get_database_backend();
    let (bump, insert) = numbered(backend, created, day);
    let statement = if backend == DatabaseBackend::Postgres {
        let cte = CommonTableExpression::new().query(bump).table_name(Alias::new("n")).to_owned();
        backend.build(&insert.with(WithClause::new().cte(cte).to_owned()))
    } else {
        sqlite_batch(vec![backend.build(&bump), backend.build(&insert)])
    };
    let row = db.query_one_raw(statement).await?;
    number(row.as_ref())
}

/// The order numbered and inserted with its events ([`events::in_sequence`]), as one batch
/// for a write transaction of its own ([`crate::db::WriteTx::finish_with`]): on PostgreSQL
/// one statement (the number's bump and the order's insert data-modifying `WITH`s before the
/// events'), returning the order's number for each event; on SQLite the number's bump, the
/// order's insert returning its number, and the events' insert guarded by it, returning a
/// row for each event. Read its rows with [`inserted_with_events`].
pub fn insert_with_events(
    backend: DatabaseBackend,
    created: &order::Model,
    day: &str,
    events: &[order_event::Model],
) -> Stored<Statement> {
    let (bump, insert) = numbered(backend, created, day);
    let none = || DbErr::Custom("an order is created with its event".into());
    if backend == DatabaseBackend::Postgres {
        let before = vec![
            CommonTableExpression::new().query(bump).table_name(Alias::new("n")).to_owned(),
            CommonTableExpression::new().query(insert).table_name(Alias::new("o")).to_owned(),
        ];
        let number = SqlQuery::returning().expr(Expr::cust("(SELECT o.number FROM o) AS number"));
        return Ok(events::in_sequence_after(backend, events, None, before, Some(number))?.ok_or_else(none)?);
    }
    let with_events = events::in_sequence(backend, events, Some(events::Guard::insert(insert)))?.ok_or_else(none)?;
    Ok(sqlite_batch(vec![backend.build(&bump), with_events]))
}

/// The order's number from the rows of [`insert_with_events`]'s batch, which inserted
/// `events` events.
pub fn inserted_with_events(backend: DatabaseBackend, rows: &[QueryResult], events: usize) -> Stored<String> {
    let inserted = match backend {
        DatabaseBackend::Postgres => rows.len(),
        _ => rows.len().saturating_sub(1),
    };
    if inserted != events {
        return Err(DbErr::Custom(format!("an order's creation inserted {inserted} events, not {events}")).into());
    }
    number(rows.first())
}

/// The order's number from the row its insert returned.
fn number(row: Option<&QueryResult>) -> Stored<String> {
    let row = row.ok_or_else(|| DbErr::Custom("the order was not inserted".into()))?;
    let number: Option<String> = row.try_get("", "number")?;
    number.ok_or_else(|| DbErr::Custom("the order's community is missing".into()).into())
}

/// The bump of the community's order numbers for `day`, and the order's insert returning the
/// number it takes from it: on PostgreSQL from the bump as a `WITH` named `n` (the caller
/// adds it), on SQLite from the counter's row after the bump, run just before.
fn numbered(backend: DatabaseBackend, created: &order::Model, day: &str) -> (InsertStatement, InsertStatement) {
    let pg = backend == DatabaseBackend::Postgres;
    let numbers = Alias::new("order_numbers");
    let [community, day_col, last] = ["community_id", "day", "last"].map(Alias::new);
    let mut bump = SqlQuery::insert();
    bump.into_table(numbers.clone())
        .columns([community.clone(), day_col.clone(), last.clone()])
        .values_panic([Expr::value(created.community_id), Expr::value(day), Expr::value(1)])
        .on_conflict(
            OnConflict::columns([community.clone(), day_col.clone()])
                .value(last.clone(), Expr::col((numbers.clone(), last.clone())).add(1))
                .to_owned(),
        );
    if pg {
        bump.returning_col(last);
    }
    // `CODE-YYYYMMDD-NNNN`, the sequence four digits at least.
    let sequence = if pg {
        "CASE WHEN n.last < 10000 THEN lpad(n.last::text, 4, '0') ELSE n.last::text END"
    } else {
        "printf('%04d', n.last)"
    };
    let number = if pg {
        Expr::cust_with_values(
            format!("(SELECT upper(c.code) || '-' || $1 || '-' || {sequence} FROM n, communities c WHERE c.id = $2)"),
            [sea_orm::Value::from(day), created.community_id.into()],
        )
    } else {
        Expr::cust_with_values(
            format!(
                "(SELECT upper(c.code) || '-' || n.day || '-' || {sequence} FROM order_numbers n \
                 JOIN communities c ON c.id = n.community_id WHERE n.community_id = ? AND n.day = ?)"
            ),
            [sea_orm::Value::from(created.community_id), day.into()],
        )
    };
    let mut insert = SqlQuery::insert();
    insert
        .into_table(order::Entity)
        .columns(order::Column::iter())
        .values_panic(order::Column::iter().map(|c| match c {
            order::Column::Number => number.clone(),
            _ => Expr::value(created.get(c)),
        }))
        .returning_col(order::Column::Number);
    (bump, insert)
}

/// The account with this phone, locked (PostgreSQL; SQLite's write lock is held already),
/// so that two dispatchers entering orders for one unclaimed account take turns.
pub async fn account_by_phone(db: &impl ConnectionTrait, phone: &str) -> Stored<Option<user::Model>> {
    Ok(user::Entity::find().filter(user::Column::Phone.eq(phone)).lock_exclusive().one(db).await?)
}

/// A new unclaimed resident's account, for a phone a dispatcher entered an order for.
pub async fn new_unclaimed_resident(
    db: &impl ConnectionTrait,
    phone: &str,
    name: &str,
    home_community_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Stored<user::Model> {
    Ok(user::Entity::insert(user::ActiveModel {
        id: Set(Uuid::now_v7()),
        phone: Set(Some(phone.to_owned())),
        display_name: Set(name.to_owned()),
        password_hash: Set(None),
        roles: Set(RoleSet::of([Role::Resident]).to_stored()),
        status: Set(user::UserStatus::Unclaimed),
        community_id: Set(None),
        home_community_id: Set(home_community_id),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(db)
    .await?)
}

/// The communities a resident has orders in.
pub async fn communities_of_resident(db: &impl ConnectionTrait, resident_id: Uuid) -> Stored<Vec<Uuid>> {
    Ok(order::Entity::find()
        .select_only()
        .column(order::Column::CommunityId)
        .distinct()
        .filter(order::Column::ResidentId.eq(resident_id))
        .into_tuple()
        .all(db)
        .await?)
}
