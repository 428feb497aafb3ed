//! Partner membership is an invitation the invitee accepts. The attack it stops: a resident
//! with a partner still pending approval adding any phone as a member (or admin) to learn
//! the name behind it, or that no account has it. Only an approved partner's admin
//! invites; the answer is the same whether or not the phone has an account and names no
//! one; nobody is a member until she accepts; an invitation expires; all of it is audited.

use chrono::Duration;
use futures_util::future::join_all;
use serde_json::{Value, json};
use shenbian_tests::{Actor, Id, PASSWORD, TestApp, TestClock, next_phone};
use uuid::Uuid;

async fn invite(app: &TestApp, by: &Actor, partner: Uuid, phone: &str, role: &str) -> (u16, Value) {
    let body = json!({"phone": phone, "role": role});
    app.call(app.post(&format!("/partners/{partner}/invitations"), Some(&by.access_token), &body)).await
}

async fn answer(app: &TestApp, who: &Actor, invitation: Uuid, verb: &str) -> (u16, Value) {
    app.call(app.post_empty(&format!("/me/invitations/{invitation}/{verb}"), Some(&who.access_token))).await
}

async fn my_invitations(app: &TestApp, who: &Actor) -> Vec<Value> {
    let (status, body) = app.call(app.get("/me/invitations", Some(&who.access_token))).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// The partner's members as (user id, role), read by `by`.
async fn members(app: &TestApp, by: &Actor, partner: Uuid) -> Vec<(String, String)> {
    let (status, body) = app.call(app.get(&format!("/partners/{partner}/members"), Some(&by.access_token))).await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    items.iter().map(|m| (m["user_id"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned())).collect()
}

fn is_member(members: &[(String, String)], who: &Actor) -> bool {
    members.iter().any(|(id, _)| *id == who.user_id.to_string())
}

/// Registers an account for a chosen phone and signs it in.
async fn register(app: &TestApp, phone: &str) -> Actor {
    let body = json!({"phone": phone, "password": PASSWORD, "display_name": "李卫东"});
    let (status, created) = app.call(app.post("/auth/register", None, &body)).await;
    assert_eq!(status, 201, "{created}");
    app.login(phone, PASSWORD).await
}

#[tokio::test]
async fn a_resident_whose_partner_is_pending_or_suspended_cannot_invite_anyone() {
    let app = TestApp::spawn().await;
    let attacker = app.resident().await;
    let partner = app.pending_partner(&attacker, "household").await;
    let victim = app.resident().await;

    let (status, body) = invite(&app, &attacker, partner, &victim.phone, "admin").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "partner_not_approved");
    assert!(!body.to_string().contains(&victim.phone), "{body}");
    assert!(my_invitations(&app, &victim).await.is_empty());
    assert!(!is_member(&members(&app, &attacker, partner).await, &victim));

    let admin = app.admin().await;
    let (owner, approved) = app.approved_partner(&admin).await;
    let suspend = json!({"reason": "资质复核"});
    let (status, _) =
        app.call(app.post(&format!("/partners/{approved}/suspend"), Some(&admin.access_token), &suspend)).await;
    assert_eq!(status, 200);
    let (status, body) = invite(&app, &owner, approved, &victim.phone, "member").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "partner_not_approved");
}

#[tokio::test]
async fn an_invitation_answers_the_same_for_a_registered_and_an_unregistered_phone() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let victim = app.resident().await;
    let nobody = next_phone();

    let (registered_status, registered) = invite(&app, &owner, partner, &victim.phone, "admin").await;
    let (unregistered_status, unregistered) = invite(&app, &owner, partner, &nobody, "admin").await;

    assert_eq!((registered_status, unregistered_status), (201, 201), "{registered} {unregistered}");
    let without_ids_and_times = |v: &Value| {
        let mut v = v.clone();
        for key in ["id", "created_at", "expires_at"] {
            assert!(v[key].is_string(), "{key} in {v}");
            v.as_object_mut().unwrap().remove(key);
        }
        v
    };
    assert_eq!(without_ids_and_times(&registered), without_ids_and_times(&unregistered));
    assert_eq!(registered["status"], "pending");
    for (answer, phone) in [(&registered, victim.phone.as_str()), (&unregistered, nobody.as_str())] {
        let text = answer.to_string();
        assert!(!text.contains(phone) && !text.contains("王秀英") && !text.contains("****"), "{text}");
    }
    // The victim is not a member until she accepts, and the partner's list names no one.
    assert!(!is_member(&members(&app, &owner, partner).await, &victim));
    let (_, listed) = app.call(app.get(&format!("/partners/{partner}/invitations"), Some(&owner.access_token))).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    assert!(!listed.to_string().contains(&victim.phone) && !listed.to_string().contains(&nobody), "{listed}");
    assert!(!listed.to_string().contains("王秀英"), "{listed}");
}

#[tokio::test]
async fn an_invitation_waits_for_a_phone_that_registers_later() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let phone = next_phone();
    let (status, invitation) = invite(&app, &owner, partner, &phone, "member").await;
    assert_eq!(status, 201);

    let newcomer = register(&app, &phone).await;
    let mine = my_invitations(&app, &newcomer).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], invitation["id"]);
    assert_eq!(mine[0]["partner_id"], partner.to_string());
    assert_eq!(mine[0]["partner_name"], "仁和社区诊所");
    assert_eq!(mine[0]["role"], "member");
    assert_eq!(answer(&app, &newcomer, invitation.id(), "accept").await.0, 200);
    assert!(is_member(&members(&app, &owner, partner).await, &newcomer));
}

#[tokio::test]
async fn the_invitee_accepts_and_joins_with_the_role_offered() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let invitee = app.resident().await;
    let (_, invitation) = invite(&app, &owner, partner, &invitee.phone, "admin").await;
    let id = invitation.id();

    let (status, accepted) = answer(&app, &invitee, id, "accept").await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["role"], "admin");

    let listed = members(&app, &owner, partner).await;
    assert!(listed.contains(&(invitee.user_id.to_string(), "admin".to_owned())), "{listed:?}");
    assert!(my_invitations(&app, &invitee).await.is_empty(), "an answered invitation leaves the list");
    let (_, invitations) =
        app.call(app.get(&format!("/partners/{partner}/invitations"), Some(&owner.access_token))).await;
    assert_eq!(invitations["items"][0]["status"], "accepted");
    assert_eq!(invitations["items"][0]["member_id"], invitee.user_id.to_string());
    // As an admin now, she may invite in turn.
    assert_eq!(invite(&app, &invitee, partner, &next_phone(), "member").await.0, 201);

    let invited = app.audit_entries(&admin, &format!("action=partner.invite&object_id={partner}")).await;
    assert_eq!(invited.len(), 2);
    let first = invited.iter().find(|e| e["actor"] == owner.user_id.to_string()).expect("the owner's invitation");
    assert_eq!(first["reason"], id.to_string());
    let joined = app.audit_entries(&admin, "action=partner.invitation_accept").await;
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0]["actor"], invitee.user_id.to_string());
    assert_eq!(joined[0]["object_id"], partner.to_string());
    assert_eq!(joined[0]["reason"], id.to_string());
    let log = Value::Array(app.audit_entries(&admin, "").await).to_string();
    assert!(!log.contains(&invitee.phone), "the audit log holds the invitee's phone");
}

#[tokio::test]
async fn a_declined_invitation_never_makes_her_a_member() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let invitee = app.resident().await;
    let (_, invitation) = invite(&app, &owner, partner, &invitee.phone, "admin").await;
    let id = invitation.id();

    let (status, declined) = answer(&app, &invitee, id, "decline").await;
    assert_eq!(status, 200, "{declined}");
    assert_eq!(declined["status"], "declined");
    let (status, body) = answer(&app, &invitee, id, "accept").await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "invalid_transition");

    assert!(!is_member(&members(&app, &owner, partner).await, &invitee));
    assert!(my_invitations(&app, &invitee).await.is_empty());
    let (_, invitations) =
        app.call(app.get(&format!("/partners/{partner}/invitations"), Some(&owner.access_token))).await;
    assert_eq!(invitations["items"][0]["status"], "declined");
    assert!(invitations["items"][0]["member_id"].is_null());
    let declines = app.audit_entries(&admin, "action=partner.invitation_decline").await;
    assert_eq!(declines.len(), 1);
    assert_eq!(declines[0]["actor"], invitee.user_id.to_string());
    assert_eq!(declines[0]["reason"], id.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_racing_answers_to_one_invitation_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    for round in 0..8 {
        let invitee = app.resident().await;
        let (_, invitation) = invite(&app, &owner, partner, &invitee.phone, "member").await;
        let id = invitation.id();
        // Even rounds: accept twice at once and more; odd rounds: accept against decline.
        let verbs: &[&str] = if round % 2 == 0 { &["accept", "accept", "accept"] } else { &["accept", "decline"] };

        let answers = join_all(verbs.iter().map(|verb| answer(&app, &invitee, id, verb))).await;

        let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{answers:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), verbs.len() - 1, "{answers:?}");
        let (_, won) = answers.iter().find(|(s, _)| *s == 200).unwrap();
        let joined = members(&app, &owner, partner).await;
        let memberships = joined.iter().filter(|(u, _)| *u == invitee.user_id.to_string()).count();
        assert_eq!(memberships, usize::from(won["status"] == "accepted"), "{won} {joined:?}");
    }
}

#[tokio::test]
async fn an_expired_invitation_cannot_be_accepted_and_a_repeat_renews_it() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let invitee = app.resident().await;
    let (_, invitation) = invite(&app, &owner, partner, &invitee.phone, "member").await;
    let id = invitation.id();

    clock.advance(Duration::hours(7 * 24) + Duration::minutes(1));
    assert!(my_invitations(&app, &invitee).await.is_empty(), "an expired invitation is not offered");
    let (status, body) = answer(&app, &invitee, id, "accept").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "invalid_transition");
    assert!(!is_member(&members(&app, &owner, partner).await, &invitee));
    let (_, invitations) =
        app.call(app.get(&format!("/partners/{partner}/invitations"), Some(&owner.access_token))).await;
    assert_eq!(invitations["items"][0]["status"], "expired");

    // Inviting the same phone again renews the same invitation, with the new role.
    let (status, renewed) = invite(&app, &owner, partner, &invitee.phone, "admin").await;
    assert_eq!(status, 201);
    assert_eq!(renewed["id"], id.to_string());
    assert_eq!(renewed["status"], "pending");
    assert_eq!(renewed["role"], "admin");
    assert!(renewed["expires_at"].as_str() > invitation["expires_at"].as_str());
    assert_eq!(my_invitations(&app, &invitee).await.len(), 1);
    assert_eq!(answer(&app, &invitee, id, "accept").await.0, 200);
    assert!(members(&app, &owner, partner).await.contains(&(invitee.user_id.to_string(), "admin".to_owned())));
}

#[tokio::test]
async fn no_one_else_sees_or_answers_an_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let invitee = app.resident().await;
    let member = app.resident().await;
    app.join_partner(&owner, partner, &member, "member").await;
    let stranger = app.resident().await;
    let (_, invitation) = invite(&app, &owner, partner, &invitee.phone, "admin").await;
    let id = invitation.id();

    for other in [&stranger, &member, &owner, &admin] {
        assert!(my_invitations(&app, other).await.is_empty());
        for verb in ["accept", "decline"] {
            let (status, body) = answer(&app, other, id, verb).await;
            assert_eq!(status, 404, "{verb}: {body}");
            assert_eq!(body["code"], "not_found");
        }
    }
    assert_eq!(answer(&app, &invitee, Uuid::now_v7(), "accept").await.0, 404);
    // Only the partner's admin lists and revokes its invitations.
    for other in [&stranger, &member, &admin] {
        let token = Some(other.access_token.as_str());
        assert_eq!(app.call(app.get(&format!("/partners/{partner}/invitations"), token)).await.0, 403);
        let revoke = format!("/partners/{partner}/invitations/{id}/revoke");
        assert_eq!(app.call(app.post_empty(&revoke, token)).await.0, 403);
    }
    assert!(!is_member(&members(&app, &owner, partner).await, &stranger));
    assert_eq!(answer(&app, &invitee, id, "accept").await.0, 200, "the invitee still can");
}

#[tokio::test]
async fn the_partner_admin_revokes_a_pending_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let (_, other_partner) = app.approved_partner(&admin).await;
    let invitee = app.resident().await;
    let (_, invitation) = invite(&app, &owner, partner, &invitee.phone, "member").await;
    let id = invitation.id();
    let token = Some(owner.access_token.as_str());

    let elsewhere = format!("/partners/{other_partner}/invitations/{id}/revoke");
    assert_eq!(app.call(app.post_empty(&elsewhere, token)).await.0, 403, "not the other partner's admin");
    let (status, revoked) =
        app.call(app.post_empty(&format!("/partners/{partner}/invitations/{id}/revoke"), token)).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    let (status, again) =
        app.call(app.post_empty(&format!("/partners/{partner}/invitations/{id}/revoke"), token)).await;
    assert_eq!(status, 409);
    assert_eq!(again["code"], "invalid_transition");
    let missing = format!("/partners/{partner}/invitations/{}/revoke", Uuid::now_v7());
    assert_eq!(app.call(app.post_empty(&missing, token)).await.0, 404);

    assert!(my_invitations(&app, &invitee).await.is_empty());
    assert_eq!(answer(&app, &invitee, id, "accept").await.0, 409);
    assert!(!is_member(&members(&app, &owner, partner).await, &invitee));
    let revokes = app.audit_entries(&admin, "action=partner.invitation_revoke").await;
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0]["actor"], owner.user_id.to_string());
    assert_eq!(revokes[0]["object_id"], partner.to_string());
    assert_eq!(revokes[0]["reason"], id.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invitations_to_one_phone_sent_at_once_leave_one_pending_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let invitee = app.resident().await;

    let answers = join_all((0..6).map(|_| invite(&app, &owner, partner, &invitee.phone, "member"))).await;

    assert!(answers.iter().all(|(status, _)| *status == 201), "{answers:?}");
    let ids: std::collections::BTreeSet<&str> = answers.iter().map(|(_, a)| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "one invitation, renewed: {answers:?}");
    assert_eq!(my_invitations(&app, &invitee).await.len(), 1);
}

#[tokio::test]
async fn closing_an_account_withdraws_the_invitations_waiting_for_its_phone() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let invitee = app.resident().await;
    let (status, _) = invite(&app, &owner, partner, &invitee.phone, "admin").await;
    assert_eq!(status, 201);
    assert_eq!(my_invitations(&app, &invitee).await.len(), 1);

    let close = json!({"password": PASSWORD});
    let (status, body) = app.call(app.post("/me/close", Some(&invitee.access_token), &close)).await;
    assert_eq!(status, 204, "{body}");
    // Whoever gets the number next is not offered the closed account's invitation.
    let next_holder = register(&app, &invitee.phone).await;
    assert!(my_invitations(&app, &next_holder).await.is_empty());
}
