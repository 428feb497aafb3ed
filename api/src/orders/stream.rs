//! The event log, live: `GET /events/stream` sends the caller, as Server-Sent Events, the
//! events their feed (`GET /events`) shows them, scoped and masked the same way, as they are
//! committed. Each event's SSE `id` is the feed's cursor, so a client that reconnects with
//! `Last-Event-ID` (or pages `/events?cursor=` from it) misses nothing and sees nothing twice.
//!
//! A stream reads the log, not a process's memory: it looks at the event counter every
//! [`POLL`] (never more often, however busy the log) and reads its feed when the counter
//! moved, so an event committed through any instance on the same database reaches it
//! within that time. The caller's session is checked again every [`RECHECK`]: a logout, a
//! password change, a deactivation or an expired token ends the stream. Nothing is buffered
//! for a slow reader: the next page is read only when the client has taken the last one.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use sea_orm::{ConnectionTrait, EntityTrait};
use tokio::time::Instant;
use uuid::Uuid;

use super::feed::{Reader, feed_of};
use super::store::list::feed as feed_page;
use crate::auth::{Acting, Bearer};
use crate::entity::event_counter;
use crate::error::{ApiError, t};
use crate::pagination::{decode_text_cursor, encode_text_cursor};
use crate::state::AppState;

/// How often a stream looks at the event counter.
pub const POLL: Duration = Duration::from_millis(200);
/// How often a stream checks its caller's session.
pub const RECHECK: Duration = Duration::from_secs(5);
/// Streams one user may hold at once.
pub const MAX_STREAMS_PER_USER: usize = 5;
/// Events read per page.
const PAGE: u64 = 100;

/// Open streams per user (of this process).
static OPEN: LazyLock<Mutex<HashMap<Uuid, usize>>> = LazyLock::new(Default::default);

/// One of a user's open streams; counted until dropped.
struct Slot(Uuid);

impl Slot {
    fn take(user: Uuid) -> Option<Self> {
        let mut open = OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let n = open.entry(user).or_default();
        (*n < MAX_STREAMS_PER_USER).then(|| {
            *n += 1;
            Slot(user)
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(n) = open.get_mut(&self.0) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.0);
            }
        }
    }
}

/// The caller's feed, live (Server-Sent Events): each event as `EventView` JSON, its `id`
/// the feed's cursor. With `Last-Event-ID` (a cursor from this stream or from `/events`)
/// it resumes after that event; without, it starts at the end of the log. Keep-alive
/// comments every 15 s. 429 `too_many_streams` beyond five streams per user.
#[utoipa::path(get, path = "/events/stream", operation_id = "event_stream", tag = "orders", security(("bearer" = [])),
    params(("last-event-id" = Option<String>, Header, description = "a cursor of the feed: resume after it")),
    responses((status = 200, description = "a text/event-stream of EventView, each id the feed's cursor", content_type = "text/event-stream")))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn event_stream(
    State(state): State<AppState>,
    bearer: Bearer,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let acting = bearer.authenticate_acting(&state).await?;
    let db = state.db()?;
    let after = match headers.get("last-event-id") {
        Some(v) => resume_after(v.to_str().unwrap_or_default())?,
        None => head(db).await?,
    };
    let slot = Slot::take(acting.principal.user_id).ok_or_else(|| {
        ApiError::too_many(
            "too_many_streams",
            t("同时打开的实时连接过多；请先关闭其他连接", "too many open streams; close another first"),
        )
    })?;
    let live = Live {
        state,
        bearer,
        acting,
        after,
        seen_head: after,
        checked: Instant::now(),
        looked: Instant::now(),
        pending: Vec::new(),
        _slot: slot,
    };
    Ok(Sse::new(stream::unfold(live, Live::next)).keep_alive(KeepAlive::default()))
}

/// A `Last-Event-ID`: a feed cursor, the event's sequence number.
fn resume_after(id: &str) -> Result<i64, ApiError> {
    decode_text_cursor(id.trim())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::validation("Last-Event-ID", t("不是本列表给出的游标", "is not a cursor of the feed")))
}

/// The last sequence number given out.
async fn head(db: &impl ConnectionTrait) -> Result<i64, ApiError> {
    Ok(event_counter::Entity::find_by_id(1).one(db).await?.map_or(0, |c| c.value))
}

/// A stream's state between two events.
struct Live {
    state: AppState,
    bearer: Bearer,
    acting: Acting,
    /// The last event sent.
    after: i64,
    /// The counter's value when the feed was last read.
    seen_head: i64,
    /// When the session was last checked.
    checked: Instant,
    /// When the log was last looked at.
    looked: Instant,
    /// Events read and not yet sent, oldest last.
    pending: Vec<Event>,
    _slot: Slot,
}

impl Live {
    /// The next event to send; `None` ends the stream (the session ended, or the database
    /// failed).
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(event) = self.pending.pop() {
                return Some((Ok(event), self));
            }
            // One look at the log per [`POLL`] at most, however busy it is.
            tokio::time::sleep_until(self.looked + POLL).await;
            self.looked = Instant::now();
            if self.checked.elapsed() >= RECHECK {
                self.acting = self.bearer.authenticate_acting(&self.state).await.ok()?;
                self.checked = Instant::now();
            }
            let db = self.state.db().ok()?.clone();
            let now_head = head(&db).await.ok()?;
            if now_head > self.seen_head {
                self.read(&db, now_head).await.ok()?;
            }
        }
    }

    /// Reads the caller's feed after the last event sent, up to `head`.
    async fn read(&mut self, db: &impl ConnectionTrait, head: i64) -> Result<(), ApiError> {
        let principal = &self.acting.principal;
        let of = feed_of(principal, self.acting.providers.iter().map(|p| p.id).collect());
        let rows = feed_page(db, &of, self.after, PAGE).await?;
        // A full page may have more behind it: read again before looking at the counter.
        self.seen_head =
            if rows.len() as u64 == PAGE { self.after.max(rows.last().map_or(0, |e| e.event.seq) - 1) } else { head };
        let reader = Reader { principal, providers: &of.providers };
        for named in rows {
            let seq = named.event.seq;
            let view = reader.view(named);
            let data = serde_json::to_string(&view).map_err(ApiError::internal)?;
            self.pending.push(Event::default().id(encode_text_cursor(&seq.to_string())).data(data));
            self.after = seq;
        }
        self.pending.reverse();
        Ok(())
    }
}
