//! Who may see an order, for a request: the caller's standing (the domain's
//! [`Standing`]) from the order as the store read it, and the 404 for anyone who may not
//! see it — the same answer as for an order that does not exist, whatever the request says.

use sea_orm::ConnectionTrait;
use shenbian_domain::Role;
use shenbian_domain::standing::{Caller, Parties, ProviderRef, Standing, sort_providers};
use uuid::Uuid;

use super::store::load::{self, OrderRead, ReadFor, provider_of};
use crate::auth::{Bearer, Principal};
use crate::entity::order;
use crate::error::{ApiError, t};
use crate::state::AppState;

/// The caller as the domain's visibility rules need them.
pub fn caller_of(principal: &Principal) -> Caller {
    Caller {
        user_id: principal.user_id,
        admin: principal.has(Role::Admin),
        dispatches_for: principal.community_id.filter(|_| principal.has(Role::Dispatcher)),
    }
}

/// The order as its visibility depends on it.
pub fn parties(o: &order::Model) -> Parties {
    Parties { resident_id: o.resident_id, community_id: o.community_id, provider_id: o.provider_id }
}

/// The caller's standing on an order read for them ([`load::read`] with the caller):
/// without a further query unless they named one of their providers (`chosen`). `chosen`
/// must be one of theirs — said only to a caller who may see the order: anyone else gets
/// 404, whatever they named.
pub async fn standing_of(
    db: &impl ConnectionTrait,
    principal: &Principal,
    read: &OrderRead,
    chosen: Option<Uuid>,
) -> Result<Standing, ApiError> {
    let caller = caller_of(principal);
    let parties = parties(&read.order);
    let mine = read.offers_seen();
    let providers: Vec<ProviderRef> = match (read.caller_acts_for_providers, chosen) {
        (false, _) => Vec::new(),
        (true, Some(_)) => load::providers_of(db, principal.user_id).await?,
        (true, None) if read.assigned_to_caller => provider_of(&read.order).into_iter().collect(),
        (true, None) => {
            let mut providers: Vec<ProviderRef> = mine.iter().map(|o| o.provider).collect();
            sort_providers(&mut providers);
            providers
        }
    };
    let Some(chosen) = chosen else { return Ok(Standing::of(&caller, &parties, &providers, &mine, read.others_open)) };
    let Some(named) = providers.iter().find(|p| p.id == chosen).copied() else {
        return if Standing::of(&caller, &parties, &providers, &mine, read.others_open).visible() {
            Err(ApiError::validation("provider_id", t("不是你所属的服务方", "is not one of your providers")))
        } else {
            Err(ApiError::NotFound)
        };
    };
    // Through the named provider alone: the caller's other providers' open offers count as
    // others'.
    let others_open = read.others_open || mine.iter().any(|o| o.open && o.provider.id != chosen);
    let mine: Vec<_> = mine.into_iter().filter(|o| o.provider.id == chosen).collect();
    Ok(Standing::of(&caller, &parties, &[named], &mine, others_open))
}

/// An order the caller may see, with their standing; 404 otherwise. One statement, two when
/// the caller names one of their providers.
pub async fn visible_read(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    chosen: Option<Uuid>,
) -> Result<(OrderRead, Standing), ApiError> {
    let whom = ReadFor { caller: Some(principal.user_id), ..ReadFor::default() };
    let read = load::read(db, id, whom).await?.ok_or(ApiError::NotFound)?;
    let standing = standing_of(db, principal, &read, chosen).await?;
    if standing.visible() { Ok((read, standing)) } else { Err(ApiError::NotFound) }
}

/// Loads an order the caller may see, with their standing; 404 otherwise.
pub async fn visible_order(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    chosen: Option<Uuid>,
) -> Result<(order::Model, Standing), ApiError> {
    let (read, standing) = visible_read(db, principal, id, chosen).await?;
    Ok((read.order, standing))
}

/// The caller, an order they may see and their standing, as [`visible_read`] gives them,
/// with the caller's session read in the order's statement: one round trip where a
/// [`Principal`] and [`visible_read`] take two. 401 for a session that is not live, 404 for
/// an order the caller may not see (or that does not exist: said only once their session
/// was checked in a statement of its own).
pub async fn authenticated_read(
    db: &impl ConnectionTrait,
    state: &AppState,
    bearer: &Bearer,
    id: Uuid,
    chosen: Option<Uuid>,
) -> Result<(Principal, OrderRead, Standing), ApiError> {
    let whom = ReadFor { caller: Some(bearer.user_id()), session: Some(bearer.session_id()), lock: false };
    let Some(mut read) = load::read(db, id, whom).await? else {
        bearer.authenticate(state).await?;
        return Err(ApiError::NotFound);
    };
    let principal = bearer.principal(state, read.session.take())?;
    let standing = standing_of(db, &principal, &read, chosen).await?;
    if standing.visible() { Ok((principal, read, standing)) } else { Err(ApiError::NotFound) }
}

/// `checked`, the check of a request's body or parameters on the order `id` — or, when it
/// refuses them, 404 in its place for a caller who may not see the order: what a caller may
/// not see is 404 whatever the request says. The order is read only on the refusal's path.
pub async fn seen_or<T>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    checked: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match checked {
        Ok(value) => Ok(value),
        Err(refused) => {
            visible_read(db, principal, id, None).await?;
            Err(refused)
        }
    }
}

/// [`seen_or`] for a caller whose session is checked with the order's read.
pub async fn seen_by_bearer_or<T>(
    state: &AppState,
    bearer: &Bearer,
    id: Uuid,
    checked: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match checked {
        Ok(value) => Ok(value),
        Err(refused) => {
            authenticated_read(state.db()?, state, bearer, id, None).await?;
            Err(refused)
        }
    }
}
