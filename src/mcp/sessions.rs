//! A cap on live MCP sessions over HTTP: rmcp's local session manager keeps
//! every session until it is deleted or idles out, so a token holder could
//! open sessions until memory runs out. This wrapper closes the least
//! recently used session when a new one would pass the cap.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use futures_util::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};
use rmcp::transport::streamable_http_server::session::{RestoreOutcome, ServerSseMessage, SessionId, SessionManager};

/// [`LocalSessionManager`] with at most `cap` sessions.
#[derive(Debug)]
pub struct CappedSessions {
    inner: LocalSessionManager,
    cap: usize,
    /// When each live session was last used.
    used: Mutex<HashMap<SessionId, Instant>>,
}

impl CappedSessions {
    pub fn new(inner: LocalSessionManager, cap: usize) -> Self {
        Self { inner, cap, used: Mutex::new(HashMap::new()) }
    }

    fn touch(&self, id: &SessionId) {
        if let Ok(mut used) = self.used.lock() {
            used.insert(id.clone(), Instant::now());
        }
    }

    fn forget(&self, id: &SessionId) {
        if let Ok(mut used) = self.used.lock() {
            used.remove(id);
        }
    }

    /// The sessions to close so that one more fits: the least recently
    /// used first, and any the inner manager no longer has.
    async fn make_room(&self) {
        let live: std::collections::HashSet<SessionId> = self.inner.sessions.read().await.keys().cloned().collect();
        let victims: Vec<SessionId> = {
            let Ok(mut used) = self.used.lock() else { return };
            used.retain(|id, _| live.contains(id));
            let mut by_age: Vec<(Instant, SessionId)> = used.iter().map(|(id, t)| (*t, id.clone())).collect();
            by_age.sort_unstable_by_key(|(t, _)| *t);
            let excess = (live.len() + 1).saturating_sub(self.cap);
            by_age.into_iter().take(excess).map(|(_, id)| id).collect()
        };
        for id in victims {
            let _ = self.inner.close_session(&id).await;
            self.forget(&id);
        }
    }
}

impl SessionManager for CappedSessions {
    type Error = LocalSessionManagerError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.make_room().await;
        let (id, transport) = self.inner.create_session().await?;
        self.touch(&id);
        Ok((id, transport))
    }

    async fn initialize_session(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.touch(id);
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.forget(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(&self, id: &SessionId) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(&self, id: &SessionId, last_event_id: String) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.resume(id, last_event_id).await
    }

    async fn restore_session(&self, id: SessionId) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        self.make_room().await;
        self.touch(&id);
        self.inner.restore_session(id).await
    }

    fn event_store(&self) -> Option<std::sync::Arc<dyn rmcp::transport::streamable_http_server::session::store::EventStore>> {
        self.inner.event_store()
    }
}
