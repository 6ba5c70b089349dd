//! A WebSocket client for the integration tests: a shopper on `/ws/chat` or an agent on
//! `/ws/agent`, speaking docs/protocol.md to the real server on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kefu::identity::{sign, Claims};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::server::SECRET;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long to wait for a frame the test expects (a hang guard, not a speed assertion).
pub const PATIENCE: Duration = Duration::from_secs(60);
/// The frames of one turn come right after one another (one store commit): a turn is over when
/// nothing more came for this long.
const SETTLE: Duration = Duration::from_millis(400);

/// Message ids unique across connections: a resumed conversation must not see an old id again.
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// A new shopper token for `shopper_id`, valid for an hour.
pub fn shopper_token(shopper_id: &str) -> String {
    sign(SECRET, &Claims { sub: shopper_id.into(), exp: chrono::Utc::now().timestamp() + 3600 })
}

pub struct Client {
    pub ws: Ws,
}

impl Client {
    pub async fn connect(addr: SocketAddr, path: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}")).await.unwrap();
        Client { ws }
    }

    /// A WebSocket on a TCP connection already made (from another local address, with small
    /// buffers, …) to `addr`.
    pub async fn over(tcp: TcpStream, addr: SocketAddr, path: &str) -> Client {
        let (ws, _) =
            tokio_tungstenite::client_async(format!("ws://{addr}{path}"), MaybeTlsStream::Plain(tcp))
                .await
                .unwrap();
        Client { ws }
    }

    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::Text(v.to_string().into())).await.unwrap();
    }

    /// Sends a frame; whether the connection took it.
    pub async fn try_send(&mut self, v: Value) -> bool {
        self.ws.send(Message::Text(v.to_string().into())).await.is_ok()
    }

    /// The next text frame, or None once the server closed the connection.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            match tokio::time::timeout(PATIENCE, self.ws.next()).await.expect("a frame in time") {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The close frame the server ends the connection with (text frames before it are
    /// skipped); None when it ended without one.
    pub async fn close_frame(&mut self) -> Option<CloseFrame> {
        loop {
            match tokio::time::timeout(PATIENCE, self.ws.next()).await.expect("the server answers") {
                Some(Ok(Message::Close(c))) => return c,
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return None,
            }
        }
    }

    /// The code of [`Client::close_frame`].
    pub async fn close_code(&mut self) -> Option<u16> {
        self.close_frame().await.map(|c| u16::from(c.code))
    }

    /// The text frames already queued, up to a pause of `SETTLE`.
    async fn settled(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(SETTLE, self.ws.next()).await {
            out.push(serde_json::from_str(t.as_str()).unwrap());
        }
        out
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

    /// Receives until a frame of type `ty`; None when the connection ends first.
    pub async fn try_until(&mut self, ty: &str) -> Option<Value> {
        loop {
            let v = self.next().await?;
            if v["type"] == ty {
                return Some(v);
            }
        }
    }

    // ---- shopper side ----

    /// Sends `hello` with `fields` (token, resume, lang, context…) and expects `welcome` (then
    /// the `status` frame after it): the welcome.
    pub async fn hello(&mut self, fields: Value) -> Value {
        let mut hello = fields;
        hello["type"] = json!("hello");
        self.send(hello).await;
        let (w, _) = self.until(|v| v["type"] == "welcome" || v["type"] == "error").await;
        assert_eq!(w["type"], "welcome", "{w}");
        let (st, _) = self.until_type("status").await;
        assert!(st["state"].is_string(), "{st}");
        w
    }

    /// A shopper (signed in as `shopper_id`, or a guest) who said hello: the client and the
    /// conversation id.
    pub async fn shopper(addr: SocketAddr, shopper_id: Option<&str>) -> (Client, String) {
        let mut c = Client::connect(addr, "/ws/chat").await;
        let w = c.hello(json!({"token": shopper_id.map(shopper_token)})).await;
        (c, w["conversation_id"].as_str().unwrap().to_string())
    }

    /// A shopper who said hello with `fields`: the client and the conversation id.
    pub async fn shopper_with(addr: SocketAddr, fields: Value) -> (Client, String) {
        let mut c = Client::connect(addr, "/ws/chat").await;
        let w = c.hello(fields).await;
        (c, w["conversation_id"].as_str().unwrap().to_string())
    }

    /// Sends a shopper message and waits for its ack.
    pub async fn say(&mut self, text: &str) {
        let id = format!("m{}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
        self.send(json!({"type": "message", "id": id, "text": text})).await;
        self.until(|v| v["type"] == "ack" && v["id"] == id).await;
    }

    /// Sends a shopper message (with an optional card context) and expects its ack: the frames
    /// that came before the ack, and the turn's frames after it (up to the first reply or error,
    /// and those that follow at once).
    pub async fn turn(&mut self, text: &str, context: Option<Value>) -> (Vec<Value>, Vec<Value>) {
        let id = format!("m{}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
        let mut frame = json!({"type": "message", "id": id, "text": text});
        if let Some(c) = context {
            frame["context"] = c;
        }
        self.send(frame).await;
        let (ack, before) =
            self.until(|v| (v["type"] == "ack" && v["id"] == id) || v["type"] == "error").await;
        assert_eq!(ack["type"], "ack", "{ack}");
        let (first, mut after) = self.until(|v| v["type"] == "reply" || v["type"] == "error").await;
        after.push(first);
        after.extend(self.settled().await);
        (before, after)
    }

    /// Sends a shopper message and returns the bot's first reply to it.
    pub async fn ask(&mut self, text: &str) -> Value {
        self.say(text).await;
        self.until_type("reply").await.0
    }

    /// Ends the conversation (its feedback record is stored) and rates it if asked to.
    pub async fn end(&mut self, rating: Option<u8>) {
        self.send(json!({"type": "end"})).await;
        self.until_type("rating_request").await;
        if let Some(score) = rating {
            self.send(json!({"type": "rating", "score": score})).await;
            self.until_type("reply").await;
        }
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
    pub async fn assigned(&mut self, conv: &str) -> Value {
        self.until(|v| v["type"] == "assigned" && v["conversation_id"] == conv).await.0
    }
}
