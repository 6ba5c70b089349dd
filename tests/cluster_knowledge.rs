//! Knowledge on several nodes (issue 19, item 2): two real services (`kefu::app::build`) on one
//! throwaway PostgreSQL database, each with its own model folder and cluster bus. What a trainer
//! changes on one node — an FAQ entry, the model version in force, a rollback — is in force on
//! the other, and a model version trained on one is listed, compared and activated on the other.
//! Skipped cleanly without `KEFU_TEST_POSTGRES` (`scripts/postgres`), failed without it when
//! `KEFU_TEST_POSTGRES_REQUIRED=1`.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use kefu::app::AppState;
use kefu::identity::Role;
use serde_json::{json, Value};

use common::postgres::Postgres;
use common::{call, token};

/// A node: the service on the test's database, its model folder under `dir`.
async fn node(pg: &Postgres, dir: &Path) -> Arc<AppState> {
    let mut config = common::server::config(Path::new(&pg.url));
    config.model_store = dir.join("models");
    common::server::build(config).await
}

/// Waits until `done` holds (the other node follows an announcement a moment later); panics
/// with `what` if it never does. No timing is asserted: the limit only ends a broken test.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_faq_edit_on_one_node_is_answered_on_the_other() {
    let Some(pg) = Postgres::new("knowledge_faq").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = node(&pg, &dir.path().join("a")).await;
    let b = node(&pg, &dir.path().join("b")).await;
    let trainer = token(&b, "wang", Role::Trainer).await;

    // an entry as B serves it, edited through B's trainer API
    let id = a.router.engines().faq.faqs()[0].id.clone();
    let (status, current) = call(&b, "GET", &format!("/api/kb/faq/{id}"), Some(&trainer), None).await;
    assert_eq!(status, StatusCode::OK, "{current}");
    let mut doc = current["entry"].clone();
    let marker = "Ask for the zebra-striped gift wrap at checkout.";
    doc["en"]["answer"] = json!(format!("{} {marker}", doc["en"]["answer"].as_str().unwrap()));
    doc["en"]["questions"].as_array_mut().unwrap().push(json!("do you have zebra striped gift wrap"));
    let change = json!({ "version": current["version"], "entry": doc });
    let (status, body) = call(&b, "PUT", &format!("/api/kb/faq/{id}"), Some(&trainer), Some(change)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        b.router.engines().faq.faq(&id).unwrap().en.answer.contains(marker),
        "in force where it was made"
    );

    // A's router answers with it, found by the new phrasing
    eventually("A's FAQ index has B's edit", || {
        a.router.engines().faq.faq(&id).is_some_and(|f| f.en.answer.contains(marker))
    })
    .await;
    let found = a.router.engines().faq.ask("do you have zebra striped gift wrap", 3).unwrap();
    assert_eq!(found.hits[0].id, id, "{:?}", found.hits);

    // a new entry, then its deletion, likewise
    let mut new = doc.clone();
    new["id"] = json!("zebra-gift-wrap");
    new["en"]["questions"] =
        json!(["zebra gift wrap please", "can you wrap it in zebra paper", "zebra wrapping"]);
    new["zh"]["questions"] = json!(["斑马礼品包装", "可以用斑马纹包装纸吗", "斑马纹包装"]);
    let (status, created) = call(&b, "POST", "/api/kb/faq", Some(&trainer), Some(new)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    eventually("A serves B's new entry", || a.router.engines().faq.faq("zebra-gift-wrap").is_some()).await;
    let uri = format!("/api/kb/faq/zebra-gift-wrap?version={}", created["version"]);
    let (status, body) = call(&b, "DELETE", &uri, Some(&trainer), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    eventually("A drops B's deleted entry", || a.router.engines().faq.faq("zebra-gift-wrap").is_none()).await;

    drop((a, b));
    pg.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_version_trained_and_activated_on_one_node_is_in_force_on_the_other() {
    let Some(pg) = Postgres::new("knowledge_models").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = node(&pg, &dir.path().join("a")).await;
    let b = node(&pg, &dir.path().join("b")).await;
    let on_a = token(&a, "li", Role::Trainer).await;
    let on_b = token(&b, "wang", Role::Trainer).await;

    // a version saved on B, as its training job would
    let registry = b.models.registry.clone();
    let version = tokio::task::spawn_blocking(move || {
        let (model, mut meta, report) = common::models::tiny_version();
        registry.save(&model, &mut meta, &report).unwrap()
    })
    .await
    .unwrap();
    assert!(!dir.path().join("a/models").join(&version).exists(), "not on A's disk yet");

    // A lists it (from the database) and compares it with its model in force (fetched)
    let (status, page) = call(&a, "GET", "/api/models", Some(&on_a), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids: Vec<&str> =
        page["versions"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [version.as_str(), "shipped"], "{page}");
    assert_eq!(page["versions"][0]["who"], "test");
    assert!(page["versions"][0]["metrics"]["macro_f1"].is_number(), "{page}");
    let (status, c) = call(&a, "GET", &format!("/api/models/{version}/comparison"), Some(&on_a), None).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert!(dir.path().join("a/models").join(&version).join("model.safetensors").is_file(), "fetched");

    // activated on B (worse than shipped: the override): A follows
    let uri = format!("/api/models/{version}/activate");
    let (status, body) = call(&b, "POST", &uri, Some(&on_b), Some(json!({"override": true}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(b.models.serving().0, version);
    let in_force = |app: &AppState, v: &str| {
        let (serving, model) = app.models.serving();
        serving == v && Arc::ptr_eq(&model, &app.router.engines().intents)
    };
    eventually("A puts B's activation in force", || in_force(&a, &version)).await;

    // A's history is the database's: the activation, and a rollback to the shipped model
    let (_, page) = call(&a, "GET", "/api/models", Some(&on_a), None).await;
    assert_eq!(page["active"], json!(version), "{page}");
    assert_eq!(page["last_change"]["version"], json!(version), "{page}");
    assert_eq!(page["last_change"]["kind"], "override");
    assert_eq!(page["last_change"]["who"], "wang");
    assert_eq!(page["rollback_to"], "shipped");

    // rolled back on A: B follows, and nothing is left to roll back on either node
    let (status, body) = call(&a, "POST", "/api/models/rollback", Some(&on_a), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], "shipped");
    eventually("B puts A's rollback in force", || in_force(&b, "shipped")).await;
    let (_, page) = call(&b, "GET", "/api/models", Some(&on_b), None).await;
    assert_eq!(page["rollback_to"], Value::Null, "{page}");
    assert_eq!(page["last_change"]["kind"], "rollback");
    let (status, body) = call(&b, "POST", "/api/models/rollback", Some(&on_b), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // a node started afterwards serves what the database says is in force
    let (status, body) = call(&b, "POST", &uri, Some(&on_b), Some(json!({"override": true}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = node(&pg, &dir.path().join("c")).await;
    assert!(in_force(&c, &version), "a new node starts with the version in force");
    eventually("A follows the second activation", || in_force(&a, &version)).await;

    drop((a, b, c));
    pg.finish().await;
}

/// An activation decided on an old state (another node activated or rolled back since) is
/// refused, never recorded over the other: two nodes never both roll back the same step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_decided_on_a_stale_history_is_refused() {
    let Some(pg) = Postgres::new("knowledge_head").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = node(&pg, &dir.path().join("a")).await;
    let b = node(&pg, &dir.path().join("b")).await;
    let (ra, rb) = (a.models.registry.clone(), b.models.registry.clone());
    tokio::task::spawn_blocking(move || {
        use kefu::models::ActivationKind::Activate;
        let head = ra.head().unwrap();
        rb.record("shipped", Activate, "wang").unwrap();
        let stale = ra.record_from(head, "shipped", Activate, "li").unwrap_err();
        assert!(matches!(stale, kefu::models::ModelsError::Conflict), "{stale:?}");
        assert_eq!(ra.history().unwrap().len(), 1);
        ra.record_from(ra.head().unwrap(), "shipped", Activate, "li").unwrap();
        assert_eq!(rb.history().unwrap().len(), 2);
    })
    .await
    .unwrap();
    drop((a, b));
    pg.finish().await;
}

/// A node whose bus connection dropped may have missed announcements: once it listens again it
/// rebuilds everything from the database. The changes here are written behind the nodes' backs
/// (nobody announces them), so only the reconnection can bring them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_reconnects_to_the_bus_rebuilds_what_it_may_have_missed() {
    use kefu::store::prelude::*;
    let Some(pg) = Postgres::new("knowledge_reconnect").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = node(&pg, &dir.path().join("a")).await;
    let b = node(&pg, &dir.path().join("b")).await;

    // an FAQ edit and a model activation, neither announced
    let id = a.router.engines().faq.faqs()[0].id.clone();
    let entry = a.curator.get(kefu::trainer::Kind::Faq, &id).await.unwrap();
    let mut doc = entry.entry.clone();
    doc["en"]["answer"] = json!("Written while node A was not listening.");
    let expect = kefu::store::Expect::Version(entry.version);
    b.store.kb_write("faq", id.clone(), expect, Some(doc), "update", "db".into()).await.unwrap();
    let registry = b.models.registry.clone();
    let version = tokio::task::spawn_blocking(move || {
        let (model, mut meta, report) = common::models::tiny_version();
        let v = registry.save(&model, &mut meta, &report).unwrap();
        registry.record(&v, kefu::models::ActivationKind::Override, "db").unwrap();
        v
    })
    .await
    .unwrap();
    assert_eq!(a.models.serving().0, "shipped");

    // A's listening connection is killed; it reconnects and catches up
    let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1";
    let killed = pg.admin.execute(kill, &[&format!("kefu-bus {}", a.cluster.node())]).await.unwrap();
    assert_eq!(killed, 1);
    eventually("A rebuilt its FAQ index", || {
        a.router.engines().faq.faq(&id).is_some_and(|f| f.en.answer.starts_with("Written while"))
    })
    .await;
    eventually("A put the recorded model in force", || {
        a.models.serving().0 == version && Arc::ptr_eq(&a.models.serving().1, &a.router.engines().intents)
    })
    .await;

    drop((a, b));
    pg.finish().await;
}

/// The catalog is never stored: stock a store event brought to one node reaches the other's
/// product answers over the bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_a_store_event_brings_to_one_node_reaches_the_other() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SECRET: &str = "store-events-secret-0123456789";
    let Some(pg) = Postgres::new("knowledge_catalog").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let on = |name: &str| {
        let mut config = common::server::config(Path::new(&pg.url));
        config.model_store = dir.path().join(name);
        config.store_events_secret = Some(SECRET.into());
        config
    };
    let a = common::server::build(on("a")).await;
    let b = common::server::build(on("b")).await;
    let (addr_b, _) = common::server::serve(&b).await;

    // a variant in stock on both nodes, sold out by an event posted to B
    let engines = a.router.engines();
    let (sku, color, size) = engines
        .catalog
        .iter()
        .find_map(|p| {
            p.variants.iter().find(|v| v.stock > 0).map(|v| (p.sku.clone(), v.color.clone(), v.size.clone()))
        })
        .expect("a variant in stock");
    let stock_on = |app: &AppState| {
        let engines = app.router.engines();
        let product = engines.catalog.iter().find(|p| p.sku == sku).unwrap();
        product.stock(&color, &size).unwrap()
    };
    assert!(stock_on(&a) > 0);
    let body = json!({"id": "evt-1", "type": "stock.changed", "sku": sku,
        "stock": [{"sku": sku, "color": color, "size": size, "stock": 0}]})
    .to_string();
    let ts = chrono::Utc::now().timestamp();
    let sig = kefu::webhooks::signature::sign(SECRET.as_bytes(), ts, body.as_bytes());
    let mut s = tokio::net::TcpStream::connect(addr_b).await.unwrap();
    let request = format!(
        "POST /api/store/events HTTP/1.1\r\nHost: kefu\r\nConnection: close\r\nContent-Type: application/json\r\nKefu-Timestamp: {ts}\r\nKefu-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");

    eventually("B applied the event", || stock_on(&b) == 0).await;
    eventually("A applied B's event", || stock_on(&a) == 0).await;

    drop((a, b));
    pg.finish().await;
}
