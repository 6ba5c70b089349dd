//! One WebSocket connection's plumbing, shared by the shopper socket (`chat::session`) and the
//! agent socket (`agents::session`): the frame size limit, a bounded outbox drained by a writer
//! task that disconnects a client that accepts nothing for the send timeout, close frames with a
//! code and a reason, the frame-too-big error, and the count of protocol errors a connection may
//! make. It knows nothing of either protocol: each socket says how its frames become messages
//! ([`Outgoing`]).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest WebSocket frame accepted, on the shopper and the agent sockets; bigger ones close the
/// connection (code 1009).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// WebSocket close code for a policy violation (RFC 6455).
pub const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code for a message too big to process (RFC 6455).
pub const CLOSE_TOO_BIG: u16 = 1009;

/// A close frame with `code` and `reason`.
pub fn close(code: u16, reason: impl Into<String>) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into().into() }))
}

/// Parses a client's text frame as JSON, with every U+0000 in its strings replaced by U+FFFD:
/// PostgreSQL cannot store NUL in text, and a shopper's message must be stored whatever the
/// database, so the character becomes a visible replacement instead of failing the write.
pub fn parse_frame(text: &str) -> Result<serde_json::Value, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    if text.contains("\\u0000") || text.contains('\0') {
        replace_nul(&mut value);
    }
    Ok(value)
}

fn replace_nul(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{fffd}"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(replace_nul),
        serde_json::Value::Object(map) => map.values_mut().for_each(replace_nul),
        _ => {}
    }
}

/// A JSON text frame.
pub fn json(value: &impl serde::Serialize) -> Message {
    Message::Text(serde_json::to_string(value).expect("outgoing frames serialise").into())
}

/// Whether a read failed on a frame over [`MAX_FRAME_BYTES`].
pub fn too_big(e: &axum::Error) -> bool {
    e.to_string().contains("Message too long")
}

/// The close frame for a frame over [`MAX_FRAME_BYTES`] (code 1009).
pub fn close_too_big() -> Message {
    close(CLOSE_TOO_BIG, format!("frame larger than {} KiB", MAX_FRAME_BYTES / 1024))
}

/// What the writer does once a frame is sent.
pub enum After {
    /// Goes on with the next frame.
    Continue,
    /// Stops: the frame was the close frame.
    Stop,
    /// Sends this close frame, then stops.
    Close(Message),
}

/// A frame a connection's outbox carries: how it goes on the wire, and whether it is the last.
pub trait Outgoing: Send + 'static {
    fn into_message(self) -> (Message, After);
}

impl Outgoing for Message {
    fn into_message(self) -> (Message, After) {
        let after = if matches!(self, Message::Close(_)) { After::Stop } else { After::Continue };
        (self, after)
    }
}

/// One accepted WebSocket: `out` queues frames (at most the outbox's capacity), `stream` reads
/// the client's, and `writer` sends what is queued.
pub struct Connection<T> {
    pub out: mpsc::Sender<T>,
    pub stream: SplitStream<WebSocket>,
    pub writer: Writer,
}

/// The task that sends a connection's queued frames. It stops after a close frame, when the
/// socket fails, or when the client accepts nothing for the send timeout (it stopped reading:
/// it is dropped rather than queued for without bound); the outbox is then closed.
pub struct Writer(JoinHandle<()>);

impl Writer {
    /// Whether the writer has stopped.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }

    /// Waits until the writer has sent what was queued; every `out` must be dropped first.
    pub async fn drained(self) {
        let _ = self.0.await;
    }
}

/// Splits `socket`, with an outbox of `capacity` frames and a writer that waits at most
/// `send_timeout` for the client to accept each one.
pub fn connect<T: Outgoing>(socket: WebSocket, capacity: usize, send_timeout: Duration) -> Connection<T> {
    let (mut sink, stream) = socket.split();
    let (out, mut outbox) = mpsc::channel::<T>(capacity);
    let writer = tokio::spawn(async move {
        while let Some(f) = outbox.recv().await {
            let (m, after) = f.into_message();
            match tokio::time::timeout(send_timeout, sink.send(m)).await {
                Ok(Ok(())) => match after {
                    After::Continue => {}
                    After::Stop => break,
                    After::Close(close) => {
                        let _ = sink.send(close).await;
                        break;
                    }
                },
                Ok(Err(_)) => break,
                Err(_) => {
                    tracing::info!("client not reading; disconnecting it");
                    break;
                }
            }
        }
    });
    Connection { out, stream, writer: Writer(writer) }
}

/// Protocol errors a connection has made, up to the number it may make before it is closed.
pub struct Strikes {
    count: u32,
    max: u32,
}

impl Strikes {
    pub fn new(max: u32) -> Strikes {
        Strikes { count: 0, max }
    }

    /// Counts one more error.
    pub fn strike(&mut self) {
        self.count += 1;
    }

    /// Whether there have been more errors than allowed.
    pub fn exceeded(&self) -> bool {
        self.count > self.max
    }
}
