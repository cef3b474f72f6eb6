//! `/events`: the feed as Server-Sent Events. A client without
//! `Last-Event-ID` starts with the next event; with one, it is sent every
//! event after it (or a `reset`, see [`super::feed`]). A comment line every
//! [`HEARTBEAT`] keeps proxies from closing a quiet stream. At most
//! [`super::DEFAULT_MAX_STREAMS`] streams are open at once: a further one
//! is answered 503.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::WebState;
use super::feed::{EventKind, Since, WebEvent};

/// A comment line this often when no event was sent.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// Events waiting for a slow client before it is dropped.
const QUEUE: usize = 256;

fn event(e: &WebEvent) -> Event {
    Event::default().id(e.id.to_string()).event(e.kind.name()).data(&*e.data)
}

fn reset(newest: u64) -> Event {
    let data = serde_json::json!({ "newest": newest, "reason": "the events after your Last-Event-ID are no longer kept: reload the state" });
    Event::default().id(newest.to_string()).event(EventKind::Reset.name()).data(data.to_string())
}

pub async fn events(State(web): State<WebState>, headers: HeaderMap) -> Response {
    let Ok(permit) = web.streams.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many event streams are open: close one (another tab?) and retry\n").into_response();
    };
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(QUEUE);
    let feed = web.feed.clone();
    let mut latest = feed.subscribe();
    let mut cursor = resume.unwrap_or_else(|| feed.last_id());
    tokio::spawn(async move {
        let _permit = permit;
        loop {
            latest.borrow_and_update();
            let batch = match feed.since(cursor) {
                Since::Events(events) => events.iter().map(|e| (e.id, event(e))).collect::<Vec<_>>(),
                Since::Reset { newest } => vec![(newest, reset(newest))],
            };
            for (id, e) in batch {
                // A full queue means the client does not read: drop it.
                if tx.try_send(e).is_err() {
                    return;
                }
                cursor = id;
            }
            tokio::select! {
                () = tx.closed() => return,
                changed = latest.changed() => if changed.is_err() { return },
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx)) });
    let mut response = Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}
