//! Canned responses for human agents: seeded from `knowledge/canned.toml`, listed, created,
//! edited with optimistic concurrency (a stale version is a 409, never an overwrite) and deleted
//! through `/api/canned`; edits and deletions survive a restart.

mod common;

use axum::http::StatusCode;
use common::server::app;
use common::{call, token};
use kefu::identity::Role;
use serde_json::{json, Value};

fn find<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array().unwrap().iter().find(|c| c["id"] == id)
}

#[tokio::test]
async fn the_seeded_list_has_both_languages_for_any_staff_role() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    for (name, role) in [("li", Role::Agent), ("wang", Role::Trainer), ("zhao", Role::Admin)] {
        let t = token(&app, name, role).await;
        let (status, all) = call(&app, "GET", "/api/canned", Some(&t), None).await;
        assert_eq!(status, StatusCode::OK, "{name}: {all}");
        let count = |lang: &str| all.as_array().unwrap().iter().filter(|c| c["lang"] == lang).count();
        assert!(count("zh") >= 14 && count("en") >= 14, "{} zh, {} en", count("zh"), count("en"));
        let greeting = find(&all, "greeting-zh").unwrap();
        assert_eq!((greeting["version"].as_i64(), &greeting["updated_by"]), (Some(1), &Value::Null));

        let (status, zh) = call(&app, "GET", "/api/canned?lang=zh", Some(&t), None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(zh.as_array().unwrap().iter().all(|c| c["lang"] == "zh"));
        assert_eq!(zh.as_array().unwrap().len(), count("zh"));
    }
}

#[tokio::test]
async fn create_update_with_the_version_read_and_a_stale_version_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let agent = token(&app, "li", Role::Agent).await;
    let trainer = token(&app, "wang", Role::Trainer).await;

    // create without an id: one is generated
    let new = json!({"lang": "zh", "title": "  双11发货 ", "text": "亲，双11期间72小时内发货～"});
    let (status, created) = call(&app, "POST", "/api/canned", Some(&agent), Some(new)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("zh-"), "{id}");
    assert_eq!(created["title"], "双11发货", "trimmed");
    assert_eq!((created["version"].as_i64(), created["updated_by"].as_str()), (Some(1), Some("li")));
    let (_, list) = call(&app, "GET", "/api/canned?lang=zh", Some(&agent), None).await;
    assert_eq!(find(&list, &id), Some(&created));

    // create with an id, and the same id again
    let mine =
        json!({"id": "double11-en", "lang": "en", "title": "Double 11", "text": "Ships within 72 hours."});
    let (status, _) = call(&app, "POST", "/api/canned", Some(&trainer), Some(mine.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = call(&app, "POST", "/api/canned", Some(&trainer), Some(mine)).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("id_taken")));

    // update from version 1 (a trainer may edit what an agent wrote)
    let uri = format!("/api/canned/{id}");
    let edit = |version: i64, text: &str| json!({"version": version, "lang": "zh", "title": "双11发货", "text": text});
    let (status, updated) =
        call(&app, "PUT", &uri, Some(&trainer), Some(edit(1, "亲，大促期间72小时内发出。"))).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!((updated["version"].as_i64(), updated["updated_by"].as_str()), (Some(2), Some("wang")));

    // the agent still has version 1: refused, nothing written, the current one is in the answer
    let (status, body) = call(&app, "PUT", &uri, Some(&agent), Some(edit(1, "stale edit"))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{body}");
    assert_eq!(body["current"], updated);
    let (_, list) = call(&app, "GET", "/api/canned", Some(&agent), None).await;
    assert_eq!(find(&list, &id).unwrap()["text"], "亲，大促期间72小时内发出。");

    // delete: a stale version is a conflict too, then the right one works
    let (status, body) = call(&app, "DELETE", &format!("{uri}?version=1"), Some(&agent), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (status, _) = call(&app, "DELETE", &format!("{uri}?version=2"), Some(&agent), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = call(&app, "GET", "/api/canned", Some(&agent), None).await;
    assert!(find(&list, &id).is_none());

    // an unknown id
    let (status, body) = call(&app, "PUT", &uri, Some(&agent), Some(edit(2, "x"))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, _) = call(&app, "DELETE", &format!("{uri}?version=2"), Some(&agent), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_restart_keeps_edits_and_deletions() {
    let dir = tempfile::tempdir().unwrap();
    {
        let app = app(dir.path()).await;
        let t = token(&app, "li", Role::Agent).await;
        let edit = json!({"version": 1, "lang": "zh", "title": "问候", "text": "亲，您好，我是小栖～"});
        let (status, body) = call(&app, "PUT", "/api/canned/greeting-zh", Some(&t), Some(edit)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = call(&app, "DELETE", "/api/canned/closing-en?version=1", Some(&t), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    // start again on the same database: the seed adds nothing back and overwrites nothing
    let app = app(dir.path()).await;
    let (_, login) =
        call(&app, "POST", "/api/login", None, Some(json!({"name": "li", "password": "li-password-1"})))
            .await;
    let t = login["token"].as_str().unwrap();
    let (_, list) = call(&app, "GET", "/api/canned", Some(t), None).await;
    let greeting = find(&list, "greeting-zh").unwrap();
    assert_eq!(
        (greeting["text"].as_str(), greeting["version"].as_i64()),
        (Some("亲，您好，我是小栖～"), Some(2))
    );
    assert!(find(&list, "closing-en").is_none(), "a deleted response stays deleted");
    assert!(find(&list, "closing-zh").is_some());
}

#[tokio::test]
async fn no_token_is_401_and_bad_input_is_400() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let good = json!({"lang": "en", "title": "Hi", "text": "Hello"});
    for (method, uri, body) in [
        ("GET", "/api/canned", None),
        ("POST", "/api/canned", Some(good.clone())),
        (
            "PUT",
            "/api/canned/greeting-en",
            Some(json!({"version": 1, "lang": "en", "title": "Hi", "text": "Hello"})),
        ),
        ("DELETE", "/api/canned/greeting-en?version=1", None),
    ] {
        let (status, body) = call(&app, method, uri, None, body).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{method} {uri}"
        );
    }
    let (status, _) =
        call(&app, "PUT", "/api/canned/greeting-en", Some("not-a-token"), Some(good.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let t = token(&app, "li", Role::Agent).await;
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (what, body, needle) in [
        ("empty title", with("title", json!("  ")), "empty title"),
        ("empty text", with("text", json!("")), "empty text"),
        ("bad lang", with("lang", json!("fr")), "bad lang \"fr\""),
        ("text too long", with("text", json!("好".repeat(2001))), "at most 2000"),
        ("bad id", with("id", json!("Hello World")), "bad id"),
        ("unknown field", with("titel", json!("Hi")), "titel"),
        ("missing field", json!({"lang": "en", "title": "Hi"}), "text"),
    ] {
        let (status, resp) = call(&app, "POST", "/api/canned", Some(&t), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {resp}");
        assert_eq!(resp["error"], "bad_request");
        assert!(resp["message"].as_str().unwrap().contains(needle), "{what}: {resp}");
    }
    let (status, resp) = call(&app, "PUT", "/api/canned/greeting-en", Some(&t), Some(good.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a PUT without version: {resp}");
    let (status, resp) = call(
        &app,
        "PUT",
        "/api/canned/greeting-en",
        Some(&t),
        Some(json!({"version": 1, "lang": "en", "title": "Hi", "text": "x".repeat(2001)})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
    let (status, resp) = call(&app, "DELETE", "/api/canned/greeting-en", Some(&t), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(resp["message"].as_str().unwrap().contains("?version="), "{resp}");
    let (status, _) = call(&app, "GET", "/api/canned?lang=fr", Some(&t), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // nothing of that was written; the seeded response is untouched
    let (_, list) = call(&app, "GET", "/api/canned?lang=en", Some(&t), None).await;
    assert_eq!(find(&list, "greeting-en").unwrap()["version"], 1);
    assert!(list.as_array().unwrap().iter().all(|c| c["title"] != "Hi"));
}
