//! The reference store: a small HTTP server that serves kefu's store API (docs/store-api.yaml)
//! over the demo data in `knowledge/`, the starting point an integrator copies, and what
//! kefu's tests talk to as a real process.
//!
//! ```text
//! cargo run --example store -- [LISTEN] [KNOWLEDGE]      (default 127.0.0.1:9000, knowledge)
//! STORE_API_KEY=…   require `Authorization: Bearer …` on the API
//! ```
//! The API is under `/api/v1`. Returns are kept in memory (idempotent by the
//! `Idempotency-Key` header; one per order). For tests it can be told to misbehave:
//! `POST /admin/fault` with `{"mode": "ok" | "down" | "error" | "slow", "delay_ms": N}`
//! (`down` answers 503, `error` 500, `slow` waits `delay_ms` before answering);
//! `GET /admin/calls` counts the API calls served.
//!
//! It also **sends** kefu signed events (`POST {kefu}/api/store/events`, the shared scheme of
//! `kefu::webhooks::signature`), to the URL and secret in `STORE_EVENTS_URL` /
//! `STORE_EVENTS_SECRET`, or set later with `POST /admin/kefu {"url": …, "secret": …}`. The
//! back office's changes that do so:
//! - `POST /admin/orders/{order_no}` `{"status": "shipped", "courier": "SF", "tracking_no": …,
//!   "tracking": {"zh": …, "en": …}}` (every field optional): the order changes here, then
//!   `order.updated` goes to kefu;
//! - `POST /admin/stock` `{"sku": …, "color": …, "size": …, "stock": N, "notify": true}`: the
//!   variant's stock changes (and the product's time of change, for `GET /catalog/changes`),
//!   then `stock.changed` with the product's levels goes to kefu unless `notify` is false.
//!
//! Each answers `{"event_id": …, "kefu_status": 204}` (`kefu_status` null: not sent).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kefu::knowledge::demo::{OrderStatus, TrackingEvent};
use kefu::knowledge::{KnowledgeBase, Order, Product};
use kefu::orders::contract::{
    CatalogChanges, OrderEntry, Problem, Return, ReturnAnswer, ReturnCreate, Returns, ShopperOrders,
    StockLevel, IDEMPOTENCY_HEADER,
};
use kefu::orders::events::{Change, OrderUpdate, StoreEvent};
use kefu::webhooks::client::{Outgoing, Poster, Sent};
use serde::Deserialize;
use serde_json::json;

/// How the store misbehaves, for tests.
#[derive(Debug, Clone, Default, Deserialize)]
struct Fault {
    mode: String,
    #[serde(default)]
    delay_ms: u64,
}

struct Shop {
    orders: Mutex<Vec<Order>>,
    /// The catalog, with each product's time of last change (for `GET /catalog/changes`).
    products: Mutex<Vec<(Product, DateTime<Utc>)>>,
    api_key: Option<String>,
    fault: Mutex<Fault>,
    calls: AtomicU64,
    returns: Mutex<Ledger>,
    /// Where kefu takes events, and the shared secret.
    kefu: Mutex<Option<Kefu>>,
    poster: Poster,
    sent: AtomicU64,
}

#[derive(Debug, Clone, Deserialize)]
struct Kefu {
    url: String,
    secret: String,
}

/// The returns opened, per order, and which idempotency key opened which.
#[derive(Default)]
struct Ledger {
    by_order: HashMap<String, Vec<Return>>,
    by_key: HashMap<String, Return>,
    next: u64,
}

type Shared = Arc<Shop>;

fn problem(status: StatusCode, error: &str) -> Response {
    (status, Json(Problem { error: error.into(), message: None })).into_response()
}

/// Authentication and the injected faults, before every API call.
async fn gate(State(shop): State<Shared>, request: Request, next: Next) -> Response {
    shop.calls.fetch_add(1, Ordering::Relaxed);
    if let Some(key) = &shop.api_key {
        let sent = request.headers().get("authorization").and_then(|v| v.to_str().ok());
        if sent != Some(format!("Bearer {key}").as_str()) {
            return problem(StatusCode::UNAUTHORIZED, "unauthorized");
        }
    }
    let fault = shop.fault.lock().unwrap().clone();
    match fault.mode.as_str() {
        "down" => return problem(StatusCode::SERVICE_UNAVAILABLE, "down"),
        "error" => return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        "slow" => tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await,
        _ => {}
    }
    next.run(request).await
}

fn returns_of(shop: &Shop, order_no: &str) -> Vec<Return> {
    shop.returns.lock().unwrap().by_order.get(order_no).cloned().unwrap_or_default()
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn shopper_orders(
    State(shop): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<Limit>,
) -> Response {
    let orders = shop.orders.lock().unwrap().clone();
    let mut mine: Vec<&Order> = orders.iter().filter(|o| o.shopper_id == id).collect();
    mine.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let orders = mine
        .into_iter()
        .take(q.limit.unwrap_or(20).min(100))
        .map(|o| OrderEntry { order: o.clone(), returns: returns_of(&shop, &o.order_no) })
        .collect();
    Json(ShopperOrders { orders }).into_response()
}

async fn one_order(State(shop): State<Shared>, Path(no): Path<String>) -> Response {
    match shop.orders.lock().unwrap().iter().find(|o| o.order_no == no) {
        Some(o) => Json(o.clone()).into_response(),
        None => problem(StatusCode::NOT_FOUND, "no_such_order"),
    }
}

async fn order_returns(State(shop): State<Shared>, Path(no): Path<String>) -> Response {
    if !exists(&shop, &no) {
        return problem(StatusCode::NOT_FOUND, "no_such_order");
    }
    Json(Returns { returns: returns_of(&shop, &no) }).into_response()
}

/// Idempotent: a key seen before gets the return it opened (200); an order that already has a
/// return gets that one with 409; otherwise a new return (201).
async fn create_return(
    State(shop): State<Shared>,
    Path(no): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ReturnCreate>,
) -> Response {
    let Some(key) = headers.get(IDEMPOTENCY_HEADER).and_then(|v| v.to_str().ok()).filter(|k| !k.is_empty())
    else {
        return problem(StatusCode::BAD_REQUEST, "idempotency_key_required");
    };
    if !exists(&shop, &no) {
        return problem(StatusCode::NOT_FOUND, "no_such_order");
    }
    let mut ledger = shop.returns.lock().unwrap();
    let answer =
        |s: StatusCode, r: &Return| (s, Json(ReturnAnswer { return_request: r.clone() })).into_response();
    if let Some(r) = ledger.by_key.get(key) {
        return answer(StatusCode::OK, r);
    }
    if let Some(r) = ledger.by_order.get(&no).and_then(|r| r.first()) {
        return answer(StatusCode::CONFLICT, r);
    }
    ledger.next += 1;
    let created = Return {
        id: format!("RS{:06}", ledger.next),
        order_no: no.clone(),
        conversation_id: body.conversation_id,
        reason: body.reason,
        status: "requested".into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    ledger.by_order.entry(no).or_default().push(created.clone());
    ledger.by_key.insert(key.to_string(), created.clone());
    answer(StatusCode::CREATED, &created)
}

#[derive(Deserialize)]
struct Since {
    since: Option<String>,
}

/// The products changed since `since` (all without it; a product changed in the same instant
/// as `since` is sent again, which is harmless), with their stock.
async fn catalog_changes(State(shop): State<Shared>, Query(q): Query<Since>) -> Response {
    let since = match q.since.as_deref().map(DateTime::parse_from_rfc3339) {
        None => None,
        Some(Ok(t)) => Some(t.with_timezone(&Utc)),
        Some(Err(_)) => return problem(StatusCode::BAD_REQUEST, "bad_since"),
    };
    let as_of = Utc::now();
    let products: Vec<Product> = shop
        .products
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, changed)| since.is_none_or(|s| *changed >= s))
        .map(|(p, _)| p.clone())
        .collect();
    let stock = products.iter().flat_map(levels).collect();
    Json(CatalogChanges {
        as_of: as_of.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        products,
        stock,
    })
    .into_response()
}

fn levels(p: &Product) -> Vec<StockLevel> {
    p.variants
        .iter()
        .map(|v| StockLevel {
            sku: p.sku.clone(),
            color: v.color.clone(),
            size: v.size.clone(),
            stock: v.stock,
        })
        .collect()
}

fn exists(shop: &Shop, no: &str) -> bool {
    shop.orders.lock().unwrap().iter().any(|o| o.order_no == no)
}

/// The store's local time (the demo data's +08:00).
fn local_now() -> String {
    let china = FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    Utc::now().with_timezone(&china).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Signs and posts one event to kefu: kefu's status, or `None` when kefu is not configured or
/// did not answer. (A production store would keep unacknowledged events and retry them with
/// the same id; kefu answers 409 to one it already took.)
async fn notify(shop: &Shop, change: Change) -> serde_json::Value {
    let n = shop.sent.fetch_add(1, Ordering::Relaxed) + 1;
    let event = StoreEvent { id: format!("evt_store_{}_{n}", Utc::now().timestamp_millis()), change };
    let Some(kefu) = shop.kefu.lock().unwrap().clone() else {
        return json!({"event_id": event.id, "kefu_status": null, "error": "kefu not configured"});
    };
    let body = serde_json::to_string(&event).expect("events serialise");
    let kind = serde_json::to_value(&event).ok().and_then(|v| v["type"].as_str().map(str::to_string));
    let uri = match kefu.url.parse() {
        Ok(u) => u,
        Err(e) => return json!({"event_id": event.id, "kefu_status": null, "error": format!("bad url: {e}")}),
    };
    let out = Outgoing {
        uri: &uri,
        secret: kefu.secret.as_bytes(),
        event_id: &event.id,
        kind: kind.as_deref().unwrap_or(""),
        body: &body,
    };
    match shop.poster.post(out, Utc::now().timestamp()).await {
        Sent::Acknowledged(s) | Sent::Refused(s) => json!({"event_id": event.id, "kefu_status": s}),
        Sent::Failed(e) => json!({"event_id": event.id, "kefu_status": null, "error": e}),
    }
}

async fn set_kefu(State(shop): State<Shared>, Json(k): Json<Kefu>) -> StatusCode {
    *shop.kefu.lock().unwrap() = Some(k);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct BackOfficeOrder {
    status: Option<OrderStatus>,
    courier: Option<String>,
    tracking_no: Option<String>,
    tracking: Option<Text>,
}

#[derive(Deserialize)]
struct Text {
    zh: String,
    en: String,
}

/// The back office changes an order (ships it, marks it delivered, adds a tracking event),
/// then tells kefu.
async fn update_order(
    State(shop): State<Shared>,
    Path(no): Path<String>,
    Json(b): Json<BackOfficeOrder>,
) -> Response {
    let now = local_now();
    let update = OrderUpdate {
        order_no: no.clone(),
        status: b.status,
        courier: b.courier,
        tracking_no: b.tracking_no,
        tracking: b.tracking.map(|t| TrackingEvent { time: now.clone(), zh: t.zh, en: t.en }),
        at: Some(now.clone()),
    };
    {
        let mut orders = shop.orders.lock().unwrap();
        let Some(order) = orders.iter_mut().find(|o| o.order_no == no) else {
            return problem(StatusCode::NOT_FOUND, "no_such_order");
        };
        // the same rules kefu's embedded source applies to its own rows
        kefu::orders::events::apply(order, &update, &now);
    }
    Json(notify(&shop, Change::OrderUpdated(update)).await).into_response()
}

#[derive(Deserialize)]
struct BackOfficeStock {
    sku: String,
    color: String,
    size: String,
    stock: u32,
    #[serde(default = "yes")]
    notify: bool,
}

fn yes() -> bool {
    true
}

/// The back office sets a variant's stock, then tells kefu (unless `notify` is false: then
/// kefu hears of it at its next periodic sync).
async fn set_stock(State(shop): State<Shared>, Json(b): Json<BackOfficeStock>) -> Response {
    let product = {
        let mut products = shop.products.lock().unwrap();
        let Some((p, changed)) = products.iter_mut().find(|(p, _)| p.sku == b.sku) else {
            return problem(StatusCode::NOT_FOUND, "no_such_product");
        };
        let Some(v) = p.variants.iter_mut().find(|v| v.color == b.color && v.size == b.size) else {
            return problem(StatusCode::NOT_FOUND, "no_such_variant");
        };
        v.stock = b.stock;
        *changed = Utc::now();
        p.clone()
    };
    if !b.notify {
        return Json(json!({"event_id": null, "kefu_status": null})).into_response();
    }
    let change = Change::StockChanged { sku: product.sku.clone(), stock: levels(&product) };
    Json(notify(&shop, change).await).into_response()
}

async fn set_fault(State(shop): State<Shared>, Json(f): Json<Fault>) -> StatusCode {
    *shop.fault.lock().unwrap() = f;
    StatusCode::NO_CONTENT
}

async fn calls(State(shop): State<Shared>) -> String {
    shop.calls.load(Ordering::Relaxed).to_string()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9000".into());
    let knowledge = PathBuf::from(args.next().unwrap_or_else(|| "knowledge".into()));
    let kb = KnowledgeBase::load(&knowledge).map_err(|d| anyhow::anyhow!("{d}"))?;
    let kefu = match (std::env::var("STORE_EVENTS_URL"), std::env::var("STORE_EVENTS_SECRET")) {
        (Ok(url), Ok(secret)) if !url.is_empty() => Some(Kefu { url, secret }),
        _ => None,
    };
    let started = Utc::now();
    let shop = Arc::new(Shop {
        orders: Mutex::new(kb.orders),
        products: Mutex::new(kb.products.into_iter().map(|p| (p, started)).collect()),
        api_key: std::env::var("STORE_API_KEY").ok().filter(|k| !k.is_empty()),
        fault: Mutex::new(Fault::default()),
        calls: AtomicU64::new(0),
        returns: Mutex::new(Ledger::default()),
        kefu: Mutex::new(kefu),
        poster: Poster::new(Duration::from_secs(5)),
        sent: AtomicU64::new(0),
    });
    let api = Router::new()
        .route("/shoppers/{id}/orders", get(shopper_orders))
        .route("/orders/{no}", get(one_order))
        .route("/orders/{no}/returns", get(order_returns).post(create_return))
        .route("/catalog/changes", get(catalog_changes))
        .route_layer(middleware::from_fn_with_state(shop.clone(), gate));
    let app = Router::new()
        .nest("/api/v1", api)
        .route("/admin/fault", post(set_fault))
        .route("/admin/calls", get(calls))
        .route("/admin/kefu", post(set_kefu))
        .route("/admin/orders/{no}", post(update_order))
        .route("/admin/stock", post(set_stock))
        .with_state(shop);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("reference store listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
