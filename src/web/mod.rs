//! The HTTP side: the axum router (`/ws/chat`, `/ws/agent`, `/healthz`, `/metrics`, the staff
//! API under `/api`, the storefront widget and demo page) over the service `app::build` made,
//! and listening (`serve`, through `listener`'s limits).

pub mod api;
pub mod assets;
pub mod auth;
pub mod canned;
pub mod console;
pub mod images;
pub mod knowledge;
pub mod listener;
pub mod models;
pub mod privacy;
pub mod store_events;
pub mod trainer_api;
pub mod webhooks_admin;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{State, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::app::AppState;
use crate::chat::protocol::MAX_FRAME_BYTES;

pub fn routes(app: Arc<AppState>) -> axum::Router {
    let mut router = axum::Router::new()
        .route("/ws/chat", get(chat))
        .route("/ws/agent", get(agent))
        .route("/healthz", get(healthz));
    // on the main address only behind an admin's token; on `metrics_listen` open (see `serve`)
    if app.config.metrics_listen.is_none() {
        router = router.route("/metrics", get(staff_metrics));
    }
    router
        .merge(api::routes())
        .merge(canned::routes())
        .merge(console::routes())
        .merge(images::routes())
        .merge(knowledge::routes())
        .merge(trainer_api::routes())
        .merge(models::routes())
        .merge(webhooks_admin::routes())
        .merge(store_events::routes())
        .merge(privacy::routes())
        .merge(assets::routes())
        .layer(axum::middleware::map_response(assets::default_headers))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(listener::BODY_TIMEOUT))
        .with_state(app)
}

/// What `metrics_listen` serves: `/metrics` and nothing else, without a token.
fn metrics_routes(app: Arc<AppState>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", get(|State(app): State<Arc<AppState>>| async move { metrics_text(&app).await }))
        .with_state(app)
}

async fn staff_metrics(
    State(app): State<Arc<AppState>>,
    staff: auth::Staff,
) -> Result<impl IntoResponse, auth::ApiError> {
    staff.require(&[crate::identity::Role::Admin])?;
    Ok(metrics_text(&app).await)
}

/// Readiness: 200 "ok" while this node can take work (its database answers and, on several
/// nodes, a desk leader is known); 503 with the reason otherwise, so a load balancer sends
/// shoppers elsewhere until the node recovers by itself.
async fn healthz(State(app): State<Arc<AppState>>) -> axum::response::Response {
    use crate::store::prelude::*;
    let unavailable = |why: &str| {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")).into_response()
    };
    let db = tokio::time::timeout(std::time::Duration::from_secs(2), app.store.setting("kefu_healthz")).await;
    if !matches!(db, Ok(Ok(_))) {
        return unavailable("the database does not answer");
    }
    if !app.cluster.leader_known() {
        return unavailable("no desk leader is known");
    }
    "ok".into_response()
}

async fn metrics_text(app: &AppState) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(app.store.stats(), app.desk.snapshot().await.ok().as_ref()),
    )
}

async fn chat(
    ws: WebSocketUpgrade,
    State(app): State<Arc<AppState>>,
    client: listener::ClientAddr,
) -> impl IntoResponse {
    // small I/O buffers (they grow for a big frame): an idle connection costs a few KB, not 256
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| crate::chat::session::run(socket, app.chat.clone(), client.0))
}

async fn agent(ws: WebSocketUpgrade, State(app): State<Arc<AppState>>) -> impl IntoResponse {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| crate::agents::session::run(socket, app.agents.clone()))
}

/// Binds the listener (port 0 picks a free one), and `metrics_listen` when set, and serves
/// until the task is dropped, within the connection limits and timeouts of `listener::Door`.
pub async fn serve(
    app: Arc<AppState>,
    addr: SocketAddr,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let door = Arc::new(listener::Door::new(&app.config, &app.metrics));
    let metrics = match app.config.metrics_listen {
        Some(m) => {
            let l = TcpListener::bind(m).await.with_context(|| format!("cannot listen on {m} (metrics)"))?;
            tracing::info!(addr = %l.local_addr()?, "metrics listening");
            Some(l)
        }
        None => None,
    };
    let handle = tokio::spawn(async move {
        let main = door.clone().run(listener, routes(app.clone()));
        match metrics {
            Some(l) => drop(tokio::join!(main, door.run(l, metrics_routes(app)))),
            None => main.await,
        }
    });
    Ok((bound, handle))
}
