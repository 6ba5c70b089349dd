//! What the trainer console asks of the server (issue 17, trainer items), end to end against the
//! real server on 127.0.0.1: the review queue without flow steps and plain requests for a
//! person, with the message that escalated and a low rating after an agent kept apart;
//! analytics that mark what trainers dismissed; "try it" with the model in force and a
//! candidate; an FAQ entry whose two answers were not edited together; the models listing's
//! last change after a rollback.

mod common;

use axum::http::StatusCode;
use common::models::save_tiny_version;
use common::server::TestServer;
use common::ws::Client;
use kefu::identity::Role;
use serde_json::{json, Value};

const PASSWORD: &str = "trainer-password-1";

async fn start() -> TestServer {
    let s = TestServer::start_with(|c| c.token_secret = None).await;
    let staff = [("wang", "Wang", Role::Trainer), ("li", "Li", Role::Agent)];
    s.add_staff(&staff, PASSWORD).await;
    s
}

fn groups(review: &Value) -> &Vec<Value> {
    review["groups"].as_array().unwrap()
}

fn find<'a>(review: &'a Value, text: &str) -> Option<&'a Value> {
    groups(review).iter().find(|g| g["examples"].as_array().unwrap().iter().any(|e| e["text"] == text))
}

fn sum(days: &Value, field: impl Fn(&Value) -> u64) -> u64 {
    days["buckets"].as_array().unwrap().iter().map(field).sum()
}

#[tokio::test]
async fn the_review_queue_lists_questions_not_steps_and_keeps_agents_ratings_apart() {
    let s = start().await;
    let (mut li, _) =
        Client::agent(s.addr, &s.login("li", PASSWORD).await, json!({"langs": ["zh"], "capacity": 3})).await;

    // A: a question, an order number for the order flow, a person asked for; the agent answers
    // and resolves, and the shopper rates 1 (the agent's rating, not the bot's)
    let (mut a, a_conv) = Client::shopper_with(s.addr, json!({"lang": "zh"})).await;
    a.ask("你们的衣服会不会缩水").await;
    a.ask("261101219383734421").await;
    a.say("转人工").await;
    li.assigned(&a_conv).await;
    li.send(json!({"type": "message", "conversation_id": a_conv, "id": "a1", "text": "您好，我来帮您看"}))
        .await;
    li.until(|v| v["type"] == "ack" && v["id"] == "a1").await;
    a.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    li.send(json!({"type": "resolve", "conversation_id": a_conv})).await;
    li.until(|v| v["type"] == "done" && v["op"] == "resolve").await;
    a.until_type("rating_request").await;
    a.send(json!({"type": "rating", "score": 1})).await;
    a.until_type("reply").await;

    // B: only a request for a person: nothing for the knowledge base
    let (mut b, b_conv) = Client::shopper_with(s.addr, json!({"lang": "zh"})).await;
    b.say("转人工").await;
    li.assigned(&b_conv).await;
    li.send(json!({"type": "resolve", "conversation_id": b_conv})).await;
    li.until(|v| v["type"] == "done" && v["op"] == "resolve").await;

    // C: the bot alone, rated 1: the bot's failure
    let (mut c, c_conv) = Client::shopper_with(s.addr, json!({"lang": "zh"})).await;
    let r = c.ask("发票怎么开").await;
    assert_eq!(r["faq_id"], "invoice-electronic", "{r}");
    c.end(Some(1)).await;

    // D: a complaint escalates by itself
    let (mut d, d_conv) = Client::shopper_with(s.addr, json!({"lang": "zh"})).await;
    d.say("你们发的货是坏的，我要投诉").await;
    li.assigned(&d_conv).await;

    let trainer = s.login("wang", PASSWORD).await;
    let (st, review) = s.get("/api/review?days=2", &trainer).await;
    assert_eq!(st, StatusCode::OK, "{review}");
    for step in ["261101219383734421", "转人工"] {
        assert!(find(&review, step).is_none(), "{step} is not a question the bot failed: {review:#}");
    }
    let shrink = find(&review, "你们的衣服会不会缩水").expect("the question before the request for a person");
    assert_eq!(shrink["reasons"].get("low_rating"), None, "the 1 star was after the agent: {shrink:#}");
    assert_eq!(shrink["reasons"]["escalated"], 1, "{shrink:#}");
    let example = &shrink["examples"][0];
    assert_eq!(example["conversation_id"], a_conv.as_str());
    assert_eq!(example["escalated_by"], "转人工");
    assert!(example["message_id"].as_i64().unwrap() > 0);
    let invoice = find(&review, "发票怎么开").expect("the bot's low rating");
    assert_eq!(invoice["reasons"], json!({"low_rating": 1}));
    assert_eq!(invoice["examples"][0]["conversation_id"], c_conv.as_str());
    let complaint = find(&review, "你们发的货是坏的，我要投诉").expect("the sentence that escalated");
    assert_eq!(complaint["reasons"], json!({"escalated": 1}));
    assert_eq!(complaint["examples"][0]["escalated_by"], Value::Null);
    assert_eq!(review["total"], 3, "{review:#}");
    assert_eq!(review["messages"], 3);

    // the link: the conversation with that message in it, for a trainer too
    let (st, conv) = s.get(&format!("/api/conversations/{a_conv}"), &trainer).await;
    assert_eq!(st, StatusCode::OK, "{conv}");
    let transcript = conv["transcript"].as_array().unwrap();
    assert!(transcript
        .iter()
        .any(|m| m["id"] == example["message_id"] && m["text"] == "你们的衣服会不会缩水"));

    // dismissed: out of the queue (the count says so), still in analytics, marked
    let key = complaint["key"].as_str().unwrap();
    let (st, _) = s.call("POST", &format!("/api/review/{key}/dismiss"), Some(&trainer), None).await;
    assert_eq!(st, StatusCode::OK);
    let (_, review) = s.get("/api/review?days=2", &trainer).await;
    assert_eq!(review["total"], 2, "{review:#}");
    assert!(find(&review, "你们发的货是坏的，我要投诉").is_none());
    let (st, days) = s.get("/api/analytics?days=2", &trainer).await;
    assert_eq!(st, StatusCode::OK, "{days}");
    assert_eq!(sum(&days, |b| b["unresolved"]["total"].as_u64().unwrap()), 3, "{days:#}");
    assert_eq!(sum(&days, |b| b["unresolved"]["dismissed"].as_u64().unwrap()), 1);
    assert_eq!(sum(&days, |b| b["unresolved"]["open"].as_u64().unwrap()), 2);
    assert_eq!(days["total"]["unresolved"], json!({"total": 3, "open": 2, "dismissed": 1, "resolved": 0}));
    let marked: Vec<&Value> = days["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["top_unresolved"].as_array().unwrap())
        .filter(|g| g["dismissed"].as_u64() > Some(0))
        .collect();
    assert_eq!(marked.len(), 1, "{days:#}");
    assert_eq!(marked[0]["representative"], "你们发的货是坏的，我要投诉");
    // the agent's 1 star is counted and told apart
    assert_eq!(sum(&days, |b| b["ratings"]["distribution"][0].as_u64().unwrap()), 2);
    assert_eq!(sum(&days, |b| b["ratings"]["low_after_agent"].as_u64().unwrap()), 1);
    let _ = (b, d);
}

#[tokio::test]
async fn try_it_shows_the_faq_decision_and_two_models_side_by_side() {
    let s = start().await;
    let trainer = s.login("wang", PASSWORD).await;
    let tr = |body: Value| {
        let (s, trainer) = (&s, trainer.clone());
        async move { s.call("POST", "/api/try", Some(&trainer), Some(body)).await }
    };
    let (st, t) = tr(json!({"text": "  发票怎么开 "})).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!((t["text"].as_str(), t["lang"].as_str()), (Some("发票怎么开"), Some("zh")));
    assert_eq!(t["faq"]["decision"], "answer", "{t:#}");
    assert_eq!(t["faq"]["hits"][0]["id"], "invoice-electronic");
    assert!(t["faq"]["hits"][0]["answer"].as_str().unwrap().contains("发票"), "the zh answer: {t:#}");
    assert!(t["faq"]["hits"].as_array().unwrap().len() <= 3);
    assert!(t["faq"]["confidence"].as_f64().unwrap() >= t["faq"]["answer_threshold"].as_f64().unwrap());
    assert_eq!(t["active"]["version"], "shipped");
    assert_eq!(t["active"]["intent"], "invoice", "{t:#}");
    assert_eq!(t["active"]["top"].as_array().unwrap().len(), 3);
    assert_eq!(t["candidate"], Value::Null);

    // a candidate: its own top 3 from its own labels, beside the model in force
    let version = save_tiny_version(&s.dir.path().join("models"));
    let (st, t) = tr(json!({"text": "where is my order", "candidate": version})).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(t["lang"], "en");
    assert_eq!(t["active"]["intent"], "order_status", "{t:#}");
    assert_eq!(t["candidate"]["version"], version.as_str());
    let labels: Vec<&str> =
        t["candidate"]["top"].as_array().unwrap().iter().map(|i| i["intent"].as_str().unwrap()).collect();
    assert_eq!(labels.len(), 3, "{t:#}");
    assert!(
        labels.iter().all(|l| ["order_status", "return_refund", "out_of_scope"].contains(l)),
        "{labels:?}"
    );
    // nothing was stored, nothing activated
    let (_, models) = s.get("/api/models", &trainer).await;
    assert_eq!(models["active"], "shipped");

    let (st, e) = tr(json!({"text": "你好", "candidate": "no-such-version"})).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{e}");
    for bad in [json!({"text": "   "}), json!({"text": "x".repeat(1001)}), json!({"question": "x"})] {
        let (st, e) = tr(bad).await;
        assert!(st == StatusCode::BAD_REQUEST || st == StatusCode::UNPROCESSABLE_ENTITY, "{st}: {e}");
    }
    let agent = s.login("li", PASSWORD).await;
    let (st, _) = s.call("POST", "/api/try", Some(&agent), Some(json!({"text": "你好"}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s.call("POST", "/api/try", None, Some(json!({"text": "你好"}))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_faq_entry_says_when_one_answer_was_edited_and_the_other_not() {
    let s = start().await;
    let trainer = s.login("wang", PASSWORD).await;
    let id = "return-7day-policy";
    let (st, e) = s.get(&format!("/api/kb/faqs/{id}"), &trainer).await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["answers"]["behind"], Value::Null, "imported together: {e:#}");
    let imported = e["answers"]["zh"]["version"].clone();
    assert_eq!(e["answers"]["en"]["version"], imported);

    // the Chinese answer changes alone: English is behind
    let mut entry = e["entry"].clone();
    entry["zh"]["answer"] = json!(format!("{}（已更新）", entry["zh"]["answer"].as_str().unwrap()));
    let (st, saved) = s
        .call(
            "PUT",
            &format!("/api/kb/faqs/{id}"),
            Some(&trainer),
            Some(json!({"version": e["version"], "entry": entry})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{saved}");
    assert_eq!(saved["answers"]["behind"], "en", "{saved:#}");
    assert_eq!(saved["answers"]["zh"]["version"], saved["version"]);
    assert_eq!(saved["answers"]["zh"]["by"], "wang");
    assert_eq!(saved["answers"]["en"]["version"], imported);
    let (_, list) = s.get("/api/kb/faqs", &trainer).await;
    let listed = list.as_array().unwrap().iter().find(|x| x["id"] == id).unwrap();
    assert_eq!(listed["answers"]["behind"], "en");
    let others = list.as_array().unwrap().iter().filter(|x| x["answers"]["behind"] != Value::Null).count();
    assert_eq!(others, 1, "only the edited entry");

    // the English one follows: in step again
    entry["en"]["answer"] = json!(format!("{} (updated)", entry["en"]["answer"].as_str().unwrap()));
    let (st, saved) = s
        .call(
            "PUT",
            &format!("/api/kb/faqs/{id}"),
            Some(&trainer),
            Some(json!({"version": saved["version"], "entry": entry})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{saved}");
    assert_eq!(saved["answers"]["behind"], Value::Null, "{saved:#}");
    // intents have no answers
    let (_, intents) = s.get("/api/kb/intents", &trainer).await;
    assert_eq!(intents[0].get("answers"), None);
}
