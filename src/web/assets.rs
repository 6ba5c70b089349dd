//! The storefront's static files, built into the binary: the chat widget (`GET /widget.js`,
//! plain JavaScript, no build step) and the demo store page that embeds it (`GET /`). The files
//! live in `web/` and are read at compile time, so `kefu serve` needs nothing beside itself.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

/// The chat widget (`web/widget.js`).
pub const WIDGET_JS: &str = include_str!("../../web/widget.js");
/// The demo storefront, 栖木生活 Qimu Living (`web/index.html`).
pub const INDEX_HTML: &str = include_str!("../../web/index.html");

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new().route("/", get(index)).route("/widget.js", get(widget))
}

async fn widget() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/javascript; charset=utf-8"),
            // short, so a new version reaches the stores within minutes
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        WIDGET_JS,
    )
}

async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        INDEX_HTML,
    )
}
