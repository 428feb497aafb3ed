//! Who may see a contract, and what they may do to it.

use sea_orm::{ConnectionTrait, EntityTrait};
use shenbian_domain::Role;
use uuid::Uuid;

use super::coverage::{Covered, with_coverage};
use crate::access::membership;
use crate::auth::Principal;
use crate::entity::contract;
use crate::entity::enums::MemberRole;
use crate::error::ApiError;

/// How the caller stands to a contract.
pub(crate) struct Standing {
    /// Admin, or a dispatcher of the one community it covers: changes it. A contract that
    /// covers other communities too is the district's to change, not one community's.
    pub(super) may_change: bool,
    /// Admin of the contract's partner: signs it.
    pub(super) partner_admin: bool,
}

/// A contract the caller may see (admins, dispatchers of a covered community, the
/// partner's members), with their standing; anyone else gets 404.
pub(crate) async fn visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> Result<(Covered, Standing), ApiError> {
    let found = contract::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    let covered = with_coverage(db, vec![found]).await?.pop().ok_or(ApiError::NotFound)?;
    let staff = principal.has(Role::Admin)
        || (principal.has(Role::Dispatcher)
            && principal.community_id.is_some_and(|c| covered.communities.contains(&c)));
    let role = membership(db, principal.user_id, covered.contract.partner_id).await?;
    if !staff && role.is_none() {
        return Err(ApiError::NotFound);
    }
    let may_change =
        principal.has(Role::Admin) || (staff && covered.communities.iter().all(|c| principal.community_id == Some(*c)));
    Ok((covered, Standing { may_change, partner_admin: role == Some(MemberRole::Admin) }))
}
