//! The `kefu` binary as a separate process, as an operator runs it: `kefu serve` on 127.0.0.1
//! (its memory read from /proc), `kefu user …` against the same database, and plain HTTP/1.1
//! requests to it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::server::{NOW, SECRET};

/// A running `kefu serve`, killed (SIGKILL) when dropped.
pub struct Kefu {
    child: Child,
    pub addr: SocketAddr,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Kefu {
    /// Starts `kefu serve` on a free port with the database `db`, the shipped knowledge base and
    /// model, and the extra `KEFU_*` settings `env`; returns once it listens.
    pub fn start(db: &Path, env: &[(&str, &str)]) -> Kefu {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
            .arg("serve")
            .current_dir(root())
            .env("KEFU_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEFU_DATABASE", db)
            .env("KEFU_FIXED_TIME", NOW)
            .env("KEFU_TOKEN_SECRET", SECRET)
            .env("KEFU_MODEL_STORE", db.with_file_name("models"))
            .env("KEFU_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("kefu starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.contains("listening"))
            .expect("kefu prints its address");
        std::thread::spawn(move || lines.for_each(drop));
        Kefu { child, addr: format!("127.0.0.1:{port}").parse().unwrap() }
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

impl Drop for Kefu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `kefu ARGS…` against the database `db`, with `stdin` as its standard input.
pub fn cli(db: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .current_dir(root())
        .env("KEFU_DATABASE", db)
        .env("KEFU_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
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

/// An HTTP answer: status, headers (names lower-case) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on its own connection (`Connection: close`), with an optional Bearer
/// token and JSON body. An I/O error is the server refusing or cutting the connection.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<Answer> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let body = body.unwrap_or("");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body.as_bytes()).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or(std::io::ErrorKind::UnexpectedEof)?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Answer { status, headers, body: body.to_string() })
}

/// `POST /api/login` (a future that owns its body, so it can be spawned): the answer, or the
/// I/O error when the server cut the connection.
pub fn login(
    addr: SocketAddr,
    name: &str,
    password: &str,
) -> impl std::future::Future<Output = std::io::Result<Answer>> + Send + 'static {
    let body = serde_json::json!({"name": name, "password": password}).to_string();
    async move { http(addr, "POST", "/api/login", None, Some(&body)).await }
}
