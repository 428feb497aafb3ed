//! The event log as people read it: an order's timeline, and the caller's feed of every
//! order they may see, in commit order.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use shenbian_domain::Role;
use shenbian_domain::name::mask_name;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::{seen_or, visible_order};
use super::store::list::{FeedOf, events_of, feed as feed_page};
use super::store::names::NamedEvent;
use crate::auth::{Acting, Principal};
use crate::entity::enums::{ActionDb, ActorRoleDb, OrderStatusDb};
use crate::entity::order_event;
use crate::error::{ApiError, t};
use crate::extract::{Path, Query};
use crate::pagination::{PageParams, Paginated, encode_text_cursor};
use crate::state::AppState;

/// An entry of an order's timeline: ids, the step, who took it, states and the reason — no
/// personal data of the resident.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    /// Global position in the event log; the feed's cursor.
    pub seq: i64,
    pub order_id: Uuid,
    pub action: ActionDb,
    /// The user who acted; null for the system.
    pub actor: Option<Uuid>,
    /// The acting user's name: in full for themselves and for the staff of the order's
    /// community (its dispatchers, admins), else masked (`张*`); null for the system.
    #[serde(default)]
    pub actor_name: Option<String>,
    pub actor_role: ActorRoleDb,
    pub from_status: Option<OrderStatusDb>,
    pub to_status: OrderStatusDb,
    pub reason: Option<String>,
    /// The provider an offer step concerns.
    pub provider_id: Option<Uuid>,
    /// That provider's name: a partner's in full; a volunteer's in full for the staff of the
    /// order's community and the volunteer, else masked.
    #[serde(default)]
    pub provider_name: Option<String>,
    pub at: DateTime<Utc>,
}

/// Who reads events, as far as names are concerned.
pub struct Reader<'a> {
    pub principal: &'a Principal,
    /// The providers the reader acts for.
    pub providers: &'a [Uuid],
}

impl Reader<'_> {
    fn staff_of(&self, community: Option<Uuid>) -> bool {
        let p = self.principal;
        p.has(Role::Admin) || (p.has(Role::Dispatcher) && community.is_some() && p.community_id == community)
    }

    /// The event as this reader sees it.
    pub fn view(&self, NamedEvent { event, names }: NamedEvent) -> EventView {
        let staff = self.staff_of(names.community_id);
        let actor_name = names
            .actor_name
            .map(|n| if staff || event.actor_id == Some(self.principal.user_id) { n } else { mask_name(&n) });
        let provider_name = names.partner_name.or_else(|| {
            names.volunteer_name.map(|n| {
                let theirs = event.provider_id.is_some_and(|p| self.providers.contains(&p));
                if staff || theirs { n } else { mask_name(&n) }
            })
        });
        EventView { actor_name, provider_name, ..EventView::from(event) }
    }
}

impl From<order_event::Model> for EventView {
    fn from(e: order_event::Model) -> Self {
        Self {
            id: e.id,
            seq: e.seq,
            order_id: e.order_id,
            action: e.action,
            actor: e.actor_id,
            actor_name: None,
            actor_role: e.actor_role,
            from_status: e.from_status,
            to_status: e.to_status,
            reason: e.reason,
            provider_id: e.provider_id,
            provider_name: None,
            at: e.at,
        }
    }
}

/// Whose events the caller's feed shows: an admin's every event; anyone else's the orders
/// they are the resident of, the community's orders of a dispatcher, and their providers'.
pub(super) fn feed_of(principal: &Principal, providers: Vec<Uuid>) -> FeedOf {
    FeedOf {
        user_id: (!principal.has(Role::Admin)).then_some(principal.user_id),
        community_id: principal.community_id.filter(|_| principal.has(Role::Dispatcher)),
        providers,
    }
}

/// Reads a cursor that carries an event sequence number.
fn seq_cursor(params: &PageParams) -> Result<(u64, i64), ApiError> {
    let (limit, after) = params.text_page()?;
    let after = match after {
        None => 0,
        Some(s) => s
            .parse()
            .map_err(|_| ApiError::validation("cursor", t("不是本列表给出的游标", "is not a cursor from this list")))?,
    };
    Ok((limit, after))
}

/// An order's timeline, oldest first (whoever may see the order).
#[utoipa::path(get, path = "/orders/{id}/events", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Paginated<EventView>)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn order_events(
    State(state): State<AppState>,
    Acting { principal, providers }: Acting,
    Path(id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<EventView>>, ApiError> {
    let db = state.db()?;
    let (limit, after) = seen_or(db, &principal, id, seq_cursor(&params)).await?;
    visible_order(db, &principal, id, None).await?;
    let mut rows = events_of(db, id, after, limit + 1).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|e| encode_text_cursor(&e.event.seq.to_string())) } else { None };
    let providers: Vec<Uuid> = providers.into_iter().map(|p| p.id).collect();
    let reader = Reader { principal: &principal, providers: &providers };
    Ok(Json(Paginated { items: rows.into_iter().map(|e| reader.view(e)).collect(), next_cursor }))
}

/// The caller's feed: events of the orders they may see as resident or dispatcher, and the
/// offers and jobs of their providers, in commit order. `next_cursor` is always given, so an
/// app polls with it; a late-committing event is never skipped.
#[utoipa::path(get, path = "/events", operation_id = "event_feed", tag = "orders", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Paginated<EventView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn feed(
    State(state): State<AppState>,
    Acting { principal, providers }: Acting,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<EventView>>, ApiError> {
    let (limit, after) = seq_cursor(&params)?;
    let db = state.db()?;
    let providers: Vec<Uuid> = providers.into_iter().map(|p| p.id).collect();
    let of = feed_of(&principal, providers);
    let reader = Reader { principal: &principal, providers: &of.providers };
    let mut rows = feed_page(db, &of, after, limit + 1).await?;
    rows.truncate(limit as usize);
    let last = rows.last().map_or(after, |e| e.event.seq);
    Ok(Json(Paginated {
        items: rows.into_iter().map(|e| reader.view(e)).collect(),
        next_cursor: Some(encode_text_cursor(&last.to_string())),
    }))
}
