//! The web pages, plain HTML/CSS/JavaScript with no build step, built into the binary so
//! `kefu serve` needs nothing beside itself:
//! - the storefront: the chat widget (`GET /widget.js`) and the demo store that embeds it (`GET /`,
//!   and one page per product, `GET /product/{sku}`, that tells the widget its sku);
//! - the agent console (`GET /agent`) and the trainer console (`GET /trainer`), which share
//!   `console.css` and `console.js` (login, API calls, safe element building).
//!
//! The files live in `web/` and are read at compile time. With `web_dir` set (`KEFU_WEB_DIR`)
//! they are read from that folder on every request instead, for editing them without rebuilding.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

/// The chat widget (`web/widget.js`).
pub const WIDGET_JS: &str = include_str!("../../web/widget.js");
/// The demo storefront, 栖木生活 Qimu Living (`web/index.html`).
pub const INDEX_HTML: &str = include_str!("../../web/index.html");
/// The demo store's product page, one file for every product: it reads the sku from the path
/// (`web/product.html`).
pub const PRODUCT_HTML: &str = include_str!("../../web/product.html");
/// The agent console: page, script and styles (`web/agent.*`).
pub const AGENT_HTML: &str = include_str!("../../web/agent.html");
pub const AGENT_JS: &str = include_str!("../../web/agent.js");
pub const AGENT_CSS: &str = include_str!("../../web/agent.css");
/// The trainer console: page, script and styles (`web/trainer.*`).
pub const TRAINER_HTML: &str = include_str!("../../web/trainer.html");
pub const TRAINER_JS: &str = include_str!("../../web/trainer.js");
pub const TRAINER_CSS: &str = include_str!("../../web/trainer.css");
/// What both consoles share (`web/console.js`, `web/console.css`).
pub const CONSOLE_JS: &str = include_str!("../../web/console.js");
pub const CONSOLE_CSS: &str = include_str!("../../web/console.css");

/// Who may load a file: the storefront's files go on any store's pages; the consoles are
/// staff pages and load nothing from elsewhere.
#[derive(Clone, Copy)]
enum Audience {
    Storefront,
    Staff,
}

struct Asset {
    route: &'static str,
    file: &'static str,
    content_type: &'static str,
    body: &'static str,
    audience: Audience,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "application/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

static ASSETS: &[Asset] = &[
    Asset {
        route: "/",
        file: "index.html",
        content_type: HTML,
        body: INDEX_HTML,
        audience: Audience::Storefront,
    },
    Asset {
        route: "/product/{sku}",
        file: "product.html",
        content_type: HTML,
        body: PRODUCT_HTML,
        audience: Audience::Storefront,
    },
    Asset {
        route: "/widget.js",
        file: "widget.js",
        content_type: JS,
        body: WIDGET_JS,
        audience: Audience::Storefront,
    },
    Asset {
        route: "/agent",
        file: "agent.html",
        content_type: HTML,
        body: AGENT_HTML,
        audience: Audience::Staff,
    },
    Asset {
        route: "/agent.js",
        file: "agent.js",
        content_type: JS,
        body: AGENT_JS,
        audience: Audience::Staff,
    },
    Asset {
        route: "/agent.css",
        file: "agent.css",
        content_type: CSS,
        body: AGENT_CSS,
        audience: Audience::Staff,
    },
    Asset {
        route: "/trainer",
        file: "trainer.html",
        content_type: HTML,
        body: TRAINER_HTML,
        audience: Audience::Staff,
    },
    Asset {
        route: "/trainer.js",
        file: "trainer.js",
        content_type: JS,
        body: TRAINER_JS,
        audience: Audience::Staff,
    },
    Asset {
        route: "/trainer.css",
        file: "trainer.css",
        content_type: CSS,
        body: TRAINER_CSS,
        audience: Audience::Staff,
    },
    Asset {
        route: "/console.js",
        file: "console.js",
        content_type: JS,
        body: CONSOLE_JS,
        audience: Audience::Staff,
    },
    Asset {
        route: "/console.css",
        file: "console.css",
        content_type: CSS,
        body: CONSOLE_CSS,
        audience: Audience::Staff,
    },
];

/// The consoles run only their own scripts and styles and talk only to this server, so a
/// message that slipped past the text-only rendering still could not run or call out.
const STAFF_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; media-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes() -> axum::Router<Arc<AppState>> {
    ASSETS.iter().fold(axum::Router::new(), |router, asset| {
        router.route(asset.route, get(move |State(app): State<Arc<AppState>>| serve(app, asset)))
    })
}

async fn serve(app: Arc<AppState>, asset: &'static Asset) -> Response {
    let body = match &app.config.web_dir {
        None => asset.body.to_string(),
        // a development aid (small local files): a plain read is fine here
        Some(dir) => match std::fs::read_to_string(dir.join(asset.file)) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(file = %dir.join(asset.file).display(), error = %e, "web_dir file unreadable");
                return (StatusCode::NOT_FOUND, format!("{} is not in web_dir", asset.file)).into_response();
            }
        },
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let cache = match (asset.audience, asset.content_type) {
        // short, so a new widget reaches the stores within minutes
        (Audience::Storefront, JS) => "public, max-age=300",
        _ => "no-cache",
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Audience::Staff = asset.audience {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(STAFF_CSP));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    resp
}
