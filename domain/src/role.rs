//! Account roles. Volunteers and partner members are not roles but memberships, read from
//! their own records; these are what an account is, not what it has joined.

use std::collections::BTreeSet;
use std::fmt;

use crate::message::zh_texts;

/// What an account may act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Anyone living in a community: orders services.
    Resident,
    /// Community staff: dispatches, approves volunteers, records contracts.
    Dispatcher,
    /// District staff: communities, categories, staff accounts, partner approval.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Resident, Role::Dispatcher, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Dispatcher => "dispatcher",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty set of roles, stored as one space-separated, sorted word list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleSet(BTreeSet<Role>);

/// Why a set of roles is refused for an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleSetError {
    #[error("at least one role is required")]
    Empty,
    #[error("a dispatcher belongs to a community: community_id is required")]
    DispatcherWithoutCommunity,
}

zh_texts!(RoleSetError {
    Empty => "至少需要一个角色",
    DispatcherWithoutCommunity => "调度员须归属一个社区：请填写 community_id",
});

impl RoleSet {
    pub fn of(roles: impl IntoIterator<Item = Role>) -> Self {
        Self(roles.into_iter().collect())
    }

    /// Roles for a staff account: non-empty, and a dispatcher must belong to a community.
    pub fn for_staff(roles: impl IntoIterator<Item = Role>, has_community: bool) -> Result<Self, RoleSetError> {
        let set = Self::of(roles);
        if set.0.is_empty() {
            return Err(RoleSetError::Empty);
        }
        if set.contains(Role::Dispatcher) && !has_community {
            return Err(RoleSetError::DispatcherWithoutCommunity);
        }
        Ok(set)
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    /// The stored form: `"admin dispatcher"`.
    pub fn to_stored(&self) -> String {
        self.iter().map(Role::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Reads the stored form; unknown words are ignored so that an old server reading a
    /// newer role never grants more than it knows.
    pub fn from_stored(stored: &str) -> Self {
        Self(stored.split_whitespace().filter_map(Role::parse).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_sorted_and_reads_back() {
        let set = RoleSet::of([Role::Admin, Role::Dispatcher, Role::Admin]);
        assert_eq!(set.to_stored(), "dispatcher admin");
        assert_eq!(RoleSet::from_stored("dispatcher admin owner"), set);
    }

    #[test]
    fn staff_need_a_role_and_dispatchers_a_community() {
        assert_eq!(RoleSet::for_staff([], true), Err(RoleSetError::Empty));
        assert_eq!(RoleSet::for_staff([Role::Dispatcher], false), Err(RoleSetError::DispatcherWithoutCommunity));
        assert!(RoleSet::for_staff([Role::Admin], false).is_ok());
    }
}
