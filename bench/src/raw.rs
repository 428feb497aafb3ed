//! The ceiling: each life-cycle step as the least SQL the schema as built needs, straight
//! through sea-orm on a pool like the server's — no HTTP, no authentication, no reads. One
//! write transaction per step (IMMEDIATE on SQLite, as the server begins them) holding:
//!
//! - create: the order `INSERT`; the counter bump and the event `INSERT` (one round trip,
//!   as the server does it: `orders::store::events::insert_in_sequence`);
//! - dispatch: the offer `INSERT`; the guarded order `UPDATE`; counter and event;
//! - accept: the guarded offer `UPDATE`; the guarded capacity `UPDATE` of the contract; the
//!   month's accept count as one upsert; the guarded order `UPDATE`; counter and event;
//! - start: the guarded order `UPDATE`; counter and event;
//! - complete: the contract's capacity given back; the guarded order `UPDATE`; counter and
//!   event;
//! - confirm: the guarded order `UPDATE`; counter and event (a partner's job: no hours);
//! - rate: the rating `INSERT`; counter and event (the order's state does not change).
//!
//! "Guarded" is `WHERE id = ? AND status = ? AND version = ?` (offers and capacity: their
//! own guards), and a step that changed no row fails, as in the API. The order's state is
//! kept in memory, which is what "no reads" means.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use shenbian::db::begin_write;
use shenbian::entity::enums::{ActionDb, ActorRoleDb, Channel, OfferStatus, OrderStatusDb, ProviderKind, UrgencyDb};
use shenbian::entity::{contract, contract_usage, offer, order, order_event, rating};
use shenbian::orders::store::events::insert_in_sequence;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::stats::Recorder;
use crate::world::{Crew, World};

pub const CREATE: &str = "create (raw)";
pub const DISPATCH: &str = "dispatch (raw)";
pub const ACCEPT: &str = "accept (raw)";
pub const START: &str = "start (raw)";
pub const COMPLETE: &str = "complete (raw)";
pub const CONFIRM: &str = "confirm (raw)";
pub const RATE: &str = "rate (raw)";
pub const STEPS: [&str; 7] = [CREATE, DISPATCH, ACCEPT, START, COMPLETE, CONFIRM, RATE];

/// Why a raw step failed: a guard matched no row (409), or the database refused (503).
enum Failed {
    Guard,
    Db(DbErr),
}

impl From<DbErr> for Failed {
    fn from(e: DbErr) -> Self {
        Self::Db(e)
    }
}

impl Failed {
    fn status(&self) -> u16 {
        match self {
            Failed::Guard => 409,
            Failed::Db(_) => 503,
        }
    }
}

/// What a virtual user needs to write its orders.
struct Writer {
    db: DatabaseConnection,
    world: Arc<World>,
    crew: Crew,
    month: String,
}

/// The order in flight, as the writer knows it without reading.
#[derive(Default)]
struct Live {
    id: Uuid,
    offer: Uuid,
    version: i32,
}

/// Closed loop, `clients` writers, `warmup + window`; records the steps sent within the window.
pub async fn closed(
    db: &DatabaseConnection,
    world: &Arc<World>,
    month: &str,
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> Recorder {
    let measure_from = Instant::now() + warmup;
    let end = measure_from + window;
    let mut running = JoinSet::new();
    for i in 0..clients {
        let writer = Writer {
            db: db.clone(),
            world: world.clone(),
            crew: world.crews[i % world.crews.len()].clone(),
            month: month.to_owned(),
        };
        running.spawn(async move {
            let mut recorder = Recorder::default();
            let mut first_error: Option<String> = None;
            while Instant::now() < end {
                writer.cycle(measure_from, &mut recorder, &mut first_error).await;
            }
            if let Some(e) = first_error {
                eprintln!("raw writer: first database error: {e}");
            }
            recorder
        });
    }
    let mut all = Recorder::default();
    while let Some(done) = running.join_next().await {
        all.merge(done.expect("a raw writer"));
    }
    all
}

impl Writer {
    /// One life cycle; stops at the first failed step.
    async fn cycle(&self, measure_from: Instant, recorder: &mut Recorder, first_error: &mut Option<String>) {
        let mut live = Live::default();
        for (i, name) in STEPS.iter().enumerate() {
            let sent = Instant::now();
            let result = match i {
                0 => self.create(&mut live).await,
                1 => self.dispatch(&mut live).await,
                2 => self.accept(&mut live).await,
                3 => self.start(&mut live).await,
                4 => self.complete(&mut live).await,
                5 => self.confirm(&mut live).await,
                _ => self.rate(&live).await,
            };
            let status = match &result {
                Ok(()) => 200,
                Err(f) => {
                    if let (Failed::Db(e), true) = (f, first_error.is_none()) {
                        *first_error = Some(e.to_string());
                    }
                    f.status()
                }
            };
            if sent >= measure_from {
                recorder.record(name, status, sent.elapsed());
            }
            if result.is_err() {
                return;
            }
        }
    }

    /// An event of a step the partner takes.
    fn provider_event(&self, action: ActionDb, from: OrderStatusDb, to: OrderStatusDb) -> Event {
        Event {
            action,
            actor: self.crew.owner.user_id,
            role: ActorRoleDb::Provider,
            from: Some(from),
            to,
            provider: None,
        }
    }

    async fn create(&self, live: &mut Live) -> Result<(), Failed> {
        let (w, now) = (&self.world, Utc::now());
        let id = Uuid::now_v7();
        let tx = begin_write(&self.db).await?;
        order::Entity::insert(order::ActiveModel {
            id: Set(id),
            community_id: Set(w.community),
            category_code: Set(w.category.clone()),
            resident_id: Set(self.crew.resident.user_id),
            title: Set("厨房水管漏水".into()),
            description: Set("水槽下面的水管一直滴水，需要师傅上门".into()),
            compound_id: Set(w.compound),
            building_id: Set(Some(w.building)),
            unit: Set("2单元".into()),
            room: Set("301".into()),
            address_detail: Set("进门左手边".into()),
            contact_phone: Set("13900000000".into()),
            urgency: Set(UrgencyDb::Urgent),
            channel: Set(Channel::App),
            status: Set(OrderStatusDb::Pending),
            version: Set(1),
            dispatch_by: Set(now + chrono::Duration::minutes(60)),
            escalation_level: Set(0),
            created_by: Set(self.crew.resident.user_id),
            created_at: Set(now),
            updated_at: Set(now),
            // The columns left out are NULL: no provider, no deadlines past dispatch yet.
            ..Default::default()
        })
        .exec_without_returning(&tx)
        .await?;
        let event = Event {
            action: ActionDb::Created,
            actor: self.crew.resident.user_id,
            role: ActorRoleDb::Resident,
            from: None,
            to: OrderStatusDb::Pending,
            provider: None,
        };
        append(&tx, id, event, now).await?;
        tx.commit().await?;
        *live = Live { id, offer: Uuid::nil(), version: 1 };
        Ok(())
    }

    async fn dispatch(&self, live: &mut Live) -> Result<(), Failed> {
        let now = Utc::now();
        let accept_by = now + chrono::Duration::minutes(30);
        let tx = begin_write(&self.db).await?;
        live.offer = Uuid::now_v7();
        offer::Entity::insert(offer::ActiveModel {
            id: Set(live.offer),
            order_id: Set(live.id),
            provider_kind: Set(ProviderKind::Partner),
            provider_id: Set(self.crew.partner),
            contract_id: Set(Some(self.crew.contract)),
            status: Set(OfferStatus::Open),
            accept_by: Set(accept_by),
            reason: Set(None),
            dispatched_by: Set(self.world.dispatcher.user_id),
            created_at: Set(now),
            closed_at: Set(None),
        })
        .exec_without_returning(&tx)
        .await?;
        let moved = guarded(live, OrderStatusDb::Pending, OrderStatusDb::Offered, now)
            .col_expr(order::Column::AcceptBy, Expr::value(accept_by))
            .col_expr(order::Column::FirstDispatchedAt, Expr::value(now))
            .exec(&tx)
            .await?;
        one_row(moved.rows_affected)?;
        let event = Event {
            action: ActionDb::Dispatched,
            actor: self.world.dispatcher.user_id,
            role: ActorRoleDb::Dispatcher,
            from: Some(OrderStatusDb::Pending),
            to: OrderStatusDb::Offered,
            provider: Some(self.crew.partner),
        };
        append(&tx, live.id, event, now).await?;
        tx.commit().await?;
        live.version += 1;
        Ok(())
    }

    async fn accept(&self, live: &mut Live) -> Result<(), Failed> {
        let now = Utc::now();
        let contract_id = self.crew.contract;
        let tx = begin_write(&self.db).await?;
        let spent = offer::Entity::update_many()
            .col_expr(offer::Column::Status, Expr::value(OfferStatus::Accepted))
            .col_expr(offer::Column::ClosedAt, Expr::value(now))
            .filter(offer::Column::Id.eq(live.offer))
            .filter(offer::Column::Status.eq(OfferStatus::Open))
            .exec(&tx)
            .await?;
        one_row(spent.rows_affected)?;
        let taken = contract::Entity::update_many()
            .col_expr(contract::Column::OpenJobs, Expr::col(contract::Column::OpenJobs).add(1))
            .filter(contract::Column::Id.eq(contract_id))
            .filter(Expr::col(contract::Column::OpenJobs).lt(Expr::col(contract::Column::MaxOpenJobs)))
            .exec(&tx)
            .await?;
        one_row(taken.rows_affected)?;
        let count = OnConflict::columns([contract_usage::Column::ContractId, contract_usage::Column::Month])
            .value(
                contract_usage::Column::Accepted,
                Expr::col((contract_usage::Entity, contract_usage::Column::Accepted)).add(1),
            )
            .to_owned();
        contract_usage::Entity::insert(contract_usage::ActiveModel {
            contract_id: Set(contract_id),
            month: Set(self.month.clone()),
            accepted: Set(1),
        })
        .on_conflict(count)
        .exec_without_returning(&tx)
        .await?;
        let moved = guarded(live, OrderStatusDb::Offered, OrderStatusDb::Accepted, now)
            .col_expr(order::Column::ProviderKind, Expr::value(ProviderKind::Partner))
            .col_expr(order::Column::ProviderId, Expr::value(self.crew.partner))
            .col_expr(order::Column::ContractId, Expr::value(contract_id))
            .col_expr(order::Column::AcceptedAt, Expr::value(now))
            .col_expr(order::Column::CompleteBy, Expr::value(now + chrono::Duration::minutes(480)))
            .exec(&tx)
            .await?;
        one_row(moved.rows_affected)?;
        let event = self.provider_event(ActionDb::Accepted, OrderStatusDb::Offered, OrderStatusDb::Accepted);
        append(&tx, live.id, Event { provider: Some(self.crew.partner), ..event }, now).await?;
        tx.commit().await?;
        live.version += 1;
        Ok(())
    }

    async fn start(&self, live: &mut Live) -> Result<(), Failed> {
        let now = Utc::now();
        let tx = begin_write(&self.db).await?;
        let moved = guarded(live, OrderStatusDb::Accepted, OrderStatusDb::InProgress, now).exec(&tx).await?;
        one_row(moved.rows_affected)?;
        let event = self.provider_event(ActionDb::Started, OrderStatusDb::Accepted, OrderStatusDb::InProgress);
        append(&tx, live.id, event, now).await?;
        tx.commit().await?;
        live.version += 1;
        Ok(())
    }

    async fn complete(&self, live: &mut Live) -> Result<(), Failed> {
        let now = Utc::now();
        let tx = begin_write(&self.db).await?;
        contract::Entity::update_many()
            .col_expr(contract::Column::OpenJobs, Expr::col(contract::Column::OpenJobs).sub(1))
            .filter(contract::Column::Id.eq(self.crew.contract))
            .filter(contract::Column::OpenJobs.gt(0))
            .exec(&tx)
            .await?;
        let moved = guarded(live, OrderStatusDb::InProgress, OrderStatusDb::Completed, now)
            .col_expr(order::Column::Summary, Expr::value("更换了水槽下的软管，已试水无渗漏"))
            .col_expr(order::Column::CompletedAt, Expr::value(now))
            .exec(&tx)
            .await?;
        one_row(moved.rows_affected)?;
        let event = self.provider_event(ActionDb::Completed, OrderStatusDb::InProgress, OrderStatusDb::Completed);
        append(&tx, live.id, event, now).await?;
        tx.commit().await?;
        live.version += 1;
        Ok(())
    }
}

impl Writer {
    async fn confirm(&self, live: &mut Live) -> Result<(), Failed> {
        let now = Utc::now();
        let tx = begin_write(&self.db).await?;
        let moved = guarded(live, OrderStatusDb::Completed, OrderStatusDb::Closed, now).exec(&tx).await?;
        one_row(moved.rows_affected)?;
        let event = Event {
            action: ActionDb::Confirmed,
            actor: self.crew.resident.user_id,
            role: ActorRoleDb::Resident,
            from: Some(OrderStatusDb::Completed),
            to: OrderStatusDb::Closed,
            provider: None,
        };
        append(&tx, live.id, event, now).await?;
        tx.commit().await?;
        live.version += 1;
        Ok(())
    }

    async fn rate(&self, live: &Live) -> Result<(), Failed> {
        let now = Utc::now();
        let tx = begin_write(&self.db).await?;
        rating::Entity::insert(rating::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(live.id),
            provider_kind: Set(ProviderKind::Partner),
            provider_id: Set(self.crew.partner),
            stars: Set(5),
            timeliness: Set(Some(5)),
            attitude: Set(Some(5)),
            quality: Set(Some(4)),
            comment: Set(Some("师傅很专业，准时上门".into())),
            comment_hidden: Set(false),
            source: Set("app".into()),
            rated_by: Set(self.crew.resident.user_id),
            created_at: Set(now),
        })
        .exec_without_returning(&tx)
        .await?;
        let event = Event {
            action: ActionDb::Rated,
            actor: self.crew.resident.user_id,
            role: ActorRoleDb::Resident,
            from: Some(OrderStatusDb::Closed),
            to: OrderStatusDb::Closed,
            provider: Some(self.crew.partner),
        };
        append(&tx, live.id, event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The compare-and-set on the order's status and version.
fn guarded(
    live: &Live,
    from: OrderStatusDb,
    to: OrderStatusDb,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<order::Entity> {
    order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .col_expr(order::Column::Version, Expr::value(live.version + 1))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(live.id))
        .filter(order::Column::Status.eq(from))
        .filter(order::Column::Version.eq(live.version))
}

fn one_row(n: u64) -> Result<(), Failed> {
    if n == 1 { Ok(()) } else { Err(Failed::Guard) }
}

/// An event to append: the step, who took it, the states, the provider it concerns.
struct Event {
    action: ActionDb,
    actor: Uuid,
    role: ActorRoleDb,
    from: Option<OrderStatusDb>,
    to: OrderStatusDb,
    provider: Option<Uuid>,
}

/// The counter bump and the event `INSERT`, last, in one round trip: the server's own
/// statement ([`insert_in_sequence`]).
async fn append(db: &impl ConnectionTrait, order_id: Uuid, e: Event, at: DateTime<Utc>) -> Result<(), Failed> {
    let event = order_event::Model {
        id: Uuid::now_v7(),
        seq: 0,
        order_id,
        action: e.action,
        actor_id: Some(e.actor),
        actor_role: e.role,
        from_status: e.from,
        to_status: e.to,
        reason: None,
        provider_id: e.provider,
        at,
    };
    if insert_in_sequence(db, &[event]).await? { Ok(()) } else { Err(Failed::Guard) }
}
