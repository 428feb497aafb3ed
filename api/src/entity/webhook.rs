//! An endpoint that receives, signed, the events its owner may see.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The partner whose events it receives; `None` for the district's (admins').
    pub partner_id: Option<Uuid>,
    pub created_by: Uuid,
    pub url: String,
    pub description: String,
    /// Space-separated actions wanted; empty for all.
    pub event_types: String,
    /// Space-separated community ids wanted; empty for all.
    pub community_ids: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The sequence number of the last event delivered.
    pub delivered_seq: i64,
    pub failures: i32,
    pub failing_since: Option<DateTimeUtc>,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub lease_owner: Option<Uuid>,
    pub lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
