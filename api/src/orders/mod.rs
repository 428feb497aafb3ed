//! Orders (居民点单 → 社区派单 → 合伙人接单): placing, correcting, dispatching, doing and
//! ending them, and seeing them.
//!
//! Every step — a person's and the worker's — takes one path, [`pipeline`]: the order is
//! read with the caller's standing ([`store::load`]), the domain plans the step
//! (`shenbian_domain::step`), and the store applies the plan as one guarded write with its
//! events ([`store::write`]). Handlers only check their bodies and answer views.

pub mod access;
pub mod auto_dispatch;
pub mod candidates;
pub mod closing;
pub mod create;
pub mod dispatch;
pub mod feed;
pub mod jobs;
pub mod list;
pub mod log_watch;
pub mod notes;
pub mod patch;
pub mod pipeline;
pub mod ranking;
pub mod read;
pub mod steps;
pub mod store;
pub mod stream;
pub mod view;
pub mod withdrawals;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_order, list::list_orders))
        .routes(routes!(read::get_order, patch::patch_order))
        .routes(routes!(feed::order_events))
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
        .routes(routes!(candidates::candidates))
        .routes(routes!(jobs::jobs))
        .routes(routes!(feed::feed))
        .routes(routes!(stream::event_stream))
}
