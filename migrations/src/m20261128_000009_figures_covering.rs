//! A covering index for a community's figures: its orders by creation time, carrying every
//! column the figures read, so that a window of a community's orders is read from the index
//! alone. The community's orders lie scattered among every other community's in the table
//! (one page read per order or so); in the index they lie together. PostgreSQL carries the
//! extra columns as `INCLUDE`d payload (an index-only scan once the pages are all-visible);
//! SQLite, which has no `INCLUDE`, as trailing key columns. It replaces the plain index on
//! `(community_id, created_at)`, whose key it keeps in front.

use sea_orm_migration::prelude::*;

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ix_order_community_figures";
const KEY: [&str; 2] = ["community_id", "created_at"];
/// What the figures read of an order besides the key.
const CARRIED: [&str; 14] = [
    "id",
    "status",
    "category_code",
    "channel",
    "urgency",
    "provider_kind",
    "provider_id",
    "minutes",
    "escalation_level",
    "first_dispatched_at",
    "dispatch_by",
    "accepted_at",
    "completed_at",
    "complete_by",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let covering = if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            let mut stmt = index(NAME, "orders", &KEY);
            for col in CARRIED {
                stmt.include(col);
            }
            stmt
        } else {
            index(NAME, "orders", &[KEY.as_slice(), CARRIED.as_slice()].concat())
        };
        manager.create_index(covering).await?;
        manager.drop_index(Index::drop().name("ix_order_community_created").table("orders").to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index("ix_order_community_created", "orders", &KEY)).await?;
        manager.drop_index(Index::drop().name(NAME).table("orders").to_owned()).await
    }
}
