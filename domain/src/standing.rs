//! How a caller stands to an order, and what that lets them see: its resident, a dispatcher
//! of its community, an admin, or a provider it was offered or assigned to. Anyone else may
//! not see the order at all (the HTTP layer answers 404, as for an order that does not exist).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::order::{ActorRole, OrderStatus};

/// What kind of provider an offer or a job goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderKind {
    Partner,
    Volunteer,
}

/// A provider: a partner organisation or a volunteer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderRef {
    pub kind: ProviderKind,
    pub id: Uuid,
}

/// Sorts providers as callers list them: partners first, then the volunteer record.
pub fn sort_providers(providers: &mut Vec<ProviderRef>) {
    providers.sort_by_key(|p| (p.kind == ProviderKind::Volunteer, p.id));
    providers.dedup();
}

/// The caller, as far as their account says: who they are, whether they are an admin, and
/// the community they dispatch for, if they are a dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Uuid,
    pub admin: bool,
    pub dispatches_for: Option<Uuid>,
}

/// The order as its visibility depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parties {
    pub resident_id: Uuid,
    pub community_id: Uuid,
    /// The provider assigned the job, if any.
    pub provider_id: Option<Uuid>,
}

/// An offer of the order to one of the caller's providers, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferSeen {
    pub id: Uuid,
    pub provider: ProviderRef,
    pub open: bool,
    pub accept_by: DateTime<Utc>,
    pub contract_id: Option<Uuid>,
}

/// The caller's standing on one order (none at all: the worker's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    pub owner: bool,
    /// A dispatcher of the order's community.
    pub dispatcher: bool,
    pub admin: bool,
    /// The caller's provider that was offered or assigned this order.
    pub provider: Option<ProviderRef>,
    /// That provider's open offer, if any.
    pub open_offer: Option<OfferSeen>,
    /// That provider is the one assigned.
    pub assigned: bool,
    /// Several of the caller's providers hold open offers: a provider's step must name one.
    pub ambiguous: bool,
    /// Other providers hold open offers on the order too (a broadcast), so an accept has
    /// offers to close.
    pub others_open: bool,
}

impl Standing {
    /// The standing from what was read: the caller's providers (those that count), the
    /// caller's offers on the order (any state), and whether another provider holds an open
    /// one. The assigned provider comes first, then one with an open offer, then any earlier
    /// offer (a provider who lost a race still sees the order, to learn it lost).
    pub fn of(
        caller: &Caller,
        order: &Parties,
        providers: &[ProviderRef],
        mine: &[OfferSeen],
        others_open: bool,
    ) -> Self {
        let assigned = order.provider_id.filter(|id| providers.iter().any(|p| p.id == *id));
        let mine: Vec<&OfferSeen> = if assigned.is_some() { Vec::new() } else { mine.iter().collect() };
        let open: Vec<&&OfferSeen> = mine.iter().filter(|o| o.open).collect();
        let provider_id = assigned.or(open.first().map(|o| o.provider.id)).or(mine.first().map(|o| o.provider.id));
        let provider = provider_id.and_then(|id| providers.iter().find(|p| p.id == id).copied());
        let open_offer = provider.and_then(|p| open.iter().find(|o| o.provider.id == p.id).map(|o| ***o));
        Self {
            owner: order.resident_id == caller.user_id,
            dispatcher: caller.dispatches_for == Some(order.community_id),
            admin: caller.admin,
            assigned: provider.is_some() && assigned.is_some(),
            ambiguous: assigned.is_none() && open.len() > 1,
            others_open: others_open || open.len() > 1,
            provider,
            open_offer,
        }
    }

    /// Whether the caller may see the order at all.
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
    /// completion (the job needs them; before and after it does not).
    pub fn sees_personal_data(&self, status: OrderStatus) -> bool {
        self.owner || self.dispatcher || self.admin || (self.assigned && status.holds_capacity())
    }

    /// A read of personal data by staff rather than by the resident: it goes to the audit log.
    pub fn is_staff_read(&self, status: OrderStatus) -> bool {
        self.sees_personal_data(status) && (self.dispatcher || self.admin) && !self.owner
    }

    /// Whether the caller works on the order as community staff (candidates, `offered_to`).
    pub fn is_staff(&self) -> bool {
        self.dispatcher || self.admin
    }

    /// Whether the caller reads and writes the order's internal notes: its community's
    /// staff and the assigned provider; never other providers, never the resident as such.
    pub fn may_use_notes(&self) -> bool {
        self.is_staff() || self.assigned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn offer(n: u128, provider: u128, open: bool) -> OfferSeen {
        OfferSeen {
            id: id(100 + n),
            provider: ProviderRef { kind: ProviderKind::Partner, id: id(provider) },
            open,
            accept_by: DateTime::<Utc>::MIN_UTC,
            contract_id: None,
        }
    }

    #[test]
    fn the_assigned_provider_sees_personal_data_only_while_the_job_runs() {
        let caller = Caller { user_id: id(1), admin: false, dispatches_for: None };
        let order = Parties { resident_id: id(2), community_id: id(3), provider_id: Some(id(9)) };
        let providers = [ProviderRef { kind: ProviderKind::Volunteer, id: id(9) }];
        let s = Standing::of(&caller, &order, &providers, &[], false);
        assert!(s.assigned && s.visible());
        assert!(s.sees_personal_data(OrderStatus::Accepted));
        assert!(s.sees_personal_data(OrderStatus::InProgress));
        assert!(!s.sees_personal_data(OrderStatus::Completed));
        assert!(!s.is_staff_read(OrderStatus::Accepted));
    }

    #[test]
    fn two_open_offers_of_one_caller_make_them_name_a_provider() {
        let caller = Caller { user_id: id(1), admin: false, dispatches_for: None };
        let order = Parties { resident_id: id(2), community_id: id(3), provider_id: None };
        let providers = [
            ProviderRef { kind: ProviderKind::Partner, id: id(7) },
            ProviderRef { kind: ProviderKind::Partner, id: id(8) },
        ];
        let s = Standing::of(&caller, &order, &providers, &[offer(1, 7, true), offer(2, 8, true)], false);
        assert!(s.ambiguous && s.others_open);
        assert_eq!(s.open_offer.map(|o| o.id), Some(id(101)));
    }

    proptest! {
        /// Whoever is none of resident, the community's dispatcher, an admin or a provider
        /// of the order sees nothing of it; whoever sees personal data sees the order.
        #[test]
        fn strangers_see_nothing(
            owner in any::<bool>(), dispatcher in any::<bool>(), admin in any::<bool>(),
            offered in any::<bool>(), assigned in any::<bool>(), s in 0usize..8,
        ) {
            let caller = Caller { user_id: id(1), admin, dispatches_for: dispatcher.then_some(id(3)) };
            let order = Parties {
                resident_id: if owner { id(1) } else { id(2) },
                community_id: id(3),
                provider_id: assigned.then_some(id(7)),
            };
            let providers = [ProviderRef { kind: ProviderKind::Partner, id: id(7) }];
            let mine = if offered { vec![offer(1, 7, false)] } else { vec![] };
            let standing = Standing::of(&caller, &order, &providers, &mine, false);
            let status = OrderStatus::ALL[s];
            prop_assert_eq!(standing.visible(), owner || dispatcher || admin || offered || assigned);
            if standing.sees_personal_data(status) {
                prop_assert!(standing.visible());
            }
            if !(owner || dispatcher || admin) {
                prop_assert_eq!(standing.sees_personal_data(status), assigned && status.holds_capacity());
            }
        }
    }
}
