//! A partner's members: they join by accepting an invitation from its admin (see
//! `partner_invitations.rs`), only its admin invites and removes them, strangers cannot find
//! a pending partner, and a partner always keeps one admin.

use serde_json::json;
use shenbian_tests::{Actor, TestApp, problem};
use uuid::Uuid;

async fn invite(app: &TestApp, by: &Actor, partner: Uuid, who: &Actor, role: &str) -> (u16, serde_json::Value) {
    let body = json!({"phone": who.phone, "role": role});
    app.call(app.post(&format!("/partners/{partner}/invitations"), Some(&by.access_token), &body)).await
}

#[tokio::test]
async fn the_partner_admin_adds_and_removes_members() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let worker = app.resident().await;

    app.join_partner(&owner, partner, &worker, "member").await;

    // A member sees the partner's members, with phones masked; its admin sees them in full.
    let (status, members) =
        app.call(app.get(&format!("/partners/{partner}/members"), Some(&worker.access_token))).await;
    assert_eq!(status, 200);
    let listed = members["items"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|m| m["phone"].as_str().unwrap().contains("****")), "{members}");
    let joined = listed.iter().find(|m| m["user_id"] == worker.user_id.to_string()).expect("the new member");
    assert_eq!(joined["role"], "member");
    let (_, as_admin) = app.call(app.get(&format!("/partners/{partner}/members"), Some(&owner.access_token))).await;
    assert!(as_admin["items"].as_array().unwrap().iter().any(|m| m["phone"] == worker.phone.as_str()));

    let (status, _) = app
        .call(app.delete(&format!("/partners/{partner}/members/{}", worker.user_id), Some(&owner.access_token)))
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        app.call(app.get(&format!("/partners/{partner}/members"), Some(&worker.access_token))).await.0,
        403,
        "a former member no longer reads the members"
    );
}

#[tokio::test]
async fn a_plain_member_cannot_manage_members() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let member = app.resident().await;
    app.join_partner(&owner, partner, &member, "member").await;
    let newcomer = app.resident().await;

    let (status, body) = invite(&app, &member, partner, &newcomer, "member").await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "forbidden");
    let remove = app.delete(&format!("/partners/{partner}/members/{}", owner.user_id), Some(&member.access_token));
    assert_eq!(app.call(remove).await.0, 403);

    let (_, members) = app.call(app.get(&format!("/partners/{partner}/members"), Some(&owner.access_token))).await;
    assert_eq!(members["items"].as_array().unwrap().len(), 2, "nothing changed");
}

#[tokio::test]
async fn a_stranger_cannot_find_a_pending_partners_members() {
    let app = TestApp::spawn().await;
    let owner = app.resident().await;
    let partner = app.pending_partner(&owner, "legal").await;
    let stranger = app.resident().await;
    let token = Some(stranger.access_token.as_str());

    let (status, body) = invite(&app, &stranger, partner, &stranger, "admin").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
    assert_eq!(app.call(app.delete(&format!("/partners/{partner}/members/{}", owner.user_id), token)).await.0, 404);
    assert_eq!(app.call(app.get(&format!("/partners/{partner}/members"), token)).await.0, 404);
    assert_eq!(app.call(app.get(&format!("/partners/{partner}/invitations"), token)).await.0, 404);
}

#[tokio::test]
async fn a_stranger_sees_an_approved_partner_but_may_not_manage_its_members() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_owner, partner) = app.approved_partner(&admin).await;
    let stranger = app.resident().await;

    assert_eq!(invite(&app, &stranger, partner, &stranger, "admin").await.0, 403);
    assert_eq!(app.call(app.get(&format!("/partners/{partner}/members"), Some(&stranger.access_token))).await.0, 403);
    // District staff do not manage a partner's members either.
    assert_eq!(invite(&app, &admin, partner, &stranger, "member").await.0, 403);
}

#[tokio::test]
async fn the_last_admin_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let path = format!("/partners/{partner}/members/{}", owner.user_id);

    let response = app.delete(&path, Some(&owner.access_token)).send().await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "last_admin");

    // With a second admin, the first may leave.
    let deputy = app.resident().await;
    app.join_partner(&owner, partner, &deputy, "admin").await;
    assert_eq!(app.call(app.delete(&path, Some(&deputy.access_token))).await.0, 204);
    let (_, members) = app.call(app.get(&format!("/partners/{partner}/members"), Some(&deputy.access_token))).await;
    let ids: Vec<&str> = members["items"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [deputy.user_id.to_string()]);
}

#[tokio::test]
async fn a_malformed_phone_is_refused_and_a_member_cannot_join_twice() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let token = Some(owner.access_token.as_str());
    let path = format!("/partners/{partner}/invitations");

    let (status, body) = app.call(app.post(&path, token, &json!({"phone": "12345"}))).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "phone");
    // The admin's own phone is invited like any other; accepting it finds her a member.
    let (status, invitation) = app.call(app.post(&path, token, &json!({"phone": owner.phone}))).await;
    assert_eq!(status, 201, "{invitation}");
    let accept = format!("/me/invitations/{}/accept", invitation["id"].as_str().unwrap());
    let (status, body) = app.call(app.post_empty(&accept, token)).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "already_member");
    let (status, _) = app.call(app.delete(&format!("/partners/{partner}/members/{}", Uuid::now_v7()), token)).await;
    assert_eq!(status, 404, "removing someone who is not a member");
}

#[tokio::test]
async fn two_admins_removing_each_other_at_once_leave_one_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for _ in 0..10 {
        let (first, partner) = app.approved_partner(&admin).await;
        let second = app.resident().await;
        app.join_partner(&first, partner, &second, "admin").await;

        let remove_second =
            app.delete(&format!("/partners/{partner}/members/{}", second.user_id), Some(&first.access_token));
        let remove_first =
            app.delete(&format!("/partners/{partner}/members/{}", first.user_id), Some(&second.access_token));
        let (a, b) = tokio::join!(app.call(remove_second), app.call(remove_first));

        assert_eq!([a.0, b.0].iter().filter(|s| **s == 204).count(), 1, "exactly one removal wins: {a:?} {b:?}");
        let survivor = if a.0 == 204 { &first } else { &second };
        let (status, members) =
            app.call(app.get(&format!("/partners/{partner}/members"), Some(&survivor.access_token))).await;
        assert_eq!(status, 200, "the survivor still runs the partner: {members}");
        let admins = members["items"].as_array().unwrap().iter().filter(|m| m["role"] == "admin").count();
        assert_eq!(admins, 1);
    }
}
