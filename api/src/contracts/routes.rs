//! The contract routes: recording and reading contracts, and their life cycle.

use utoipa_axum::router::OpenApiRouter;

use super::{lifecycle, records};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    records::router().merge(lifecycle::router())
}
