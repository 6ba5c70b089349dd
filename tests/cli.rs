//! The command line's global flags: one `--config` (before or after the command's name) and one
//! `--knowledge` that every command honours, over the config's `knowledge` — `check`, `kb`,
//! `train` and `serve` (a child process answering over the WebSocket from a changed FAQ entry).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// The marker put into one FAQ answer of the copied knowledge base.
const MARKER: &str = "【另一家店的知识库】";
const QUESTION: &str = "运费险怎么理赔";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of `knowledge/` in `dir/name` whose answer to "运费险怎么理赔" starts with [`MARKER`].
fn changed_knowledge(dir: &Path, name: &str) -> PathBuf {
    let copy = dir.join(name);
    copy_dir(&root().join("knowledge"), &copy);
    let file = copy.join("faq/after_sale.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let answer = "answer = \"\"\"亲，运费险不用单独申请";
    assert_eq!(text.matches(answer).count(), 1, "the shipping-insurance answer moved");
    std::fs::write(&file, text.replace(answer, &format!("answer = \"\"\"亲，{MARKER}运费险不用单独申请")))
        .unwrap();
    copy
}

/// A config file in `dir` with its own database, the shipped model, and `knowledge`.
fn config_file(dir: &Path, name: &str, knowledge: &Path) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        "database = {:?}\nknowledge = {:?}\nmodel = {:?}\nmodel_store = {:?}\nfixed_time = \"2026-11-25T09:00:00+08:00\"\n",
        dir.join("db/kefu.db"),
        knowledge,
        root().join("models/intent"),
        dir.join("models"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `kefu ARGS…` in `dir`, with no `KEFU_*` settings from the test's own environment.
fn kefu(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kefu"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("KEFU_") {
            c.env_remove(k);
        }
    }
    c.current_dir(dir).env("KEFU_LOG", "warn");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    kefu(dir).args(args).stdin(Stdio::null()).output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(out.status.success(), "kefu {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn config_is_read_before_or_after_the_command_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), "kefu.custom.toml", &root().join("knowledge"));
    let out = kefu(dir.path())
        .args(["user", "add", "li", "--role", "agent", "--config", s(&config)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"li-password-1\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("db/kefu.db").exists(), "the config's database was used");
    for args in [
        vec!["user", "list", "--config", s(&config)],
        vec!["--config", s(&config), "user", "list"],
        vec!["user", "--config", s(&config), "list"],
    ] {
        let listed = ok(dir.path(), &args);
        assert!(listed.lines().any(|l| l.starts_with("li\t")), "{args:?}: {listed}");
    }
    // KEFU_CONFIG names it too
    let out = kefu(dir.path()).args(["user", "list"]).env("KEFU_CONFIG", &config).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("li\t"));
    // and a command that only reads the knowledge base reads the config file as well
    let missing = run(dir.path(), &["check", "--config", s(&dir.path().join("absent.toml"))]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("absent.toml"));
}

#[test]
fn check_reads_the_command_line_folder_over_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let good = changed_knowledge(dir.path(), "good");
    let broken = changed_knowledge(dir.path(), "broken");
    let faq = broken.join("faq/after_sale.toml");
    let text = std::fs::read_to_string(&faq).unwrap();
    std::fs::write(&faq, text.replacen("intent = \"return_refund\"", "intent = \"no_such_intent\"", 1))
        .unwrap();
    let config = config_file(dir.path(), "kefu.toml", &broken);

    // the config's folder (kefu.toml in the working directory), with its problem
    let out = run(dir.path(), &["check"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no_such_intent") && stdout.contains(s(&broken)), "{stdout}");
    // --knowledge wins over it, given before or after the command
    for args in [vec!["check", "--knowledge", s(&good)], vec!["--knowledge", s(&good), "check"]] {
        let out = ok(dir.path(), &args);
        assert!(
            out.starts_with("ok: ") && out.trim_end().ends_with(&format!("in {}", good.display())),
            "{out}"
        );
    }
    let out = ok(dir.path(), &["check", "--config", s(&config), "--knowledge", s(&good)]);
    assert!(out.trim_end().ends_with(s(&good)), "{out}");
    // ask reads it too
    let out = ok(dir.path(), &["ask", QUESTION, "--knowledge", s(&good)]);
    assert!(out.contains(MARKER), "{out}");
}

#[test]
fn kb_import_and_export_use_the_command_line_folder() {
    let dir = tempfile::tempdir().unwrap();
    let changed = changed_knowledge(dir.path(), "changed");
    // the config names the shipped folder; the command line another store's
    let config = config_file(dir.path(), "kefu.toml", &root().join("knowledge"));
    let out = ok(dir.path(), &["kb", "import", "--knowledge", s(&changed), "--config", s(&config)]);
    assert!(out.contains("entries changed"), "{out}");

    let exported = dir.path().join("exported");
    ok(dir.path(), &["kb", "export", "--out", s(&exported)]);
    let faq = std::fs::read_to_string(exported.join("faq/after_sale.toml")).unwrap();
    assert!(faq.contains(MARKER), "kb import read the config's folder, not --knowledge");

    // without --out, export writes into the --knowledge folder
    let target = dir.path().join("target-kb");
    let out = ok(dir.path(), &["--knowledge", s(&target), "kb", "export"]);
    assert!(out.contains(&format!("under {}", target.display())), "{out}");
    let faq = std::fs::read_to_string(target.join("faq/after_sale.toml")).unwrap();
    assert!(faq.contains(MARKER));
    let shipped = std::fs::read_to_string(root().join("knowledge/faq/after_sale.toml")).unwrap();
    assert!(!shipped.contains(MARKER), "the shipped folder was written");
}

#[test]
fn train_and_eval_default_to_the_command_line_folder() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-kb");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(dir.path(), &["train", "--knowledge", s(&empty), "--out", s(&dir.path().join("m"))]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(s(&empty.join("intents"))), "{err}");
    assert!(!dir.path().join("m").exists());
}

/// One shopper question over `/ws/chat`: the bot's reply text.
async fn ask_over_websocket(addr: &str, question: &str) -> String {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/chat")).await.unwrap();
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({"type": "hello", "lang": "zh"}))).await.unwrap();
    ws.send(send(json!({"type": "message", "id": "m1", "text": question}))).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("a frame in time");
        let Some(Ok(Message::Text(t))) = frame else {
            match frame {
                Some(Ok(_)) => continue,
                _ => panic!("closed; saw {seen:#?}"),
            }
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v["type"] == "reply" && v["from"] == "bot" {
            return v["text"].as_str().unwrap().to_string();
        }
        seen.push(v);
    }
}

/// A `kefu serve` child, killed when dropped.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_answers_from_the_command_line_folder() {
    let dir = tempfile::tempdir().unwrap();
    let changed = changed_knowledge(dir.path(), "changed");
    let config = config_file(dir.path(), "kefu.custom.toml", &root().join("knowledge"));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = kefu(dir.path())
        .args(["serve", "--config", s(&config), "--knowledge", s(&changed)])
        .env("KEFU_LISTEN", &addr)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Serve(child);
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    lines.by_ref().map_while(Result::ok).find(|l| l.contains("listening")).expect("kefu prints its address");
    std::thread::spawn(move || lines.for_each(drop));

    let reply = ask_over_websocket(&addr, QUESTION).await;
    assert!(reply.contains(MARKER), "the service answered from the config's folder: {reply}");
    drop(server);
}
