//! Load generator: N concurrent virtual shoppers (tokio-tungstenite clients) against kefu and, in
//! the same run, against a plain tokio-tungstenite echo server driven the same way, so the
//! headline numbers are ratios (kefu / echo) that survive a noisy shared machine.
//!
//! ```text
//! cargo bench --bench load                                  # 1,000 shoppers, 1 s think time
//! cargo bench --bench load -- --shoppers 1000 --think-ms 0  # saturation
//! cargo bench --bench load -- --idle 10000                  # idle connections and memory
//! cargo bench --bench load -- --cluster                      # issue 19: SQLite, PostgreSQL, 2 nodes
//! ```
//!
//! `--cluster` (issue 19) drives, in one run, echo, 1 kefu node on SQLite, 1 node on PostgreSQL
//! and 2 nodes on one PostgreSQL database (the shoppers alternate between the nodes), then
//! measures the relay of a shopper's message to an agent: shopper on node A, agent on node B
//! (and, for reference, both on A). PostgreSQL comes from `KEFU_TEST_POSTGRES` (`scripts/postgres`
//! prints it), a fresh database per configuration; without it the PostgreSQL parts are skipped.
//!
//! Each server runs as its own process (kefu: the `kefu serve` binary with a scratch database; the
//! echo server: this binary re-run with `--serve-echo`), so its memory can be read from /proc.
//! Every shopper connects (spread over the ramp) and says `hello`; when the ramp is over all of
//! them send messages drawn from
//! `benches/data/load_mix.toml`, waiting for the reply (for kefu: the first `reply` after the
//! message's `ack`) and a think time before the next. The report goes to stdout and, as JSON, to
//! `--out`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "load-test-secret";
const NOW: &str = "2026-11-25T09:00:00+08:00";

#[derive(Parser, Debug, Clone, Serialize)]
#[command(about = "kefu load generator: kefu vs a plain WebSocket echo server")]
struct Args {
    /// Concurrent shoppers per server.
    #[arg(long, default_value_t = 1000)]
    shoppers: usize,
    /// Messages each shopper sends.
    #[arg(long, default_value_t = 10)]
    messages: usize,
    /// Mean think time between a reply and the shopper's next message, in ms (drawn uniformly
    /// from 0.5x to 1.5x); 0 sends the next message as soon as the reply arrives.
    #[arg(long, default_value_t = 1000)]
    think_ms: u64,
    /// All shoppers connect within this many ms.
    #[arg(long, default_value_t = 5000)]
    ramp_ms: u64,
    /// Hold this many idle connections (hello only) and measure the server's memory instead.
    #[arg(long)]
    idle: Option<usize>,
    /// How long idle connections are held before memory is read and each is pinged, in seconds.
    #[arg(long, default_value_t = 5)]
    hold_secs: u64,
    /// The message mix.
    #[arg(long, default_value = "benches/data/load_mix.toml")]
    mix: PathBuf,
    /// Where the JSON report goes.
    #[arg(long, default_value = "target/load-report.json")]
    out: PathBuf,
    /// Which servers to drive: both, kefu or echo.
    #[arg(long, default_value = "both")]
    target: String,
    /// A message with no reply within this many ms counts as an error (and ends that shopper).
    #[arg(long, default_value_t = 15000)]
    timeout_ms: u64,
    /// Seed for the shoppers' choices.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Internal: run as the echo server and print its port.
    #[arg(long, hide = true)]
    #[serde(skip)]
    serve_echo: bool,
    /// Issue 19: echo, 1 node on SQLite, 1 on PostgreSQL, 2 on one PostgreSQL, and the
    /// cross-node relay latency (PostgreSQL from `KEFU_TEST_POSTGRES`, else skipped).
    #[arg(long)]
    cluster: bool,
    /// `--cluster`: shopper messages relayed to the agent, one at a time.
    #[arg(long, default_value_t = 200)]
    relay_messages: usize,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    #[serde(skip)]
    bench: bool,
}

#[derive(Deserialize)]
struct Mix {
    kind: Vec<Kind>,
}

#[derive(Deserialize)]
struct Kind {
    #[allow(dead_code)] // names the kind in the file
    name: String,
    weight: u32,
    zh: Vec<String>,
    en: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    server: String,
    mode: String,
    shoppers: usize,
    connections_held: usize,
    messages_sent: usize,
    replies: usize,
    errors: usize,
    error_kinds: HashMap<String, usize>,
    seconds: f64,
    replies_per_sec: f64,
    latency_ms: Latency,
    server_rss_base_kb: u64,
    server_rss_kb: u64,
    server_rss_peak_kb: u64,
    /// Idle mode: (RSS − RSS before connecting) / connections held.
    rss_per_connection_kb: Option<f64>,
    /// kefu only: database commits and operations during the run (group commit).
    store_commits: Option<u64>,
    store_jobs: Option<u64>,
    /// kefu only: commits that took 20 ms or more (slow fsyncs).
    store_slow_commits: Option<u64>,
}

#[derive(Debug, Default, Serialize)]
struct Latency {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

#[derive(Debug, Serialize)]
struct Ratios {
    /// kefu replies/s ÷ echo replies/s.
    throughput: f64,
    /// kefu p99 ÷ echo p99.
    p99: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve_echo {
        return tokio::runtime::Runtime::new()?.block_on(serve_echo());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mix: Mix = toml::from_str(&std::fs::read_to_string(&args.mix)?)?;
    let orders = shopper_orders()?;
    if args.cluster {
        return cluster(&args, &mix, &orders).await;
    }
    let mut reports = Vec::new();
    let targets: Vec<&str> = match args.target.as_str() {
        "both" => vec!["echo", "kefu"],
        t @ ("kefu" | "echo") => vec![t],
        other => anyhow::bail!("--target must be both, kefu or echo, not {other:?}"),
    };
    for target in targets {
        let mut server = Server::start(target, None).await?;
        eprintln!("{target}: listening on {} (pid {})", server.addr, server.child.id());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let base = rss(server.child.id());
        let before = if target == "kefu" { store_counters(&server.metrics).await } else { None };
        let mut report = match args.idle {
            Some(n) => idle(&args, &server, n).await,
            None => chat(&args, std::slice::from_ref(&server), &mix, &orders).await,
        };
        report.server_rss_base_kb = base.0;
        if args.idle.is_some() && report.connections_held > 0 {
            report.rss_per_connection_kb =
                Some((report.server_rss_kb.saturating_sub(base.0)) as f64 / report.connections_held as f64);
        }
        if let (Some(b), Some(a)) = (before, store_counters(&server.metrics).await) {
            report.store_commits = Some(a.0 - b.0);
            report.store_jobs = Some(a.1 - b.1);
            report.store_slow_commits = Some(a.2 - b.2);
        }
        report.server_rss_peak_kb = rss(server.child.id()).1.max(report.server_rss_kb);
        server.stop();
        print_report(&report);
        reports.push(report);
    }
    let ratios =
        match (reports.iter().find(|r| r.server == "kefu"), reports.iter().find(|r| r.server == "echo")) {
            (Some(k), Some(e)) if args.idle.is_none() => Some(Ratios {
                throughput: k.replies_per_sec / e.replies_per_sec.max(f64::MIN_POSITIVE),
                p99: k.latency_ms.p99 / e.latency_ms.p99.max(f64::MIN_POSITIVE),
            }),
            _ => None,
        };
    if let Some(r) = &ratios {
        println!("kefu / echo: throughput {:.3}, p99 latency {:.2}x", r.throughput, r.p99);
    }
    let json = serde_json::json!({ "args": args, "reports": reports, "ratios": ratios,
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) } });
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)?;
    println!("report written to {}", args.out.display());
    Ok(())
}

fn print_report(r: &Report) {
    println!(
        "{:>4} {:<5} shoppers {:>6}  held {:>6}  sent {:>7}  replies {:>7}  errors {:>4}  {:>8.1} replies/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms  rss {} KB (peak {} KB, base {} KB){}{}",
        r.server,
        r.mode,
        r.shoppers,
        r.connections_held,
        r.messages_sent,
        r.replies,
        r.errors,
        r.replies_per_sec,
        r.latency_ms.p50,
        r.latency_ms.p95,
        r.latency_ms.p99,
        r.latency_ms.max,
        r.server_rss_kb,
        r.server_rss_peak_kb,
        r.server_rss_base_kb,
        r.rss_per_connection_kb.map(|k| format!("  {k:.1} KB/connection")).unwrap_or_default(),
        match (r.store_commits, r.store_jobs) {
            (Some(c), Some(j)) if c > 0 => format!(
                "  store: {j} ops in {c} commits ({:.1}/commit, {} took ≥ 20 ms)",
                j as f64 / c as f64,
                r.store_slow_commits.unwrap_or(0)
            ),
            _ => String::new(),
        }
    );
    if !r.error_kinds.is_empty() {
        println!("     errors by kind: {:?}", r.error_kinds);
    }
}

/// Demo shoppers and their order numbers (for order questions), plus every order number.
struct Orders {
    by_shopper: Vec<(String, Vec<String>)>,
    all: Vec<String>,
}

fn shopper_orders() -> anyhow::Result<Orders> {
    let orders: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string("knowledge/demo/orders.json")?)?;
    let mut map: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut all = Vec::new();
    for o in &orders {
        let (Some(no), Some(s)) = (o["order_no"].as_str(), o["shopper_id"].as_str()) else { continue };
        map.entry(s.to_string()).or_default().push(no.to_string());
        all.push(no.to_string());
    }
    Ok(Orders { by_shopper: map.into_iter().collect(), all })
}

struct Server {
    kefu: bool,
    child: Child,
    addr: String,
    /// kefu's `metrics_listen` address (the echo server has none).
    metrics: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts echo or a kefu node: on a scratch SQLite file, or on `database` (a `postgres://`
    /// URL) when given.
    async fn start(target: &str, database: Option<&str>) -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let database = database.map_or_else(|| dir.path().join("kefu.db").into_os_string(), Into::into);
        let metrics = format!("127.0.0.1:{}", free_port()?);
        let mut cmd = if target == "kefu" {
            let port = free_port()?;
            let mut c = Command::new(env!("CARGO_BIN_EXE_kefu"));
            c.arg("serve")
                .env("KEFU_LISTEN", format!("127.0.0.1:{port}"))
                .env("KEFU_DATABASE", &database)
                .env("KEFU_MODEL_STORE", dir.path().join("models"))
                .env("KEFU_TOKEN_SECRET", SECRET)
                .env("KEFU_FIXED_TIME", NOW)
                // a load test sends faster than a person types: lift the per-shopper limit
                .env("KEFU_MESSAGES_PER_MINUTE", "100000")
                .env("KEFU_ADDRESS_CONVERSATIONS_PER_MINUTE", "100000")
                .env("KEFU_ADDRESS_MESSAGES_PER_MINUTE", "100000")
                .env("KEFU_SHOPPER_CONVERSATIONS_PER_MINUTE", "100000")
                .env("KEFU_SHOPPER_MESSAGES_PER_MINUTE", "100000")
                .env("KEFU_MAX_CONNECTIONS_PER_ADDRESS", "100000")
                .env("KEFU_IDLE_TIMEOUT_SECS", "3600")
                .env("KEFU_METRICS_LISTEN", &metrics)
                .env("KEFU_LOG", "warn");
            c
        } else {
            let mut c = Command::new(std::env::current_exe()?);
            c.arg("--serve-echo");
            c
        };
        cmd.stdout(Stdio::piped()).stderr(Stdio::from(std::fs::File::create(dir.path().join("server.log"))?));
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let stdout = tokio::process::ChildStdout::from_std(stdout)?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
                .await
                .map_err(|_| anyhow::anyhow!("{target} did not start within 120 s"))??
                .ok_or_else(|| anyhow::anyhow!("{target} exited before listening"))?;
            if let Some(rest) = line.split("http://").nth(1) {
                break rest.split_whitespace().next().unwrap_or_default().to_string();
            }
        };
        // keep draining stdout so the server never blocks on a full pipe
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { kefu: target == "kefu", child, addr, metrics, _dir: dir })
    }

    fn url(&self) -> String {
        format!("ws://{}/ws/chat", self.addr)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// (VmRSS, VmHWM) of a process, in KB.
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// kefu's group-commit counters from `/metrics`: (commits, operations, commits ≥ 20 ms).
async fn store_counters(addr: &str) -> Option<(u64, u64, u64)> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await.ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).await.ok()?;
    let get = |name: &str| {
        body.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
    };
    Some((
        get("kefu_store_commits_total ")?,
        get("kefu_store_jobs_total ")?,
        get("kefu_store_slow_commits_total ")?,
    ))
}

/// Client WebSocket settings: small buffers, so 10,000 clients fit beside the server.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(4096)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects and says hello; for kefu waits for `welcome`, for the echo server for the echo.
async fn open(url: &str, hello: &str, kefu: bool, timeout: Duration) -> Result<Ws, String> {
    let (mut ws, _) = tokio::time::timeout(
        timeout,
        tokio_tungstenite::connect_async_with_config(url, Some(client_config()), false),
    )
    .await
    .map_err(|_| "connect_timeout".to_string())?
    .map_err(|e| format!("connect: {}", short(&e.to_string())))?;
    ws.send(Message::text(hello)).await.map_err(|_| "send".to_string())?;
    loop {
        let frame =
            tokio::time::timeout(timeout, ws.next()).await.map_err(|_| "hello_timeout".to_string())?;
        match frame {
            Some(Ok(Message::Text(t))) => {
                if !kefu || t.contains("\"welcome\"") {
                    return Ok(ws);
                }
                if t.contains("\"error\"") {
                    return Err(format!("hello refused: {}", short(t.as_str())));
                }
            }
            Some(Ok(_)) => {}
            _ => return Err("closed".into()),
        }
    }
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

fn hello_frame(i: usize, orders: &Orders) -> (String, Vec<String>, bool) {
    let zh = i % 5 < 3;
    let lang = if zh { "zh" } else { "en" };
    // every other shopper is logged in (a signed token); the rest are guests
    if i.is_multiple_of(2) && !orders.by_shopper.is_empty() {
        let (sid, own) = &orders.by_shopper[(i / 2) % orders.by_shopper.len()];
        let claims = kefu::identity::Claims { sub: sid.clone(), exp: a_day_from_now() };
        let token = kefu::identity::sign(SECRET, &claims);
        let hello = serde_json::json!({ "type": "hello", "token": token, "lang": lang }).to_string();
        (hello, own.clone(), zh)
    } else {
        (serde_json::json!({ "type": "hello", "lang": lang }).to_string(), orders.all.clone(), zh)
    }
}

fn a_day_from_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + 24 * 3600
}

fn plan(mix: &Mix, rng: &mut ChaCha8Rng, zh: bool, orders: &[String], n: usize) -> Vec<String> {
    let total: u32 = mix.kind.iter().map(|k| k.weight).sum();
    (0..n)
        .map(|_| {
            let mut pick = rng.random_range(0..total.max(1));
            let kind = mix
                .kind
                .iter()
                .find(|k| {
                    if pick < k.weight {
                        true
                    } else {
                        pick -= k.weight;
                        false
                    }
                })
                .unwrap_or(&mix.kind[0]);
            let pool = if zh { &kind.zh } else { &kind.en };
            let text = &pool[rng.random_range(0..pool.len())];
            if orders.is_empty() {
                text.clone()
            } else {
                text.replace("{order}", &orders[rng.random_range(0..orders.len())])
            }
        })
        .collect()
}

#[derive(Default)]
struct ShopperResult {
    held: bool,
    sent: usize,
    latencies_us: Vec<u64>,
    first_send: Option<Instant>,
    last_reply: Option<Instant>,
    error: Option<String>,
}

/// Drives the shoppers against `servers` (several nodes: shopper i talks to node i mod n).
async fn chat(args: &Args, servers: &[Server], mix: &Mix, orders: &Orders) -> Report {
    let kefu = servers[0].kefu;
    let urls: Vec<Arc<String>> = servers.iter().map(|s| Arc::new(s.url())).collect();
    let rss_all = || servers.iter().map(|s| rss(s.child.id()).0).sum::<u64>();
    let timeout = Duration::from_millis(args.timeout_ms);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.shoppers);
    for i in 0..args.shoppers {
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let (hello, own, zh) = hello_frame(i, orders);
        let texts = plan(mix, &mut rng, zh, &own, args.messages);
        let url = urls[i % urls.len()].clone();
        let offset = Duration::from_millis(args.ramp_ms * i as u64 / args.shoppers.max(1) as u64);
        let think = args.think_ms;
        let ramp = Duration::from_millis(args.ramp_ms);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until((start + offset).into()).await;
            let mut r = ShopperResult::default();
            let mut ws = match open(&url, &hello, kefu, timeout).await {
                Ok(ws) => ws,
                Err(e) => {
                    r.error = Some(e);
                    return r;
                }
            };
            r.held = true;
            // everyone talks once the ramp is over, so all shoppers are active together
            tokio::time::sleep_until((start + ramp).into()).await;
            for (k, text) in texts.iter().enumerate() {
                if think > 0 {
                    let ms = rng.random_range(think / 2..=think + think / 2);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                let id = format!("m{k}");
                let frame = serde_json::json!({ "type": "message", "id": id, "text": text }).to_string();
                let t0 = Instant::now();
                r.first_send.get_or_insert(t0);
                if ws.send(Message::text(frame)).await.is_err() {
                    r.error = Some("send".into());
                    r.held = false;
                    return r;
                }
                r.sent += 1;
                match wait_reply(&mut ws, &id, kefu, timeout).await {
                    Ok(()) => {
                        let now = Instant::now();
                        r.latencies_us.push((now - t0).as_micros() as u64);
                        r.last_reply = Some(now);
                    }
                    Err(e) => {
                        r.held = e != "closed";
                        r.error = Some(e);
                        return r;
                    }
                }
            }
            let _ = ws.close(None).await;
            r
        }));
    }
    let mut report = Report {
        server: if kefu { "kefu" } else { "echo" }.into(),
        mode: "chat".into(),
        shoppers: args.shoppers,
        ..Report::default()
    };
    let mut all = Vec::new();
    let (mut first, mut last): (Option<Instant>, Option<Instant>) = (None, None);
    let mut peak = 0;
    for t in tasks {
        let r = t.await.unwrap_or_default();
        peak = peak.max(rss_all());
        report.connections_held += r.held as usize;
        report.messages_sent += r.sent;
        report.replies += r.latencies_us.len();
        if let Some(e) = r.error {
            report.errors += 1;
            *report.error_kinds.entry(e).or_default() += 1;
        }
        all.extend(r.latencies_us);
        first = match (first, r.first_send) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last = match (last, r.last_reply) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    report.server_rss_kb = peak.max(rss_all());
    report.seconds = match (first, last) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => 0.0,
    };
    report.replies_per_sec = report.replies as f64 / report.seconds.max(1e-9);
    report.latency_ms = latency(&mut all);
    report
}

/// Reads frames until the reply to message `id` (kefu: the first `reply` after its `ack`).
async fn wait_reply(ws: &mut Ws, id: &str, kefu: bool, timeout: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut acked = !kefu;
    loop {
        let frame =
            tokio::time::timeout_at(deadline, ws.next()).await.map_err(|_| "reply_timeout".to_string())?;
        let text = match frame {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            _ => return Err("closed".into()),
        };
        if !kefu {
            return Ok(());
        }
        let v: serde_json::Value = serde_json::from_str(text.as_str()).map_err(|_| "bad_json".to_string())?;
        match v["type"].as_str() {
            Some("ack") if v["id"] == id => acked = true,
            Some("reply") if acked => return Ok(()),
            Some("error") => return Err(format!("error:{}", v["code"].as_str().unwrap_or("?"))),
            _ => {}
        }
    }
}

fn latency(us: &mut [u64]) -> Latency {
    if us.is_empty() {
        return Latency::default();
    }
    us.sort_unstable();
    let at = |q: f64| us[((us.len() as f64 * q).ceil() as usize).clamp(1, us.len()) - 1] as f64 / 1000.0;
    Latency {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: *us.last().unwrap() as f64 / 1000.0,
        mean: us.iter().sum::<u64>() as f64 / us.len() as f64 / 1000.0,
    }
}

/// Opens `n` connections (hello each), holds them, reads the server's memory, then pings every
/// connection and counts those that answer.
async fn idle(args: &Args, server: &Server, n: usize) -> Report {
    let kefu = server.kefu;
    let url = server.url();
    let timeout = Duration::from_millis(args.timeout_ms);
    let start = Instant::now();
    let mut report = Report {
        server: if kefu { "kefu" } else { "echo" }.into(),
        mode: "idle".into(),
        shoppers: n,
        ..Report::default()
    };
    let hello = serde_json::json!({ "type": "hello", "lang": "zh" }).to_string();
    // open in waves of 200 concurrent handshakes, spread over the ramp
    let mut conns = Vec::with_capacity(n);
    let mut opened = 0;
    while opened < n {
        let wave = (n - opened).min(200);
        let offset = Duration::from_millis(args.ramp_ms * opened as u64 / n.max(1) as u64);
        tokio::time::sleep_until((start + offset).into()).await;
        let results =
            futures_util::future::join_all((0..wave).map(|_| open(&url, &hello, kefu, timeout))).await;
        for r in results {
            match r {
                Ok(ws) => conns.push(ws),
                Err(e) => {
                    report.errors += 1;
                    *report.error_kinds.entry(e).or_default() += 1;
                }
            }
        }
        opened += wave;
    }
    eprintln!(
        "{}: {} connections open after {:.1} s; holding {} s",
        report.server,
        conns.len(),
        start.elapsed().as_secs_f64(),
        args.hold_secs
    );
    tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    report.server_rss_kb = rss(server.child.id()).0;
    // every connection still answers a ping
    let pinged = futures_util::future::join_all(conns.iter_mut().map(|ws| async move {
        if ws.send(Message::Ping(Default::default())).await.is_err() {
            return false;
        }
        loop {
            match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                Ok(Some(Ok(Message::Pong(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
                _ => return false,
            }
        }
    }))
    .await;
    report.connections_held = pinged.iter().filter(|ok| **ok).count();
    report.seconds = start.elapsed().as_secs_f64();
    for ws in conns.iter_mut() {
        let _ = ws.close(None).await;
    }
    report
}

/// The baseline: a plain tokio-tungstenite server that echoes every text frame, with the same
/// socket buffer settings as kefu.
async fn serve_echo() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("echo listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let config = WebSocketConfig::default()
                .read_buffer_size(4096)
                .write_buffer_size(4096)
                .max_message_size(Some(64 * 1024));
            let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
                return;
            };
            while let Some(Ok(m)) = ws.next().await {
                if m.is_text() && ws.send(m).await.is_err() {
                    break;
                }
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// issue 19: several nodes on one PostgreSQL

/// The cross-node relay: latency from a shopper's message being sent to the agent receiving it.
#[derive(Debug, Serialize)]
struct Relay {
    path: String,
    messages: usize,
    latency_ms: Latency,
}

/// `--cluster`: echo, 1 node on SQLite, 1 node on PostgreSQL, 2 nodes on one PostgreSQL (each
/// PostgreSQL configuration on a fresh database), then the relay shopper → agent.
async fn cluster(args: &Args, mix: &Mix, orders: &Orders) -> anyhow::Result<()> {
    let mut reports = Vec::new();
    let mut relays = Vec::new();
    let run = |label: &str, servers: Vec<Server>| {
        let label = label.to_string();
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut report = chat(args, &servers, mix, orders).await;
            report.server = label;
            report.server_rss_peak_kb = servers.iter().map(|s| rss(s.child.id()).1).sum::<u64>();
            drop(servers);
            print_report(&report);
            report
        }
    };
    reports.push(run("echo", vec![Server::start("echo", None).await?]).await);
    reports.push(run("sqlite", vec![Server::start("kefu", None).await?]).await);
    let pg = std::env::var("KEFU_TEST_POSTGRES").ok().filter(|u| !u.is_empty());
    match pg {
        None => {
            eprintln!("skipped: the PostgreSQL parts (set KEFU_TEST_POSTGRES; scripts/postgres prints it)")
        }
        Some(server) => {
            let mut pg = Databases::connect(&server).await?;
            let one = pg.fresh("one").await?;
            reports.push(run("pg", vec![Server::start("kefu", Some(&one)).await?]).await);
            let two = pg.fresh("two").await?;
            let a = Server::start("kefu", Some(&two)).await?;
            let b = Server::start("kefu", Some(&two)).await?;
            reports.push(run("pg×2", vec![a, b]).await);
            let three = pg.fresh("relay").await?;
            let a = Server::start("kefu", Some(&three)).await?;
            let b = Server::start("kefu", Some(&three)).await?;
            add_agent(&three, "li")?;
            for (path, shopper_on, agent_on) in [
                ("shopper on A → agent on B", &a, &b),
                ("shopper on B → agent on A", &b, &a),
                ("shopper on A → agent on A", &a, &a),
            ] {
                let latency = relay(shopper_on, agent_on, "li", args.relay_messages).await?;
                println!(
                    "relay {path}: {} messages  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
                    args.relay_messages, latency.p50, latency.p95, latency.p99, latency.max
                );
                relays.push(Relay { path: path.into(), messages: args.relay_messages, latency_ms: latency });
            }
            drop((a, b));
            pg.drop_all().await;
        }
    }
    let json = serde_json::json!({ "args": args, "reports": reports, "relay": relays,
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) } });
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)?;
    println!("report written to {}", args.out.display());
    Ok(())
}

/// Fresh databases on the PostgreSQL server, dropped at the end.
struct Databases {
    admin: deadpool_postgres::tokio_postgres::Client,
    server: String,
    made: Vec<String>,
}

impl Databases {
    async fn connect(server: &str) -> anyhow::Result<Databases> {
        let (admin, connection) =
            deadpool_postgres::tokio_postgres::connect(server, deadpool_postgres::tokio_postgres::NoTls)
                .await?;
        tokio::spawn(connection);
        Ok(Databases { admin, server: server.to_string(), made: Vec::new() })
    }

    /// A fresh database: its URL.
    async fn fresh(&mut self, name: &str) -> anyhow::Result<String> {
        let db = format!("kefu_bench_{name}_{}", std::process::id());
        self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await?;
        self.admin.batch_execute(&format!("CREATE DATABASE {db}")).await?;
        self.made.push(db.clone());
        // the same server, this database: replace the URL's path
        let (base, query) =
            self.server.split_once('?').map_or((self.server.as_str(), None), |(b, q)| (b, Some(q)));
        let root = base.trim_end_matches('/');
        let host_end = root.find("://").map_or(0, |i| i + 3);
        let root = root[host_end..].find('/').map_or(root, |slash| &root[..host_end + slash]);
        Ok(format!("{root}/{db}{}", query.map(|q| format!("?{q}")).unwrap_or_default()))
    }

    async fn drop_all(self) {
        for db in &self.made {
            let _ = self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await;
        }
    }
}

const AGENT_PASSWORD: &str = "load-agent-password";

/// `kefu user add NAME --role agent` on `database`.
fn add_agent(database: &str, name: &str) -> anyhow::Result<()> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["user", "add", name, "--role", "agent"])
        .env("KEFU_DATABASE", database)
        .env("KEFU_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    std::io::Write::write_all(
        &mut child.stdin.take().expect("piped"),
        format!("{AGENT_PASSWORD}\n").as_bytes(),
    )?;
    anyhow::ensure!(child.wait()?.success(), "kefu user add {name} failed");
    Ok(())
}

/// A staff token from `POST /api/login` on `addr`.
async fn login(addr: &str, name: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({"name": name, "password": AGENT_PASSWORD}).to_string();
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body.as_bytes()).await?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).await?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(body)?;
    v["token"].as_str().map(str::to_string).ok_or_else(|| anyhow::anyhow!("login refused: {body}"))
}

/// The next text frame as JSON (an error after 15 s or when the connection ends).
async fn frame(ws: &mut Ws) -> anyhow::Result<serde_json::Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Ok(serde_json::from_str(t.as_str())?),
            Ok(Some(Ok(_))) => continue,
            Ok(_) => anyhow::bail!("the connection ended"),
            Err(_) => anyhow::bail!("no frame within 15 s"),
        }
    }
}

async fn until(ws: &mut Ws, pred: impl Fn(&serde_json::Value) -> bool) -> anyhow::Result<serde_json::Value> {
    loop {
        let v = frame(ws).await?;
        if pred(&v) {
            return Ok(v);
        }
    }
}

/// A shopper on `shopper_on` asks for a person; agent `name` on `agent_on` gets the
/// conversation; then `n` shopper messages, one at a time: from sending each to the agent
/// receiving it.
async fn relay(shopper_on: &Server, agent_on: &Server, name: &str, n: usize) -> anyhow::Result<Latency> {
    let token = login(&agent_on.addr, name).await?;
    let (mut agent, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws/agent", agent_on.addr)).await?;
    let hello = serde_json::json!({"type": "hello", "token": token, "capacity": 20, "langs": ["zh", "en"]});
    agent.send(Message::text(hello.to_string())).await?;
    until(&mut agent, |v| v["type"] == "welcome").await?;
    let timeout = Duration::from_secs(15);
    let hello = serde_json::json!({"type": "hello", "lang": "zh"}).to_string();
    let mut shopper = open(&shopper_on.url(), &hello, true, timeout).await.map_err(|e| anyhow::anyhow!(e))?;
    shopper
        .send(Message::text(
            serde_json::json!({"type": "message", "id": "esc", "text": "转人工"}).to_string(),
        ))
        .await?;
    until(&mut shopper, |v| v["type"] == "status" && v["state"] == "agent").await?;
    let assigned = until(&mut agent, |v| v["type"] == "assigned").await?;
    let conv = assigned["conversation_id"].clone();
    let mut us = Vec::with_capacity(n);
    for k in 0..n {
        let text = format!("relay {k}");
        let m = serde_json::json!({"type": "message", "id": format!("r{k}"), "text": text});
        let t0 = Instant::now();
        shopper.send(Message::text(m.to_string())).await?;
        until(&mut agent, |v| {
            v["type"] == "message" && v["conversation_id"] == conv && v["text"] == text.as_str()
        })
        .await?;
        us.push(t0.elapsed().as_micros() as u64);
        until(&mut shopper, |v| v["type"] == "ack" && v["id"] == format!("r{k}").as_str()).await?;
    }
    agent
        .send(Message::text(serde_json::json!({"type": "resolve", "conversation_id": conv}).to_string()))
        .await?;
    let _ = until(&mut agent, |v| v["type"] == "done").await;
    Ok(latency(&mut us))
}
