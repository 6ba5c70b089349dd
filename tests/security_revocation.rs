//! Issue 15, item 5: staff tokens can be revoked. What the attack found: every route but
//! /api/me and /ws/agent trusted a staff token's claims for its 12 hours, so a deleted account's
//! token still read /api/queue, and there was no command to remove a user or change a role or a
//! password. Here the service runs on 127.0.0.1 and `kefu user …` runs as a separate process
//! against the same database, as an operator would run it.

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::call;
use common::process::{cli, cli_ok};
use common::server::TestServer;
use common::ws::Client;
use kefu::identity::Role;
use serde_json::{json, Value};

/// Within this time a change made by another process ends a token (the roster trusts what it
/// read for 2 s; the agent connection re-checks every 2 s): generous for a loaded machine.
const DEADLINE: Duration = Duration::from_secs(15);

/// Polls `GET uri` with `token` until the answer's status is not `from` any more: the answer
/// and how long it took.
async fn until_not(
    s: &TestServer,
    uri: &str,
    token: &str,
    from: StatusCode,
) -> ((StatusCode, Value), Duration) {
    let start = Instant::now();
    loop {
        let (status, body) = call(&s.app, "GET", uri, Some(token), None).await;
        if status != from {
            return ((status, body), start.elapsed());
        }
        assert!(start.elapsed() < DEADLINE, "{uri} still {from} after {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls until `token` is refused on `uri`.
async fn until_refused(s: &TestServer, uri: &str, token: &str) -> ((StatusCode, Value), Duration) {
    until_not(s, uri, token, StatusCode::OK).await
}

async fn login(s: &TestServer, name: &str, password: &str) -> (StatusCode, Value) {
    call(&s.app, "POST", "/api/login", None, Some(json!({"name": name, "password": password}))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_an_account_ends_its_tokens_and_closes_its_console() {
    let s = TestServer::start_with(|_| {}).await;
    let db = s.app.config.database.clone();
    let token = common::token(&s.app, "li", Role::Agent).await;
    assert_eq!(call(&s.app, "GET", "/api/queue", Some(&token), None).await.0, StatusCode::OK);
    let (mut console, _) = Client::agent(s.addr, &token, json!({"langs": ["zh"]})).await;

    let out = cli_ok(&db, &["user", "remove", "li"], "");
    assert!(out.contains("removed li"), "{out}");
    let removed = Instant::now();

    // the REST token: 401 within seconds, on every route
    let ((status, body), took) = until_refused(&s, "/api/queue", &token).await;
    println!("REST token refused {took:?} after `kefu user remove`");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].as_str().unwrap().contains("no longer exists"), "{body}");
    for uri in ["/api/tickets", "/api/me", "/api/conversations/mine"] {
        assert_eq!(call(&s.app, "GET", uri, Some(&token), None).await.0, StatusCode::UNAUTHORIZED, "{uri}");
    }

    // the live console connection: told why and closed, though the agent sent nothing
    let (frame, _) = console.until_type("error").await;
    assert_eq!(frame["code"], "unauthorized", "{frame}");
    assert!(frame["message"].as_str().unwrap().contains("no longer exists"), "{frame}");
    assert!(console.next().await.is_none(), "then closed");
    println!("console connection closed {:?} after `kefu user remove`", removed.elapsed());
    assert!(removed.elapsed() < DEADLINE);
    // the desk saw the agent leave
    let start = Instant::now();
    loop {
        let desk = s.app.desk.snapshot().await.unwrap();
        if desk.agents.iter().all(|a| a.name != "li" || !a.connected) {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "the desk still has li connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // no more logins, not listed, and a second removal is a clear error
    assert_eq!(login(&s, "li", "li-password-1").await.0, StatusCode::UNAUTHORIZED);
    assert!(!cli_ok(&db, &["user", "list"], "").contains("li\t"));
    let again = cli(&db, &["user", "remove", "li"], "");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no account named \"li\""));

    // the name taken again: a new account (in force within the roster's few seconds too), and
    // the old token stays dead
    common::process::add_user(&db, "li", "agent", "a-new-password-2");
    let (status, body) = login(&s, "li", "a-new-password-2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_token = body["token"].as_str().unwrap();
    let ((status, _), _) = until_not(&s, "/api/queue", new_token, StatusCode::UNAUTHORIZED).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(call(&s.app, "GET", "/api/queue", Some(&token), None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_role_and_passwd_end_the_tokens_issued_before() {
    let s = TestServer::start_with(|_| {}).await;
    let db = s.app.config.database.clone();
    let agent_token = common::token(&s.app, "li", Role::Agent).await;
    let (mut console, _) = Client::agent(s.addr, &agent_token, json!({"langs": ["zh"]})).await;

    // agent → trainer: the agent token and its console connection end
    let out = cli_ok(&db, &["user", "set-role", "li", "trainer"], "");
    assert!(out.contains("li is now trainer"), "{out}");
    let ((status, body), took) = until_refused(&s, "/api/queue", &agent_token).await;
    println!("REST token refused {took:?} after `kefu user set-role`");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].as_str().unwrap().contains("changed since you logged in"), "{body}");
    let (frame, _) = console.until_type("error").await;
    assert_eq!(frame["code"], "unauthorized", "{frame}");
    assert!(console.next().await.is_none());
    // logging in again gives the new role
    let (status, body) = login(&s, "li", "li-password-1").await;
    assert_eq!((status, body["role"].as_str()), (StatusCode::OK, Some("trainer")), "{body}");
    let trainer_token = body["token"].as_str().unwrap().to_string();
    assert_eq!(call(&s.app, "GET", "/api/feedback", Some(&trainer_token), None).await.0, StatusCode::OK);
    assert_eq!(call(&s.app, "GET", "/api/queue", Some(&trainer_token), None).await.0, StatusCode::FORBIDDEN);

    // a new password: the tokens issued before end, the old password no longer logs in
    let out = cli_ok(&db, &["user", "passwd", "li"], "another-password-3\n");
    assert!(out.contains("password of li changed"), "{out}");
    let ((status, _), took) = until_refused(&s, "/api/feedback", &trainer_token).await;
    println!("REST token refused {took:?} after `kefu user passwd`");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&s, "li", "li-password-1").await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = login(&s, "li", "another-password-3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap();
    assert_eq!(call(&s.app, "GET", "/api/feedback", Some(token), None).await.0, StatusCode::OK);

    // a weak password is refused, and nothing changes
    let weak = cli(&db, &["user", "passwd", "li"], "short\n");
    assert!(!weak.status.success());
    assert_eq!(call(&s.app, "GET", "/api/feedback", Some(token), None).await.0, StatusCode::OK);
}

/// A change made in the server's own process takes effect at once (the cache is invalidated,
/// not waited out).
#[tokio::test]
async fn changes_in_process_end_tokens_at_once() {
    let s = TestServer::start_with(|_| {}).await;
    let token = common::token(&s.app, "amy", Role::Admin).await;
    assert_eq!(call(&s.app, "GET", "/api/feedback", Some(&token), None).await.0, StatusCode::OK);
    s.app.roster.set_role("amy", Role::Trainer).await.unwrap();
    assert_eq!(call(&s.app, "GET", "/api/feedback", Some(&token), None).await.0, StatusCode::UNAUTHORIZED);
    assert!(matches!(
        s.app.roster.remove("nobody").await,
        Err(kefu::accounts::AccountError::NoSuchAccount(_))
    ));
}

#[tokio::test]
async fn user_list_shows_the_accounts_but_never_a_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    common::process::add_user(&db, "li", "agent", "agent-password-1");
    cli_ok(
        &db,
        &["user", "add", "wang", "--role", "trainer", "--display-name", "Wang Fang"],
        "trainer-password-1\n",
    );
    let list = cli_ok(&db, &["user", "list"], "");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "name\tdisplay name\trole\tcreated", "{list}");
    assert!(lines[1].starts_with("li\tli\tagent\t20"), "{list}");
    assert!(lines[2].starts_with("wang\tWang Fang\ttrainer\t20"), "{list}");
    assert_eq!(lines.len(), 3);
    assert!(!list.contains("argon2") && !list.contains("password"), "{list}");
}
