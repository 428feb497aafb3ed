//! What a dispatch requires: every provider named may be offered the order (their status,
//! their contracts' coverage and quotas, and whether they declined it before), each offer
//! open for the dispatcher's window, else the contract's, else the category's. Read inside
//! the step's transaction, so that what was checked is what is written.

use chrono::NaiveDate;
use shenbian_domain::eligibility::{Ineligible, partner_eligibility, volunteer_eligibility};
use shenbian_domain::standing::{ProviderKind, ProviderRef};
use shenbian_domain::step::{NewOffer, accept_by};
use uuid::Uuid;

use super::pipeline::Ctx;
use crate::eligibility::{Ask, month_key, partner_facts, reason_view, volunteer_facts};
use crate::error::{ApiError, FieldIssue, IneligibleProvider, t};
use crate::extract::Lang;

/// The offers a dispatch to `targets` makes, or why it may not: 422 naming every unknown
/// provider, else `not_eligible` with the reasons per provider.
pub async fn eligible_offers(
    ctx: &Ctx,
    targets: &[Uuid],
    accept_within: Option<u32>,
    today: NaiveDate,
    lang: Lang,
) -> Result<Vec<NewOffer>, ApiError> {
    let order = &ctx.read.order;
    let month = month_key(today);
    let sla = ctx.read.sla().ok_or_else(|| ApiError::internal("order without category"))?;
    let default_window = sla.for_urgency(order.urgency.into()).accept;
    let ask =
        Ask { community: order.community_id, category: &order.category_code, month: &month, order: Some(order.id) };
    let window = |contract_window: Option<u32>| accept_within.or(contract_window).unwrap_or(default_window);
    let offer = |kind, id, contract_id, minutes| NewOffer {
        provider: ProviderRef { kind, id },
        contract_id,
        accept_by: accept_by(ctx.now, minutes),
    };
    let (mut offers, mut ineligible, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for (i, provider_id) in targets.iter().copied().enumerate() {
        let (verdict, declined_before) = if let Some(p) = partner_facts(&ctx.tx, provider_id, &ask).await? {
            let verdict = partner_eligibility(p.status, &p.contracts, ask.community, ask.category, today)
                .map(|c| offer(ProviderKind::Partner, provider_id, Some(c), window(p.accept_window(c))));
            (verdict, p.declined)
        } else if let Some((facts, declined)) = volunteer_facts(&ctx.tx, provider_id, &ask).await? {
            let verdict = volunteer_eligibility(&facts, ask.community, ask.category)
                .map(|()| offer(ProviderKind::Volunteer, provider_id, None, window(None)));
            (verdict, declined)
        } else {
            let field = format!("provider_ids[{i}]");
            unknown.push(FieldIssue::new(field, t("没有这个合作方或志愿者", "no such partner or volunteer")));
            continue;
        };
        match (verdict, declined_before) {
            (Ok(offer), false) => offers.push(offer),
            (verdict, declined) => {
                let mut reasons = verdict.err().unwrap_or_default();
                if declined {
                    reasons.push(Ineligible::DeclinedBefore);
                }
                let reasons = reasons.into_iter().map(|r| reason_view(r, lang)).collect();
                ineligible.push(IneligibleProvider { provider_id, reasons });
            }
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    if !ineligible.is_empty() {
        return Err(ApiError::NotEligible(ineligible));
    }
    Ok(offers)
}
