//! The live stream of the feed (`GET /events/stream`): each caller gets the events their
//! feed shows, as they are committed, each `id` the feed's cursor; a reconnect with
//! `Last-Event-ID` resumes without loss or duplicates; a logout ends the stream; five
//! streams per user at most.

use std::time::Duration;

use serde_json::Value;
use shenbian_tests::scene::{partner, place, world};
use shenbian_tests::{Actor, TestApp};

/// An open stream, read event by event.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

/// One event: its id and its data.
#[derive(Debug)]
struct Sent {
    id: String,
    data: Value,
}

/// Longest wait for an event that should come (a bound on a failing test, not a pause).
const WITHIN: Duration = Duration::from_secs(10);

async fn open(app: &TestApp, who: &Actor, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = app.get("/events/stream", Some(&who.access_token));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.unwrap()
}

async fn stream(app: &TestApp, who: &Actor, last_event_id: Option<&str>) -> Stream {
    let response = open(app, who, last_event_id).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Stream { response, buffer: String::new() }
}

impl Stream {
    /// The next event (keep-alive comments skipped); `None` when the stream ended.
    async fn next(&mut self) -> Option<Sent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut data) = (None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                match id {
                    Some(id) => return Some(Sent { id, data: serde_json::from_str(&data).unwrap() }),
                    None => continue,
                }
            }
            let chunk =
                tokio::time::timeout(WITHIN, self.response.chunk()).await.expect("an event in time").unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

fn action(e: &Sent) -> (&str, &str) {
    (e.data["order_id"].as_str().unwrap(), e.data["action"].as_str().unwrap())
}

#[tokio::test]
async fn each_caller_hears_their_own_events_as_committed_and_resumes_without_loss() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (resident, stranger) = (app.resident().await, app.resident().await);
    let (_member, partner_id, _) = partner(&app, &w, 3, None).await;
    let mut hers = stream(&app, &resident, None).await;
    let mut theirs = stream(&app, &stranger, None).await;
    let mut staff = stream(&app, &w.dispatcher, None).await;

    let order = place(&w, &resident).await.id.to_string();
    w.dispatcher.dispatch(order.parse().unwrap(), &[partner_id]).await.unwrap();
    let created = hers.next().await.unwrap();
    assert_eq!(action(&created), (order.as_str(), "created"));
    assert_eq!(created.data["actor_name"], "王秀英", "masked as the feed masks");
    let dispatched = hers.next().await.unwrap();
    assert_eq!(action(&dispatched), (order.as_str(), "dispatched"));
    assert_eq!(dispatched.data["actor_name"], "李*");
    let seen_by_staff = staff.next().await.unwrap();
    assert_eq!((action(&seen_by_staff), seen_by_staff.id.as_str()), ((order.as_str(), "created"), created.id.as_str()));

    // The id is the feed's cursor: the feed after it starts with the next event.
    let page: Value = resident.get(&format!("/events?cursor={}", created.id)).await.unwrap();
    assert_eq!(page["items"][0]["action"], "dispatched");
    // A reconnect resumes after the last event it got: the next one, once.
    let mut again = stream(&app, &resident, Some(&created.id)).await;
    let resumed = again.next().await.unwrap();
    assert_eq!((resumed.id.as_str(), action(&resumed)), (dispatched.id.as_str(), (order.as_str(), "dispatched")));

    // The stranger heard nothing of it: her first event is her own order's.
    let own = place(&w, &stranger).await.id.to_string();
    let first = theirs.next().await.unwrap();
    assert_eq!(action(&first), (own.as_str(), "created"));
}

#[tokio::test]
async fn a_logout_ends_the_stream_and_a_user_holds_five_at_most() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(stream(&app, &resident, None).await);
    }
    let sixth = open(&app, &resident, None).await;
    assert_eq!(sixth.status(), 429);
    let problem: Value = sixth.json().await.unwrap();
    assert_eq!(problem["code"], "too_many_streams");
    let bad = open(&app, &resident, Some("not a cursor")).await;
    assert_eq!(bad.status(), 422);

    resident.sign_out().await.unwrap();
    for mut ended in streams {
        assert!(ended.next().await.is_none(), "the session ended, so does the stream");
    }
}

/// Two instances on one database: an event committed through one reaches a stream held by
/// the other (the stream reads the log, not a process's memory).
#[tokio::test]
async fn an_event_committed_through_one_instance_reaches_a_stream_held_by_another() {
    let one = TestApp::spawn().await;
    let settings = one.state.settings.clone();
    let other = TestApp::spawn_with(|s| {
        s.database_url = settings.database_url.clone();
        s.data_dir = settings.data_dir.clone();
    })
    .await;
    // The harness waits only for a database it made itself.
    other.state.wait_ready().await;
    let w = world(&one).await;
    let resident = one.resident().await;
    let (_member, partner_id, _) = partner(&one, &w, 3, None).await;
    let mut elsewhere = stream(&other, &resident, None).await;

    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    let created = elsewhere.next().await.unwrap();
    let dispatched = elsewhere.next().await.unwrap();
    let order = order.to_string();
    assert_eq!([action(&created), action(&dispatched)], [(order.as_str(), "created"), (order.as_str(), "dispatched")]);
}
