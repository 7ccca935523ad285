//! The log of the chat platforms' webhook events, written in groups.
//!
//! Every event a webhook acknowledges is stored before its 200 (the platform will not send it again), and marked
//! handled once its replies are out. Written one transaction per event, these two writes cost the webhook path as
//! much as the chat turn itself on SQLite's one writer (BENCHMARKS.md, chat-webhooks, "+ event log"). So:
//! - events that arrive while a write of the log is under way wait for it and go together in the next one (group
//!   commit): each webhook still answers only once its own event is stored;
//! - marking handled is not waited for: the marks gather and are written together. A mark lost in a crash leaves
//!   the event unhandled, and recovery takes it up again — as for an instance that dies while sending the replies.
//!
//! Hand-written (some 100 lines): no maintained crate batches writes for sqlx; the channel and its `recv_many` are
//! tokio's.

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use super::Error;
use crate::storage::{HandledChatEvent, NewChatEvent, Store};

/// The most events in one write: SQLite allows 32,766 bound values per statement (seven per event), and a
/// larger group would only make the first webhook in it wait longer.
const MOST_PER_WRITE: usize = 256;

/// An event waiting to be recorded, and who waits for the answer.
struct PendingRecord {
    event: NewChatEvent,
    recorded: oneshot::Sender<Result<bool, Error>>,
}

enum Mark {
    Handled(HandledChatEvent),
    /// Answered once every mark sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// Writes the chat event log in groups; see the module's documentation.
pub struct EventLog {
    records: mpsc::UnboundedSender<PendingRecord>,
    marks: mpsc::UnboundedSender<Mark>,
}

impl EventLog {
    /// Starts the two writers on the current tokio runtime; they end when the log is dropped.
    pub fn start(store: Store) -> Self {
        let (records, pending) = mpsc::unbounded_channel();
        let (marks, to_mark) = mpsc::unbounded_channel();
        tokio::spawn(write_records(store.clone(), pending));
        tokio::spawn(write_marks(store, to_mark));
        Self { records, marks }
    }

    /// Records an event; `false` for a repeated delivery, which must not be handled again. Returns once it is
    /// committed.
    pub async fn record(&self, event: NewChatEvent) -> Result<bool, Error> {
        let (recorded, answer) = oneshot::channel();
        self.records
            .send(PendingRecord { event, recorded })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Marks an event handled, soon; does not wait for the write.
    pub fn handled(&self, event: HandledChatEvent) {
        if self.marks.send(Mark::Handled(event)).is_err() {
            tracing::warn!("the chat event log is stopped: an event stays unhandled and will be taken up again");
        }
    }

    /// Waits until every mark given before is written (at shutdown, and in tests).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.marks.send(Mark::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }
}

fn stopped() -> Error {
    Error::Busy("the chat event log is stopped".to_owned())
}

async fn write_records(store: Store, mut pending: mpsc::UnboundedReceiver<PendingRecord>) {
    let mut group = Vec::with_capacity(MOST_PER_WRITE);
    while pending.recv_many(&mut group, MOST_PER_WRITE).await > 0 {
        // The events move out of the group (their raw bodies are not copied); the waiters stay in the same order.
        let (events, waiters): (Vec<NewChatEvent>, Vec<_>) = group.drain(..).map(|p| (p.event, p.recorded)).unzip();
        match store.record_chat_events(&events).await {
            Ok(new) => {
                for (waiter, new) in waiters.into_iter().zip(new) {
                    let _ = waiter.send(Ok(new));
                }
            }
            // One event the database refuses must not fail the others: each is tried alone, with its own error.
            Err(e) if events.len() > 1 => {
                tracing::warn!(error = %e, events = events.len(), "a group of chat events was refused; recording them one by one");
                for (event, waiter) in events.iter().zip(waiters) {
                    let alone = store.record_chat_events(std::slice::from_ref(event)).await;
                    let _ = waiter.send(alone.map(|new| new[0]).map_err(Error::from));
                }
            }
            Err(e) => {
                if let Some(waiter) = waiters.into_iter().next() {
                    let _ = waiter.send(Err(Error::from(e)));
                }
            }
        }
    }
}

async fn write_marks(store: Store, mut to_mark: mpsc::UnboundedReceiver<Mark>) {
    let mut group = Vec::with_capacity(MOST_PER_WRITE);
    while to_mark.recv_many(&mut group, MOST_PER_WRITE).await > 0 {
        let mut flushes = Vec::new();
        let mut handled = Vec::with_capacity(group.len());
        for mark in group.drain(..) {
            match mark {
                Mark::Handled(event) => handled.push(event),
                Mark::Flush(done) => flushes.push(done),
            }
        }
        if let Err(e) = store.finish_chat_events(&handled, Utc::now()).await {
            // Not retried: the events stay unhandled, and recovery takes them up when their claims run out.
            tracing::error!(error = %e, events = handled.len(), "handled chat events could not be marked handled");
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
