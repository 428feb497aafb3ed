//! Erasing one person's personal data everywhere it is held, in the caller's transaction:
//! the account's own fields are cleared, and in every free-text field that belongs to the
//! account or mentions it, its phone numbers and its name become [`ERASED_NAME`].
//!
//! "Belongs to" means: the account's orders (summary, timeline reasons, offers' reasons,
//! staff notes, ratings' comments), what the account wrote elsewhere (its notes and
//! timeline reasons), its volunteer record and hours, the partner applications it made,
//! and audit reasons about any of these. There both the phones and the name are replaced.
//! Everywhere else only the account's phone is replaced: a name is too short and too
//! common to find safely in other people's texts.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::auth::session::{self, Sessions};
use crate::auth::throttle;
use crate::entity::enums::InvitationStatusDb;
use crate::entity::{
    audit_log, auth_failure, contract, idempotency_key, notification, offer, one_time_code, order, order_event,
    order_note, partner, partner_invitation, partner_member, rating, user, volunteer, volunteer_hour,
};
use crate::error::ApiError;
use crate::state::AppState;

/// The name an erased account keeps, for figures and timelines, and what replaces its
/// phone and name in free text.
pub const ERASED_NAME: &str = "已注销用户";

/// The strings that identify a person in free text: each phone as written plainly and in
/// the usual 3-4-4 groupings, and the name.
struct Needles(Vec<String>);

impl Needles {
    fn new(phones: &[String], name: Option<&str>) -> Self {
        let mut needles = Vec::new();
        for phone in phones.iter().filter(|p| !p.is_empty()) {
            needles.push(phone.clone());
            if phone.len() == 11 && phone.is_ascii() {
                for sep in [" ", "-"] {
                    needles.push(format!("{}{sep}{}{sep}{}", &phone[..3], &phone[3..7], &phone[7..]));
                }
            }
        }
        if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty() && *n != ERASED_NAME) {
            needles.push(name.to_owned());
        }
        needles.dedup();
        Self(needles)
    }

    /// `column` with every needle replaced, in SQL (both databases have `REPLACE`).
    fn replaced(&self, column: impl ColumnTrait) -> Expr {
        self.0.iter().fold(Expr::col(column), |text, needle| {
            Func::cust("REPLACE").arg(text).arg(needle.as_str()).arg(ERASED_NAME).into()
        })
    }

    /// Rows whose `column` holds any needle.
    fn found_in(&self, column: impl ColumnTrait + Copy) -> Condition {
        self.0.iter().fold(Condition::any(), |any, needle| any.add(column.contains(needle.as_str())))
    }

    /// Redacts `column` of the rows matching `rows` (and holding a needle).
    async fn redact<E: EntityTrait>(
        &self,
        db: &impl ConnectionTrait,
        column: E::Column,
        rows: Condition,
    ) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        E::update_many()
            .col_expr(column, self.replaced(column))
            .filter(rows)
            .filter(self.found_in(column))
            .exec(db)
            .await?;
        Ok(())
    }

    /// Redacts every free-text column of the rows each condition picks.
    async fn redact_everywhere(&self, db: &impl ConnectionTrait, scope: &Scope) -> Result<(), ApiError> {
        // Orders: every write bumps the version (see `compare_and_set`).
        for column in [order::Column::Title, order::Column::Description, order::Column::Summary] {
            order::Entity::update_many()
                .col_expr(column, self.replaced(column))
                .col_expr(order::Column::Version, Expr::col(order::Column::Version).add(1))
                .filter(scope.orders.clone())
                .filter(self.found_in(column))
                .exec(db)
                .await?;
        }
        self.redact::<order_event::Entity>(db, order_event::Column::Reason, scope.events.clone()).await?;
        self.redact::<order_note::Entity>(db, order_note::Column::Body, scope.notes.clone()).await?;
        self.redact::<offer::Entity>(db, offer::Column::Reason, scope.offers.clone()).await?;
        self.redact::<rating::Entity>(db, rating::Column::Comment, scope.ratings.clone()).await?;
        for column in [volunteer::Column::Bio, volunteer::Column::StatusReason] {
            self.redact::<volunteer::Entity>(db, column, scope.volunteers.clone()).await?;
        }
        self.redact::<volunteer_hour::Entity>(db, volunteer_hour::Column::Reason, scope.hours.clone()).await?;
        // Contact phones are phone fields, not free text: cleared by `erase_personal_data`.
        for column in [partner::Column::ContactName, partner::Column::Description, partner::Column::StatusReason] {
            self.redact::<partner::Entity>(db, column, scope.partners.clone()).await?;
        }
        self.redact::<contract::Entity>(db, contract::Column::StatusReason, scope.contracts.clone()).await?;
        self.redact::<audit_log::Entity>(db, audit_log::Column::Reason, scope.audit.clone()).await?;
        Ok(())
    }
}

/// Which rows of each table a redaction pass covers.
struct Scope {
    orders: Condition,
    events: Condition,
    notes: Condition,
    offers: Condition,
    ratings: Condition,
    volunteers: Condition,
    hours: Condition,
    partners: Condition,
    contracts: Condition,
    audit: Condition,
}

impl Scope {
    /// Every row: for the account's phone, wherever it is mentioned.
    fn everything() -> Self {
        let all = Condition::all;
        Self {
            orders: all(),
            events: all(),
            notes: all(),
            offers: all(),
            ratings: all(),
            volunteers: all(),
            hours: all(),
            partners: all(),
            contracts: all(),
            audit: all(),
        }
    }

    /// The rows that belong to the account.
    fn of_account(user_id: Uuid, orders: &[Uuid], volunteers: &[Uuid], partners: &[Uuid]) -> Self {
        let mut objects: Vec<String> =
            [user_id].iter().chain(orders).chain(volunteers).chain(partners).map(Uuid::to_string).collect();
        objects.sort();
        Self {
            orders: Condition::all().add(order::Column::ResidentId.eq(user_id)),
            events: Condition::any()
                .add(order_event::Column::OrderId.is_in(orders.iter().copied()))
                .add(order_event::Column::ActorId.eq(user_id)),
            notes: Condition::any()
                .add(order_note::Column::OrderId.is_in(orders.iter().copied()))
                .add(order_note::Column::AuthorId.eq(user_id)),
            offers: Condition::all().add(offer::Column::OrderId.is_in(orders.iter().copied())),
            ratings: Condition::any()
                .add(rating::Column::OrderId.is_in(orders.iter().copied()))
                .add(rating::Column::RatedBy.eq(user_id)),
            volunteers: Condition::all().add(volunteer::Column::UserId.eq(user_id)),
            hours: Condition::any()
                .add(volunteer_hour::Column::VolunteerId.is_in(volunteers.iter().copied()))
                .add(volunteer_hour::Column::OrderId.is_in(orders.iter().copied())),
            partners: Condition::all().add(partner::Column::Id.is_in(partners.iter().copied())),
            contracts: Condition::all().add(contract::Column::PartnerId.is_in(partners.iter().copied())),
            audit: Condition::any()
                .add(audit_log::Column::ObjectId.is_in(objects))
                .add(audit_log::Column::ActorId.eq(user_id)),
        }
    }
}

/// Erases the account's personal data everywhere it is held, in the caller's transaction.
pub async fn erase_personal_data(
    db: &impl ConnectionTrait,
    state: &AppState,
    account: &user::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let user_id = account.id;
    let phone = account.phone.clone().unwrap_or_default();
    let orders: Vec<Uuid> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::ResidentId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut phones: Vec<String> = order::Entity::find()
        .select_only()
        .column(order::Column::ContactPhone)
        .distinct()
        .filter(order::Column::ResidentId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    phones.push(phone.clone());
    let volunteers: Vec<Uuid> = volunteer::Entity::find()
        .select_only()
        .column(volunteer::Column::Id)
        .filter(volunteer::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    // The partner applications the account made: their contact is the account.
    let partners: Vec<Uuid> = partner::Entity::find()
        .select_only()
        .column(partner::Column::Id)
        .filter(partner::Column::CreatedBy.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;

    if !phone.is_empty() {
        order::Entity::update_many()
            .col_expr(order::Column::ContactPhone, Expr::value(""))
            .col_expr(order::Column::Version, Expr::col(order::Column::Version).add(1))
            .filter(order::Column::ContactPhone.eq(&phone))
            .exec(db)
            .await?;
        partner::Entity::update_many()
            .col_expr(partner::Column::ContactPhone, Expr::value(""))
            .filter(partner::Column::ContactPhone.eq(&phone))
            .exec(db)
            .await?;
    }
    // Free text, while the name and the contact phones are still known.
    let own = Needles::new(&phones, Some(&account.display_name));
    own.redact_everywhere(db, &Scope::of_account(user_id, &orders, &volunteers, &partners)).await?;
    Needles::new(std::slice::from_ref(&phone), None).redact_everywhere(db, &Scope::everything()).await?;

    user::Entity::update_many()
        .col_expr(user::Column::Phone, Expr::value(Option::<String>::None))
        .col_expr(user::Column::DisplayName, Expr::value(ERASED_NAME))
        .col_expr(user::Column::PasswordHash, Expr::value(Option::<String>::None))
        .col_expr(user::Column::Status, Expr::value(user::UserStatus::Erased))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    // Orders stay for the figures: category, community, urgency, times, states.
    order::Entity::update_many()
        .col_expr(order::Column::ContactPhone, Expr::value(""))
        .col_expr(order::Column::Unit, Expr::value(""))
        .col_expr(order::Column::Room, Expr::value(""))
        .col_expr(order::Column::AddressDetail, Expr::value(""))
        .col_expr(order::Column::BuildingId, Expr::value(Option::<Uuid>::None))
        .col_expr(order::Column::Title, Expr::value("（已注销用户的工单）"))
        .col_expr(order::Column::Description, Expr::value(""))
        // Every write of an order's row bumps its version (see `compare_and_set`): a step
        // racing the erasure finds the order changed and answers nothing erased.
        .col_expr(order::Column::Version, Expr::col(order::Column::Version).add(1))
        .filter(order::Column::ResidentId.eq(user_id))
        .exec(db)
        .await?;
    partner::Entity::update_many()
        .col_expr(partner::Column::ContactName, Expr::value(ERASED_NAME))
        .col_expr(partner::Column::ContactPhone, Expr::value(""))
        .filter(partner::Column::Id.is_in(partners))
        .exec(db)
        .await?;
    if !phone.is_empty() {
        // Idempotency records hold whole responses; any that carry the phone go.
        idempotency_key::Entity::delete_many().filter(idempotency_key::Column::Body.contains(&phone)).exec(db).await?;
        let key = throttle::account_key(state, &phone)?;
        auth_failure::Entity::delete_many().filter(auth_failure::Column::KeyHash.eq(key)).exec(db).await?;
        // Invitations still waiting for this phone would go to whoever registers it next.
        partner_invitation::Entity::delete_many()
            .filter(partner_invitation::Column::PhoneHash.eq(crate::invitations::phone_hash(state, &phone)?))
            .filter(partner_invitation::Column::Status.eq(InvitationStatusDb::Pending))
            .exec(db)
            .await?;
    }
    idempotency_key::Entity::delete_many().filter(idempotency_key::Column::UserId.eq(user_id)).exec(db).await?;
    one_time_code::Entity::delete_many().filter(one_time_code::Column::UserId.eq(user_id)).exec(db).await?;
    // The inbox: what happened to her orders stays in the event log, not in a closed account.
    notification::Entity::delete_many().filter(notification::Column::UserId.eq(user_id)).exec(db).await?;
    rating::Entity::update_many()
        .col_expr(rating::Column::Comment, Expr::value(Option::<String>::None))
        .filter(rating::Column::RatedBy.eq(user_id))
        .exec(db)
        .await?;
    volunteer::Entity::update_many()
        .col_expr(volunteer::Column::Bio, Expr::value(""))
        .filter(volunteer::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    partner_member::Entity::delete_many().filter(partner_member::Column::UserId.eq(user_id)).exec(db).await?;
    session::revoke(db, Sessions::AllOf(user_id), "account_closed", now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_cover_the_usual_ways_of_writing_a_phone_and_the_name() {
        let needles = Needles::new(&["13812345678".to_owned(), String::new()], Some(" 王秀英 "));
        assert_eq!(needles.0, ["13812345678", "138 1234 5678", "138-1234-5678", "王秀英"]);
        assert_eq!(Needles::new(&[], Some(ERASED_NAME)).0, Vec::<String>::new());
    }
}
