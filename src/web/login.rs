//! The one-time login link and the cookie sessions it opens.
//!
//! At start a random code is made; `/login?once=CODE` (the link printed on
//! the terminal) works once: it sets an `HttpOnly; SameSite=Strict` cookie
//! holding a new random session value and redirects to `/`. At most
//! [`MAX_SESSIONS`] sessions live at once (the oldest goes for a new one).
//! The token (`Authorization: Bearer`) admits too, and `/login` with it
//! opens a session the same way, so a used link is not a lock-out.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::http::{HeaderMap, header};

use super::WebError;

/// The session cookie's name.
pub const COOKIE: &str = "necromap_session";
/// Browser sessions alive at once.
pub const MAX_SESSIONS: usize = 64;

#[derive(Debug)]
pub struct Login {
    once: Mutex<Option<String>>,
    sessions: Mutex<VecDeque<String>>,
}

/// 24 random bytes as hex.
pub fn random_hex() -> Result<String, WebError> {
    let mut bytes = [0u8; 24];
    rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty()).map_err(|e| WebError::Random(e.into()))?;
    Ok(bytes.iter().fold(String::with_capacity(48), |mut acc, b| {
        use std::fmt::Write as _;
        let _ = write!(acc, "{b:02x}");
        acc
    }))
}

/// Equal in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Login {
    pub fn new() -> Result<Self, WebError> {
        Ok(Self { once: Mutex::new(Some(random_hex()?)), sessions: Mutex::default() })
    }

    /// The login link for a server at `addr`, while it is unused.
    pub fn link(&self, addr: SocketAddr) -> Option<String> {
        let once = self.once.lock().ok()?;
        once.as_ref().map(|code| format!("http://{addr}/login?once={code}"))
    }

    /// Spend the one-time code: a new session's cookie value when `code`
    /// is the unused code.
    pub fn redeem(&self, code: &str) -> Option<String> {
        let mut once = self.once.lock().ok()?;
        let matches = once.as_ref().is_some_and(|c| same(c.as_bytes(), code.as_bytes()));
        if !matches {
            return None;
        }
        *once = None;
        drop(once);
        self.open()
    }

    /// A new session (for a client that showed the token or the code).
    pub fn open(&self) -> Option<String> {
        let value = random_hex().ok()?;
        let mut sessions = self.sessions.lock().ok()?;
        if sessions.len() >= MAX_SESSIONS {
            sessions.pop_front();
        }
        sessions.push_back(value.clone());
        Some(value)
    }

    /// Whether the request carries a live session cookie.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Ok(sessions) = self.sessions.lock() else { return false };
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == COOKIE)
            .any(|(_, value)| sessions.iter().any(|s| same(s.as_bytes(), value.as_bytes())))
    }
}

impl crate::mcp::http::Login for Login {
    fn admits(&self, headers: &HeaderMap) -> bool {
        Login::admits(self, headers)
    }

    fn login(&self, query: Option<&str>, token_shown: bool) -> Option<String> {
        let by_code = once_param(query).and_then(|code| self.redeem(code));
        by_code.or_else(|| if token_shown { self.open() } else { None }).map(|v| set_cookie(&v))
    }

    fn link(&self, addr: SocketAddr) -> Option<String> {
        Login::link(self, addr)
    }
}

/// The `Set-Cookie` value for a session.
pub fn set_cookie(value: &str) -> String {
    format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/")
}

/// The `once` parameter of a query string.
pub fn once_param(query: Option<&str>) -> Option<&str> {
    query?.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == "once").map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, format!("theme=dark; {COOKIE}={value}").parse().expect("header"));
        h
    }

    #[test]
    fn the_link_works_once_and_its_cookie_admits() {
        let login = Login::new().expect("login");
        let link = login.link("127.0.0.1:1".parse().expect("addr")).expect("link");
        let code = once_param(link.split_once('?').map(|x| x.1)).expect("code").to_string();
        assert!(login.redeem("wrong").is_none());
        let session = login.redeem(&code).expect("first use");
        assert!(login.redeem(&code).is_none(), "a second use is refused");
        assert!(login.link("127.0.0.1:1".parse().expect("addr")).is_none());
        assert!(login.admits(&cookie(&session)));
        assert!(!login.admits(&cookie("0123")));
        assert!(!login.admits(&HeaderMap::new()));
        assert!(set_cookie(&session).contains("HttpOnly; SameSite=Strict"));
    }

    #[test]
    fn sessions_are_bounded() {
        let login = Login::new().expect("login");
        let first = login.open().expect("session");
        for _ in 0..MAX_SESSIONS {
            login.open();
        }
        assert!(!login.admits(&cookie(&first)), "the oldest made room");
    }
}
