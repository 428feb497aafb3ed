//! What the order's story touches besides orders, as verbs of whoever asks: contracts and
//! their capacity, volunteers and their hours, ratings, the audit log.

use serde_json::json;
use shenbian::audit::routes::AuditView;
use shenbian::contracts::view::ContractView;
use shenbian::hours::{HoursEntry, HoursRecord};
use shenbian::orders::closing::RatingView;
use shenbian::pagination::Paginated;
use shenbian::partners::PartnerView;
use shenbian::ratings::RatingPage;
use shenbian::volunteers::VolunteerView;
use uuid::Uuid;

use crate::client::{Actor, Answer};

impl Actor {
    /// Signs out: this access token and its session end.
    pub async fn sign_out(&self) -> Answer<()> {
        self.send(self.request(reqwest::Method::POST, "/auth/logout"), 204).await
    }

    /// Deactivates an account (an admin); its sessions end.
    pub async fn deactivate(&self, user: Uuid) -> Answer<serde_json::Value> {
        self.post_empty(&format!("/users/{user}/deactivate")).await
    }

    pub async fn contract(&self, contract: Uuid) -> Answer<ContractView> {
        self.get(&format!("/contracts/{contract}")).await
    }

    pub async fn volunteer(&self, volunteer: Uuid) -> Answer<VolunteerView> {
        self.get(&format!("/volunteers/{volunteer}")).await
    }

    /// A volunteer's service record: every entry and the total.
    pub async fn hours(&self, volunteer: Uuid) -> Answer<HoursRecord> {
        self.get(&format!("/volunteers/{volunteer}/hours")).await
    }

    /// Corrects a volunteer's hours by `minutes` (negative to take some away), with a reason.
    pub async fn correct_hours(&self, volunteer: Uuid, minutes: i32, reason: &str) -> Answer<HoursEntry> {
        let body = json!({"minutes": minutes, "reason": reason});
        self.create(&format!("/volunteers/{volunteer}/hours/corrections"), &body).await
    }

    /// A provider's ratings and score.
    pub async fn ratings(&self, provider: Uuid) -> Answer<RatingPage> {
        self.get(&format!("/providers/{provider}/ratings")).await
    }

    /// Hides a rating's comment; the stars stay.
    pub async fn hide_rating(&self, rating: Uuid, reason: &str) -> Answer<RatingView> {
        self.post(&format!("/ratings/{rating}/hide"), &json!({"reason": reason})).await
    }

    pub async fn suspend_partner(&self, partner: Uuid, reason: &str) -> Answer<PartnerView> {
        self.post(&format!("/partners/{partner}/suspend"), &json!({"reason": reason})).await
    }

    /// `GET /audit?{query}`: one page of the audit log, e.g. `action=order.read`.
    pub async fn audit(&self, query: &str) -> Answer<Paginated<AuditView>> {
        self.get(&format!("/audit?{query}")).await
    }

    /// Every audit entry matching `query` (e.g. `action=partner.approve`), all pages.
    pub async fn audit_all(&self, query: &str) -> Vec<AuditView> {
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("limit=100&{query}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page = self.audit(&path).await.expect("an audit page");
            entries.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return entries,
            }
        }
    }
}
