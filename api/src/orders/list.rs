//! The orders a caller may see, newest first, with filters: their own as resident, their
//! community's as dispatcher, everything as admin, and as provider those offered (open) or
//! assigned to them. Shared with the CSV export.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shenbian_domain::standing::{ProviderRef, Standing};
use shenbian_domain::{Phone, Role};
use utoipa::IntoParams;
use uuid::Uuid;

use super::access::{caller_of, parties};
use super::store::list::{Branch, ListFilter, Listed, Scope, page};
use super::view::OrderView;
use crate::audit;
use crate::auth::{Acting, Principal};
use crate::crypto::keys::Keys;
use crate::dates::bounded_instant;
use crate::entity::enums::{OrderStatusDb, UrgencyDb};
use crate::entity::order;
use crate::error::ApiError;
use crate::extract::Query;
use crate::pagination::{PageParams, Paginated, encode_cursor};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrderFilter {
    status: Option<OrderStatusDb>,
    category_code: Option<String>,
    urgency: Option<UrgencyDb>,
    community_id: Option<Uuid>,
    /// Created at or after (RFC 3339, from 2000-01-01 to a year from now).
    #[serde(default, deserialize_with = "crate::dates::optional_instant")]
    from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339, from 2000-01-01 to a year from now).
    #[serde(default, deserialize_with = "crate::dates::optional_instant")]
    to: Option<DateTime<Utc>>,
    /// Dispatchers and admins: orders whose contact or resident has this phone (audited).
    phone: Option<String>,
    /// The order with this number (`XFL-20261205-0042`, any case), among those the caller
    /// may see.
    number: Option<String>,
    /// Only orders past a deadline: not dispatched, accepted or completed in time.
    overdue: Option<bool>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

/// The caller's standing on an order of a list, judged from the list's scope: the same rule
/// as for one order, without the offers (an offered order is masked either way).
fn list_standing(principal: &Principal, providers: &[ProviderRef], o: &order::Model) -> Standing {
    Standing::of(&caller_of(principal), &parties(o), providers, &[], false)
}

impl OrderFilter {
    /// The filters as the audit log records them: a phone only as its keyed hash.
    pub(crate) fn describe(&self, keys: &Keys) -> String {
        let word = |v: serde_json::Value| v.as_str().map(str::to_owned).unwrap_or_default();
        let mut parts: Vec<String> = Vec::new();
        if let Some(v) = self.status {
            parts.push(format!("status={}", word(serde_json::json!(v))));
        }
        if let Some(v) = &self.category_code {
            parts.push(format!("category_code={v}"));
        }
        if let Some(v) = self.urgency {
            parts.push(format!("urgency={}", word(serde_json::json!(v))));
        }
        if let Some(v) = self.community_id {
            parts.push(format!("community_id={v}"));
        }
        if let Some(v) = self.from {
            parts.push(format!("from={}", v.to_rfc3339()));
        }
        if let Some(v) = self.to {
            parts.push(format!("to={}", v.to_rfc3339()));
        }
        if let Some(v) = &self.phone {
            let phone = Phone::parse(v).map(|p| p.as_str().to_owned()).unwrap_or_default();
            parts.push(format!("phone={}", audit::phone_key(keys, &phone)));
        }
        if let Some(v) = &self.number {
            parts.push(format!("number={v}"));
        }
        if let Some(v) = self.overdue {
            parts.push(format!("overdue={v}"));
        }
        if let Some(v) = self.limit {
            parts.push(format!("limit={v}"));
        }
        if self.cursor.is_some() {
            parts.push("cursor".to_owned());
        }
        format!("query: {}", parts.join("&"))
    }
}

/// What a list asks for, checked: the filters, the caller's scope, the providers they act
/// for, and whether it searched by phone (a staff read, audited).
pub(crate) struct Checked {
    pub filter: ListFilter,
    pub scope: Scope,
    pub providers: Vec<ProviderRef>,
    pub searched_phone: bool,
}

impl OrderFilter {
    /// The filters checked for the caller, who acts for `providers`. With `staff_only`, the
    /// scope is the caller's community (admins: all) only: 403 for anyone else.
    pub(crate) fn checked(
        &self,
        state: &AppState,
        principal: &Principal,
        providers: &[ProviderRef],
        staff_only: bool,
    ) -> Result<Checked, ApiError> {
        let admin = principal.has(Role::Admin);
        let dispatches = principal.community_id.filter(|_| principal.has(Role::Dispatcher));
        let (scope, providers) = match (staff_only, admin, dispatches) {
            (_, true, _) => (Scope::All, if staff_only { Vec::new() } else { providers.to_vec() }),
            (true, false, Some(c)) => (Scope::Any(vec![Branch::Community(c)]), Vec::new()),
            (true, false, None) => return Err(ApiError::Forbidden),
            (false, false, _) => {
                let mut branches = vec![Branch::Resident(principal.user_id)];
                branches.extend(dispatches.map(Branch::Community));
                let ids: Vec<Uuid> = providers.iter().map(|p| p.id).collect();
                branches.extend(ids.iter().copied().map(Branch::Provider));
                if !ids.is_empty() {
                    branches.push(Branch::OfferedTo(ids));
                }
                (Scope::Any(branches), providers.to_vec())
            }
        };
        let phone = match &self.phone {
            None => None,
            Some(phone) => {
                if !(admin || principal.has(Role::Dispatcher)) {
                    return Err(ApiError::Forbidden);
                }
                Some(Phone::parse(phone).map_err(|e| ApiError::validation("phone", e))?.as_str().to_owned())
            }
        };
        let filter = ListFilter {
            status: self.status,
            category_code: self.category_code.clone(),
            urgency: self.urgency,
            community_id: self.community_id,
            from: self.from.map(|from| bounded_instant(state, "from", from)).transpose()?,
            to: self.to.map(|to| bounded_instant(state, "to", to)).transpose()?,
            overdue_at: (self.overdue == Some(true)).then(|| state.now()),
            phone,
            number: self.number.as_deref().map(order_number).transpose()?,
        };
        let searched_phone = filter.phone.is_some();
        Ok(Checked { filter, scope, providers, searched_phone })
    }
}

/// An order number as searched for: trimmed, upper case, the shape `CODE-YYYYMMDD-NNNN`.
fn order_number(number: &str) -> Result<String, ApiError> {
    let number = number.trim().to_uppercase();
    let parts: Vec<&str> = number.rsplitn(3, '-').collect();
    let digits =
        |s: &str, len: std::ops::RangeInclusive<usize>| len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [sequence, day, code] if digits(sequence, 4..=9) && digits(day, 8..=8) && !code.is_empty() => Ok(number),
        _ => Err(ApiError::validation(
            "number",
            crate::error::t(
                "订单号的格式为 社区代码-日期-序号，例如 XFL-20261205-0042",
                "an order number reads CODE-YYYYMMDD-NNNN, e.g. XFL-20261205-0042",
            ),
        )),
    }
}

/// Orders the caller may see, newest first, with filters.
#[utoipa::path(get, path = "/orders", tag = "orders", security(("bearer" = [])), params(OrderFilter),
    responses((status = 200, body = Paginated<OrderView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn list_orders(
    State(state): State<AppState>,
    Acting { principal, providers }: Acting,
    Query(filter): Query<OrderFilter>,
) -> Result<Json<Paginated<OrderView>>, ApiError> {
    let page_params = PageParams { limit: filter.limit, cursor: filter.cursor.clone() }.page()?;
    let db = state.db()?;
    let Checked { filter: checked, scope, providers, searched_phone } =
        filter.checked(&state, &principal, &providers, false)?;
    let mut rows = page(&state.reads()?, &checked, &scope, page_params.after, page_params.limit + 1).await?;
    let more = rows.len() as u64 > page_params.limit;
    rows.truncate(page_params.limit as usize);
    let next_cursor = if more { rows.last().map(|l| encode_cursor(l.order.id)) } else { None };
    // One entry per request for a staff read: the search by phone, or any order shown
    // unmasked to its community's dispatcher or an admin rather than to its resident.
    let staff_read: Vec<Uuid> = rows
        .iter()
        .map(|l| &l.order)
        .filter(|o| list_standing(&principal, &providers, o).is_staff_read(o.status.into()))
        .map(|o| o.id)
        .collect();
    if searched_phone || !staff_read.is_empty() {
        let action = if searched_phone { "order.search_phone" } else { "order.list" };
        let what = format!("{}; {}", audit::ids(staff_read), filter.describe(state.keys()?));
        audit::record_read(db, principal.user_id, action, "order", "*", what, state.now()).await?;
    }
    let items = rows
        .into_iter()
        .map(|Listed { order, names }| {
            let unmasked = list_standing(&principal, &providers, &order).sees_personal_data(order.status.into());
            OrderView::new(order, &names, unmasked)
        })
        .collect();
    Ok(Json(Paginated { items, next_cursor }))
}
