//! One shopper WebSocket session: decode frames, enforce limits, store every inbound message
//! before acknowledging it, ask the dialogue router, store and send the replies.
//!
//! The socket is split: this task reads and decides; a writer task drains a bounded queue of
//! outgoing frames, so a client that stops reading holds up only its own session.
//!
//! While a human agent has the conversation (or it waits for one), the session also listens to
//! the service desk: the agent's messages, typing, transfer, resolve and hand-back arrive as
//! [`ShopperEvent`]s, already stored; shopper messages are stored, acknowledged and passed on.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::protocol::{
    context_problem, decode, Action, ClientMsg, Context, ErrorCode, HistoryItem, ServerMsg,
};
use super::ChatService;
use crate::agents::{Availability, Escalation, ShopperEvent, ShopperLink};
use crate::dialogue::texts::{self, t};
use crate::dialogue::{DialogueState, Outcome};
use crate::identity;
use crate::lang::Lang;
use crate::records::{FeedbackRecord, MessageMeta, Resolution};
use crate::socket::{self, Strikes, CLOSE_POLICY};
use crate::store::{Accepted, Conversation, ConversationState, Sender};

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
                if let Some(live) = self.live.as_mut() {
                    router.set_page(&mut live.dialogue, page);
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

    async fn hello(
        &mut self,
        token: Option<String>,
        lang: Option<String>,
        resume: Option<String>,
        context: Option<Context>,
    ) -> bool {
        if self.live.is_some() {
            return self.error(ErrorCode::AlreadyStarted, "this connection already has a conversation").await;
        }
        if let Some(problem) = context.as_ref().and_then(context_problem) {
            return self.error(ErrorCode::MalformedFrame, problem).await;
        }
        let shopper_id = match token {
            None => None,
            Some(t) => {
                let Some(secret) = self.svc.settings.token_secret.as_deref() else {
                    return self.error(ErrorCode::BadToken, identity::TokenError::Disabled.to_string()).await;
                };
                let max = self.svc.settings.shopper_token_max_secs;
                match identity::verify_shopper(secret, &t, chrono::Utc::now().timestamp(), max) {
                    Ok(c) => Some(c.sub),
                    Err(e) => return self.error(ErrorCode::BadToken, e.to_string()).await,
                }
            }
        };
        let lang = lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::Zh);
        let store = &self.svc.router.store;
        let conv = match resume {
            Some(id) => match store.conversation(id).await {
                Ok(Some(c)) if c.shopper_id == shopper_id => c,
                Ok(_) => {
                    return self
                        .error(ErrorCode::UnknownConversation, "no such conversation for this shopper")
                        .await
                }
                Err(e) => return self.storage_error(e).await,
            },
            None if self.conversation_limited(shopper_id.as_deref()) => {
                let message = "too many new conversations from here; wait a minute and try again";
                return self.error(ErrorCode::RateLimited, message).await;
            }
            None => match store.open_conversation(shopper_id.clone(), lang).await {
                Ok(c) => c,
                Err(e) => return self.storage_error(e).await,
            },
        };
        // the bot's memory of a resumed conversation: a half-finished flow goes on (read before
        // `welcome`: a client that has a conversation id has a live session)
        let stored = match store.dialogue_state(conv.id.clone()).await {
            Ok(d) => d,
            Err(e) => return self.storage_error(e).await,
        };
        let mut dialogue = stored
            .and_then(|json| {
                let st = DialogueState::from_json(&json, conv.shopper_id.as_deref());
                if st.is_none() {
                    tracing::warn!(conversation = %conv.id, "stored dialogue state unreadable; starting afresh");
                }
                st
            })
            .unwrap_or_else(|| DialogueState::new(conv.lang, conv.shopper_id.clone()));
        if let Some(c) = context {
            let router = &self.svc.router;
            let page = router.checked_page(c.product, c.order, c.url);
            router.set_page(&mut dialogue, page);
        }
        let history = match store.recent_messages(conv.id.clone(), HISTORY).await {
            Ok(h) => h,
            Err(e) => return self.storage_error(e).await,
        };
        let history = history
            .into_iter()
            .map(|m| HistoryItem {
                from: m.sender,
                text: m.text,
                // the shopper's own ids only (agents' ids are internal)
                client_id: m.client_msg_id.filter(|_| m.sender == Sender::Shopper),
                at: m.created_at,
            })
            .collect();
        self.send(ServerMsg::Welcome { conversation_id: conv.id.clone(), history }).await;
        self.send(ServerMsg::Status { state: conv.state, agent: None }).await;
        let ended = conv.state == ConversationState::Closed;
        let conv_id = conv.id.clone();
        self.live = Some(Live { conv, dialogue, ended });
        if self.with_agents() {
            let (link, rx) = ShopperLink::new();
            self.events = Some(rx);
            self.link = link.id;
            self.svc.desk.shopper_online(conv_id, link).await;
        }
        true
    }

    /// Whether the conversation is with a human agent or waiting for one.
    fn with_agents(&self) -> bool {
        self.live.as_ref().is_some_and(|l| {
            !l.ended && matches!(l.conv.state, ConversationState::Agent | ConversationState::WaitingAgent)
        })
    }

    /// Why a text is over the message length limit, if it is.
    fn too_long(&self, text: &str) -> Option<String> {
        let max = self.svc.settings.max_message_chars;
        let chars = text.chars().count();
        (chars > max).then(|| format!("message is {chars} characters, at most {max}"))
    }

    async fn storage_error(&mut self, e: crate::store::StoreError) -> bool {
        tracing::error!(error = %e, "store failed");
        self.error(ErrorCode::StorageUnavailable, "could not save right now; please resend in a moment").await
    }

    /// Gives back a token taken for a message that turned out not to be new.
    fn refund(&mut self, taken: bool) {
        if taken {
            self.tokens += 1.0;
            self.svc.rates.message_refund(self.client, self.shopper());
        }
    }

    fn shopper(&self) -> Option<&str> {
        self.live.as_ref().and_then(|l| l.conv.shopper_id.as_deref())
    }

    /// Whether a new conversation now would be over the address's or the shopper's limit.
    fn conversation_limited(&self, shopper: Option<&str>) -> bool {
        match self.svc.rates.new_conversation(self.client, shopper) {
            Ok(()) => false,
            Err(limit) => {
                self.count_limited("conversation", limit);
                true
            }
        }
    }

    fn count_limited(&self, what: &str, limit: crate::chat::rates::Limited) {
        let limit = match limit {
            crate::chat::rates::Limited::Address => "address",
            crate::chat::rates::Limited::Shopper => "shopper",
        };
        self.svc.metrics.limited.with_label_values(&[what, limit]).inc();
        tracing::debug!(client = %self.client, what, limit, "rate limited");
    }

    /// Takes a token from this connection's bucket and from the limits it shares with the
    /// client's other connections.
    fn take_token(&mut self) -> bool {
        let rate = self.svc.settings.messages_per_minute as f64;
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.refilled).as_secs_f64() * rate / 60.0).min(rate);
        self.refilled = now;
        if self.tokens < 1.0 {
            return false;
        }
        if let Err(limit) = self.svc.rates.message(self.client, self.shopper()) {
            self.count_limited("message", limit);
            return false;
        }
        self.tokens -= 1.0;
        true
    }

    async fn message(&mut self, id: String, text: String, context: Option<Context>) -> bool {
        let Some(live) = &self.live else {
            return self.error(ErrorCode::NotStarted, "send hello first").await;
        };
        let conv_id = live.conv.id.clone();
        let closed = live.conv.state == ConversationState::Closed || live.ended;
        if let Some(problem) = self.too_long(&text) {
            return self.error(ErrorCode::TooLong, problem).await;
        }
        if text.trim().is_empty() || id.trim().is_empty() || id.chars().count() > 128 {
            return self.error(ErrorCode::EmptyMessage, "message needs a non-empty id (≤128) and text").await;
        }
        if id.starts_with("agent:") {
            return self.error(ErrorCode::MalformedFrame, "message ids may not start with \"agent:\"").await;
        }
        if let Some(problem) = context.as_ref().and_then(context_problem) {
            return self.error(ErrorCode::MalformedFrame, problem).await;
        }
        // a message already stored is acknowledged again, whatever happened since; a new one
        // is stored (on disk) before its ack, unless the conversation is closed or rate-limited
        let token = !closed && self.take_token();
        let accepted = match self
            .svc
            .router
            .store
            .accept_shopper_message(conv_id.clone(), id.clone(), text.clone(), token)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                self.refund(token);
                return self.storage_error(e).await;
            }
        };
        let with_agent = self.live.as_ref().is_some_and(|l| l.conv.state == ConversationState::Agent);
        // the desk may have given it to an agent before this session heard: it relays to the owner
        let with_agents = self.with_agents();
        match accepted {
            Accepted::Known { answered } => {
                self.refund(token);
                self.send(ServerMsg::Ack { id }).await;
                if answered || closed || with_agent {
                    return true;
                }
                // stored but never answered (the reply failed): answer it now
                self.route(conv_id, text, context).await
            }
            Accepted::Refused if closed => {
                self.error(ErrorCode::ConversationClosed, "this conversation has ended; start a new one")
                    .await
            }
            Accepted::Refused => {
                self.error(ErrorCode::RateLimited, "too many messages; slow down and resend").await
            }
            Accepted::New(row) => {
                self.send(ServerMsg::Ack { id }).await;
                self.svc.metrics.messages.inc();
                if with_agents {
                    self.svc.desk.shopper_said(conv_id.clone(), row, text.clone(), crate::store::now()).await;
                }
                if with_agent {
                    // a person is answering: the bot stays quiet
                    return true;
                }
                self.route(conv_id, text, context).await
            }
        }
    }

    /// Asks the router about a stored message and delivers its replies.
    /// `card` is the context of a tapped card, if the message came from one.
    async fn route(&mut self, conv_id: String, text: String, card: Option<Context>) -> bool {
        let started = Instant::now();
        let router = self.svc.router.clone();
        let tapped = card.map(|c| router.checked_page(c.product, c.order, None));
        let live = self.live.as_mut().expect("checked above");
        // the memory as it was: a turn that fails (not stored, not answered) leaves no trace, so
        // the client's resend is routed against the same state the store holds
        let before = live.dialogue.clone();
        let outcome = match router.handle(&mut live.dialogue, &conv_id, &text, tapped.as_ref()).await {
            Ok(o) => o,
            Err(e) => {
                live.dialogue = before;
                return self.storage_error(e).await;
            }
        };
        if let Some(intent) = outcome.replies.first().and_then(|r| r.intent.clone()) {
            self.svc.metrics.intents.with_label_values(&[intent.as_str()]).inc();
        }
        let ok = self.deliver(outcome, before).await;
        self.svc.metrics.reply_latency.observe(started.elapsed().as_secs_f64());
        ok
    }

    /// Stores and sends a turn's replies; `before` is the dialogue state to go back to when
    /// they cannot be stored.
    async fn deliver(&mut self, outcome: Outcome, before: DialogueState) -> bool {
        let live = self.live.as_mut().expect("a live conversation");
        let conv_id = live.conv.id.clone();
        let store = self.svc.router.store.clone();
        // the turn's replies and the dialogue memory after it are stored together (one commit)
        // before any is sent
        let dialogue = live.dialogue.to_json();
        let rows = outcome
            .replies
            .iter()
            .map(|r| {
                let meta = MessageMeta {
                    intent: r.intent.clone(),
                    confidence: r.confidence,
                    faq_id: r.faq_id.clone(),
                    decision: r.decision,
                    ..MessageMeta::default()
                };
                (r.text.clone(), Some(meta))
            })
            .collect();
        if let Err(e) = store.add_bot_turn(conv_id.clone(), rows, dialogue).await {
            if let Some(live) = self.live.as_mut() {
                live.dialogue = before;
            }
            return self.storage_error(e).await;
        }
        for r in outcome.replies {
            self.send(ServerMsg::Reply {
                from: Sender::Bot,
                text: r.text,
                agent: None,
                intent: r.intent,
                confidence: r.confidence,
                faq_id: r.faq_id,
                suggestions: r.suggestions,
                cards: r.cards,
                actions: vec![],
            })
            .await;
        }
        if let Some(reason) = outcome.escalate {
            if self.live.as_ref().is_some_and(|l| l.conv.state == ConversationState::Bot) {
                return self.escalate(reason).await;
            }
        }
        true
    }

    /// Hands the conversation to the service desk and tells the shopper how long it may take.
    async fn escalate(&mut self, reason: String) -> bool {
        let live = self.live.as_mut().expect("a live conversation");
        self.svc.metrics.escalations.with_label_values(&[reason.as_str()]).inc();
        let d = &live.dialogue;
        let escalation = Escalation {
            conversation_id: live.conv.id.clone(),
            shopper_id: live.conv.shopper_id.clone(),
            lang: d.lang,
            reason,
            bot: d.escalation_context(),
        };
        let (conv_id, lang) = (live.conv.id.clone(), d.lang);
        let (link, rx) = ShopperLink::new();
        self.link = link.id;
        let availability = match self.svc.desk.escalate(escalation, link).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "could not reach the service desk");
                return self
                    .error(
                        ErrorCode::StorageUnavailable,
                        "could not reach an agent right now; please try again",
                    )
                    .await;
            }
        };
        self.events = Some(rx);
        if let Some(live) = self.live.as_mut() {
            live.conv.state = ConversationState::WaitingAgent;
        }
        self.send(ServerMsg::Status { state: ConversationState::WaitingAgent, agent: None }).await;
        let (text, actions) = match availability {
            Availability::Assigned => return true,
            Availability::Queued { position, wait_secs } => {
                let minutes = wait_secs.unwrap_or(60).div_ceil(60).max(1);
                let ahead = position.saturating_sub(1);
                let text = t(
                    lang,
                    &format!("您前面还有 {ahead} 位，预计等待约 {minutes} 分钟。等待期间有问题也可以继续问我。"),
                    &format!("{ahead} ahead of you; the expected wait is about {minutes} min. You can keep asking me while you wait."),
                );
                (text, vec![])
            }
            Availability::NoAgents => (
                t(
                    lang,
                    "抱歉，现在没有人工客服在线。您可以给我们留言，客服上线后会尽快联系您；等待期间我也会继续为您解答。",
                    "Sorry, no agent is online right now. You can leave a message and an agent will get back to you; meanwhile I'm still here to help.",
                ),
                vec![Action::LeaveMessage],
            ),
            Availability::Closed { hours } => (
                t(
                    lang,
                    &format!("现在是人工客服的休息时间（服务时间 {hours}）。您可以给我们留言，上班后客服会尽快联系您；我也会继续为您解答。"),
                    &format!("Our agents are off duty right now (hours {hours}). Leave a message and they'll get back to you; meanwhile I'm still here to help."),
                ),
                vec![Action::LeaveMessage],
            ),
        };
        let meta = MessageMeta::event("availability");
        if let Err(e) =
            self.svc.router.store.add_message(conv_id, Sender::Bot, text.clone(), Some(meta)).await
        {
            return self.storage_error(e).await;
        }
        let mut reply = ServerMsg::text(Sender::Bot, text, None);
        if let ServerMsg::Reply { actions: a, .. } = &mut reply {
            *a = actions;
        }
        self.send(reply).await;
        true
    }

    /// What the service desk says: already stored, so only shown here.
    async fn on_desk(&mut self, event: ShopperEvent) -> bool {
        let system = |text: String, agent: Option<String>| ServerMsg::text(Sender::System, text, agent);
        let set = |s: &mut Session, state: ConversationState| {
            if let Some(live) = s.live.as_mut() {
                live.conv.state = state;
                if state == ConversationState::Bot {
                    live.dialogue.unresolved = 0;
                    live.dialogue.pending = None;
                }
            }
        };
        match event {
            ShopperEvent::Joined { agent, text } => {
                set(self, ConversationState::Agent);
                self.send(ServerMsg::Status { state: ConversationState::Agent, agent: Some(agent.clone()) })
                    .await;
                self.send(system(text, Some(agent))).await;
            }
            ShopperEvent::Message { agent, text } => {
                self.send(ServerMsg::text(Sender::Agent, text, Some(agent))).await;
            }
            ShopperEvent::Typing { agent } => self.send(ServerMsg::Typing { agent }).await,
            ShopperEvent::Requeued { text } => {
                set(self, ConversationState::WaitingAgent);
                self.send(ServerMsg::Status { state: ConversationState::WaitingAgent, agent: None }).await;
                self.send(system(text, None)).await;
            }
            ShopperEvent::HandedBack { text } => {
                set(self, ConversationState::Bot);
                self.events = None;
                self.send(ServerMsg::Status { state: ConversationState::Bot, agent: None }).await;
                self.send(system(text, None)).await;
            }
            ShopperEvent::Resolved { text } => {
                self.events = None;
                self.send(system(text, None)).await;
                self.finish(Resolution::AgentResolved).await;
                let scale = texts::rating_scale(self.lang());
                self.send(ServerMsg::RatingRequest { scale }).await;
            }
        }
        true
    }

    /// A message left for the agents: stored as a ticket they see in the console.
    async fn ticket(&mut self, text: String, contact: Option<String>) -> bool {
        let Some(live) = &self.live else {
            return self.error(ErrorCode::NotStarted, "send hello first").await;
        };
        let (conv_id, shopper, lang) =
            (live.conv.id.clone(), live.conv.shopper_id.clone(), live.dialogue.lang);
        if let Some(problem) = self.too_long(&text) {
            return self.error(ErrorCode::TooLong, problem).await;
        }
        if text.trim().is_empty() {
            return self.error(ErrorCode::EmptyMessage, "the message for the agents is empty").await;
        }
        if contact.as_ref().is_some_and(|c| c.chars().count() > 200) {
            return self.error(ErrorCode::TooLong, "contact is longer than 200 characters").await;
        }
        if !self.take_token() {
            return self.error(ErrorCode::RateLimited, "too many messages; slow down and resend").await;
        }
        let store = self.svc.router.store.clone();
        let ticket = match store.create_ticket(conv_id, shopper, lang, text, contact).await {
            Ok(t) => t,
            Err(e) => return self.storage_error(e).await,
        };
        self.send(ServerMsg::Ticket { id: ticket.id.clone() }).await;
        let text = t(
            lang,
            &format!("已收到您的留言（编号 {}），客服会尽快联系您。", ticket.id),
            &format!("Got your message (ticket {}); an agent will get back to you soon.", ticket.id),
        );
        self.send(ServerMsg::text(Sender::Bot, text, None)).await;
        true
    }

    async fn rating(&mut self, score: u8, comment: Option<String>) -> bool {
        let Some(live) = &self.live else {
            return self.error(ErrorCode::NotStarted, "send hello first").await;
        };
        if !(1..=5).contains(&score) {
            return self.error(ErrorCode::BadRating, "score must be 1 to 5").await;
        }
        let comment =
            comment.map(|c| c.chars().take(self.svc.settings.max_message_chars).collect::<String>());
        let conv_id = live.conv.id.clone();
        let lang = live.dialogue.lang;
        if !self.take_token() {
            return self.error(ErrorCode::RateLimited, "too many messages; slow down and resend").await;
        }
        let store = self.svc.router.store.clone();
        let rated = match store.rate(conv_id.clone(), score, comment.clone()).await {
            Ok(r) => r,
            Err(e) => return self.storage_error(e).await,
        };
        if !rated {
            // no record yet (rated before the end): store the record as it stands, with the rating
            let Some(mut record) = self.record(Resolution::BotResolved).await else { return true };
            record.rating = Some(score);
            record.comment = comment.clone();
            if let Err(e) = store.save_feedback(record).await {
                return self.storage_error(e).await;
            }
        }
        let thanks = texts::t(lang, "感谢您的评价，祝您购物愉快！", "Thank you for your feedback!");
        self.send(ServerMsg::text(Sender::Bot, thanks, None)).await;
        true
    }

    /// The feedback record of the live conversation as it stands.
    async fn record(&self, resolution: Resolution) -> Option<FeedbackRecord> {
        let live = self.live.as_ref()?;
        let store = &self.svc.router.store;
        let msgs = store.messages(live.conv.id.clone()).await.ok()?;
        let agent = store.agent_summary(live.conv.id.clone()).await.ok()?;
        let count = |s: Sender| msgs.iter().filter(|m| m.sender == s).count();
        let counts = [count(Sender::Shopper), count(Sender::Bot), count(Sender::Agent)];
        Some(live.dialogue.feedback_record(
            &live.conv,
            counts,
            agent.as_ref(),
            resolution,
            crate::store::now(),
        ))
    }

    /// Stores the feedback record as it stands without ending the conversation.
    async fn record_only(&self, resolution: Resolution) {
        let Some(live) = &self.live else { return };
        if live.ended {
            return;
        }
        if let Some(record) = self.record(resolution).await {
            if let Err(e) = self.svc.router.store.save_feedback(record).await {
                tracing::error!(error = %e, "could not store feedback record");
            }
        }
    }

    /// Ends the conversation once: stores its feedback record and closes it.
    async fn finish(&mut self, resolution: Resolution) {
        let Some(live) = &self.live else { return };
        if live.ended {
            return;
        }
        let conv_id = live.conv.id.clone();
        let store = &self.svc.router.store;
        match self.record(resolution).await {
            Some(record) => {
                if let Err(e) = store.save_feedback(record).await {
                    tracing::error!(error = %e, "could not store feedback record");
                }
            }
            None => tracing::error!(conversation = %conv_id, "could not build feedback record"),
        }
        if let Err(e) = store.set_state(conv_id, ConversationState::Closed, None).await {
            tracing::error!(error = %e, "could not close conversation");
        }
        if let Some(live) = self.live.as_mut() {
            live.ended = true;
            live.conv.state = ConversationState::Closed;
        }
        self.send(ServerMsg::Status { state: ConversationState::Closed, agent: None }).await;
    }
}
