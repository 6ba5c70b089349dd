//! A shopper's erasure and the retention periods (issue 21, items 1 and 2): the store's
//! operations on both backends, written against the traits only (SQLite always; PostgreSQL when
//! `KEFU_TEST_POSTGRES` names a server, else skipped), an erased shopper's words gone from every
//! staff API of a real server while the counts stay, `kefu shopper erase`, and the retention job
//! purging an old batch and leaving recent data.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::postgres::Postgres;
use common::process::Cli;
use common::server::{knowledge, TestServer};
use common::ws::Client;
use kefu::identity::Role;
use kefu::images::ImageKind;
use kefu::lang::Lang;
use kefu::privacy::retention::{self, Settings};
use kefu::records::{FeedbackRecord, Resolution, Seen};
use kefu::store::traits::ImageStore;
use kefu::store::{
    Account, AccountStore, AnalyticsReads, ConversationStore, HandoffStore, LoginLimits, Retained,
    ShopperDataStore, Store, ERASED,
};
use serde_json::Value;

const PASSWORD: &str = "erasure-password-1";
/// Words only the shopper said (never an FAQ's or the bot's).
const SAID: &str = "紫色长颈鹿xyzzy";
const COMMENT: &str = "plugh的评价";
const NOTE: &str = "agent note about plover";
const TICKET: &str = "请回电 frobozz";
const PHONE: &str = "13912345678";

fn record(conversation_id: &str, shopper: Option<&str>, comment: Option<&str>) -> FeedbackRecord {
    FeedbackRecord {
        conversation_id: conversation_id.into(),
        shopper_id: shopper.map(str::to_string),
        lang: Lang::Zh,
        started_at: "2026-11-25T01:00:00.000Z".into(),
        ended_at: "2026-11-25T01:05:00.000Z".into(),
        shopper_messages: 2,
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
        rating: None,
        comment: comment.map(str::to_string),
        attachments: 1,
    }
}

fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    v.resize(100, 7);
    v
}

async fn add_agent<S: AccountStore>(s: &S, name: &str) {
    let account = Account {
        name: name.into(),
        display_name: name.into(),
        role: Role::Agent,
        password_hash: "x".into(),
        created_at: kefu::store::now(),
        token_gen: 0,
    };
    assert!(s.add_account(account).await.unwrap());
}

// ---------------------------------------------------------------------------------------------
// the store's operations, on either backend

async fn contract_erasure<S>(s: &S)
where
    S: ConversationStore + HandoffStore + ShopperDataStore + ImageStore + AccountStore + AnalyticsReads,
{
    let kb = knowledge();
    s.seed(kb.shoppers.clone(), kb.orders.clone()).await.unwrap();
    add_agent(s, "li").await;
    let order = kb.orders.iter().find(|o| o.shopper_id == "S1001").unwrap().order_no.clone();

    // S1001 says things, sends a photo, leaves a ticket, guesses digits, opens a return, rates
    let conv = s.open_conversation(Some("S1001".into()), Lang::Zh).await.unwrap();
    s.add_message(conv.id.clone(), kefu::store::Sender::Shopper, format!("{SAID} {PHONE}"), None)
        .await
        .unwrap();
    s.add_bot_turn(conv.id.clone(), vec![("bot reply".into(), None)], "{\"v\":1}".into()).await.unwrap();
    let img = s.add_image(conv.id.clone(), ImageKind::Png, png(), 5, 1 << 20).await.unwrap().unwrap();
    s.accept_shopper_image(conv.id.clone(), "c-img".into(), img.id.clone(), "[图片]".into(), true)
        .await
        .unwrap();
    s.add_note(conv.id.clone(), "li".into(), NOTE.into()).await.unwrap();
    let ticket = s
        .create_ticket(conv.id.clone(), Some("S1001".into()), Lang::Zh, TICKET.into(), Some(PHONE.into()))
        .await
        .unwrap();
    s.check_phone_digits(order.clone(), "0000".into(), 5).await.unwrap();
    let _ = s.create_return(order.clone(), Some(conv.id.clone()), format!("{SAID} broken")).await.unwrap();
    s.save_feedback(record(&conv.id, Some("S1001"), None)).await.unwrap();
    assert!(s.rate(conv.id.clone(), 4, Some(COMMENT.into())).await.unwrap());
    // someone else, untouched
    let other = s.open_conversation(Some("S1002".into()), Lang::Zh).await.unwrap();
    s.add_message(other.id.clone(), kefu::store::Sender::Shopper, "别人的话".into(), None).await.unwrap();

    let before = s.messages(conv.id.clone()).await.unwrap().len();
    let erased = s.erase_shopper("S1001".into(), "boss".into()).await.unwrap().expect("a known shopper");
    let n = &erased.counts;
    assert_eq!((erased.shopper_id.as_str(), erased.by.as_str()), ("S1001", "boss"));
    assert_eq!(
        (n.conversations, n.notes, n.tickets, n.images, n.profile, n.feedback),
        (1, 1, 1, 1, 1, 1),
        "{n:?}"
    );
    assert_eq!((n.messages, n.phone_guesses), (before, 1), "{n:?}");
    assert!(n.orders >= 1 && n.returns == 1 && n.webhook_events >= 1, "{n:?}");

    // counts survive, words do not
    let messages = s.messages(conv.id.clone()).await.unwrap();
    assert_eq!(messages.len(), before);
    assert!(messages.iter().all(|m| m.text == ERASED && m.meta.as_ref().is_none_or(|m| m.image.is_none())));
    assert_eq!(s.image(conv.id.clone(), img.id.clone()).await.unwrap().map(|f| f.data), None);
    let data = s.shopper_data("S1001".into()).await.unwrap();
    let profile = data.shopper.as_ref().unwrap();
    assert_eq!((profile.name.as_str(), profile.phone.as_str()), ("", ""));
    assert!(data
        .orders
        .iter()
        .all(|o| o.address.name.is_empty() && o.address.phone.is_empty() && o.address.detail.is_empty()));
    assert!(data.returns.iter().all(|r| r.reason == ERASED));
    let c = &data.conversations[0];
    assert_eq!(c.notes[0].text, ERASED);
    let feedback = c.feedback.as_ref().unwrap();
    assert_eq!((feedback.rating, feedback.comment.as_deref(), feedback.shopper_messages), (Some(4), None, 2));
    let t = s.ticket(ticket.id.clone()).await.unwrap().unwrap();
    assert_eq!((t.text.as_str(), t.contact.as_deref()), (ERASED, None));
    assert_eq!(s.dialogue_state(conv.id.clone()).await.unwrap(), None);
    let text = format!("{data:?}");
    for word in [SAID, COMMENT, NOTE, TICKET, PHONE] {
        assert!(!text.contains(word), "{word} still in {text}");
    }
    let all = s.feedback_since(String::new()).await.unwrap();
    assert!(all.iter().all(|r| r.comment.as_deref() != Some(COMMENT)));
    // a new guess starts from nothing (the old wrong one is gone)
    assert_eq!(s.messages(other.id.clone()).await.unwrap()[0].text, "别人的话");

    // a repeat changes nothing more; an unknown shopper is None; both are recorded
    let again = s.erase_shopper("S1001".into(), "boss".into()).await.unwrap().unwrap();
    let m = &again.counts;
    assert_eq!(
        (m.messages, m.notes, m.tickets, m.images, m.profile, m.orders, m.feedback, m.webhook_events),
        (0, 0, 0, 0, 0, 0, 0, 0),
        "{m:?}"
    );
    assert_eq!(s.erase_shopper("S9999".into(), "boss".into()).await.unwrap(), None);
    let recorded = s.erasures(Some("S1001".into())).await.unwrap();
    assert_eq!(recorded.iter().map(|e| e.id).collect::<Vec<_>>(), vec![again.id, erased.id]);
    assert_eq!(recorded[1].counts, erased.counts);
    assert_eq!(s.erasures(None).await.unwrap().len(), 2);
}

/// Purges at a `now` chosen so that what was written before `mid` has expired and what came
/// after has not (periods of one second, batches of two rows).
async fn contract_retention<S>(s: &S)
where
    S: ConversationStore + HandoffStore + ShopperDataStore + AccountStore + AnalyticsReads,
{
    add_agent(s, "li").await;
    let limits = LoginLimits { max_failures: 5, window_secs: 600, max_rows: 1000 };
    let old = s.open_conversation(Some("S1001".into()), Lang::Zh).await.unwrap();
    for i in 0..5 {
        s.add_message(old.id.clone(), kefu::store::Sender::Shopper, format!("old {i}"), None).await.unwrap();
    }
    s.add_note(old.id.clone(), "li".into(), "old note".into()).await.unwrap();
    let closed = s.create_ticket(old.id.clone(), None, Lang::Zh, "old closed".into(), None).await.unwrap();
    assert!(s.close_ticket(closed.id.clone(), "li".into()).await.unwrap());
    let open = s.create_ticket(old.id.clone(), None, Lang::Zh, "old open".into(), None).await.unwrap();
    s.save_feedback(record(&old.id, Some("S1001"), Some("old comment"))).await.unwrap();
    s.reserve_login("nobody".into(), limits, Utc::now().timestamp()).await.unwrap();

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mid = Utc::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let new = s.open_conversation(Some("S1001".into()), Lang::Zh).await.unwrap();
    s.add_message(new.id.clone(), kefu::store::Sender::Shopper, "new".into(), None).await.unwrap();
    s.add_note(new.id.clone(), "li".into(), "new note".into()).await.unwrap();
    let recent = s.create_ticket(new.id.clone(), None, Lang::Zh, "new closed".into(), None).await.unwrap();
    assert!(s.close_ticket(recent.id.clone(), "li".into()).await.unwrap());
    s.save_feedback(record(&new.id, Some("S1001"), Some("new comment"))).await.unwrap();
    s.reserve_login("somebody".into(), limits, Utc::now().timestamp()).await.unwrap();

    let second = Some(Duration::from_secs(1));
    let settings = Settings {
        periods: Retained::ALL.iter().map(|&k| (k, second)).collect(),
        every: None,
        batch_rows: 2,
        pause: Duration::from_millis(1),
    };
    let now: DateTime<Utc> = mid + chrono::Duration::seconds(1);
    let purged = retention::run_once(s, &settings, now).await.unwrap();
    let rows = |k: Retained| purged.iter().find(|p| p.kind == k).unwrap().rows;
    assert_eq!(rows(Retained::Messages), 5, "{purged:?}");
    assert_eq!(purged.iter().find(|p| p.kind == Retained::Messages).unwrap().batches, 3);
    assert_eq!((rows(Retained::Notes), rows(Retained::Tickets), rows(Retained::Feedback)), (1, 1, 1));
    assert_eq!(rows(Retained::Logins), 1, "{purged:?}");

    assert!(s.messages(old.id.clone()).await.unwrap().is_empty());
    assert_eq!(s.messages(new.id.clone()).await.unwrap()[0].text, "new");
    let data = s.shopper_data("S1001".into()).await.unwrap();
    let notes: Vec<&str> =
        data.conversations.iter().flat_map(|c| c.notes.iter().map(|n| n.text.as_str())).collect();
    assert_eq!(notes, vec!["new note"]);
    assert!(s.ticket(closed.id.clone()).await.unwrap().is_none());
    assert!(s.ticket(open.id.clone()).await.unwrap().is_some(), "an open ticket is unfinished work");
    assert!(s.ticket(recent.id.clone()).await.unwrap().is_some());
    // the old feedback record is still counted, without its comment and shopper
    let records = s.feedback_since(String::new()).await.unwrap();
    assert_eq!(records.len(), 2);
    let old_record = records.iter().find(|r| r.conversation_id == old.id).unwrap();
    assert_eq!((old_record.comment.as_deref(), old_record.shopper_id.as_deref()), (None, None));
    assert_eq!((old_record.shopper_messages, old_record.attachments), (2, 1));
    let new_record = records.iter().find(|r| r.conversation_id == new.id).unwrap();
    assert_eq!(new_record.comment.as_deref(), Some("new comment"));

    // a second round finds nothing more
    let again = retention::run_once(s, &settings, now).await.unwrap();
    assert!(again.iter().all(|p| p.rows == 0 && p.batches == 1), "{again:?}");
}

fn sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("kefu.db")).unwrap();
    (dir, store)
}

#[tokio::test]
async fn sqlite_erasure() {
    let (_dir, s) = sqlite();
    contract_erasure(&s).await;
}

#[tokio::test]
async fn sqlite_retention() {
    let (_dir, s) = sqlite();
    contract_retention(&s).await;
}

#[tokio::test]
async fn postgres_erasure() {
    let Some(pg) = Postgres::new("erasure").await else { return };
    contract_erasure(&pg.store().await).await;
    pg.finish().await;
}

#[tokio::test]
async fn postgres_retention() {
    let Some(pg) = Postgres::new("retention").await else { return };
    contract_retention(&pg.store().await).await;
    pg.finish().await;
}

// ---------------------------------------------------------------------------------------------
// a real server: every staff API, the admin API, the CLI

fn has(v: &Value, word: &str) -> bool {
    v.to_string().contains(word)
}

#[tokio::test]
async fn an_erased_shoppers_words_are_gone_from_every_staff_api_and_the_counts_stay() {
    let s = TestServer::start().await;
    let staff = [("li", "Li", Role::Agent), ("wang", "Wang", Role::Trainer), ("boss", "Boss", Role::Admin)];
    s.add_staff(&staff, PASSWORD).await;
    let (admin, trainer, agent) =
        (s.login("boss", PASSWORD).await, s.login("wang", PASSWORD).await, s.login("li", PASSWORD).await);

    let (mut shopper, conv) = Client::shopper(s.addr, Some("S1001")).await;
    shopper.ask(SAID).await;
    shopper.ask(&format!("{SAID} 我的手机号是{PHONE}")).await;
    // a low rating keeps the turns in the review queue
    shopper.end(Some(1)).await;
    assert!(s.app.store.rate(conv.clone(), 1, Some(COMMENT.into())).await.unwrap());
    s.app.store.add_note(conv.clone(), "li".into(), NOTE.into()).await.unwrap();
    s.app
        .store
        .create_ticket(conv.clone(), Some("S1001".into()), Lang::Zh, TICKET.into(), Some(PHONE.into()))
        .await
        .unwrap();
    let (mut other, other_conv) = Client::shopper(s.addr, Some("S1002")).await;
    other.ask("别人的紫色长颈鹿").await;

    let detail = format!("/api/conversations/{conv}");
    let today = Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).date_naive();
    let review = format!(
        "/api/review?since={}&to={}",
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(1)
    );
    let views = [
        (detail.as_str(), &admin),
        ("/api/conversations?shopper=S1001", &agent),
        (review.as_str(), &trainer),
        ("/api/feedback", &trainer),
        ("/api/shoppers/S1001/export", &admin),
    ];
    let (_, before) = s.get(&detail, &admin).await;
    let messages_before = before["transcript"].as_array().unwrap().len();
    // before: the words are there (so their absence later means something)
    for (uri, token) in [views[0], views[2], views[3], views[4]] {
        let (status, body) = s.get(uri, token).await;
        assert_eq!(status, 200, "{uri}: {body}");
        assert!(has(&body, SAID) || has(&body, COMMENT), "{uri} before erasure: {body}");
    }

    // only admins erase; unknown shoppers are 404
    assert_eq!(s.call("POST", "/api/shoppers/S1001/erase", Some(&trainer), None).await.0, 403);
    assert_eq!(s.call("POST", "/api/shoppers/S1001/erase", Some(&agent), None).await.0, 403);
    assert_eq!(s.call("POST", "/api/shoppers/S1001/erase", None, None).await.0, 401);
    assert_eq!(s.call("POST", "/api/shoppers/S9999/erase", Some(&admin), None).await.0, 404);
    let (status, erased) = s.call("POST", "/api/shoppers/S1001/erase", Some(&admin), None).await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!((erased["shopper_id"].as_str(), erased["erased_by"].as_str()), (Some("S1001"), Some("boss")));
    assert_eq!(erased["changed"]["messages"].as_u64(), Some(messages_before as u64), "{erased}");

    for (uri, token) in views {
        let (status, body) = s.get(uri, token).await;
        assert_eq!(status, 200, "{uri}: {body}");
        for word in [SAID, COMMENT, NOTE, TICKET, PHONE] {
            assert!(!has(&body, word), "{uri} still shows {word}: {body}");
        }
    }
    // erased turns are not review material either
    let (_, queue) = s.get(&review, &trainer).await;
    assert!(!has(&queue, ERASED), "{queue}");
    let me = knowledge().shoppers.into_iter().find(|x| x.id == "S1001").unwrap();
    let (_, export) = s.get("/api/shoppers/S1001/export", &admin).await;
    assert!(!has(&export, &me.name) && !has(&export, &me.phone), "{export}");
    let (_, tickets) = s.get("/api/tickets", &agent).await;
    assert!(!has(&tickets, TICKET) && !has(&tickets, PHONE), "{tickets}");
    // the counts stay: the same conversation, as many messages, its feedback record and rating
    let (_, after) = s.get(&detail, &admin).await;
    assert_eq!(after["transcript"].as_array().unwrap().len(), messages_before);
    let (_, found) = s.get("/api/conversations?shopper=S1001", &agent).await;
    assert!(has(&found, &conv), "{found}");
    let (_, feedback) = s.get("/api/feedback", &trainer).await;
    let mine = feedback.as_array().unwrap().iter().find(|r| r["conversation_id"] == conv.as_str()).unwrap();
    assert_eq!(mine["rating"], 1);
    // someone else's words stay
    let (_, theirs) = s.get(&format!("/api/conversations/{other_conv}"), &admin).await;
    assert!(has(&theirs, "别人的紫色长颈鹿"), "{theirs}");

    // a repeat is harmless and recorded too
    let (status, again) = s.call("POST", "/api/shoppers/S1001/erase", Some(&admin), None).await;
    assert_eq!((status.as_u16(), again["changed"]["messages"].as_u64()), (200, Some(0)), "{again}");
    let (status, list) = s.get("/api/erasures?shopper=S1001", &admin).await;
    assert_eq!((status.as_u16(), list.as_array().unwrap().len()), (200, 2), "{list}");
    assert_eq!(s.get("/api/erasures", &trainer).await.0, 403);

    // the CLI, on the same database while the service runs
    let db = s.dir.path().join("kefu.db");
    let out = Cli::new(&["shopper", "erase", "S1002"]).env("KEFU_DATABASE", &db).run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((printed["shopper_id"].as_str(), printed["erased_by"].as_str()), (Some("S1002"), Some("cli")));
    assert!(printed["changed"]["messages"].as_u64().unwrap() >= 1, "{printed}");
    let (_, theirs) = s.get(&format!("/api/conversations/{other_conv}"), &admin).await;
    assert!(!has(&theirs, "别人的紫色长颈鹿"), "{theirs}");
    let out = Cli::new(&["shopper", "erase", "S9999"]).env("KEFU_DATABASE", &db).run();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing is stored"));
}
