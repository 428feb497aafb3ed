//! A fast bulk seed for `--scale`: orders with their offers and their events, written as
//! multi-row `INSERT`s in big transactions, on SQLite and PostgreSQL alike.
//!
//! Order `j` (0 = the newest) was created `j + 1` half-minutes before the seed started, so
//! that seeding more orders adds history behind the first ones and the first page stays the
//! same. It belongs to community `j % C` and provider `j % P`, and to the resident the bench
//! signs in as when `j` is a multiple of [`RESIDENT_STRIDE`] (else to one of the other
//! `R - 1`); index 0 is the one the bench signs in as. The first [`LIVE`] orders are the measured partner's jobs
//! in flight (open offers and assigned jobs); orders completed in the last three days wait
//! for confirmation; older ones are closed (confirmed), and every third of those is rated —
//! what the worker and the residents leave behind, so that the worker finds no backlog.
//! Each has its events (up to seven) and its accepted offer. Event numbers are reserved from
//! the counter row in each seed transaction, as the server's steps take them.

use std::ops::Range;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use shenbian::db::begin_write;
use shenbian::entity::enums::{ActionDb, ActorRoleDb, Channel, OfferStatus, OrderStatusDb, ProviderKind, UrgencyDb};
use shenbian::entity::{community, compound, event_counter, offer, order, order_event, rating, user};
use uuid::{NoContext, Timestamp, Uuid};

use crate::world::World;

/// The measured partner's jobs in flight: even `j` an open offer, odd `j` an assigned job.
pub const LIVE: u64 = 80;
/// Orders completed this recently (half-minutes) still wait for confirmation (the worker
/// confirms after 72 hours).
const RECENT: u64 = 72 * 120;
/// Orders per transaction.
const PER_TRANSACTION: usize = 10_000;
/// Rows per `INSERT` (orders have 33 columns: 16,500 parameters, under SQLite's 32,766).
const ORDER_ROWS: usize = 500;
const EVENT_ROWS: usize = 2_000;

/// The timed resident owns every this-many-th order (all in the first community, a multiple
/// of the communities): 25 of 1,000 orders, so that their pages are full at 1 k as at 1 M.
pub const RESIDENT_STRIDE: usize = 40;

/// Who and where the seeded orders belong to; index 0 of each is the world's own.
pub struct Plan {
    pub places: Vec<(Uuid, Uuid)>,
    pub residents: Vec<Uuid>,
    pub providers: Vec<(Uuid, Uuid)>,
    dispatcher: Uuid,
    category: String,
    newest: DateTime<Utc>,
}

/// Adds `communities - 1` communities (each with a compound) and `residents - 1` residents
/// beside the world's, straight into the database; providers other than the measured
/// partner are ids only (no query the bench times reads the partner rows).
pub async fn plan(
    db: &DatabaseConnection,
    world: &World,
    communities: usize,
    residents: usize,
    providers: usize,
) -> Result<Plan, DbErr> {
    let now = Utc::now();
    let mut places = vec![(world.community, world.compound)];
    for i in 1..communities {
        let (c, k) = (Uuid::now_v7(), Uuid::now_v7());
        community::Entity::insert(community::ActiveModel {
            id: Set(c),
            code: Set(format!("SEED{i}")),
            name: Set(format!("第{i}社区")),
            street: Set("和平街道".into()),
            settings: Set("{}".into()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(db)
        .await?;
        compound::Entity::insert(compound::ActiveModel {
            id: Set(k),
            community_id: Set(c),
            name: Set("幸福小区".into()),
            created_at: Set(now),
        })
        .exec_without_returning(db)
        .await?;
        places.push((c, k));
    }
    let resident = &world.crews[0].resident;
    let mut ids = vec![resident.user_id];
    let mut rows = Vec::new();
    for i in 1..residents {
        let id = Uuid::now_v7();
        ids.push(id);
        rows.push(user::ActiveModel {
            id: Set(id),
            phone: Set(Some(format!("138{i:08}"))),
            display_name: Set("张秀兰".into()),
            password_hash: Set(None),
            roles: Set("resident".into()),
            status: Set(user::UserStatus::Active),
            community_id: Set(None),
            home_community_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    for chunk in rows.chunks(EVENT_ROWS / 2) {
        user::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    let crew = &world.crews[0];
    let mut provider_ids = vec![(crew.partner, crew.contract)];
    provider_ids.extend((1..providers).map(|_| (Uuid::now_v7(), Uuid::now_v7())));
    Ok(Plan {
        places,
        residents: ids,
        providers: provider_ids,
        dispatcher: world.dispatcher.user_id,
        category: world.category.clone(),
        newest: now,
    })
}

/// Rows written by a seed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub orders: u64,
    pub offers: u64,
    pub events: u64,
    pub ratings: u64,
}

impl Written {
    pub fn rows(&self) -> u64 {
        self.orders + self.offers + self.events + self.ratings
    }
}

/// One seeded order's rows; its events are numbered when the transaction reserves them.
struct Rows {
    id: Uuid,
    order: order::ActiveModel,
    offer: offer::ActiveModel,
    events: Vec<order_event::ActiveModel>,
    rating: Option<rating::ActiveModel>,
}

/// Seeds orders `range` and pushes their ids onto `ids` (index = `j`).
pub async fn seed(
    db: &DatabaseConnection,
    plan: &Plan,
    range: Range<u64>,
    ids: &mut Vec<Uuid>,
) -> Result<Written, DbErr> {
    let mut written = Written::default();
    let mut j = range.start;
    while j < range.end {
        let until = (j + PER_TRANSACTION as u64).min(range.end);
        let mut orders = Vec::with_capacity(PER_TRANSACTION);
        let mut offers = Vec::with_capacity(PER_TRANSACTION);
        let mut events = Vec::with_capacity(PER_TRANSACTION * 7);
        let mut ratings = Vec::new();
        for k in j..until {
            let rows = plan.order(k);
            ids.push(rows.id);
            orders.push(rows.order);
            offers.push(rows.offer);
            events.extend(rows.events);
            ratings.extend(rows.rating);
        }
        written.orders += orders.len() as u64;
        written.offers += offers.len() as u64;
        written.events += events.len() as u64;
        written.ratings += ratings.len() as u64;
        let tx = begin_write(db).await?;
        // Reserve this transaction's event numbers, as a step does: the counter row is bumped
        // in the same transaction, so the server's worker running meanwhile never collides.
        let n = events.len() as i64;
        let bumped = event_counter::Entity::update_many()
            .col_expr(
                event_counter::Column::Value,
                sea_orm::sea_query::ExprTrait::add(Expr::col(event_counter::Column::Value), n),
            )
            .filter(event_counter::Column::Id.eq(1))
            .exec_with_returning(&tx)
            .await?;
        let first = bumped.first().map(|c| c.value).ok_or_else(|| DbErr::Custom("no event counter".into()))? - n + 1;
        for (i, e) in events.iter_mut().enumerate() {
            e.seq = Set(first + i as i64);
        }
        for chunk in orders.chunks(ORDER_ROWS) {
            order::Entity::insert_many(chunk.to_vec()).exec_without_returning(&tx).await?;
        }
        for chunk in offers.chunks(EVENT_ROWS) {
            offer::Entity::insert_many(chunk.to_vec()).exec_without_returning(&tx).await?;
        }
        for chunk in events.chunks(EVENT_ROWS) {
            order_event::Entity::insert_many(chunk.to_vec()).exec_without_returning(&tx).await?;
        }
        for chunk in ratings.chunks(EVENT_ROWS) {
            rating::Entity::insert_many(chunk.to_vec()).exec_without_returning(&tx).await?;
        }
        tx.commit().await?;
        j = until;
    }
    Ok(written)
}

impl Plan {
    /// Order `j` with its offer, its events (not numbered yet) and its rating, if rated.
    fn order(&self, j: u64) -> Rows {
        let created = self.newest - Duration::seconds(30 * (j as i64 + 1));
        let ms = created.timestamp_millis() as u64;
        let id = Uuid::new_v7(Timestamp::from_unix(NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000));
        let (community, compound) = self.places[j as usize % self.places.len()];
        let resident = match j as usize % RESIDENT_STRIDE {
            0 => self.residents[0],
            _ => self.residents[1 + j as usize % (self.residents.len() - 1)],
        };
        let live = j < LIVE;
        let (provider, contract) =
            if live { self.providers[0] } else { self.providers[j as usize % self.providers.len()] };
        let status = match (live, j % 4) {
            (true, 0 | 2) => OrderStatusDb::Offered,
            (true, 1) => OrderStatusDb::Accepted,
            (true, _) => OrderStatusDb::InProgress,
            (false, _) if j < RECENT => OrderStatusDb::Completed,
            (false, _) => OrderStatusDb::Closed,
        };
        let rated = status == OrderStatusDb::Closed && j.is_multiple_of(3);
        let path: &[(ActionDb, Option<OrderStatusDb>, OrderStatusDb, i64)] = &[
            (ActionDb::Created, None, OrderStatusDb::Pending, 0),
            (ActionDb::Dispatched, Some(OrderStatusDb::Pending), OrderStatusDb::Offered, 5),
            (ActionDb::Accepted, Some(OrderStatusDb::Offered), OrderStatusDb::Accepted, 10),
            (ActionDb::Started, Some(OrderStatusDb::Accepted), OrderStatusDb::InProgress, 30),
            (ActionDb::Completed, Some(OrderStatusDb::InProgress), OrderStatusDb::Completed, 90),
            (ActionDb::Confirmed, Some(OrderStatusDb::Completed), OrderStatusDb::Closed, 600),
            (ActionDb::Rated, Some(OrderStatusDb::Closed), OrderStatusDb::Closed, 610),
        ];
        let steps = match status {
            OrderStatusDb::Offered => 2,
            OrderStatusDb::Accepted => 3,
            OrderStatusDb::InProgress => 4,
            OrderStatusDb::Completed => 5,
            _ if rated => 7,
            _ => 6,
        };
        let at = |minutes: i64| created + Duration::minutes(minutes);
        let accepted = steps >= 3;
        let offer_status = if accepted { OfferStatus::Accepted } else { OfferStatus::Open };
        // Offers still open must not expire while the bench reads them.
        let accept_by = if accepted { at(35) } else { Utc::now() + Duration::days(1) };
        let o = order::ActiveModel {
            id: Set(id),
            community_id: Set(community),
            category_code: Set(self.category.clone()),
            resident_id: Set(resident),
            title: Set("厨房水管漏水".into()),
            description: Set("水槽下面的水管一直滴水，需要师傅上门".into()),
            compound_id: Set(compound),
            building_id: Set(None),
            unit: Set("2单元".into()),
            room: Set(format!("{}", 101 + j % 600)),
            address_detail: Set("进门左手边".into()),
            contact_phone: Set(format!("139{:08}", j % 100_000_000)),
            urgency: Set(UrgencyDb::Normal),
            channel: Set(Channel::App),
            status: Set(status),
            version: Set(steps.min(6) as i32),
            provider_kind: Set(accepted.then_some(ProviderKind::Partner)),
            provider_id: Set(accepted.then_some(provider)),
            contract_id: Set(accepted.then_some(contract)),
            dispatch_by: Set(at(240)),
            accept_by: Set(Some(accept_by)),
            first_dispatched_at: Set(Some(at(5))),
            complete_by: Set(accepted.then(|| at(10 + 2880))),
            accepted_at: Set(accepted.then(|| at(10))),
            completed_at: Set((steps >= 5).then(|| at(90))),
            summary: Set((steps >= 5).then(|| "已上门处理完毕".to_owned())),
            escalation_level: Set(0),
            created_by: Set(resident),
            created_at: Set(created),
            updated_at: Set(at(path[steps.min(6) - 1].3)),
            // Left out, and so NULL: preferred times, minutes (partners' jobs), and any
            // column a later migration adds.
            ..Default::default()
        };
        let of = offer::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(id),
            provider_kind: Set(ProviderKind::Partner),
            provider_id: Set(provider),
            contract_id: Set(Some(contract)),
            status: Set(offer_status),
            accept_by: Set(accept_by),
            reason: Set(None),
            dispatched_by: Set(self.dispatcher),
            created_at: Set(at(5)),
            closed_at: Set(accepted.then(|| at(10))),
        };
        let mut events = Vec::with_capacity(steps);
        for (i, (action, from, to, minutes)) in path.iter().take(steps).enumerate() {
            let (actor, role) = match i {
                1 => (self.dispatcher, ActorRoleDb::Dispatcher),
                2..=4 => (provider, ActorRoleDb::Provider),
                _ => (resident, ActorRoleDb::Resident),
            };
            events.push(order_event::ActiveModel {
                id: Set(Uuid::now_v7()),
                seq: Set(0),
                order_id: Set(id),
                action: Set(*action),
                actor_id: Set(Some(actor)),
                actor_role: Set(role),
                from_status: Set(*from),
                to_status: Set(*to),
                reason: Set(None),
                provider_id: Set(matches!(i, 1 | 2 | 6).then_some(provider)),
                at: Set(at(*minutes)),
            });
        }
        let rating = rated.then(|| rating::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(id),
            provider_kind: Set(ProviderKind::Partner),
            provider_id: Set(provider),
            stars: Set(3 + (j % 3) as i32),
            timeliness: Set(Some(4)),
            attitude: Set(Some(5)),
            quality: Set(Some(4)),
            comment: Set(None),
            comment_hidden: Set(false),
            source: Set("app".into()),
            rated_by: Set(resident),
            created_at: Set(at(610)),
        });
        Rows { id, order: o, offer: of, events, rating }
    }
}
