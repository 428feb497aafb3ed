//! An instance's view of the event log for its live streams: each new stretch of the log and
//! whom it concerns, published by [`super::stream::watch_log`] and heard by every
//! [`super::stream::event_stream`]. A leaf: the application's state holds one.

use std::sync::Arc;

use tokio::sync::watch;

use super::store::list::Touches;

/// What the newest stretch of the log touched: the events after `from` up to `upto`.
#[derive(Debug, Default)]
pub struct Stretch {
    pub from: i64,
    pub upto: i64,
    pub touches: Touches,
}

/// The last stretch published, for every stream of the process.
#[derive(Clone)]
pub struct LogWatch(Arc<watch::Sender<Arc<Stretch>>>);

impl Default for LogWatch {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(Arc::default())))
    }
}

impl LogWatch {
    /// Tells every stream of a new stretch.
    pub fn publish(&self, stretch: Stretch) {
        self.0.send_replace(Arc::new(stretch));
    }

    /// A stream's ear.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Stretch>> {
        self.0.subscribe()
    }
}
