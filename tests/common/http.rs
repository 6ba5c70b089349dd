//! HTTP clients for the integration tests: a request to the service's router in this process
//! (tower's `oneshot`, no socket), or plain HTTP/1.1 over TCP to a listening server.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{request, Request, StatusCode};
use kefu::app::AppState;
use kefu::identity::Role;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tower::ServiceExt;

/// An HTTP answer: status, headers (names lower-case) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap()
    }

    /// The body as JSON, `Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

// ---- in process ----

/// A request for [`oneshot`], with an optional staff token (the body is the caller's).
pub fn request(method: &str, uri: &str, token: Option<&str>) -> request::Builder {
    let req = Request::builder().method(method).uri(uri);
    match token {
        Some(t) => req.header("authorization", format!("Bearer {t}")),
        None => req,
    }
}

/// One request to the app's router, in process.
pub async fn oneshot(app: &Arc<AppState>, req: Request<Body>) -> Answer {
    let resp = kefu::web::routes(app.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// One HTTP request to the app's router (in process), with an optional staff token and JSON
/// body; the status and the JSON answer (`Null` when the body is not JSON).
pub async fn call(
    app: &Arc<AppState>,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = request(method, uri, token);
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    let a = oneshot(app, req.unwrap()).await;
    (a.status_code(), a.json())
}

/// A GET with a staff token whose answer is text (e.g. `/metrics`).
pub async fn get_text(app: &Arc<AppState>, uri: &str, token: &str) -> String {
    oneshot(app, request("GET", uri, Some(token)).body(Body::empty()).unwrap()).await.body
}

/// A new staff account of `role` (password `<name>-password-1`), logged in through
/// `POST /api/login`: its token.
pub async fn token(app: &Arc<AppState>, name: &str, role: Role) -> String {
    let password = format!("{name}-password-1");
    kefu::accounts::add(&app.store, name, "", role, &password).await.unwrap();
    let (status, body) =
        call(app, "POST", "/api/login", None, Some(json!({"name": name, "password": password}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_string()
}

// ---- over TCP ----

/// A TCP connection to `addr` from the local address `from` (any 127.x.y.z works on Linux).
pub async fn connect_from(from: &str, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0))?;
    s.connect(addr).await
}

/// One HTTP/1.1 request on its own connection (`Connection: close`), with an optional Bearer
/// token and JSON body. An I/O error is the server refusing or cutting the connection.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<Answer> {
    http_on(TcpStream::connect(addr).await?, method, path, token, body).await
}

/// [`http`] on a connection already made (e.g. by [`connect_from`]).
pub async fn http_on(
    mut s: TcpStream,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<Answer> {
    let host = s.peer_addr()?;
    let body = body.unwrap_or("");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body.as_bytes()).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or(std::io::ErrorKind::UnexpectedEof)?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Answer { status, headers, body: body.to_string() })
}

/// `POST /api/login` (a future that owns its body, so it can be spawned): the answer, or the
/// I/O error when the server cut the connection.
pub fn login(
    addr: SocketAddr,
    name: &str,
    password: &str,
) -> impl std::future::Future<Output = std::io::Result<Answer>> + Send + 'static {
    let body = json!({"name": name, "password": password}).to_string();
    async move { http(addr, "POST", "/api/login", None, Some(&body)).await }
}

/// Waits until the server closes `tcp` (EOF or reset), up to `limit`; whether it did.
pub async fn closed_by_server(tcp: &mut TcpStream, limit: std::time::Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}
