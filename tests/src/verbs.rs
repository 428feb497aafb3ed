//! The order's story as verbs of whoever acts: a resident places and confirms, a dispatcher
//! dispatches, a provider accepts, starts and completes. Each answers the API's own view, or
//! the problem it was refused with; who may do what is the server's to decide, so every
//! verb is open to every actor.

use reqwest::Method;
use serde_json::{Value, json};
use shenbian::orders::candidates::CandidateView;
use shenbian::orders::closing::{RatingView, Resolution};
use shenbian::orders::feed::EventView;
use shenbian::orders::jobs::JobView;
use shenbian::orders::notes::NoteView;
use shenbian::orders::view::OrderView;
use shenbian::pagination::Paginated;
use uuid::Uuid;

use crate::client::{Actor, Answer};

impl Actor {
    /// `POST /orders`: places an order (a resident), or enters one for a resident (a
    /// dispatcher, with `on_behalf_of_phone`).
    pub async fn create_order(&self, body: &Value) -> Answer<OrderView> {
        self.create("/orders", body).await
    }

    /// `POST /orders` with an `Idempotency-Key`.
    pub async fn create_order_once(&self, body: &Value, key: &str) -> Answer<OrderView> {
        self.send(self.request(Method::POST, "/orders").json(body).header("idempotency-key", key), 201).await
    }

    pub async fn get_order(&self, order: Uuid) -> Answer<OrderView> {
        self.get(&format!("/orders/{order}")).await
    }

    /// `GET /orders?{query}`: the orders this caller sees, e.g. `status=pending&limit=2`
    /// (every filter left out for `""`).
    pub async fn list_orders(&self, query: &str) -> Answer<Paginated<OrderView>> {
        match query {
            "" => self.get("/orders").await,
            query => self.get(&format!("/orders?{query}")).await,
        }
    }

    /// `PATCH /orders/{id}`: corrects an order before it is dispatched.
    pub async fn correct(&self, order: Uuid, patch: &Value) -> Answer<OrderView> {
        self.patch(&format!("/orders/{order}"), patch).await
    }

    /// Offers an order to providers (partner or volunteer ids), each with the accept window
    /// of its contract or of the category.
    pub async fn dispatch(&self, order: Uuid, providers: &[Uuid]) -> Answer<OrderView> {
        self.step(order, "dispatch", Some(&json!({"provider_ids": providers}))).await
    }

    /// Offers an order to providers who must accept within `minutes`.
    pub async fn dispatch_within(&self, order: Uuid, providers: &[Uuid], minutes: u32) -> Answer<OrderView> {
        let body = json!({"provider_ids": providers, "accept_within_minutes": minutes});
        self.step(order, "dispatch", Some(&body)).await
    }

    pub async fn withdraw(&self, order: Uuid, reason: &str) -> Answer<OrderView> {
        self.step(order, "withdraw", Some(&json!({"reason": reason}))).await
    }

    pub async fn accept(&self, order: Uuid) -> Answer<OrderView> {
        self.step(order, "accept", None).await
    }

    /// Accepts for one of the caller's providers, named.
    pub async fn accept_for(&self, order: Uuid, provider: Uuid) -> Answer<OrderView> {
        self.step(order, "accept", Some(&json!({"provider_id": provider}))).await
    }

    pub async fn decline(&self, order: Uuid, reason: &str) -> Answer<OrderView> {
        self.step(order, "decline", Some(&json!({"reason": reason}))).await
    }

    pub async fn start(&self, order: Uuid) -> Answer<OrderView> {
        self.step(order, "start", None).await
    }

    /// Starts for one of the caller's providers, named.
    pub async fn start_for(&self, order: Uuid, provider: Uuid) -> Answer<OrderView> {
        self.step(order, "start", Some(&json!({"provider_id": provider}))).await
    }

    /// Completes a job; a volunteer says how many `minutes` it took.
    pub async fn complete(&self, order: Uuid, summary: &str, minutes: Option<u32>) -> Answer<OrderView> {
        let body = match minutes {
            Some(minutes) => json!({"summary": summary, "minutes": minutes}),
            None => json!({"summary": summary}),
        };
        self.step(order, "complete", Some(&body)).await
    }

    pub async fn release(&self, order: Uuid, reason: &str) -> Answer<OrderView> {
        self.step(order, "release", Some(&json!({"reason": reason}))).await
    }

    pub async fn reassign(&self, order: Uuid, reason: &str) -> Answer<OrderView> {
        self.step(order, "reassign", Some(&json!({"reason": reason}))).await
    }

    pub async fn cancel(&self, order: Uuid, reason: &str) -> Answer<OrderView> {
        self.step(order, "cancel", Some(&json!({"reason": reason}))).await
    }

    /// The resident confirms a completed job.
    pub async fn confirm(&self, order: Uuid) -> Answer<OrderView> {
        self.step(order, "confirm", None).await
    }

    /// A dispatcher confirms a completed job for the resident after a follow-up call.
    pub async fn confirm_after_call(&self, order: Uuid, note: &str) -> Answer<OrderView> {
        self.step(order, "confirm", Some(&json!({"note": note}))).await
    }

    pub async fn dispute(&self, order: Uuid, reason: &str) -> Answer<OrderView> {
        self.step(order, "dispute", Some(&json!({"reason": reason}))).await
    }

    pub async fn resolve(&self, order: Uuid, outcome: Resolution, reason: &str) -> Answer<OrderView> {
        self.step(order, "resolve", Some(&json!({"outcome": outcome, "reason": reason}))).await
    }

    /// Rates a job with stars only.
    pub async fn rate(&self, order: Uuid, stars: u8) -> Answer<RatingView> {
        self.rate_with(order, &json!({"stars": stars})).await
    }

    /// Rates a job: `stars` and, if the rater likes, `timeliness`, `attitude`, `quality`
    /// and a `comment`.
    pub async fn rate_with(&self, order: Uuid, rating: &Value) -> Answer<RatingView> {
        self.create(&format!("/orders/{order}/rating"), rating).await
    }

    /// `POST /orders/{id}/{action}` with the body given (none for `None`): for steps taken
    /// from a table, and for bodies a verb would not send.
    pub async fn step(&self, order: Uuid, action: &str, body: Option<&Value>) -> Answer<OrderView> {
        let request = self.request(Method::POST, &format!("/orders/{order}/{action}"));
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        self.send(request, 200).await
    }

    /// An order's timeline, oldest first (up to 100 entries).
    pub async fn events(&self, order: Uuid) -> Answer<Paginated<EventView>> {
        self.get(&format!("/orders/{order}/events?limit=100")).await
    }

    /// The caller's event feed after `cursor` (from the start without one).
    pub async fn feed(&self, cursor: Option<&str>) -> Answer<Paginated<EventView>> {
        match cursor {
            Some(cursor) => self.get(&format!("/events?cursor={cursor}")).await,
            None => self.get("/events").await,
        }
    }

    /// The caller's offered and assigned jobs.
    pub async fn jobs(&self) -> Answer<Paginated<JobView>> {
        self.get("/jobs").await
    }

    /// An order's internal notes.
    pub async fn notes(&self, order: Uuid) -> Answer<Paginated<NoteView>> {
        self.get(&format!("/orders/{order}/notes")).await
    }

    pub async fn add_note(&self, order: Uuid, body: &str) -> Answer<NoteView> {
        self.create(&format!("/orders/{order}/notes"), &json!({"body": body})).await
    }

    /// The providers an order may be offered to, best first.
    pub async fn candidates(&self, order: Uuid) -> Answer<Paginated<CandidateView>> {
        self.get(&format!("/orders/{order}/candidates")).await
    }
}

/// The actions of an order's timeline, as their words (`created`, `dispatched`, …).
pub fn actions(events: &Paginated<EventView>) -> Vec<String> {
    events.items.iter().map(|e| crate::client::json_of(&e.action).as_str().expect("a word").to_owned()).collect()
}
