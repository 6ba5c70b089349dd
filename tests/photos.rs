//! Photos from shoppers (issue 17, shopper item 7), end to end over real HTTP and WebSockets on
//! 127.0.0.1: uploaded with the conversation's credential, sent into the chat, seen live by the
//! agent, kept in the transcript, the history and the feedback record; refused when they are
//! not images (whatever they are called), too big, too many, or asked for by someone else.

mod common;

use base64::Engine;
use common::server::TestServer;
use common::ws::{shopper_token, Client};
use kefu::config::Config;
use kefu::identity::Role;
use kefu::store::prelude::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "photo-password-1";

/// A real 24×24 PNG (a checked pattern), 238 bytes.
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAABgAAAAYCAIAAABvFaqvAAAAtUlEQVR42o3RkRYCARSE4XmcxTAYCMMwDBfDxTBcDMMwDMPBxcWoh4jyOQNzzof/Hbn4fSejgaZpEKINTdOkoS1N06ShHU3TpKE9TdOkoQNN00BHmnBWNNCJJgwVDTTShKGigc40YahooIkmDBUNdKEJQ0WT3n+laZo0NNM0TRq60TRNGrrTNE0aetA0TRp60jQN9KIJZ0UDvWnCUNFAoglDRQMtNGGoaKCVJgwVDfShCUNF8wfZBlw9DYohSQAAAABJRU5ErkJggg==";

fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(PNG_B64).unwrap()
}

/// An HTTP answer with its body as bytes (an image is not text).
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// One HTTP/1.1 request on its own connection: extra headers, a body sent with its
/// `Content-Length` or, with `chunked`, as one chunk of unannounced length.
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    chunked: bool,
) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
        head.push_str(&format!("{:x}\r\n", body.len()));
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    }
    s.write_all(head.as_bytes()).await.unwrap();
    // the server may answer (413) and close before the whole body is read
    let _ = s.write_all(body).await;
    if chunked {
        let _ = s.write_all(b"\r\n0\r\n\r\n").await;
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Reply { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
    out
}

/// Uploads `body` into `conv` with an optional shopper token and the content type the client
/// claims (never believed).
async fn upload(s: &TestServer, conv: &str, token: Option<&str>, claimed: &str, body: &[u8]) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", claimed)];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    http(s.addr, "POST", &format!("/api/chat/{conv}/images"), &headers, body, false).await
}

async fn fetch(s: &TestServer, conv: &str, image: &str, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    http(s.addr, "GET", &format!("/api/chat/{conv}/images/{image}"), &headers, b"", false).await
}

async fn start_with(tune: impl FnOnce(&mut Config)) -> TestServer {
    let s = TestServer::start_with(|c| {
        c.business_hours = None;
        tune(c)
    })
    .await;
    let staff = [("li", "Li", Role::Agent), ("wang", "Wang", Role::Trainer)];
    s.add_staff(&staff, PASSWORD).await;
    s
}

/// Sends the uploaded image into the chat; the frames up to its ack.
async fn send_image(shopper: &mut Client, id: &str, image: &str) -> Value {
    shopper.send(json!({"type": "image", "id": id, "image": image})).await;
    shopper.until(|v| (v["type"] == "ack" && v["id"] == id) || v["type"] == "error").await.0
}

#[tokio::test]
async fn a_photo_reaches_the_agent_live_and_stays_with_the_conversation() {
    let s = start_with(|_| {}).await;
    let li_token = s.login("li", PASSWORD).await;
    let (mut li, _) = Client::agent(s.addr, &li_token, json!({"langs": ["zh"]})).await;
    let token = shopper_token("S1001");
    let (mut shopper, conv) = Client::shopper(s.addr, Some("S1001")).await;
    shopper.say("转人工").await;
    shopper.until(|v| v["type"] == "status" && v["state"] == "agent").await;
    li.assigned(&conv).await;

    // uploaded with the shopper's own credential; what the client calls it does not matter
    let up = upload(&s, &conv, Some(&token), "image/jpeg", &png()).await;
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let image = up.json();
    assert_eq!(image["content_type"], "image/png", "sniffed from the bytes: {image}");
    assert_eq!(image["bytes"], png().len());
    let id = image["id"].as_str().unwrap().to_string();
    assert_eq!(up.header("access-control-allow-origin"), Some("*"), "the widget runs on the store's origin");

    // sent into the chat: acknowledged after storage, and the agent sees it at once
    let ack = send_image(&mut shopper, "p1", &id).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let (m, _) = li.until(|v| v["type"] == "message" && v["conversation_id"] == conv.as_str()).await;
    assert_eq!(m["from"], "shopper");
    assert_eq!(m["text"], "[图片]");
    assert_eq!(m["image"]["id"], id.as_str());
    assert_eq!(m["image"]["content_type"], "image/png");
    // a resend with the same id is stored once
    assert_eq!(send_image(&mut shopper, "p1", &id).await["type"], "ack");

    // staff read it as exactly what it is, and nothing a browser could run or guess
    let got = fetch(&s, &conv, &id, Some(&li_token)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, png());
    assert_eq!(got.header("content-type"), Some("image/png"));
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(got.header("content-disposition"), Some(format!("inline; filename=\"{id}.png\"").as_str()));
    let csp = got.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("sandbox"), "{csp}");
    assert!(got.header("cache-control").unwrap().contains("no-store"));
    // a trainer too (the review's transcript), and the shopper who sent it
    let trainer = s.login("wang", PASSWORD).await;
    assert_eq!(fetch(&s, &conv, &id, Some(&trainer)).await.status, 200);
    let own = fetch(&s, &conv, &id, Some(&token)).await;
    assert_eq!((own.status, own.body == png()), (200, true));

    // nobody else: another shopper 403, no credential 401, a made-up token 401, another
    // conversation's path 404
    assert_eq!(fetch(&s, &conv, &id, Some(&shopper_token("S1002"))).await.status, 403);
    assert_eq!(fetch(&s, &conv, &id, None).await.status, 401);
    assert_eq!(fetch(&s, &conv, &id, Some("not.a.token")).await.status, 401);
    let (_other, other_conv) = Client::shopper(s.addr, Some("S1002")).await;
    let wrong = fetch(&s, &other_conv, &id, Some(&shopper_token("S1002"))).await;
    assert_eq!(wrong.status, 404, "an image is read only through its own conversation");
    // another shopper cannot upload into this conversation either
    assert_eq!(upload(&s, &conv, Some(&shopper_token("S1002")), "image/png", &png()).await.status, 403);
    assert_eq!(upload(&s, &conv, None, "image/png", &png()).await.status, 401);

    // the transcript for staff (and, below, the shopper's history on resume)
    let (status, detail) = s.get(&format!("/api/conversations/{conv}"), &li_token).await;
    assert_eq!(status, 200);
    let sent: Vec<&Value> =
        detail["transcript"].as_array().unwrap().iter().filter(|m| m["meta"]["image"].is_object()).collect();
    assert_eq!(sent.len(), 1, "{detail}");
    assert_eq!(sent[0]["meta"]["image"]["id"], id.as_str());

    // the feedback record counts it
    li.send(json!({"type": "resolve", "conversation_id": conv})).await;
    shopper.until_type("rating_request").await;
    let records = s.app.store.feedback_since(String::new()).await.unwrap();
    assert_eq!(common::server::record_of(&records, &conv)["attachments"], 1);
    let mut again = Client::connect(s.addr, "/ws/chat").await;
    let w = again.hello(json!({"token": token, "resume": conv})).await;
    let item = w["history"].as_array().unwrap().iter().find(|h| h["client_id"] == "p1").cloned().unwrap();
    assert_eq!((item["from"].as_str(), item["image"]["id"].as_str()), (Some("shopper"), Some(id.as_str())));
}

#[tokio::test]
async fn with_the_bot_a_photo_is_acknowledged_and_kept_for_the_agent() {
    let s = start_with(|_| {}).await;
    let (mut shopper, conv) = Client::shopper(s.addr, None).await;
    let up = upload(&s, &conv, None, "image/png", &png()).await;
    assert_eq!(up.status, 201, "a guest's conversation id is their credential");
    let id = up.json()["id"].as_str().unwrap().to_string();
    assert_eq!(send_image(&mut shopper, "p1", &id).await["type"], "ack");
    let (reply, _) = shopper.until_type("reply").await;
    assert!(reply["text"].as_str().unwrap().starts_with("已收到图片"), "{reply}");
    assert_eq!(reply["suggestions"], json!(["转人工"]));

    // the agent who takes it later finds it in the transcript
    shopper.say("转人工").await;
    let li_token = s.login("li", PASSWORD).await;
    let (mut li, _) = Client::agent(s.addr, &li_token, json!({"langs": ["zh"]})).await;
    let a = li.assigned(&conv).await;
    let transcript = a["context"]["transcript"].as_array().unwrap();
    assert!(transcript.iter().any(|m| m["meta"]["image"]["id"] == id.as_str()), "{transcript:#?}");
    assert_eq!(fetch(&s, &conv, &id, Some(&li_token)).await.status, 200);

    // an image frame that names no upload of this conversation is refused, nothing stored
    let e = send_image(&mut shopper, "p2", "i000000000000000000000000").await;
    assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some("bad_image")));
    let e = send_image(&mut shopper, "p3", &id).await;
    assert_eq!(e["code"], "bad_image", "an image is sent once");
}

#[tokio::test]
async fn what_is_not_a_photo_or_too_big_is_refused() {
    let s = start_with(|c| c.image_max_bytes = 4096).await;
    let (_shopper, conv) = Client::shopper(s.addr, None).await;
    // markup renamed .jpg and sent as image/jpeg: refused by its bytes
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let r = upload(&s, &conv, None, "image/jpeg", html).await;
    assert_eq!((r.status, r.json()["error"].as_str()), (415, Some("unsupported_media_type")));
    let svg =
        br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>"#;
    assert_eq!(upload(&s, &conv, None, "image/svg+xml", svg).await.status, 415);
    assert_eq!(upload(&s, &conv, None, "image/png", b"").await.status, 415);

    // too big: 413 with the limit, whether the length is announced or not
    let mut big = png();
    big.resize(5000, 0);
    let r = upload(&s, &conv, None, "image/png", &big).await;
    assert_eq!((r.status, r.json()["max_bytes"].as_u64()), (413, Some(4096)));
    let path = format!("/api/chat/{conv}/images");
    let r = http(s.addr, "POST", &path, &[("Content-Type", "image/png")], &big, true).await;
    assert_eq!(r.status, 413, "a chunked body is cut off at the limit too");
    // exactly at the limit is fine
    big.truncate(4096);
    assert_eq!(upload(&s, &conv, None, "image/png", &big).await.status, 201);

    // unknown conversation, CORS preflight
    assert_eq!(upload(&s, "c00000000000000000000", None, "image/png", &png()).await.status, 404);
    let pre = http(
        s.addr,
        "OPTIONS",
        &path,
        &[("Origin", "https://shop.example"), ("Access-Control-Request-Method", "POST")],
        b"",
        false,
    )
    .await;
    assert_eq!(pre.status, 204);
    assert!(pre.header("access-control-allow-headers").unwrap().contains("authorization"));
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn uploads_are_bounded_per_conversation_per_address_and_in_total() {
    let s = start_with(|c| {
        c.images_per_conversation = 2;
        c.address_images_per_hour = 5;
    })
    .await;
    let (mut shopper, conv) = Client::shopper(s.addr, None).await;
    for _ in 0..2 {
        assert_eq!(upload(&s, &conv, None, "image/png", &png()).await.status, 201);
    }
    let r = upload(&s, &conv, None, "image/png", &png()).await;
    assert_eq!((r.status, r.json()["error"].as_str()), (429, Some("too_many_images")));

    // the address's budget spans its conversations: 5 an hour, the failed one above counted
    let (_s2, conv2) = Client::shopper(s.addr, None).await;
    assert_eq!(upload(&s, &conv2, None, "image/png", &png()).await.status, 201);
    assert_eq!(upload(&s, &conv2, None, "image/png", &png()).await.status, 201);
    let r = upload(&s, &conv2, None, "image/png", &png()).await;
    assert_eq!((r.status, r.json()["error"].as_str()), (429, Some("rate_limited")));
    assert_eq!(r.header("retry-after"), Some("720"));

    // a closed conversation takes no more
    shopper.end(None).await;
    let s3 = start_with(|c| c.images_max_total_mb = 0).await;
    let (_sh, conv3) = Client::shopper(s3.addr, None).await;
    let r = upload(&s3, &conv3, None, "image/png", &png()).await;
    assert_eq!((r.status, r.json()["error"].as_str()), (507, Some("storage_full")));
    let s4 = start_with(|_| {}).await;
    let (mut sh4, conv4) = Client::shopper(s4.addr, None).await;
    sh4.end(None).await;
    assert_eq!(upload(&s4, &conv4, None, "image/png", &png()).await.status, 409);
}
