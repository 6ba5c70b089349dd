//! One shopper WebSocket session: decode frames, enforce limits, store every inbound message
//! before acknowledging it, ask the dialogue router, store and send the replies.
//!
//! The socket is split (`crate::socket`): this task reads and decides; a writer task drains a
//! bounded queue of outgoing frames, so a client that stops reading holds up only its own session.
//!
//! While a human agent has the conversation (or it waits for one), the session also listens to
//! the service desk: the agent's messages, typing, transfer, resolve and hand-back arrive as
//! [`ShopperEvent`]s, already stored; shopper messages are stored, acknowledged and passed on.
//!
//! Here: the connection loop and the frames' dispatch. By job: [`hello`] (new or resumed
//! conversations), [`messages`] (store, acknowledge, route, reply), [`handoff`] (escalation,
//! the desk's events, tickets), [`feedback`] (the record, the end, the rating), [`limits`]
//! (length and rate), [`images`] (a photo sent into the chat).

mod feedback;
mod handoff;
mod hello;
mod images;
mod limits;
mod messages;
mod notices;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::protocol::{context_problem, decode, ClientMsg, ErrorCode, ServerMsg};
use super::ChatService;
use crate::agents::ShopperEvent;
use crate::dialogue::texts;
use crate::dialogue::DialogueState;
use crate::lang::Lang;
use crate::records::Resolution;
use crate::socket::{self, Strikes, CLOSE_POLICY};
use crate::store::{Conversation, ConversationState};

/// Outgoing frames queued per connection.
const OUTBOX: usize = 64;
/// Messages replayed in `welcome` on resume (the most recent ones).
const HISTORY: usize = 200;
/// Protocol errors tolerated on one connection before it is closed.
const MAX_ERRORS: u32 = 20;
/// Typing notices reach the agent at most this often.
const TYPING_EVERY: Duration = Duration::from_secs(2);

struct Live {
    conv: Conversation,
    dialogue: DialogueState,
    ended: bool,
}

struct Session {
    svc: Arc<ChatService>,
    out: mpsc::Sender<Message>,
    live: Option<Live>,
    /// Token-bucket rate limit: tokens left and when last refilled.
    tokens: f64,
    refilled: Instant,
    errors: Strikes,
    /// What the service desk says about this conversation, while agents are involved, and the
    /// id of this session's line from the desk.
    events: Option<mpsc::Receiver<ShopperEvent>>,
    link: u64,
    /// When a typing notice last went to the agent (they are throttled).
    typed: Option<Instant>,
    /// The client's address, for the limits shared by all its connections.
    client: IpAddr,
    /// Order updates for this conversation (`chat::live`), and this session's id there.
    updates: Option<super::live::Updates>,
    live_id: u64,
}

/// The next order update, or never when the session is not registered. A closed line (a newer
/// session took the conversation) answers `None` at once, which only disables the branch.
async fn next_update(
    updates: &mut Option<super::live::Updates>,
) -> Option<std::sync::Arc<crate::orders::events::OrderUpdate>> {
    match updates {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The next desk event, or never when the desk has nothing to say to this session.
async fn next_event(events: &mut Option<mpsc::Receiver<ShopperEvent>>) -> Option<ShopperEvent> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Serves one shopper connection from `client` until it closes.
pub async fn run(socket: WebSocket, svc: Arc<ChatService>, client: IpAddr) {
    let send_timeout = Duration::from_secs(svc.settings.send_timeout_secs.max(1));
    let socket::Connection { out, mut stream, writer } =
        socket::connect::<Message>(socket, OUTBOX, send_timeout);
    svc.metrics.connections.inc();
    let burst = svc.settings.messages_per_minute as f64;
    let mut s = Session {
        svc: svc.clone(),
        out,
        live: None,
        tokens: burst,
        refilled: Instant::now(),
        errors: Strikes::new(MAX_ERRORS),
        events: None,
        link: 0,
        typed: None,
        client,
        updates: None,
        live_id: 0,
    };
    let idle = Duration::from_secs(svc.settings.idle_timeout_secs.max(1));
    // a socket that never says hello is closed, whatever else it sends
    let hello_by = Instant::now() + Duration::from_secs(svc.settings.hello_timeout_secs);
    loop {
        let wait = match s.live {
            Some(_) => idle,
            None => hello_by.saturating_duration_since(Instant::now()),
        };
        let next = tokio::select! {
            next = tokio::time::timeout(wait, stream.next()) => next,
            event = next_event(&mut s.events) => {
                let keep_going = match event {
                    Some(e) => s.on_desk(e).await,
                    // the desk let go of this session; if agents still have the conversation, the
                    // client reconnects and resumes from the stored transcript
                    None => {
                        s.events = None;
                        !s.with_agents()
                    }
                };
                if !keep_going || s.out.is_closed() {
                    break;
                }
                continue;
            }
            Some(update) = next_update(&mut s.updates) => {
                if !s.on_order_update(update).await || s.out.is_closed() {
                    break;
                }
                continue;
            }
        };
        let frame = match next {
            Err(_) if s.live.is_none() => {
                let reason = format!("no hello within {} s", svc.settings.hello_timeout_secs);
                let _ = s.out.send(socket::close(CLOSE_POLICY, reason)).await;
                break;
            }
            Err(_) => {
                // idle: end the conversation and ask for a rating; a second idle period closes
                if s.live.as_ref().is_none_or(|l| l.ended || l.conv.state != ConversationState::Bot) {
                    break;
                }
                s.finish(Resolution::Abandoned).await;
                let scale = texts::rating_scale(s.lang());
                s.send(ServerMsg::RatingRequest { scale }).await;
                continue;
            }
            Ok(Some(Err(e))) => {
                // a frame over the size limit: say so before closing (RFC 6455 code 1009)
                if socket::too_big(&e) {
                    let _ = s.out.send(socket::close_too_big()).await;
                }
                break;
            }
            Ok(None) => break,
            Ok(Some(Ok(f))) => f,
        };
        let keep_going = match frame {
            Message::Text(t) => s.on_text(t.as_str()).await,
            Message::Binary(_) => {
                s.error(
                    ErrorCode::BinaryNotSupported,
                    "binary frames are not supported: send JSON text frames",
                )
                .await
            }
            Message::Close(_) => false,
            Message::Ping(_) | Message::Pong(_) => true,
        };
        // the writer gave up on a client that stopped reading
        if !keep_going || s.out.is_closed() {
            break;
        }
    }
    // the shopper may come back (resume): record the conversation as it stands, keep it open
    s.leave_live();
    s.record_only(Resolution::Abandoned).await;
    if s.events.is_some() {
        if let Some(live) = &s.live {
            svc.desk.shopper_offline(live.conv.id.clone(), s.link).await;
        }
    }
    svc.metrics.connections.dec();
    drop(s);
    writer.drained().await;
}

impl Session {
    async fn send(&self, m: ServerMsg) {
        let _ = self.out.send(socket::json(&m)).await;
    }

    /// Sends an `error` frame; returns false once a connection has misbehaved too often.
    async fn error(&mut self, code: ErrorCode, message: impl Into<String>) -> bool {
        if !matches!(code, ErrorCode::StorageUnavailable | ErrorCode::RateLimited) {
            self.errors.strike();
        }
        let label =
            serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        self.svc.metrics.errors.with_label_values(&[label.as_str()]).inc();
        self.send(ServerMsg::Error { code, message: message.into() }).await;
        if self.errors.exceeded() {
            let _ = self.out.send(socket::close(CLOSE_POLICY, "too many protocol errors")).await;
            return false;
        }
        true
    }

    fn lang(&self) -> Lang {
        self.live.as_ref().map_or(Lang::Zh, |l| l.dialogue.lang)
    }

    async fn on_text(&mut self, text: &str) -> bool {
        let msg = match decode(text) {
            Ok(m) => m,
            Err((code, message)) => return self.error(code, message).await,
        };
        match msg {
            ClientMsg::Hello { token, lang, resume, context } => {
                self.hello(token, lang, resume, context).await
            }
            ClientMsg::Message { id, text, context } => self.message(id, text, context).await,
            ClientMsg::Image { id, image } => self.image(id, image).await,
            ClientMsg::Context { context } => {
                if let Some(problem) = context_problem(&context) {
                    return self.error(ErrorCode::MalformedFrame, problem).await;
                }
                if self.live.is_none() {
                    return self.error(ErrorCode::NotStarted, "send hello first").await;
                }
                // page changes count against the message rate (each may log an unknown sku)
                if !self.take_token() {
                    return self
                        .error(ErrorCode::RateLimited, "too many messages; slow down and resend")
                        .await;
                }
                let router = &self.svc.router;
                let page = router.checked_page(context.product, context.order, context.url);
                let mut with_agents = None;
                if let Some(live) = self.live.as_mut() {
                    if matches!(live.conv.state, ConversationState::WaitingAgent | ConversationState::Agent) {
                        with_agents = Some((live.conv.id.clone(), page.clone()));
                    }
                    router.set_page(&mut live.dialogue, page);
                }
                // the agents see where the shopper is now
                if let Some((conv, page)) = with_agents {
                    self.svc.desk.shopper_page(conv, page).await;
                }
                true
            }
            ClientMsg::Rating { score, comment } => self.rating(score, comment).await,
            ClientMsg::Typing => {
                // at most one typing notice every 2 seconds reaches the agent
                let due = self.typed.is_none_or(|t| t.elapsed() >= TYPING_EVERY);
                if let Some(live) =
                    self.live.as_ref().filter(|l| due && l.conv.state == ConversationState::Agent)
                {
                    self.typed = Some(Instant::now());
                    self.svc.desk.shopper_typing(live.conv.id.clone()).await;
                }
                true
            }
            ClientMsg::Ticket { text, contact } => self.ticket(text, contact).await,
            ClientMsg::End => {
                let Some(live) = &self.live else {
                    return self.error(ErrorCode::NotStarted, "send hello first").await;
                };
                if self.with_agents() {
                    self.svc.desk.shopper_ended(live.conv.id.clone()).await;
                    self.events = None;
                }
                // an escalated conversation's record says "escalated" (and the handoff's outcome)
                self.finish(Resolution::BotResolved).await;
                let scale = texts::rating_scale(self.lang());
                self.send(ServerMsg::RatingRequest { scale }).await;
                true
            }
        }
    }

    /// Whether the conversation is with a human agent or waiting for one.
    fn with_agents(&self) -> bool {
        self.live.as_ref().is_some_and(|l| {
            !l.ended && matches!(l.conv.state, ConversationState::Agent | ConversationState::WaitingAgent)
        })
    }

    async fn storage_error(&mut self, e: crate::store::StoreError) -> bool {
        tracing::error!(error = %e, "store failed");
        self.error(ErrorCode::StorageUnavailable, "could not save right now; please resend in a moment").await
    }
}
