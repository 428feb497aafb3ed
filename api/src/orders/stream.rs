//! The event log, live: `GET /events/stream` sends the caller, as Server-Sent Events, the
//! events their feed (`GET /events`) shows them, scoped and masked the same way, as they are
//! committed. Each event's SSE `id` is the feed's cursor, so a client that reconnects with
//! `Last-Event-ID` (or pages `/events?cursor=` from it) misses nothing and sees nothing twice.
//!
//! A stream reads the log, not a process's memory. One task per process ([`watch_log`])
//! looks at the event counter every [`POLL`] and, when it moved, reads once whom the new
//! events concern (`store::list::touches`: their orders' residents, communities and
//! providers); each stream reads its own feed only when those meet its caller's (or when it
//! fell behind the watcher). So an event committed through any instance on the same
//! database reaches its streams within that time, and a thousand idle streams cost one
//! small query per look, not a thousand. The caller's session is checked again every
//! [`RECHECK`]: a logout, a password change, a deactivation or an expired token ends the
//! stream. Nothing is buffered for a slow reader: the next page is read only when the
//! client has taken the last one.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use sea_orm::{ConnectionTrait, EntityTrait};
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use super::feed::{Reader, feed_of};
use super::log_watch::Stretch;
use super::store::list::{Touches, feed as feed_page, touches};
use crate::auth::{Acting, Bearer};
use crate::entity::event_counter;
use crate::error::{ApiError, t};
use crate::pagination::{decode_text_cursor, encode_text_cursor};
use crate::state::AppState;

/// How often the process looks at the event counter.
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
        bearer,
        acting,
        after,
        behind: true,
        seen: after,
        log: {
            // What the watcher last published counts as news to a new stream.
            let mut log = state.log.subscribe();
            log.mark_changed();
            log
        },
        checked: Instant::now(),
        pending: Vec::new(),
        _slot: slot,
        state,
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

/// Looks at the event counter every [`POLL`] and publishes each new stretch of the log with
/// whom it concerns, for every stream of the process; runs until aborted.
pub async fn watch_log(state: AppState) {
    state.wait_ready().await;
    let log = &state.log;
    let mut seen = None;
    loop {
        tokio::time::sleep(POLL).await;
        let Ok(db) = state.db() else { continue };
        let Ok(now) = head(db).await else { continue };
        let Some(from) = seen else {
            // The first look: where the log stands (a stream opened before it reads its
            // feed, being behind it).
            log.publish(Stretch { from: now, upto: now, touches: Touches::default() });
            seen = Some(now);
            continue;
        };
        if now <= from {
            continue;
        }
        match touches(db, from, now).await {
            Ok(touches) => {
                log.publish(Stretch { from, upto: now, touches });
                seen = Some(now);
            }
            Err(err) => tracing::warn!(error = %err, "the live streams' look at the log failed; will retry"),
        }
    }
}

/// A stream's state between two events.
struct Live {
    state: AppState,
    bearer: Bearer,
    acting: Acting,
    /// The last event sent, or the point of the log the stream has passed.
    after: i64,
    /// Whether the feed may hold events after `after` that the stream has not read: at
    /// the start, after a full page, and when the stream missed a stretch of the log.
    behind: bool,
    /// The end of the last stretch of the log the stream was told of.
    seen: i64,
    log: watch::Receiver<Arc<Stretch>>,
    /// When the session was last checked.
    checked: Instant,
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
            if self.checked.elapsed() >= RECHECK {
                self.acting = self.bearer.authenticate_acting(&self.state).await.ok()?;
                self.checked = Instant::now();
            }
            if !self.behind {
                match tokio::time::timeout_at(self.checked + RECHECK, self.log.changed()).await {
                    Err(_) => continue,
                    Ok(Err(_)) => return None,
                    Ok(Ok(())) => {}
                }
                let stretch = self.log.borrow_and_update().clone();
                self.seen = self.seen.max(stretch.upto);
                if stretch.upto <= self.after {
                    continue;
                }
                let of = feed_of(&self.acting.principal, self.provider_ids());
                if self.after >= stretch.from && !of.meets(&stretch.touches) {
                    // Nothing of this stretch is the caller's.
                    self.after = stretch.upto;
                    continue;
                }
            }
            let db = self.state.db().ok()?.clone();
            self.read(&db).await.ok()?;
        }
    }

    fn provider_ids(&self) -> Vec<Uuid> {
        self.acting.providers.iter().map(|p| p.id).collect()
    }

    /// Reads the caller's feed after the last event sent.
    async fn read(&mut self, db: &impl ConnectionTrait) -> Result<(), ApiError> {
        let principal = &self.acting.principal;
        let of = feed_of(principal, self.acting.providers.iter().map(|p| p.id).collect());
        let rows = feed_page(db, &of, self.after, PAGE).await?;
        // A full page may have more behind it: read again before waiting for the log.
        self.behind = rows.len() as u64 == PAGE;
        let reader = Reader { principal, providers: &of.providers };
        for named in rows {
            let seq = named.event.seq;
            let view = reader.view(named);
            let data = serde_json::to_string(&view).map_err(ApiError::internal)?;
            self.pending.push(Event::default().id(encode_text_cursor(&seq.to_string())).data(data));
            self.after = seq;
        }
        if !self.behind {
            // The feed holds nothing more up to the last stretch told of.
            self.after = self.after.max(self.seen);
        }
        self.pending.reverse();
        Ok(())
    }
}
