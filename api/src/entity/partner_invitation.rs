//! Invitations to join a partner. The invitee's phone is stored only as a keyed hash
//! (`Keys::keyed_hash("invitation:phone", ..)`); the status moves by guarded updates.

use sea_orm::entity::prelude::*;

use super::enums::{InvitationStatusDb, MemberRole};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub partner_id: Uuid,
    pub phone_hash: String,
    pub role: MemberRole,
    /// Never `expired`: that is derived from `expires_at`.
    pub status: InvitationStatusDb,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// When it was accepted, declined or revoked.
    pub answered_at: Option<DateTimeUtc>,
    /// Who accepted, declined or revoked it.
    pub answered_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::partner::Entity", from = "Column::PartnerId", to = "super::partner::Column::Id")]
    Partner,
}

impl Related<super::partner::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Partner.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
