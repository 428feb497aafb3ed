//! Candidates for an order, for its community's staff: the ranking ([`super::ranking`]) with
//! reasons a dispatcher can read. Auto-dispatch offers orders to the top of this list.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::visible_order;
use super::ranking::ranked;
use crate::auth::Principal;
use crate::entity::enums::ProviderKind;
use crate::error::{ApiError, ReasonView};
use crate::extract::{Lang, Path};
use crate::state::AppState;

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct CandidateProvider {
    pub id: Uuid,
    pub kind: ProviderKind,
    /// The partner's name, or the volunteer's.
    pub name: String,
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct CandidateView {
    pub provider: CandidateProvider,
    /// 0–100; see the ranking's documented factors.
    pub score: f64,
    /// Why, factor by factor, in the language of `Accept-Language`.
    pub reasons: Vec<ReasonView>,
}

/// The providers an order may be offered to, best first (the community's dispatchers).
#[utoipa::path(get, path = "/orders/{id}/candidates", operation_id = "order_candidates", tag = "orders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("accept-language" = Option<String>, Header)),
    responses((status = 200, body = crate::pagination::Paginated<CandidateView>)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn candidates(
    State(state): State<AppState>,
    principal: Principal,
    lang: Lang,
    Path(id): Path<Uuid>,
) -> Result<Json<crate::pagination::Paginated<CandidateView>>, ApiError> {
    let db = state.db()?;
    let (found, standing) = visible_order(db, &principal, id, None).await?;
    if !standing.is_staff() {
        return Err(ApiError::Forbidden);
    }
    let items = ranked(db, &state, &found)
        .await?
        .into_iter()
        .map(|c| CandidateView {
            provider: CandidateProvider { id: c.scored.id, kind: c.kind, name: c.name },
            score: (c.scored.score * 10.0).round() / 10.0,
            reasons: c
                .scored
                .factors
                .iter()
                .map(|f| ReasonView {
                    code: f.code().to_owned(),
                    text: match lang {
                        Lang::Zh => f.text_zh(),
                        Lang::En => f.text_en(),
                    },
                })
                .collect(),
        })
        .collect();
    Ok(Json(crate::pagination::Paginated { items, next_cursor: None }))
}
