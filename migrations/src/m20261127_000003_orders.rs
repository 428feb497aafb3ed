//! Orders, their offers to providers, the append-only event log (with a global sequence
//! that commits in order, for the feed), staff notes, and idempotency records.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("orders")
                    .col(pk_uuid("id"))
                    .col(uuid("community_id"))
                    .col(text("category_code"))
                    .col(uuid("resident_id"))
                    .col(text("title"))
                    .col(text("description"))
                    .col(uuid("compound_id"))
                    .col(uuid_null("building_id"))
                    .col(text("unit"))
                    .col(text("room"))
                    .col(text("address_detail"))
                    .col(text("contact_phone"))
                    .col(text("urgency"))
                    .col(text("channel"))
                    .col(timestamp_with_time_zone_null("preferred_start"))
                    .col(timestamp_with_time_zone_null("preferred_end"))
                    .col(text("status"))
                    .col(integer("version"))
                    .col(text_null("provider_kind"))
                    .col(uuid_null("provider_id"))
                    .col(uuid_null("contract_id"))
                    .col(timestamp_with_time_zone("dispatch_by"))
                    .col(timestamp_with_time_zone_null("accept_by"))
                    .col(timestamp_with_time_zone_null("complete_by"))
                    .col(timestamp_with_time_zone_null("accepted_at"))
                    .col(timestamp_with_time_zone_null("completed_at"))
                    .col(text_null("summary"))
                    .col(integer_null("minutes"))
                    .col(integer("escalation_level"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("fk_order_community", ("orders", "community_id"), ("communities", "id")))
                    .foreign_key(&mut fk("fk_order_category", ("orders", "category_code"), ("categories", "code")))
                    .foreign_key(&mut fk("fk_order_resident", ("orders", "resident_id"), ("users", "id")))
                    .foreign_key(&mut fk("fk_order_compound", ("orders", "compound_id"), ("compounds", "id")))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_order_community", &["community_id", "id"][..]),
            ("ix_order_resident", &["resident_id", "id"][..]),
            ("ix_order_provider", &["provider_id", "status"][..]),
            ("ix_order_status", &["status", "id"][..]),
            ("ix_order_contact_phone", &["contact_phone"][..]),
        ] {
            manager.create_index(index(name, "orders", cols)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("offers")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(text("provider_kind"))
                    .col(uuid("provider_id"))
                    .col(uuid_null("contract_id"))
                    .col(text("status"))
                    .col(timestamp_with_time_zone("accept_by"))
                    .col(text_null("reason"))
                    .col(uuid("dispatched_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .foreign_key(&mut fk("fk_offer_order", ("offers", "order_id"), ("orders", "id")))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_offer_order", "offers", &["order_id", "status"])).await?;
        manager.create_index(index("ix_offer_provider", "offers", &["provider_id", "status"])).await?;
        manager.create_index(index("ix_offer_contract", "offers", &["contract_id", "status"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("order_events")
                    .col(pk_uuid("id"))
                    .col(big_integer("seq"))
                    .col(uuid("order_id"))
                    .col(text("action"))
                    .col(uuid_null("actor_id"))
                    .col(text("actor_role"))
                    .col(text_null("from_status"))
                    .col(text("to_status"))
                    .col(text_null("reason"))
                    .col(uuid_null("provider_id"))
                    .col(timestamp_with_time_zone("at"))
                    .index(Index::create().name("uq_event_seq").col("seq").unique())
                    .foreign_key(&mut fk("fk_event_order", ("order_events", "order_id"), ("orders", "id")))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_event_order", "order_events", &["order_id", "seq"])).await?;
        manager.create_index(index("ix_event_provider", "order_events", &["provider_id", "seq"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("event_counter")
                    .col(integer("id").primary_key())
                    .col(big_integer("value"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("event_counter")
                    .columns(["id", "value"])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("order_notes")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(uuid("author_id"))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("fk_note_order", ("order_notes", "order_id"), ("orders", "id")))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_note_order", "order_notes", &["order_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .col(uuid("user_id"))
                    .col(text("key"))
                    .col(text("request_hash"))
                    .col(integer("status"))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("user_id").col("key").primary())
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_idempotency_created", "idempotency_keys", &["created_at"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["idempotency_keys", "order_notes", "event_counter", "order_events", "offers", "orders"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
