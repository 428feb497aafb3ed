//! Partner organisations (红色合伙人): anyone signed in applies for one and becomes its
//! admin; district admins approve, reject, suspend and reinstate it. Approved partners are
//! listed for everyone; the contact's name and phone only for staff and the partner's own
//! members.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use shenbian_domain::Role;
use shenbian_domain::credit_code::CreditCode;
use shenbian_domain::name::mask_name;
use shenbian_domain::partner::ProviderAction;
use shenbian_domain::phone::{Phone, mask_phone};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{ReasonBody, is_staff, partners_of, text_field};
use crate::audit::{self, Entry};
use crate::auth::{Admin, Principal};
use crate::db::begin_write;
use crate::entity::enums::{ContractStatusDb, MemberRole, PartnerKindDb, ProviderStatusDb};
use crate::entity::{contract, contract_category, contract_community, partner, partner_member};
use crate::error::{ApiError, t, violates_unique};
use crate::extract::{Fields, JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated};
use crate::state::AppState;
use crate::vetting::{Kind, Vetted, decide};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(apply, list_partners))
        .routes(routes!(get_partner))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(suspend))
        .routes(routes!(reinstate))
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct PartnerView {
    pub id: Uuid,
    pub name: String,
    pub kind: PartnerKindDb,
    /// Unified social credit code (统一社会信用代码).
    pub credit_code: String,
    /// Full for staff and the partner's members; `张*` for everyone else.
    pub contact_name: String,
    /// Full for staff and the partner's members; `138****5678` for everyone else.
    pub contact_phone: String,
    pub description: String,
    pub status: ProviderStatusDb,
    /// Why it was rejected or suspended.
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl PartnerView {
    pub fn new(p: partner::Model, unmasked: bool) -> Self {
        let (contact_name, contact_phone) = if unmasked {
            (p.contact_name, p.contact_phone)
        } else {
            (mask_name(&p.contact_name), mask_phone(&p.contact_phone))
        };
        Self {
            id: p.id,
            name: p.name,
            kind: p.kind,
            credit_code: p.credit_code,
            contact_name,
            contact_phone,
            description: p.description,
            status: p.status,
            status_reason: p.status_reason,
            created_at: p.created_at,
        }
    }
}

/// A partner as the caller may see it: staff and members see everything, others only
/// approved partners, masked. Anything else is 404.
pub async fn visible_partner(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> Result<(partner::Model, bool), ApiError> {
    let found = partner::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    let insider = is_staff(principal) || crate::access::membership(db, principal.user_id, id).await?.is_some();
    if insider || found.status == ProviderStatusDb::Approved { Ok((found, insider)) } else { Err(ApiError::NotFound) }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerApplication {
    #[schema(example = "仁和社区诊所", min_length = 1, max_length = 100)]
    name: String,
    kind: PartnerKindDb,
    /// 18 characters; both check characters are verified.
    #[schema(example = "91350100M000100Y43", min_length = 18, max_length = 18)]
    credit_code: String,
    #[schema(example = "陈医生", min_length = 1, max_length = 50)]
    contact_name: String,
    #[schema(example = "13800001111")]
    contact_phone: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    description: String,
}

/// Apply for an organisation (anyone signed in); the caller becomes its partner admin.
#[utoipa::path(post, path = "/partners", operation_id = "apply_partner", tag = "partners", security(("bearer" = [])), request_body = PartnerApplication,
    responses((status = 201, body = PartnerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn apply(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<PartnerApplication>,
) -> Result<(StatusCode, Json<PartnerView>), ApiError> {
    let mut fields = Fields::default();
    let name = fields.check("name", text_field(&body.name, 1, 100));
    let credit_code = fields.check("credit_code", CreditCode::parse(&body.credit_code));
    let contact_name = fields.check("contact_name", text_field(&body.contact_name, 1, 50));
    let contact_phone = fields.check("contact_phone", Phone::parse(&body.contact_phone));
    let description = fields.check("description", text_field(&body.description, 0, 2000));
    let (Some(name), Some(credit_code), Some(contact_name), Some(contact_phone), Some(description)) =
        (name, credit_code, contact_name, contact_phone, description)
    else {
        return Err(fields.into_error());
    };
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let created = partner::Entity::insert(partner::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        kind: Set(body.kind),
        credit_code: Set(credit_code.as_str().to_owned()),
        contact_name: Set(contact_name),
        contact_phone: Set(contact_phone.as_str().to_owned()),
        description: Set(description),
        status: Set(ProviderStatusDb::Pending),
        status_reason: Set(None),
        created_by: Set(principal.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&tx)
    .await
    .map_err(|e| {
        if violates_unique(&e, "uq_partner_credit_code", "partners.credit_code") {
            ApiError::conflict(
                "credit_code_taken",
                t("该统一社会信用代码的机构已经申请过", "an organisation with this credit code has applied already"),
            )
        } else {
            e.into()
        }
    })?;
    partner_member::Entity::insert(partner_member::ActiveModel {
        partner_id: Set(created.id),
        user_id: Set(principal.user_id),
        role: Set(MemberRole::Admin),
        created_at: Set(now),
    })
    .exec(&tx)
    .await?;
    audit::record(&tx, Entry::new(principal.user_id, "partner.apply", "partner", created.id), now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(PartnerView::new(created, true))))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PartnerFilter {
    status: Option<ProviderStatusDb>,
    kind: Option<PartnerKindDb>,
    /// Only partners with an active contract covering this category.
    category_code: Option<String>,
    /// Only partners with an active contract covering this community.
    community_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

/// Partners in application order. Staff see all, contacts unmasked (audited); others see
/// approved partners and their own.
#[utoipa::path(get, path = "/partners", tag = "partners", security(("bearer" = [])), params(PartnerFilter),
    responses((status = 200, body = Paginated<PartnerView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn list_partners(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<PartnerFilter>,
) -> Result<Json<Paginated<PartnerView>>, ApiError> {
    let page = PageParams { limit: filter.limit, cursor: filter.cursor }.page()?;
    let db = state.db()?;
    let own: BTreeSet<Uuid> = partners_of(db, principal.user_id).await?.into_iter().collect();
    let staff = is_staff(&principal);
    let mut query = partner::Entity::find().order_by_asc(partner::Column::Id).limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(partner::Column::Id.gt(after));
    }
    if !staff {
        query = query.filter(
            partner::Column::Status.eq(ProviderStatusDb::Approved).or(partner::Column::Id.is_in(own.iter().copied())),
        );
    }
    if let Some(status) = filter.status {
        query = query.filter(partner::Column::Status.eq(status));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(partner::Column::Kind.eq(kind));
    }
    if filter.category_code.is_some() || filter.community_id.is_some() {
        let covering =
            partners_covering(db, filter.community_id, filter.category_code.as_deref(), state.today()).await?;
        query = query.filter(partner::Column::Id.is_in(covering));
    }
    let rows = query.all(db).await?;
    // Staff see every contact unmasked: one audit entry names the partners shown.
    let contacts: Vec<Uuid> =
        rows.iter().take(page.limit as usize).map(|p| p.id).filter(|id| staff && !own.contains(id)).collect();
    if !contacts.is_empty() {
        let what = audit::ids(contacts);
        audit::record_read(db, principal.user_id, "partner.list", "partner", "*", what, state.now()).await?;
    }
    Ok(Json(Paginated::from_rows(
        rows,
        page,
        |p| p.id,
        |p| {
            let unmasked = staff || own.contains(&p.id);
            PartnerView::new(p, unmasked)
        },
    )))
}

/// Partners holding an active contract that covers the community and/or category. A contract
/// past its last day is expired, whatever its stored status, so it covers nothing.
async fn partners_covering(
    db: &impl ConnectionTrait,
    community: Option<Uuid>,
    category: Option<&str>,
    today: chrono::NaiveDate,
) -> Result<Vec<Uuid>, ApiError> {
    let mut query = contract::Entity::find()
        .filter(contract::Column::Status.eq(ContractStatusDb::Active))
        .filter(contract::Column::ValidTo.gte(today));
    if let Some(community) = community {
        let ids = contract_community::Entity::find()
            .filter(contract_community::Column::CommunityId.eq(community))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.contract_id);
        query = query.filter(contract::Column::Id.is_in(ids));
    }
    if let Some(category) = category {
        let ids = contract_category::Entity::find()
            .filter(contract_category::Column::CategoryCode.eq(category))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.contract_id);
        query = query.filter(contract::Column::Id.is_in(ids));
    }
    Ok(query.all(db).await?.into_iter().map(|c| c.partner_id).collect())
}

/// One partner, as the caller may see it. A staff read of the contact is audited.
#[utoipa::path(get, path = "/partners/{id}", tag = "partners", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn get_partner(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<PartnerView>, ApiError> {
    let db = state.db()?;
    let (found, unmasked) = visible_partner(db, &principal, id).await?;
    if is_staff(&principal) && crate::access::membership(db, principal.user_id, id).await?.is_none() {
        audit::record_read(db, principal.user_id, "partner.read", "partner", id, String::new(), state.now()).await?;
    }
    Ok(Json(PartnerView::new(found, unmasked)))
}

/// Partners are vetted by admins (the handlers' `Admin` guard), who see every partner: the
/// handlers check a reason before the partner is read.
impl Vetted for partner::Entity {
    const KIND: Kind = Kind::Partner;
    const ID: partner::Column = partner::Column::Id;
    const STATUS: partner::Column = partner::Column::Status;
    const STATUS_REASON: partner::Column = partner::Column::StatusReason;
    const VERSION: partner::Column = partner::Column::Version;
    const UPDATED_AT: partner::Column = partner::Column::UpdatedAt;

    type View = PartnerView;

    fn state(row: &partner::Model) -> (ProviderStatusDb, i32) {
        (row.status, row.version)
    }

    async fn visible(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> Result<partner::Model, ApiError> {
        Ok(visible_partner(db, principal, id).await?.0)
    }

    fn may_decide(principal: &Principal, _: &partner::Model) -> bool {
        principal.has(Role::Admin)
    }

    async fn view(_: &impl ConnectionTrait, row: partner::Model) -> Result<PartnerView, ApiError> {
        Ok(PartnerView::new(row, true))
    }
}

/// Approve an application (admins).
#[utoipa::path(post, path = "/partners/{id}/approve", operation_id = "approve_partner", tag = "partners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = PartnerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn approve(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
) -> Result<Json<PartnerView>, ApiError> {
    Ok(Json(decide::<partner::Entity>(&state, &admin, id, ProviderAction::Approve, None).await?))
}

/// Reject an application, with a reason (admins).
#[utoipa::path(post, path = "/partners/{id}/reject", operation_id = "reject_partner", tag = "partners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ReasonBody, responses((status = 200, body = PartnerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn reject(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<PartnerView>, ApiError> {
    let reason = body.checked()?;
    Ok(Json(decide::<partner::Entity>(&state, &admin, id, ProviderAction::Reject, Some(Ok(reason))).await?))
}

/// Suspend an approved partner, with a reason (admins): its open offers close at once; jobs
/// it accepted carry on.
#[utoipa::path(post, path = "/partners/{id}/suspend", operation_id = "suspend_partner", tag = "partners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ReasonBody, responses((status = 200, body = PartnerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn suspend(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<PartnerView>, ApiError> {
    let reason = body.checked()?;
    Ok(Json(decide::<partner::Entity>(&state, &admin, id, ProviderAction::Suspend, Some(Ok(reason))).await?))
}

/// Reinstate a suspended partner (admins).
#[utoipa::path(post, path = "/partners/{id}/reinstate", operation_id = "reinstate_partner", tag = "partners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = PartnerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn reinstate(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
) -> Result<Json<PartnerView>, ApiError> {
    Ok(Json(decide::<partner::Entity>(&state, &admin, id, ProviderAction::Reinstate, None).await?))
}
