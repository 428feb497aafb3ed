//! Auto-dispatch (自动派单): where a community asks for it, a pending order is offered to its
//! best candidate (an emergency to the best three) as a step of the worker's; after too many
//! declines or expiries, or with no eligible provider, it is escalated to the dispatchers
//! instead. Run by the worker, and right after an order is created.

use shenbian_domain::category::Urgency;
use shenbian_domain::standing::ProviderRef;
use shenbian_domain::step::{NewOffer, Step, accept_by};
use uuid::Uuid;

use super::pipeline::begin_system;
use super::ranking::ranked;
use super::store::offers;
use crate::entity::enums::OrderStatusDb;
use crate::error::ApiError;
use crate::places::CommunitySettings;
use crate::state::AppState;

/// Whether a community offers this category's orders automatically.
pub fn auto_dispatches(settings: &CommunitySettings, category: &str) -> bool {
    settings.auto_dispatch_categories.get(category).copied().unwrap_or(settings.auto_dispatch)
}

/// Auto-dispatches one pending order, in its own transaction. Returns whether it changed.
pub async fn auto_dispatch(state: &AppState, order_id: Uuid) -> Result<bool, ApiError> {
    let Some(ctx) = begin_system(state, order_id).await? else { return Ok(false) };
    let order = &ctx.read.order;
    if order.status != OrderStatusDb::Pending || order.escalation_level > 0 {
        return Ok(false);
    }
    let failures = offers::failed_count(&ctx.tx, order_id).await?;
    let candidates = ranked(&ctx.tx, state, order).await?;
    if failures >= u64::from(state.settings.auto_dispatch_max_attempts) || candidates.is_empty() {
        let reason = if candidates.is_empty() {
            "auto_dispatch: no eligible provider"
        } else {
            "auto_dispatch: attempts used up"
        };
        return ctx.run_system(Step::Escalate { level: 1, reason }).await;
    }
    let urgency: Urgency = order.urgency.into();
    let how_many = if urgency == Urgency::Emergency { 3 } else { 1 };
    let window =
        ctx.read.sla().ok_or_else(|| ApiError::internal("order without category"))?.for_urgency(urgency).accept;
    let offers = candidates
        .iter()
        .take(how_many)
        .map(|c| NewOffer {
            provider: ProviderRef { kind: c.kind.into(), id: c.scored.id },
            contract_id: c.contract_id,
            accept_by: accept_by(ctx.now, c.accept_within.unwrap_or(window)),
        })
        .collect();
    ctx.run_system(Step::Dispatch { offers }).await
}
