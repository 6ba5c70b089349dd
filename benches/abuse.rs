//! What the attacks of issue 15 cost the server now: descriptors and memory under idle-socket
//! floods, memory under login floods, rows made by hello-only connections, and how many password
//! checks a burst of wrong guesses gets. A benchmark, not a test: it prints numbers (and writes
//! them to `--out` as JSON) for docs/benchmarks.md; the pass/fail checks of the same attacks are
//! in tests/security_*.rs.
//!
//! ```text
//! cargo bench --bench abuse                       # every attack
//! cargo bench --bench abuse -- --sockets 20000    # a bigger socket flood
//! ```
//!
//! kefu runs as a child process (`kefu serve`, scratch database, its defaults: every limit as a
//! store would run it), so its memory and descriptors are read from /proc.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug)]
#[command(about = "kefu under the attacks of issue 15: descriptors, memory, rows, checks")]
struct Args {
    /// Idle sockets the flood opens (the bench raises its own descriptor limit for them).
    #[arg(long, default_value_t = 20_000)]
    sockets: usize,
    /// Concurrent logins with unknown names.
    #[arg(long, default_value_t = 200)]
    logins: usize,
    /// Concurrent logins with 1.5 MB names.
    #[arg(long, default_value_t = 400)]
    big_logins: usize,
    /// Hello-only WebSocket connections from one address.
    #[arg(long, default_value_t = 1000)]
    hellos: usize,
    /// Concurrent wrong passwords for one account (then the right one).
    #[arg(long, default_value_t = 60)]
    guesses: usize,
    /// Where the JSON report goes.
    #[arg(long, default_value = "target/abuse-report.json")]
    out: PathBuf,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

const PASSWORD: &str = "boss-password-1";

struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("kefu.db");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        // an account to guess at, made by the real CLI
        let mut add = Command::new(env!("CARGO_BIN_EXE_kefu"))
            .args(["user", "add", "boss", "--role", "admin"])
            .env("KEFU_DATABASE", &db)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        std::io::Write::write_all(&mut add.stdin.take().expect("piped"), format!("{PASSWORD}\n").as_bytes())?;
        anyhow::ensure!(add.wait()?.success(), "kefu user add failed");
        let child = Command::new(env!("CARGO_BIN_EXE_kefu"))
            .arg("serve")
            .env("KEFU_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEFU_DATABASE", &db)
            .env("KEFU_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.path().join("server.log"))?))
            .spawn()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(addr).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "kefu did not start within 120 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Server { child, addr, _dir: dir })
    }

    /// (VmRSS, VmHWM) in MB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb = |name: &str| -> f64 {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                .unwrap_or(0.0)
        };
        (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
    }

    /// Open descriptors.
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map(|d| d.count()).unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect_from(from: IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(from, 0))?;
    s.connect(addr).await
}

/// One HTTP request on a fresh connection from `from`: the status code (0 when none came).
async fn request(from: IpAddr, addr: SocketAddr, method: &str, path: &str, body: &str) -> u16 {
    let Ok(mut tcp) = connect_from(from, addr).await else { return 0 };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if tcp.write_all(head.as_bytes()).await.is_err() || tcp.write_all(body.as_bytes()).await.is_err() {
        return 0;
    }
    let mut text = Vec::new();
    match tokio::time::timeout(Duration::from_secs(60), tcp.read_to_end(&mut text)).await {
        Ok(Ok(_)) => {
            String::from_utf8_lossy(&text).split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
        }
        _ => 0,
    }
}

/// Counts of each status code.
fn tally(codes: &[u16]) -> std::collections::BTreeMap<u16, usize> {
    let mut m = std::collections::BTreeMap::new();
    for c in codes {
        *m.entry(*c).or_insert(0) += 1;
    }
    m
}

#[derive(Serialize, Default, Debug)]
struct Report {
    fd_limit: u64,
    /// The socket flood from one address and from many.
    flood: Vec<Flood>,
    logins_unknown: Logins,
    logins_big_names: Logins,
    wrong_guesses: std::collections::BTreeMap<u16, usize>,
    right_password_after_burst: u16,
    hellos_welcomed: usize,
    hellos_limited: usize,
    hellos_failed: usize,
}

#[derive(Serialize, Default, Debug)]
struct Flood {
    addresses: usize,
    opened: usize,
    /// Still open half a second later: the ones the server admitted (the rest it closed at once).
    admitted: usize,
    server_fds_before: usize,
    server_fds_during: usize,
    server_fds_after: usize,
    rss_mb_during: f64,
    healthz_from_elsewhere: u16,
    healthz_ms: f64,
    closed_by_server_within_secs: f64,
}

#[derive(Serialize, Default, Debug)]
struct Logins {
    n: usize,
    rss_mb_before: f64,
    rss_mb_after: f64,
    rss_mb_peak: f64,
    statuses: std::collections::BTreeMap<u16, usize>,
}

fn raise_own_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        lim.rlim_cur
    }
}

async fn flood(server: &Server, sockets: usize, addresses: usize) -> Flood {
    let mut f = Flood { addresses, server_fds_before: server.fds(), ..Flood::default() };
    let mut held = Vec::with_capacity(sockets);
    for i in 0..sockets {
        let from = IpAddr::from([127, 1, (i % addresses / 250) as u8, (1 + i % addresses % 250) as u8]);
        if let Ok(s) = connect_from(from, server.addr).await {
            held.push(s);
        }
    }
    f.opened = held.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut admitted = Vec::with_capacity(held.len());
    for s in held {
        let mut buf = [0u8; 1];
        // a refused socket reads EOF at once; an admitted one has nothing to read
        match s.try_read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => admitted.push(s),
            _ => {}
        }
    }
    f.admitted = admitted.len();
    let held = admitted;
    f.server_fds_during = server.fds();
    f.rss_mb_during = server.memory().0;
    let t = Instant::now();
    f.healthz_from_elsewhere =
        request(IpAddr::from([127, 0, 0, 2]), server.addr, "GET", "/healthz", "").await;
    f.healthz_ms = t.elapsed().as_secs_f64() * 1e3;
    // how long until the server has closed them all (header timeout)
    let t = Instant::now();
    let waits = held.into_iter().map(|mut s| async move {
        let mut buf = [0u8; 64];
        let _ = tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf)).await;
    });
    futures_util::future::join_all(waits).await;
    f.closed_by_server_within_secs = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    f.server_fds_after = server.fds();
    f
}

async fn logins(server: &Server, n: usize, name_bytes: usize) -> Logins {
    let mut l = Logins { n, rss_mb_before: server.memory().0, ..Logins::default() };
    let tasks = (0..n).map(|i| {
        let name = if name_bytes > 0 { "x".repeat(name_bytes) } else { format!("nobody-{i}") };
        let body = serde_json::json!({"name": name, "password": "wrong-password"}).to_string();
        let addr = server.addr;
        async move {
            request(
                IpAddr::from([127, 2, (i / 250) as u8, (1 + i % 250) as u8]),
                addr,
                "POST",
                "/api/login",
                &body,
            )
            .await
        }
    });
    let codes = futures_util::future::join_all(tasks).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss, peak) = server.memory();
    l.rss_mb_after = rss;
    l.rss_mb_peak = peak;
    l.statuses = tally(&codes);
    l
}

async fn hellos(server: &Server, n: usize, r: &mut Report) {
    let url = format!("ws://{}/ws/chat", server.addr);
    let mut held = Vec::new();
    for _ in 0..n {
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&url).await else {
            r.hellos_failed += 1;
            continue;
        };
        let _ = ws.send(Message::Text(r#"{"type":"hello"}"#.into())).await;
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) if t.contains("welcome") => r.hellos_welcomed += 1,
            Ok(Some(Ok(Message::Text(t)))) if t.contains("rate_limited") => r.hellos_limited += 1,
            _ => r.hellos_failed += 1,
        }
        held.push(ws);
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let fd_limit = raise_own_fd_limit();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let mut r = Report { fd_limit, ..Report::default() };
        let server = Server::start()?;
        // keep some of our own descriptors for reading /proc and asking /healthz
        let sockets = args.sockets.min(fd_limit.saturating_sub(256) as usize);
        r.flood.push(flood(&server, sockets, 1).await);
        r.flood.push(flood(&server, sockets, 2000).await);
        r.logins_unknown = logins(&server, args.logins, 0).await;
        r.logins_big_names = logins(&server, args.big_logins, 1_500_000).await;
        // an attacker retries what was refused as busy (503), so every guess gets an answer
        let guess = |pw: &'static str| {
            let body = serde_json::json!({"name": "boss", "password": pw}).to_string();
            let addr = server.addr;
            async move {
                loop {
                    match request(IpAddr::from([127, 3, 0, 1]), addr, "POST", "/api/login", &body).await {
                        503 => tokio::time::sleep(Duration::from_millis(200)).await,
                        code => return code,
                    }
                }
            }
        };
        let burst = (0..args.guesses).map(|_| guess("not-the-password"));
        r.wrong_guesses = tally(&futures_util::future::join_all(burst).await);
        r.right_password_after_burst = guess(PASSWORD).await;
        hellos(&server, args.hellos, &mut r).await;
        print(&r);
        std::fs::write(&args.out, serde_json::to_string_pretty(&r)?)?;
        println!("\nreport: {}", args.out.display());
        anyhow::Ok(())
    })
}

fn print(r: &Report) {
    println!("descriptor limit (bench): {}", r.fd_limit);
    println!("| flood | admitted | server fds before / during / after | RSS during | /healthz from elsewhere | all closed by the server after |");
    println!("|---|---|---|---|---|---|");
    for f in &r.flood {
        println!(
            "| {} idle sockets from {} address(es) | {} | {} / {} / {} | {:.0} MB | {} in {:.1} ms | {:.1} s |",
            f.opened,
            f.addresses,
            f.admitted,
            f.server_fds_before,
            f.server_fds_during,
            f.server_fds_after,
            f.rss_mb_during,
            f.healthz_from_elsewhere,
            f.healthz_ms,
            f.closed_by_server_within_secs
        );
    }
    println!("\n| logins | RSS before → after (peak) | statuses |");
    println!("|---|---|---|");
    for (what, l) in [("unknown names", &r.logins_unknown), ("1.5 MB names", &r.logins_big_names)] {
        println!(
            "| {} with {what} | {:.0} → {:.0} MB ({:.0}) | {:?} |",
            l.n, l.rss_mb_before, l.rss_mb_after, l.rss_mb_peak, l.statuses
        );
    }
    println!(
        "\nwrong guesses, one burst, 503s retried: {:?}; the right password after it: {}",
        r.wrong_guesses, r.right_password_after_burst
    );
    println!(
        "hello-only connections from one address, held open: {} welcomed (conversations made), {} rate-limited, {} refused (connection limit)",
        r.hellos_welcomed, r.hellos_limited, r.hellos_failed
    );
}
