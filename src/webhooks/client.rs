//! One delivery attempt over HTTP: POST the event's body with the signature headers, within a
//! timeout; a 2xx is an acknowledgement, anything else a failure with a reason for the log.
//!
//! hyper-util's client (already in the tree for the server side) over plain TCP: no TLS in this
//! slice, so endpoints are `http://` (loopback, or a local TLS-terminating proxy for https).

use std::time::Duration;

use axum::body::Body;
use hyper::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::signature::{self, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Most response bytes read (the body is only drained, so the connection can be reused).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The outcome of one POST.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// The endpoint answered 2xx.
    Acknowledged(u16),
    /// It answered another status.
    Refused(u16),
    /// No answer: connection error or timeout.
    Failed(String),
}

/// What a delivery sends.
pub struct Outgoing<'a> {
    pub uri: &'a Uri,
    pub secret: &'a [u8],
    pub event_id: &'a str,
    pub kind: &'a str,
    pub body: &'a str,
}

/// A pooled HTTP/1 client. Cheap to clone.
#[derive(Clone)]
pub struct Poster {
    client: Client<HttpConnector, Body>,
    timeout: Duration,
}

impl Poster {
    pub fn new(timeout: Duration) -> Poster {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(16)
            .build(connector);
        Poster { client, timeout }
    }

    /// Signs (with the time now) and POSTs one event.
    pub async fn post(&self, out: Outgoing<'_>, now_secs: i64) -> Sent {
        let signature = signature::sign(out.secret, now_secs, out.body.as_bytes());
        let header =
            |v: &str| HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
        let request = Request::builder()
            .method(Method::POST)
            .uri(out.uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("kefu-webhooks/", env!("CARGO_PKG_VERSION")))
            .header(TIMESTAMP_HEADER, now_secs.to_string())
            .header(SIGNATURE_HEADER, header(&signature))
            .header(EVENT_ID_HEADER, header(out.event_id))
            .header(EVENT_TYPE_HEADER, header(out.kind))
            .body(Body::from(out.body.to_string()));
        let request = match request {
            Ok(r) => r,
            Err(e) => return Sent::Failed(format!("bad request: {e}")),
        };
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            // drained within the same timeout, so the pooled connection stays usable
            let _ = axum::body::to_bytes(Body::new(response.into_body()), MAX_RESPONSE_BYTES).await;
            Ok::<u16, String>(status)
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Sent::Failed(format!("no answer within {} s", self.timeout.as_secs_f64())),
            Ok(Err(e)) => Sent::Failed(e),
            Ok(Ok(s)) if (200..300).contains(&s) => Sent::Acknowledged(s),
            Ok(Ok(s)) => Sent::Refused(s),
        }
    }
}

/// The client error with its causes (hyper-util's own text says little: "client error (Connect)").
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
