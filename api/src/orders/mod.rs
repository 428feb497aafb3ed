//! Orders (居民点单 → 社区派单 → 合伙人接单): placing, correcting, dispatching, doing and
//! ending them, and seeing them — each step one guarded transaction with its event.

pub mod access;
pub mod capacity;
pub mod cas;
pub mod closing;
pub mod create;
pub mod events;
pub mod notes;
pub mod read;
pub mod steps;
pub mod view;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_order, read::list_orders))
        .routes(routes!(read::get_order, create::patch_order))
        .routes(routes!(read::order_events))
        .routes(routes!(notes::list_notes, notes::add_note))
        .routes(routes!(steps::dispatch))
        .routes(routes!(steps::withdraw))
        .routes(routes!(steps::accept))
        .routes(routes!(steps::decline))
        .routes(routes!(steps::start))
        .routes(routes!(steps::complete))
        .routes(routes!(steps::release))
        .routes(routes!(steps::reassign))
        .routes(routes!(steps::cancel))
        .routes(routes!(closing::confirm))
        .routes(routes!(closing::dispute))
        .routes(routes!(closing::resolve))
        .routes(routes!(closing::rate))
        .routes(routes!(crate::candidates::candidates))
        .routes(routes!(crate::exports::orders_csv))
        .routes(routes!(crate::exports::hours_csv))
        .routes(routes!(read::jobs))
        .routes(routes!(read::feed))
}
