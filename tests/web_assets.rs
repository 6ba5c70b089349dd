//! The storefront's static files: the demo page at `/` embeds the widget with one script tag,
//! `/widget.js` is served as JavaScript, and the widget never puts markup from data on the page.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use kefu::config::Config;
use kefu::web::AppState;
use tower::ServiceExt;

const SCRIPT_TAG: &str = r#"<script src="/widget.js" data-lang="auto" async></script>"#;

async fn app(dir: &Path) -> Arc<AppState> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config {
        database: dir.join("kefu.db"),
        knowledge: root.join("knowledge"),
        model: root.join("models/intent"),
        ..Config::default()
    };
    let clock = config.clock();
    kefu::web::build(config, clock).await.unwrap()
}

/// GET `uri`: status, content type, cache-control and body.
async fn get(app: &Arc<AppState>, uri: &str) -> (StatusCode, String, String, String) {
    let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let resp = kefu::web::routes(app.clone()).oneshot(req).await.unwrap();
    let header = |name| resp.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let (ct, cc) = (header(header::CONTENT_TYPE), header(header::CACHE_CONTROL));
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap();
    (status, ct, cc, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_demo_store_and_the_widget_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;

    let (status, ct, _, body) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(body.contains(SCRIPT_TAG), "the page embeds the widget with one script tag");
    assert!(body.contains("栖木生活") && body.contains("Qimu Living"));

    let (status, ct, cc, body) = get(&app, "/widget.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("application/javascript"), "{ct}");
    assert!(cc.contains("max-age="), "short cache: {cc}");
    assert_eq!(body, kefu::web::assets::WIDGET_JS);
    assert!(body.contains("/ws/chat"));
}

#[test]
fn the_widget_never_renders_markup() {
    // text from the server goes on the page with textContent / text nodes only
    let js = kefu::web::assets::WIDGET_JS;
    for banned in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
        assert!(!js.contains(banned), "widget.js uses {banned}");
    }
    assert!(js.contains("textContent"));
    assert!(js.contains("attachShadow"), "drawn in a Shadow DOM");
}

#[test]
fn the_widget_is_valid_javascript() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/widget.js");
    match std::process::Command::new("node").arg("--check").arg(&file).output() {
        Ok(out) => assert!(out.status.success(), "node --check: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("skipped: node is not on PATH ({e})"),
    }
}
