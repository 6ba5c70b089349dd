//! Issue 15, item 7: a shopper token lives 24 hours at most (configurable) and must say when it
//! was issued; a token that expires in the year 3000 is refused.

mod common;

use common::server::{TestServer, SECRET};
use common::ws::Client;
use kefu::identity::{sign, sign_exact, Claims};
use serde_json::{json, Value};

/// The first answer to `hello` with `token`: `welcome` or `error`.
async fn hello(s: &TestServer, token: String) -> Value {
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    c.send(json!({"type": "hello", "token": token})).await;
    c.until(|v| v["type"] == "welcome" || v["type"] == "error").await.0
}

#[tokio::test]
async fn long_lived_tokens_and_tokens_without_iat_are_refused() {
    let s = TestServer::start_with(|_| {}).await;
    let now = chrono::Utc::now().timestamp();
    let year_3000 = 32_503_680_000i64;

    let r = hello(&s, sign_exact(SECRET, &json!({"sub": "S1001", "iat": now, "exp": year_3000}))).await;
    assert_eq!((r["type"].as_str(), r["code"].as_str()), (Some("error"), Some("bad_token")), "{r}");
    let r = hello(&s, sign_exact(SECRET, &Claims { sub: "S1001".into(), exp: now + 3600 })).await;
    assert_eq!(r["code"], "bad_token", "no iat: {r}");
    assert!(r["message"].as_str().unwrap().contains("iat"), "{r}");
    // sign() adds iat: an hour, and a day, are fine
    let r = hello(&s, sign(SECRET, &Claims { sub: "S1001".into(), exp: now + 3600 })).await;
    assert_eq!(r["type"], "welcome", "{r}");
    let r = hello(&s, sign(SECRET, &Claims { sub: "S1001".into(), exp: now + 86_000 })).await;
    assert_eq!(r["type"], "welcome", "{r}");
}

#[tokio::test]
async fn the_maximum_lifetime_is_configurable() {
    let s = TestServer::start_with(|c| c.shopper_token_max_secs = 600).await;
    let now = chrono::Utc::now().timestamp();
    let r = hello(&s, sign(SECRET, &Claims { sub: "S1001".into(), exp: now + 3600 })).await;
    assert_eq!(r["code"], "bad_token", "{r}");
    let r = hello(&s, sign(SECRET, &Claims { sub: "S1001".into(), exp: now + 300 })).await;
    assert_eq!(r["type"], "welcome", "{r}");
}
