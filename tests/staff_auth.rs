//! Staff accounts and the authenticated API: `kefu user add`, `POST /api/login`, and every staff
//! endpoint refusing a missing, malformed, forged, expired, shopper or wrong-role token.

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use common::call;
use common::process::cli;
use common::server::{build, config};
use kefu::app::AppState;
use kefu::config::Config;
use kefu::identity::{sign, Claims, Role, StaffClaims, STAFF_AUDIENCE};
use serde_json::{json, Value};

const SHOPPER_SECRET: &str = "shopper-token-secret-for-tests";

async fn app(dir: &Path) -> Arc<AppState> {
    build(Config { token_secret: Some(SHOPPER_SECRET.into()), ..config(&dir.join("kefu.db")) }).await
}

async fn login(app: &Arc<AppState>, name: &str, password: &str) -> (StatusCode, Value) {
    call(app, "POST", "/api/login", None, Some(json!({"name": name, "password": password}))).await
}

#[tokio::test]
async fn login_gives_a_token_that_opens_the_api_for_its_role_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let store = &app.store;
    kefu::accounts::add(store, "li", "Li", Role::Agent, "agent-password-1").await.unwrap();
    kefu::accounts::add(store, "wang", "", Role::Trainer, "trainer-password-1").await.unwrap();
    assert!(matches!(
        kefu::accounts::add(store, "li", "Li", Role::Agent, "another-password").await,
        Err(kefu::accounts::AccountError::NameTaken(_))
    ));
    assert!(
        kefu::accounts::add(store, "x", "", Role::Agent, "short").await.is_err(),
        "weak password refused"
    );

    let (status, agent) = login(&app, "li", "agent-password-1").await;
    assert_eq!(status, StatusCode::OK, "{agent}");
    assert_eq!(agent["role"], "agent");
    assert_eq!(agent["display_name"], "Li");
    let agent_token = agent["token"].as_str().unwrap().to_string();
    let (_, trainer) = login(&app, "wang", "trainer-password-1").await;
    let trainer_token = trainer["token"].as_str().unwrap().to_string();
    assert_eq!(trainer["display_name"], "wang", "display name defaults to the account name");

    let (status, me) = call(&app, "GET", "/api/me", Some(&agent_token), None).await;
    assert_eq!((status, me["name"].as_str()), (StatusCode::OK, Some("li")));

    // the feedback records are for trainers and admins
    let (status, body) = call(&app, "GET", "/api/feedback", Some(&trainer_token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.is_array());
    let (status, body) = call(&app, "GET", "/api/feedback", Some(&agent_token), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
}

#[tokio::test]
async fn bad_credentials_and_bad_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    kefu::accounts::add(&app.store, "li", "Li", Role::Agent, "agent-password-1").await.unwrap();

    // wrong password and unknown name: the same answer
    let (s1, b1) = login(&app, "li", "wrong-password").await;
    let (s2, b2) = login(&app, "nobody", "agent-password-1").await;
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(b1, b2);
    let (s, _) = call(&app, "POST", "/api/login", None, Some(json!({"name": "li"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a malformed login is a clear 400");

    let now = chrono::Utc::now().timestamp();
    let staff = |role, exp| StaffClaims { sub: "li".into(), role, aud: STAFF_AUDIENCE.into(), exp, gen: 0 };
    let expired = sign(&app.staff_secret, &staff(Role::Agent, now - 10));
    let forged = sign("not-the-server-secret", &staff(Role::Admin, now + 3600));
    let other_audience = sign(
        &app.staff_secret,
        &StaffClaims { aud: "kefu-shopper".into(), ..staff(Role::Admin, now + 3600) },
    );
    // a valid shopper token, from the storefront's secret
    let shopper = sign(SHOPPER_SECRET, &Claims { sub: "S1001".into(), exp: now + 3600 });
    for (what, token) in [
        ("missing", None),
        ("garbage", Some("not-a-token")),
        ("expired", Some(expired.as_str())),
        ("forged", Some(forged.as_str())),
        ("wrong audience", Some(other_audience.as_str())),
        ("shopper token", Some(shopper.as_str())),
    ] {
        for uri in ["/api/me", "/api/feedback"] {
            let (status, body) = call(&app, "GET", uri, token, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} on {uri}: {body}");
            assert_eq!(body["error"], "unauthorized");
        }
    }
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    kefu::accounts::add(&app.store, "li", "Li", Role::Agent, "agent-password-1").await.unwrap();
    for _ in 0..kefu::accounts::MAX_FAILURES {
        assert_eq!(login(&app, "li", "guess").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login(&app, "li", "agent-password-1").await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("locked_out")));
}

/// `kefu user add` reads the password from standard input and stores only its hash; the staff
/// token secret survives a restart, so tokens do too.
#[tokio::test]
async fn the_cli_adds_accounts_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    let add = |name: &str, role: &str, password: &str| {
        cli(&db, &["user", "add", name, "--role", role, "--display-name", "Li"], &format!("{password}\n"))
    };
    let out = add("li", "agent", "agent-password-1");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = add("li", "agent", "agent-password-1");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad_role = add("zhao", "owner", "agent-password-1");
    assert!(!bad_role.status.success());

    let conn = rusqlite::Connection::open(&db).unwrap();
    let hash: String =
        conn.query_row("SELECT password_hash FROM users WHERE name = 'li'", [], |r| r.get(0)).unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains("agent-password-1"));
    drop(conn);

    let token = {
        let app = app(dir.path()).await;
        login(&app, "li", "agent-password-1").await.1["token"].as_str().unwrap().to_string()
    };
    let app = app(dir.path()).await;
    let (status, me) = call(&app, "GET", "/api/me", Some(&token), None).await;
    assert_eq!((status, me["display_name"].as_str()), (StatusCode::OK, Some("Li")));
}
