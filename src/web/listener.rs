//! The front door: accepting TCP connections and serving HTTP/1.1 (and WebSocket upgrades) on
//! them, within limits an unauthenticated client cannot push past.
//!
//! - **Headers in time.** hyper's `header_read_timeout` (with a tokio timer, without which hyper
//!   ignores it): a client must send a request's headers — the WebSocket upgrade request is the
//!   handshake — within `header_timeout_secs` of connecting or of its previous request on a
//!   kept-alive connection, or the connection is closed. A request body that stalls for
//!   [`BODY_TIMEOUT`] ends the request (tower-http's `RequestBodyTimeoutLayer`, in `routes`).
//!   A WebSocket that never says `hello` is the chat session's business
//!   (`hello_timeout_secs`).
//! - **Connections counted.** Every accepted connection holds a [`Seat`] from the
//!   [`Admission`] table until its socket closes — the seat travels inside the I/O object, so an
//!   upgraded WebSocket keeps it. Beyond `max_connections` in total or
//!   `max_connections_per_address` from one address (IPv6: one /64; a trusted proxy is exempt,
//!   its clients are told apart later by `X-Forwarded-For`), a new connection is closed at once
//!   and the refusal logged (at most once every few seconds, with the count).
//! - **Below the descriptor limit.** At start the soft `RLIMIT_NOFILE` is raised to the hard
//!   one, and `max_connections` lowered to leave [`fd_reserve`] descriptors for the database,
//!   model files and the refusals themselves, so a flood of sockets never starves the rest.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// A request body that sends nothing for this long ends its request.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Refusals are logged at most this often (with how many there were since).
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(5);

/// The key per-address limits count by: an IPv4 address, or an IPv6 address's /64 (one
/// household or phone usually has a whole /64); IPv4-mapped IPv6 counts as IPv4.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The client's address, for the per-address limits: the connection's peer, or — when the
/// peer is one of `trusted_proxies` — the last address in `X-Forwarded-For` that is not a
/// trusted proxy. (Without `ConnectInfo`, as in tests that call the router directly: the
/// unspecified address.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// Who the client is, from the peer address and the `X-Forwarded-For` values.
    pub fn resolve<'a>(
        peer: IpAddr,
        forwarded: impl Iterator<Item = &'a str>,
        trusted: &[IpAddr],
    ) -> ClientAddr {
        if !trusted.contains(&peer) {
            return ClientAddr(peer);
        }
        let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).map(str::trim).collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if trusted.contains(&ip) => continue,
                Ok(ip) => return ClientAddr(ip),
                Err(_) => break,
            }
        }
        ClientAddr(peer)
    }
}

impl axum::extract::FromRequestParts<Arc<super::AppState>> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &Arc<super::AppState>,
    ) -> Result<ClientAddr, Infallible> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied() else {
            return Ok(ClientAddr(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)));
        };
        let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        Ok(ClientAddr::resolve(peer.ip(), forwarded, &app.config.trusted_proxies))
    }
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max_connections` are open.
    Total,
    /// `max_connections_per_address` are open from this address.
    Address,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Total => "total",
            Refusal::Address => "address",
        }
    }
}

/// Open connections, in total and by address: decides admission, does no I/O.
#[derive(Debug)]
pub struct Admission {
    max_total: usize,
    max_per_address: usize,
    /// Addresses exempt from the per-address limit (trusted proxies).
    exempt: Vec<IpAddr>,
    open: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Admission {
    pub fn new(max_total: usize, max_per_address: usize, exempt: Vec<IpAddr>) -> Admission {
        let exempt = exempt.into_iter().map(address_key).collect();
        Admission { max_total, max_per_address, exempt, open: 0, by_address: HashMap::new() }
    }

    /// Counts a new connection from `ip` in, or says why not.
    pub fn admit(&mut self, ip: IpAddr) -> Result<(), Refusal> {
        if self.open >= self.max_total {
            return Err(Refusal::Total);
        }
        let key = address_key(ip);
        if !self.exempt.contains(&key) {
            let n = self.by_address.entry(key).or_insert(0);
            if *n >= self.max_per_address {
                return Err(Refusal::Address);
            }
            *n += 1;
        }
        self.open += 1;
        Ok(())
    }

    /// Counts a closed connection out.
    pub fn release(&mut self, ip: IpAddr) {
        self.open = self.open.saturating_sub(1);
        let key = address_key(ip);
        if let Some(n) = self.by_address.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.by_address.remove(&key);
            }
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open
    }
}

/// One admitted connection; dropping it (when the socket closes) counts it out.
pub struct Seat {
    table: Arc<Mutex<Admission>>,
    ip: IpAddr,
    open: prometheus::IntGauge,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut t = self.table.lock().expect("admission lock");
        t.release(self.ip);
        self.open.set(t.open() as i64);
    }
}

/// A TCP stream that carries its admission seat, so the count lasts exactly as long as the
/// socket, through a WebSocket upgrade too.
struct Counted {
    io: TcpStream,
    _seat: Seat,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Descriptors kept free of client connections for everything else the server opens.
pub fn fd_reserve(fd_limit: u64) -> u64 {
    (fd_limit / 8).clamp(64, 1024)
}

/// Raises the soft descriptor limit to the hard one and returns the soft limit in force
/// (None where it cannot be read).
pub fn raise_fd_limit() -> Option<u64> {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        Some(lim.rlim_cur)
    }
}

/// How a listener serves: the limits and timeouts it keeps.
pub struct Door {
    table: Arc<Mutex<Admission>>,
    header_timeout: Duration,
    refused: prometheus::IntCounterVec,
    open: prometheus::IntGauge,
    /// Refusals not yet logged, and when the last log line was written.
    unlogged: Mutex<(u64, Option<Instant>)>,
}

impl Door {
    /// The door for `config`, with `max_connections` lowered below the descriptor limit.
    pub fn new(config: &crate::config::Config, metrics: &crate::metrics::Metrics) -> Door {
        let mut max_total = config.max_connections;
        if let Some(limit) = raise_fd_limit() {
            let room = limit.saturating_sub(fd_reserve(limit)).max(1) as usize;
            if room < max_total {
                tracing::info!(
                    fd_limit = limit,
                    max_connections = room,
                    configured = config.max_connections,
                    "max_connections lowered to stay below the file-descriptor limit"
                );
                max_total = room;
            }
        }
        let table =
            Admission::new(max_total, config.max_connections_per_address, config.trusted_proxies.clone());
        Door {
            table: Arc::new(Mutex::new(table)),
            header_timeout: Duration::from_secs(config.header_timeout_secs),
            refused: metrics.refused.clone(),
            open: metrics.open_connections.clone(),
            unlogged: Mutex::new((0, None)),
        }
    }

    fn admit(&self, peer: SocketAddr) -> Result<Seat, Refusal> {
        let mut t = self.table.lock().expect("admission lock");
        t.admit(peer.ip())?;
        self.open.set(t.open() as i64);
        Ok(Seat { table: self.table.clone(), ip: peer.ip(), open: self.open.clone() })
    }

    fn refused(&self, peer: SocketAddr, why: Refusal) {
        self.refused.with_label_values(&[why.as_str()]).inc();
        let mut u = self.unlogged.lock().expect("refusal log lock");
        u.0 += 1;
        if u.1.is_none_or(|at| at.elapsed() >= REFUSAL_LOG_EVERY) {
            tracing::warn!(
                client = %peer.ip(),
                limit = why.as_str(),
                refused = u.0,
                "connection refused: too many open connections (count since the last such line)"
            );
            *u = (0, Some(Instant::now()));
        }
    }

    /// Accepts connections on `listener` and serves `router` on them until the task is dropped.
    pub async fn run(self: Arc<Self>, listener: TcpListener, router: axum::Router) {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // out of descriptors (or a connection reset while queued): let some close
                    tracing::warn!(error = %e, "accept failed; pausing");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let seat = match self.admit(peer) {
                Ok(t) => t,
                Err(why) => {
                    drop(tcp);
                    self.refused(peer, why);
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let io = TokioIo::new(Counted { io: tcp, _seat: seat });
            let router = router.clone();
            let header_timeout = self.header_timeout;
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    router.clone().oneshot(req.map(Body::new))
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(io, service)
                    .with_upgrades();
                if let Err(e) = conn.await {
                    tracing::debug!(client = %peer, error = %e, "connection ended with an error");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connections_are_limited_in_total_and_per_address() {
        let mut a = Admission::new(3, 2, vec![ip("10.0.0.9")]);
        assert_eq!(a.admit(ip("1.2.3.4")), Ok(()));
        assert_eq!(a.admit(ip("1.2.3.4")), Ok(()));
        assert_eq!(a.admit(ip("1.2.3.4")), Err(Refusal::Address));
        assert_eq!(a.admit(ip("5.6.7.8")), Ok(()));
        assert_eq!(a.admit(ip("5.6.7.8")), Err(Refusal::Total));
        a.release(ip("1.2.3.4"));
        assert_eq!(a.admit(ip("5.6.7.8")), Ok(()));
        assert_eq!(a.open(), 3);
        for _ in 0..3 {
            a.release(ip("5.6.7.8"));
        }
        // a trusted proxy is not limited per address, only in total
        let mut p = Admission::new(10, 1, vec![ip("10.0.0.9")]);
        for _ in 0..5 {
            assert_eq!(p.admit(ip("10.0.0.9")), Ok(()));
        }
    }

    #[test]
    fn ipv6_counts_by_slash_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(address_key(ip("2001:db8:1:2:aaaa::1")), address_key(ip("2001:db8:1:2:bbbb::2")));
        assert_ne!(address_key(ip("2001:db8:1:2::1")), address_key(ip("2001:db8:1:3::1")));
        assert_eq!(address_key(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
        let mut a = Admission::new(10, 1, vec![]);
        assert_eq!(a.admit(ip("2001:db8::1")), Ok(()));
        assert_eq!(a.admit(ip("2001:db8::2")), Err(Refusal::Address));
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_forwarded_it() {
        let proxy = ip("10.0.0.9");
        let trusted = [proxy];
        let xff = ["198.51.100.1, 203.0.113.5", "10.0.0.9"];
        // an untrusted peer's X-Forwarded-For is ignored (anyone can write one)
        assert_eq!(ClientAddr::resolve(ip("192.0.2.1"), xff.into_iter(), &trusted).0, ip("192.0.2.1"));
        // through the proxy: the last hop the proxy did not add itself
        assert_eq!(ClientAddr::resolve(proxy, xff.into_iter(), &trusted).0, ip("203.0.113.5"));
        assert_eq!(ClientAddr::resolve(proxy, ["junk"].into_iter(), &trusted).0, proxy);
        assert_eq!(ClientAddr::resolve(proxy, std::iter::empty(), &trusted).0, proxy);
    }

    #[test]
    fn the_reserve_leaves_room_for_files() {
        assert_eq!(fd_reserve(256), 64);
        assert_eq!(fd_reserve(1024), 128);
        assert_eq!(fd_reserve(1 << 20), 1024);
    }
}
