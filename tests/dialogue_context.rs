//! The conversation's context over the real WebSocket, in both languages: positions in the last
//! list, tapped cards, the shopper's own orders by product, "this one", follow-ups that keep the
//! focus, the page's product, the signed-in return list, and a half-finished flow that goes on
//! after a server restart.

mod common;

use std::net::SocketAddr;

use common::process::Kefu;
use common::server::{knowledge, root, TestServer};
use common::ws::{shopper_token as token, Client};
use serde_json::{json, Value};

/// S1001's orders, newest first (knowledge/demo/orders.json).
const PAID: &str = "261124866711367179";
const SHIPPED: &str = "261123115788241675";
/// The wool coat, delivered the day before the demo's "now": returnable.
const COAT: &str = "261122958843983379";
const COAT_SKU: &str = "QM-WO-004";
const TEE_SKU: &str = "QM-WO-001";

struct Shopper {
    c: Client,
    conv: String,
}

impl Shopper {
    async fn hello(addr: SocketAddr, hello: Value) -> Shopper {
        let (c, conv) = Client::shopper_with(addr, hello).await;
        Shopper { c, conv }
    }

    /// Sends a message (with an optional card context) and returns the bot's replies to it.
    async fn ask_with(&mut self, text: &str, context: Option<Value>) -> Vec<Value> {
        let (_, turn) = self.c.turn(text, context).await;
        let first = turn.iter().find(|v| v["type"] == "reply" || v["type"] == "error").unwrap();
        assert_eq!(first["type"], "reply", "{first}");
        turn.into_iter().filter(|v| v["type"] == "reply").collect()
    }

    async fn ask(&mut self, text: &str) -> Vec<Value> {
        self.ask_with(text, None).await
    }
}

fn text(replies: &[Value]) -> String {
    replies.iter().map(|r| r["text"].as_str().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn order_cards(replies: &[Value]) -> Vec<&Value> {
    replies
        .iter()
        .flat_map(|r| r["cards"].as_array().into_iter().flatten())
        .filter(|c| c["kind"] == "order")
        .collect()
}

fn product_cards(replies: &[Value]) -> Vec<String> {
    replies
        .iter()
        .flat_map(|r| r["cards"].as_array().into_iter().flatten())
        .filter(|c| c["kind"] == "product")
        .map(|c| c["sku"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn positions_in_the_order_list_in_both_languages() {
    let s = TestServer::start_with(|_| {}).await;
    let mut zh = Shopper::hello(s.addr, json!({"token": token("S1001")})).await;
    let r = zh.ask("我的快递到哪了").await;
    let cards = order_cards(&r);
    assert_eq!(cards.len(), 5, "{r:#?}");
    assert_eq!(cards[0]["order_no"], PAID);
    assert!(
        cards.iter().all(|c| c["actions"].as_array().is_some_and(|a| a.contains(&json!("track")))),
        "{r:#?}"
    );
    // "第一个" picks the first card instead of listing them again
    let r = zh.ask("第一个").await;
    assert!(text(&r).contains(PAID), "{r:#?}");
    assert_eq!(order_cards(&r).len(), 1);
    // the list is remembered after a detour, and positions work without a pending question
    zh.ask("我的快递到哪了").await;
    let r = zh.ask("第2个").await;
    assert!(text(&r).contains(SHIPPED), "{r:#?}");
    zh.ask("我的快递到哪了").await;
    let r = zh.ask("最新的那个").await;
    assert!(text(&r).contains(PAID), "{r:#?}");

    let mut en = Shopper::hello(s.addr, json!({"token": token("S1001"), "lang": "en"})).await;
    let r = en.ask("where is my package").await;
    assert_eq!(order_cards(&r).len(), 5, "{r:#?}");
    let r = en.ask("the second one").await;
    assert!(text(&r).contains(SHIPPED) && text(&r).contains("shipped"), "{r:#?}");
    en.ask("where's my order?").await;
    let r = en.ask("the latest").await;
    assert!(text(&r).contains(PAID), "{r:#?}");
    en.ask("track my order").await;
    let r = en.ask("the last one").await;
    assert_eq!(order_cards(&r).len(), 1, "{r:#?}");
}

#[tokio::test]
async fn a_tapped_card_continues_the_flow() {
    let s = TestServer::start_with(|_| {}).await;
    let mut zh = Shopper::hello(s.addr, json!({"token": token("S1001")})).await;
    zh.ask("我的快递到哪了").await;
    let r = zh.ask_with(&format!("查物流 {SHIPPED}"), Some(json!({"order": SHIPPED}))).await;
    assert!(text(&r).contains("运输中"), "{r:#?}");
    // the return button of the coat's card starts its return
    let r = zh.ask_with("退货", Some(json!({"order": COAT}))).await;
    assert!(text(&r).contains("符合七天无理由退货"), "{r:#?}");
    let r = zh.ask("确认").await;
    assert!(text(&r).contains("退货申请已提交"), "{r:#?}");
    // a product card tapped: the answer is about that product
    let mut en = Shopper::hello(s.addr, json!({"lang": "en"})).await;
    let r = en.ask_with("Heavyweight Cotton Relaxed Tee", Some(json!({"product": TEE_SKU}))).await;
    assert_eq!(product_cards(&r), vec![TEE_SKU.to_string()], "{r:#?}");
    let r = en.ask("what about XL?").await;
    assert!(text(&r).contains("XL"), "{r:#?}");
    assert_eq!(product_cards(&r), vec![TEE_SKU.to_string()]);
}

#[tokio::test]
async fn own_orders_by_product_name_and_the_signed_in_return_list() {
    let s = TestServer::start_with(|_| {}).await;
    let mut zh = Shopper::hello(s.addr, json!({"token": token("S1001")})).await;
    let r = zh.ask("我买的羊毛混纺双面呢大衣能退吗").await;
    assert!(text(&r).contains("符合七天无理由退货"), "{r:#?}");
    assert_eq!(order_cards(&r)[0]["order_no"], COAT);
    zh.ask("取消").await;
    // "我要退货" lists what can be returned, and says why the others cannot
    let r = zh.ask("我要退货").await;
    let cards = order_cards(&r);
    assert_eq!(cards.len(), 1, "{r:#?}");
    assert_eq!(cards[0]["order_no"], COAT);
    assert!(cards[0]["actions"].as_array().unwrap().contains(&json!("return")));
    let t = text(&r);
    assert!(t.contains("还没发货") && t.contains("运输中") && t.contains("已经退货"), "{t}");
    let r = zh.ask("第一个").await;
    assert!(text(&r).contains("符合七天无理由退货"), "{r:#?}");

    let mut en = Shopper::hello(s.addr, json!({"token": token("S1001"), "lang": "en"})).await;
    let r = en.ask("can I return the coat I bought").await;
    assert!(text(&r).contains("can be returned"), "{r:#?}");
    assert_eq!(order_cards(&r)[0]["order_no"], COAT);
    let r = en.ask("no").await;
    assert!(text(&r).contains("haven't opened"), "{r:#?}");
    let r = en.ask("I want to return something").await;
    assert_eq!(order_cards(&r).len(), 1, "{r:#?}");
    assert!(text(&r).contains("not shipped yet"), "{r:#?}");

    // a guest is asked for the order number, as before
    let mut guest = Shopper::hello(s.addr, json!({})).await;
    let r = guest.ask("我要退货").await;
    assert!(text(&r).contains("订单号"), "{r:#?}");
    assert!(order_cards(&r).is_empty());
}

#[tokio::test]
async fn follow_ups_keep_the_product_in_focus() {
    let s = TestServer::start_with(|_| {}).await;
    let mut zh = Shopper::hello(s.addr, json!({})).await;
    let r = zh.ask("重磅纯棉宽松T恤有黑色吗").await;
    assert_eq!(product_cards(&r), vec![TEE_SKU.to_string()], "{r:#?}");
    assert!(text(&r).contains("黑色有货的尺码"), "{r:#?}");
    let r = zh.ask("那白色的L码呢").await;
    assert_eq!(product_cards(&r), vec![TEE_SKU.to_string()], "jumped to another product: {r:#?}");
    assert!(text(&r).contains("白色L码"), "{r:#?}");
    // the size carries over to the next colour
    let r = zh.ask("黑色的呢").await;
    assert!(text(&r).contains("黑色L码"), "{r:#?}");
    let r = zh.ask("还有别的颜色吗").await;
    assert!(text(&r).contains("燕麦色"), "{r:#?}");
    let r = zh.ask("这件有红色吗").await;
    assert!(text(&r).contains("没有红色"), "{r:#?}");

    let mut en = Shopper::hello(s.addr, json!({"lang": "en"})).await;
    let r = en.ask("do the high-rise straight-leg jeans come in L?").await;
    let sku = product_cards(&r);
    assert_eq!(sku.len(), 1, "{r:#?}");
    let r = en.ask("in dark blue?").await;
    assert_eq!(product_cards(&r), sku, "{r:#?}");
    assert!(text(&r).contains("Dark blue"), "{r:#?}");
    // a care question about "it" gets the care answer, and the jeans stay in focus
    let r = en.ask("is it machine washable").await;
    assert!(text(&r).to_lowercase().contains("wash"), "{r:#?}");
    let r = en.ask("and in XL?").await;
    assert_eq!(product_cards(&r), sku, "\"it\" is the product in focus: {r:#?}");
}

#[tokio::test]
async fn the_page_product_is_this_one_and_nothing_is_guessed() {
    let s = TestServer::start_with(|_| {}).await;
    let url = format!("https://shop.example.com/p/{COAT_SKU}");
    let mut zh = Shopper::hello(s.addr, json!({"context": {"product": COAT_SKU, "url": url}})).await;
    let r = zh.ask("这件有L码吗").await;
    assert_eq!(product_cards(&r), vec![COAT_SKU.to_string()], "{r:#?}");
    assert!(text(&r).contains("L码"), "{r:#?}");
    let r = zh.ask("多少钱").await;
    assert!(text(&r).contains("羊毛混纺双面呢大衣"), "{r:#?}");
    // the shopper moves to another product page
    zh.c.send(json!({"type": "context", "context": {"product": TEE_SKU}})).await;
    let r = zh.ask("这件有黑色吗").await;
    assert_eq!(product_cards(&r), vec![TEE_SKU.to_string()], "{r:#?}");

    // without a product anywhere: "which product?", never the 0.8 L kettle
    let mut guest = Shopper::hello(s.addr, json!({})).await;
    let r = guest.ask("这件衣服有没有L码的").await;
    assert!(text(&r).contains("哪件商品"), "{r:#?}");
    let offered = product_cards(&r);
    assert!(!offered.is_empty());
    // picking a suggestion answers the question asked
    let r = guest.ask("第一个").await;
    assert_eq!(product_cards(&r), vec![offered[0].clone()], "{r:#?}");
    let mut en = Shopper::hello(s.addr, json!({"lang": "en"})).await;
    let r = en.ask("do you have this in L?").await;
    assert!(text(&r).contains("Which product"), "{r:#?}");
    // "I'm" is not size M
    let r = en.ask("I'm wondering if the stretch slim-fit chinos come in black").await;
    assert!(!text(&r).contains(" in M"), "{r:#?}");

    // an unknown sku is ignored, not an error; a malformed context is
    let mut other = Shopper::hello(s.addr, json!({"context": {"product": "NO-SUCH-SKU"}})).await;
    let r = other.ask("这件有L码吗").await;
    assert!(text(&r).contains("哪件商品"), "{r:#?}");
    other.c.send(json!({"type": "context", "context": {"sku": "x"}})).await;
    let (e, _) = other.c.until_type("error").await;
    assert_eq!(e["code"], "malformed_frame");
}

#[tokio::test]
async fn a_half_finished_flow_goes_on_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    let server = Kefu::on(&db).start();
    let s = &server;
    let mut zh = Shopper::hello(s.addr, json!({"token": token("S1001")})).await;
    zh.ask("我的快递到哪了").await;
    let r = zh.ask("我要退货").await;
    assert_eq!(order_cards(&r).len(), 1);
    let r = zh.ask("第一个").await;
    assert!(text(&r).contains("确认要为这个订单申请退货吗"), "{r:#?}");
    let mut en = Shopper::hello(s.addr, json!({"lang": "en"})).await;
    en.ask("do the high-rise straight-leg jeans come in L?").await;
    let (conv, en_conv) = (zh.conv.clone(), en.conv.clone());
    drop((zh, en));
    // the process is killed (SIGKILL) and started again on the same database
    drop(server);
    let server = Kefu::on(&db).start();
    let s = &server;
    let mut zh = Shopper::hello(s.addr, json!({"token": token("S1001"), "resume": conv})).await;
    let r = zh.ask("确认").await;
    assert!(text(&r).contains("退货申请已提交"), "{r:#?}");
    let mut en = Shopper::hello(s.addr, json!({"lang": "en", "resume": en_conv})).await;
    let r = en.ask("in dark blue?").await;
    assert!(text(&r).contains("Dark blue in L"), "the focus survived: {r:#?}");

    // another shopper cannot pick up that conversation or its memory
    let mut other = Client::connect(s.addr, "/ws/chat").await;
    other.send(json!({"type": "hello", "token": token("S1002"), "resume": conv})).await;
    let (e, _) = other.until_type("error").await;
    assert_eq!(e["code"], "unknown_conversation");
}

#[tokio::test]
async fn references_never_reach_someone_elses_order_or_open_a_return_twice() {
    let s = TestServer::start_with(|_| {}).await;
    // S1002's order, named by S1001 through a tapped card and through an order page, is
    // answered exactly like an order that does not exist
    let foreign = "261105032344926231";
    let missing = "261105032344926239";
    let mut zh = Shopper::hello(s.addr, json!({"token": token("S1001")})).await;
    let a = zh.ask_with(&format!("查物流 {foreign}"), Some(json!({"order": foreign}))).await;
    let b = zh.ask_with(&format!("查物流 {missing}"), Some(json!({"order": missing}))).await;
    assert_eq!(text(&a).replace(foreign, "N"), text(&b).replace(missing, "N"));
    assert!(order_cards(&a).is_empty());
    let mut page =
        Shopper::hello(s.addr, json!({"token": token("S1001"), "context": {"order": foreign}})).await;
    let a = page.ask("我的快递到哪了").await;
    let mut page2 =
        Shopper::hello(s.addr, json!({"token": token("S1001"), "context": {"order": missing}})).await;
    let b = page2.ask("我的快递到哪了").await;
    assert_eq!(text(&a).replace(foreign, "N"), text(&b).replace(missing, "N"));
    // a guest who taps an order is asked for the phone digits first
    let mut guest = Shopper::hello(s.addr, json!({})).await;
    let r = guest.ask_with(&format!("查物流 {COAT}"), Some(json!({"order": COAT}))).await;
    assert!(text(&r).contains("后4位"), "{r:#?}");

    // two conversations at the confirmation of the same return: only one return is opened
    let mut one = Shopper::hello(s.addr, json!({"token": token("S1001")})).await;
    let mut two = Shopper::hello(s.addr, json!({"token": token("S1001")})).await;
    for c in [&mut one, &mut two] {
        let r = c.ask(&format!("{COAT} 我要退货")).await;
        assert!(text(&r).contains("确认要为这个订单申请退货吗"), "{r:#?}");
    }
    let r = one.ask("确认").await;
    assert!(text(&r).contains("退货申请已提交"), "{r:#?}");
    let r = two.ask("确认").await;
    assert!(text(&r).contains("已有退货申请"), "{r:#?}");
    assert!(!text(&r).contains("退货申请已提交"));
}

#[tokio::test]
async fn ordinary_messages_are_not_taken_for_references() {
    let s = TestServer::start_with(|_| {}).await;
    let mut zh = Shopper::hello(s.addr, json!({"token": token("S1001")})).await;
    zh.ask("我的快递到哪了").await;
    // "第二天" is no position, "明白的" no colour
    let r = zh.ask("第二天能送到吗").await;
    assert!(!text(&r).contains(SHIPPED), "{r:#?}");
    let r = zh.ask("明白的，谢谢").await;
    assert!(!text(&r).contains("哪件商品"), "{r:#?}");
    // the coat is in an order of this shopper, but a size question is about the product
    let r = zh.ask("那件大衣有L码吗").await;
    assert_eq!(product_cards(&r), vec![COAT_SKU.to_string()], "{r:#?}");
    assert!(order_cards(&r).is_empty(), "{r:#?}");
    // a list goes stale after a few turns
    zh.ask("我的快递到哪了").await;
    zh.ask("运费险怎么理赔").await;
    zh.ask("双十一有什么优惠").await;
    zh.ask("你们发什么快递").await;
    let r = zh.ask("第二个").await;
    assert!(!text(&r).contains(SHIPPED), "{r:#?}");

    let mut en = Shopper::hello(s.addr, json!({"token": token("S1001"), "lang": "en"})).await;
    en.ask("where is my order").await;
    let r = en.ask("first time buyer discount?").await;
    assert!(order_cards(&r).is_empty(), "{r:#?}");
    // "I return home" is no return
    let r = en.ask(&format!("where is order {PAID}? I need it before I return home")).await;
    assert!(text(&r).contains(PAID) && !text(&r).contains("return"), "{r:#?}");
    // on a product page, "it" in a question that is not about the product is no product talk
    let mut page = Shopper::hello(s.addr, json!({"lang": "en", "context": {"product": COAT_SKU}})).await;
    let r = page.ask("could you sing it a song").await;
    assert!(product_cards(&r).is_empty(), "{r:#?}");
    // "XL" alone keeps the conversation's language
    let mut zh = Shopper::hello(s.addr, json!({"context": {"product": TEE_SKU}})).await;
    zh.ask("这件有黑色吗").await;
    let r = zh.ask("XL").await;
    assert!(text(&r).contains("黑色XL码"), "{r:#?}");
}

/// A database written before the dialogue state existed (schema version 5) is migrated on start
/// and its open conversations resume, with a fresh dialogue state.
#[tokio::test]
async fn a_database_from_before_the_dialogue_state_migrates_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        for (i, file) in
            ["schema.sql", "schema_2.sql", "schema_3.sql", "schema_4.sql", "schema_5.sql"].iter().enumerate()
        {
            let sql = std::fs::read_to_string(root().join("src/store").join(file)).unwrap();
            conn.execute_batch(&sql).unwrap();
            conn.pragma_update(None, "user_version", (i + 1) as i64).unwrap();
        }
        conn.execute(
            "INSERT INTO conversations (id, shopper_id, lang, state, started_at) VALUES ('c1', 'S1001', 'zh', 'bot', '2026-11-25T00:00:00Z')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO messages (conversation_id, client_msg_id, sender, text, created_at) VALUES ('c1', 'old-1', 'shopper', '你好', '2026-11-25T00:00:01Z')",
            [],
        )
        .unwrap();
    }
    let server = Kefu::on(&db).start();
    let mut zh = Shopper::hello(server.addr, json!({"token": token("S1001"), "resume": "c1"})).await;
    let r = zh.ask("我的快递到哪了").await;
    assert_eq!(order_cards(&r).len(), 5, "{r:#?}");
    let r = zh.ask("第一个").await;
    assert!(text(&r).contains(PAID), "{r:#?}");
    let version: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert!(version >= 6);
}

/// Concurrent wrong phone digits for one order: exactly the allowed number of guesses are
/// checked, every other caller is told the order is locked, and the lock survives a restart
/// (the right digits are refused too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_digit_lockout_is_atomic_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    let server = Kefu::on(&db).start();
    let addr = server.addr;
    let mut tasks = Vec::new();
    for _ in 0..30 {
        tasks.push(tokio::spawn(async move {
            let mut c = Shopper::hello(addr, json!({})).await;
            c.ask(&format!("{COAT} 到哪了")).await;
            text(&c.ask("0000").await)
        }));
    }
    let mut mismatch = 0;
    let mut locked = 0;
    for t in tasks {
        let answer = t.await.unwrap();
        if answer.contains("不匹配") {
            mismatch += 1;
        } else if answer.contains("错误次数过多") {
            locked += 1;
        } else {
            panic!("unexpected answer: {answer}");
        }
    }
    assert_eq!((mismatch, locked), (5, 25));
    drop(server);
    let server = Kefu::on(&db).start();
    let mut c = Shopper::hello(server.addr, json!({})).await;
    c.ask(&format!("{COAT} 到哪了")).await;
    // S1001's phone ends in the digits of knowledge/demo; whatever they are, the order is locked
    let phone = knowledge().orders.into_iter().find(|o| o.order_no == COAT).unwrap().address.phone;
    let r = c.ask(&phone[phone.len() - 4..]).await;
    assert!(text(&r).contains("错误次数过多"), "{r:#?}");
}
