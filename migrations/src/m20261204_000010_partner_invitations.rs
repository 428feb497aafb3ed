//! Invitations to join a partner: the invitee's phone is kept only as a keyed hash, matched
//! against the phone of whoever signs in, so an invitation names no one and can wait for a
//! phone that registers later.

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
                    .table("partner_invitations")
                    .col(pk_uuid("id"))
                    .col(uuid("partner_id"))
                    .col(text("phone_hash"))
                    .col(text("role"))
                    .col(text("status"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("answered_at"))
                    .col(uuid_null("answered_by"))
                    .foreign_key(&mut fk(
                        "fk_invitation_partner",
                        ("partner_invitations", "partner_id"),
                        ("partners", "id"),
                    ))
                    .to_owned(),
            )
            .await?;
        // The invitee's list: pending invitations to the hash of her phone.
        manager.create_index(index("ix_invitation_phone", "partner_invitations", &["phone_hash", "status"])).await?;
        // The admin's list, newest first, and the search for a pending one to refresh.
        manager.create_index(index("ix_invitation_partner", "partner_invitations", &["partner_id", "id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("partner_invitations").to_owned()).await
    }
}
