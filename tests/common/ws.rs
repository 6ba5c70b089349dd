//! A WebSocket client for the integration tests: a shopper on `/ws/chat` or an agent on
//! `/ws/agent`, speaking docs/protocol.md to the real server on 127.0.0.1.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kefu::identity::{sign, Claims};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::server::SECRET;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Client {
    pub ws: Ws,
    n: u32,
}

impl Client {
    pub async fn connect(addr: SocketAddr, path: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}")).await.unwrap();
        Client { ws, n: 0 }
    }

    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::Text(v.to_string().into())).await.unwrap();
    }

    /// The next text frame, or None once the server closed the connection.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let m =
                tokio::time::timeout(Duration::from_secs(20), self.ws.next()).await.expect("a frame in time");
            match m {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Receives until a frame matching `pred`, returning it and everything before it.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let mut seen = Vec::new();
        loop {
            let v = self.next().await.unwrap_or_else(|| panic!("closed; saw {seen:#?}"));
            if pred(&v) {
                return (v, seen);
            }
            seen.push(v);
        }
    }

    pub async fn until_type(&mut self, ty: &str) -> (Value, Vec<Value>) {
        self.until(|v| v["type"] == ty).await
    }

    // ---- shopper side ----

    /// A shopper (signed in as `shopper_id`, or a guest) who said hello: the client and the
    /// conversation id.
    pub async fn shopper(addr: SocketAddr, shopper_id: Option<&str>) -> (Client, String) {
        let mut c = Client::connect(addr, "/ws/chat").await;
        let token = shopper_id
            .map(|id| sign(SECRET, &Claims { sub: id.into(), exp: chrono::Utc::now().timestamp() + 3600 }));
        c.send(json!({"type": "hello", "token": token})).await;
        let (w, _) = c.until_type("welcome").await;
        c.until_type("status").await;
        (c, w["conversation_id"].as_str().unwrap().to_string())
    }

    /// Sends a shopper message and waits for its ack.
    pub async fn say(&mut self, text: &str) {
        self.n += 1;
        let id = format!("m{}", self.n);
        self.send(json!({"type": "message", "id": id, "text": text})).await;
        self.until(|v| v["type"] == "ack" && v["id"] == id).await;
    }

    // ---- agent side ----

    /// An agent signed in with a staff token and `hello`'s other fields: the client and the
    /// `welcome` frame.
    pub async fn agent(addr: SocketAddr, token: &str, hello: Value) -> (Client, Value) {
        let mut c = Client::connect(addr, "/ws/agent").await;
        let mut hello = hello;
        hello["type"] = json!("hello");
        hello["token"] = json!(token);
        c.send(hello).await;
        let (w, _) = c.until_type("welcome").await;
        (c, w)
    }

    /// Waits for the `assigned` frame of a conversation.
    #[allow(dead_code)]
    pub async fn assigned(&mut self, conv: &str) -> Value {
        self.until(|v| v["type"] == "assigned" && v["conversation_id"] == conv).await.0
    }
}
