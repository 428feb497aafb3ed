//! What a caller may not see is 404 whatever the request says: someone else's order,
//! volunteer or contract answers exactly as an id that does not exist, before any check of
//! the body, the parameters or the `provider_id` named.

use reqwest::Method;
use serde_json::{Value, json};
use shenbian_tests::scene::{partner, place, volunteer, world};
use shenbian_tests::{Actor, Answer, TestApp};
use uuid::Uuid;

/// A request on some object: `{id}` in the path names it.
struct Probe {
    what: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
}

fn post(what: &'static str, path: &str, body: Option<Value>) -> Probe {
    Probe { what, method: Method::POST, path: path.to_owned(), body }
}

fn get(what: &'static str, path: &str) -> Probe {
    Probe { what, method: Method::GET, path: path.to_owned(), body: None }
}

impl Probe {
    async fn ask(&self, actor: &Actor, object: Uuid) -> Answer<Value> {
        let request = actor.request(self.method.clone(), &self.path.replace("{id}", &object.to_string()));
        let request = match &self.body {
            Some(body) => request.json(body),
            None => request,
        };
        actor.send(request, 200).await
    }
}

/// Asserts that `stranger`'s request on `object` is answered as on an id that does not
/// exist: 404 `not_found`.
async fn assert_unseen(stranger: &Actor, object: Uuid, probe: &Probe) {
    let what = probe.what;
    let Err(answer) = probe.ask(stranger, object).await else { panic!("{what}: answered") };
    let Err(random) = probe.ask(stranger, Uuid::now_v7()).await else { panic!("{what}: answered a random id") };
    assert_eq!((answer.status, &answer.code), (random.status, &random.code), "{what}: {answer:?} vs {random:?}");
    assert_eq!((answer.status, answer.code.as_str()), (404, "not_found"), "{what}: {answer:?}");
}

#[tokio::test]
async fn a_stranger_naming_a_provider_on_someone_elses_order_gets_404() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let (other_member, _, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    let stranger = app.resident().await;

    let named = |extra: Value| {
        let mut body = json!({"provider_id": partner_id});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        Some(body)
    };
    let probes = [
        post("accept", "/orders/{id}/accept", named(json!({}))),
        post("decline", "/orders/{id}/decline", named(json!({"reason": "忙不过来"}))),
        post("release", "/orders/{id}/release", named(json!({"reason": "临时有事"}))),
        post("start", "/orders/{id}/start", named(json!({}))),
        post("complete", "/orders/{id}/complete", named(json!({"summary": "修好了"}))),
    ];
    for probe in &probes {
        assert_unseen(&stranger, order, probe).await;
        assert_unseen(&other_member, order, probe).await;
    }

    // Whoever may see the order still learns that the provider named is not theirs.
    let refused = member.accept_for(order, Uuid::now_v7()).await.unwrap_err();
    assert_eq!((refused.status, refused.code.as_str()), (422, "validation_failed"), "{refused:?}");
    let refused = resident.start_for(order, Uuid::now_v7()).await.unwrap_err();
    assert_eq!(refused.status, 422, "{refused:?}");
}

#[tokio::test]
async fn a_stranger_sending_a_bad_request_on_someone_elses_order_gets_404() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    let other_community = app.community().await;
    let strangers = [app.resident().await, app.dispatcher(other_community).await];

    let blank = || Some(json!({"reason": " "}));
    let probes = [
        post("dispatch", "/orders/{id}/dispatch", Some(json!({"provider_ids": []}))),
        post("withdraw", "/orders/{id}/withdraw", blank()),
        post("decline", "/orders/{id}/decline", blank()),
        post("release", "/orders/{id}/release", blank()),
        post("reassign", "/orders/{id}/reassign", blank()),
        post("cancel", "/orders/{id}/cancel", blank()),
        post("dispute", "/orders/{id}/dispute", blank()),
        post("resolve", "/orders/{id}/resolve", Some(json!({"outcome": "close", "reason": " "}))),
        post("complete", "/orders/{id}/complete", Some(json!({"summary": " "}))),
        post("confirm", "/orders/{id}/confirm", None),
        post("rating", "/orders/{id}/rating", Some(json!({"stars": 9}))),
        post("add a note", "/orders/{id}/notes", Some(json!({"body": " "}))),
        get("notes", "/orders/{id}/notes?cursor=not-a-cursor"),
        get("events", "/orders/{id}/events?cursor=not-a-cursor"),
        get("candidates", "/orders/{id}/candidates"),
        get("read", "/orders/{id}"),
        Probe { what: "patch", method: Method::PATCH, path: "/orders/{id}".into(), body: Some(json!({"title": " "})) },
    ];
    for stranger in &strangers {
        for probe in &probes {
            assert_unseen(stranger, order, probe).await;
        }
    }
}

#[tokio::test]
async fn a_stranger_asking_about_someone_elses_volunteer_or_contract_gets_404() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let (_, _, contract) = partner(&app, &w, 3, None).await;
    let other_community = app.community().await;
    let strangers = [app.resident().await, app.dispatcher(other_community).await];

    let eligibility =
        format!("/volunteers/{{id}}/eligibility?community_id={}&category_code={}", w.community, w.category);
    let blank = || Some(json!({"reason": " "}));
    let probes = [
        get("eligibility", &eligibility),
        get("hours", "/volunteers/{id}/hours?cursor=not-a-cursor"),
        post("reject", "/volunteers/{id}/reject", blank()),
        post("suspend", "/volunteers/{id}/suspend", blank()),
    ];
    let contract_probes = [
        post("/contracts/{id}/suspend", "/contracts/{id}/suspend", blank()),
        post("/contracts/{id}/terminate", "/contracts/{id}/terminate", blank()),
    ];
    for stranger in &strangers {
        for probe in &probes {
            assert_unseen(stranger, volunteer_id, probe).await;
        }
        for probe in &contract_probes {
            assert_unseen(stranger, contract, probe).await;
        }
    }

    // The volunteer sees their own record but may not ask as staff do; staff may.
    let asks = get("eligibility", &eligibility);
    assert_eq!(asks.ask(&person, volunteer_id).await.unwrap_err().status, 403);
    asks.ask(&w.dispatcher, volunteer_id).await.unwrap();
}
