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
fn no_page_script_renders_markup() {
    // text from the server goes on the page with textContent / text nodes only
    use kefu::web::assets::{AGENT_JS, CONSOLE_JS, TRAINER_JS, WIDGET_JS};
    for (name, js) in [
        ("widget.js", WIDGET_JS),
        ("agent.js", AGENT_JS),
        ("trainer.js", TRAINER_JS),
        ("console.js", CONSOLE_JS),
    ] {
        for banned in
            ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]
        {
            assert!(!js.contains(banned), "{name} uses {banned}");
        }
    }
    assert!(WIDGET_JS.contains("textContent"));
    assert!(WIDGET_JS.contains("attachShadow"), "drawn in a Shadow DOM");
}

#[test]
fn every_page_script_is_valid_javascript() {
    for file in ["widget.js", "agent.js", "trainer.js", "console.js"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("web").join(file);
        match std::process::Command::new("node").arg("--check").arg(&path).output() {
            Ok(out) => {
                assert!(out.status.success(), "node --check {file}: {}", String::from_utf8_lossy(&out.stderr))
            }
            Err(e) => return eprintln!("skipped: node is not on PATH ({e})"),
        }
    }
}

#[tokio::test]
async fn the_consoles_are_staff_pages() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    for page in ["/agent", "/trainer", "/agent.js", "/trainer.js", "/console.js", "/console.css"] {
        let req = Request::builder().uri(page).body(Body::empty()).unwrap();
        let resp = kefu::web::routes(app.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{page}");
        let csp =
            resp.headers().get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap().to_string());
        let csp = csp.unwrap_or_else(|| panic!("{page} has no Content-Security-Policy"));
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
    }
}
