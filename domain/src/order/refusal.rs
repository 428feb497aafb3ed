//! What a refused order step says: in both languages, in whole sentences, and with what to
//! do instead where there is something to do.

use super::kinds::{Action, ActorRole, OrderStatus};
use super::table::allowed_from;
use crate::message::Message;

/// The order's state as a reader says it: zh-CN, English.
pub fn status_words(s: OrderStatus) -> (&'static str, &'static str) {
    match s {
        OrderStatus::Pending => ("待派单", "pending"),
        OrderStatus::Offered => ("已派单、待接单", "offered"),
        OrderStatus::Accepted => ("已接单", "accepted"),
        OrderStatus::InProgress => ("服务中", "in progress"),
        OrderStatus::Completed => ("已完成、待确认", "completed"),
        OrderStatus::Closed => ("已结束", "closed"),
        OrderStatus::Disputed => ("有异议", "disputed"),
        OrderStatus::Cancelled => ("已取消", "cancelled"),
    }
}

/// The step as a verb: zh-CN, English past participle.
pub fn action_words(a: Action) -> (&'static str, &'static str) {
    match a {
        Action::Created => ("创建", "created"),
        Action::Updated => ("修改", "changed"),
        Action::Dispatched => ("派单", "dispatched"),
        Action::Withdrawn => ("撤回派单", "withdrawn from its providers"),
        Action::Accepted => ("接单", "accepted"),
        Action::Declined => ("拒单", "declined"),
        Action::Expired => ("按超时处理", "expired"),
        Action::Started => ("开始服务", "started"),
        Action::Completed => ("完成", "completed"),
        Action::Released => ("退回", "released"),
        Action::Reassigned => ("改派", "reassigned"),
        Action::Confirmed => ("确认完成", "confirmed"),
        Action::Disputed => ("提出异议", "disputed"),
        Action::Resolved => ("处理异议", "resolved"),
        Action::Cancelled => ("取消", "cancelled"),
        Action::Escalated => ("升级督办", "escalated"),
        Action::Rated => ("评价", "rated"),
    }
}

/// Why `role` may not take `action` on an order that is `from` (a state the role could take
/// it from at another time), and what to do instead.
pub fn wrong_state_message(action: Action, from: OrderStatus, role: ActorRole) -> Message {
    use Action as A;
    use OrderStatus::*;
    let fixed = |zh: &'static str, en: &'static str| Message::new(zh, en);
    let (verb_zh, verb_en) = action_words(action);
    match (action, from) {
        (A::Completed, Accepted) => fixed("已受理的订单需先开始服务，才能完成", "start the order before completing it"),
        (A::Completed, Pending | Offered) => fixed(
            "订单还没有服务方接单；接单并开始服务后才能完成",
            "no provider has accepted the order yet; it can be completed once a provider accepts and starts it",
        ),
        (A::Completed, Completed | Disputed) => fixed("订单已经完成", "the order is already completed"),
        (A::Started, Pending | Offered) => fixed("订单需先被接单，才能开始服务", "accept the order before starting it"),
        (A::Started, InProgress) => fixed("服务已经开始", "the order is already in progress"),
        (A::Started, Completed | Disputed) => {
            fixed("服务已经完成，不能再开始", "the order is already completed, so it cannot be started again")
        }
        (A::Accepted, Pending) => fixed(
            "订单还没有派出；调度员派单后才能接单",
            "the order has not been offered to anyone; it can be accepted once a dispatcher offers it",
        ),
        (A::Accepted | A::Declined, Accepted | InProgress | Completed | Disputed) => {
            fixed("订单已被接单，这份派单已关闭", "the order has already been accepted; this offer is closed")
        }
        (A::Declined, Pending) => fixed("订单没有待你答复的派单", "there is no open offer of this order to decline"),
        (A::Dispatched, Offered) => fixed(
            "订单已派出；如需换服务方，请先撤回派单",
            "the order is already offered; withdraw the offers before dispatching it again",
        ),
        (A::Dispatched | A::Withdrawn, Accepted | InProgress) => {
            fixed("订单已被接单；如需换服务方，请改派", "the order is already accepted; reassign it instead")
        }
        (A::Withdrawn, Pending) => fixed("订单没有待接的派单，无需撤回", "the order has no open offers to withdraw"),
        (A::Reassigned, Pending | Offered) => {
            fixed("订单还没有服务方接单；请直接派单", "no provider has accepted the order yet; dispatch it instead")
        }
        (A::Released, Pending | Offered) => fixed(
            "订单还没有被接单，无需退回；可以拒绝派单",
            "the order has not been accepted yet; decline the offer instead",
        ),
        (A::Confirmed, Pending | Offered | Accepted | InProgress) => {
            fixed("服务方完成服务后，才能确认完成", "the order can be confirmed once the provider has completed it")
        }
        (A::Disputed, Pending | Offered | Accepted | InProgress) => {
            fixed("服务方完成服务后，才能提出异议", "the order can be disputed once the provider has completed it")
        }
        (A::Confirmed, Disputed) => {
            fixed("订单有异议，由调度员处理后结束", "the order is disputed; a dispatcher resolves the dispute")
        }
        (A::Disputed, Disputed) => {
            fixed("已经提出异议，请等待调度员处理", "the order is already disputed; a dispatcher will resolve it")
        }
        (A::Cancelled, InProgress) if role == ActorRole::Resident => fixed(
            "服务已经开始；如需取消，请联系调度员",
            "the service has started; ask a dispatcher to cancel the order",
        ),
        (A::Cancelled, Disputed) if role == ActorRole::Dispatcher => fixed(
            "订单有异议，不能取消；请处理异议",
            "the order is disputed, so it cannot be cancelled; resolve the dispute instead",
        ),
        (A::Cancelled, Completed | Disputed) => fixed(
            "订单已完成，不能取消；如有问题，请提出异议",
            "the order is completed, so it can no longer be cancelled; dispute it if something is wrong",
        ),
        (A::Cancelled, Cancelled) => fixed("订单已经取消", "the order is already cancelled"),
        (A::Updated, Offered) if role == ActorRole::Resident => fixed(
            "订单已派出，不能再修改；如需修改，请联系调度员撤回派单",
            "the order is already offered; ask a dispatcher to withdraw the offers before changing it",
        ),
        (A::Updated, Offered) => fixed(
            "订单已派出，不能再修改；请先撤回派单",
            "the order is already offered; withdraw the offers before changing it",
        ),
        (_, Cancelled) => Message::new(
            format!("订单已取消，不能再{verb_zh}；如仍需服务，请重新下单"),
            format!(
                "the order is cancelled, so it cannot be {verb_en}; place a new order if the service is still needed"
            ),
        ),
        (_, Closed) => Message::new(
            format!("订单已结束，不能再{verb_zh}"),
            format!("the order is closed, so it can no longer be {verb_en}"),
        ),
        _ => {
            let allowed = allowed_from(action, role);
            let zh: Vec<&str> = allowed.iter().map(|s| status_words(*s).0).collect();
            let en: Vec<&str> = allowed.iter().map(|s| status_words(*s).1).collect();
            let (now_zh, now_en) = status_words(from);
            Message::new(
                format!("只有{}的订单才能{verb_zh}，此订单{now_zh}", zh.join("或")),
                format!("only an order that is {} can be {verb_en}; this one is {now_en}", en.join(" or ")),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::kinds::Outcome;
    use crate::order::rules::{Refusal, decide};

    /// Every refusal of every step, for every role that may take it at some time, reads as
    /// a sentence in both languages.
    #[test]
    fn every_wrong_state_refusal_has_both_texts() {
        for action in Action::ALL {
            for role in ActorRole::ALL {
                for from in OrderStatus::ALL {
                    if let Err(refusal @ Refusal::WrongState { .. }) = decide(from, action, role, Outcome::Default) {
                        let message = refusal.message();
                        assert!(!message.zh.is_empty() && !message.en.is_empty(), "{action:?} {role:?} {from:?}");
                        assert!(!message.en.contains("cannot completed"), "{message}");
                        assert_eq!(refusal.to_string(), message.en);
                    }
                }
            }
        }
    }

    #[test]
    fn completing_an_accepted_order_says_to_start_it_first() {
        let message = wrong_state_message(Action::Completed, OrderStatus::Accepted, ActorRole::Provider);
        assert_eq!(message.zh, "已受理的订单需先开始服务，才能完成");
        assert_eq!(message.en, "start the order before completing it");
    }
}
