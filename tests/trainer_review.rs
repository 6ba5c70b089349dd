//! The trainers' review queue and analytics end to end: real shoppers on `/ws/chat` against the
//! real server on 127.0.0.1, then the trainer API (`/api/review`, `/api/analytics`).

mod common;

use axum::http::StatusCode;
use common::server::TestServer;
use common::ws::Client;
use kefu::identity::Role;
use kefu::store::prelude::*;
use serde_json::{json, Value};

const PASSWORD: &str = "trainer-password-1";

/// The server (no shopper token secret) with a trainer, an admin and an agent.
async fn start() -> TestServer {
    let s = TestServer::start_with(|c| c.token_secret = None).await;
    let staff = [("wang", "Wang", Role::Trainer), ("boss", "Boss", Role::Admin), ("li", "Li", Role::Agent)];
    s.add_staff(&staff, PASSWORD).await;
    s
}

/// Yesterday, today and tomorrow in the store's timezone (+08:00): a window that holds this
/// test's messages even when it runs across midnight.
fn window() -> (String, String) {
    let today =
        chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).date_naive();
    ((today - chrono::Duration::days(1)).to_string(), (today + chrono::Duration::days(1)).to_string())
}

fn group<'a>(review: &'a Value, text: &str) -> Option<&'a Value> {
    review["groups"].as_array().unwrap().iter().find(|g| {
        g["examples"].as_array().unwrap().iter().any(|e| e["text"] == text) || g["representative"] == text
    })
}

fn sum(buckets: &Value, field: impl Fn(&Value) -> u64) -> u64 {
    buckets["buckets"].as_array().unwrap().iter().map(field).sum()
}

#[tokio::test]
async fn unresolved_questions_are_grouped_dismissed_and_counted() {
    let s = start().await;

    // A: an unanswerable question, then a person asked for
    let (mut a, a_conv) = Client::shopper_with(s.addr, json!({"lang": "zh"})).await;
    let r = a.ask("今天北京天气怎么样").await;
    assert!(r["faq_id"].is_null(), "{r}");
    a.say("转人工").await;
    // the status may come before or after the bot's reply about it
    let (_, before) = a.until_type("reply").await;
    if !before.iter().any(|v| v["type"] == "status" && v["state"] == "waiting_agent") {
        a.until(|v| v["type"] == "status" && v["state"] == "waiting_agent").await;
    }
    a.end(None).await;
    // B: the same question in other words, then one the FAQ answers; rated 1
    let (mut b, b_conv) = Client::shopper_with(s.addr, json!({"lang": "zh"})).await;
    b.ask("今天上海天气怎么样？").await;
    let r = b.ask("发票怎么开").await;
    assert_eq!(r["faq_id"], "invoice-electronic", "{r}");
    b.end(Some(1)).await;
    // C: a different unanswerable question
    let (mut c, c_conv) = Client::shopper_with(s.addr, json!({"lang": "zh"})).await;
    c.ask("你们老板是谁").await;
    c.end(None).await;

    // the decision is stored with every bot reply
    let stored = s.app.store.messages(b_conv.clone()).await.unwrap();
    let decisions: Vec<String> = stored
        .iter()
        .filter_map(|m| serde_json::to_value(m.meta.as_ref()?.decision?).ok()?.as_str().map(str::to_string))
        .collect();
    assert_eq!(decisions.len(), 2, "{stored:#?}");
    assert!(["no_match", "suggest", "out_of_scope"].contains(&decisions[0].as_str()), "{decisions:?}");
    assert_eq!(decisions[1], "answer");

    let trainer = s.login("wang", PASSWORD).await;
    let (from, to) = window();
    let (st, review) = s.get(&format!("/api/review?since={from}&to={to}&lang=zh"), &trainer).await;
    assert_eq!(st, StatusCode::OK, "{review}");
    let groups = review["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3, "{review:#}");

    // the two weather questions are one group, asked twice, first
    let weather = &groups[0];
    assert_eq!(weather["count"], 2, "{weather:#}");
    assert_eq!(weather["lang"], "zh");
    assert_eq!(weather["key"].as_str().unwrap().len(), 16);
    let examples: Vec<(&str, &str)> = weather["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["text"].as_str().unwrap(), e["conversation_id"].as_str().unwrap()))
        .collect();
    assert_eq!(examples.len(), 2);
    assert!(examples.contains(&("今天北京天气怎么样", a_conv.as_str())), "{examples:?}");
    assert!(examples.contains(&("今天上海天气怎么样？", b_conv.as_str())), "{examples:?}");
    assert!(weather["examples"][0]["at"].as_str().unwrap() >= weather["examples"][1]["at"].as_str().unwrap());
    assert_eq!(weather["last_seen"], weather["examples"][0]["at"]);
    let reasons = &weather["reasons"];
    assert_eq!(reasons["escalated"], 1, "A asked for a person after it: {reasons}");
    assert_eq!(reasons["low_rating"], 1, "B rated 1: {reasons}");
    let unanswered: u64 =
        ["no_match", "suggest", "out_of_scope"].iter().filter_map(|k| reasons[k].as_u64()).sum();
    assert_eq!(unanswered, 2, "{reasons}");
    // "转人工" itself is not a question for the knowledge base
    assert!(group(&review, "转人工").is_none(), "{review:#}");

    // the answered question of the low-rated conversation is there, with the FAQ it got
    let invoice = group(&review, "发票怎么开").expect("the answer in a conversation rated 1");
    assert_eq!(invoice["count"], 1);
    assert_eq!(invoice["reasons"], json!({"low_rating": 1}));
    assert_eq!(invoice["faq_id"], "invoice-electronic");
    let boss = group(&review, "你们老板是谁").expect("the other question");
    assert_eq!(boss["count"], 1);
    assert_eq!(boss["examples"][0]["conversation_id"], c_conv.as_str());

    // other languages are filtered out; nothing English was asked
    let (_, en) = s.get(&format!("/api/review?since={from}&to={to}&lang=en"), &trainer).await;
    assert_eq!(en["groups"], json!([]));

    // dismiss one, resolve another: both leave the queue
    let boss_key = boss["key"].as_str().unwrap().to_string();
    let (st, d) = s.call("POST", &format!("/api/review/{boss_key}/dismiss"), Some(&trainer), None).await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!((d["action"].as_str(), d["by"].as_str()), (Some("dismiss"), Some("wang")));
    let weather_key = weather["key"].as_str().unwrap().to_string();
    let resolve = |body: Value| {
        let (s, trainer, key) = (&s, trainer.clone(), weather_key.clone());
        async move { s.call("POST", &format!("/api/review/{key}/resolve"), Some(&trainer), Some(body)).await }
    };
    let (st, e) = resolve(json!({"action": "retrain", "target": "weather"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["message"].as_str().unwrap().contains("phrasing, faq or intent"), "{e}");
    let (st, _) = resolve(json!({"action": "intent", "target": ""})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, d) = resolve(json!({"action": "intent", "target": "out_of_scope"})).await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!((d["action"].as_str(), d["target"].as_str()), (Some("intent"), Some("out_of_scope")));
    let (st, _) = s.call("POST", "/api/review/00000000deadbeef/dismiss", Some(&trainer), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (_, review) = s.get(&format!("/api/review?since={from}&to={to}"), &trainer).await;
    let left: Vec<&str> =
        review["groups"].as_array().unwrap().iter().map(|g| g["representative"].as_str().unwrap()).collect();
    assert_eq!(left, ["发票怎么开"], "{review:#}");

    // analytics of the three days around today: the numbers of this test's conversations
    let (st, days) = s.get(&format!("/api/analytics?period=day&from={from}&to={to}"), &trainer).await;
    assert_eq!(st, StatusCode::OK, "{days}");
    assert_eq!(days["buckets"].as_array().unwrap().len(), 3);
    assert_eq!(sum(&days, |b| b["conversations"].as_u64().unwrap()), 3, "{days:#}");
    assert_eq!(sum(&days, |b| b["feedback_records"].as_u64().unwrap()), 3);
    assert_eq!(sum(&days, |b| b["bot_resolved"].as_u64().unwrap()), 2, "B and C ended with the bot");
    assert_eq!(sum(&days, |b| b["escalations"].as_u64().unwrap()), 1);
    assert_eq!(sum(&days, |b| b["escalation_reasons"]["requested"].as_u64().unwrap_or(0)), 1);
    assert_eq!(sum(&days, |b| b["ratings"]["distribution"][0].as_u64().unwrap()), 1);
    assert_eq!(sum(&days, |b| b["ratings"]["count"].as_u64().unwrap()), 1);
    let hits = |b: &Value| {
        let hits = b["faq_hits"].as_array().unwrap();
        hits.iter().filter(|h| h["name"] == "invoice-electronic").map(|h| h["count"].as_u64().unwrap()).sum()
    };
    assert_eq!(sum(&days, hits), 1, "{days:#}");
    // history is not rewritten by the review decisions: the weather group is still the top one
    let busiest =
        days["buckets"].as_array().unwrap().iter().max_by_key(|b| b["conversations"].as_u64()).unwrap();
    assert_eq!(busiest["top_unresolved"][0]["count"], 2, "{busiest:#}");
    if busiest["conversations"] == 3 {
        assert_eq!(busiest["escalation_rate"], 0.3333);
        assert_eq!(busiest["bot_resolution_rate"], 0.6667);
        assert_eq!(busiest["ratings"]["average"], 1.0);
    }
    assert_eq!(busiest["agents"]["handoffs"], 0, "nobody took the handoff");

    // weeks: the same totals in ISO-week buckets
    let (st, weeks) = s.get(&format!("/api/analytics?period=week&from={from}&to={to}"), &trainer).await;
    assert_eq!(st, StatusCode::OK, "{weeks}");
    assert!(weeks["buckets"][0]["label"].as_str().unwrap().contains("-W"), "{weeks}");
    assert_eq!(sum(&weeks, |b| b["conversations"].as_u64().unwrap()), 3);
}

#[tokio::test]
async fn trainer_endpoints_refuse_strangers_agents_and_bad_parameters() {
    let s = start().await;
    let agent = s.login("li", PASSWORD).await;
    let admin = s.login("boss", PASSWORD).await;
    let endpoints = [
        ("GET", "/api/review"),
        ("GET", "/api/analytics?period=day"),
        ("POST", "/api/review/0123456789abcdef/dismiss"),
        ("POST", "/api/review/0123456789abcdef/resolve"),
    ];
    for (method, uri) in endpoints {
        let body = (uri.ends_with("resolve")).then(|| json!({"action": "faq", "target": "x"}));
        let (st, e) = s.call(method, uri, None, body.clone()).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{method} {uri}: {e}");
        let (st, e) = s.call(method, uri, Some(&agent), body).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{method} {uri}: {e}");
        assert_eq!(e["error"], "forbidden");
    }
    // admins may
    let (st, review) = s.get("/api/review", &admin).await;
    assert_eq!(st, StatusCode::OK, "{review}");
    assert_eq!(review["groups"], json!([]));
    let (st, a) = s.get("/api/analytics?period=week&from=2026-11-01&to=2026-11-30", &admin).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["buckets"].as_array().unwrap().len(), 6);
    assert_eq!(a["buckets"][0]["conversations"], 0);
    // `days`: the store's last N days, ending today in its timezone
    let (st, a) = s.get("/api/analytics?days=7&to=2026-11-25", &admin).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!((a["from"].as_str(), a["to"].as_str()), (Some("2026-11-19"), Some("2026-11-25")), "{a}");
    assert_eq!(a["buckets"].as_array().unwrap().len(), 7);

    for (uri, says) in [
        ("/api/analytics?period=month", "period \"month\": expected day or week"),
        ("/api/analytics?from=2026-11-31", "from \"2026-11-31\" is not a date"),
        ("/api/analytics?from=2026-11-30&to=2026-11-01", "from 2026-11-30 is after to 2026-11-01"),
        ("/api/analytics?from=2020-01-01&to=2026-11-01", "at most 366"),
        ("/api/analytics?since=2026-11-01", "unknown field"),
        ("/api/review?since=last-week", "since \"last-week\" is not a date"),
        ("/api/review?lang=fr", "lang \"fr\": zh or en"),
        ("/api/analytics?days=0", "days 0: 1 to 366"),
        ("/api/review?days=400", "days 400: 1 to 366"),
    ] {
        let (st, e) = s.get(uri, &admin).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{uri}: {e}");
        assert_eq!(e["error"], "bad_request");
        assert!(e["message"].as_str().unwrap().contains(says), "{uri}: {e}");
    }
}
