//! How a caller stands to an order: its resident, a dispatcher of its community, an admin,
//! or a provider it was offered or assigned to. Anyone else may not see it (404).

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use shenbian_domain::Role;
use shenbian_domain::order::{ActorRole, OrderStatus};
use uuid::Uuid;

use crate::auth::Principal;
use crate::entity::enums::{OfferStatus, ProviderKind};
use crate::entity::{offer, order, partner_member, volunteer};
use crate::error::ApiError;

/// A provider the caller acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderRef {
    pub kind: ProviderKind,
    pub id: Uuid,
}

/// The providers a user acts for: the partners they belong to and their volunteer record.
pub async fn providers_of(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<ProviderRef>, ApiError> {
    let mut providers: Vec<ProviderRef> = partner_member::Entity::find()
        .filter(partner_member::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| ProviderRef { kind: ProviderKind::Partner, id: m.partner_id })
        .collect();
    if let Some(v) = volunteer::Entity::find().filter(volunteer::Column::UserId.eq(user_id)).one(db).await? {
        providers.push(ProviderRef { kind: ProviderKind::Volunteer, id: v.id });
    }
    Ok(providers)
}

/// The caller's standing on one order.
#[derive(Debug, Clone)]
pub struct Standing {
    pub owner: bool,
    /// A dispatcher of the order's community.
    pub dispatcher: bool,
    pub admin: bool,
    /// The caller's provider that was offered or assigned this order.
    pub provider: Option<ProviderRef>,
    /// That provider's open offer, if any.
    pub open_offer: Option<offer::Model>,
    /// That provider is the one assigned.
    pub assigned: bool,
    /// Several of the caller's providers hold open offers: a provider action must name one.
    pub ambiguous: bool,
}

impl Standing {
    pub fn visible(&self) -> bool {
        self.owner || self.dispatcher || self.admin || self.provider.is_some()
    }

    /// The roles the caller may act in, most powerful first.
    pub fn roles(&self) -> Vec<ActorRole> {
        let mut roles = Vec::new();
        if self.dispatcher {
            roles.push(ActorRole::Dispatcher);
        }
        if self.owner {
            roles.push(ActorRole::Resident);
        }
        if self.provider.is_some() {
            roles.push(ActorRole::Provider);
        }
        roles
    }

    /// Whether the caller sees the resident's phone, name and exact address: the resident,
    /// the community's dispatchers, admins, and the assigned provider from acceptance until
    /// completion.
    pub fn sees_personal_data(&self, status: OrderStatus) -> bool {
        self.owner || self.dispatcher || self.admin || (self.assigned && status.holds_capacity())
    }

    /// Staff reads of personal data go to the audit log.
    pub fn is_staff_read(&self) -> bool {
        (self.dispatcher || self.admin) && !self.owner
    }
}

/// Works out the caller's standing. `chosen` is the `provider_id` a provider action named;
/// it must be one of the caller's own providers.
pub async fn standing(
    db: &impl ConnectionTrait,
    principal: &Principal,
    order: &order::Model,
    chosen: Option<Uuid>,
) -> Result<Standing, ApiError> {
    let mut providers = providers_of(db, principal.user_id).await?;
    if let Some(chosen) = chosen {
        providers.retain(|p| p.id == chosen);
        if providers.is_empty() {
            return Err(ApiError::validation("provider_id", "is not one of your providers"));
        }
    }
    let ids: Vec<Uuid> = providers.iter().map(|p| p.id).collect();
    let assigned = order.provider_id.filter(|id| ids.contains(id));
    let offers = offer::Entity::find()
        .filter(offer::Column::OrderId.eq(order.id))
        .filter(offer::Column::ProviderId.is_in(ids))
        .all(db)
        .await?;
    let open: Vec<&offer::Model> = offers.iter().filter(|o| o.status == OfferStatus::Open).collect();
    // Assigned first, then an open offer, then any earlier offer (a lost race still sees
    // the order, to learn it lost).
    let provider_id = assigned.or(open.first().map(|o| o.provider_id)).or(offers.first().map(|o| o.provider_id));
    let provider = provider_id.and_then(|id| providers.iter().find(|p| p.id == id).copied());
    let open_offer = provider.and_then(|p| open.iter().find(|o| o.provider_id == p.id).map(|o| (*o).clone()));
    Ok(Standing {
        owner: order.resident_id == principal.user_id,
        dispatcher: principal.has(Role::Dispatcher) && principal.community_id == Some(order.community_id),
        admin: principal.has(Role::Admin),
        assigned: provider.is_some() && assigned.is_some(),
        ambiguous: assigned.is_none() && open.len() > 1,
        provider,
        open_offer,
    })
}

/// Loads an order the caller may see, with their standing; 404 otherwise.
pub async fn visible_order(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    chosen: Option<Uuid>,
) -> Result<(order::Model, Standing), ApiError> {
    let found = order::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    let standing = standing(db, principal, &found, chosen).await?;
    if standing.visible() { Ok((found, standing)) } else { Err(ApiError::NotFound) }
}

/// Loads an order inside a write transaction, locking its row on PostgreSQL (SQLite's
/// immediate transaction already holds the write lock).
pub async fn lock_order(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<order::Model>, ApiError> {
    let query = order::Entity::find_by_id(id);
    let query =
        if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres { query.lock_exclusive() } else { query };
    Ok(query.one(db).await?)
}
