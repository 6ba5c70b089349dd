//! The HTTP side: the axum router (`/ws/chat`, `/ws/agent`, `/healthz`, `/metrics`, the staff API under `/api`,
//! the storefront widget and demo page),
//! the shared application state, and
//! start-up (load the knowledge base, indexes, model, open and seed the database, listen).

pub mod api;
pub mod assets;
pub mod auth;
pub mod canned;
pub mod console;
pub mod knowledge;
pub mod listener;
pub mod metrics;
pub mod models;
pub mod trainer_api;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{State, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::agents::{Desk, DeskConfig};
use crate::config::Config;
use crate::dialogue::{Clock, Engines, Router};
use crate::knowledge::KnowledgeBase;
use crate::search::Thresholds;
use crate::store::Store;

/// Largest WebSocket frame accepted; bigger ones close the connection (code 1009).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// State shared by every connection.
pub struct AppState {
    /// Settings in force.
    pub config: Config,
    /// The dialogue router (engines + store + clock).
    pub router: Router,
    /// The service desk: the human agents' queue and who owns which conversation.
    pub desk: Desk,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// The secret staff tokens are signed with (generated once, kept in the database).
    pub staff_secret: String,
    /// Staff logins: a bound on the password checks at once, the lockout after repeated wrong
    /// passwords.
    pub logins: crate::accounts::Logins,
    /// The staff accounts every staff token is checked against (cached, a few seconds).
    pub roster: crate::accounts::Roster,
    /// The live knowledge base trainers edit.
    pub curator: crate::trainer::Curator,
    /// Intent model versions: the one in force, retraining jobs, activation and rollback.
    pub models: crate::models::Models,
    /// New conversations and messages per minute, per client address and per shopper.
    pub rates: crate::chat::rates::Rates,
}

/// Everything a running service needs, built from the config.
pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Arc<AppState>> {
    let kb = KnowledgeBase::load(&config.knowledge).map_err(|d| anyhow::anyhow!("{d}"))?;
    let thresholds = Thresholds::load(&config.knowledge)?;

    let registry = crate::models::Registry::new(&config.model_store_dir(), &config.model);
    let models = crate::models::Models::open(registry, config.knowledge.join("eval/intents"))?;
    let intents = models.serving().1;
    let store = Store::open(&config.database)?;
    let seeded = store.seed(kb.shoppers.clone(), kb.orders.clone()).await?;
    // the knowledge base as trainers left it (the files win when they changed since)
    let faqs = crate::trainer::kb::sync_from_files(&store, &kb, &config.knowledge).await?;
    store.seed_canned(kb.canned.clone()).await?;
    tracing::info!(faqs = kb.faqs.len(), products = kb.products.len(), seeded, "knowledge loaded");
    let engines = Arc::new(Engines::build(&faqs, thresholds, kb.products, intents)?);
    // from the config when given (validated there), else generated once and kept in the database
    let staff_secret = match &config.staff_token_secret {
        Some(s) => s.clone(),
        None => crate::accounts::staff_secret(&store).await?,
    };
    let desk = Desk::start(
        store.clone(),
        DeskConfig {
            grace: std::time::Duration::from_secs(config.agent_grace_secs),
            default_capacity: config.agent_capacity,
            max_capacity: crate::config::MAX_AGENT_CAPACITY,
            max_message_chars: config.max_message_chars,
            hours: config.hours()?,
            clock,
        },
    )
    .await?;
    let router = Router::new(engines, store.clone(), clock);
    let curator = crate::trainer::Curator::new(store, router.clone());
    let app = Arc::new(AppState {
        logins: crate::accounts::Logins::new(config.max_concurrent_logins),
        roster: crate::accounts::Roster::new(router.store.clone()),
        rates: crate::chat::rates::Rates::new(&config),
        config,
        router,
        desk,
        metrics: metrics::Metrics::new(),
        staff_secret,
        curator,
        models,
    });
    Ok(app)
}

pub fn routes(app: Arc<AppState>) -> axum::Router {
    let mut router = axum::Router::new()
        .route("/ws/chat", get(chat))
        .route("/ws/agent", get(agent))
        .route("/healthz", get(|| async { "ok" }));
    // on the main address only behind an admin's token; on `metrics_listen` open (see `serve`)
    if app.config.metrics_listen.is_none() {
        router = router.route("/metrics", get(staff_metrics));
    }
    router
        .merge(api::routes())
        .merge(canned::routes())
        .merge(console::routes())
        .merge(knowledge::routes())
        .merge(trainer_api::routes())
        .merge(models::routes())
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

async fn metrics_text(app: &AppState) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(app.router.store.stats(), app.desk.snapshot().await.ok().as_ref()),
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
        .on_upgrade(move |socket| crate::chat::session::run(socket, app, client.0))
}

async fn agent(ws: WebSocketUpgrade, State(app): State<Arc<AppState>>) -> impl IntoResponse {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| crate::agents::session::run(socket, app))
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
