//! The web pages, plain HTML/CSS/JavaScript with no build step, built into the binary so
//! `kefu serve` needs nothing beside itself:
//! - the storefront: the chat widget (`GET /widget.js`) and the demo store that embeds it (`GET /`,
//!   and one page per product, `GET /product/{sku}`, that tells the widget its sku);
//! - the agent console (`GET /agent`) and the trainer console (`GET /trainer`), which share
//!   `console.css` and `console.js` (login, API calls, safe element building);
//! - the icon every browser asks for (`GET /favicon.ico`; without it each page logs a 404).
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
/// The icon (`web/favicon.ico`: one 32×32 PNG in an ICO, drawn by `scripts/gen_favicon.py`).
pub const FAVICON: &[u8] = include_bytes!("../../web/favicon.ico");

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
    body: &'static [u8],
    audience: Audience,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "application/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const ICON: &str = "image/x-icon";

static ASSETS: &[Asset] = &[
    Asset {
        route: "/",
        file: "index.html",
        content_type: HTML,
        body: INDEX_HTML.as_bytes(),
        audience: Audience::Storefront,
    },
    Asset {
        route: "/product/{sku}",
        file: "product.html",
        content_type: HTML,
        body: PRODUCT_HTML.as_bytes(),
        audience: Audience::Storefront,
    },
    Asset {
        route: "/widget.js",
        file: "widget.js",
        content_type: JS,
        body: WIDGET_JS.as_bytes(),
        audience: Audience::Storefront,
    },
    Asset {
        route: "/agent",
        file: "agent.html",
        content_type: HTML,
        body: AGENT_HTML.as_bytes(),
        audience: Audience::Staff,
    },
    Asset {
        route: "/agent.js",
        file: "agent.js",
        content_type: JS,
        body: AGENT_JS.as_bytes(),
        audience: Audience::Staff,
    },
    Asset {
        route: "/agent.css",
        file: "agent.css",
        content_type: CSS,
        body: AGENT_CSS.as_bytes(),
        audience: Audience::Staff,
    },
    Asset {
        route: "/trainer",
        file: "trainer.html",
        content_type: HTML,
        body: TRAINER_HTML.as_bytes(),
        audience: Audience::Staff,
    },
    Asset {
        route: "/trainer.js",
        file: "trainer.js",
        content_type: JS,
        body: TRAINER_JS.as_bytes(),
        audience: Audience::Staff,
    },
    Asset {
        route: "/trainer.css",
        file: "trainer.css",
        content_type: CSS,
        body: TRAINER_CSS.as_bytes(),
        audience: Audience::Staff,
    },
    Asset {
        route: "/console.js",
        file: "console.js",
        content_type: JS,
        body: CONSOLE_JS.as_bytes(),
        audience: Audience::Staff,
    },
    Asset {
        route: "/console.css",
        file: "console.css",
        content_type: CSS,
        body: CONSOLE_CSS.as_bytes(),
        audience: Audience::Staff,
    },
    Asset {
        route: "/favicon.ico",
        file: "favicon.ico",
        content_type: ICON,
        body: FAVICON,
        audience: Audience::Storefront,
    },
];

/// The consoles run only their own scripts and styles and talk only to this server, so a
/// message that slipped past the text-only rendering still could not run or call out.
const STAFF_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; media-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The demo store's pages: their own inline scripts (by hash, see [`storefront_csp`]) and
/// `widget.js`; inline styles (the page's and the widget's, in its shadow root); WebSocket and
/// fetch to this server only; never framed.
const STORE_CSP: &str = "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// What every other answer gets (JSON, errors, `/healthz`): nothing may run, nothing may frame it.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The storefront page's CSP: [`STORE_CSP`] with the SHA-256 of each inline `<script>` whose
/// type is JavaScript (JSON data blocks do not run, so they need none).
pub fn storefront_csp(html: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mut hashes = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let tag_end = match rest[start..].find('>') {
            Some(i) => start + i,
            None => break,
        };
        let tag = &rest[start..tag_end];
        let body_end = match rest[tag_end..].find("</script>") {
            Some(i) => tag_end + i,
            None => break,
        };
        let body = &rest[tag_end + 1..body_end];
        if !tag.contains("src=") && !tag.contains("type=\"application/json\"") {
            let digest = sha2::Sha256::digest(body.as_bytes());
            let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
            hashes.push_str(&format!(" 'sha256-{b64}'"));
        }
        rest = &rest[body_end..];
    }
    STORE_CSP.replace("{hashes}", &hashes)
}

/// Headers for every answer that did not set its own: a CSP that runs and frames nothing,
/// `nosniff`.
pub async fn default_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_CSP));
    }
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

pub fn routes() -> axum::Router<Arc<AppState>> {
    ASSETS.iter().fold(axum::Router::new(), |router, asset| {
        router.route(asset.route, get(move |State(app): State<Arc<AppState>>| serve(app, asset)))
    })
}

async fn serve(app: Arc<AppState>, asset: &'static Asset) -> Response {
    let body = match &app.config.web_dir {
        None => asset.body.to_vec(),
        // a development aid (small local files): a plain read is fine here
        Some(dir) => match std::fs::read(dir.join(asset.file)) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(file = %dir.join(asset.file).display(), error = %e, "web_dir file unreadable");
                return (StatusCode::NOT_FOUND, format!("{} is not in web_dir", asset.file)).into_response();
            }
        },
    };
    let store_csp = (matches!(asset.audience, Audience::Storefront) && asset.content_type == HTML)
        .then(|| storefront_csp(&String::from_utf8_lossy(&body)));
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    let cache = match (asset.audience, asset.content_type) {
        // short, so a new widget reaches the stores within minutes
        (Audience::Storefront, JS) => "public, max-age=300",
        (_, ICON) => "public, max-age=86400",
        _ => "no-cache",
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    match asset.audience {
        Audience::Staff => {
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(STAFF_CSP));
            h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        }
        // widget.js runs inside the store's pages, under the store's CSP (see README)
        Audience::Storefront => {
            if let Some(csp) = store_csp {
                h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).expect("ASCII CSP"));
                h.insert(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("strict-origin-when-cross-origin"),
                );
            }
        }
    }
    resp
}
