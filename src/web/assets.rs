//! The page's files, embedded in the binary, and the headers every answer
//! of the web server carries.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub const INDEX_HTML: &str = include_str!("../../assets/web/index.html");
pub const APP_JS: &str = include_str!("../../assets/web/app.js");
pub const STYLE_CSS: &str = include_str!("../../assets/web/style.css");

/// Bytes of every asset the page loads (the page weight).
pub fn page_weight() -> usize {
    INDEX_HTML.len() + APP_JS.len() + STYLE_CSS.len()
}

/// Only our own files: no inline script or style, no remote origin, no
/// framing, no plugins; forms and the base URL stay on this server.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn file(body: &'static str, kind: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

pub async fn index() -> Response {
    file(INDEX_HTML, "text/html; charset=utf-8")
}

pub async fn script() -> Response {
    file(APP_JS, "text/javascript; charset=utf-8")
}

pub async fn style() -> Response {
    file(STYLE_CSS, "text/css; charset=utf-8")
}

/// No icon: an empty answer rather than a 404 in the browser's console.
pub async fn no_icon() -> Response {
    axum::http::StatusCode::NO_CONTENT.into_response()
}

/// The security headers, on every answer (refusals too).
pub fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    h.insert(header::HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin"));
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_has_no_inline_script_and_no_remote_origin() {
        let html = super::INDEX_HTML;
        assert!(!html.contains("<script>"), "no inline script");
        assert!(!html.contains("style="), "no inline style");
        for text in [super::INDEX_HTML, super::APP_JS] {
            // The SVG namespace is a name, not a place.
            let text = text.replace("'http://www.w3.org/2000/svg'", "");
            assert!(!text.contains("http://") && !text.contains("https://"), "no remote origin");
            assert!(!text.contains("innerHTML") && !text.contains("outerHTML") && !text.contains("insertAdjacentHTML"), "host text goes in with textContent");
        }
    }
}
