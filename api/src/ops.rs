//! Operations endpoints, outside `/api/v1`: liveness, readiness, metrics, and the OpenAPI
//! document with its browsable page.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use sea_orm::DatabaseBackend;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::ping;
use crate::error::ApiError;
use crate::state::AppState;

mod order_gauges;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    status: &'static str,
}

/// Liveness: the process answers, whatever the database does.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// Readiness: 200 once the database is reachable and migrated, else 503.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, description = "database not reachable or not migrated", body = crate::error::Problem, content_type = "application/problem+json")))]
async fn readyz(State(state): State<AppState>) -> Result<axum::Json<Health>, ApiError> {
    let db = state.db()?;
    match tokio::time::timeout(Duration::from_secs(2), ping(db)).await {
        Ok(Ok(())) => Ok(axum::Json(Health { status: "ok" })),
        _ => Err(ApiError::Unavailable),
    }
}

/// Prometheus metrics: requests by route and status, latency, pool use, sign-in failures and
/// throttles, the worker's health, process CPU and memory, the build; and, read from the
/// database when scraped, orders by community and status, overdue orders and SLA breaches.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let pool = state.db().ok().map(|db| match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    });
    let mut text = state.metrics.render(pool);
    if let Some((groups, members)) = state.db().ok().and_then(crate::db::commit_groups_done) {
        text.push_str(&format!(
            "# HELP shenbian_sqlite_commit_groups_total Commit groups of the SQLite writer.\n\
             # TYPE shenbian_sqlite_commit_groups_total counter\n\
             shenbian_sqlite_commit_groups_total {groups}\n\
             # HELP shenbian_sqlite_commit_group_members_total Write transactions committed in commit groups.\n\
             # TYPE shenbian_sqlite_commit_group_members_total counter\n\
             shenbian_sqlite_commit_group_members_total {members}\n"
        ));
    }
    if let Ok(db) = state.db() {
        match tokio::time::timeout(Duration::from_secs(2), order_gauges::render(db, state.now())).await {
            Ok(Ok(gauges)) => text.push_str(&gauges),
            Ok(Err(err)) => tracing::warn!(error = %err, "order gauges not read"),
            Err(_) => tracing::warn!("order gauges not read within 2 s"),
        }
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
