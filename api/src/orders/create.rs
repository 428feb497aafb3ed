//! Placing an order (居民点单), by a resident in the app or by a dispatcher for a resident who
//! called or walked in; and correcting it before dispatch.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shenbian_domain::category::Sla;
use shenbian_domain::order::{Action, ActorRole, OrderStatus};
use shenbian_domain::{DisplayName, Phone, Role};
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::events::{self, NewEvent};
use super::store::intake::{self, Claimed, Lookups, lookups};
use super::store::names::OrderNames;
use super::view::{CLAIM_CODE_NOTE, OrderView};
use crate::access::{is_staff_of, text_field};
use crate::auth::{Bearer, Principal};
use crate::db::{WriteTx, begin_write};
use crate::entity::enums::{Channel, OrderStatusDb, UrgencyDb};
use crate::entity::one_time_code::CodePurpose;
use crate::entity::{order, user};
use crate::error::{ApiError, t};
use crate::extract::{Fields, JsonRaw};
use crate::places::CommunitySettings;
use crate::state::AppState;
use crate::users::issue_code;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    pub(super) compound_id: Uuid,
    pub(super) building_id: Option<Uuid>,
    #[serde(default)]
    #[schema(max_length = 20)]
    unit: String,
    #[serde(default)]
    #[schema(max_length = 20)]
    room: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    detail: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    community_id: Uuid,
    /// A code from `GET /categories`.
    #[schema(example = "plumbing_electric")]
    category_code: String,
    #[schema(example = "厨房水管漏水", min_length = 1, max_length = 100)]
    title: String,
    #[schema(min_length = 1, max_length = 2000)]
    description: String,
    address: AddressBody,
    /// Phone to call about this order; defaults to the resident's own.
    contact_phone: Option<String>,
    #[serde(default = "normal")]
    urgency: UrgencyDb,
    #[serde(default, deserialize_with = "crate::dates::optional_instant")]
    preferred_start: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::dates::optional_instant")]
    preferred_end: Option<DateTime<Utc>>,
    /// How the request arrived; dispatchers entering one give `hotline_12345`,
    /// `wechat_group` or `walk_in`. Residents' own orders are `app`.
    channel: Option<Channel>,
    /// Dispatchers only: the phone of the resident the order is for.
    on_behalf_of_phone: Option<String>,
    /// Dispatchers only: the resident's name, for an account made now.
    resident_name: Option<String>,
}

fn normal() -> UrgencyDb {
    UrgencyDb::Normal
}

/// A checked address.
pub(super) struct Address {
    pub compound_id: Uuid,
    pub building_id: Option<Uuid>,
    pub unit: String,
    pub room: String,
    pub detail: String,
}

/// Checks an address against the looked-up compound and building.
pub(super) fn check_address(l: &Lookups, community_id: Uuid, a: &AddressBody, fields: &mut Fields) -> Option<Address> {
    if l.compound_community != Some(community_id) {
        fields.push("address.compound_id", t("该社区没有这个小区", "no such compound in this community"));
    }
    if a.building_id.is_some() && l.building_compound != Some(a.compound_id) {
        fields.push("address.building_id", t("该小区没有这栋楼", "no such building in this compound"));
    }
    let unit = fields.check("address.unit", text_field(&a.unit, 0, 20));
    let room = fields.check("address.room", text_field(&a.room, 0, 20));
    let detail = fields.check("address.detail", text_field(&a.detail, 0, 200));
    match (unit, room, detail) {
        (Some(unit), Some(room), Some(detail)) => {
            Some(Address { compound_id: a.compound_id, building_id: a.building_id, unit, room, detail })
        }
        _ => None,
    }
}

/// The category's service levels, if it exists and takes orders.
pub(super) fn active_category(l: &Lookups) -> Result<Option<Sla>, ApiError> {
    l.category_sla.as_deref().map(|sla| serde_json::from_str(sla).map_err(ApiError::internal)).transpose()
}

/// Who an order is for, once checked.
enum For {
    /// The caller, ordering for themselves in the app.
    Themselves,
    /// A resident a dispatcher enters the order for.
    Resident { phone: Phone, name: String, channel: Channel },
}

/// Place an order: a resident for themselves, or a dispatcher for a resident who called or
/// walked in (an unknown phone gets an account to claim with the `claim_code` answered once;
/// see `claim_code` for when none is given). With `Idempotency-Key`, a retry returns the
/// first answer without its claim code (`claim_code_note` says so); the same key with another
/// body is 422. The caller's session is checked in the statement that looks up the order's
/// community, category and address.
#[utoipa::path(post, path = "/orders", tag = "orders", security(("bearer" = [])), request_body = NewOrder,
    params(("idempotency-key" = Option<String>, Header, description = "makes retries safe; kept at least 24 hours")),
    responses((status = 201, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn create_order(
    State(state): State<AppState>,
    caller: Bearer,
    headers: HeaderMap,
    JsonRaw(body, raw): JsonRaw<NewOrder>,
) -> Result<Response, ApiError> {
    let db = state.db()?;
    // The caller's own phone and name are looked up when the order is for themselves.
    let me = body.on_behalf_of_phone.is_none().then_some(caller.user_id());
    let mut found = lookups(
        db,
        Some(caller.session_id()),
        body.community_id,
        &body.category_code,
        Some(body.address.compound_id),
        body.address.building_id,
        me,
    )
    .await?;
    let principal = caller.principal(&state, found.session.take())?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.trim().is_empty() && k.len() <= 255 => Some(k.trim().to_owned()),
            _ => {
                return Err(ApiError::validation(
                    "Idempotency-Key",
                    t("须为 1–255 个可见字符", "must be 1–255 visible characters"),
                ));
            }
        },
    };
    let mut fields = Fields::default();
    // Who the order is for decides which fields are allowed.
    let for_whom = match &body.on_behalf_of_phone {
        Some(phone) => {
            if !(principal.has(Role::Dispatcher) && is_staff_of(&principal, body.community_id)) {
                return Err(ApiError::Forbidden);
            }
            let phone = fields.check("on_behalf_of_phone", Phone::parse(phone));
            let name =
                fields.check("resident_name", DisplayName::parse(body.resident_name.as_deref().unwrap_or("居民")));
            let channel = match body.channel {
                Some(c @ (Channel::Hotline12345 | Channel::WechatGroup | Channel::WalkIn)) => Some(c),
                _ => {
                    fields.push(
                        "channel",
                        t(
                            "调度员代录订单时，请填写 hotline_12345、wechat_group 或 walk_in",
                            "a dispatcher's entry gives hotline_12345, wechat_group or walk_in",
                        ),
                    );
                    None
                }
            };
            match (phone, name, channel) {
                (Some(phone), Some(name), Some(channel)) => {
                    Some(For::Resident { phone, name: name.as_str().to_owned(), channel })
                }
                _ => None,
            }
        }
        // A dispatcher who is not a resident can only enter orders for someone: the phone is
        // missing, not the right to order (422 naming it, rather than 403).
        None if !principal.has(Role::Resident) && principal.has(Role::Dispatcher) => {
            fields.push(
                "on_behalf_of_phone",
                t(
                    "调度员代居民下单时，须填写居民的手机号 on_behalf_of_phone",
                    "is required when a dispatcher enters an order for a resident",
                ),
            );
            None
        }
        None => {
            if !principal.has(Role::Resident) {
                return Err(ApiError::Forbidden);
            }
            if body.channel.is_some_and(|c| c != Channel::App) {
                fields.push(
                    "channel",
                    t("只有调度员才能录入其他渠道的订单", "only dispatchers enter orders from other channels"),
                );
            }
            if body.resident_name.is_some() {
                fields.push("resident_name", t("只能与 on_behalf_of_phone 一起填写", "only with on_behalf_of_phone"));
            }
            Some(For::Themselves)
        }
    };
    let title = fields.check("title", text_field(&body.title, 1, 100));
    let description = fields.check("description", text_field(&body.description, 1, 2000));
    let contact = body.contact_phone.as_deref().map(|p| fields.check("contact_phone", Phone::parse(p)));
    for (field, at) in [("preferred_start", body.preferred_start), ("preferred_end", body.preferred_end)] {
        if let Some(problem) = at.and_then(|at| crate::dates::instant_problem(&state, at)) {
            fields.push(field, problem);
        }
    }
    if let (Some(start), Some(end)) = (body.preferred_start, body.preferred_end)
        && end <= start
    {
        fields.push("preferred_end", t("须晚于 preferred_start", "must be after preferred_start"));
    }
    if found.community_settings.is_none() {
        fields.push("community_id", t("没有这个社区", "no such community"));
    }
    let sla = active_category(&found)?;
    if sla.is_none() {
        fields.push("category_code", t("没有这个服务类别，或它暂不接单", "no such category, or it takes no orders"));
    }
    let address = check_address(&found, body.community_id, &body.address, &mut fields);
    let (Some(for_whom), Some(title), Some(description), Some(sla), Some(address)) =
        (for_whom, title, description, sla, address)
    else {
        return Err(fields.into_error());
    };
    fields.finish()?;

    let now = state.now();
    let tx = begin_write(db).await?;
    if let Some(key) = &key {
        let hash = request_hash(&raw);
        if let Claimed::Before(first) = intake::claim_key(&tx, principal.user_id, key, &hash, now).await? {
            // The first request with this key committed (a racing one waited for it).
            tx.commit().await?;
            if first.request_hash != hash {
                return Err(ApiError::validation(
                    "Idempotency-Key",
                    t("已用于内容不同的请求；新请求请换一个键", "was used with a different body"),
                ));
            }
            let status = StatusCode::from_u16(first.status as u16).unwrap_or(StatusCode::CREATED);
            return Ok((status, [(axum::http::header::CONTENT_TYPE, "application/json")], first.body).into_response());
        }
    }

    let (resident_id, resident_name, contact_phone, channel, claim_code) = match for_whom {
        For::Themselves => {
            let name = found.my_name.ok_or(ApiError::Unauthorized)?;
            let phone = match contact {
                Some(Some(p)) => p.as_str().to_owned(),
                _ => found.my_phone.unwrap_or_default(),
            };
            (principal.user_id, name, phone, Channel::App, None)
        }
        For::Resident { phone, name, channel } => {
            let (resident, code) = resident_for(&tx, &state, &principal, &phone, &name, now).await?;
            let contact_phone = match contact {
                Some(Some(p)) => p.as_str().to_owned(),
                _ => phone.as_str().to_owned(),
            };
            (resident.id, resident.display_name, contact_phone, channel, code)
        }
    };
    let mut created = order::Model {
        id: Uuid::now_v7(),
        community_id: body.community_id,
        category_code: body.category_code.clone(),
        resident_id,
        title,
        description,
        compound_id: address.compound_id,
        building_id: address.building_id,
        unit: address.unit,
        room: address.room,
        address_detail: address.detail,
        contact_phone,
        urgency: body.urgency,
        channel,
        // To the microsecond, as the databases keep it.
        preferred_start: body.preferred_start.map(|t| t.trunc_subsecs(6)),
        preferred_end: body.preferred_end.map(|t| t.trunc_subsecs(6)),
        status: OrderStatusDb::Pending,
        version: 1,
        provider_kind: None,
        provider_id: None,
        contract_id: None,
        dispatch_by: shenbian_domain::step::dispatch_by(&sla, body.urgency.into(), now),
        accept_by: None,
        complete_by: None,
        accepted_at: None,
        completed_at: None,
        started_at: None,
        summary: None,
        minutes: None,
        escalation_level: 0,
        created_by: principal.user_id,
        created_at: now,
        updated_at: now,
        first_dispatched_at: None,
        number: None,
    };
    let day = now.with_timezone(&state.timezone()).format("%Y%m%d").to_string();
    let role = if created.resident_id == principal.user_id { ActorRole::Resident } else { ActorRole::Dispatcher };
    let event = NewEvent {
        action: Action::Created,
        actor_id: Some(principal.user_id),
        role,
        from: None,
        to: OrderStatus::Pending,
        reason: None,
        provider_id: None,
    };
    let order_id = created.id;
    let events = events::rows(order_id, vec![event], now);
    // Unless a retry's answer is to be kept with it, the order and its event are one batch:
    // one statement on PostgreSQL; on SQLite one hand-off to the writer, in its next commit
    // group.
    let unfinished = if key.is_none() {
        let backend = tx.get_database_backend();
        let batch = intake::insert_with_events(backend, &created, &day, &events)?;
        let rows = tx.finish_with(batch).await?;
        created.number = Some(intake::inserted_with_events(backend, &rows, events.len())?);
        None
    } else {
        created.number = Some(intake::insert(&tx, &created, &day).await?);
        Some(tx)
    };
    let names = OrderNames {
        resident_name: Some(resident_name),
        compound_name: found.compound_name,
        building_name: found.building_name,
    };
    let mut view = OrderView::new(created, &names, true);
    if let Some(tx) = unfinished {
        if let Some(key) = key {
            // The answer kept for retries leaves the claim code out: the code is a secret
            // that is shown once and stored only hashed.
            let mut kept = view.clone();
            kept.claim_code_note = claim_code.as_ref().map(|_| CLAIM_CODE_NOTE.to_owned());
            let kept = serde_json::to_string(&kept).map_err(ApiError::internal)?;
            intake::keep(&tx, principal.user_id, &key, 201, kept).await?;
        }
        if !events::insert_in_sequence(&tx, &events).await? {
            return Err(ApiError::internal("event counter missing"));
        }
        tx.commit().await?;
    }
    view.claim_code = claim_code;
    let json = serde_json::to_string(&view).map_err(ApiError::internal)?;
    tracing::info!(order_id = %order_id, "order created");
    // Where the community dispatches automatically, offer it now rather than at the next
    // worker tick. The answer stays the order as created; failures are the worker's to retry.
    let settings = found.community_settings.as_deref().map(CommunitySettings::from_stored).unwrap_or_default();
    if super::auto_dispatch::auto_dispatches(&settings, &body.category_code)
        && let Err(err) = super::auto_dispatch::auto_dispatch(&state, order_id).await
    {
        tracing::warn!(order_id = %order_id, error = %err, "auto-dispatch after creation failed");
    }
    Ok((StatusCode::CREATED, [(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// A hash of the request body as JSON, so that whitespace or key order do not matter.
fn request_hash(raw: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(raw).map(|v| v.to_string()).unwrap_or_default();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// The resident a dispatcher enters an order for: the account with this phone, or a new
/// unclaimed one. An unclaimed account gets a fresh claim code (answered once) only when
/// the dispatcher could already see everything redeeming it would show: a new account, or
/// one whose every order is of a community the dispatcher staffs ([`may_issue_claim`]).
/// Codes already given out stay valid.
async fn resident_for(
    db: &WriteTx,
    state: &AppState,
    dispatcher: &Principal,
    phone: &Phone,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(user::Model, Option<String>), ApiError> {
    // Locked (PostgreSQL; SQLite's write lock is held already), so that two dispatchers
    // entering orders for one unclaimed account take turns, and each sees the other's order
    // when deciding whether to issue a code.
    let existing = intake::account_by_phone(db, phone.as_str()).await?;
    let (resident, created) = match existing {
        Some(u) if matches!(u.status, user::UserStatus::Active | user::UserStatus::Unclaimed) => (u, false),
        Some(_) => {
            return Err(ApiError::validation("on_behalf_of_phone", t("该账号已停用", "this account is deactivated")));
        }
        None => (intake::new_unclaimed_resident(db, phone.as_str(), name, dispatcher.community_id, now).await?, true),
    };
    let issue = resident.status == user::UserStatus::Unclaimed
        && (created || may_issue_claim(db, dispatcher, resident.id).await?);
    let code = if issue {
        Some(issue_code(db, state, resident.id, CodePurpose::Claim, Some(dispatcher.user_id), now).await?.code)
    } else {
        None
    };
    Ok((resident, code))
}

/// Whether a dispatcher may be given a claim code for an existing unclaimed account: only
/// when every order of the account is of a community they staff. Whoever redeems a code
/// reads the account's orders unmasked, so a code from a dispatcher of another community
/// would show them orders they may not see.
async fn may_issue_claim(db: &WriteTx, dispatcher: &Principal, resident_id: Uuid) -> Result<bool, ApiError> {
    let communities = intake::communities_of_resident(db, resident_id).await?;
    Ok(communities.into_iter().all(|c| is_staff_of(dispatcher, c)))
}
