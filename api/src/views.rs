//! Wire shapes shared by several routes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use shenbian_domain::{Role, RoleSet};

use crate::auth::session::Tokens;
use crate::entity::user::{self, UserStatus};

/// A role as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Resident,
    Dispatcher,
    Admin,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::Resident => Role::Resident,
            RoleName::Dispatcher => Role::Dispatcher,
            RoleName::Admin => Role::Admin,
        }
    }
}

impl From<Role> for RoleName {
    fn from(r: Role) -> Self {
        match r {
            Role::Resident => RoleName::Resident,
            Role::Dispatcher => RoleName::Dispatcher,
            Role::Admin => RoleName::Admin,
        }
    }
}

/// An account as its owner and admins see it (phone unmasked).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    /// Null once an account is erased.
    pub phone: Option<String>,
    pub display_name: String,
    pub roles: Vec<RoleName>,
    pub status: UserStatus,
    /// The community a dispatcher works for.
    pub community_id: Option<Uuid>,
    /// The community a resident lives in.
    pub home_community_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            phone: u.phone,
            display_name: u.display_name,
            roles: RoleSet::from_stored(&u.roles).iter().map(RoleName::from).collect(),
            status: u.status,
            community_id: u.community_id,
            home_community_id: u.home_community_id,
            created_at: u.created_at,
        }
    }
}

/// A sign-in: the tokens and who signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedIn {
    #[serde(flatten)]
    pub tokens: Tokens,
    pub user: UserView,
}
