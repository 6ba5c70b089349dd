//! Retraining while the service runs: `POST /api/models/train` → job progress → comparison →
//! activate (swapped into the router) → rollback; the start-up reads `ACTIVE`; only trainers and
//! admins may do any of it; `kefu model list|activate|rollback` works on the same folder.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::models::{tiny, tiny_opts, tiny_version};
use common::process::Cli;
use common::server::{build, config, root};
use common::{call, token};
use kefu::app::AppState;
use kefu::config::Config;
use kefu::identity::Role;
use kefu::intent::train::{train, train_with_progress, Progress};
use kefu::intent::IntentModel;
use kefu::models::registry::Meta;
use serde_json::{json, Value};

async fn app(dir: &Path) -> Arc<AppState> {
    app_on(dir, "kefu.db").await
}

/// An app on the model store `dir/models` with its own database file.
async fn app_on(dir: &Path, db: &str) -> Arc<AppState> {
    build(Config { model_store: dir.join("models"), ..config(&dir.join(db)) }).await
}

/// Polls a job until it is done or failed (a generous overall limit, not a timing assertion).
async fn wait_for(app: &Arc<AppState>, token: &str, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last_epoch = 0;
    loop {
        let (status, body) = call(app, "GET", &format!("/api/models/jobs/{job}"), Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let epoch = body["progress"]["epoch"].as_u64().unwrap();
        assert!(epoch >= last_epoch, "progress only moves forward: {body}");
        last_epoch = epoch;
        if matches!(body["state"].as_str(), Some("done" | "failed")) {
            return body;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The same predictions on some store messages.
fn same_model(a: &IntentModel, b: &IntentModel) -> bool {
    let texts = ["我的快递到哪了", "i want a refund", "能开发票吗", "今天天气怎么样", "转人工"];
    a.probabilities(&texts).unwrap() == b.probabilities(&texts).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_compare_activate_roll_back_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let trainer = token(&app, "wang", Role::Trainer).await;
    let admin = token(&app, "zhao", Role::Admin).await;
    let shipped = IntentModel::load(&root().join("models/intent")).unwrap();
    let before = app.router.engines().intents.clone();
    assert!(same_model(&before, &shipped));
    assert_eq!(app.models.serving().0, "shipped");

    // nothing to roll back to yet; an unknown version is a 404; bad bodies are 400s
    let (status, body) = call(&app, "POST", "/api/models/rollback", Some(&trainer), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("nothing_to_roll_back")));
    let (status, _) = call(&app, "POST", "/api/models/nope/activate", Some(&trainer), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, "POST", "/api/models/..%2F..%2Fetc/activate", Some(&trainer), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        call(&app, "POST", "/api/models/train", Some(&trainer), Some(json!({"epochs": 0}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) =
        call(&app, "POST", "/api/models/train", Some(&trainer), Some(json!({"epoch": 3}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown fields are refused");

    // train in the background; a second request while it runs is refused
    let started = Instant::now();
    let (status, body) =
        call(&app, "POST", "/api/models/train", Some(&trainer), Some(json!({"epochs": 2, "seed": 7}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = body["job"].as_str().unwrap().to_string();
    let (status, busy) = call(&app, "POST", "/api/models/train", Some(&admin), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{busy}");
    assert_eq!(
        (busy["error"].as_str(), busy["job"].as_str()),
        (Some("training_in_progress"), Some(job.as_str()))
    );

    let done = wait_for(&app, &trainer, &job).await;
    eprintln!("training job (2 epochs, all data) took {:.1}s", started.elapsed().as_secs_f64());
    eprintln!("worse than shipped because: {}", done["comparison"]["reasons"]);
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["progress"], json!({"epoch": 4, "epochs": 4}), "2 epochs, twice (tune, then refit)");
    assert_eq!((done["requested_by"].as_str(), done["parent"].as_str()), (Some("wang"), Some("shipped")));
    let version = done["version"].as_str().unwrap().to_string();
    let comparison = &done["comparison"];
    let rows = comparison["per_intent"].as_array().unwrap();
    assert_eq!(rows.len(), kefu::intent::labels::STORE_INTENTS.len(), "{comparison}");
    for r in rows {
        for side in ["active", "candidate", "delta"] {
            for m in ["precision", "recall", "f1"] {
                assert!(r[side][m].is_number(), "{r}");
            }
        }
    }
    assert_eq!(comparison["active"]["version"], "shipped");
    assert_eq!(comparison["candidate"]["version"], version.as_str());
    assert!(
        comparison["candidate"]["macro_f1"].as_f64().unwrap() > 0.3,
        "it learned something: {comparison}"
    );
    assert!(comparison["active"]["oos_recall"].is_number());
    assert_eq!(comparison["tolerance"], 0.005);

    // on disk: the model, its metrics and who made it; nothing is active yet
    let vdir = dir.path().join("models").join(&version);
    for f in ["model.safetensors", "config.json", "tokenizer.json", "metrics.json", "meta.json"] {
        assert!(vdir.join(f).is_file(), "{f}");
    }
    let meta: Meta = serde_json::from_str(&std::fs::read_to_string(vdir.join("meta.json")).unwrap()).unwrap();
    assert_eq!((meta.who.as_str(), meta.parent.as_str(), meta.seed, meta.epochs), ("wang", "shipped", 7, 2));
    assert_eq!(meta.examples, meta.examples_zh + meta.examples_en);
    assert!(!dir.path().join("models/ACTIVE").exists());
    let (status, list) = call(&app, "GET", "/api/models", Some(&trainer), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["active"], "shipped");
    assert_eq!(list["rollback_to"], Value::Null, "nothing activated yet: nothing to roll back to");
    let versions = list["versions"].as_array().unwrap();
    assert_eq!(
        versions.iter().map(|v| v["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [version.as_str(), "shipped"]
    );
    assert_eq!((versions[0]["active"].as_bool(), versions[1]["active"].as_bool()), (Some(false), Some(true)));
    assert_eq!(versions[0]["who"], "wang");
    assert!(versions[0]["created"].is_string());
    let close = |a: &Value, b: &Value| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9;
    assert!(close(&versions[0]["metrics"]["macro_f1"], &comparison["candidate"]["macro_f1"]), "{list}");
    assert!(
        close(&versions[1]["metrics"]["macro_f1"], &comparison["active"]["macro_f1"]),
        "shipped measured: {list}"
    );

    // activation: refused while worse (the comparison comes with the refusal), then overridden
    let url = format!("/api/models/{version}/activate");
    let (status, body) =
        call(&app, "GET", &format!("/api/models/{version}/comparison"), Some(&trainer), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["not_worse"], comparison["not_worse"]);
    let overridden = if comparison["not_worse"] == false {
        let (status, body) = call(&app, "POST", &url, Some(&trainer), Some(json!({}))).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::CONFLICT, Some("worse_than_active")),
            "{body}"
        );
        assert_eq!(body["comparison"]["per_intent"].as_array().unwrap().len(), rows.len());
        assert!(Arc::ptr_eq(&app.router.engines().intents, &before), "nothing changed");
        assert!(!dir.path().join("models/ACTIVE").exists());
        true
    } else {
        false
    };
    let (status, body) =
        call(&app, "POST", &url, Some(&trainer), Some(json!({"override": overridden}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["active"].as_str(), body["previous"].as_str()),
        (Some(version.as_str()), Some("shipped"))
    );
    assert_eq!(body["override"], overridden);
    // the router now predicts with the new model, without a restart
    let now = app.router.engines().intents.clone();
    assert!(!Arc::ptr_eq(&now, &before));
    assert!(same_model(&now, &IntentModel::load(&vdir).unwrap()));
    assert!(!same_model(&now, &shipped));
    assert_eq!(app.models.serving().0, version);
    assert_eq!(std::fs::read_to_string(dir.path().join("models/ACTIVE")).unwrap().trim(), version);
    let (_, list) = call(&app, "GET", "/api/models", Some(&trainer), None).await;
    assert_eq!(list["active"], version.as_str());
    assert_eq!(list["rollback_to"], "shipped");
    // activating the active version again changes nothing
    let (status, body) = call(&app, "POST", &url, Some(&admin), None).await;
    assert_eq!((status, body["changed"].as_bool()), (StatusCode::OK, Some(false)));

    // a restart serves the active version
    {
        let restarted = app_on(dir.path(), "restarted.db").await;
        assert_eq!(restarted.models.serving().0, version);
        assert!(same_model(&restarted.router.engines().intents, &now));
    }

    // roll back → the shipped model, in the router and on disk; then nothing is left to undo
    let (status, body) = call(&app, "POST", "/api/models/rollback", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["active"].as_str(), body["previous"].as_str()),
        (Some("shipped"), Some(version.as_str()))
    );
    assert!(same_model(&app.router.engines().intents, &shipped));
    assert_eq!(app.models.serving().0, "shipped");
    assert_eq!(std::fs::read_to_string(dir.path().join("models/ACTIVE")).unwrap().trim(), "shipped");
    let (status, _) = call(&app, "POST", "/api/models/rollback", Some(&admin), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let history = std::fs::read_to_string(dir.path().join("models/HISTORY")).unwrap();
    let kinds: Vec<&str> = history.lines().map(|l| l.split('\t').nth(1).unwrap()).collect();
    assert_eq!(kinds, [if overridden { "override" } else { "activate" }, "rollback"], "{history}");

    // a chat turn still works on the swapped engines
    let reply = app.router.engines().intents.predict("我要退货", 1).unwrap();
    assert_eq!(reply.intent, "return_refund");
}

#[tokio::test]
async fn the_model_api_needs_a_trainer_or_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let agent = token(&app, "li", Role::Agent).await;
    let endpoints = [
        ("GET", "/api/models"),
        ("POST", "/api/models/train"),
        ("GET", "/api/models/jobs/1"),
        ("POST", "/api/models/rollback"),
        ("GET", "/api/models/shipped/comparison"),
        ("POST", "/api/models/shipped/activate"),
    ];
    for (method, uri) in endpoints {
        let (status, body) = call(&app, method, uri, None, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{uri}"
        );
        let (status, body) = call(&app, method, uri, Some("garbage"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
        let (status, body) = call(&app, method, uri, Some(&agent), None).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{uri}");
    }
    assert!(app.models.jobs.running().is_none(), "the agent started nothing");
    assert!(!dir.path().join("models").exists(), "nothing was written");
}

/// Reporting progress changes nothing: the files are byte-identical to plain `train`'s.
#[test]
fn progress_reports_every_epoch_and_changes_nothing() {
    let (plain, _) = train(&tiny(), &tiny_opts()).unwrap();
    let mut seen = Vec::new();
    let (reported, _) = train_with_progress(&tiny(), &tiny_opts(), |p| {
        seen.push(p);
        true
    })
    .unwrap();
    assert_eq!(seen, (1..=10).map(|epoch| Progress { epoch, epochs: 10 }).collect::<Vec<_>>());
    let dir = tempfile::tempdir().unwrap();
    plain.save(&dir.path().join("a")).unwrap();
    reported.save(&dir.path().join("b")).unwrap();
    for f in ["model.safetensors", "tokenizer.json"] {
        let a = std::fs::read(dir.path().join("a").join(f)).unwrap();
        assert_eq!(a, std::fs::read(dir.path().join("b").join(f)).unwrap(), "{f}");
    }
    // a false answer stops training
    let stopped = train_with_progress(&tiny(), &tiny_opts(), |p| p.epoch < 3);
    assert!(matches!(stopped, Err(kefu::intent::IntentError::Cancelled)));
}

/// Saves a tiny (poor) model as a version, as a training job would; a second save under the
/// same time gets a new name.
fn save_tiny_version(store: &Path) -> String {
    let (model, mut meta, report) = tiny_version();
    let registry = common::models::registry(store);
    let id = registry.save(&model, &mut meta, &report).unwrap();
    assert_eq!(id, "20261125-010203");
    assert_eq!(
        registry.save(&model, &mut meta, &report).unwrap(),
        "20261125-010203-2",
        "a taken name is not overwritten"
    );
    std::fs::remove_dir_all(store.join("20261125-010203-2")).unwrap();
    assert!(std::fs::read_dir(store).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".tmp")));
    id
}

/// An `ACTIVE` that names a broken version: the service starts on the shipped model.
#[tokio::test]
async fn a_broken_active_version_falls_back_to_the_shipped_model() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("models");
    let id = save_tiny_version(&store);
    std::fs::write(store.join(&id).join("model.safetensors"), b"broken").unwrap();
    std::fs::write(store.join("ACTIVE"), format!("{id}\n")).unwrap();
    let app = app(dir.path()).await;
    assert_eq!(app.models.serving().0, "shipped");
    let shipped = IntentModel::load(&root().join("models/intent")).unwrap();
    assert!(same_model(&app.router.engines().intents, &shipped));
    assert_eq!(std::fs::read_to_string(store.join("ACTIVE")).unwrap().trim(), id, "start-up writes nothing");
}

/// `kefu model list|activate|rollback` on the same folder, offline.
#[test]
fn the_cli_lists_activates_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("models");
    let id = save_tiny_version(&store);
    let kefu = |args: &[&str]| {
        let out = Cli::new(args)
            .current_dir(dir.path())
            .env("KEFU_MODEL_STORE", &store)
            .env("KEFU_MODEL", root().join("models/intent"))
            .env("KEFU_KNOWLEDGE", root().join("knowledge"))
            .env("USER", "tester")
            .run();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    };
    let (ok, out) = kefu(&["model", "list"]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("  {id}")) && out.contains("* shipped"), "{out}");

    // the tiny model is far worse than the shipped one
    let (ok, out) = kefu(&["model", "activate", &id]);
    assert!(!ok, "{out}");
    assert!(out.contains("refused") && out.contains("macro-F1") && out.contains("order_status"), "{out}");
    assert!(!store.join("ACTIVE").exists());
    let (ok, out) = kefu(&["model", "activate", &id, "--override"]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("active: {id} (was shipped)")) && out.contains("restart"), "{out}");
    assert_eq!(std::fs::read_to_string(store.join("ACTIVE")).unwrap().trim(), id);
    let (_, out) = kefu(&["model", "list"]);
    assert!(out.contains(&format!("* {id}")), "{out}");
    assert!(std::fs::read_to_string(store.join("HISTORY")).unwrap().contains("\toverride\t"));

    let (ok, out) = kefu(&["model", "rollback"]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("active: shipped (was {id})")), "{out}");
    let (ok, out) = kefu(&["model", "rollback"]);
    assert!(!ok && out.contains("nothing to roll back"), "{out}");
    let (ok, out) = kefu(&["model", "activate", "../etc"]);
    assert!(!ok && out.contains("no model version"), "{out}");
}
