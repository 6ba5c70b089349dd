//! `POST /api/store/events`: changes the store announces (issue 18, item 2), signed with the
//! shared scheme (`webhooks::signature`, the secret `store_events_secret`, the replay window
//! `webhook_tolerance_secs`). A bad or missing signature or a timestamp outside the window is
//! 401, an event id already taken 409 (a store treats it as delivered), a body that is no
//! known event 400; a taken event answers 204. Without a secret configured the endpoint is 404.
//!
//! An order change makes the order source forget what it cached about the order, so the next
//! turn asks the store. (Telling a shopper in an open conversation, and updating the embedded
//! source's rows, are not done yet.)

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use super::AppState;
use crate::orders::events::{Change, StoreEvent};
use crate::webhooks::signature::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new().route("/api/store/events", post(receive))
}

async fn receive(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let Some(secret) = app.config.store_events_secret.as_deref() else {
        return (StatusCode::NOT_FOUND, String::new());
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let tolerance = Duration::from_secs(app.config.webhook_tolerance_secs);
    if let Err(e) = signature::verify(
        secret.as_bytes(),
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        now,
        tolerance,
    ) {
        tracing::warn!("store event refused: {e}");
        return (StatusCode::UNAUTHORIZED, e.to_string());
    }
    let event: StoreEvent = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("not a store event: {e}")),
    };
    let first = app.store_events.lock().unwrap_or_else(|p| p.into_inner()).first_time(&event.id);
    if !first {
        return (StatusCode::CONFLICT, format!("event {} was already taken", event.id));
    }
    match &event.change {
        Change::OrderUpdated { order_no, status } => {
            tracing::info!(order_no, ?status, event = event.id, "store event: order updated");
            app.router.orders.changed(order_no);
        }
        Change::StockChanged { sku } => tracing::info!(sku, event = event.id, "store event: stock changed"),
    }
    (StatusCode::NO_CONTENT, String::new())
}
