//! Stored enums: each mirrors a domain enum, stored as its snake_case word, so queries
//! compare typed values, never string literals.

use shenbian_domain::category::Urgency;
use shenbian_domain::contract::{ContractStatus, Pricing};
use shenbian_domain::invitation::InvitationStatus;
use shenbian_domain::order::{Action, ActorRole, OrderStatus};
use shenbian_domain::partner::{PartnerKind, ProviderStatus};

/// Defines a stored enum with the same variants as a domain enum, and the conversions. The
/// OpenAPI document names it after the domain enum (`Urgency`, not `UrgencyDb`).
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident mirrors $domain:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        #[serde(rename_all = "snake_case")]
        #[schema(as = $domain)]
        pub enum $name {
            $(#[sea_orm(string_value = $value)] $variant,)+
        }

        impl From<$name> for $domain {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => $domain::$variant,)+ }
            }
        }

        impl From<$domain> for $name {
            fn from(v: $domain) -> Self {
                match v { $($domain::$variant => $name::$variant,)+ }
            }
        }
    };
}

mirror_enum!(
    /// What a partner organisation does.
    PartnerKindDb mirrors PartnerKind {
        Medical = "medical", Legal = "legal", Education = "education", Finance = "finance",
        ElderlyCare = "elderly_care", Household = "household", Other = "other",
    }
);

mirror_enum!(
    /// Where a partner or volunteer stands: pending, approved, rejected, suspended.
    ProviderStatusDb mirrors ProviderStatus {
        Pending = "pending", Approved = "approved", Rejected = "rejected", Suspended = "suspended",
    }
);

mirror_enum!(
    /// A contract's state; `expired` is derived from its dates and never stored.
    ContractStatusDb mirrors ContractStatus {
        Draft = "draft", Signed = "signed", Active = "active", Suspended = "suspended",
        Terminated = "terminated", Expired = "expired",
    }
);

mirror_enum!(
    /// What the partner charges residents under a contract.
    PricingDb mirrors Pricing { Free = "free", Discount = "discount", Market = "market" }
);

mirror_enum!(
    /// How fast a request must be answered.
    UrgencyDb mirrors Urgency { Normal = "normal", Urgent = "urgent", Emergency = "emergency" }
);

mirror_enum!(
    /// Where an invitation to join a partner stands; `expired` is derived from its expiry
    /// and never stored.
    InvitationStatusDb mirrors InvitationStatus {
        Pending = "pending", Accepted = "accepted", Declined = "declined", Revoked = "revoked",
        Expired = "expired",
    }
);

/// A member's place in a partner organisation.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    sea_orm::EnumIter,
    sea_orm::DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Signs contracts, manages members.
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "member")]
    Member,
}

mirror_enum!(
    /// Where an order is in its life cycle.
    OrderStatusDb mirrors OrderStatus {
        Pending = "pending", Offered = "offered", Accepted = "accepted", InProgress = "in_progress",
        Completed = "completed", Closed = "closed", Disputed = "disputed", Cancelled = "cancelled",
    }
);

mirror_enum!(
    /// A step of the life cycle, as the event log records it.
    ActionDb mirrors Action {
        Created = "created", Updated = "updated", Dispatched = "dispatched", Withdrawn = "withdrawn",
        Accepted = "accepted", Declined = "declined", Expired = "expired", Started = "started",
        Completed = "completed", Released = "released", Reassigned = "reassigned", Confirmed = "confirmed",
        Disputed = "disputed", Resolved = "resolved", Cancelled = "cancelled", Escalated = "escalated",
        Rated = "rated",
    }
);

mirror_enum!(
    /// Who took a step.
    ActorRoleDb mirrors ActorRole {
        Resident = "resident", Dispatcher = "dispatcher", Provider = "provider", System = "system",
    }
);

/// What kind of provider an offer or a job goes to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    sea_orm::EnumIter,
    sea_orm::DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    #[sea_orm(string_value = "partner")]
    Partner,
    #[sea_orm(string_value = "volunteer")]
    Volunteer,
}

/// Where an offer stands. Only `open` offers can be accepted or declined.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    sea_orm::EnumIter,
    sea_orm::DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    #[sea_orm(string_value = "open")]
    Open,
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "declined")]
    Declined,
    #[sea_orm(string_value = "expired")]
    Expired,
    /// Closed by a withdrawal, a cancellation, another provider's accept, or a suspension.
    #[sea_orm(string_value = "closed")]
    Closed,
}

/// How an order reached the community.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    sea_orm::EnumIter,
    sea_orm::DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[sea_orm(string_value = "app")]
    App,
    #[sea_orm(string_value = "hotline_12345")]
    #[serde(rename = "hotline_12345")]
    Hotline12345,
    #[sea_orm(string_value = "wechat_group")]
    WechatGroup,
    #[sea_orm(string_value = "walk_in")]
    WalkIn,
}

impl From<ProviderKind> for shenbian_domain::standing::ProviderKind {
    fn from(kind: ProviderKind) -> Self {
        match kind {
            ProviderKind::Partner => Self::Partner,
            ProviderKind::Volunteer => Self::Volunteer,
        }
    }
}

impl From<shenbian_domain::standing::ProviderKind> for ProviderKind {
    fn from(kind: shenbian_domain::standing::ProviderKind) -> Self {
        match kind {
            shenbian_domain::standing::ProviderKind::Partner => Self::Partner,
            shenbian_domain::standing::ProviderKind::Volunteer => Self::Volunteer,
        }
    }
}
