//! Helpers shared by the integration tests.

#[allow(dead_code)]
pub mod process;
#[allow(dead_code)]
pub mod server;
#[allow(dead_code)]
pub mod ws;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kefu::identity::Role;
use kefu::web::AppState;
use serde_json::{json, Value};
use tower::ServiceExt;

/// One HTTP request to the app's router (in process), with an optional staff token and JSON
/// body; the status and the JSON answer (`Null` when the body is not JSON).
pub async fn call(
    app: &Arc<AppState>,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = kefu::web::routes(app.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A new staff account of `role` (password `<name>-password-1`), logged in through
/// `POST /api/login`: its token.
#[allow(dead_code)]
pub async fn token(app: &Arc<AppState>, name: &str, role: Role) -> String {
    let password = format!("{name}-password-1");
    kefu::accounts::add(&app.router.store, name, "", role, &password).await.unwrap();
    let (status, body) =
        call(app, "POST", "/api/login", None, Some(json!({"name": name, "password": password}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// A GET with a staff token whose answer is text (e.g. `/metrics`).
#[allow(dead_code)]
pub async fn get_text(app: &Arc<AppState>, uri: &str, token: &str) -> String {
    let req = Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = kefu::web::routes(app.clone()).oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}
