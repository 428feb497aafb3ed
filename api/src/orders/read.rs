//! One order, as the caller may see it.

use axum::Json;
use axum::extract::State;
use uuid::Uuid;

use super::access::authenticated_read;
use super::pipeline::offered_to;
use super::view::OrderView;
use crate::audit::{self, Entry};
use crate::auth::Bearer;
use crate::db::begin_write;
use crate::entity::enums::OrderStatusDb;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

/// One order, as the caller may see it (their session checked in the order's read). Staff
/// reads of personal data are audited.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn get_order(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
) -> Result<Json<OrderView>, ApiError> {
    let db = state.db()?;
    let reads = state.reads()?;
    let (principal, read, standing) = authenticated_read(&reads, &state, &caller, id, None).await?;
    let unmasked = standing.sees_personal_data(read.order.status.into());
    if standing.is_staff_read(read.order.status.into()) {
        let tx = begin_write(db).await?;
        audit::record(&tx, Entry::new(principal.user_id, "order.read", "order", id), state.now()).await?;
        tx.commit().await?;
    }
    let offered = read.order.status == OrderStatusDb::Offered && standing.is_staff();
    let mut view = OrderView::new(read.order, &read.names, unmasked);
    if offered {
        view.offered_to = Some(offered_to(&reads, id).await?);
    }
    Ok(Json(view))
}
