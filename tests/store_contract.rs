//! The store's contract (issue 16, item 4): the behaviour callers rely on, written against the
//! aggregate traits only (`ConversationStore`, `HandoffStore`, `KnowledgeStore`, `AccountStore`,
//! `AnalyticsReads`, `WebhookStore`, `ImageStore`, `ShopperDataStore`). Each `contract_*` function
//! is generic, so another backend runs the same suite unchanged: give it a fresh, empty store in
//! place of `sqlite()`.
//!
//! PostgreSQL (issue 19) runs every contract, plus two nodes (two pools on one database) racing
//! where the desk and the outbox need one winner, when `KEFU_TEST_POSTGRES` names a server
//! (`scripts/postgres` starts one and prints its URL), each test in a database of its own;
//! without it those tests print "skipped" and pass, unless `KEFU_TEST_POSTGRES_REQUIRED=1`.

mod common;

use kefu::identity::Role;
use kefu::knowledge::{Order, Shopper};
use kefu::lang::Lang;
use kefu::records::{EscalationContext, FeedbackRecord, MessageMeta, ReplyDecision, Resolution, Seen};
use kefu::store::traits::{ImageStore, WebhookStore};
use kefu::store::{
    Accepted, Account, AccountStore, AnalyticsReads, CannedChange, ConversationState, ConversationStore,
    Expect, HandoffOutcome, HandoffStore, KbWrite, KnowledgeStore, LoginAttempt, LoginLimits, PhoneCheck,
    Sender, Store, StoreError,
};
use serde_json::json;

use common::postgres::Postgres;

// ---------------------------------------------------------------------------------------------
// the backends

/// A fresh SQLite store in a temporary folder (kept alive by the returned guard).
fn sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("kefu.db")).unwrap();
    (dir, store)
}

#[tokio::test]
async fn sqlite_conversations() {
    let (_dir, s) = sqlite();
    contract_conversations(&s).await;
}

#[tokio::test]
async fn sqlite_handoffs() {
    let (_dir, s) = sqlite();
    contract_handoffs(&s).await;
}

#[tokio::test]
async fn sqlite_knowledge() {
    let (_dir, s) = sqlite();
    contract_knowledge(&s).await;
}

#[tokio::test]
async fn sqlite_accounts() {
    let (_dir, s) = sqlite();
    contract_accounts(&s).await;
}

#[tokio::test]
async fn sqlite_analytics() {
    let (_dir, s) = sqlite();
    contract_analytics(&s).await;
}

#[tokio::test]
async fn postgres_accounts() {
    let Some(pg) = Postgres::new("accounts").await else { return };
    contract_accounts(&pg.store().await).await;
    pg.finish().await;
}

#[tokio::test]
async fn postgres_handoffs() {
    let Some(pg) = Postgres::new("handoffs").await else { return };
    contract_handoffs(&pg.store().await).await;
    pg.finish().await;
}

#[tokio::test]
async fn postgres_knowledge() {
    let Some(pg) = Postgres::new("knowledge").await else { return };
    contract_knowledge(&pg.store().await).await;
    pg.finish().await;
}

/// Two nodes (two pools on one database) that start at once migrate it once; concurrent
/// versioned edits of one entry from both: exactly one wins, the others see a conflict; the
/// login lockout holds across them.
#[tokio::test]
async fn postgres_two_nodes_agree() {
    let Some(pg) = Postgres::new("two_nodes").await else { return };
    let (a, b) = tokio::join!(pg.store(), pg.store());
    let v = kefu::store::pg::SCHEMA_VERSION;
    assert_eq!((a.schema_version().await.unwrap(), b.schema_version().await.unwrap()), (v, v));

    let v1 = json!({"q": "运费多少", "a": "满99包邮"});
    a.kb_write("faq", "ship".into(), Expect::Absent, Some(v1), "create", "tina".into()).await.unwrap();
    let mut edits = tokio::task::JoinSet::new();
    for i in 0..8 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        edits.spawn(async move {
            let data = json!({"q": "运费多少", "a": format!("edit {i}")});
            node.kb_write("faq", "ship".into(), Expect::Version(1), Some(data), "update", format!("t{i}"))
                .await
        });
    }
    let results: Vec<KbWrite> = edits.join_all().await.into_iter().map(Result::unwrap).collect();
    let done = results.iter().filter(|r| matches!(r, KbWrite::Done { .. })).count();
    assert_eq!(done, 1, "{results:?}");
    assert!(results.iter().all(|r| matches!(r, KbWrite::Done { .. } | KbWrite::Conflict { .. })));
    assert_eq!(b.kb_history("faq", "ship".into()).await.unwrap().len(), 2);

    assert!(a.add_account(account("bob", Role::Agent)).await.unwrap());
    let limits = LoginLimits { max_failures: 3, window_secs: 900, max_rows: 100 };
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..10 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        attempts.spawn(async move { node.reserve_login("bob".into(), limits, 1_800_000_000).await });
    }
    let allowed = attempts
        .join_all()
        .await
        .into_iter()
        .filter(|a| matches!(a.as_ref().unwrap(), LoginAttempt::Allowed(_)))
        .count();
    assert_eq!(allowed, 3, "only max_failures attempts get a password check");

    let (x, y) = tokio::join!(
        a.setting_or_init("secret", || "from a".into()),
        b.setting_or_init("secret", || "from b".into())
    );
    assert_eq!(x.unwrap(), y.unwrap());
    drop((a, b));
    pg.finish().await;
}

// ---------------------------------------------------------------------------------------------
// test data

fn demo() -> (Vec<Shopper>, Vec<Order>) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge/demo");
    let read = |f: &str| std::fs::read_to_string(root.join(f)).unwrap();
    (
        serde_json::from_str(&read("shoppers.json")).unwrap(),
        serde_json::from_str(&read("orders.json")).unwrap(),
    )
}

fn record(conversation_id: &str, rating: Option<u8>, comment: Option<&str>) -> FeedbackRecord {
    FeedbackRecord {
        conversation_id: conversation_id.into(),
        shopper_id: None,
        lang: Lang::Zh,
        started_at: "2026-11-25T01:00:00.000Z".into(),
        ended_at: "2026-11-25T01:05:00.000Z".into(),
        shopper_messages: 1,
        bot_messages: 1,
        agent_messages: 0,
        seen: Seen::default(),
        resolution: Resolution::BotResolved,
        escalation_reason: None,
        agent_id: None,
        agent_outcome: None,
        queue_wait_secs: None,
        first_response_secs: None,
        handle_secs: None,
        rating,
        comment: comment.map(str::to_string),
        attachments: 0,
    }
}

fn texts(messages: &[kefu::store::StoredMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.text.as_str()).collect()
}

fn account(name: &str, role: Role) -> Account {
    Account {
        name: name.into(),
        display_name: name.to_uppercase(),
        role,
        password_hash: "$argon2id$not-a-real-hash".into(),
        created_at: String::new(),
        token_gen: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// the contract

/// Conversations, messages, the dialogue state, feedback, orders, returns, phone checks.
async fn contract_conversations<S: ConversationStore + AnalyticsReads>(s: &S) {
    // seeding is idempotent
    let (shoppers, orders) = demo();
    assert!(s.seed(shoppers.clone(), orders.clone()).await.unwrap() > 0);
    assert_eq!(s.seed(shoppers.clone(), orders.clone()).await.unwrap(), 0);
    let shopper = &shoppers[0];
    assert_eq!(s.shopper(shopper.id.clone()).await.unwrap().unwrap().name, shopper.name);
    assert!(s.shopper("S-nobody".into()).await.unwrap().is_none());

    let c = s.open_conversation(Some(shopper.id.clone()), Lang::Zh).await.unwrap();
    let read = s.conversation(c.id.clone()).await.unwrap().unwrap();
    assert_eq!(
        (read.shopper_id.as_deref(), read.lang, read.state),
        (Some(shopper.id.as_str()), Lang::Zh, ConversationState::Bot)
    );
    assert!(s.conversation("c-none".into()).await.unwrap().is_none());

    // a re-sent client message id is stored once
    let first = s.accept_shopper_message(c.id.clone(), "m1".into(), "你好".into(), true).await.unwrap();
    assert!(matches!(first, Accepted::New(_)), "{first:?}");
    let again = s.accept_shopper_message(c.id.clone(), "m1".into(), "你好".into(), true).await.unwrap();
    assert_eq!(again, Accepted::Known { answered: false });
    let meta = MessageMeta { decision: Some(ReplyDecision::Greeting), ..MessageMeta::default() };
    let ids = s
        .add_bot_turn(
            c.id.clone(),
            vec![("您好！".into(), Some(meta.clone())), ("有什么可以帮您？".into(), None)],
            "{\"v\":1}".into(),
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1]);
    let answered = s.accept_shopper_message(c.id.clone(), "m1".into(), "你好".into(), true).await.unwrap();
    assert_eq!(answered, Accepted::Known { answered: true });
    // not admitted: nothing written; a known one is still found
    assert_eq!(
        s.accept_shopper_message(c.id.clone(), "m2".into(), "x".into(), false).await.unwrap(),
        Accepted::Refused
    );
    assert_eq!(s.dialogue_state(c.id.clone()).await.unwrap().as_deref(), Some("{\"v\":1}"));

    // messages come back in order, the meta with them
    let id = s.add_message(c.id.clone(), Sender::Shopper, "运费多少".into(), None).await.unwrap();
    assert!(id > ids[1]);
    s.add_message(c.id.clone(), Sender::System, "agent joined".into(), Some(MessageMeta::event("joined")))
        .await
        .unwrap();
    let all = s.messages(c.id.clone()).await.unwrap();
    assert_eq!(texts(&all), ["你好", "您好！", "有什么可以帮您？", "运费多少", "agent joined"]);
    assert_eq!(all[0].client_msg_id.as_deref(), Some("m1"));
    assert_eq!((all[0].sender, all[1].sender, all[4].sender), (Sender::Shopper, Sender::Bot, Sender::System));
    assert_eq!(all[1].meta.as_ref(), Some(&meta));
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    let recent = s.recent_messages(c.id.clone(), 2).await.unwrap();
    assert_eq!(texts(&recent), ["运费多少", "agent joined"]);

    // state changes; closing stamps the end
    s.set_state(c.id.clone(), ConversationState::WaitingAgent, Some("requested".into())).await.unwrap();
    s.set_state(c.id.clone(), ConversationState::Closed, None).await.unwrap();
    let closed = s.conversation(c.id.clone()).await.unwrap().unwrap();
    assert_eq!(closed.state, ConversationState::Closed);
    assert_eq!(closed.escalation_reason.as_deref(), Some("requested"));
    assert!(closed.ended_at.is_some());

    // feedback: an upsert keeps an earlier rating; rating needs a record
    let other = s.open_conversation(None, Lang::En).await.unwrap();
    assert!(!s.rate(other.id.clone(), 4, None).await.unwrap());
    s.save_feedback(record(&c.id, None, None)).await.unwrap();
    assert!(s.rate(c.id.clone(), 5, Some("很好".into())).await.unwrap());
    let mut rewrite = record(&c.id, None, None);
    rewrite.shopper_messages = 2;
    s.save_feedback(rewrite).await.unwrap();
    let stored = s.feedback_since("2000".into()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].rating, stored[0].comment.as_deref(), stored[0].shopper_messages),
        (Some(5), Some("很好"), 2)
    );
    s.save_feedback(record(&c.id, Some(2), None)).await.unwrap();
    assert_eq!(
        s.feedback_since("2000".into()).await.unwrap()[0].rating,
        Some(2),
        "a new rating replaces the old"
    );

    // orders: a shopper's newest first; unknown numbers are left out
    let mine: Vec<&Order> = orders.iter().filter(|o| o.shopper_id == shopper.id).collect();
    let recent = s.recent_orders(shopper.id.clone(), 100).await.unwrap();
    assert_eq!(recent.len(), mine.len());
    assert!(recent.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    let order = &recent[0];
    assert_eq!(s.order(order.order_no.clone()).await.unwrap().unwrap().order_no, order.order_no);
    assert!(s.order("000000000000000000".into()).await.unwrap().is_none());
    let found = s.orders(vec![order.order_no.clone(), "000000000000000000".into()]).await.unwrap();
    assert_eq!(found.len(), 1);

    // one return per order
    let r =
        s.create_return(order.order_no.clone(), Some(c.id.clone()), "size".into()).await.unwrap().unwrap();
    let twice =
        s.create_return(order.order_no.clone(), Some(other.id.clone()), "colour".into()).await.unwrap();
    assert_eq!(twice.unwrap_err().id, r.id);
    assert_eq!(s.returns_for(order.order_no.clone()).await.unwrap(), vec![r.clone()]);
    let with = s.recent_orders_with_returns(shopper.id.clone(), 100).await.unwrap();
    assert_eq!(with.iter().find(|(o, _)| o.order_no == order.order_no).unwrap().1, vec![r]);

    // phone digits: right ones match; wrong ones count, and after `max` even right ones are locked
    let digits = order.address.phone[order.address.phone.len() - 4..].to_string();
    let no = order.order_no.clone();
    assert_eq!(s.check_phone_digits(no.clone(), digits.clone(), 3).await.unwrap(), PhoneCheck::Match);
    assert_eq!(s.check_phone_digits(no.clone(), String::new(), 3).await.unwrap(), PhoneCheck::Mismatch);
    for _ in 0..2 {
        assert_eq!(s.check_phone_digits(no.clone(), "0000x".into(), 3).await.unwrap(), PhoneCheck::Mismatch);
    }
    assert_eq!(s.check_phone_digits(no.clone(), digits, 3).await.unwrap(), PhoneCheck::Locked);
    // an order that does not exist is a mismatch, not told apart
    let none = s.check_phone_digits("000000000000000000".into(), "1234".into(), 3).await.unwrap();
    assert_eq!(none, PhoneCheck::Mismatch);
    // a guess compared elsewhere (another order source) is counted with the same lockout
    let elsewhere = "EXT-1".to_string();
    assert_eq!(s.count_phone_guess(elsewhere.clone(), true, 2).await.unwrap(), PhoneCheck::Match);
    for _ in 0..2 {
        assert_eq!(s.count_phone_guess(elsewhere.clone(), false, 2).await.unwrap(), PhoneCheck::Mismatch);
    }
    assert_eq!(s.count_phone_guess(elsewhere, true, 2).await.unwrap(), PhoneCheck::Locked);

    // a return opened with an idempotency key: the same key again is that return, another
    // key (or none) finds it as the order's existing one; a key cannot open a second order's
    let (second, third) = {
        let mut others = orders.iter().filter(|o| o.order_no != order.order_no);
        (others.next().unwrap().order_no.clone(), others.next().unwrap().order_no.clone())
    };
    let keyed = s
        .create_return_once(second.clone(), Some(c.id.clone()), "size".into(), "k1".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((keyed.order_no.as_str(), keyed.status.as_str()), (second.as_str(), "requested"));
    let repeat = s.create_return_once(second.clone(), None, "other".into(), "k1".into()).await.unwrap();
    assert_eq!(repeat, Ok(keyed.clone()), "a repeat is the same return, as if opened now");
    let other_key = s.create_return_once(second.clone(), None, "size".into(), "k2".into()).await.unwrap();
    assert_eq!(other_key, Err(keyed.clone()));
    assert_eq!(s.create_return(second.clone(), None, "size".into()).await.unwrap(), Err(keyed.clone()));
    let reused = s.create_return_once(third.clone(), None, "size".into(), "k1".into()).await;
    assert!(matches!(reused, Err(StoreError::Constraint(_))), "{reused:?}");
    assert!(s.returns_for(third.clone()).await.unwrap().is_empty());
    assert_eq!(s.returns_for(second.clone()).await.unwrap(), vec![keyed]);

    // an order changed in one step: the order as it is after; no order, None
    let changed = s
        .update_order(second.clone(), |o| {
            o.courier = Some("顺丰".into());
            o.tracking_no = Some("SF1".into());
            true
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.courier.as_deref(), Some("顺丰"));
    let stored = s.order(second.clone()).await.unwrap().unwrap();
    assert_eq!((stored.courier.as_deref(), stored.tracking_no.as_deref()), (Some("顺丰"), Some("SF1")));
    // a change that says it changed nothing is not written
    let untouched = s
        .update_order(second.clone(), |o| {
            o.courier = Some("not written".into());
            false
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.courier.as_deref(), Some("not written"), "the caller sees its own change");
    assert_eq!(s.order(second).await.unwrap().unwrap().courier.as_deref(), Some("顺丰"));
    assert!(s.update_order("000000000000000000".into(), |_| true).await.unwrap().is_none());
}

/// Handoffs (open, assign, agent messages, end, requeue), notes, tickets, console reads.
async fn contract_handoffs<S: ConversationStore + HandoffStore + AccountStore>(s: &S) {
    // handoffs and notes name staff accounts
    for name in ["alice", "bob"] {
        assert!(s.add_account(account(name, Role::Agent)).await.unwrap());
    }
    let (shoppers, orders) = demo();
    s.seed(shoppers.clone(), orders).await.unwrap();
    let shopper = shoppers[0].id.clone();
    let c = s.open_conversation(Some(shopper.clone()), Lang::Zh).await.unwrap();
    s.accept_shopper_message(c.id.clone(), "m1".into(), "我要投诉".into(), true).await.unwrap();

    let context =
        EscalationContext { product_in_focus: Some("QM-KD-005".into()), ..EscalationContext::default() };
    let h = s.open_handoff(c.id.clone(), "complaint".into(), context.clone()).await.unwrap();
    assert_eq!((h.agent.as_deref(), h.ended_at.as_deref()), (None, None));
    let conv = s.conversation(c.id.clone()).await.unwrap().unwrap();
    assert_eq!(
        (conv.state, conv.escalation_reason.as_deref()),
        (ConversationState::WaitingAgent, Some("complaint"))
    );
    let open = s.open_handoffs().await.unwrap();
    assert_eq!(open.iter().map(|o| o.handoff.id).collect::<Vec<_>>(), [h.id]);
    assert_eq!((open[0].shopper_id.as_deref(), open[0].lang), (Some(shopper.as_str()), Lang::Zh));
    assert_eq!(open[0].handoff.context, context);

    // assign: the shopper is told, in the transcript
    let joined = s.assign_handoff(h.id, c.id.clone(), "alice".into(), "Alice is here".into()).await.unwrap();
    assert_eq!((joined.sender, joined.text.as_str()), (Sender::System, "Alice is here"));
    assert_eq!(s.conversation(c.id.clone()).await.unwrap().unwrap().state, ConversationState::Agent);
    // one owner per handoff: a second assignment is refused and writes nothing
    let again = s.assign_handoff(h.id, c.id.clone(), "bob".into(), "Bob is here".into()).await;
    assert!(matches!(again, Err(StoreError::Constraint(_))), "{again:?}");
    let unknown = s.assign_handoff(-1, c.id.clone(), "bob".into(), "Bob is here".into()).await;
    assert!(matches!(unknown, Err(StoreError::Constraint(_))), "{unknown:?}");
    assert_eq!(s.open_handoffs().await.unwrap()[0].handoff.agent.as_deref(), Some("alice"));
    assert_eq!(texts(&s.messages(c.id.clone()).await.unwrap()), ["我要投诉", "Alice is here"]);

    // an agent's re-sent message is stored once
    let a1 =
        s.accept_agent_message(h.id, c.id.clone(), "alice".into(), "a1".into(), "您好".into()).await.unwrap();
    assert!(matches!(a1, Accepted::New(_)), "{a1:?}");
    let again =
        s.accept_agent_message(h.id, c.id.clone(), "alice".into(), "a1".into(), "您好".into()).await.unwrap();
    assert!(matches!(again, Accepted::Known { .. }), "{again:?}");
    // the same client id from the shopper is another message
    let shopper_a1 = s.accept_shopper_message(c.id.clone(), "a1".into(), "hi".into(), true).await.unwrap();
    assert!(matches!(shopper_a1, Accepted::New(_)), "{shopper_a1:?}");

    // recall: an agent's message, once; never a shopper's, nor from another conversation
    let (Accepted::New(a1_id), Accepted::New(shopper_id)) = (a1, shopper_a1) else { unreachable!() };
    assert!(s.recall_message("c-other".into(), a1_id, "alice".into()).await.unwrap().is_none());
    assert!(s.recall_message(c.id.clone(), shopper_id, "alice".into()).await.unwrap().is_none());
    let at = s.recall_message(c.id.clone(), a1_id, "alice".into()).await.unwrap().expect("recalled");
    assert!(s.recall_message(c.id.clone(), a1_id, "bob".into()).await.unwrap().is_none(), "once");
    let recalled = s.messages(c.id.clone()).await.unwrap().into_iter().find(|m| m.id == a1_id).unwrap();
    assert_eq!(
        (recalled.text.as_str(), recalled.recalled_at.as_deref(), recalled.recalled_by.as_deref()),
        ("您好", Some(at.as_str()), Some("alice")),
        "the text is kept for staff"
    );

    let note = s.add_note(c.id.clone(), "alice".into(), "VIP, be quick".into()).await.unwrap();
    s.end_handoff(
        h.id,
        c.id.clone(),
        HandoffOutcome::Resolved,
        ConversationState::Closed,
        Some("Thanks!".into()),
    )
    .await
    .unwrap();
    assert!(s.open_handoffs().await.unwrap().is_empty());
    let conv = s.conversation(c.id.clone()).await.unwrap().unwrap();
    assert_eq!(conv.state, ConversationState::Closed);

    let ctx = s.conversation_context(c.id.clone()).await.unwrap().unwrap();
    assert_eq!(texts(&ctx.transcript), ["我要投诉", "Alice is here", "您好", "hi", "Thanks!"]);
    assert_eq!(
        ctx.notes.iter().map(|n| (n.id, n.text.as_str())).collect::<Vec<_>>(),
        [(note.id, "VIP, be quick")]
    );
    assert_eq!(ctx.handoffs.len(), 1);
    let ended = &ctx.handoffs[0];
    assert_eq!((ended.agent.as_deref(), ended.outcome.as_deref()), (Some("alice"), Some("resolved")));
    assert!(ended.assigned_at.is_some() && ended.first_response_at.is_some() && ended.ended_at.is_some());
    assert_eq!(ctx.shopper.as_ref().map(|p| p.id.as_str()), Some(shopper.as_str()));
    assert!(s.conversation_context("c-none".into()).await.unwrap().is_none());
    let summary = s.agent_summary(c.id.clone()).await.unwrap().unwrap();
    assert_eq!((summary.agent_id.as_deref(), summary.outcome.as_deref()), (Some("alice"), Some("resolved")));
    assert!(summary.queue_wait_secs.is_some_and(|w| w >= 0.0));

    // requeue: the old handoff ends and a new one waits, in one step
    let c2 = s.open_conversation(None, Lang::En).await.unwrap();
    let h2 = s.open_handoff(c2.id.clone(), "requested".into(), EscalationContext::default()).await.unwrap();
    s.assign_handoff(h2.id, c2.id.clone(), "bob".into(), "Bob is here".into()).await.unwrap();
    let h3 = s
        .requeue_handoff(
            h2.id,
            c2.id.clone(),
            HandoffOutcome::Requeued,
            "requeued".into(),
            EscalationContext::default(),
            "Back in the queue".into(),
        )
        .await
        .unwrap();
    assert_ne!(h3.id, h2.id);
    assert_eq!(s.open_handoffs().await.unwrap().iter().map(|o| o.handoff.id).collect::<Vec<_>>(), [h3.id]);
    assert_eq!(s.conversation(c2.id.clone()).await.unwrap().unwrap().state, ConversationState::WaitingAgent);
    s.end_handoff(h3.id, c2.id.clone(), HandoffOutcome::ShopperEnded, ConversationState::Closed, None)
        .await
        .unwrap();
    let outcomes: Vec<_> = s
        .conversation_context(c2.id.clone())
        .await
        .unwrap()
        .unwrap()
        .handoffs
        .into_iter()
        .map(|h| h.outcome)
        .collect();
    assert_eq!(outcomes, [Some("requeued".to_string()), Some("shopper_ended".to_string())]);

    // tickets: open, listed, closed once
    let t = s
        .create_ticket(c2.id.clone(), None, Lang::En, "call me back".into(), Some("me@example.com".into()))
        .await
        .unwrap();
    assert_eq!(t.status, "open");
    assert_eq!(
        s.tickets(Some("open".into())).await.unwrap().iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [t.id.as_str()]
    );
    let one = s.ticket(t.id.clone()).await.unwrap().unwrap();
    assert_eq!((one.id.as_str(), one.contact.as_deref()), (t.id.as_str(), Some("me@example.com")));
    assert!(s.ticket("T-none".into()).await.unwrap().is_none());
    assert!(s.close_ticket(t.id.clone(), "alice".into()).await.unwrap());
    assert!(!s.close_ticket(t.id.clone(), "bob".into()).await.unwrap(), "closed once");
    assert_eq!(s.ticket(t.id.clone()).await.unwrap().unwrap().status, "closed", "whatever its status");
    assert!(!s.close_ticket("T-none".into(), "bob".into()).await.unwrap());
    assert!(s.tickets(Some("open".into())).await.unwrap().is_empty());
    let closed = s.tickets(Some("closed".into())).await.unwrap();
    assert_eq!((closed.len(), closed[0].closed_by.as_deref()), (1, Some("alice")));
    assert_eq!(s.tickets(None).await.unwrap().len(), 1);

    // search: by shopper, by a text in a message
    let by_shopper = s.search_conversations(Some(shopper.clone()), None, None, None, 10).await.unwrap();
    assert_eq!(by_shopper.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [c.id.as_str()]);
    assert_eq!(by_shopper[0].messages, 5);
    let by_text = s.search_conversations(None, Some("投诉".into()), None, None, 10).await.unwrap();
    assert_eq!(by_text.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [c.id.as_str()]);
    assert_eq!(s.search_conversations(None, None, None, None, 10).await.unwrap().len(), 2);
    assert_eq!(s.profile(shopper.clone()).await.unwrap().unwrap().conversations, 1);

    // answered: an agent message in the ticket's conversation, open -> answered -> closed; shown
    // to the shopper once, in the conversation they come back with
    let t2 = s
        .create_ticket(c.id.clone(), Some(shopper.clone()), Lang::Zh, "能定制吗".into(), None)
        .await
        .unwrap();
    let answered = s.answer_ticket(t2.id.clone(), "alice".into(), "可以".into()).await.unwrap().unwrap();
    assert_eq!(
        (answered.status.as_str(), answered.answer.as_deref(), answered.answered_by.as_deref()),
        ("answered", Some("可以"), Some("alice"))
    );
    assert!(answered.answered_at.is_some() && answered.delivered_at.is_none());
    assert!(s.answer_ticket(t2.id.clone(), "bob".into(), "again".into()).await.unwrap().is_none(), "once");
    assert!(s.answer_ticket(t.id.clone(), "bob".into(), "closed".into()).await.unwrap().is_none());
    let in_ticket_conv = s.messages(c.id.clone()).await.unwrap().pop().unwrap();
    assert_eq!((in_ticket_conv.sender, in_ticket_conv.text.as_str()), (Sender::Agent, "可以"));
    assert_eq!(in_ticket_conv.meta.and_then(|m| m.ticket), Some(t2.id.clone()));
    let later = s.open_conversation(Some(shopper.clone()), Lang::Zh).await.unwrap();
    assert!(
        s.undelivered_answers(later.id.clone(), None).await.unwrap().is_empty(),
        "a guest's is by conversation"
    );
    let due = s.undelivered_answers(later.id.clone(), Some(shopper.clone())).await.unwrap();
    assert_eq!(due.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [t2.id.as_str()]);
    assert_eq!(s.deliver_answers(later.id.clone(), vec![t2.id.clone()]).await.unwrap(), 1);
    assert_eq!(s.deliver_answers(later.id.clone(), vec![t2.id.clone()]).await.unwrap(), 0, "once");
    assert!(s.undelivered_answers(later.id.clone(), Some(shopper.clone())).await.unwrap().is_empty());
    assert_eq!(texts(&s.messages(later.id.clone()).await.unwrap()), ["可以"]);
    assert_eq!(
        s.tickets(Some("answered".into()))
            .await
            .unwrap()
            .iter()
            .map(|t| t.delivered_at.is_some())
            .collect::<Vec<_>>(),
        [true]
    );
    assert!(s.close_ticket(t2.id.clone(), "alice".into()).await.unwrap(), "an answered ticket closes");
    let closed = s.tickets(Some("closed".into())).await.unwrap();
    assert_eq!(closed.iter().find(|x| x.id == t2.id).and_then(|x| x.answer.as_deref()), Some("可以"));
}

/// Knowledge-base entries with versions, revisions and conflicts; canned responses; settings.
async fn contract_knowledge<S: KnowledgeStore>(s: &S) {
    let v1 = json!({"q": "运费多少", "a": "满99包邮"});
    let v2 = json!({"q": "运费多少", "a": "满88包邮"});
    let created = s
        .kb_write("faq", "ship".into(), Expect::Absent, Some(v1.clone()), "create", "tina".into())
        .await
        .unwrap();
    let KbWrite::Done { entry: Some(e1), .. } = created else { panic!("{created:?}") };
    assert_eq!((e1.version, &e1.entry, e1.updated_by.as_str()), (1, &v1, "tina"));
    // a second create, or an update from a stale version, is a conflict with what is there
    let dup = s
        .kb_write("faq", "ship".into(), Expect::Absent, Some(v2.clone()), "create", "tom".into())
        .await
        .unwrap();
    assert_eq!(dup, KbWrite::Conflict { current: Some(e1.clone()) });
    let updated = s
        .kb_write("faq", "ship".into(), Expect::Version(1), Some(v2.clone()), "update", "tom".into())
        .await
        .unwrap();
    let KbWrite::Done { entry: Some(e2), .. } = updated else { panic!("{updated:?}") };
    assert_eq!((e2.version, &e2.entry), (2, &v2));
    let stale = s
        .kb_write("faq", "ship".into(), Expect::Version(1), Some(v1.clone()), "update", "tina".into())
        .await
        .unwrap();
    assert_eq!(stale, KbWrite::Conflict { current: Some(e2.clone()) });
    let same = s
        .kb_write("faq", "ship".into(), Expect::Version(2), Some(v2.clone()), "update", "tom".into())
        .await
        .unwrap();
    assert_eq!(same, KbWrite::Unchanged);
    assert_eq!(s.kb_entry("faq", "ship".into()).await.unwrap(), Some(e2.clone()));
    assert!(s.kb_entry("intent", "ship".into()).await.unwrap().is_none(), "kinds are apart");

    // delete, then re-create: versions keep counting
    let deleted =
        s.kb_write("faq", "ship".into(), Expect::Version(2), None, "delete", "tom".into()).await.unwrap();
    assert!(matches!(deleted, KbWrite::Done { entry: None, .. }), "{deleted:?}");
    let again = s
        .kb_write("faq", "ship".into(), Expect::Absent, Some(v1.clone()), "create", "tina".into())
        .await
        .unwrap();
    let KbWrite::Done { entry: Some(e4), revision } = again else { panic!("{again:?}") };
    assert_eq!(e4.version, 4);
    let history = s.kb_history("faq", "ship".into()).await.unwrap();
    assert_eq!(
        history.iter().map(|r| (r.version, r.action.as_str())).collect::<Vec<_>>(),
        [(4, "create"), (3, "delete"), (2, "update"), (1, "create")]
    );
    assert_eq!((history[2].before.as_ref(), history[2].after.as_ref()), (Some(&v1), Some(&v2)));
    assert_eq!(s.kb_revision(revision).await.unwrap().as_ref(), history.first());
    assert!(s.kb_revision(revision + 1000).await.unwrap().is_none());

    // import makes the kind exactly what is given
    s.kb_write("faq", "gone".into(), Expect::Absent, Some(json!({"q": "x"})), "create", "tina".into())
        .await
        .unwrap();
    let changed = s
        .kb_import("faq", vec![("ship".into(), v1.clone()), ("new".into(), v2.clone())], "import".into())
        .await
        .unwrap();
    assert_eq!(changed, 2, "gone deleted, new created, ship unchanged");
    let ids: Vec<String> = s.kb_entries("faq").await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["new", "ship"]);

    // settings
    assert!(s.setting("kb_fingerprint").await.unwrap().is_none());
    s.set_setting("kb_fingerprint", "a".into()).await.unwrap();
    s.set_setting("kb_fingerprint", "b".into()).await.unwrap();
    assert_eq!(s.setting("kb_fingerprint").await.unwrap().as_deref(), Some("b"));

    // canned responses: versions, conflicts, a deletion the seed does not undo
    let c = s
        .create_canned(Some("zh-hi".into()), Lang::Zh, "问候".into(), "您好".into(), "alice".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.version, 1);
    assert!(s
        .create_canned(Some("zh-hi".into()), Lang::Zh, "x".into(), "y".into(), "bob".into())
        .await
        .unwrap()
        .is_none());
    let generated =
        s.create_canned(None, Lang::En, "Hi".into(), "Hello".into(), "bob".into()).await.unwrap().unwrap();
    assert!(generated.id.starts_with("en-"));
    let up = s
        .update_canned("zh-hi".into(), 1, Lang::Zh, "问候".into(), "您好！".into(), "bob".into())
        .await
        .unwrap();
    let CannedChange::Done(c2) = up else { panic!("{up:?}") };
    assert_eq!((c2.version, c2.updated_by.as_deref()), (2, Some("bob")));
    let stale =
        s.update_canned("zh-hi".into(), 1, Lang::Zh, "t".into(), "x".into(), "alice".into()).await.unwrap();
    assert_eq!(stale, CannedChange::Conflict(c2.clone()));
    assert_eq!(
        s.delete_canned("zh-hi".into(), 1, "alice".into()).await.unwrap(),
        CannedChange::Conflict(c2.clone())
    );
    assert_eq!(s.delete_canned("zh-hi".into(), 2, "alice".into()).await.unwrap(), CannedChange::Done(()));
    assert_eq!(s.delete_canned("zh-hi".into(), 2, "alice".into()).await.unwrap(), CannedChange::NotFound);
    let seed = vec![kefu::knowledge::Canned {
        id: "zh-hi".into(),
        lang: Lang::Zh,
        title: "问候".into(),
        text: "您好".into(),
        file: String::new(),
        line: 0,
    }];
    assert_eq!(s.seed_canned(seed).await.unwrap(), 0, "a deleted response is not seeded again");
    assert!(s.canned_response("zh-hi".into()).await.unwrap().is_none());
    assert_eq!(s.canned(Some(Lang::En)).await.unwrap(), vec![generated.clone()]);
    let restored = s
        .restore_canned("zh-hi".into(), serde_json::to_value(&c2).ok(), "tina".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((restored.text.as_str(), restored.version), ("您好！", 4));
}

/// Accounts, token generations, the login-failure reservation, settings created once.
async fn contract_accounts<S: AccountStore>(s: &S) {
    assert!(s.add_account(account("alice", Role::Agent)).await.unwrap());
    assert!(!s.add_account(account("alice", Role::Admin)).await.unwrap(), "the name is taken");
    assert!(s.add_account(account("bob", Role::Trainer)).await.unwrap());
    let alice = s.account("alice".into()).await.unwrap().unwrap();
    assert_eq!((alice.role, alice.display_name.as_str()), (Role::Agent, "ALICE"));
    assert_eq!(
        s.accounts().await.unwrap().iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    assert!(s.account("carol".into()).await.unwrap().is_none());

    // every change ends the tokens issued before: the generation rises
    let g0 = alice.token_gen;
    assert!(s.set_account_role("alice".into(), Role::Admin).await.unwrap());
    let g1 = s.account("alice".into()).await.unwrap().unwrap();
    assert_eq!(g1.role, Role::Admin);
    assert!(g1.token_gen > g0);
    assert!(s.set_account_password("alice".into(), "$argon2id$other".into()).await.unwrap());
    let g2 = s.account("alice".into()).await.unwrap().unwrap();
    assert_eq!(g2.password_hash, "$argon2id$other");
    assert!(g2.token_gen > g1.token_gen);
    assert!(!s.set_account_role("carol".into(), Role::Admin).await.unwrap());
    assert!(!s.set_account_password("carol".into(), "h".into()).await.unwrap());

    // removal: gone, once; the name can be taken again with a higher generation
    assert!(s.remove_account("alice".into()).await.unwrap());
    assert!(!s.remove_account("alice".into()).await.unwrap());
    assert!(s.account("alice".into()).await.unwrap().is_none());
    assert_eq!(s.accounts().await.unwrap().len(), 1);
    assert!(s.add_account(account("alice", Role::Agent)).await.unwrap());
    assert!(s.account("alice".into()).await.unwrap().unwrap().token_gen > g2.token_gen);

    // login failures: every attempt is counted before its check; locked after max
    let limits = LoginLimits { max_failures: 3, window_secs: 900, max_rows: 100 };
    let now = 1_800_000_000;
    for _ in 0..3 {
        let a = s.reserve_login("bob".into(), limits, now).await.unwrap();
        assert!(matches!(a, LoginAttempt::Allowed(Some(ref acc)) if acc.name == "bob"), "{a:?}");
    }
    assert!(matches!(s.reserve_login("bob".into(), limits, now).await.unwrap(), LoginAttempt::Locked));
    // unknown names are counted the same
    assert!(matches!(
        s.reserve_login("nobody".into(), limits, now).await.unwrap(),
        LoginAttempt::Allowed(None)
    ));
    // the window passes: unlocked
    let later = now + limits.window_secs + 1;
    assert!(matches!(
        s.reserve_login("bob".into(), limits, later).await.unwrap(),
        LoginAttempt::Allowed(Some(_))
    ));
    // the right password clears the count
    s.reserve_login("bob".into(), limits, later).await.unwrap();
    s.clear_login_failures("bob".into()).await.unwrap();
    for _ in 0..3 {
        assert!(matches!(
            s.reserve_login("bob".into(), limits, later).await.unwrap(),
            LoginAttempt::Allowed(_)
        ));
    }

    // a setting is made once
    let first = s.setting_or_init("staff_secret", || "one".into()).await.unwrap();
    let second = s.setting_or_init("staff_secret", || "two".into()).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
}

/// The trainers' reads see what was committed: conversations with feedback, turns with the
/// bot's decisions, handoffs' times, review decisions.
async fn contract_analytics<S>(s: &S)
where
    S: ConversationStore + HandoffStore + KnowledgeStore + AccountStore + AnalyticsReads,
{
    assert!(s.add_account(account("alice", Role::Agent)).await.unwrap());
    let c = s.open_conversation(None, Lang::Zh).await.unwrap();
    s.accept_shopper_message(c.id.clone(), "m1".into(), "发票怎么开".into(), true).await.unwrap();
    let meta = MessageMeta {
        decision: Some(ReplyDecision::NoMatch),
        intent: Some("invoice".into()),
        ..MessageMeta::default()
    };
    s.add_bot_turn(c.id.clone(), vec![("抱歉".into(), Some(meta))], "{}".into()).await.unwrap();
    s.save_feedback(record(&c.id, Some(2), None)).await.unwrap();
    let h = s.open_handoff(c.id.clone(), "unresolved".into(), EscalationContext::default()).await.unwrap();
    s.assign_handoff(h.id, c.id.clone(), "alice".into(), "hi".into()).await.unwrap();

    let rows = s.analytics_rows("2000".into(), "9999".into()).await.unwrap();
    assert_eq!(rows.conversations.len(), 1);
    let conv = &rows.conversations[0];
    assert_eq!((conv.id.as_str(), conv.has_record, conv.rating), (c.id.as_str(), true, Some(2)));
    assert_eq!(conv.resolution.as_deref(), Some("bot_resolved"));
    assert_eq!(conv.escalation_reason.as_deref(), Some("unresolved"));
    assert_eq!(rows.handoffs.len(), 1);
    assert_eq!(rows.handoffs[0].agent, "alice");
    assert_eq!(rows.turns.len(), 1);
    assert!(s.analytics_rows("2000".into(), "2001".into()).await.unwrap().conversations.is_empty());

    let turns = s.review_turns(None, None).await.unwrap();
    assert_eq!(turns.len(), 1);
    let t = &turns[0];
    assert_eq!((t.text.as_str(), t.rating), ("发票怎么开", Some(2)));
    assert_eq!(t.replies.len(), 1);
    assert_eq!(
        (t.replies[0].decision.as_deref(), t.replies[0].intent.as_deref()),
        (Some("no_match"), Some("invoice"))
    );

    // review decisions come back oldest first
    use kefu::store::review_rows::{ReviewAction, ReviewKey};
    let key = ReviewKey { key: "00000000deadbeef".into(), text: "发票怎么开".into(), lang: Lang::Zh };
    let d = s.resolve_review(key, ReviewAction::Faq, Some("invoice".into()), "tina".into()).await.unwrap();
    assert_eq!(s.review_decisions().await.unwrap(), vec![d]);
}

// ---------------------------------------------------------------------------------------------
// a shopper's data (issue 21)

#[tokio::test]
async fn sqlite_shopper_data() {
    let (_dir, s) = sqlite();
    contract_shopper_data(&s).await;
}

/// Everything held about a signed-in shopper: profile, orders, conversations with their
/// messages, notes and feedback, tickets; nobody else's; nothing for a stranger.
async fn contract_shopper_data<S>(s: &S)
where
    S: ConversationStore + HandoffStore + AccountStore + kefu::store::traits::ShopperDataStore,
{
    let (shoppers, orders) = demo();
    s.seed(shoppers, orders).await.unwrap();
    assert!(s.add_account(account("li", Role::Agent)).await.unwrap());
    let shopper = "S1001".to_string();
    let mine = s.open_conversation(Some(shopper.clone()), Lang::Zh).await.unwrap();
    s.add_message(mine.id.clone(), Sender::Shopper, "我的订单到哪了".into(), None).await.unwrap();
    s.add_note(mine.id.clone(), "li".into(), "回电 13800001234".into()).await.unwrap();
    s.save_feedback(record(&mine.id, Some(5), Some("很好"))).await.unwrap();
    let ticket = s
        .create_ticket(mine.id.clone(), Some(shopper.clone()), Lang::Zh, "请回电".into(), None)
        .await
        .unwrap();
    let theirs = s.open_conversation(Some("S1002".into()), Lang::Zh).await.unwrap();
    s.add_message(theirs.id.clone(), Sender::Shopper, "别人的话".into(), None).await.unwrap();
    let guest = s.open_conversation(None, Lang::Zh).await.unwrap();
    s.add_message(guest.id.clone(), Sender::Shopper, "访客的话".into(), None).await.unwrap();

    let data = s.shopper_data(shopper.clone()).await.unwrap();
    assert!(!data.is_empty());
    assert_eq!(data.shopper.as_ref().map(|p| p.id.as_str()), Some("S1001"));
    assert!(!data.orders.is_empty() && data.orders.iter().all(|o| o.shopper_id == "S1001"));
    assert_eq!(data.conversations.len(), 1);
    let c = &data.conversations[0];
    assert_eq!(c.conversation.id, mine.id);
    assert_eq!(texts(&c.messages), ["我的订单到哪了"]);
    assert_eq!(c.notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(), ["回电 13800001234"]);
    assert_eq!(c.feedback.as_ref().and_then(|f| f.rating), Some(5));
    assert_eq!(data.tickets.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [ticket.id.as_str()]);

    let stranger = s.shopper_data("S9999".into()).await.unwrap();
    assert!(stranger.is_empty(), "{stranger:?}");
}

// ---------------------------------------------------------------------------------------------
// webhooks' outbox, shoppers' photos, and two nodes on one desk (issue 19)

#[tokio::test]
async fn sqlite_webhooks() {
    let (_dir, s) = sqlite();
    contract_webhooks(&s).await;
}

#[tokio::test]
async fn postgres_webhooks() {
    let Some(pg) = Postgres::new("webhooks").await else { return };
    contract_webhooks(&pg.store().await).await;
    pg.finish().await;
}

#[tokio::test]
async fn sqlite_webhook_leases() {
    let (_dir, s) = sqlite();
    contract_webhook_leases(&s).await;
}

#[tokio::test]
async fn postgres_webhook_leases() {
    let Some(pg) = Postgres::new("webhook_leases").await else { return };
    contract_webhook_leases(&pg.store().await).await;
    pg.finish().await;
}

#[tokio::test]
async fn sqlite_images() {
    let (_dir, s) = sqlite();
    contract_images(&s).await;
}

#[tokio::test]
async fn postgres_images() {
    let Some(pg) = Postgres::new("images").await else { return };
    contract_images(&pg.store().await).await;
    pg.finish().await;
}

/// Events written with the changes they describe, fanned out by kind to the endpoints known
/// when they were written; due, attempted (a delivered one never changes again), replayed,
/// listed in the log and counted; old events pruned unless a delivery is pending.
async fn contract_webhooks<S>(s: &S)
where
    S: WebhookStore + ConversationStore + HandoffStore + AccountStore,
{
    use kefu::store::webhooks::{
        Attempt, AttemptEnd, DeliveryQuery, DeliveryStatus, EndpointSpec, Event, EventData, EventKind, Replay,
    };
    let spec = |url: &str, kinds: &[EventKind]| EndpointSpec { url: url.into(), kinds: kinds.to_vec() };
    let (all, tickets) = ("http://a/", "http://t/");
    let specs = || vec![spec(all, &[]), spec(tickets, &[EventKind::TicketCreated])];
    // a lease of 0 holds nothing: each call sees every due delivery
    let due = |url: &str| s.webhook_due(vec![url.into()], i64::MAX, 0, 100);
    assert!(s.add_account(account("alice", Role::Agent)).await.unwrap());
    assert_eq!(s.webhook_head().await.unwrap(), 0);

    // before any endpoint: never delivered to endpoints configured later
    let conv = s.open_conversation(Some("S1".into()), Lang::En).await.unwrap().id;
    s.open_handoff(conv.clone(), "requested".into(), EscalationContext::default()).await.unwrap();
    assert_eq!(s.webhook_fan_out(specs()).await.unwrap(), 0);
    assert!(due(all).await.unwrap().is_empty());

    // each change writes its event: escalated, ticket, assigned, resolved, feedback
    let h = s.open_handoff(conv.clone(), "complaint".into(), EscalationContext::default()).await.unwrap();
    let t = s.create_ticket(conv.clone(), None, Lang::En, "call me".into(), None).await.unwrap();
    s.assign_handoff(h.id, conv.clone(), "alice".into(), "Alice is here".into()).await.unwrap();
    s.end_handoff(h.id, conv.clone(), HandoffOutcome::Resolved, ConversationState::Closed, None)
        .await
        .unwrap();
    // ending it again writes no second `resolved`
    s.end_handoff(h.id, conv.clone(), HandoffOutcome::Resolved, ConversationState::Closed, None)
        .await
        .unwrap();
    s.save_feedback(record(&conv, None, None)).await.unwrap();
    assert!(s.rate(conv.clone(), 5, Some("good".into())).await.unwrap());
    assert_eq!(s.webhook_head().await.unwrap(), 7, "six events after the first");
    assert_eq!(s.webhook_fan_out(specs()).await.unwrap(), 7, "six to one, the ticket to the other");
    assert_eq!(s.webhook_fan_out(specs()).await.unwrap(), 0, "fanning out again adds nothing");

    let to_all = due(all).await.unwrap();
    assert_eq!(
        to_all.iter().map(|d| d.kind.as_str()).collect::<Vec<_>>(),
        [
            "conversation.escalated",
            "ticket.created",
            "conversation.assigned",
            "conversation.resolved",
            "feedback.written",
            "feedback.written"
        ]
    );
    let events: Vec<Event> = to_all.iter().map(|d| serde_json::from_str(&d.body).unwrap()).collect();
    assert!(events.iter().zip(&to_all).all(|(e, d)| e.id == d.event_id && d.attempts == 0));
    let EventData::ConversationEscalated(e) = &events[0].data else { panic!("{:?}", events[0]) };
    assert_eq!(
        (e.handoff_id, e.shopper_id.as_deref(), e.lang, e.reason.as_str()),
        (h.id, Some("S1"), Some(Lang::En), "complaint")
    );
    let EventData::TicketCreated(created) = &events[1].data else { panic!("{:?}", events[1]) };
    assert_eq!((created.ticket_id.as_str(), created.text.as_str()), (t.id.as_str(), "call me"));
    let EventData::ConversationAssigned(a) = &events[2].data else { panic!("{:?}", events[2]) };
    assert_eq!((a.handoff_id, a.agent.as_str()), (h.id, "alice"));
    let EventData::ConversationResolved(r) = &events[3].data else { panic!("{:?}", events[3]) };
    assert_eq!((r.handoff_id, r.agent.as_deref()), (h.id, Some("alice")));
    let EventData::FeedbackWritten(rated) = &events[5].data else { panic!("{:?}", events[5]) };
    assert_eq!((rated.rating, rated.comment.as_deref()), (Some(5), Some("good")), "the record as stored");
    let to_tickets = due(tickets).await.unwrap();
    assert_eq!((to_tickets.len(), to_tickets[0].event_id.as_str()), (1, to_all[1].event_id.as_str()));
    assert!(s.webhook_due(vec!["http://other/".into()], i64::MAX, 0, 100).await.unwrap().is_empty());
    assert_eq!(s.webhook_due(vec![all.into(), tickets.into()], i64::MAX, 0, 3).await.unwrap().len(), 3);

    // failed, retried later; then delivered: never due again, a late report changes nothing, and
    // a replay is refused
    let first = to_all[0].id;
    let attempt = |end, http_status, error: Option<&str>| Attempt {
        delivery: first,
        end,
        http_status,
        error: error.map(str::to_string),
    };
    s.webhook_attempted(vec![attempt(AttemptEnd::Retry { at_ms: 5_000 }, Some(500), Some("HTTP 500"))])
        .await
        .unwrap();
    let early = s.webhook_due(vec![all.into()], 4_999, 0, 100).await.unwrap();
    assert!(early.iter().all(|d| d.id != first));
    let again = s.webhook_due(vec![all.into()], 5_000, 0, 100).await.unwrap();
    assert_eq!(again.iter().find(|d| d.id == first).unwrap().attempts, 1);
    s.webhook_attempted(vec![attempt(AttemptEnd::Delivered, Some(204), None)]).await.unwrap();
    s.webhook_attempted(vec![attempt(AttemptEnd::GiveUp, None, Some("timeout"))]).await.unwrap();
    assert!(due(all).await.unwrap().iter().all(|d| d.id != first));
    assert!(matches!(s.webhook_replay(first).await.unwrap(), Replay::AlreadyDelivered(_)));

    // given up, then replayed: due at once with a fresh count
    let second = to_all[1].id;
    let gave_up = Attempt {
        delivery: second,
        end: AttemptEnd::GiveUp,
        http_status: None,
        error: Some("refused".into()),
    };
    s.webhook_attempted(vec![gave_up]).await.unwrap();
    assert!(due(all).await.unwrap().iter().all(|d| d.id != second));
    let Replay::Queued(row) = s.webhook_replay(second).await.unwrap() else { panic!("not queued") };
    assert_eq!((row.status, row.attempts, row.kind.as_str()), (DeliveryStatus::Pending, 0, "ticket.created"));
    assert!(due(all).await.unwrap().iter().any(|d| d.id == second));
    assert_eq!(s.webhook_replay(12345).await.unwrap(), Replay::NotFound);

    // the log: newest first, by endpoint and status, paged with `before`
    let log = s.webhook_deliveries(DeliveryQuery { limit: 100, ..DeliveryQuery::default() }).await.unwrap();
    assert_eq!(log.len(), 7);
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let delivered = log.iter().find(|r| r.id == first).unwrap();
    assert_eq!(
        (delivered.status, delivered.attempts, delivered.last_status, delivered.delivered_at.is_some()),
        (DeliveryStatus::Delivered, 2, Some(204), true)
    );
    assert_eq!(
        (delivered.endpoint.as_str(), delivered.event_id.as_str()),
        (all, to_all[0].event_id.as_str())
    );
    let only = |endpoint: Option<&str>, status, before, limit| DeliveryQuery {
        endpoint: endpoint.map(str::to_string),
        status,
        before,
        limit,
    };
    let to_t = s.webhook_deliveries(only(Some(tickets), None, None, 100)).await.unwrap();
    assert_eq!(to_t.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(), ["ticket.created"]);
    let done = s.webhook_deliveries(only(None, Some(DeliveryStatus::Delivered), None, 100)).await.unwrap();
    assert_eq!(done.iter().map(|r| r.id).collect::<Vec<_>>(), [first]);
    let page = s.webhook_deliveries(only(None, None, Some(log[2].id), 2)).await.unwrap();
    assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), [log[3].id, log[4].id]);

    let counts = s.webhook_endpoint_counts().await.unwrap();
    assert_eq!(counts.iter().map(|(url, _)| url.as_str()).collect::<Vec<_>>(), [all, tickets]);
    let (_, c) = &counts[0];
    assert_eq!((c.pending, c.delivered, c.failed, c.last_delivered_at.is_some()), (5, 1, 0, true));
    assert_eq!((counts[1].1.pending, counts[1].1.delivered), (1, 0));

    // pruning keeps events with a pending delivery: the first escalation (no delivery) and the
    // delivered one go
    assert_eq!(s.webhook_prune("2000-01-01T00:00:00.000Z".into()).await.unwrap(), 0, "none that old");
    assert_eq!(s.webhook_prune("9999".into()).await.unwrap(), 2);
    assert_eq!(due(all).await.unwrap().len(), 5);
    assert_eq!(s.webhook_deliveries(only(None, None, None, 100)).await.unwrap().len(), 6);
}

/// What `webhook_due` returns it claims: not due again while the lease holds (a second poller
/// gets the others), due again once it ends with its attempts unchanged (the sender died
/// mid-send), and an attempt recorded ends the lease (a retry is due at its own time).
async fn contract_webhook_leases<S: WebhookStore + ConversationStore + HandoffStore>(s: &S) {
    use kefu::store::webhooks::{Attempt, AttemptEnd, EndpointSpec};
    let url = "http://a/";
    s.webhook_fan_out(vec![EndpointSpec { url: url.into(), kinds: vec![] }]).await.unwrap();
    let conv = s.open_conversation(None, Lang::En).await.unwrap().id;
    for i in 0..5 {
        s.create_ticket(conv.clone(), None, Lang::En, format!("ticket {i}"), None).await.unwrap();
    }
    assert_eq!(s.webhook_fan_out(vec![EndpointSpec { url: url.into(), kinds: vec![] }]).await.unwrap(), 5);
    let (t0, lease) = (chrono::Utc::now().timestamp_millis(), 60_000);
    let due = |now: i64, limit| s.webhook_due(vec![url.into()], now, lease, limit);
    let first = due(t0, 2).await.unwrap();
    let second = due(t0, 10).await.unwrap();
    assert_eq!((first.len(), second.len()), (2, 3), "the second poller gets the other three");
    assert!(first.iter().all(|d| second.iter().all(|e| e.id != d.id)));
    assert!(due(t0 + lease - 1, 10).await.unwrap().is_empty(), "all held while their leases hold");
    // the first node recorded one failure (a retry after its lease), then died with the other
    let retry = Attempt {
        delivery: first[0].id,
        end: AttemptEnd::Retry { at_ms: t0 + lease + 1 },
        http_status: Some(503),
        error: Some("HTTP 503".into()),
    };
    s.webhook_attempted(vec![retry]).await.unwrap();
    let after = due(t0 + lease, 10).await.unwrap();
    let mut ids: Vec<i64> = after.iter().map(|d| d.id).collect();
    ids.sort();
    let mut expected: Vec<i64> = second.iter().map(|d| d.id).chain([first[1].id]).collect();
    expected.sort();
    assert_eq!(ids, expected, "the leases ended: due again, the retried one not yet");
    assert!(after.iter().all(|d| d.attempts == 0), "a send that died counted no attempt");
    let retried = due(t0 + lease + 1, 10).await.unwrap();
    assert_eq!(retried.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(), [(first[0].id, 1)]);
}

/// A photo is uploaded within the quotas, read back, then sent once as a shopper message.
async fn contract_images<S: ImageStore + ConversationStore>(s: &S) {
    use kefu::images::ImageKind;
    use kefu::store::images::{ImageAccepted, ImageQuota};
    let png = || {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        v.resize(100, 7);
        v
    };
    let conv = s.open_conversation(None, Lang::Zh).await.unwrap();
    let other = s.open_conversation(None, Lang::Zh).await.unwrap();
    let img = s.add_image(conv.id.clone(), ImageKind::Png, png(), 2, 1000).await.unwrap().unwrap();
    assert_eq!((img.content_type, img.bytes, img.id.len()), (ImageKind::Png, 100, 25));
    let file = s.image(conv.id.clone(), img.id.clone()).await.unwrap().unwrap();
    assert_eq!((file.kind, file.data), (ImageKind::Png, png()));
    assert_eq!(s.image(other.id.clone(), img.id.clone()).await.unwrap(), None, "another conversation's");
    assert_eq!(s.image(conv.id.clone(), "i-none".into()).await.unwrap(), None);

    // the conversation's quota, then the store's
    s.add_image(conv.id.clone(), ImageKind::Png, png(), 2, 1000).await.unwrap().unwrap();
    let third = s.add_image(conv.id.clone(), ImageKind::Png, png(), 2, 1000).await.unwrap();
    assert_eq!(third, Err(ImageQuota::Conversation(2)));
    let full = s.add_image(other.id.clone(), ImageKind::Png, png(), 2, 250).await.unwrap();
    assert_eq!(full, Err(ImageQuota::Full));
    s.add_image(other.id.clone(), ImageKind::Png, png(), 2, 300).await.unwrap().unwrap();

    // sent as a message: once per client id, and only from its own conversation
    let send = |conv: &str, client: &str, admit| {
        s.accept_shopper_image(conv.into(), client.into(), img.id.clone(), "[图片]".into(), admit)
    };
    assert_eq!(send(&other.id, "m1", true).await.unwrap(), ImageAccepted::NoSuchImage);
    assert_eq!(send(&conv.id, "m1", false).await.unwrap(), ImageAccepted::Refused);
    let ImageAccepted::New(row, sent) = send(&conv.id, "m1", true).await.unwrap() else { panic!("not new") };
    assert_eq!(sent, img);
    assert_eq!(send(&conv.id, "m1", true).await.unwrap(), ImageAccepted::Known { answered: false });
    assert_eq!(send(&conv.id, "m2", true).await.unwrap(), ImageAccepted::NoSuchImage, "sent already");
    s.add_message(conv.id.clone(), Sender::Bot, "收到".into(), None).await.unwrap();
    assert_eq!(send(&conv.id, "m1", true).await.unwrap(), ImageAccepted::Known { answered: true });
    let msgs = s.messages(conv.id.clone()).await.unwrap();
    assert_eq!(texts(&msgs), ["[图片]", "收到"]);
    assert_eq!(
        (msgs[0].id, msgs[0].sender, msgs[0].client_msg_id.as_deref()),
        (row, Sender::Shopper, Some("m1"))
    );
    assert_eq!(msgs[0].meta.as_ref().and_then(|m| m.image.clone()), Some(img.clone()));
    // sent, it is still served
    assert!(s.image(conv.id.clone(), img.id.clone()).await.unwrap().is_some());
}

/// Two nodes (two pools on one database) racing for one handoff: exactly one assignment wins
/// and the handoff has that one owner, with one announcement; an agent's message re-sent to
/// both nodes at once is stored once; an image sent from both at once is sent once.
#[tokio::test]
async fn postgres_two_nodes_one_owner() {
    let Some(pg) = Postgres::new("one_owner").await else { return };
    let (a, b) = tokio::join!(pg.store(), pg.store());
    let agents = ["amy", "ben", "cai", "dan", "eve", "fay"];
    for name in agents {
        assert!(a.add_account(account(name, Role::Agent)).await.unwrap());
    }
    for round in 0..5 {
        let c = a.open_conversation(None, Lang::Zh).await.unwrap();
        let h = b.open_handoff(c.id.clone(), "requested".into(), EscalationContext::default()).await.unwrap();
        let mut claims = tokio::task::JoinSet::new();
        for (i, agent) in agents.iter().enumerate() {
            let node = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (conv, agent) = (c.id.clone(), agent.to_string());
            claims.spawn(async move {
                let r = node.assign_handoff(h.id, conv, agent.clone(), format!("{agent} is here")).await;
                (agent, r)
            });
        }
        let results = claims.join_all().await;
        let won: Vec<&str> = results.iter().filter(|(_, r)| r.is_ok()).map(|(a, _)| a.as_str()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        assert!(
            results.iter().all(|(_, r)| matches!(r, Ok(_) | Err(StoreError::Constraint(_)))),
            "the others are refused: {results:?}"
        );
        let open = b.open_handoffs().await.unwrap();
        let mine = open.iter().find(|o| o.handoff.id == h.id).unwrap();
        assert_eq!(mine.handoff.agent.as_deref(), Some(won[0]));
        assert_eq!(texts(&a.messages(c.id.clone()).await.unwrap()), [format!("{} is here", won[0])]);

        // the winner's message, re-sent through both nodes at once
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..6 {
            let node = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (conv, agent) = (c.id.clone(), won[0].to_string());
            sends.spawn(async move {
                node.accept_agent_message(h.id, conv, agent, "a1".into(), "您好".into()).await
            });
        }
        let sent: Vec<Accepted> = sends.join_all().await.into_iter().map(Result::unwrap).collect();
        assert_eq!(sent.iter().filter(|s| matches!(s, Accepted::New(_))).count(), 1, "{sent:?}");
        assert!(sent.iter().all(|s| matches!(s, Accepted::New(_) | Accepted::Known { .. })), "{sent:?}");
        let messages = b.messages(c.id.clone()).await.unwrap();
        assert_eq!(messages.iter().filter(|m| m.text == "您好").count(), 1);
        let ctx = a.conversation_context(c.id.clone()).await.unwrap().unwrap();
        assert!(ctx.handoffs[0].first_response_at.is_some());
    }

    // one image, sent from both nodes at once under different client ids: one message has it
    use kefu::store::images::ImageAccepted;
    let c = a.open_conversation(None, Lang::Zh).await.unwrap();
    let mut data = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    data.resize(64, 1);
    let img =
        a.add_image(c.id.clone(), kefu::images::ImageKind::Png, data, 4, 1 << 20).await.unwrap().unwrap();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..6 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (conv, image) = (c.id.clone(), img.id.clone());
        sends.spawn(async move {
            node.accept_shopper_image(conv, format!("m{i}"), image, "[图片]".into(), true).await
        });
    }
    let sent: Vec<ImageAccepted> = sends.join_all().await.into_iter().map(Result::unwrap).collect();
    assert_eq!(sent.iter().filter(|s| matches!(s, ImageAccepted::New(..))).count(), 1, "{sent:?}");
    assert_eq!(sent.iter().filter(|s| **s == ImageAccepted::NoSuchImage).count(), 5, "{sent:?}");
    assert_eq!(texts(&b.messages(c.id.clone()).await.unwrap()), ["[图片]"]);
    drop((a, b));
    pg.finish().await;
}

/// Events written on two nodes while both fan out: every event reaches the endpoint exactly
/// once, whatever order the writers' transactions commit in.
#[tokio::test]
async fn postgres_two_nodes_fan_out_every_event_once() {
    use kefu::store::webhooks::{DeliveryQuery, EndpointSpec};
    let Some(pg) = Postgres::new("fan_out").await else { return };
    let (a, b) = tokio::join!(pg.store(), pg.store());
    let url = "http://all/";
    let specs = || vec![EndpointSpec { url: url.into(), kinds: vec![] }];
    a.webhook_fan_out(specs()).await.unwrap();
    let c = a.open_conversation(None, Lang::En).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let conv = c.id.clone();
        tasks.spawn(async move {
            for j in 0..10 {
                node.create_ticket(conv.clone(), None, Lang::En, format!("{i}.{j}"), None).await.unwrap();
            }
            0
        });
        let node = if i % 2 == 0 { b.clone() } else { a.clone() };
        tasks.spawn(async move {
            let mut created = 0;
            for _ in 0..10 {
                created += node.webhook_fan_out(specs()).await.unwrap();
            }
            created
        });
    }
    let mut created: usize = tasks.join_all().await.into_iter().sum();
    created += b.webhook_fan_out(specs()).await.unwrap();
    assert_eq!(created, 80);
    let log = a.webhook_deliveries(DeliveryQuery { limit: 1000, ..DeliveryQuery::default() }).await.unwrap();
    let mut events: Vec<&str> = log.iter().map(|r| r.event_id.as_str()).collect();
    events.sort();
    events.dedup();
    assert_eq!((log.len(), events.len()), (80, 80));
    drop((a, b));
    pg.finish().await;
}

/// Two nodes (two pools on one database) each polling the outbox as their workers do, at once:
/// no delivery is handed to both while its lease holds, and every delivery is handed out.
#[tokio::test]
async fn postgres_two_nodes_never_claim_one_delivery() {
    use kefu::store::webhooks::EndpointSpec;
    let Some(pg) = Postgres::new("two_nodes_claim").await else { return };
    let (a, b) = tokio::join!(pg.store(), pg.store());
    let urls = ["http://one/", "http://two/"];
    let specs = || urls.iter().map(|u| EndpointSpec { url: (*u).into(), kinds: vec![] }).collect::<Vec<_>>();
    a.webhook_fan_out(specs()).await.unwrap();
    let conv = a.open_conversation(None, Lang::En).await.unwrap().id;
    for i in 0..60 {
        a.create_ticket(conv.clone(), None, Lang::En, format!("t{i}"), None).await.unwrap();
    }
    assert_eq!(b.webhook_fan_out(specs()).await.unwrap(), 120);
    let now = chrono::Utc::now().timestamp_millis();
    let mut pollers = tokio::task::JoinSet::new();
    for i in 0..6 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let urls: Vec<String> = urls.iter().map(|u| u.to_string()).collect();
        pollers.spawn(async move {
            let mut got = Vec::new();
            loop {
                let due = node.webhook_due(urls.clone(), now, 3_600_000, 7).await.unwrap();
                if due.is_empty() {
                    return got;
                }
                got.extend(due.into_iter().map(|d| d.id));
            }
        });
    }
    let mut claimed: Vec<i64> = pollers.join_all().await.into_iter().flatten().collect();
    let handed_out = claimed.len();
    claimed.sort();
    claimed.dedup();
    assert_eq!((handed_out, claimed.len()), (120, 120), "each delivery to exactly one poller");
    drop((a, b));
    pg.finish().await;
}

// ---------------------------------------------------------------------------------------------
// conversations, analytics and a shopper's data on PostgreSQL; two nodes on one database
// (issue 19)

#[tokio::test]
async fn postgres_conversations() {
    let Some(pg) = Postgres::new("conversations").await else { return };
    contract_conversations(&pg.store().await).await;
    pg.finish().await;
}

#[tokio::test]
async fn postgres_analytics() {
    let Some(pg) = Postgres::new("analytics").await else { return };
    contract_analytics(&pg.store().await).await;
    pg.finish().await;
}

#[tokio::test]
async fn postgres_shopper_data() {
    let Some(pg) = Postgres::new("shopper_data").await else { return };
    contract_shopper_data(&pg.store().await).await;
    pg.finish().await;
}

#[tokio::test]
async fn sqlite_return_events() {
    let (_dir, s) = sqlite();
    contract_return_events(&s).await;
}

#[tokio::test]
async fn postgres_return_events() {
    let Some(pg) = Postgres::new("return_events").await else { return };
    contract_return_events(&pg.store().await).await;
    pg.finish().await;
}

/// `return.requested` is written with the return it describes (a refused second return writes
/// none), and once per return another system opened however often it is reported.
async fn contract_return_events<S: ConversationStore + WebhookStore>(s: &S) {
    use kefu::store::webhooks::{EndpointSpec, Event, EventData};
    let (shoppers, orders) = demo();
    s.seed(shoppers, orders.clone()).await.unwrap();
    s.webhook_fan_out(vec![EndpointSpec { url: "http://a/".into(), kinds: vec![] }]).await.unwrap();
    let no = orders[0].order_no.clone();
    let r = s.create_return_once(no.clone(), None, "size".into(), "k1".into()).await.unwrap().unwrap();
    s.create_return_once(no.clone(), None, "size".into(), "k1".into()).await.unwrap().unwrap();
    s.create_return(no.clone(), None, "size".into()).await.unwrap().unwrap_err();
    assert_eq!(s.webhook_head().await.unwrap(), 1, "one event for one return");

    let theirs = kefu::store::ReturnRequest { id: "RS000001".into(), ..r.clone() };
    assert!(s.return_requested(theirs.clone()).await.unwrap());
    assert!(!s.return_requested(theirs.clone()).await.unwrap(), "the same return again");
    assert_eq!(s.webhook_head().await.unwrap(), 2);

    s.webhook_fan_out(vec![EndpointSpec { url: "http://a/".into(), kinds: vec![] }]).await.unwrap();
    let due = s.webhook_due(vec!["http://a/".into()], i64::MAX, 0, 10).await.unwrap();
    let returns: Vec<String> = due
        .iter()
        .map(|d| match serde_json::from_str::<Event>(&d.body).unwrap().data {
            EventData::ReturnRequested(r) => r.id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(returns, [r.id, theirs.id]);
}

/// Two nodes (two pools on one database) racing on one order and one client message id: one
/// return, one stored message, no lost order change, and the phone lockout counted exactly.
#[tokio::test]
async fn postgres_two_nodes_one_return() {
    let Some(pg) = Postgres::new("two_nodes_return").await else { return };
    let (a, b) = tokio::join!(pg.store(), pg.store());
    let (shoppers, orders) = demo();
    a.seed(shoppers, orders.clone()).await.unwrap();
    let no = orders[0].order_no.clone();
    let c = a.open_conversation(None, Lang::Zh).await.unwrap().id;
    let node = |i: usize| if i.is_multiple_of(2) { a.clone() } else { b.clone() };

    let mut racing = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (s, no, c) = (node(i), no.clone(), c.clone());
        racing.spawn(async move {
            s.create_return_once(no, Some(c), "size".into(), format!("key-{i}")).await.unwrap()
        });
    }
    let results = racing.join_all().await;
    let opened: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(opened.len(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.as_ref().unwrap_or_else(|e| e) == opened[0]));
    assert_eq!(b.returns_for(no.clone()).await.unwrap(), vec![opened[0].clone()]);
    assert_eq!(a.webhook_head().await.unwrap(), 1, "one return.requested");

    let mut racing = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (s, c) = (node(i), c.clone());
        racing.spawn(async move {
            s.accept_shopper_message(c, "m1".into(), "你好".into(), true).await.unwrap()
        });
    }
    let results = racing.join_all().await;
    let new = results.iter().filter(|r| matches!(r, Accepted::New(_))).count();
    assert_eq!(new, 1, "{results:?}");
    assert!(results.iter().all(|r| matches!(r, Accepted::New(_) | Accepted::Known { answered: false })));
    assert_eq!(texts(&a.messages(c.clone()).await.unwrap()), ["你好"]);

    // every node's change applies to the order as the last one left it
    let mut racing = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (s, no) = (node(i), no.clone());
        racing.spawn(async move {
            s.update_order(no, |o| {
                o.tracking_no.get_or_insert_with(String::new).push('x');
                true
            })
            .await
            .unwrap()
        });
    }
    racing.join_all().await;
    let expected = format!("{}xxxxxxxx", orders[0].tracking_no.clone().unwrap_or_default());
    assert_eq!(b.order(no.clone()).await.unwrap().unwrap().tracking_no, Some(expected));

    // twelve wrong guesses at once, a lockout of five: exactly five counted, the rest locked
    let mut racing = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (s, no) = (node(i), no.clone());
        racing.spawn(async move { s.count_phone_guess(no, false, 5).await.unwrap() });
    }
    let results = racing.join_all().await;
    assert_eq!(results.iter().filter(|r| **r == PhoneCheck::Mismatch).count(), 5, "{results:?}");
    assert_eq!(results.iter().filter(|r| **r == PhoneCheck::Locked).count(), 7, "{results:?}");
    pg.finish().await;
}
