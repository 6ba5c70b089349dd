//! The storefront's static files: the demo page at `/` embeds the widget with one script tag and
//! links every product to its page (`/product/{sku}`, which tells the widget its sku),
//! `/widget.js` is served as JavaScript, `/favicon.ico` as an icon, and no page puts markup from
//! data on the page.

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use common::http::{oneshot, request, Answer};
use common::server::app;
use kefu::app::AppState;

const SCRIPT_TAG: &str = r#"<script src="/widget.js" data-lang="auto" async></script>"#;

async fn get_answer(app: &Arc<AppState>, uri: &str) -> Answer {
    oneshot(app, request("GET", uri, None).body(Body::empty()).unwrap()).await
}

/// GET `uri`: status, content type, cache-control and body.
async fn get(app: &Arc<AppState>, uri: &str) -> (StatusCode, String, String, String) {
    let a = get_answer(app, uri).await;
    let header = |name| a.header(name).unwrap_or_default().to_string();
    let (ct, cc) = (header("content-type"), header("cache-control"));
    (a.status_code(), ct, cc, a.body)
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

#[tokio::test]
async fn every_demo_product_has_a_page_that_tells_the_widget_its_sku() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let (_, _, _, index) = get(&app, "/").await;
    for sku in ["QM-WO-001", "QM-WO-002", "QM-WO-003", "QM-WO-004", "QM-ME-001", "QM-ME-002"] {
        assert!(index.contains(&format!(r#"href="/product/{sku}""#)), "the home page links to {sku}");
        let (status, ct, cc, body) = get(&app, &format!("/product/{sku}")).await;
        assert_eq!(status, StatusCode::OK, "{sku}");
        assert!(ct.starts_with("text/html"), "{ct}");
        assert_eq!(cc, "no-cache");
        assert_eq!(body, kefu::web::assets::PRODUCT_HTML, "one page for every product");
    }
    let page = kefu::web::assets::PRODUCT_HTML;
    assert!(
        page.contains(r#"tag.src = "/widget.js""#) && page.contains(r#"tag.setAttribute("data-product""#)
    );
}

/// The demo product table in `web/product.html` (a JSON block) and the prices on the home page
/// agree with the catalog the bot answers from.
#[test]
fn the_demo_store_shows_the_catalog_as_it_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kb = kefu::knowledge::KnowledgeBase::load(&root.join("knowledge")).unwrap();
    let page = kefu::web::assets::PRODUCT_HTML;
    let start = page.find(r#"<script type="application/json" id="catalog">"#).expect("the catalog block");
    let block = &page[start..];
    let block = &block[block.find('>').unwrap() + 1..block.find("</script>").unwrap()];
    let shown: Vec<serde_json::Value> = serde_json::from_str(block).expect("the catalog block is JSON");
    assert_eq!(shown.len(), 6, "six demo products");
    for p in &shown {
        let sku = p["sku"].as_str().unwrap();
        let real =
            kb.products.iter().find(|r| r.sku == sku).unwrap_or_else(|| panic!("{sku} is in the catalog"));
        for lang in ["zh", "en"] {
            let pick = |b: &kefu::knowledge::catalog::Bilingual| {
                if lang == "zh" {
                    b.zh.clone()
                } else {
                    b.en.clone()
                }
            };
            assert_eq!(p["name"][lang], pick(&real.name), "{sku} name");
            assert_eq!(p["description"][lang], pick(&real.description), "{sku} description");
            assert_eq!(p["material"][lang], pick(&real.material), "{sku} material");
            let colors: Vec<String> =
                real.colors.iter().map(|c| if lang == "zh" { c.zh.clone() } else { c.en.clone() }).collect();
            let shown_colors: Vec<String> = p["colors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[lang].as_str().unwrap().to_string())
                .collect();
            assert_eq!(shown_colors, colors, "{sku} colours");
        }
        assert_eq!(p["price"].as_f64().unwrap(), real.price, "{sku} price");
        assert_eq!(p["sizes"], serde_json::json!(real.sizes), "{sku} sizes");
        // the home page's tile: its link, name and price
        let index = kefu::web::assets::INDEX_HTML;
        let tile = index.find(&format!(r#"href="/product/{sku}""#)).unwrap_or_else(|| panic!("{sku} tile"));
        let tile = &index[tile..tile + index[tile..].find("</article>").unwrap()];
        assert!(tile.contains(&real.name.zh) && tile.contains(&real.name.en), "{sku} tile: {tile}");
        assert!(tile.contains(&format!("<p>¥{}</p>", real.price)), "{sku} tile price: {tile}");
    }
}

#[test]
fn no_page_script_renders_markup() {
    // text from the server goes on the page with textContent / text nodes only
    use kefu::web::assets::{AGENT_JS, CONSOLE_JS, INDEX_HTML, PRODUCT_HTML, TRAINER_JS, WIDGET_JS};
    for (name, js) in [
        ("widget.js", WIDGET_JS),
        ("agent.js", AGENT_JS),
        ("trainer.js", TRAINER_JS),
        ("console.js", CONSOLE_JS),
        ("index.html", INDEX_HTML),
        ("product.html", PRODUCT_HTML),
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
    // the demo store's inline scripts too
    let dir = tempfile::tempdir().unwrap();
    for (page, html) in
        [("index.html", kefu::web::assets::INDEX_HTML), ("product.html", kefu::web::assets::PRODUCT_HTML)]
    {
        for (n, script) in html.split("<script>").skip(1).enumerate() {
            let path = dir.path().join(format!("{page}-{n}.js"));
            std::fs::write(&path, &script[..script.find("</script>").unwrap()]).unwrap();
            let out = std::process::Command::new("node").arg("--check").arg(&path).output().unwrap();
            assert!(out.status.success(), "{page} script {n}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

#[tokio::test]
async fn the_consoles_are_staff_pages() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    for page in ["/agent", "/trainer", "/agent.js", "/trainer.js", "/console.js", "/console.css"] {
        let a = get_answer(&app, page).await;
        assert_eq!(a.status_code(), StatusCode::OK, "{page}");
        let csp = a.header("content-security-policy");
        let csp = csp.unwrap_or_else(|| panic!("{page} has no Content-Security-Policy"));
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
    }
}

/// Every page a browser opens also asks for `/favicon.ico`: it is served (an ICO holding one
/// PNG), so no page logs a 404.
#[tokio::test]
async fn the_favicon_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let a = get_answer(&app, "/favicon.ico").await;
    assert_eq!(a.status_code(), StatusCode::OK);
    assert_eq!(a.header("content-type"), Some("image/x-icon"));
    assert!(a.header("cache-control").is_some_and(|c| c.contains("max-age=")), "{:?}", a.headers);
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    let icon = kefu::web::assets::FAVICON;
    assert_eq!(&icon[..4], &[0, 0, 1, 0], "an ICO header");
    assert_eq!(&icon[22..26], b"\x89PNG", "holding a PNG");
    assert_eq!(a.body, String::from_utf8_lossy(icon), "the embedded icon");
}
