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

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kefu::knowledge::{KnowledgeBase, Order, Product};
use kefu::orders::contract::{
    CatalogChanges, OrderEntry, Problem, ReturnAnswer, ReturnCreate, Returns, ShopperOrders, StockLevel,
    IDEMPOTENCY_HEADER,
};
use kefu::store::ReturnRequest;
use serde::Deserialize;

/// How the store misbehaves, for tests.
#[derive(Debug, Clone, Default, Deserialize)]
struct Fault {
    mode: String,
    #[serde(default)]
    delay_ms: u64,
}

struct Shop {
    orders: Vec<Order>,
    products: Vec<Product>,
    api_key: Option<String>,
    fault: Mutex<Fault>,
    calls: AtomicU64,
    returns: Mutex<Ledger>,
}

/// The returns opened, per order, and which idempotency key opened which.
#[derive(Default)]
struct Ledger {
    by_order: HashMap<String, Vec<ReturnRequest>>,
    by_key: HashMap<String, ReturnRequest>,
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

fn returns_of(shop: &Shop, order_no: &str) -> Vec<ReturnRequest> {
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
    let mut mine: Vec<&Order> = shop.orders.iter().filter(|o| o.shopper_id == id).collect();
    mine.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let orders = mine
        .into_iter()
        .take(q.limit.unwrap_or(20).min(100))
        .map(|o| OrderEntry { order: o.clone(), returns: returns_of(&shop, &o.order_no) })
        .collect();
    Json(ShopperOrders { orders }).into_response()
}

async fn one_order(State(shop): State<Shared>, Path(no): Path<String>) -> Response {
    match shop.orders.iter().find(|o| o.order_no == no) {
        Some(o) => Json(o.clone()).into_response(),
        None => problem(StatusCode::NOT_FOUND, "no_such_order"),
    }
}

async fn order_returns(State(shop): State<Shared>, Path(no): Path<String>) -> Response {
    if !shop.orders.iter().any(|o| o.order_no == no) {
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
    if !shop.orders.iter().any(|o| o.order_no == no) {
        return problem(StatusCode::NOT_FOUND, "no_such_order");
    }
    let mut ledger = shop.returns.lock().unwrap();
    let answer = |s: StatusCode, r: &ReturnRequest| {
        (s, Json(ReturnAnswer { return_request: r.clone() })).into_response()
    };
    if let Some(r) = ledger.by_key.get(key) {
        return answer(StatusCode::OK, r);
    }
    if let Some(r) = ledger.by_order.get(&no).and_then(|r| r.first()) {
        return answer(StatusCode::CONFLICT, r);
    }
    ledger.next += 1;
    let created = ReturnRequest {
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
    #[allow(dead_code)]
    since: Option<String>,
}

/// The demo catalog never changes: every product, every time.
async fn catalog_changes(State(shop): State<Shared>, Query(_q): Query<Since>) -> Response {
    let stock = shop
        .products
        .iter()
        .flat_map(|p| {
            p.variants.iter().map(|v| StockLevel {
                sku: p.sku.clone(),
                color: v.color.clone(),
                size: v.size.clone(),
                stock: v.stock,
            })
        })
        .collect();
    Json(CatalogChanges {
        as_of: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        products: shop.products.clone(),
        stock,
    })
    .into_response()
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
    let shop = Arc::new(Shop {
        orders: kb.orders,
        products: kb.products,
        api_key: std::env::var("STORE_API_KEY").ok().filter(|k| !k.is_empty()),
        fault: Mutex::new(Fault::default()),
        calls: AtomicU64::new(0),
        returns: Mutex::new(Ledger::default()),
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
        .with_state(shop);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("reference store listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
