//! Accounts, sessions, one-time codes, sign-in throttling, server secrets, the audit log,
//! and the communities that staff and residents belong to.

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
                    .table("communities")
                    .col(pk_uuid("id"))
                    .col(text("code"))
                    .col(text("name"))
                    .col(text("street"))
                    .col(text("settings"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(Index::create().name("uq_community_code").col("code").unique())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(pk_uuid("id"))
                    .col(text_null("phone"))
                    .col(text("display_name"))
                    .col(text_null("password_hash"))
                    .col(text("roles"))
                    .col(text("status"))
                    .col(uuid_null("community_id"))
                    .col(uuid_null("home_community_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .index(Index::create().name("uq_user_phone").col("phone").unique())
                    .foreign_key(&mut fk("fk_user_community", ("users", "community_id"), ("communities", "id")))
                    .foreign_key(&mut fk(
                        "fk_user_home_community",
                        ("users", "home_community_id"),
                        ("communities", "id"),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(text_null("revoked_reason"))
                    .foreign_key(&mut fk("fk_session_user", ("sessions", "user_id"), ("users", "id")))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_session_user", "sessions", &["user_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("refresh_tokens")
                    .col(pk_uuid("id"))
                    .col(uuid("session_id"))
                    .col(text("token_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .index(Index::create().name("uq_refresh_token_hash").col("token_hash").unique())
                    .foreign_key(&mut fk("fk_refresh_session", ("refresh_tokens", "session_id"), ("sessions", "id")))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_refresh_session", "refresh_tokens", &["session_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("one_time_codes")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(text("purpose"))
                    .col(text("code_hash"))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .foreign_key(&mut fk("fk_code_user", ("one_time_codes", "user_id"), ("users", "id")))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_code_user", "one_time_codes", &["user_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("auth_failures")
                    .col(pk_uuid("id"))
                    .col(text("key_hash"))
                    .col(timestamp_with_time_zone("at"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_auth_failure_key_at", "auth_failures", &["key_hash", "at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("server_secrets")
                    .col(text("name").primary_key())
                    .col(text("value"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .col(pk_uuid("id"))
                    .col(uuid_null("actor_id"))
                    .col(text("action"))
                    .col(text("object_type"))
                    .col(text("object_id"))
                    .col(text_null("reason"))
                    .col(timestamp_with_time_zone("at"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_audit_at", "audit_log", &["at"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "audit_log",
            "server_secrets",
            "auth_failures",
            "one_time_codes",
            "refresh_tokens",
            "sessions",
            "users",
            "communities",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
