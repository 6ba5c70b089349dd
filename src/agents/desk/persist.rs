//! The desk's persister: the task that stores what the desk decided, so the desk's loop never
//! waits on the disk.
//!
//! The desk hands it [`Write`]s (in the order it decided them) and carries on; the persister runs
//! them and sends each back as a [`Completion`] with what the store answered, and the desk then
//! tells the agents and shoppers (acks, relays, "you're now chatting with …"). So whatever
//! reaches a shopper or is acknowledged to an agent is already on disk.
//!
//! Order: writes of one conversation run one after the other, in the order given (a lane per
//! conversation), so a handoff is assigned before it is ended and a context read sees every
//! write decided before it. Writes of different conversations run at the same time, so the
//! store's group commit puts them in one transaction: many agents share one fsync instead of
//! waiting for the disk in turn.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::Escalation;
use crate::agents::queue::Waiting;
use crate::store::{
    Accepted, ConversationContext, ConversationState, ConversationStore, Handoff, HandoffOutcome,
    HandoffStore, Note, StoreError,
};

/// One thing to store for a conversation, with what the desk needs to act on its result.
#[derive(Debug)]
pub(crate) struct Write {
    pub(crate) conv: String,
    pub(crate) op: Op,
}

/// Who is told when a write is done: `(agent, op)` gets `done`, or the error.
pub(crate) type DoneFor = Option<(String, &'static str)>;

#[derive(Debug)]
pub(crate) enum Op {
    /// A new handoff for an escalation (with the shopper's VIP standing, read first).
    Open {
        escalation: Box<Escalation>,
    },
    /// The handoff `from.handoff` ends and a new one queues the conversation again.
    Requeue(Box<Requeue>),
    /// The handoff goes to `agent` with the shopper's notice `text`; then the conversation's
    /// context is read for them (after the write, so it has the notice and all before it).
    Assign {
        handoff: i64,
        agent: String,
        display: String,
        text: String,
        load: u64,
        done: DoneFor,
    },
    /// The context of a conversation an agent already has (they reconnected).
    Context {
        agent: String,
        load: u64,
    },
    /// An agent's message (stored once per client id).
    Message {
        handoff: i64,
        agent: String,
        display: String,
        id: String,
        text: String,
    },
    Note {
        agent: String,
        text: String,
    },
    /// `agent` recalls the agent message `message_id` (checked by the desk; see [`super::recall`]).
    Recall {
        agent: String,
        message_id: i64,
    },
    /// The handoff ends: the conversation moves to `state`, the shopper's notice `text` if any.
    End {
        handoff: i64,
        outcome: HandoffOutcome,
        state: ConversationState,
        text: Option<String>,
        why: EndBy,
    },
    /// A resolved conversation whose shopper had left: its feedback record gets the agent's part.
    CloseWithAgent,
}

/// A requeue: the handoff of `agent`'s conversation (`from.handoff`) ends with `outcome` and a
/// new one queues the conversation again, with the shopper's notice `text`.
#[derive(Debug)]
pub(crate) struct Requeue {
    pub(crate) agent: String,
    pub(crate) from: Waiting,
    pub(crate) since: Instant,
    pub(crate) outcome: HandoffOutcome,
    pub(crate) reason: String,
    pub(crate) exclude: Option<String>,
    /// Straight to this agent once stored (a transfer to someone), else the queue.
    pub(crate) to: Option<String>,
    pub(crate) done: DoneFor,
    pub(crate) text: String,
    /// No colleague was online when it was decided: the shopper is offered the message form
    /// and the agent who asked is warned.
    pub(crate) nobody: bool,
}

/// Who ended a handoff, and what to do once it is stored.
#[derive(Debug)]
pub(crate) enum EndBy {
    /// The owning agent resolved it or handed it back (`op`: "resolve", "handback"); on a
    /// failure they get it back as it was.
    Agent { agent: String, op: &'static str, waiting: Box<Waiting>, since: Instant },
    /// The shopper ended it; `reply` is answered once stored (or failed).
    Shopper { agent: Option<String>, reply: Option<oneshot::Sender<()>> },
}

/// What the store answered for a [`Write`] (the variant matches the [`Op`]).
#[derive(Debug)]
pub(crate) enum Stored {
    Opened {
        handoff: Handoff,
        vip: bool,
        name: Option<String>,
    },
    Requeued(Handoff),
    /// The assignment is stored; the context read after it.
    Assigned(Result<Option<ConversationContext>, StoreError>),
    Context(Option<ConversationContext>),
    Message(Accepted),
    Note(Note),
    /// When the message was recalled; None if it already was (or is not an agent's).
    Recalled(Option<String>),
    Done,
}

/// A write and its result, back to the desk.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) write: Write,
    pub(crate) result: Result<Stored, StoreError>,
}

/// Starts the persister on `store`: the desk sends writes on the first channel and reads their
/// completions from the second. It stops when the desk drops its sender, after finishing what
/// it was given.
pub(crate) fn spawn<S>(store: S) -> (mpsc::UnboundedSender<Write>, mpsc::UnboundedReceiver<Completion>)
where
    S: HandoffStore + ConversationStore + Clone + 'static,
{
    let (writes, rx) = mpsc::unbounded_channel();
    let (done, completions) = mpsc::unbounded_channel();
    tokio::spawn(run(store, rx, done));
    (writes, completions)
}

async fn run<S>(store: S, mut rx: mpsc::UnboundedReceiver<Write>, done: mpsc::UnboundedSender<Completion>)
where
    S: HandoffStore + ConversationStore + Clone + 'static,
{
    // conversations with a write running, and the writes waiting behind it
    let mut lanes: HashMap<String, VecDeque<Write>> = HashMap::new();
    let mut running = FuturesUnordered::new();
    let mut open = true;
    while open || !running.is_empty() {
        tokio::select! {
            w = rx.recv(), if open => match w {
                Some(w) => match lanes.get_mut(&w.conv) {
                    Some(waiting) => waiting.push_back(w),
                    None => {
                        lanes.insert(w.conv.clone(), VecDeque::new());
                        running.push(execute(store.clone(), w));
                    }
                },
                None => open = false,
            },
            Some(c) = running.next() => {
                let conv = c.write.conv.clone();
                if let Err(e) = &c.result {
                    tracing::error!(error = %e, conversation = %conv, "the desk could not store a write");
                }
                let _ = done.send(c);
                match lanes.get_mut(&conv).and_then(VecDeque::pop_front) {
                    Some(next) => running.push(execute(store.clone(), next)),
                    None => {
                        lanes.remove(&conv);
                    }
                }
            }
        }
    }
}

/// Runs one write against the store.
async fn execute<S: HandoffStore + ConversationStore>(store: S, write: Write) -> Completion {
    let conv = write.conv.clone();
    let result = match &write.op {
        Op::Open { escalation: e } => {
            async {
                let shopper = match &e.shopper_id {
                    Some(id) => store.shopper(id.clone()).await?,
                    None => None,
                };
                let handoff = store.open_handoff(conv, e.reason.clone(), e.bot.clone()).await?;
                Ok(Stored::Opened {
                    handoff,
                    vip: shopper.as_ref().is_some_and(|s| s.vip),
                    name: shopper.map(|s| s.name),
                })
            }
            .await
        }
        Op::Requeue(q) => store
            .requeue_handoff(
                q.from.handoff,
                conv,
                q.outcome,
                q.reason.clone(),
                q.from.bot.clone(),
                q.text.clone(),
            )
            .await
            .map(Stored::Requeued),
        Op::Assign { handoff, agent, text, .. } => {
            match store.assign_handoff(*handoff, conv.clone(), agent.clone(), text.clone()).await {
                Ok(_) => Ok(Stored::Assigned(store.conversation_context(conv).await)),
                Err(e) => Err(e),
            }
        }
        Op::Context { .. } => store.conversation_context(conv).await.map(Stored::Context),
        Op::Message { handoff, agent, id, text, .. } => store
            .accept_agent_message(*handoff, conv, agent.clone(), id.clone(), text.clone())
            .await
            .map(Stored::Message),
        Op::Note { agent, text } => store.add_note(conv, agent.clone(), text.clone()).await.map(Stored::Note),
        Op::Recall { agent, message_id } => {
            store.recall_message(conv, *message_id, agent.clone()).await.map(Stored::Recalled)
        }
        Op::End { handoff, outcome, state, text, .. } => {
            store.end_handoff(*handoff, conv, *outcome, *state, text.clone()).await.map(|()| Stored::Done)
        }
        Op::CloseWithAgent => {
            store.close_with_agent(conv, "agent_resolved".into()).await.map(|()| Stored::Done)
        }
    };
    Completion { write, result }
}
