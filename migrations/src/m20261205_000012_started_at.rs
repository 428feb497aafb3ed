//! When the job on an order started: a completion's minutes cannot exceed the time since.
//! Orders under way take the time of their last `started` event.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table("orders").add_column(timestamp_with_time_zone_null("started_at")).to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE orders SET started_at = (SELECT max(e.at) FROM order_events e \
                 WHERE e.order_id = orders.id AND e.action = 'started') \
                 WHERE status IN ('in_progress', 'completed', 'disputed', 'closed')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("orders").drop_column("started_at").to_owned()).await
    }
}
