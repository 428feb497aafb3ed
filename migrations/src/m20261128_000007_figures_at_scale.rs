//! Indexes that let a provider's record be counted from the index alone, without reading a
//! row: its offers by dispatch time (with their status), its jobs by completion time (with
//! the deadline), its ratings by time (with the stars); and the ratings of a community's
//! orders by order (with the provider and the stars). On SQLite a covering index is read
//! instead of the table; on PostgreSQL these become index-only scans once the pages are
//! all-visible.

use sea_orm_migration::prelude::*;

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 4] = [
    ("ix_offer_provider_created", "offers", &["provider_id", "created_at", "status"]),
    ("ix_order_provider_completed", "orders", &["provider_id", "completed_at", "complete_by"]),
    ("ix_rating_provider_created", "ratings", &["provider_id", "created_at", "stars"]),
    ("ix_rating_order_stars", "ratings", &["order_id", "provider_id", "stars"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, cols) in INDEXES {
            manager.create_index(index(name, table, cols)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES.iter().rev() {
            manager.drop_index(Index::drop().name(*name).table(*table).to_owned()).await?;
        }
        Ok(())
    }
}
