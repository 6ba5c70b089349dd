//! The agent console after a day of real use (issue 17, agent items 1, 4, 5, 6): canned
//! responses ranked by title with the pick highlighted and never sent on the keystroke that picks;
//! 退回排队 with no colleague online warns the agent and offers the shopper the message form;
//! note mode unticks after a note; notes and messages signed with the same display name; intents
//! and tiers in the console's language; the shopper's page and how long they waited, in the queue
//! and the conversation's header; the product lookup ranks names above descriptions.

use super::*;
use fantoccini::key::Key;

/// The composer's value.
async fn composer(agent: &Browser) -> String {
    agent.find("#composer").await.prop("value").await.unwrap().unwrap_or_default()
}

/// Types into the reply box (appending) and waits for the canned list's highlighted item.
async fn pick_list(agent: &Browser, typed: &str, expect: &str) {
    agent.find("#composer").await.send_keys(typed).await.unwrap();
    agent.find(&format!("#canned button.canned-item.active[data-canned=\"{expect}\"]")).await;
}

async fn press(agent: &Browser, keys: &str) {
    agent.find("#composer").await.send_keys(keys).await.unwrap();
}

async fn texts(agent: &Browser, css: &str) -> Vec<String> {
    let v = agent
        .js(&format!("return [...document.querySelectorAll({})].map(e => e.textContent)", json!(css)))
        .await;
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn an_agent_picks_canned_responses_safely_sees_the_shoppers_page_and_is_warned_before_requeueing() {
    let Some(driver) = driver().await else { return };
    let s = server().await;
    let base = s.http();
    let agent = Browser::open(&driver, "agent", 1440, 900).await;
    agent.sign_in(&base, "/agent?lang=zh", "li").await;
    agent.text("#connection", "已连接").await;
    agent.find("#presence").await.select_by_value("away").await.unwrap();

    // a signed-in gold shopper on the jeans' page asks for a person: waiting, with the page
    let hello = json!({"token": shopper_token("S1001"),
        "context": {"product": "QM-WO-002", "url": "/product/QM-WO-002"}});
    let (mut shopper, conv) = Ws::shopper_with(s.addr, hello).await;
    shopper.say("转人工").await;
    let waiting = agent.text("#queue .queue-item", "所在页面").await;
    assert!(waiting.contains("高腰直筒牛仔裤"), "the page in the queue: {waiting}");
    agent.find("#queue .queue-item .q-wait").await;
    agent.click("#queue .queue-item button.claim").await;
    agent.find(&format!("#mine [data-conversation=\"{conv}\"]")).await;

    // the header and the context: page, wait, tier and intents in Chinese
    agent.text("#conv-page", "高腰直筒牛仔裤").await;
    agent.text("#conv-wait", "等待回复").await;
    agent.text("#conv-wait", "排队").await;
    let profile = agent.text("#context", "林晓雯").await;
    assert!(profile.contains("金卡会员") && !profile.contains("gold"), "the tier in Chinese: {profile}");
    assert!(
        profile.contains("要求人工") && !profile.contains("human_agent"),
        "intents in Chinese: {profile}"
    );
    agent.text("#ctx-page", "高腰直筒牛仔裤").await;
    // the shopper moves on: the header follows
    shopper
        .send(json!({"type": "context", "context": {"product": "QM-BA-002", "url": "/product/QM-BA-002"}}))
        .await;
    agent.text("#conv-page", "头层牛皮腋下包").await;
    agent.text("#ctx-page", "头层牛皮腋下包").await;
    agent.shot("agent-console-page-and-wait").await;

    // "/抱歉": the title match is highlighted (not a response with 抱歉 in its body), Ctrl+Enter
    // puts it in the box and sends nothing; the next Ctrl+Enter sends it
    pick_list(&agent, "/抱歉", "delay-apology-zh").await;
    agent.shot("agent-canned-ranked").await;
    press(&agent, &(Key::Control + &Key::Enter)).await;
    let picked = composer(&agent).await;
    assert!(picked.starts_with("亲，非常抱歉让您久等了"), "the title's response in the box: {picked}");
    assert!(texts(&agent, "#transcript .msg.agent").await.is_empty(), "nothing sent on the pick");
    press(&agent, &(Key::Control + &Key::Enter)).await;
    agent.text("#transcript .msg.agent", "非常抱歉让您久等了").await;
    let (r, _) = shopper.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    assert!(r["text"].as_str().unwrap().starts_with("亲，非常抱歉让您久等了"), "{r}");
    // the reply was sent: no longer waiting for one
    wait_for_text("agent", "#conv-wait without a reply wait", "none", || async {
        let t = texts(&agent, "#conv-wait").await.join("");
        if t.contains("等待回复") {
            vec![]
        } else {
            vec!["none".to_string()]
        }
    })
    .await;
    // ↓ moves the highlight, Enter picks that one
    pick_list(&agent, "/退货", "return-7day-zh").await;
    press(&agent, &Key::Down).await;
    let second = agent.find("#canned button.canned-item.active").await.attr("data-canned").await.unwrap();
    press(&agent, &Key::Enter).await;
    let picked = composer(&agent).await;
    let expected = knowledge().canned.into_iter().find(|c| Some(&c.id) == second.as_ref()).unwrap().text;
    assert_eq!(picked, expected, "the highlighted one ({second:?}) is picked");
    agent.find("#composer").await.clear().await.unwrap();

    // a note unticks note mode; notes and messages are signed with the same name
    agent.click("#note-mode").await;
    agent.type_into("#composer", "顾客想换成腋下包").await;
    agent.click("#send").await;
    agent.text("#transcript .msg.note", "顾客想换成腋下包").await;
    assert_eq!(agent.js("return document.getElementById('note-mode').checked").await, json!(false));
    agent.text("#send", "发送").await;
    let note = agent.text("#transcript .msg.note .meta", "").await;
    let said = agent.text("#transcript .msg.agent .meta", "").await;
    assert!(note.contains("李明 Li") && said.contains("李明 Li"), "one name: {note} / {said}");
    agent.text("#context .note-item", "李明 Li").await;

    // the product lookup: 牛仔裤 lists the jeans, not the leather bag
    agent.click("#products summary").await;
    agent.type_into("#product-search", "牛仔裤").await;
    agent.click("#products form button[type=submit]").await;
    agent.text("#product-results .product", "高腰直筒牛仔裤").await;
    let found = texts(&agent, "#product-results .product strong").await;
    assert_eq!(found, ["高腰直筒牛仔裤"], "{found:?}");

    // 退回排队 with nobody else online: warned before, told after; the shopper gets the form
    agent.click("#transfer").await;
    let warning = agent.text("#transfer-nobody", "没有其他同事在线").await;
    assert!(warning.contains("留言"), "{warning}");
    agent.shot("agent-requeue-warning").await;
    agent.click("#transfer-queue").await;
    agent.text("#toasts .toast.warn", "没有其他同事在线").await;
    let (notice, _) = shopper.until(|v| v["type"] == "reply" && v["from"] == "system").await;
    assert_eq!(notice["actions"], json!(["leave_message"]), "{notice}");
    agent.text(".ended-bar", "已转接").await;
    agent.close().await;
}

#[tokio::test]
async fn sorry_in_an_english_conversation_picks_sorry_for_the_wait() {
    let Some(driver) = driver().await else { return };
    let s = server().await;
    let base = s.http();
    let agent = Browser::open(&driver, "agent", 1280, 860).await;
    agent.sign_in(&base, "/agent?lang=en", "li").await;
    agent.text("#connection", "Connected").await;
    let (mut guest, conv) = Ws::shopper_with(s.addr, json!({"lang": "en"})).await;
    guest.say("I want to talk to a human agent").await;
    agent.find(&format!("#mine [data-conversation=\"{conv}\"]")).await;
    agent.find("#composer").await;

    pick_list(&agent, "/sorry", "delay-apology-en").await;
    press(&agent, &Key::Enter).await;
    let picked = composer(&agent).await;
    assert!(picked.starts_with("I'm very sorry to have kept you waiting"), "{picked}");
    assert!(texts(&agent, "#transcript .msg.agent").await.is_empty(), "nothing sent on the pick");
    // the next Ctrl+Enter sends it
    press(&agent, &(Key::Control + &Key::Enter)).await;
    let (r, _) = guest.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    assert!(r["text"].as_str().unwrap().starts_with("I'm very sorry"), "{r}");
    // English labels for the intents
    let ctx = agent.text("#context", "Asked for a person").await;
    assert!(!ctx.contains("human_agent"), "{ctx}");
    agent.close().await;
}
