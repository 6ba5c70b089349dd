//! Issue 15, item 7: a request body over the limit is answered 413 Payload Too Large, not 400.

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use common::http::{oneshot, request};
use common::server::TestServer;
use kefu::identity::Role;

async fn post(
    s: &TestServer,
    uri: &str,
    token: Option<&str>,
    body: String,
    chunked: bool,
) -> (StatusCode, String) {
    let body = if chunked {
        // no Content-Length: the limit is found while reading
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.into_bytes().chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        Body::from(body)
    };
    let req = request("POST", uri, token).header("content-type", "application/json").body(body);
    let a = oneshot(&s.app, req.unwrap()).await;
    (a.status_code(), a.body)
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let s = TestServer::start_with(|_| {}).await;
    let big_name = "x".repeat(3 * 1024 * 1024);
    let login = format!(r#"{{"name":"{big_name}","password":"p"}}"#);
    for chunked in [false, true] {
        let (status, body) = post(&s, "/api/login", None, login.clone(), chunked).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "chunked {chunked}: {body}");
        assert!(body.contains("payload_too_large"), "{body}");
    }
    // the knowledge base's own, smaller limit (256 KiB)
    let token = common::token(&s.app, "wang", Role::Trainer).await;
    let entry = format!(r#"{{"id":"x","text":"{}"}}"#, "y".repeat(300 * 1024));
    let (status, body) = post(&s, "/api/kb/faq", Some(&token), entry, false).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // a body under the limit that does not parse is still 400
    let (status, _) = post(&s, "/api/login", None, "{not json".into(), false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
