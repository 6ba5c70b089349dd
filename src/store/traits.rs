//! The storage boundary: one trait per aggregate. Callers that take `impl ConversationStore`
//! (or any other of these) can run on another backend; [`Store`] (SQLite) implements them all by
//! delegating to its inherent methods, which keep their documentation. `tests/store_contract.rs`
//! is the behaviour every implementation must show, written against these traits only.
//!
//! Every operation is async and returns `Result<_, StoreError>`. A write's `Ok` means it is
//! durable; a read issued after a write's `Ok` sees that write.

use std::future::Future;

use super::analytics::AnalyticsRows;
use super::backend::Backend;
use super::images::{ImageAccepted, ImageFile, ImageQuota};
use super::models::{ModelActivationRow, ModelFile, ModelVersionRow};
use super::pg::PgStore;
use super::review_rows::{ReviewAction, ReviewDecision, ReviewKey, ReviewTurn};
use super::*;
use crate::identity::Role;
use crate::images::{ImageKind, ImageRef};
use crate::knowledge::{Canned, Order, Shopper};
use crate::lang::Lang;
use crate::records::{EscalationContext, FeedbackRecord, MessageMeta};

/// Declares a trait of async operations and implements it for [`Store`] by calling the inherent
/// method of the same name.
macro_rules! aggregate {
    (
        $(#[$doc:meta])*
        pub trait $name:ident {
            $( $(#[$mdoc:meta])* fn $op:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty; )*
        }
    ) => {
        $(#[$doc])*
        pub trait $name: Send + Sync {
            $(
                $(#[$mdoc])*
                fn $op(&self $(, $arg: $ty)*) -> impl Future<Output = Result<$ret, StoreError>> + Send;
            )*
        }

        impl $name for Store {
            $(
                fn $op(&self $(, $arg: $ty)*) -> impl Future<Output = Result<$ret, StoreError>> + Send {
                    Store::$op(self $(, $arg)*)
                }
            )*
        }

        impl $name for Backend {
            $(
                fn $op(&self $(, $arg: $ty)*) -> impl Future<Output = Result<$ret, StoreError>> + Send {
                    async move {
                        match self {
                            Backend::Sqlite(s) => Store::$op(s $(, $arg)*).await,
                            Backend::Postgres(p) => <PgStore as $name>::$op(p $(, $arg)*).await,
                        }
                    }
                }
            )*
        }
    };
}

aggregate! {
    /// Conversations and their messages, the dialogue state stored with each bot turn, feedback
    /// records, and the shoppers, orders and returns the dialogue reads and writes.
    pub trait ConversationStore {
        /// Loads shoppers and orders; rows already present are left alone. How many were added.
        fn seed(&self, shoppers: Vec<Shopper>, orders: Vec<Order>) -> usize;
        fn open_conversation(&self, shopper_id: Option<String>, lang: Lang) -> Conversation;
        fn conversation(&self, id: String) -> Option<Conversation>;
        fn set_state(&self, id: String, state: ConversationState, reason: Option<String>) -> ();
        fn add_message(
            &self,
            conversation_id: String,
            sender: Sender,
            text: String,
            meta: Option<MessageMeta>,
        ) -> i64;
        /// A bot turn's replies and the dialogue state after it, together.
        fn add_bot_turn(
            &self,
            conversation_id: String,
            replies: Vec<(String, Option<MessageMeta>)>,
            dialogue: String,
        ) -> Vec<i64>;
        fn dialogue_state(&self, conversation_id: String) -> Option<String>;
        /// A shopper message stored once per client id; a re-sent one is `Known`.
        fn accept_shopper_message(
            &self,
            conversation_id: String,
            client_msg_id: String,
            text: String,
            admit: bool,
        ) -> Accepted;
        /// Every message of a conversation, oldest first.
        fn messages(&self, conversation_id: String) -> Vec<StoredMessage>;
        fn recent_messages(&self, conversation_id: String, limit: usize) -> Vec<StoredMessage>;
        fn shopper(&self, id: String) -> Option<Shopper>;
        fn order(&self, order_no: String) -> Option<Order>;
        fn recent_orders(&self, shopper_id: String, limit: usize) -> Vec<Order>;
        fn recent_orders_with_returns(
            &self,
            shopper_id: String,
            limit: usize,
        ) -> Vec<(Order, Vec<ReturnRequest>)>;
        fn orders(&self, order_nos: Vec<String>) -> Vec<Order>;
        /// Changes a stored order in one step (`change` says whether it changed anything): the
        /// order as it is now, None when there is no such order.
        fn update_order(
            &self,
            order_no: String,
            change: impl FnOnce(&mut Order) -> bool + Send + 'static,
        ) -> Option<Order>;
        fn returns_for(&self, order_no: String) -> Vec<ReturnRequest>;
        /// One return per order: `Err(existing)` when it already has one.
        fn create_return(
            &self,
            order_no: String,
            conversation_id: Option<String>,
            reason: String,
        ) -> Result<ReturnRequest, ReturnRequest>;
        /// As `create_return`; a repeat with the same key is the return it opened (`Ok`).
        fn create_return_once(
            &self,
            order_no: String,
            conversation_id: Option<String>,
            reason: String,
            idempotency_key: String,
        ) -> Result<ReturnRequest, ReturnRequest>;
        /// Records `return.requested` for a return another system opened, once per return id.
        fn return_requested(&self, r: ReturnRequest) -> bool;
        /// Checks and counts a guest's phone digits in one step (locked after `max` wrong ones).
        fn check_phone_digits(&self, order_no: String, digits: String, max: u32) -> PhoneCheck;
        /// Counts a guess the caller compared itself, with the same lockout in one step.
        fn count_phone_guess(&self, order_no: String, matched: bool, max: u32) -> PhoneCheck;
        /// Writes or replaces a feedback record; a rating already given survives.
        fn save_feedback(&self, record: FeedbackRecord) -> ();
        fn rate(&self, conversation_id: String, rating: u8, comment: Option<String>) -> bool;
    }
}

aggregate! {
    /// Handoffs to people, internal notes, tickets, and the agent console's reads.
    pub trait HandoffStore {
        fn open_handoff(&self, conversation_id: String, reason: String, context: EscalationContext) -> Handoff;
        fn requeue_handoff(
            &self,
            handoff: i64,
            conversation_id: String,
            outcome: HandoffOutcome,
            reason: String,
            context: EscalationContext,
            announcement: String,
        ) -> Handoff;
        fn assign_handoff(
            &self,
            handoff: i64,
            conversation_id: String,
            agent: String,
            announcement: String,
        ) -> StoredMessage;
        fn end_handoff(
            &self,
            handoff: i64,
            conversation_id: String,
            outcome: HandoffOutcome,
            state: ConversationState,
            announcement: Option<String>,
        ) -> ();
        /// An agent's message stored once per client id; marks the handoff's first response.
        fn accept_agent_message(
            &self,
            handoff: i64,
            conversation_id: String,
            agent: String,
            client_msg_id: String,
            text: String,
        ) -> Accepted;
        fn open_handoffs(&self) -> Vec<OpenHandoff>;
        /// Marks an agent's message recalled; when, or None if there is no such unrecalled one.
        fn recall_message(&self, conversation_id: String, message_id: i64, by: String) -> Option<String>;
        fn add_note(&self, conversation_id: String, agent: String, text: String) -> Note;
        fn conversation_context(&self, conversation_id: String) -> Option<ConversationContext>;
        fn agent_summary(&self, conversation_id: String) -> Option<AgentSummary>;
        fn close_with_agent(&self, conversation_id: String, resolution: String) -> ();
        fn create_ticket(
            &self,
            conversation_id: String,
            shopper_id: Option<String>,
            lang: Lang,
            text: String,
            contact: Option<String>,
        ) -> Ticket;
        fn tickets(&self, status: Option<String>) -> Vec<Ticket>;
        /// One ticket by id, whatever its status.
        fn ticket(&self, id: String) -> Option<Ticket>;
        /// False when there is no open or answered ticket with that id.
        fn close_ticket(&self, id: String, by: String) -> bool;
        /// Answers an open ticket (also an agent message in its conversation); None if not open.
        fn answer_ticket(&self, id: String, by: String, text: String) -> Option<Ticket>;
        /// Answered tickets of this conversation or shopper not yet shown to the shopper.
        fn undelivered_answers(&self, conversation_id: String, shopper_id: Option<String>) -> Vec<Ticket>;
        /// Marks answers shown; those of another conversation are copied into this one first.
        fn deliver_answers(&self, conversation_id: String, tickets: Vec<String>) -> usize;
        fn search_conversations(
            &self,
            shopper: Option<String>,
            order: Option<String>,
            from: Option<String>,
            to: Option<String>,
            limit: usize,
        ) -> Vec<ConversationRow>;
        fn profile(&self, shopper_id: String) -> Option<Profile>;
    }
}

aggregate! {
    /// The editable knowledge base (entries with versions and revisions), canned responses,
    /// settings, and the trainers' decisions about review groups.
    pub trait KnowledgeStore {
        fn kb_entries(&self, kind: &'static str) -> Vec<KbEntry>;
        fn kb_entry(&self, kind: &'static str, id: String) -> Option<KbEntry>;
        /// Writes if the entry is as `expect`ed, else a conflict with what is there.
        fn kb_write(
            &self,
            kind: &'static str,
            id: String,
            expect: Expect,
            data: Option<serde_json::Value>,
            action: &'static str,
            author: String,
        ) -> KbWrite;
        fn kb_import(
            &self,
            kind: &'static str,
            entries: Vec<(String, serde_json::Value)>,
            author: String,
        ) -> usize;
        /// An entry's revisions, newest first.
        fn kb_history(&self, kind: &'static str, id: String) -> Vec<Revision>;
        fn kb_revision(&self, id: i64) -> Option<Revision>;
        /// Every revision of every entry of a kind, by entry, oldest first.
        fn kb_revisions(&self, kind: &'static str) -> Vec<Revision>;
        fn setting(&self, key: &'static str) -> Option<String>;
        fn set_setting(&self, key: &'static str, value: String) -> ();
        fn seed_canned(&self, canned: Vec<Canned>) -> usize;
        fn canned(&self, lang: Option<Lang>) -> Vec<CannedResponse>;
        fn canned_response(&self, id: String) -> Option<CannedResponse>;
        fn create_canned(
            &self,
            id: Option<String>,
            lang: Lang,
            title: String,
            text: String,
            by: String,
        ) -> Option<CannedResponse>;
        fn update_canned(
            &self,
            id: String,
            expected_version: i64,
            lang: Lang,
            title: String,
            text: String,
            by: String,
        ) -> CannedChange<CannedResponse>;
        fn delete_canned(&self, id: String, expected_version: i64, by: String) -> CannedChange<()>;
        fn restore_canned(
            &self,
            id: String,
            before: Option<serde_json::Value>,
            by: String,
        ) -> Option<CannedResponse>;
        fn review_decisions(&self) -> Vec<ReviewDecision>;
        fn resolve_review(
            &self,
            key: ReviewKey,
            action: ReviewAction,
            target: Option<String>,
            by: String,
        ) -> ReviewDecision;
    }
}

aggregate! {
    /// Staff accounts, their token generations, failed logins, and server secrets.
    pub trait AccountStore {
        /// False when the name is taken.
        fn add_account(&self, account: Account) -> bool;
        fn account(&self, name: String) -> Option<Account>;
        fn accounts(&self) -> Vec<Account>;
        fn remove_account(&self, name: String) -> bool;
        fn set_account_role(&self, name: String, role: Role) -> bool;
        fn set_account_password(&self, name: String, password_hash: String) -> bool;
        /// Checks the lockout and counts the attempt as a failure, in one step.
        fn reserve_login(&self, name: String, limits: LoginLimits, now_secs: i64) -> LoginAttempt;
        fn clear_login_failures(&self, name: String) -> ();
        /// A setting, created with `make` the first time (two racing callers get the same value).
        fn setting_or_init(&self, key: &'static str, make: impl FnOnce() -> String + Send + 'static) -> String;
    }
}

aggregate! {
    /// The trainers' reads: analytics rows, the review queue's turns, feedback exports. They run
    /// apart from the writes and never delay a shopper's commit.
    pub trait AnalyticsReads {
        fn analytics_rows(&self, from: String, to: String) -> AnalyticsRows;
        fn review_turns(&self, from: Option<String>, to: Option<String>) -> Vec<ReviewTurn>;
        fn feedback_since(&self, since: String) -> Vec<FeedbackRecord>;
    }
}

aggregate! {
    /// The outbound webhooks' outbox and delivery log (the events themselves are written by the
    /// other aggregates' operations, in the same transaction as their change).
    pub trait WebhookStore {
        /// The newest event's sequence number (0 for none).
        fn webhook_head(&self) -> i64;
        /// Registers endpoints and creates their deliveries for the events since the last call.
        fn webhook_fan_out(&self, endpoints: Vec<webhooks::EndpointSpec>) -> usize;
        /// Claims pending deliveries to these endpoints due at `now_ms`, soonest first: each one
        /// returned is not due again before `now_ms + lease_ms` (its next attempt time is moved
        /// there), so nodes polling at once never get the same delivery while its lease holds,
        /// and one whose sender died is due again when the lease ends. A lease of 0 holds nothing.
        fn webhook_due(
            &self,
            endpoints: Vec<String>,
            now_ms: i64,
            lease_ms: i64,
            limit: usize,
        ) -> Vec<webhooks::DueDelivery>;
        /// Attempts' results; a delivered delivery never changes again.
        fn webhook_attempted(&self, attempts: Vec<webhooks::Attempt>) -> ();
        /// The delivery log, newest first.
        fn webhook_deliveries(&self, query: webhooks::DeliveryQuery) -> Vec<webhooks::DeliveryRow>;
        fn webhook_endpoint_counts(&self) -> Vec<(String, webhooks::EndpointCounts)>;
        /// Queues a pending or failed delivery at once; a delivered one is left alone.
        fn webhook_replay(&self, id: i64) -> webhooks::Replay;
        /// Forgets old events with nothing pending.
        fn webhook_prune(&self, before: String) -> usize;
    }
}

aggregate! {
    /// Photos shoppers send: uploaded into a conversation within the quotas, then sent once as a
    /// shopper message that refers to them.
    pub trait ImageStore {
        /// Stores an upload (not yet sent): its reference, or the quota that refused it.
        fn add_image(
            &self,
            conversation_id: String,
            kind: ImageKind,
            data: Vec<u8>,
            per_conversation: u32,
            max_total_bytes: u64,
        ) -> Result<ImageRef, ImageQuota>;
        /// An image of a conversation (sent or only uploaded).
        fn image(&self, conversation_id: String, id: String) -> Option<ImageFile>;
        /// A shopper message that sends an uploaded image, stored once per client id.
        fn accept_shopper_image(
            &self,
            conversation_id: String,
            client_msg_id: String,
            image_id: String,
            text: String,
            admit: bool,
        ) -> ImageAccepted;
    }
}

aggregate! {
    /// What kefu holds about one shopper, for the shopper's rights over it, and how long it
    /// keeps it (issue 21).
    pub trait ShopperDataStore {
        /// Everything stored about a signed-in shopper (`is_empty` when nothing is).
        fn shopper_data(&self, shopper_id: String) -> ShopperData;
        /// Anonymises everything stored about a shopper in one transaction and records it; None
        /// when nothing was ever stored about them. A repeat changes only what came since.
        fn erase_shopper(&self, shopper_id: String, by: String) -> Option<Erasure>;
        /// Erasures recorded (of one shopper, or all), newest first.
        fn erasures(&self, shopper_id: Option<String>) -> Vec<Erasure>;
        /// Purges (feedback: anonymises) at most `limit` rows of `kind` older than `before`,
        /// oldest first, in one short transaction: how many.
        fn purge_expired(&self, kind: Retained, before: String, limit: usize) -> usize;
    }
}

/// Intent model versions trained while the service runs and their activations, where several
/// nodes share them (PostgreSQL: the database is their source of truth, each node's
/// `model_store` folder a cache). SQLite has no implementation: one node keeps its versions in
/// files (`models::registry`), and [`Backend::Sqlite`] answers [`StoreError::Unavailable`].
pub trait ModelStore: Send + Sync {
    /// Every stored version without its files, newest id first.
    fn model_versions(&self) -> impl Future<Output = Result<Vec<ModelVersionRow>, StoreError>> + Send;
    /// A version's files (None: no such version).
    fn model_files(
        &self,
        id: String,
    ) -> impl Future<Output = Result<Option<Vec<ModelFile>>, StoreError>> + Send;
    /// Stores a version with all its files at once; false when the id is taken (nothing written).
    fn add_model_version(
        &self,
        version: ModelVersionRow,
        files: Vec<ModelFile>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records an activation (`kind`: activate, override, rollback) if the last one recorded is
    /// still `after` (None: none yet): its id, or None when another came first (nothing written).
    fn record_model_activation(
        &self,
        after: Option<i64>,
        kind: String,
        version: String,
        who: String,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
    /// Every activation, oldest first.
    fn model_activations(&self) -> impl Future<Output = Result<Vec<ModelActivationRow>, StoreError>> + Send;
}

fn no_shared_models() -> StoreError {
    StoreError::Unavailable("model versions are kept in files with SQLite (model_store)".into())
}

impl ModelStore for Backend {
    async fn model_versions(&self) -> Result<Vec<ModelVersionRow>, StoreError> {
        match self {
            Backend::Sqlite(_) => Err(no_shared_models()),
            Backend::Postgres(p) => p.model_versions().await,
        }
    }

    async fn model_files(&self, id: String) -> Result<Option<Vec<ModelFile>>, StoreError> {
        match self {
            Backend::Sqlite(_) => Err(no_shared_models()),
            Backend::Postgres(p) => p.model_files(id).await,
        }
    }

    async fn add_model_version(
        &self,
        version: ModelVersionRow,
        files: Vec<ModelFile>,
    ) -> Result<bool, StoreError> {
        match self {
            Backend::Sqlite(_) => Err(no_shared_models()),
            Backend::Postgres(p) => p.add_model_version(version, files).await,
        }
    }

    async fn record_model_activation(
        &self,
        after: Option<i64>,
        kind: String,
        version: String,
        who: String,
    ) -> Result<Option<i64>, StoreError> {
        match self {
            Backend::Sqlite(_) => Err(no_shared_models()),
            Backend::Postgres(p) => p.record_model_activation(after, kind, version, who).await,
        }
    }

    async fn model_activations(&self) -> Result<Vec<ModelActivationRow>, StoreError> {
        match self {
            Backend::Sqlite(_) => Err(no_shared_models()),
            Backend::Postgres(p) => p.model_activations().await,
        }
    }
}

/// Every storage trait, unnamed: `use crate::store::prelude::*;` lets a module call any
/// operation on a [`Backend`] (or any store) without naming the aggregate it belongs to.
pub mod prelude {
    pub use super::{
        AccountStore as _, AnalyticsReads as _, ConversationStore as _, HandoffStore as _, ImageStore as _,
        KnowledgeStore as _, ModelStore as _, ShopperDataStore as _, WebhookStore as _,
    };
}
