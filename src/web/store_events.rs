//! `POST /api/store/events`: changes the store announces (issue 18, item 2), signed with the
//! shared scheme (`webhooks::signature`, the secret `store_events_secret`, the replay window
//! `webhook_tolerance_secs`). A bad or missing signature or a timestamp outside the window is
//! 401, an event id already taken 409 (a store treats it as delivered), a body that is no
//! known event 400; a taken event answers 204. Without a secret configured the endpoint is 404.
//!
//! An order change updates the order source (the embedded source's rows; the http source
//! forgets what it cached, so the next turn asks the store), then the live shopper sessions
//! about that order are told, on this node and, over the bus, on the others (`chat::live`,
//! `chat::live_sync`; each decides what to say from its own dialogue state). When the change
//! cannot be applied (kefu's database failing) the answer is 503 and
//! the event id is forgotten, so the store's retry is taken. A stock or product change goes to
//! catalog sync (`catalog_sync`): what the event carries is applied, and with the http source
//! the store is asked for the rest; the product index is rebuilt and swapped in.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use super::AppState;
use crate::orders::catalog::Changes;
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
    match event.change {
        Change::OrderUpdated(update) => {
            let order_no = update.order_no.clone();
            match app.router.orders.updated(&update).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(order_no, event = event.id, "store event about an unknown order"),
                Err(e) => {
                    tracing::error!(order_no, event = event.id, "store event not applied: {e}");
                    app.store_events.lock().unwrap_or_else(|p| p.into_inner()).forget(&event.id);
                    return (StatusCode::SERVICE_UNAVAILABLE, "could not apply the change; retry".into());
                }
            }
            // this node's sessions at once, the other nodes' over the bus
            let told = crate::chat::live_sync::order_updated(&app.chat.live, &app.cluster, update);
            tracing::info!(order_no, told, event = event.id, "store event: order updated");
        }
        Change::StockChanged { sku, stock } => {
            tracing::info!(sku, levels = stock.len(), event = event.id, "store event: stock changed");
            let changes = Changes { products: Vec::new(), stock };
            app.catalog.changed(changes.clone());
            app.knowledge.announce(crate::knowledge_sync::Changed::Catalog { changes });
        }
        Change::ProductUpdated { sku, product } => {
            if product.as_ref().is_some_and(|p| p.sku != sku) {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("product.updated for {sku} carries another product"),
                );
            }
            tracing::info!(sku, event = event.id, "store event: product updated");
            let changes = Changes { products: product.map(|p| *p).into_iter().collect(), stock: Vec::new() };
            app.catalog.changed(changes.clone());
            app.knowledge.announce(crate::knowledge_sync::Changed::Catalog { changes });
        }
    }
    (StatusCode::NO_CONTENT, String::new())
}
