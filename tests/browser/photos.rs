//! Photos (issue 17, shopper item 7) in the browser: the shopper picks a small PNG in the widget
//! (📷) with a sentence half typed; it is shown at once, uploaded, sent, and the agent console
//! shows its thumbnail, which opens full size; what the shopper typed is still in the box. A
//! file that is not an image (HTML named .jpg) is refused, and the widget says why under it.

use super::*;
use base64::Engine;

/// A real 24×24 PNG (a checked pattern).
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAABgAAAAYCAIAAABvFaqvAAAAtUlEQVR42o3RkRYCARSE4XmcxTAYCMMwDBfDxTBcDMMwDMPBxcWoh4jyOQNzzof/Hbn4fSejgaZpEKINTdOkoS1N06ShHU3TpKE9TdOkoQNN00BHmnBWNNCJJgwVDTTShKGigc40YahooIkmDBUNdKEJQ0WT3n+laZo0NNM0TRq60TRNGrrTNE0aetA0TRp60jQN9KIJZ0UDvWnCUNFAoglDRQMtNGGoaKCVJgwVDfShCUNF8wfZBlw9DYohSQAAAABJRU5ErkJggg==";

/// Runs `script` in the page until it returns a non-empty string containing `needle`.
async fn until_js(page: &Browser, what: &str, script: &str, needle: &str) -> String {
    wait_for_text(page.name, what, needle, || async {
        match page.js(script).await {
            serde_json::Value::String(s) => vec![s],
            other => vec![other.to_string()],
        }
    })
    .await
}

/// Script: the widget's shadow root as `r`.
const ROOT: &str = "const r = document.getElementById('kefu-widget').shadowRoot;";

#[tokio::test]
async fn a_shopper_sends_a_photo_from_the_widget_and_the_agent_sees_it() {
    let Some(driver) = driver().await else { return };
    let s = server().await;
    let base = s.http();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("damaged.png");
    std::fs::write(&png, base64::engine::general_purpose::STANDARD.decode(PNG_B64).unwrap()).unwrap();
    let fake = dir.path().join("photo.jpg");
    std::fs::write(&fake, "<!DOCTYPE html><html><script>alert(1)</script></html>").unwrap();

    let agent = Browser::open(&driver, "agent", 1440, 900).await;
    agent.sign_in(&base, "/agent?lang=zh", "li").await;
    agent.find("#queue").await;

    let shopper = Browser::open(&driver, "shopper", 1280, 860).await;
    let w = Widget::open(&shopper, &base).await;
    w.say("我收到的杯子碎了，转人工").await;
    agent.find("#mine [data-conversation]").await;
    w.text(".msg.system .text, .msg.bot .text", "李明").await;

    // half a sentence typed, then a photo chosen with the 📷 button's file input
    w.find("#kefu-photo").await;
    w.find("#kefu-input").await.send_keys("杯子是这样的").await.unwrap();
    let input = w.find("#kefu-photo-file").await;
    input.send_keys(png.to_str().unwrap()).await.unwrap();
    // shown at once, then delivered (no longer pending) as the PNG it is
    let shown = until_js(
        &shopper,
        "the delivered photo",
        &format!(
            "{ROOT} const li = r.querySelector('li.photo-msg'); const img = li && li.querySelector('img'); \
             return li && !li.classList.contains('pending') && img.naturalWidth > 0 ? img.src.slice(0, 22) : ''"
        ),
        "data:image/png",
    )
    .await;
    assert!(shown.starts_with("data:image/png"), "{shown}");
    let typed = shopper.js(&format!("{ROOT} return r.querySelector('#kefu-input').value")).await;
    assert_eq!(typed, json!("杯子是这样的"), "what the shopper typed is still there");

    // the agent sees the thumbnail live, and full size on a click
    let thumb = until_js(
        &agent,
        "the photo's thumbnail",
        "const i = document.querySelector('#transcript .msg.shopper button.photo img'); \
         return i && i.naturalWidth > 0 ? String(i.naturalWidth) : ''",
        "24",
    )
    .await;
    assert_eq!(thumb, "24");
    agent.shot("agent-photo-thumbnail").await;
    agent.click("#transcript .msg.shopper button.photo").await;
    agent.find("dialog.photo-view[open] img").await;
    agent.shot("agent-photo-enlarged").await;
    agent.click("dialog.photo-view .dialog-actions button").await;

    // HTML named .jpg: refused by the server, and the widget says why under it
    w.find("#kefu-photo-file").await.send_keys(fake.to_str().unwrap()).await.unwrap();
    w.text(".msg.failed .state", "JPEG").await;
    shopper.shot("widget-photo").await;
    let typed = shopper.js(&format!("{ROOT} return r.querySelector('#kefu-input').value")).await;
    assert_eq!(typed, json!("杯子是这样的"));
    shopper.close().await;
    agent.close().await;
}
