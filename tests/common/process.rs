//! The `kefu` binary as a separate process, as an operator runs it: `kefu serve` on 127.0.0.1
//! (optionally under a lowered descriptor limit; its log in a file, its memory read from /proc)
//! and `kefu …` commands.

use std::ffi::OsStr;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::server::{root, NOW, SECRET};

/// A running `kefu serve`, killed (SIGKILL) when dropped.
pub struct Kefu {
    pub child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

/// How to start a `kefu serve`: see [`Kefu::on`].
pub struct Options {
    db: PathBuf,
    dir: Option<tempfile::TempDir>,
    env: Vec<(String, String)>,
    fd_limit: Option<u32>,
    shared_limits: bool,
    args: Vec<String>,
}

impl Options {
    /// An extra `KEFU_*` setting (it wins over the test defaults).
    pub fn env(mut self, key: &str, value: &str) -> Options {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn envs(self, env: &[(&str, &str)]) -> Options {
        env.iter().fold(self, |o, (k, v)| o.env(k, v))
    }

    /// Runs the server under `ulimit -n fd_limit`.
    pub fn fd_limit(mut self, fd_limit: u32) -> Options {
        self.fd_limit = Some(fd_limit);
        self
    }

    /// Extra arguments after `serve` (`--config FILE`, `--knowledge DIR`).
    pub fn args(mut self, args: &[&str]) -> Options {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Keeps the default per-address and per-shopper limits (the tests lift them otherwise).
    pub fn shared_limits(mut self) -> Options {
        self.shared_limits = true;
        self
    }

    /// Starts the server; returns once it listens.
    pub fn start(self) -> Kefu {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = self.db.with_file_name(format!("kefu-{port}.log"));
        let mut cmd = match self.fd_limit {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" serve \"$@\""))
                    .arg(env!("CARGO_BIN_EXE_kefu"))
                    .args(&self.args);
                c
            }
            None => {
                let mut c = Command::new(env!("CARGO_BIN_EXE_kefu"));
                c.arg("serve").args(&self.args);
                c
            }
        };
        cmd.current_dir(root())
            .env("KEFU_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEFU_DATABASE", &self.db)
            .env("KEFU_FIXED_TIME", NOW)
            .env("KEFU_TOKEN_SECRET", SECRET)
            .env("KEFU_MODEL_STORE", self.db.with_file_name("models"))
            .env("KEFU_LOG", "warn");
        if !self.shared_limits {
            let lifted = "100000";
            cmd.env("KEFU_ADDRESS_CONVERSATIONS_PER_MINUTE", lifted)
                .env("KEFU_ADDRESS_MESSAGES_PER_MINUTE", lifted)
                .env("KEFU_SHOPPER_CONVERSATIONS_PER_MINUTE", lifted)
                .env("KEFU_SHOPPER_MESSAGES_PER_MINUTE", lifted);
        }
        let child = cmd
            .envs(self.env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))))
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(std::fs::File::options().append(true).open(&log).unwrap()))
            .spawn()
            .expect("kefu starts");
        let kefu = Kefu { child, addr: format!("127.0.0.1:{port}").parse().unwrap(), log, _dir: self.dir };
        kefu.wait_log("listening on", Duration::from_secs(120));
        kefu
    }
}

impl Kefu {
    /// `kefu serve` on a free port with the database `db`, the shipped knowledge base and
    /// model, a fixed clock, the shopper token secret, the model store `db`'s folder/models and
    /// the shared limits lifted; changed by the [`Options`] before [`Options::start`].
    pub fn on(db: &Path) -> Options {
        Options {
            db: db.to_path_buf(),
            dir: None,
            env: Vec::new(),
            fd_limit: None,
            shared_limits: false,
            args: Vec::new(),
        }
    }

    /// [`Kefu::on`] a fresh database in a temporary folder that lives as long as the server.
    pub fn fresh() -> Options {
        let dir = tempfile::tempdir().unwrap();
        Kefu::on(&dir.path().join("kefu.db")).owning(dir)
    }

    /// A node on the PostgreSQL database `url` (`KEFU_DATABASE=postgres://…`): its log and its
    /// model store in a temporary folder of its own that lives as long as the server, so several
    /// nodes on one database each have their own.
    pub fn postgres(url: &str) -> Options {
        Kefu::fresh().env("KEFU_DATABASE", url)
    }

    /// Starts `kefu serve` on `db` with the extra `KEFU_*` settings `env`; returns once it listens.
    pub fn start(db: &Path, env: &[(&str, &str)]) -> Kefu {
        Kefu::on(db).envs(env).start()
    }

    /// What the server wrote to standard output and error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for `text` in the log (panics with the log after `limit`).
    pub fn wait_log(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.log().contains(text) {
            assert!(Instant::now() < deadline, "no {text:?} in the log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// `GET /healthz`: its status (0 when the connection fails).
    pub async fn healthz(&self) -> u16 {
        super::http::http(self.addr, "GET", "/healthz", None, None).await.map_or(0, |a| a.status)
    }

    /// SIGKILL, and waits for the process to end.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The server's resident memory (VmRSS), in MB.
    pub fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status");
        kb / 1024.0
    }
}

impl Options {
    fn owning(mut self, dir: tempfile::TempDir) -> Options {
        self.dir = Some(dir);
        self
    }
}

impl Drop for Kefu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `kefu ARGS…` command to run in the repository (see [`Cli::run`]).
pub struct Cli {
    cmd: Command,
    stdin: String,
}

impl Cli {
    /// `kefu ARGS…` in the repository, with none of the test's own `KEFU_*` settings and a
    /// quiet log.
    pub fn new(args: &[&str]) -> Cli {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kefu"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("KEFU_") {
                cmd.env_remove(key);
            }
        }
        cmd.args(args).current_dir(root()).env("KEFU_LOG", "warn");
        Cli { cmd, stdin: String::new() }
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Cli {
        self.cmd.env(key, value);
        self
    }

    /// Runs in `dir` instead of the repository.
    pub fn current_dir(mut self, dir: &Path) -> Cli {
        self.cmd.current_dir(dir);
        self
    }

    /// What the command reads on its standard input.
    pub fn stdin(mut self, text: &str) -> Cli {
        self.stdin = text.into();
        self
    }

    pub fn run(mut self) -> Output {
        let mut child =
            self.cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(self.stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

/// Runs `kefu ARGS…` against the database `db`, with `stdin` as its standard input.
pub fn cli(db: &Path, args: &[&str], stdin: &str) -> Output {
    Cli::new(args).env("KEFU_DATABASE", db).stdin(stdin).run()
}

/// Runs `kefu ARGS…` as [`cli`] does and expects success: its standard output.
pub fn cli_ok(db: &Path, args: &[&str], stdin: &str) -> String {
    let out = cli(db, args, stdin);
    assert!(out.status.success(), "kefu {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `kefu user add NAME --role ROLE` with `password`.
pub fn add_user(db: &Path, name: &str, role: &str, password: &str) {
    cli_ok(db, &["user", "add", name, "--role", role], &format!("{password}\n"));
}

/// The reference store (`examples/store`, docs/store-api.yaml over the demo data) as a process
/// on a free port, killed when dropped.
pub struct RefStore {
    pub child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl RefStore {
    /// Starts it (with `STORE_API_KEY` = `api_key`); returns once it listens. The example is
    /// built by `cargo test`; a test run alone (`--test …`) builds it first when missing.
    pub fn start(api_key: &str) -> RefStore {
        let exe = Self::exe();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("store.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&exe)
            .arg(format!("127.0.0.1:{port}"))
            .arg(root().join("knowledge"))
            .env("STORE_API_KEY", api_key)
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(std::fs::File::options().append(true).open(&log).unwrap()))
            .spawn()
            .expect("the reference store starts");
        let store = RefStore { child, addr: format!("127.0.0.1:{port}").parse().unwrap(), log, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !std::fs::read_to_string(&store.log).unwrap_or_default().contains("listening on") {
            assert!(Instant::now() < deadline, "the reference store did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        store
    }

    /// `target/<profile>/examples/store`, beside this test's `deps/` folder, built (once per
    /// test binary) so that a test run alone (`--test …`) never runs a stale one.
    fn exe() -> PathBuf {
        static BUILT: std::sync::Once = std::sync::Once::new();
        let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
        let profile_dir = deps.parent().unwrap().to_path_buf();
        let exe = profile_dir.join("examples").join("store");
        BUILT.call_once(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "--example", "store"]).current_dir(root());
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            // (a tree that does not build at this moment still runs the store built before)
            let ok = cmd.status().is_ok_and(|s| s.success());
            if !ok {
                eprintln!("cargo build --example store failed; using the one built before");
            }
        });
        assert!(exe.exists(), "build the reference store: cargo build --example store");
        exe
    }

    /// The API's base URL, for `KEFU_ORDERS_URL`.
    pub fn url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }
}

impl Drop for RefStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
