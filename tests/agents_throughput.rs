//! How many agent messages per second go through the service desk with a few agents sending at
//! once (each message stored, acknowledged to its agent and relayed to the shopper). A
//! measurement, not a check: ignored by default, run with
//! `cargo test --release --test agents_throughput -- --ignored --nocapture`
//! (with `TMPDIR` on a real disk, so every commit pays its fsync).

mod common;

use std::time::Instant;

use common::server::TestServer;
use common::ws::Client;
use kefu::identity::Role;
use serde_json::json;

const PASSWORD: &str = "agent-password-1";
const AGENTS: usize = 4;
const MESSAGES: usize = 200;

/// Four agents, each with one conversation and its shopper (whose frames are drained).
async fn setup() -> (TestServer, Vec<(Client, String)>) {
    let s = TestServer::start().await;
    let names: Vec<(String, String)> =
        (0..AGENTS).map(|i| (format!("agent{i}"), format!("Agent {i}"))).collect();
    let staff: Vec<(&str, &str, Role)> =
        names.iter().map(|(n, d)| (n.as_str(), d.as_str(), Role::Agent)).collect();
    s.add_staff(&staff, PASSWORD).await;
    let mut agents = Vec::new();
    for (name, _) in &names {
        let token = s.login(name, PASSWORD).await;
        // without Nagle's delay, as the console's browser sends
        let tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let mut agent = Client::over(tcp, s.addr, "/ws/agent").await;
        agent.send(json!({"type": "hello", "token": token, "capacity": 1})).await;
        agent.until_type("welcome").await;
        let (mut shopper, conv) = Client::shopper(s.addr, None).await;
        shopper.say("转人工").await;
        agent.assigned(&conv).await;
        tokio::spawn(async move { while shopper.next().await.is_some() {} });
        agents.push((agent, conv));
    }
    (s, agents)
}

/// Every agent sends [`MESSAGES`]; `window` messages may be unacknowledged at once per agent.
async fn run(window: usize) -> f64 {
    let (_s, agents) = setup().await;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (mut agent, conv) in agents {
        tasks.push(tokio::spawn(async move {
            let (mut sent, mut acked) = (0, 0);
            while acked < MESSAGES {
                while sent < MESSAGES && sent - acked < window {
                    let m = json!({"type": "message", "conversation_id": conv, "id": format!("m{sent}"), "text": format!("第{sent}条回复")});
                    agent.send(m).await;
                    sent += 1;
                }
                let f = agent.next().await.expect("the connection stays open");
                match f["type"].as_str() {
                    Some("ack") => acked += 1,
                    Some("error") => panic!("{f}"),
                    _ => {}
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (AGENTS * MESSAGES) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand with --ignored --nocapture"]
async fn agent_messages_per_second() {
    let one = run(1).await;
    let many = run(32).await;
    println!(
        "{AGENTS} agents × {MESSAGES} messages: {one:.0} msg/s each waiting for its ack, {many:.0} msg/s with 32 in flight each"
    );
}
