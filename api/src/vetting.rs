//! Vetting providers: approving, rejecting, suspending and reinstating a partner organisation
//! or a volunteer. One step serves both kinds: in one transaction, a compare-and-set on the
//! provider's status and version, the audit entry (`partner.suspend`, `volunteer.approve`,
//! with the reason) and, for a suspension, the closing of the provider's open offers; jobs it
//! accepted carry on.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use shenbian_domain::message::Message;
use shenbian_domain::partner::{ProviderAction, ProviderStatus};
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::enums::ProviderStatusDb;
use crate::error::{ApiError, t};
use crate::state::AppState;

/// The kinds of provider that are vetted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Partner,
    Volunteer,
}

impl Kind {
    /// As the audit log names the provider and its actions: `partner`, `volunteer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Partner => "partner",
            Kind::Volunteer => "volunteer",
        }
    }

    /// The conflict's text when the provider changed between its read and its write.
    fn changed_meanwhile(self) -> Message {
        match self {
            Kind::Partner => {
                t("合作方信息刚被他人修改；请刷新后重试", "the partner changed meanwhile; reload and retry")
            }
            Kind::Volunteer => {
                t("志愿者记录刚被他人修改；请刷新后重试", "the volunteer record changed meanwhile; reload and retry")
            }
        }
    }

    /// Closes every open offer to a suspended provider, in the suspension's transaction, with
    /// the reason the offers then carry (`partner_suspended`, `volunteer_suspended`).
    async fn close_open_offers(
        self,
        db: &impl ConnectionTrait,
        id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, ApiError> {
        match self {
            Kind::Partner => crate::orders::withdrawals::close_for_partner(db, id, "partner_suspended", at).await,
            Kind::Volunteer => crate::orders::withdrawals::close_for_volunteer(db, id, "volunteer_suspended", at).await,
        }
    }
}

/// A provider's table, as vetting reads and writes it: the columns of the compare-and-set,
/// who may see a provider and who may decide on it, and the view a decision answers with.
pub(crate) trait Vetted: EntityTrait {
    const KIND: Kind;
    const ID: Self::Column;
    const STATUS: Self::Column;
    const STATUS_REASON: Self::Column;
    const VERSION: Self::Column;
    const UPDATED_AT: Self::Column;

    /// What a decision answers with.
    type View;

    /// The row's status and version.
    fn state(row: &Self::Model) -> (ProviderStatusDb, i32);

    /// The provider as `principal` may see it; 404 when they may not.
    async fn visible(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> Result<Self::Model, ApiError>;

    /// Whether `principal`, who sees the provider, may decide on it; 403 when not.
    fn may_decide(principal: &Principal, row: &Self::Model) -> bool;

    /// The provider as a decision answers it.
    async fn view(db: &impl ConnectionTrait, row: Self::Model) -> Result<Self::View, ApiError>;
}

/// Applies `principal`'s decision on provider `id`. `reason` comes checked or not: a check
/// that failed is answered only to a caller who may see the provider, and before a 403.
pub(crate) async fn decide<P: Vetted>(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: ProviderAction,
    reason: Option<Result<String, ApiError>>,
) -> Result<P::View, ApiError> {
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let current = P::visible(&tx, principal, id).await?;
    let reason = reason.transpose()?;
    if !P::may_decide(principal, &current) {
        return Err(ApiError::Forbidden);
    }
    let (status, version) = P::state(&current);
    let next = ProviderStatus::from(status).apply(action).map_err(|e| ApiError::InvalidTransition(e.message))?;
    if action == ProviderAction::Suspend {
        P::KIND.close_open_offers(&tx, id, now).await?;
    }
    let updated = P::update_many()
        .col_expr(P::STATUS, Expr::value(ProviderStatusDb::from(next)))
        .col_expr(P::STATUS_REASON, Expr::value(reason.clone()))
        .col_expr(P::VERSION, Expr::value(version + 1))
        .col_expr(P::UPDATED_AT, Expr::value(now))
        .filter(P::ID.eq(id))
        .filter(P::STATUS.eq(status))
        .filter(P::VERSION.eq(version))
        .exec_with_returning(&tx)
        .await?;
    let Some(updated) = updated.into_iter().next() else {
        return Err(ApiError::conflict("conflict", P::KIND.changed_meanwhile()));
    };
    let verb = format!("{}.{}", P::KIND.as_str(), action.as_str());
    let mut entry = Entry::new(principal.user_id, &verb, P::KIND.as_str(), id);
    entry.reason = reason;
    audit::record(&tx, entry, now).await?;
    let view = P::view(&tx, updated).await?;
    tx.commit().await?;
    Ok(view)
}
