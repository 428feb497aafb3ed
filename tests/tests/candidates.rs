//! The candidates a dispatcher offers an order to, ranked by each provider's record — its
//! ratings, the offers it accepted, the jobs it completed in time — as the provider made it.

use shenbian_tests::TestApp;
use shenbian_tests::scene::{partner, place, world};
use uuid::Uuid;

#[tokio::test]
async fn a_providers_record_is_what_it_did() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (owner, seasoned, _) = partner(&app, &w, 3, None).await;
    let (_, newcomer, _) = partner(&app, &w, 3, None).await;
    let resident = app.resident().await;

    // Three offers: one declined; one accepted, done in time, confirmed and rated 4 stars;
    // one accepted and still open.
    let declined = place(&w, &resident).await.id;
    w.dispatcher.dispatch(declined, &[seasoned]).await.unwrap();
    owner.decline(declined, "排满了").await.unwrap();
    let done = place(&w, &resident).await.id;
    w.dispatcher.dispatch(done, &[seasoned]).await.unwrap();
    owner.accept(done).await.unwrap();
    owner.start(done).await.unwrap();
    owner.complete(done, "更换了水槽下的软管", None).await.unwrap();
    resident.confirm(done).await.unwrap();
    resident.rate(done, 4).await.unwrap();
    let open = place(&w, &resident).await.id;
    w.dispatcher.dispatch(open, &[seasoned]).await.unwrap();
    owner.accept(open).await.unwrap();

    let next = place(&w, &resident).await.id;
    let candidates = w.dispatcher.candidates(next).await.unwrap().items;
    let reasons = |id: Uuid| -> Vec<String> {
        let candidate = candidates.iter().find(|c| c.provider.id == id).expect("a candidate");
        candidate.reasons.iter().map(|r| r.text.clone()).collect()
    };
    // The rates are smoothed toward a half: (k + 1) / (n + 2).
    let record = reasons(seasoned);
    for expected in ["评分 4.0（1 条评价）", "接单率 60%", "按时完成率 67%", "在办 1/3"] {
        assert!(record.iter().any(|r| r == expected), "{expected} in {record:?}");
    }
    let none = reasons(newcomer);
    for expected in ["评分 4.0（0 条评价）", "接单率 50%", "按时完成率 50%", "在办 0/3"] {
        assert!(none.iter().any(|r| r == expected), "{expected} in {none:?}");
    }

    // Whoever declined an order is no candidate for it again.
    let again = w.dispatcher.candidates(declined).await.unwrap().items;
    assert!(again.iter().any(|c| c.provider.id == newcomer));
    assert!(again.iter().all(|c| c.provider.id != seasoned));
}
