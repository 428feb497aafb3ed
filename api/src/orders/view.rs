//! Orders as callers see them. The resident's phone, name and exact address are shown to
//! those who need them (see `Standing::sees_personal_data`); everyone else sees a masked
//! phone, a masked name and the compound only, and the free text (title, description,
//! summary) with phone numbers and the resident's name masked the same way.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shenbian_domain::name::mask_name;
use shenbian_domain::phone::mask_phone;
use shenbian_domain::text::mask_personal;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entity::enums::{Channel, OrderStatusDb, ProviderKind, UrgencyDb};
use crate::entity::order;
use crate::orders::store::names::OrderNames;

/// Where the service is needed. The building, `unit`, `room` and `detail` are personal
/// data: null for callers who see the compound only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddressView {
    pub compound_id: Uuid,
    /// The compound's name, e.g. 阳光花园.
    pub compound_name: String,
    pub building_id: Option<Uuid>,
    /// The building's name, e.g. 3号楼.
    pub building_name: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub detail: Option<String>,
}

/// The provider an order is assigned to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProviderRefView {
    pub kind: ProviderKind,
    /// The partner's or the volunteer's id (never a user id).
    pub id: Uuid,
}

/// A provider an order is offered to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OfferedToView {
    pub kind: ProviderKind,
    /// The partner's or the volunteer's id.
    pub id: Uuid,
    pub accept_by: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    /// The number to read out on the phone and to search by (`GET /orders?number=`): the
    /// community's code, the local date, the order's place in that community's day, e.g.
    /// `XFL-20261205-0042`. Null for orders placed before numbers existed.
    pub number: Option<String>,
    pub status: OrderStatusDb,
    pub community_id: Uuid,
    pub category_code: String,
    pub title: String,
    pub description: String,
    pub urgency: UrgencyDb,
    pub channel: Channel,
    pub address: AddressView,
    /// `138****5678` unless the caller may see it.
    pub contact_phone: String,
    /// The resident's name, `张*` unless the caller may see it.
    pub resident_name: String,
    /// Whether phone, name and address above are masked for this caller.
    pub masked: bool,
    pub preferred_start: Option<DateTime<Utc>>,
    pub preferred_end: Option<DateTime<Utc>>,
    pub provider: Option<ProviderRefView>,
    pub contract_id: Option<Uuid>,
    /// Deadline to dispatch, from creation.
    pub dispatch_by: DateTime<Utc>,
    /// Deadline to accept, from the latest dispatch.
    pub accept_by: Option<DateTime<Utc>>,
    /// Deadline to complete, from acceptance.
    pub complete_by: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// When the job started; cleared when the order goes back to pending.
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    /// The minutes worked, as the provider reported them at completion: 1–1440, and at most
    /// the minutes since the job started plus 15. Required of a volunteer, whose minutes
    /// count as service hours once the order closes; a partner's are the job's record only.
    pub minutes: Option<i32>,
    pub escalation_level: i32,
    /// Changes at every step; a compare-and-set guards it.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For the community's staff, while the order is offered: the providers it is offered
    /// to (its open offers) and by when each must accept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered_to: Option<Vec<OfferedToView>>,
    /// Only in the response to a dispatcher's entry for an account not yet claimed: the
    /// one-time code the resident redeems at `POST /auth/claim`, shown this once (it is
    /// stored only as a keyed hash). Absent (null) when the account is claimed already, in
    /// a repeated answer to the same `Idempotency-Key` (see `claim_code_note`), and when
    /// the account has orders in a community the dispatcher does not staff: redeeming a
    /// code shows every order of the account unmasked, so only a dispatcher who may see all
    /// of them gets one. A new code leaves codes given out earlier valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_code: Option<String>,
    /// Only in a repeated answer to the same `Idempotency-Key` whose first answer carried a
    /// `claim_code`: that the code is shown only once, still works, and how to get another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_code_note: Option<String>,
}

/// What a repeated answer says in place of a claim code it does not repeat.
pub const CLAIM_CODE_NOTE: &str = "the claim code was shown only once, in the first answer, and is not kept readable; \
it stays valid until it is redeemed or expires; for a new one, ask an admin for a reset code, or enter the \
resident's next order (a dispatcher of every community the resident has orders in)";

impl OrderView {
    pub fn new(o: order::Model, names: &OrderNames, unmasked: bool) -> Self {
        let resident_name = names.resident();
        let compound_name = names.compound_name.clone().unwrap_or_default();
        let address = if unmasked {
            AddressView {
                compound_id: o.compound_id,
                compound_name,
                building_id: o.building_id,
                building_name: names.building_name.clone(),
                unit: Some(o.unit),
                room: Some(o.room),
                detail: Some(o.address_detail),
            }
        } else {
            AddressView {
                compound_id: o.compound_id,
                compound_name,
                building_id: None,
                building_name: None,
                unit: None,
                room: None,
                detail: None,
            }
        };
        // Residents type their phones and names into the free text too.
        let text = |t: String| if unmasked { t } else { mask_personal(&t, resident_name) };
        Self {
            id: o.id,
            number: o.number,
            status: o.status,
            community_id: o.community_id,
            category_code: o.category_code,
            title: text(o.title),
            description: text(o.description),
            urgency: o.urgency,
            channel: o.channel,
            address,
            contact_phone: if unmasked { o.contact_phone } else { mask_phone(&o.contact_phone) },
            resident_name: if unmasked { resident_name.to_owned() } else { mask_name(resident_name) },
            masked: !unmasked,
            preferred_start: o.preferred_start,
            preferred_end: o.preferred_end,
            provider: o.provider_id.zip(o.provider_kind).map(|(id, kind)| ProviderRefView { kind, id }),
            contract_id: o.contract_id,
            dispatch_by: o.dispatch_by,
            accept_by: o.accept_by,
            complete_by: o.complete_by,
            accepted_at: o.accepted_at,
            started_at: o.started_at,
            completed_at: o.completed_at,
            summary: o.summary.map(text),
            minutes: o.minutes,
            escalation_level: o.escalation_level,
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
            offered_to: None,
            claim_code: None,
            claim_code_note: None,
        }
    }
}
