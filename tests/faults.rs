//! Fault tests: nothing a shopper was told is stored may be lost, and one bad actor (a crash, a
//! full disk, a locked database, a client that stops reading, a flood) never takes the service
//! down for the others. Real WebSocket clients against a real server on 127.0.0.1; the crash test
//! runs the `kefu` binary itself and kills it with SIGKILL.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::process::Kefu;
use common::server::{build, config, serve, NOW};
use common::ws::{Client, PATIENCE};
use futures_util::{SinkExt, StreamExt};
use kefu::config::Config;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

async fn connect(addr: SocketAddr) -> Client {
    Client::connect(addr, "/ws/chat").await
}

/// hello (optionally resuming) → the welcome frame.
async fn hello(c: &mut Client, resume: Option<&str>) -> Value {
    assert!(c.try_send(json!({"type": "hello", "lang": "zh", "resume": resume})).await);
    c.try_until("welcome").await.expect("welcome")
}

/// Sends a message and waits for its ack or an error; the reply frames are left queued.
async fn offer(c: &mut Client, id: &str, text: &str) -> Result<(), String> {
    if !c.try_send(json!({"type": "message", "id": id, "text": text})).await {
        return Err("gone".into());
    }
    loop {
        let Some(v) = c.next().await else { return Err("gone".into()) };
        match v["type"].as_str() {
            Some("ack") if v["id"] == id => return Ok(()),
            Some("error") => return Err(v["code"].as_str().unwrap_or("?").to_string()),
            _ => {}
        }
    }
}

fn shopper_ids(db: &Path, conv: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT client_msg_id FROM messages WHERE conversation_id = ?1 AND sender = 'shopper' ORDER BY id")
        .unwrap();
    st.query_map([conv], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
}

// ---------------------------------------------------------------------------------------------
// kill -9

/// `kefu serve` with every rate out of the way: this test is about the crash, not the limits.
fn process(db: &Path) -> Kefu {
    Kefu::on(db)
        .env("KEFU_MESSAGES_PER_MINUTE", "100000")
        .env("KEFU_MAX_CONNECTIONS_PER_ADDRESS", "100000")
        .start()
}

/// What one shopper knows after the crash: its conversation, the ids the server acknowledged,
/// and the one it had sent without an answer yet (if any).
struct Shopper {
    conv: String,
    acked: Vec<String>,
    in_flight: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_message_and_conversations_resume() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    let mut server = process(&db);
    let acked_total = Arc::new(AtomicUsize::new(0));
    let texts =
        ["运费险怎么理赔", "what is your return policy", "你好", "双十一有什么优惠", "where is my order"];
    let mut tasks = Vec::new();
    for c in 0..8 {
        let addr = server.addr;
        let acked_total = acked_total.clone();
        tasks.push(tokio::spawn(async move {
            let mut ws = connect(addr).await;
            let w = hello(&mut ws, None).await;
            let conv = w["conversation_id"].as_str().unwrap().to_string();
            let mut acked = Vec::new();
            for k in 0.. {
                let id = format!("c{c}-m{k}");
                match offer(&mut ws, &id, texts[k % texts.len()]).await {
                    Ok(()) => {
                        acked.push(id);
                        acked_total.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => return Shopper { conv, acked, in_flight: Some(id) },
                }
            }
            unreachable!()
        }));
    }
    // let the load run, then pull the plug in the middle of it
    while acked_total.load(Ordering::SeqCst) < 300 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill(); // SIGKILL
    let mut shoppers = Vec::new();
    for t in tasks {
        shoppers.push(t.await.unwrap());
    }
    let acked: usize = shoppers.iter().map(|s| s.acked.len()).sum();
    assert!(acked >= 300, "{acked}");

    // every acknowledged message is on disk, once, in order
    for s in &shoppers {
        let stored = shopper_ids(&db, &s.conv);
        assert_eq!(&stored[..s.acked.len()], &s.acked[..], "acked messages of {} stored in order", s.conv);
        let unique: BTreeSet<_> = stored.iter().collect();
        assert_eq!(unique.len(), stored.len(), "no message stored twice");
        // at most the one in flight may be stored without its ack having arrived
        assert!(stored.len() <= s.acked.len() + 1);
    }

    // restart on the same database: every shopper resumes, re-sends what was in flight, goes on
    let server = process(&db);
    for s in &shoppers {
        let mut ws = connect(server.addr).await;
        let w = hello(&mut ws, Some(&s.conv)).await;
        assert_eq!(w["conversation_id"], s.conv.as_str());
        let history: Vec<&str> =
            w["history"].as_array().unwrap().iter().filter_map(|h| h["client_id"].as_str()).collect();
        for id in &s.acked {
            assert!(history.contains(&id.as_str()), "{id} in the resumed history");
        }
        if let Some(id) = &s.in_flight {
            offer(&mut ws, id, "运费险怎么理赔").await.expect("the in-flight message is accepted on resend");
        }
        offer(&mut ws, "after-restart", "你好").await.expect("new messages are accepted");
        assert!(ws.try_until("reply").await.is_some(), "and answered");
        let stored = shopper_ids(&db, &s.conv);
        let unique: BTreeSet<_> = stored.iter().collect();
        assert_eq!(unique.len(), stored.len(), "a resent message is stored once");
    }
}

// ---------------------------------------------------------------------------------------------
// an unwritable database

/// The service in this process on the database `db`, changed by `tune`: its address.
async fn in_process(db: PathBuf, tune: impl FnOnce(&mut Config)) -> SocketAddr {
    let mut config = Config { fixed_time: Some(NOW.into()), messages_per_minute: 100_000, ..config(&db) };
    tune(&mut config);
    serve(&build(config).await).await.0
}

/// Another process holds the database's write lock (a backup, an admin's open transaction):
/// shoppers get a clear error instead of an ack, the server stays up, and the same messages are
/// accepted once the lock is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_is_a_clear_error_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    let addr = in_process(db.clone(), |_| {}).await;
    let mut ws = connect(addr).await;
    let conv = hello(&mut ws, None).await["conversation_id"].as_str().unwrap().to_string();
    offer(&mut ws, "m1", "你好").await.unwrap();
    // m1's reply is stored after its ack: let it land before the lock, or its storage error
    // would be read as m2's
    assert!(ws.try_until("reply").await.is_some());

    let locker = rusqlite::Connection::open(&db).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(offer(&mut ws, "m2", "运费险怎么理赔").await, Err("storage_unavailable".into()));
    // the server is up: another shopper is told the same, not left hanging
    let mut other = connect(addr).await;
    assert!(other.try_send(json!({"type": "hello"})).await);
    let v = other.next().await.unwrap();
    assert_eq!((v["type"].as_str(), v["code"].as_str()), (Some("error"), Some("storage_unavailable")), "{v}");
    locker.execute_batch("ROLLBACK").unwrap();

    // the fault cleared: the same message, re-sent, is stored and answered
    offer(&mut ws, "m2", "运费险怎么理赔").await.unwrap();
    assert!(ws.try_until("reply").await.is_some());
    assert_eq!(shopper_ids(&db, &conv), ["m1", "m2"]);
    hello(&mut other, None).await;
}

/// Mounts a small tmpfs; None when this process may not (not root, no mount namespace).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size_mb: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }

    /// Fills the file system with a file until writes fail (ENOSPC).
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The disk fills up under the database: shoppers get a clear error for what could not be
/// stored, nothing acknowledged is lost, and everything goes on once space is freed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_clear_error_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&dir.path().join("disk"), 16) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let db = disk.0.join("kefu.db");
    let addr = in_process(db.clone(), |_| {}).await;
    let mut ws = connect(addr).await;
    let conv = hello(&mut ws, None).await["conversation_id"].as_str().unwrap().to_string();
    offer(&mut ws, "m0", "你好").await.unwrap();

    let filler = disk.fill();
    // the WAL may still have room for a few messages; the disk runs out within a few hundred
    let text = "我想问一下运费险怎么理赔，".repeat(40);
    let mut acked = vec!["m0".to_string()];
    let mut refused = None;
    for k in 1..2000 {
        let id = format!("m{k}");
        match offer(&mut ws, &id, &text).await {
            Ok(()) => acked.push(id),
            Err(code) => {
                assert_eq!(code, "storage_unavailable");
                refused = Some(id);
                break;
            }
        }
    }
    let refused = refused.expect("a full disk is reported to the shopper");

    std::fs::remove_file(filler).unwrap();
    // space again: the refused message is accepted on resend, nothing acknowledged was lost
    offer(&mut ws, &refused, &text).await.expect("accepted once there is space");
    acked.push(refused);
    assert!(ws.try_until("reply").await.is_some());
    assert_eq!(shopper_ids(&db, &conv), acked);
}

// ---------------------------------------------------------------------------------------------
// clients that misbehave

/// A client that stops reading fills only its own bounded queue: it is disconnected after the
/// send timeout, what it sent before is stored (and resumable), and another shopper chatting at
/// the same time is answered throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_does_not_stall_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    let addr = in_process(db.clone(), |c| c.send_timeout_secs = 1).await;

    // a client whose socket has a tiny receive buffer and never reads
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let mut slow = Client::over(stream, addr, "/ws/chat").await;
    let conv = hello(&mut slow, None).await["conversation_id"].as_str().unwrap().to_string();
    let writer = tokio::spawn(async move {
        let mut sent = 0usize;
        for k in 0..20_000 {
            let frame = json!({"type": "message", "id": format!("s{k}"), "text": "你好"}).to_string();
            match tokio::time::timeout(Duration::from_secs(10), slow.ws.send(Message::Text(frame.into())))
                .await
            {
                Ok(Ok(())) => sent += 1,
                _ => return (sent, true),
            }
        }
        // everything fit in socket buffers: the server must have hung up by now all the same
        loop {
            match tokio::time::timeout(PATIENCE, slow.ws.next()).await {
                Ok(Some(Ok(_))) => continue,
                Ok(_) => return (sent, true),
                Err(_) => return (sent, false),
            }
        }
    });

    let mut ws = connect(addr).await;
    hello(&mut ws, None).await;
    for k in 0..5 {
        offer(&mut ws, &format!("n{k}"), "七天无理由退货怎么算").await.unwrap();
        assert!(ws.try_until("reply").await.is_some(), "the other shopper is answered");
    }
    let (sent, cut_off) = writer.await.unwrap();
    assert!(cut_off, "the server stopped accepting from a client that never reads (sent {sent})");

    // what the slow client got stored is a gap-free prefix of what it sent; it can resume
    let stored = shopper_ids(&db, &conv);
    assert!(!stored.is_empty());
    for (k, id) in stored.iter().enumerate() {
        assert_eq!(id, &format!("s{k}"));
    }
    let mut again = connect(addr).await;
    let w = hello(&mut again, Some(&conv)).await;
    assert_eq!(w["conversation_id"], conv.as_str());
}

/// One client flooding is rate-limited (errors, not a disconnect), and a shopper chatting at the
/// same time is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_rate_limited_without_hurting_others() {
    let dir = tempfile::tempdir().unwrap();
    let addr = in_process(dir.path().join("kefu.db"), |c| c.messages_per_minute = 20).await;
    let mut flood = connect(addr).await;
    hello(&mut flood, None).await;
    let mut ws = connect(addr).await;
    hello(&mut ws, None).await;

    let flooder = tokio::spawn(async move {
        for k in 0..300 {
            let frame = json!({"type": "message", "id": format!("f{k}"), "text": "在吗"});
            assert!(flood.try_send(frame).await);
        }
        let mut codes: HashMap<String, usize> = HashMap::new();
        let mut acks = 0;
        while acks + codes.values().sum::<usize>() < 300 {
            let v = flood.next().await.expect("the flooder stays connected");
            match v["type"].as_str() {
                Some("ack") => acks += 1,
                Some("error") => *codes.entry(v["code"].as_str().unwrap().to_string()).or_default() += 1,
                _ => {}
            }
        }
        (acks, codes)
    });
    for k in 0..5 {
        offer(&mut ws, &format!("n{k}"), "你好").await.expect("the other shopper is not limited");
        assert!(ws.try_until("reply").await.is_some());
    }
    let (acks, codes) = flooder.await.unwrap();
    // the burst of 20, plus a refill or two (one every 3 s) while the test runs
    assert!((20..30).contains(&acks), "the burst is accepted, the rest refused: {acks}");
    assert_eq!(codes.get("rate_limited").copied().unwrap_or(0), 300 - acks, "{codes:?}");
}

/// A frame over the 64 KiB limit closes that connection with code 1009 (nothing of it is
/// stored); the shopper reconnects and resumes with everything stored before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_refused_with_close_1009() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    let addr = in_process(db.clone(), |_| {}).await;
    let mut ws = connect(addr).await;
    let conv = hello(&mut ws, None).await["conversation_id"].as_str().unwrap().to_string();
    offer(&mut ws, "m1", "你好").await.unwrap();
    let huge = json!({"type": "message", "id": "m2", "text": "啊".repeat(40_000)});
    let _ = ws.try_send(huge).await;
    assert_eq!(ws.close_code().await, Some(1009));
    let mut again = connect(addr).await;
    hello(&mut again, Some(&conv)).await;
    offer(&mut again, "m3", "运费险怎么理赔").await.unwrap();
    assert_eq!(shopper_ids(&db, &conv), ["m1", "m3"]);
}
