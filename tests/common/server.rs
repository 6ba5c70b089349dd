//! The real server on 127.0.0.1 for an integration test: a fresh database in a temporary
//! folder, the shipped knowledge base and model, a fixed clock.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use kefu::config::Config;
use kefu::web::AppState;

pub const SECRET: &str = "test-secret-0123456789abcdef";
/// The demo orders' dates are relative to this day.
pub const NOW: &str = "2026-11-25T09:00:00+08:00";

/// The defaults with the per-address and per-shopper limits out of the way: every test client
/// is 127.0.0.1 (tests/security_connections.rs tests the limits themselves).
pub fn test_limits() -> Config {
    Config {
        address_conversations_per_minute: 100_000,
        address_messages_per_minute: 100_000,
        shopper_conversations_per_minute: 100_000,
        shopper_messages_per_minute: 100_000,
        ..Config::default()
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub app: Arc<AppState>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts the service with the test defaults, changed by `tune`.
    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> TestServer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            database: dir.path().join("kefu.db"),
            knowledge: root.join("knowledge"),
            model: root.join("models/intent"),
            token_secret: Some(SECRET.into()),
            messages_per_minute: 1000,
            fixed_time: Some(NOW.into()),
            ..test_limits()
        };
        tune(&mut config);
        let clock = config.clock();
        let app = kefu::web::build(config, clock).await.unwrap();
        let (addr, _) = kefu::web::serve(app.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        TestServer { addr, app, _dir: dir }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn http(&self) -> String {
        format!("http://{}", self.addr)
    }
}
