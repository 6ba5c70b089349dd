//! The command line's global flags: one `--config` (before or after the command's name) and one
//! `--knowledge` that every command honours, over the config's `knowledge` — `check`, `kb`,
//! `train` and `serve` (a child process answering over the WebSocket from a changed FAQ entry).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::process::{Cli, Kefu};
use common::server::root;
use common::ws::Client;

/// The marker put into one FAQ answer of the copied knowledge base.
const MARKER: &str = "【另一家店的知识库】";
const QUESTION: &str = "运费险怎么理赔";

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

/// `kefu ARGS…` run in `dir`.
fn run(dir: &Path, args: &[&str]) -> Output {
    Cli::new(args).current_dir(dir).run()
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
    let out = Cli::new(&["user", "add", "li", "--role", "agent", "--config", s(&config)])
        .current_dir(dir.path())
        .stdin("li-password-1\n")
        .run();
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
    let out = Cli::new(&["user", "list"]).current_dir(dir.path()).env("KEFU_CONFIG", &config).run();
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

#[tokio::test]
async fn serve_answers_from_the_command_line_folder() {
    let dir = tempfile::tempdir().unwrap();
    let changed = changed_knowledge(dir.path(), "changed");
    let config = config_file(dir.path(), "kefu.custom.toml", &root().join("knowledge"));
    let server = Kefu::on(&dir.path().join("kefu.db"))
        .args(&["--config", s(&config), "--knowledge", s(&changed)])
        .start();

    let (mut shopper, _) = Client::shopper(server.addr, None).await;
    let reply = shopper.ask(QUESTION).await;
    let text = reply["text"].as_str().unwrap_or_default();
    assert!(text.contains(MARKER), "the service answered from the command line's folder: {reply}");
}
