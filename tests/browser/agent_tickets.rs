//! Issue 17, agent items 2 and 3, in the browser: the agent recalls (撤回) a message they just
//! sent — the widget shows "客服撤回了一条消息" instead of its text, live and after a reload, and the
//! console keeps it marked; a ticket is answered from the console (its conversation opens from
//! it), and the shopper sees the answer, with the ticket's number, on their next visit.

use super::*;

#[tokio::test]
async fn the_agent_recalls_a_message_and_the_widget_shows_it_recalled_also_after_a_reload() {
    let Some(driver) = driver().await else { return };
    let s = server().await;
    let base = s.http();

    let agent = Browser::open(&driver, "agent", 1440, 900).await;
    agent.sign_in(&base, "/agent?lang=zh", "li").await;
    agent.find("#queue").await;
    let shopper = Browser::open(&driver, "shopper", 1280, 860).await;
    let w = Widget::open(&shopper, &base).await;
    w.say("转人工").await;
    agent.find("#mine [data-conversation]").await;
    w.text(".msg.system .text, .msg.bot .text", "李明").await;

    let wrong = "这是发给别的顾客的消息";
    agent.type_into("#composer", wrong).await;
    agent.click("#send").await;
    w.text(".msg.agent .text", wrong).await;
    // stored: 撤回 is offered on it, and taken
    agent.click("#transcript .msg.agent button.recall").await;
    let marked = agent.text("#transcript .msg.agent.recalled", "撤回").await;
    assert!(marked.contains(wrong), "staff still see the text: {marked}");
    agent.shot("agent-recalled").await;

    w.text(".msg.recalled .text", "客服撤回了一条消息").await;
    let shown = w.texts(".msg .text").await;
    assert!(!shown.iter().any(|t| t.contains(wrong)), "the text is gone: {shown:#?}");
    shopper.shot("widget-recalled").await;

    // a reload: the conversation comes back from the history, still recalled
    shopper.goto(&base).await;
    let w = Widget::open_panel(&shopper).await;
    w.text(".msg.recalled .text", "客服撤回了一条消息").await;
    let shown = w.texts(".msg .text").await;
    assert!(!shown.iter().any(|t| t.contains(wrong)), "not in the history either: {shown:#?}");
    agent.close().await;
    shopper.close().await;
}

#[tokio::test]
async fn the_agent_answers_a_ticket_and_the_shopper_sees_it_on_the_next_visit() {
    let Some(driver) = driver().await else { return };
    let s = server().await;
    let base = s.http();

    // a signed-in shopper leaves a message while nobody is online, and leaves
    let (mut ws, conv) = Ws::shopper(s.addr, Some("S1003")).await;
    ws.say("转人工").await;
    ws.until(|v| v["type"] == "reply" && v["actions"] == json!(["leave_message"])).await;
    let left = "沙发可以做定制尺寸吗？请联系我";
    ws.send(json!({"type": "ticket", "text": left, "contact": "13800001234"})).await;
    let ticket = ws.until_type("ticket").await.0["id"].as_str().unwrap().to_string();
    drop(ws);

    let agent = Browser::open(&driver, "agent", 1440, 900).await;
    agent.sign_in(&base, "/agent?lang=zh", "li").await;
    agent.click("#tickets-box summary").await;
    let item = format!("#tickets [data-ticket=\"{ticket}\"]");
    agent.text(&item, left).await;
    // its conversation opens from it
    agent.click(&format!("{item} .ticket-actions button")).await;
    agent.text("#transcript-dialog .msg.shopper", "转人工").await;
    agent.shot("agent-ticket-transcript").await;
    agent.click("#transcript-dialog .dialog-actions button").await;

    let answer = "可以定制，请把尺寸发给我们，今天内回电。";
    agent.type_into(&format!("{item} form.ticket-reply textarea"), answer).await;
    agent.click(&format!("{item} form.ticket-reply button")).await;
    agent.text("#tickets", "没有未处理的留言").await;
    agent.find("#ticket-filter").await.select_by_value("answered").await.unwrap();
    let answered = agent.text(&format!("{item} .ticket-answer"), answer).await;
    assert!(answered.contains("顾客下次访问时可见"), "{answered}");
    agent.shot("agent-ticket-answered").await;

    // the shopper's next visit: a new conversation, with the answer and the ticket's number
    let shopper = Browser::open(&driver, "shopper", 1280, 860).await;
    let w = Widget::open_as(&shopper, &base, Some(&shopper_token("S1003"))).await;
    w.text(".msg.agent .text", answer).await;
    w.text(".msg.agent .ticket-reply", &ticket).await;
    shopper.shot("widget-ticket-answer").await;
    // staff see it was delivered
    agent.find("#ticket-filter").await.select_by_value("").await.unwrap();
    agent.text(&format!("{item} .ticket-answer"), "顾客已看到").await;
    let (_, detail) = s.get(&format!("/api/conversations/{conv}"), &s.login("li", PASSWORD).await).await;
    assert!(detail["transcript"].to_string().contains(answer));
    agent.close().await;
    shopper.close().await;
}
