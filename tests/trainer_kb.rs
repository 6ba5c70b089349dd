//! Trainers edit the live knowledge base: an edit is answered over a real WebSocket on
//! 127.0.0.1 at once, with history, revert, conflicts, validation, export and restarts.

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use common::server::{build, login, root, serve, test_config};
use common::ws::Client;
use kefu::app::AppState;
use kefu::config::Config;
use kefu::identity::Role;
use serde_json::{json, Value};

const PASSWORD: &str = "trainer-password-1";

/// The test defaults (no shopper token secret) on the database `db` and the knowledge base in
/// `knowledge`.
fn config(db: &Path, knowledge: &Path) -> Config {
    Config { knowledge: knowledge.to_path_buf(), token_secret: None, ..test_config(db) }
}

/// A token for `name` (the account is added unless it exists).
async fn token(app: &Arc<AppState>, name: &str, role: Role) -> String {
    let _ = kefu::accounts::add(&app.store, name, "", role, PASSWORD).await;
    login(app, name, PASSWORD).await
}

async fn call(
    app: &Arc<AppState>,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    common::call(app, method, uri, Some(token), body).await
}

/// Asks one question over a new shopper WebSocket and returns the bot's first reply.
async fn ask(addr: std::net::SocketAddr, question: &str) -> Value {
    let (mut c, _) = Client::shopper(addr, None).await;
    c.ask(question).await
}

#[tokio::test]
async fn an_edited_answer_is_served_at_once_with_history_revert_and_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let app = build(config(&dir.path().join("kefu.db"), &root().join("knowledge"))).await;
    let (addr, _) = serve(&app).await;
    let t = token(&app, "wang", Role::Trainer).await;

    let before = ask(addr, "怎么注册").await;
    assert_eq!(before["faq_id"], "register-login", "{before}");
    let old_answer = before["text"].as_str().unwrap().to_string();

    // edit the Chinese answer, from the version we loaded
    let (st, entry) = call(&app, "GET", "/api/kb/faqs/register-login", &t, None).await;
    assert_eq!(st, StatusCode::OK, "{entry}");
    let version = entry["version"].as_i64().unwrap();
    let mut doc = entry["entry"].clone();
    doc["zh"]["answer"] = json!("亲，点击页面右上角「登录」，输入手机号和验证码即可注册，全程免费～");
    let (st, updated) =
        call(&app, "PUT", "/api/kb/faqs/register-login", &t, Some(json!({"version": version, "entry": doc})))
            .await;
    assert_eq!(st, StatusCode::OK, "{updated}");
    assert_eq!(updated["version"].as_i64(), Some(version + 1));
    assert_eq!(updated["updated_by"], "wang");
    // the next shopper question gets the new answer: no restart
    let after = ask(addr, "怎么注册").await;
    assert!(after["text"].as_str().unwrap().contains("右上角「登录」"), "{after}");

    // a second trainer editing from the old version gets a conflict, not a lost update
    let mut stale = entry["entry"].clone();
    stale["en"]["answer"] = json!("Sign up with your phone.");
    let (st, body) = call(
        &app,
        "PUT",
        "/api/kb/faqs/register-login",
        &t,
        Some(json!({"version": version, "entry": stale})),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["current"]["version"].as_i64(), Some(version + 1));

    // invalid entries are refused with kefu check's own messages
    let mut bad = updated["entry"].clone();
    bad["category"] = json!("sale");
    bad["en"]["questions"] = json!(["only one"]);
    let (st, body) = call(
        &app,
        "PUT",
        "/api/kb/faqs/register-login",
        &t,
        Some(json!({"version": version + 1, "entry": bad})),
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")), "{body}");
    let problems = body["problems"].to_string();
    assert!(
        problems.contains("unknown category \\\"sale\\\"") && problems.contains("at least 3 needed"),
        "{problems}"
    );

    // history, newest first, then revert the edit
    let (_, history) = call(&app, "GET", "/api/kb/faqs/register-login/history", &t, None).await;
    let history = history.as_array().unwrap();
    assert_eq!(history[0]["action"], "update");
    assert_eq!(history[0]["author"], "wang");
    assert!(history[0]["before"]["zh"]["answer"].as_str().unwrap().contains("短信验证码"));
    let rev = history[0]["id"].as_i64().unwrap();
    let (st, body) = call(&app, "POST", &format!("/api/kb/revisions/{rev}/revert"), &t, None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(ask(addr, "怎么注册").await["text"].as_str().unwrap(), old_answer);
    // that revision again: the entry has changed since (the revert), so it is refused
    let (st, body) = call(&app, "POST", &format!("/api/kb/revisions/{rev}/revert"), &t, None).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");

    // a new FAQ entry answers at once; deleting it needs its version
    let new = json!({
        "id": "engraving", "category": "pre-sale", "tags": ["刻字", "engraving"],
        "zh": {"questions": ["木制品可以刻字吗", "能帮忙刻名字吗", "刻字要加钱吗"], "answer": "亲，实木小件支持免费激光刻字，下单时备注刻字内容（10个字以内）即可～"},
        "en": {"questions": ["can you engrave a name", "do you offer engraving on wooden items", "how much is engraving"], "answer": "Yes: small solid-wood items can be laser-engraved for free; add the text (up to 10 characters) as an order note."}
    });
    let (st, created) = call(&app, "POST", "/api/kb/faqs", &t, Some(new.clone())).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let (st, _) = call(&app, "POST", "/api/kb/faqs", &t, Some(new)).await;
    assert_eq!(st, StatusCode::CONFLICT, "the id is taken");
    let r = ask(addr, "can you engrave a name").await;
    assert_eq!(r["faq_id"], "engraving", "{r}");
    let (st, _) = call(&app, "DELETE", "/api/kb/faqs/engraving", &t, None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "no version");
    let v = created["version"].as_i64().unwrap();
    let (st, _) = call(&app, "DELETE", &format!("/api/kb/faqs/engraving?version={v}"), &t, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_ne!(ask(addr, "can you engrave a name").await["faq_id"], "engraving");

    // intents and their examples
    let (st, intent) = call(&app, "GET", "/api/kb/intents/greeting", &t, None).await;
    assert_eq!(st, StatusCode::OK);
    let mut doc = intent["entry"].clone();
    doc["zh"].as_array_mut().unwrap().push(json!("哈喽在不"));
    let v = intent["version"].as_i64().unwrap();
    let (st, _) =
        call(&app, "PUT", "/api/kb/intents/greeting", &t, Some(json!({"version": v, "entry": doc}))).await;
    assert_eq!(st, StatusCode::OK);
    let examples = app.curator.training_examples().await.unwrap();
    assert!(examples.iter().any(|e| e.text == "哈喽在不" && e.label == "greeting"));

    // a question the bot missed, from the review queue to an FAQ phrasing that then matches
    let missed = ask(addr, "咋个弄账号嘛").await;
    assert_ne!(missed["faq_id"], "register-login", "{missed}");
    let (st, queue) = call(&app, "GET", "/api/review?lang=zh", &t, None).await;
    assert_eq!(st, StatusCode::OK, "{queue}");
    let group = queue["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["representative"].as_str().unwrap().contains("咋个弄账号"));
    let key = group.unwrap_or_else(|| panic!("in the review queue: {queue:#}"))["key"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, body) = call(
        &app,
        "POST",
        &format!("/api/review/{key}/resolve"),
        &t,
        Some(json!({"action": "phrasing", "target": "register-login"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(ask(addr, "咋个弄账号嘛").await["faq_id"], "register-login");
    let (_, queue) = call(&app, "GET", "/api/review?lang=zh", &t, None).await;
    assert!(
        !queue["groups"].as_array().unwrap().iter().any(|g| g["key"] == key.as_str()),
        "resolved groups leave the queue"
    );
    let (st, _) = call(
        &app,
        "POST",
        &format!("/api/review/{key}/resolve"),
        &t,
        Some(json!({"action": "phrasing", "target": "no-such-faq"})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // canned responses have revisions too, and revert the same way
    let (_, canned) = call(&app, "GET", "/api/canned?lang=zh", &t, None).await;
    let c = canned.as_array().unwrap()[0].clone();
    let id = c["id"].as_str().unwrap().to_string();
    let change =
        json!({"version": c["version"], "lang": "zh", "title": c["title"], "text": "亲，这是改过的话术～"});
    let (st, body) = call(&app, "PUT", &format!("/api/canned/{id}"), &t, Some(change)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (_, history) = call(&app, "GET", &format!("/api/canned/{id}/history"), &t, None).await;
    assert_eq!(history[0]["action"], "update");
    assert_eq!(history[0]["before"]["text"], c["text"]);
    let rev = history[0]["id"].as_i64().unwrap();
    let (st, body) = call(&app, "POST", &format!("/api/kb/revisions/{rev}/revert"), &t, None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (_, now) = call(&app, "GET", "/api/canned?lang=zh", &t, None).await;
    let restored = now.as_array().unwrap().iter().find(|x| x["id"] == id.as_str()).unwrap();
    assert_eq!(restored["text"], c["text"]);

    // only trainers and admins
    let agent = token(&app, "li", Role::Agent).await;
    let (st, _) = call(&app, "GET", "/api/kb/faqs", &agent, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = call(&app, "GET", "/api/kb/faqs", "nope", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[tokio::test]
async fn edits_survive_restarts_export_to_valid_files_and_changed_files_win() {
    let dir = tempfile::tempdir().unwrap();
    let knowledge = dir.path().join("knowledge");
    copy_dir(&root().join("knowledge"), &knowledge);
    let db = dir.path().join("kefu.db");
    let app = build(config(&db, &knowledge)).await;
    let t = token(&app, "wang", Role::Trainer).await;
    let (_, entry) = call(&app, "GET", "/api/kb/faqs/register-login", &t, None).await;
    let mut doc = entry["entry"].clone();
    doc["en"]["answer"] = json!("Sign up with your phone number and a text code; no password needed.");
    let v = entry["version"].as_i64().unwrap();
    let (st, _) =
        call(&app, "PUT", "/api/kb/faqs/register-login", &t, Some(json!({"version": v, "entry": doc}))).await;
    assert_eq!(st, StatusCode::OK);

    // a restart on the same files keeps the edit
    let again = build(config(&db, &knowledge)).await;
    let f = again.router.engines().faq.faq("register-login").unwrap().clone();
    assert!(f.en.answer.starts_with("Sign up with your phone number"), "{}", f.en.answer);

    // exporting somewhere else (a review copy) does not make the next start forget the edit
    let elsewhere = dir.path().join("copy");
    kefu::trainer::curator::export(&again.store, &elsewhere, false).await.unwrap();
    let again = build(config(&db, &knowledge)).await;
    let f = again.router.engines().faq.faq("register-login").unwrap().clone();
    assert!(f.en.answer.starts_with("Sign up with your phone number"), "{}", f.en.answer);

    // export writes files the knowledge base loads, with the edit in them
    let files = kefu::trainer::curator::export(&again.store, &knowledge, true).await.unwrap();
    assert!(files.iter().any(|f| f.ends_with("faq/account.toml")));
    let kb = kefu::knowledge::KnowledgeBase::load(&knowledge).unwrap();
    assert!(kb
        .faqs
        .iter()
        .any(|f| f.id == "register-login" && f.en.answer.starts_with("Sign up with your phone number")));
    assert_eq!(kb.faqs.len(), app.curator.list(kefu::trainer::Kind::Faq).await.unwrap().len());
    kefu::intent::data::load(&knowledge.join("intents"), None).unwrap();

    // files changed by hand (a git pull): they win at the next start, as a revision
    let account = knowledge.join("faq/account.toml");
    let text = std::fs::read_to_string(&account).unwrap();
    std::fs::write(
        &account,
        text.replace("Sign up with your phone number", "Register with your phone number"),
    )
    .unwrap();
    let third = build(config(&db, &knowledge)).await;
    let f = third.router.engines().faq.faq("register-login").unwrap().clone();
    assert!(f.en.answer.starts_with("Register with your phone number"), "{}", f.en.answer);
    let history = third.curator.history(kefu::trainer::Kind::Faq, "register-login").await.unwrap();
    assert_eq!((history[0].action.as_str(), history[0].author.as_str()), ("import", "files"));
}
