//! What a caller may not see is 404 whatever the request says: someone else's order,
//! volunteer or contract answers exactly as an id that does not exist, before any check of
//! the body, the parameters or the `provider_id` named.

use reqwest::RequestBuilder;
use serde_json::{Value, json};
use shenbian_tests::scene::{dispatch, partner, place, volunteer, world};
use shenbian_tests::{Actor, TestApp};
use uuid::Uuid;

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

/// A request on the object `object` by `actor`.
type Probe<'a> = Box<dyn Fn(&Actor, Uuid) -> RequestBuilder + 'a>;

fn post<'a>(app: &'a TestApp, path: &'a str, body: Option<Value>) -> Probe<'a> {
    Box::new(move |actor, object| {
        let path = path.replace("{id}", &object.to_string());
        match &body {
            Some(body) => app.post(&path, Some(&actor.access_token), body),
            None => app.post_empty(&path, Some(&actor.access_token)),
        }
    })
}

fn get<'a>(app: &'a TestApp, path: &'a str) -> Probe<'a> {
    Box::new(move |actor, object| app.get(&path.replace("{id}", &object.to_string()), Some(&actor.access_token)))
}

/// Asserts that `stranger`'s request on `object` is answered as on an id that does not
/// exist: 404 `not_found`.
async fn assert_unseen(app: &TestApp, stranger: &Actor, object: Uuid, what: &str, probe: &Probe<'_>) {
    let (status, answer) = app.call(probe(stranger, object)).await;
    let (random_status, random) = app.call(probe(stranger, Uuid::now_v7())).await;
    assert_eq!((status, &answer["code"]), (random_status, &random["code"]), "{what}: {answer} vs {random}");
    assert_eq!((status, answer["code"].as_str()), (404, Some("not_found")), "{what}: {answer}");
}

#[tokio::test]
async fn a_stranger_naming_a_provider_on_someone_elses_order_gets_404() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let (other_member, _, _) = partner(&app, &w, 3, None).await;
    let order = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order, &[partner_id]).await;
    let stranger = app.resident().await;

    let named = |extra: Value| {
        let mut body = json!({"provider_id": partner_id});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        Some(body)
    };
    let probes = [
        ("accept", post(&app, "/orders/{id}/accept", named(json!({})))),
        ("decline", post(&app, "/orders/{id}/decline", named(json!({"reason": "忙不过来"})))),
        ("release", post(&app, "/orders/{id}/release", named(json!({"reason": "临时有事"})))),
        ("start", post(&app, "/orders/{id}/start", named(json!({})))),
        ("complete", post(&app, "/orders/{id}/complete", named(json!({"summary": "修好了"})))),
    ];
    for (what, probe) in &probes {
        assert_unseen(&app, &stranger, order, what, probe).await;
        assert_unseen(&app, &other_member, order, what, probe).await;
    }

    // Whoever may see the order still learns that the provider named is not theirs.
    let body = json!({"provider_id": Uuid::now_v7()});
    let (status, refused) =
        app.call(app.post(&format!("/orders/{order}/accept"), Some(&member.access_token), &body)).await;
    assert_eq!((status, refused["code"].as_str()), (422, Some("validation_failed")), "{refused}");
    let (status, refused) =
        app.call(app.post(&format!("/orders/{order}/start"), Some(&resident.access_token), &body)).await;
    assert_eq!(status, 422, "{refused}");
}

#[tokio::test]
async fn a_stranger_sending_a_bad_request_on_someone_elses_order_gets_404() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order, &[partner_id]).await;
    let other_community = app.community().await;
    let strangers = [app.resident().await, app.dispatcher(other_community).await];

    let blank = || Some(json!({"reason": " "}));
    let probes = [
        ("dispatch", post(&app, "/orders/{id}/dispatch", Some(json!({"provider_ids": []})))),
        ("withdraw", post(&app, "/orders/{id}/withdraw", blank())),
        ("decline", post(&app, "/orders/{id}/decline", blank())),
        ("release", post(&app, "/orders/{id}/release", blank())),
        ("reassign", post(&app, "/orders/{id}/reassign", blank())),
        ("cancel", post(&app, "/orders/{id}/cancel", blank())),
        ("dispute", post(&app, "/orders/{id}/dispute", blank())),
        ("resolve", post(&app, "/orders/{id}/resolve", Some(json!({"outcome": "close", "reason": " "})))),
        ("complete", post(&app, "/orders/{id}/complete", Some(json!({"summary": " "})))),
        ("confirm", post(&app, "/orders/{id}/confirm", None)),
        ("rating", post(&app, "/orders/{id}/rating", Some(json!({"stars": 9})))),
        ("add a note", post(&app, "/orders/{id}/notes", Some(json!({"body": " "})))),
        ("notes", get(&app, "/orders/{id}/notes?cursor=not-a-cursor")),
        ("events", get(&app, "/orders/{id}/events?cursor=not-a-cursor")),
        ("candidates", get(&app, "/orders/{id}/candidates")),
        ("read", get(&app, "/orders/{id}")),
        (
            "patch",
            Box::new(|actor: &Actor, object: Uuid| {
                app.patch(&format!("/orders/{object}"), Some(&actor.access_token), &json!({"title": " "}))
            }) as Probe<'_>,
        ),
    ];
    for stranger in &strangers {
        for (what, probe) in &probes {
            assert_unseen(&app, stranger, order, what, probe).await;
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
        ("eligibility", get(&app, &eligibility)),
        ("hours", get(&app, "/volunteers/{id}/hours?cursor=not-a-cursor")),
        ("reject", post(&app, "/volunteers/{id}/reject", blank())),
        ("suspend", post(&app, "/volunteers/{id}/suspend", blank())),
    ];
    for stranger in &strangers {
        for (what, probe) in &probes {
            assert_unseen(&app, stranger, volunteer_id, what, probe).await;
        }
        for path in ["/contracts/{id}/suspend", "/contracts/{id}/terminate"] {
            assert_unseen(&app, stranger, contract, path, &post(&app, path, blank())).await;
        }
    }

    // The volunteer sees their own record but may not ask as staff do; staff may.
    let (status, _) = app.call(get(&app, &eligibility)(&person, volunteer_id)).await;
    assert_eq!(status, 403);
    let (status, answer) = app.call(get(&app, &eligibility)(&w.dispatcher, volunteer_id)).await;
    assert_eq!(status, 200, "{answer}");
}
