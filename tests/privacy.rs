//! Shoppers' data (issue 21): backups taken under load over the real WebSocket and restored
//! into a fresh path, restores that refuse a damaged or foreign backup or a database in use, a
//! shopper's export (CLI and admin API), and what trainers and agents see of personal data.

mod common;

use kefu::store::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::process::{cli, Cli, Kefu};
use common::server::{knowledge, TestServer};
use common::ws::Client;
use kefu::identity::Role;
use kefu::lang::Lang;
use kefu::store::backup::{self, BackupError, Manifest};
use kefu::store::Store;
use serde_json::Value;
use sha2::Digest;

const PASSWORD: &str = "privacy-password-1";
const PHONE_SAID: &str = "13912345678";
const STREET_SAID: &str = "张江路88号";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn all_conversations(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .search_conversations(None, None, None, None, 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_shoppers_chat_restores_into_a_fresh_path() {
    let dir = tempfile::tempdir().unwrap();
    let live_db = dir.path().join("live/kefu.db");
    std::fs::create_dir(dir.path().join("live")).unwrap();
    // kefu's own debug lines too: none may carry what a shopper typed
    let server = Kefu::on(&live_db).env("KEFU_LOG", "warn,kefu=debug").start();
    let addr = server.addr;

    // the load: shoppers (guests and signed in) chatting without pause over /ws/chat
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (stop, acked) = (stop.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let who = ["S1001", "S1002"].get(i).copied();
            let (mut c, _) = Client::shopper(addr, who).await;
            if i == 0 {
                c.ask(&format!("我的手机号是{PHONE_SAID}，地址上海市浦东新区{STREET_SAID}")).await;
            }
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let text = format!("load-{i}-{n} 退货政策是什么");
                c.ask(&text).await;
                // acknowledged before the reply: stored
                acked.lock().unwrap().push(text);
                n += 1;
            }
        }));
    }
    let acked_count = || acked.lock().unwrap().len();
    while acked_count() < 60 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before: Vec<String> = acked.lock().unwrap().clone();

    let dest = dir.path().join("backups");
    std::fs::create_dir(&dest).unwrap();
    let started = Instant::now();
    let out = {
        let (db, dest) = (live_db.clone(), dest.clone());
        tokio::task::spawn_blocking(move || cli(&db, &["backup", dest.to_str().unwrap()], "")).await.unwrap()
    };
    let took = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    let during = acked_count() - before.len();
    // more chat after the backup, then stop
    let after_backup = acked_count();
    while acked_count() < after_backup + 40 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let file: PathBuf = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "db"))
        .expect("the backup in the folder");
    let manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(backup::manifest_path(&file)).unwrap()).unwrap();
    println!(
        "backup under load: {:.0} ms, {} bytes, {} conversations, {} messages; {during} shopper messages acknowledged while it ran",
        took.as_secs_f64() * 1000.0,
        manifest.bytes,
        manifest.counts.conversations,
        manifest.counts.messages
    );
    #[cfg(unix)]
    for p in [&file, &backup::manifest_path(&file)] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600, "{p:?}");
    }

    // while the service holds its database, a restore over it is refused
    let out = cli(&live_db, &["restore", file.to_str().unwrap(), "--force"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("in use"), "{}", stderr(&out));

    // into a fresh path: checked, restored, intact, and the counts of the manifest
    let fresh = dir.path().join("restored/kefu.db");
    let out = cli(&fresh, &["restore", file.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let info = backup::inspect(&fresh).expect("the restored database passes the integrity check");
    assert_eq!(info.counts, manifest.counts);
    assert_eq!(info.schema_version, backup::schema_version());
    // and not over it again without --force
    let out = cli(&fresh, &["restore", file.to_str().unwrap()], "");
    assert!(!out.status.success() && stderr(&out).contains("--force"), "{}", stderr(&out));

    // the copy is a snapshot of the live database: every conversation in it is there, with
    // its messages a prefix of the live ones; everything acknowledged before it began is in it
    let restored = Store::open(&fresh).unwrap();
    let live = Store::open(&live_db).unwrap();
    let (restored_ids, live_ids) = (all_conversations(&restored).await, all_conversations(&live).await);
    assert!(restored_ids.iter().all(|id| live_ids.contains(id)));
    let (mut restored_messages, mut live_messages) = (0, 0);
    let mut texts = std::collections::HashSet::new();
    for id in &live_ids {
        let l = live.messages(id.clone()).await.unwrap();
        let r = restored.messages(id.clone()).await.unwrap();
        assert_eq!(
            r[..],
            l[..r.len()],
            "conversation {id}: the restored messages are the live ones' beginning"
        );
        texts.extend(r.iter().map(|m| m.text.clone()));
        restored_messages += r.len();
        live_messages += l.len();
    }
    assert_eq!(restored_messages as i64, manifest.counts.messages);
    for t in &before {
        assert!(texts.contains(t), "{t:?} was acknowledged before the backup began, and is not in it");
    }
    assert!(live_messages > restored_messages, "the load went on after the backup");
    // the restored database is one the service accepts
    drop(restored);
    let mut again = Kefu::on(&fresh).start();
    assert!(again.alive());
    let (mut c, _) = Client::shopper(again.addr, Some("S1001")).await;
    c.ask("你好").await;
    again.kill();

    let log = server.log();
    assert!(!log.contains(PHONE_SAID) && !log.contains(STREET_SAID), "personal data in the log:\n{log}");
}

/// Writes `file`'s manifest as a backup of this content would have it (the checksum of what is
/// there now), with `schema_version`.
fn forge_manifest(file: &Path, schema_version: i64) {
    let bytes = std::fs::read(file).unwrap();
    let sha: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let manifest = Manifest {
        format: backup::FORMAT.into(),
        file: file.file_name().unwrap().to_string_lossy().into(),
        sha256: sha,
        bytes: bytes.len() as u64,
        schema_version,
        kefu_version: "9.9.9".into(),
        created_at: "2026-12-03T00:00:00.000Z".into(),
        counts: Default::default(),
    };
    std::fs::write(backup::manifest_path(file), serde_json::to_string(&manifest).unwrap()).unwrap();
}

#[tokio::test]
async fn a_restore_refuses_a_damaged_foreign_or_newer_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    {
        let store = Store::open(&db).unwrap();
        let conv = store.open_conversation(None, Lang::Zh).await.unwrap();
        store.add_message(conv.id, kefu::store::Sender::Shopper, "你好".into(), None).await.unwrap();
    }
    let good = dir.path().join("good.db");
    backup::backup(&db, &good).unwrap();
    let target = dir.path().join("target/kefu.db");
    let copy = |name: &str| {
        let p = dir.path().join(name);
        std::fs::copy(&good, &p).unwrap();
        std::fs::copy(backup::manifest_path(&good), backup::manifest_path(&p)).unwrap();
        p
    };

    // one byte changed after the backup: the checksum says so (through the CLI too)
    let damaged = copy("damaged.db");
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[5000] ^= 0x55;
    std::fs::write(&damaged, &bytes).unwrap();
    assert!(matches!(backup::restore(&damaged, &target, false), Err(BackupError::Checksum { .. })));
    let out = cli(&target, &["restore", damaged.to_str().unwrap()], "");
    assert!(!out.status.success() && stderr(&out).contains("checksum mismatch"), "{}", stderr(&out));

    // damaged (a whole page overwritten), with a manifest rewritten to match: SQLite's
    // integrity check says so
    bytes[4096..8192].fill(0xa5);
    std::fs::write(&damaged, &bytes).unwrap();
    forge_manifest(&damaged, backup::schema_version());
    let r = backup::restore(&damaged, &target, false);
    assert!(matches!(r, Err(BackupError::Corrupt { .. } | BackupError::NotKefu { .. })), "{r:?}");

    // no manifest
    let bare = dir.path().join("bare.db");
    std::fs::copy(&good, &bare).unwrap();
    assert!(matches!(backup::restore(&bare, &target, false), Err(BackupError::NoManifest(_))));

    // not a database, and a database that is not kefu's
    let text = dir.path().join("text.db");
    std::fs::write(&text, "not a database at all, just some text ".repeat(200)).unwrap();
    forge_manifest(&text, 1);
    let r = backup::restore(&text, &target, false);
    assert!(matches!(r, Err(BackupError::NotKefu { .. })), "{r:?}");
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (x TEXT); PRAGMA user_version = 3;")
        .unwrap();
    forge_manifest(&other, 3);
    let r = backup::restore(&other, &target, false);
    assert!(matches!(r, Err(BackupError::NotKefu { .. })), "{r:?}");

    // made by a newer kefu
    let newer = copy("newer.db");
    rusqlite::Connection::open(&newer).unwrap().execute_batch("PRAGMA user_version = 999;").unwrap();
    forge_manifest(&newer, 999);
    let r = backup::restore(&newer, &target, false);
    assert!(matches!(r, Err(BackupError::Newer { found: 999, .. })), "{r:?}");
    // a manifest that names another schema version than the file's
    let mixed = copy("mixed.db");
    forge_manifest(&mixed, 1);
    assert!(matches!(backup::restore(&mixed, &target, false), Err(BackupError::Mismatch { .. })));

    // nothing was written by any refusal
    assert!(!target.exists() || std::fs::metadata(&target).unwrap().len() == 0);
    backup::restore(&good, &target, false).unwrap();
}

async fn staff_server() -> TestServer {
    let s = TestServer::start().await;
    let staff = [("li", "Li", Role::Agent), ("wang", "Wang", Role::Trainer), ("boss", "Boss", Role::Admin)];
    s.add_staff(&staff, PASSWORD).await;
    s
}

#[tokio::test]
async fn a_shoppers_export_holds_everything_and_only_admins_get_it() {
    let s = staff_server().await;
    let (mut shopper, conv) = Client::shopper(s.addr, Some("S1001")).await;
    shopper.ask("我的订单261101219383734421到哪了").await;
    shopper.ask(&format!("我的手机号是{PHONE_SAID}")).await;
    shopper.end(Some(4)).await;
    let ticket = s
        .app
        .store
        .create_ticket(conv.clone(), Some("S1001".into()), Lang::Zh, "请回电".into(), Some(PHONE_SAID.into()))
        .await
        .unwrap();
    // someone else's conversation is not in it
    let (mut other, other_conv) = Client::shopper(s.addr, Some("S1002")).await;
    other.ask("你好，别人的话").await;

    let (admin, trainer, agent) =
        (s.login("boss", PASSWORD).await, s.login("wang", PASSWORD).await, s.login("li", PASSWORD).await);
    let (status, doc) = s.get("/api/shoppers/S1001/export", &admin).await;
    assert_eq!(status, 200, "{doc}");
    let me = knowledge().shoppers.into_iter().find(|x| x.id == "S1001").unwrap();
    assert_eq!(doc["format"], "kefu-shopper-export/1");
    assert_eq!(doc["profile"]["name"], me.name.as_str());
    assert_eq!(doc["profile"]["phone"], me.phone.as_str());
    let orders = doc["orders"].as_array().unwrap();
    assert!(!orders.is_empty() && orders.iter().all(|o| o["shopper_id"] == "S1001"));
    let convs = doc["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["id"], conv.as_str());
    let said: Vec<&str> =
        convs[0]["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(said.iter().any(|t| t.contains(PHONE_SAID)), "{said:?}");
    assert!(said.iter().any(|t| t.contains("261101219383734421")), "{said:?}");
    assert_eq!(convs[0]["feedback"]["rating"], 4);
    assert_eq!(doc["tickets"][0]["id"], ticket.id.as_str());
    assert!(!doc.to_string().contains(&other_conv) && !doc.to_string().contains("别人的话"));

    for token in [&trainer, &agent] {
        assert_eq!(s.get("/api/shoppers/S1001/export", token).await.0, 403);
    }
    assert_eq!(s.call("GET", "/api/shoppers/S1001/export", None, None).await.0, 401);
    assert_eq!(s.get("/api/shoppers/S9999/export", &admin).await.0, 404);

    // the CLI gives the same document
    let db = s.dir.path().join("kefu.db");
    let out = Cli::new(&["shopper", "export", "S1001"]).env("KEFU_DATABASE", &db).run();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut cli_doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    cli_doc["generated_at"] = doc["generated_at"].clone();
    assert_eq!(cli_doc, doc);
    let out = Cli::new(&["shopper", "export", "S9999"]).env("KEFU_DATABASE", &db).run();
    assert!(!out.status.success() && stderr(&out).contains("nothing is stored"), "{}", stderr(&out));
}

#[tokio::test]
async fn trainers_see_no_names_phones_or_addresses_and_agents_what_the_conversation_needs() {
    let s = staff_server().await;
    let order = "261101219383734421";
    let li_token = s.login("li", PASSWORD).await;
    let (mut li, _) =
        Client::agent(s.addr, &li_token, serde_json::json!({"langs": ["zh"], "capacity": 3})).await;
    let (mut shopper, conv) = Client::shopper(s.addr, Some("S1001")).await;
    shopper.ask(&format!("我的订单{order}到哪了")).await;
    shopper.ask(&format!("我的手机号是{PHONE_SAID}")).await;
    shopper.say("转人工").await;
    // the hand-over recorded the order discussed
    let mut discussed = Vec::new();
    for _ in 0..200 {
        let ctx = s.app.store.conversation_context(conv.clone()).await.unwrap().unwrap();
        if !ctx.orders.is_empty() {
            discussed = ctx.orders;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(discussed.iter().map(|o| o.order_no.as_str()).collect::<Vec<_>>(), [order]);
    // the assigned frame is masked the same way as the console's detail
    let assigned = li.assigned(&conv).await;
    let address_phone = &discussed[0].address.phone;
    assert!(!assigned.to_string().contains(address_phone.as_str()), "{assigned}");
    let address = &discussed[0].address;
    let me = knowledge().shoppers.into_iter().find(|x| x.id == "S1001").unwrap();
    let other_orders: Vec<_> =
        knowledge().orders.into_iter().filter(|o| o.shopper_id == "S1001" && o.order_no != order).collect();

    let uri = format!("/api/conversations/{conv}");
    let (status, trainer_view) = s.get(&uri, &s.login("wang", PASSWORD).await).await;
    assert_eq!(status, 200);
    let text = trainer_view.to_string();
    for secret in [me.name.as_str(), me.phone.as_str(), address.name.as_str(), address.phone.as_str()]
        .into_iter()
        .chain([address.detail.as_str(), PHONE_SAID])
    {
        assert!(!text.contains(secret), "a trainer sees {secret:?}: {text}");
    }
    // what the bot was asked is still there, the order number too
    assert!(text.contains("我的手机号是*******5678") && text.contains(order), "{text}");
    assert_eq!(trainer_view["shopper"]["id"], "S1001");
    // nor in the review queue
    let (status, review) = s.get("/api/review", &s.login("wang", PASSWORD).await).await;
    assert_eq!(status, 200, "{review}");
    assert!(!review.to_string().contains(PHONE_SAID), "{review}");

    let (status, agent_view) = s.get(&uri, &li_token).await;
    assert_eq!(status, 200);
    let text = agent_view.to_string();
    // the order under discussion: its address, and the phone's last 4 digits only
    assert_eq!(agent_view["orders"][0]["address"]["detail"], address.detail.as_str());
    let last4 = &address.phone[address.phone.len() - 4..];
    assert_eq!(agent_view["orders"][0]["address"]["phone"], format!("*******{last4}"));
    assert!(!text.contains(address.phone.as_str()) && !text.contains(me.phone.as_str()), "{text}");
    assert_eq!(agent_view["shopper"]["name"], me.name.as_str());
    // the shopper's other orders: no street, no recipient
    for o in &other_orders {
        if o.address.detail != address.detail {
            assert!(!text.contains(o.address.detail.as_str()), "another order's street: {text}");
        }
    }
    // the agent is in the conversation: the shopper's own words stay as they were
    assert!(text.contains(PHONE_SAID), "{text}");
}

/// `kefu backup` on PostgreSQL (pg_dump of one exported snapshot) while a node writes, then
/// `kefu restore` into a fresh database: counts as the manifest says, every conversation's
/// messages a prefix of the live ones, everything written before the backup began in it; a
/// damaged dump, a database in use and one that already holds kefu (without --force) refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_backup_taken_while_a_node_writes_restores_into_a_fresh_database() {
    use kefu::store::pg::backup::FORMAT;
    let Some(live) = common::postgres::Postgres::new("backup_live").await else { return };
    let Some(fresh) = common::postgres::Postgres::new("backup_fresh").await else { return };
    let store = live.store().await;
    store.seed(knowledge().shoppers.clone(), vec![]).await.unwrap();

    // what is stored before the backup starts
    let mut before = Vec::new();
    for i in 0..20 {
        let c = store.open_conversation(Some("S1001".into()), Lang::Zh).await.unwrap();
        let text = format!("备份之前的第{i}条");
        store.accept_shopper_message(c.id.clone(), format!("m{i}"), text.clone(), true).await.unwrap();
        before.push(text);
    }
    // and a node that goes on writing meanwhile
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let c = store.open_conversation(None, Lang::En).await.unwrap();
                for j in 0..5 {
                    let text = format!("during {n}.{j}");
                    store.accept_shopper_message(c.id.clone(), format!("d{j}"), text, true).await.unwrap();
                }
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let dir = tempfile::tempdir().unwrap();
    let live_db = PathBuf::from(&live.url);
    let out = cli(&live_db, &["backup", dir.path().to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let written_during = writer.await.unwrap();
    assert!(written_during > 0);
    let file: PathBuf = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pgdump"))
        .expect("the dump in the folder");
    let manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(backup::manifest_path(&file)).unwrap()).unwrap();
    assert_eq!(manifest.format, FORMAT);
    #[cfg(unix)]
    for p in [&file, &backup::manifest_path(&file)] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600, "{p:?}");
    }

    // the live database has a node's connections: a restore over it is refused
    let out = cli(&live_db, &["restore", file.to_str().unwrap(), "--force"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("in use"), "{}", stderr(&out));

    // into the fresh database: restored, with the manifest's counts
    let fresh_db = PathBuf::from(&fresh.url);
    let out = cli(&fresh_db, &["restore", file.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    // and not over it again without --force
    let out = cli(&fresh_db, &["restore", file.to_str().unwrap()], "");
    assert!(!out.status.success() && stderr(&out).contains("--force"), "{}", stderr(&out));
    let out = cli(&fresh_db, &["restore", file.to_str().unwrap(), "--force"], "");
    assert!(out.status.success(), "{}", stderr(&out));

    // a snapshot of the live database: each conversation's messages a prefix of the live ones
    let restored = fresh.store().await;
    let ids = |convs: Vec<kefu::store::ConversationRow>| {
        let mut v: Vec<String> = convs.into_iter().map(|c| c.id).collect();
        v.sort();
        v
    };
    let live_ids = ids(store.search_conversations(None, None, None, None, 1_000_000).await.unwrap());
    let restored_ids = ids(restored.search_conversations(None, None, None, None, 1_000_000).await.unwrap());
    assert_eq!(restored_ids.len() as i64, manifest.counts.conversations);
    assert!(restored_ids.len() < live_ids.len(), "the writes went on after the snapshot");
    let mut texts = std::collections::HashSet::new();
    let mut restored_messages = 0;
    for id in &restored_ids {
        let l = store.messages(id.clone()).await.unwrap();
        let r = restored.messages(id.clone()).await.unwrap();
        assert_eq!(
            r[..],
            l[..r.len()],
            "conversation {id}: the restored messages are the live ones' beginning"
        );
        restored_messages += r.len();
        texts.extend(r.into_iter().map(|m| m.text));
    }
    assert_eq!(restored_messages as i64, manifest.counts.messages);
    for t in &before {
        assert!(texts.contains(t), "{t:?} was stored before the backup began, and is not in it");
    }
    // the restored database takes new writes (its sequences came along)
    let c = restored.open_conversation(None, Lang::Zh).await.unwrap();
    restored.add_message(c.id, kefu::store::Sender::Shopper, "恢复之后".into(), None).await.unwrap();

    // a damaged dump is refused before anything is written
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let damaged = dir.path().join("damaged.pgdump");
    std::fs::write(&damaged, &bytes).unwrap();
    std::fs::copy(backup::manifest_path(&file), backup::manifest_path(&damaged)).unwrap();
    let out = cli(&fresh_db, &["restore", damaged.to_str().unwrap(), "--force"], "");
    assert!(!out.status.success() && stderr(&out).contains("checksum"), "{}", stderr(&out));
    // an SQLite backup's manifest is not a PostgreSQL one
    let mut m = manifest.clone();
    m.format = backup::FORMAT.into();
    std::fs::write(backup::manifest_path(&damaged), serde_json::to_vec(&m).unwrap()).unwrap();
    let out = cli(&fresh_db, &["restore", damaged.to_str().unwrap(), "--force"], "");
    assert!(!out.status.success() && stderr(&out).contains("format"), "{}", stderr(&out));

    drop((store, restored));
    live.finish().await;
    fresh.finish().await;
}
