//! The inbox and the webhooks.
//!
//! `notifications` holds one row per reader and notice. The notices of the life cycle are
//! written by a trigger on `order_events`, so each is in the transaction of its event,
//! whatever writes the event (a step, the worker, hotline intake); the rule of who hears
//! of what is the domain's (`shenbian_domain::notification::Audience`), translated here
//! into the trigger's statement.
//!
//! `webhooks` are endpoints that receive the events their owner may see; each keeps the
//! sequence number of the last event delivered, so the event log itself is the outbox:
//! an event is committed with its delivery owed, and delivered in log order.
//! `webhook_attempts` records every attempt.

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};
use shenbian_domain::notification::Audience;
use shenbian_domain::order::Action;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("notifications")
                    .col(big_pk_auto("id"))
                    .col(uuid("user_id"))
                    .col(text("kind"))
                    .col(uuid_null("order_id"))
                    // The event, offer, volunteer or webhook the notice is about.
                    .col(uuid_null("subject_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(timestamp_with_time_zone_null("read_at"))
                    .foreign_key(&mut fk("fk_notification_user", ("notifications", "user_id"), ("users", "id")))
                    .to_owned(),
            )
            .await?;
        // The reader's inbox, newest first (and its unread count, read along it: one more
        // index would cost every event its upkeep).
        manager.create_index(index("ix_notification_user", "notifications", &["user_id", "id"])).await?;
        // A notice from the clock is given once per reader and subject. The life cycle's
        // notices are one per event and reader by construction, and carry no such index.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_notification_subject ON notifications (user_id, kind, subject_id) \
                 WHERE kind NOT LIKE 'order.%' OR kind = 'order.rate_reminder'",
            )
            .await?;
        let db = manager.get_connection();
        let body = trigger_insert();
        // The actions anyone hears of: the trigger does not run for the others.
        let heard = quoted(Action::ALL.into_iter().filter(|a| Audience::ALL.iter().any(|au| au.hears(*a))));
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION order_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN {body}; RETURN NULL; END $$"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER order_events_notify AFTER INSERT ON order_events \
                     FOR EACH ROW WHEN (NEW.action IN ({heard})) EXECUTE FUNCTION order_events_notify()"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER order_events_notify AFTER INSERT ON order_events \
                     WHEN NEW.action IN ({heard}) BEGIN {body}; END"
                ))
                .await?;
            }
        }

        manager
            .create_table(
                Table::create()
                    .table("webhooks")
                    .col(pk_uuid("id"))
                    // The partner whose events it receives; null for the district's.
                    .col(uuid_null("partner_id"))
                    .col(uuid("created_by"))
                    .col(text("url"))
                    .col(text("description"))
                    // Space-separated actions and community ids wanted; empty for all.
                    .col(text("event_types"))
                    .col(text("community_ids"))
                    .col(text("secret"))
                    .col(text_null("previous_secret"))
                    .col(timestamp_with_time_zone_null("previous_secret_until"))
                    .col(boolean("enabled"))
                    .col(text_null("disabled_reason"))
                    // The last event delivered (its sequence number).
                    .col(big_integer("delivered_seq"))
                    .col(integer("failures"))
                    .col(timestamp_with_time_zone_null("failing_since"))
                    .col(timestamp_with_time_zone_null("next_attempt_at"))
                    .col(uuid_null("lease_owner"))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("fk_webhook_partner", ("webhooks", "partner_id"), ("partners", "id")))
                    .foreign_key(&mut fk("fk_webhook_creator", ("webhooks", "created_by"), ("users", "id")))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_webhook_partner", "webhooks", &["partner_id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_attempts")
                    .col(big_pk_auto("id"))
                    .col(uuid("webhook_id"))
                    .col(uuid("event_id"))
                    .col(big_integer("seq"))
                    .col(integer("attempt"))
                    .col(integer_null("status"))
                    .col(integer("latency_ms"))
                    .col(text_null("error"))
                    .col(text_null("response_excerpt"))
                    .col(timestamp_with_time_zone("at"))
                    .foreign_key(&mut fk("fk_attempt_webhook", ("webhook_attempts", "webhook_id"), ("webhooks", "id")))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_attempt_webhook", "webhook_attempts", &["webhook_id", "id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS order_events_notify ON order_events").await.ok();
        db.execute_unprepared("DROP TRIGGER IF EXISTS order_events_notify").await.ok();
        db.execute_unprepared("DROP FUNCTION IF EXISTS order_events_notify()").await.ok();
        manager.drop_table(Table::drop().table("webhook_attempts").to_owned()).await?;
        manager.drop_table(Table::drop().table("webhooks").to_owned()).await?;
        manager.drop_table(Table::drop().table("notifications").to_owned()).await
    }
}

/// `'accepted', 'started', …`: actions as SQL strings.
fn quoted(actions: impl Iterator<Item = Action>) -> String {
    actions.map(|a| format!("'{}'", a.as_str())).collect::<Vec<_>>().join(", ")
}

/// The trigger's statement: the new event (`NEW`) told to each reader of its audiences,
/// except the actor. The same SQL on both databases.
fn trigger_insert() -> String {
    let actions = |audience: Audience| quoted(audience.actions().into_iter());
    let provider = "COALESCE(NEW.provider_id, o.provider_id)";
    format!(
        "INSERT INTO notifications (user_id, kind, order_id, subject_id, at) \
         SELECT r.user_id, 'order.' || NEW.action, NEW.order_id, NEW.id, NEW.at FROM ( \
           SELECT o.resident_id AS user_id FROM orders o \
             WHERE o.id = NEW.order_id AND NEW.action IN ({resident}) \
           UNION SELECT m.user_id FROM orders o JOIN partner_members m ON m.partner_id = {provider} \
             WHERE o.id = NEW.order_id AND NEW.action IN ({partner}) \
           UNION SELECT v.user_id FROM orders o JOIN volunteers v ON v.id = {provider} \
             WHERE o.id = NEW.order_id AND NEW.action IN ({partner}) \
           UNION SELECT u.id FROM orders o JOIN users u ON u.community_id = o.community_id \
             WHERE o.id = NEW.order_id AND NEW.action IN ({staff}) AND u.status = 'active' \
             AND (' ' || u.roles || ' ') LIKE '% dispatcher %' \
         ) r WHERE r.user_id IS NOT NULL AND (NEW.actor_id IS NULL OR r.user_id <> NEW.actor_id)",
        resident = actions(Audience::Resident),
        partner = actions(Audience::Provider),
        staff = actions(Audience::Staff),
    )
}
