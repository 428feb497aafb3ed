//! Who is told of what, and in which words: the inbox's rules.
//!
//! A step of the life cycle tells the people it concerns and not the one who took it: the
//! resident of her order's progress, the provider (every member of a partner, or the
//! volunteer) of offers and of what happens to their jobs, the dispatchers of the order's
//! community of what needs them (disputes, escalations, declined and expired offers). Other
//! notices come from the clock (an offer about to expire, a rating not yet given) or from
//! outside the life cycle (a volunteer's application, a webhook switched off).

use crate::message::Message;
use crate::order::Action;

/// Whom an order's event tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The order's resident.
    Resident,
    /// The provider the event concerns, else the order's: a partner's members, a volunteer.
    Provider,
    /// The dispatchers of the order's community.
    Staff,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::Resident, Audience::Provider, Audience::Staff];

    /// Whether this audience hears of `action`.
    pub fn hears(self, action: Action) -> bool {
        use Action::*;
        match self {
            Audience::Resident => matches!(action, Accepted | Started | Completed | Confirmed | Resolved | Cancelled),
            Audience::Provider => {
                matches!(
                    action,
                    Dispatched | Withdrawn | Reassigned | Confirmed | Disputed | Resolved | Cancelled | Rated
                )
            }
            Audience::Staff => matches!(action, Declined | Expired | Disputed | Escalated),
        }
    }

    /// The actions this audience hears of.
    pub fn actions(self) -> Vec<Action> {
        Action::ALL.into_iter().filter(|a| self.hears(*a)).collect()
    }
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A step of an order's life cycle.
    Order(Action),
    /// A provider's open offer expires soon.
    OfferExpiring,
    /// The resident has not rated her closed order.
    RateReminder,
    /// Someone applied to volunteer in the dispatcher's community.
    VolunteerApplied,
    /// A webhook of the reader's has failed for a day; it is switched off after five.
    WebhookFailing,
    /// A webhook of the reader's failed for days (or its receiver said 410) and is off.
    WebhookDisabled,
}

impl Kind {
    /// The stored and served name: `order.accepted`, `offer.expiring`, ….
    pub fn as_str(self) -> String {
        match self {
            Kind::Order(action) => format!("order.{}", action.as_str()),
            Kind::OfferExpiring => "offer.expiring".into(),
            Kind::RateReminder => "order.rate_reminder".into(),
            Kind::VolunteerApplied => "volunteer.applied".into(),
            Kind::WebhookFailing => "webhook.failing".into(),
            Kind::WebhookDisabled => "webhook.disabled".into(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "offer.expiring" => Some(Kind::OfferExpiring),
            "order.rate_reminder" => Some(Kind::RateReminder),
            "volunteer.applied" => Some(Kind::VolunteerApplied),
            "webhook.failing" => Some(Kind::WebhookFailing),
            "webhook.disabled" => Some(Kind::WebhookDisabled),
            _ => {
                let action = s.strip_prefix("order.")?;
                Action::ALL.into_iter().find(|a| a.as_str() == action).map(Kind::Order)
            }
        }
    }
}

/// What a notice's words name, as far as known.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// The order's number (`SB-…`).
    pub order_no: Option<String>,
    /// The service, in the reader's language.
    pub service: Option<String>,
    /// A deadline (an offer's accept-by), already formatted for the reader.
    pub deadline: Option<String>,
}

/// A notice's words in both languages.
pub fn message(kind: Kind, subject: &Subject) -> Message {
    let order = subject.order_no.as_deref().unwrap_or("-");
    let service = subject.service.as_deref().unwrap_or("");
    let by_zh = subject.deadline.as_deref().map(|d| format!("，请在 {d} 前接单")).unwrap_or_default();
    let by_en = subject.deadline.as_deref().map(|d| format!("; accept by {d}")).unwrap_or_default();
    let (zh, en) = match kind {
        Kind::Order(action) => order_words(action, order, service, &by_zh, &by_en),
        Kind::OfferExpiring => (
            format!("派单 {order}（{service}）即将过期{by_zh}"),
            format!("The offer of {order} ({service}) expires soon{by_en}"),
        ),
        Kind::RateReminder => (
            format!("您的工单 {order}（{service}）已完成，欢迎评价"),
            format!("Your order {order} ({service}) is done; please rate it"),
        ),
        Kind::VolunteerApplied => {
            ("有新的志愿者申请待审核".to_owned(), "A volunteer application is waiting for review".to_owned())
        }
        Kind::WebhookFailing => (
            "一个 Webhook 已连续一天投递失败；失败满五天将停用".to_owned(),
            "A webhook has failed for a day; it is switched off after five".to_owned(),
        ),
        Kind::WebhookDisabled => (
            "一个 Webhook 多次投递失败，已停用".to_owned(),
            "A webhook kept failing and has been switched off".to_owned(),
        ),
    };
    Message::new(zh, en)
}

fn order_words(action: Action, order: &str, service: &str, by_zh: &str, by_en: &str) -> (String, String) {
    use Action::*;
    let (zh, en): (&str, &str) = match action {
        Accepted => ("已被接单，服务方将按约上门", "was accepted; the provider will come as agreed"),
        Started => ("服务已开始", "is under way"),
        Completed => ("服务已完成，请确认或提出异议", "is done; please confirm it or raise a dispute"),
        Confirmed => ("已确认完成", "was confirmed as done"),
        Resolved => ("的争议已处理", "had its dispute settled"),
        Cancelled => ("已取消", "was cancelled"),
        Dispatched => ("是派给您的新工单", "is a new offer for you"),
        Withdrawn => ("的派单已撤回", "was withdrawn from you"),
        Reassigned => ("已改派", "was reassigned"),
        Disputed => ("被提出异议", "is disputed"),
        Rated => ("收到了评价", "was rated"),
        Declined => ("被拒单，待重新派单", "was declined and waits for dispatch"),
        Expired => ("派单超时未接，待重新派单", "was not accepted in time and waits for dispatch"),
        Escalated => ("已超时，需要处理", "is overdue and needs attention"),
        Created => ("已提交", "was placed"),
        Updated => ("已修改", "was changed"),
        Released => ("已被服务方退回，待重新派单", "was handed back and waits for dispatch"),
    };
    let (by_zh, by_en) = if action == Dispatched { (by_zh, by_en) } else { ("", "") };
    (format!("工单 {order}（{service}）{zh}{by_zh}"), format!("Order {order} ({service}) {en}{by_en}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back() {
        for action in Action::ALL {
            assert_eq!(Kind::parse(&Kind::Order(action).as_str()), Some(Kind::Order(action)));
        }
        for kind in [
            Kind::OfferExpiring,
            Kind::RateReminder,
            Kind::VolunteerApplied,
            Kind::WebhookFailing,
            Kind::WebhookDisabled,
        ] {
            assert_eq!(Kind::parse(&kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("order.nonsense"), None);
    }

    #[test]
    fn a_resident_hears_of_progress_and_a_partner_of_offers() {
        assert!(Audience::Resident.hears(Action::Accepted));
        assert!(!Audience::Resident.hears(Action::Dispatched));
        assert!(Audience::Provider.hears(Action::Dispatched));
        assert!(Audience::Staff.hears(Action::Escalated));
        assert!(!Audience::Staff.hears(Action::Accepted));
    }

    #[test]
    fn an_offer_names_its_deadline_in_both_languages() {
        let subject = Subject {
            order_no: Some("SB-1".into()),
            service: Some("水电维修".into()),
            deadline: Some("12-05 14:30".into()),
        };
        let m = message(Kind::Order(Action::Dispatched), &subject);
        assert_eq!(m.zh, "工单 SB-1（水电维修）是派给您的新工单，请在 12-05 14:30 前接单");
        assert!(m.en.ends_with("accept by 12-05 14:30"));
        let m = message(Kind::Order(Action::Accepted), &subject);
        assert!(!m.zh.contains("接单前"));
        assert!(!m.en.contains("accept by"));
    }
}
