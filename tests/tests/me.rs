//! `GET /me` tells a client everything it needs to know what to show: the caller's roles,
//! the partners she belongs to with her role in each, and her volunteer standing.

use shenbian_tests::TestApp;
use shenbian_tests::scene::{partner, volunteer, world};

#[tokio::test]
async fn me_lists_the_partners_a_member_belongs_to_and_a_volunteers_standing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (owner, partner_id, _) = partner(&app, &w, 2, None).await;
    let (person, volunteer_id) = volunteer(&app, &w).await;

    let (status, me) = app.call(app.get("/me", Some(&owner.access_token))).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], owner.user_id.to_string());
    assert_eq!(me["roles"], serde_json::json!(["resident"]));
    assert_eq!(me["partners"][0]["partner_id"], partner_id.to_string());
    assert_eq!(me["partners"][0]["partner_name"], "安居维修服务社");
    assert_eq!(me["partners"][0]["partner_status"], "approved");
    assert_eq!(me["partners"][0]["role"], "admin");
    assert_eq!(me["volunteers"], serde_json::json!([]));

    let (_, me) = app.call(app.get("/me", Some(&person.access_token))).await;
    assert_eq!(me["partners"], serde_json::json!([]));
    assert_eq!(me["volunteers"][0]["volunteer_id"], volunteer_id.to_string());
    assert_eq!(me["volunteers"][0]["community_id"], w.community.to_string());
    assert_eq!(me["volunteers"][0]["status"], "approved");

    let (_, staff) = app.call(app.get("/me", Some(&w.dispatcher.access_token))).await;
    assert_eq!(staff["roles"], serde_json::json!(["dispatcher"]));
    assert_eq!(staff["community_id"], w.community.to_string());
}
