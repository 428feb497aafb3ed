//! SQLite's commit groups: write transactions queued for the writer share one commit, each
//! in a savepoint of its own, so one that fails is rolled back alone and the others commit.

use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use shenbian_tests::TestApp;
use shenbian_tests::scene::{assert_replays, place, world};
use shenbian_tests::shenbian::db::{begin_write, commit_groups_done};
use shenbian_tests::shenbian::entity::enums::ActionDb;

fn batch(sql: &str) -> Statement {
    Statement::from_string(DatabaseBackend::Sqlite, sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_transaction_in_a_commit_group_changes_nothing_and_its_neighbours_commit() {
    let app = TestApp::spawn().await;
    let db = app.db();
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return;
    }
    db.execute_unprepared("CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT NOT NULL)").await.unwrap();
    let (groups, members) = commit_groups_done(db).unwrap();

    // A transaction holds the writers' turn while three others queue for the next group.
    let holder = begin_write(db).await.unwrap();
    holder.execute_unprepared("INSERT INTO scratch VALUES (0, 'holder')").await.unwrap();
    let batches = [
        "INSERT INTO scratch VALUES (1, 'first')",
        // Its first row goes in, its second collides with the holder's: all of it must go.
        "INSERT INTO scratch VALUES (2, 'failing'); INSERT INTO scratch VALUES (0, 'again')",
        "INSERT INTO scratch VALUES (3, 'last') RETURNING id",
    ];
    let mut queued = Vec::new();
    for sql in batches {
        let mut finish = Box::pin(begin_write(db).await.unwrap().finish_with(batch(sql)));
        // Polled once, the transaction is in the queue, waiting for the group's commit.
        assert!(futures_util::poll!(&mut finish).is_pending());
        queued.push(finish);
    }
    holder.commit().await.unwrap();
    let answers = join_all(queued).await;

    assert!(answers[0].as_ref().is_ok_and(Vec::is_empty), "{:?}", answers[0]);
    let failed = answers[1].as_ref().expect_err("the colliding transaction fails");
    assert!(failed.to_string().contains("UNIQUE"), "{failed}");
    let returned = answers[2].as_ref().expect("the last transaction commits");
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0].try_get_by_index::<i64>(0).unwrap(), 3);

    let rows = db.query_all_raw(batch("SELECT id, note FROM scratch ORDER BY id")).await.unwrap();
    let rows: Vec<(i64, String)> =
        rows.iter().map(|r| (r.try_get_by_index(0).unwrap(), r.try_get_by_index(1).unwrap())).collect();
    assert_eq!(rows, [(0, "holder".to_owned()), (1, "first".to_owned()), (3, "last".to_owned())]);
    // The three were one group, which committed two.
    assert_eq!(commit_groups_done(db).unwrap(), (groups + 1, members + 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_created_at_once_share_commits_and_each_is_numbered_with_its_event() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let before = commit_groups_done(app.db());
    let orders = join_all((0..24).map(|_| place(&w, &resident))).await;
    let mut numbers: Vec<_> = orders.iter().map(|o| o.number.clone().expect("numbered")).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 24, "every order has a number of its own");
    for order in &orders {
        let events = w.admin.events(order.id).await.unwrap().items;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].action, ActionDb::Created);
        assert_replays(&w.admin, order.id).await;
    }
    if let (Some((groups, members)), Some((groups_after, members_after))) = (before, commit_groups_done(app.db())) {
        assert_eq!(members_after - members, 24);
        assert!(groups_after - groups <= 24);
    }
}
