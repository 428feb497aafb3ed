//! Places (compounds, buildings), the service catalogue, partner organisations and their
//! members, volunteers, and contracts with the communities and categories they cover.

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
                    .table("compounds")
                    .col(pk_uuid("id"))
                    .col(uuid("community_id"))
                    .col(text("name"))
                    .col(timestamp_with_time_zone("created_at"))
                    .index(Index::create().name("uq_compound_name").col("community_id").col("name").unique())
                    .foreign_key(&mut fk("fk_compound_community", ("compounds", "community_id"), ("communities", "id")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("buildings")
                    .col(pk_uuid("id"))
                    .col(uuid("compound_id"))
                    .col(text("name"))
                    .col(timestamp_with_time_zone("created_at"))
                    .index(Index::create().name("uq_building_name").col("compound_id").col("name").unique())
                    .foreign_key(&mut fk("fk_building_compound", ("buildings", "compound_id"), ("compounds", "id")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("categories")
                    .col(text("code").primary_key())
                    .col(text("name_zh"))
                    .col(text("name_en"))
                    .col(text("group_name"))
                    .col(text("sla"))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("partners")
                    .col(pk_uuid("id"))
                    .col(text("name"))
                    .col(text("kind"))
                    .col(text("credit_code"))
                    .col(text("contact_name"))
                    .col(text("contact_phone"))
                    .col(text("description"))
                    .col(text("status"))
                    .col(text_null("status_reason"))
                    .col(uuid("created_by"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(Index::create().name("uq_partner_credit_code").col("credit_code").unique())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("partner_members")
                    .col(uuid("partner_id"))
                    .col(uuid("user_id"))
                    .col(text("role"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(&mut pair_key("partner_id", "user_id"))
                    .foreign_key(&mut fk("fk_member_partner", ("partner_members", "partner_id"), ("partners", "id")))
                    .foreign_key(&mut fk("fk_member_user", ("partner_members", "user_id"), ("users", "id")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_member_user").table("partner_members").col("user_id").to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("volunteers")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid("community_id"))
                    .col(text("bio"))
                    .col(text("status"))
                    .col(text_null("status_reason"))
                    .col(integer("max_open_jobs"))
                    .col(integer("open_jobs"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(Index::create().name("uq_volunteer_user").col("user_id").unique())
                    .foreign_key(&mut fk("fk_volunteer_user", ("volunteers", "user_id"), ("users", "id")))
                    .foreign_key(&mut fk(
                        "fk_volunteer_community",
                        ("volunteers", "community_id"),
                        ("communities", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_volunteer_community").table("volunteers").col("community_id").to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("volunteer_skills")
                    .col(uuid("volunteer_id"))
                    .col(text("category_code"))
                    .primary_key(&mut pair_key("volunteer_id", "category_code"))
                    .foreign_key(&mut fk(
                        "fk_skill_volunteer",
                        ("volunteer_skills", "volunteer_id"),
                        ("volunteers", "id"),
                    ))
                    .foreign_key(&mut fk(
                        "fk_skill_category",
                        ("volunteer_skills", "category_code"),
                        ("categories", "code"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("volunteer_buildings")
                    .col(uuid("volunteer_id"))
                    .col(uuid("building_id"))
                    .primary_key(&mut pair_key("volunteer_id", "building_id"))
                    .foreign_key(&mut fk(
                        "fk_vb_volunteer",
                        ("volunteer_buildings", "volunteer_id"),
                        ("volunteers", "id"),
                    ))
                    .foreign_key(&mut fk("fk_vb_building", ("volunteer_buildings", "building_id"), ("buildings", "id")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("contracts")
                    .col(pk_uuid("id"))
                    .col(uuid("partner_id"))
                    .col(text("title"))
                    .col(date("valid_from"))
                    .col(date("valid_to"))
                    .col(text("pricing"))
                    .col(integer_null("discount_percent"))
                    .col(integer_null("monthly_quota"))
                    .col(integer("max_open_jobs"))
                    .col(integer_null("accept_within_minutes"))
                    .col(text("status"))
                    .col(text_null("status_reason"))
                    .col(integer("open_jobs"))
                    .col(timestamp_with_time_zone_null("signed_at"))
                    .col(uuid_null("signed_by"))
                    .col(uuid("created_by"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("fk_contract_partner", ("contracts", "partner_id"), ("partners", "id")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_contract_partner").table("contracts").col("partner_id").to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("contract_communities")
                    .col(uuid("contract_id"))
                    .col(uuid("community_id"))
                    .primary_key(&mut pair_key("contract_id", "community_id"))
                    .foreign_key(&mut fk(
                        "fk_cc_contract",
                        ("contract_communities", "contract_id"),
                        ("contracts", "id"),
                    ))
                    .foreign_key(&mut fk(
                        "fk_cc_community",
                        ("contract_communities", "community_id"),
                        ("communities", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_cc_community").table("contract_communities").col("community_id").to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("contract_categories")
                    .col(uuid("contract_id"))
                    .col(text("category_code"))
                    .primary_key(&mut pair_key("contract_id", "category_code"))
                    .foreign_key(&mut fk("fk_ck_contract", ("contract_categories", "contract_id"), ("contracts", "id")))
                    .foreign_key(&mut fk(
                        "fk_ck_category",
                        ("contract_categories", "category_code"),
                        ("categories", "code"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("contract_usage")
                    .col(uuid("contract_id"))
                    .col(text("month"))
                    .col(integer("accepted"))
                    .primary_key(&mut pair_key("contract_id", "month"))
                    .foreign_key(&mut fk("fk_usage_contract", ("contract_usage", "contract_id"), ("contracts", "id")))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "contract_usage",
            "contract_categories",
            "contract_communities",
            "contracts",
            "volunteer_buildings",
            "volunteer_skills",
            "volunteers",
            "partner_members",
            "partners",
            "categories",
            "buildings",
            "compounds",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
