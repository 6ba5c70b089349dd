//! The real service for an integration test, in this process: a fresh database in a temporary
//! folder, the shipped knowledge base and model, a fixed clock; built only ([`build`], for
//! tests that call its router) or also listening on 127.0.0.1 ([`TestServer`]).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use kefu::app::AppState;
use kefu::config::Config;
use kefu::identity::Role;
use serde_json::Value;

pub const SECRET: &str = "test-secret-0123456789abcdef";
/// The demo orders' dates are relative to this day.
pub const NOW: &str = "2026-11-25T09:00:00+08:00";

/// The repository (the shipped knowledge base and model are read from here).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped knowledge base.
pub fn knowledge() -> kefu::knowledge::KnowledgeBase {
    kefu::knowledge::KnowledgeBase::load(&root().join("knowledge")).expect("the shipped knowledge base loads")
}

/// A conversation's feedback record among `records`, as the JSON the export and the API give.
pub fn record_of(records: &[kefu::records::FeedbackRecord], conv: &str) -> serde_json::Value {
    let r =
        records.iter().find(|r| r.conversation_id == conv).expect("a feedback record for the conversation");
    serde_json::to_value(r).unwrap()
}

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

/// The defaults on the database `db` with the shipped knowledge base and model, the shared
/// limits out of the way ([`test_limits`]).
pub fn config(db: &Path) -> Config {
    Config {
        database: db.to_path_buf(),
        knowledge: root().join("knowledge"),
        model: root().join("models/intent"),
        ..test_limits()
    }
}

/// What a [`TestServer`] runs with: [`config`] plus the shopper token secret [`SECRET`], the
/// clock fixed at [`NOW`] and 1000 messages a minute per connection.
pub fn test_config(db: &Path) -> Config {
    Config {
        token_secret: Some(SECRET.into()),
        messages_per_minute: 1000,
        fixed_time: Some(NOW.into()),
        ..config(db)
    }
}

/// The service built from `config` (on its own clock), not listening.
pub async fn build(config: Config) -> Arc<AppState> {
    let clock = config.clock();
    kefu::app::build(config, clock).await.unwrap()
}

/// The service built from [`config`] on `dir/kefu.db`, not listening.
pub async fn app(dir: &Path) -> Arc<AppState> {
    build(config(&dir.join("kefu.db"))).await
}

/// `app` listening on a free port of 127.0.0.1: the address and the server's task.
pub async fn serve(app: &Arc<AppState>) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    kefu::web::serve(app.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// Staff accounts: (name, display name, role), all with `password`.
pub async fn add_staff(app: &Arc<AppState>, staff: &[(&str, &str, Role)], password: &str) {
    for (name, display, role) in staff {
        kefu::accounts::add(&app.store, name, display, *role, password).await.unwrap();
    }
}

/// A staff token through the service's real login (argon2 check included).
pub async fn login(app: &Arc<AppState>, name: &str, password: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    app.logins.login(&app.store, &app.staff_secret, name, password, now).await.unwrap().token
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub app: Arc<AppState>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts the service with [`test_config`] in a new temporary folder.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts the service with [`test_config`], changed by `tune`.
    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&dir.path().join("kefu.db"));
        tune(&mut config);
        let app = build(config).await;
        let (addr, _) = serve(&app).await;
        TestServer { addr, app, dir }
    }

    /// Staff accounts: (name, display name, role), all with `password`.
    pub async fn add_staff(&self, staff: &[(&str, &str, Role)], password: &str) {
        add_staff(&self.app, staff, password).await
    }

    /// A staff token through the service's real login.
    pub async fn login(&self, name: &str, password: &str) -> String {
        login(&self.app, name, password).await
    }

    /// One request to the service's router, in process: see [`super::http::call`].
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        super::http::call(&self.app, method, uri, token, body).await
    }

    /// `GET uri` with a staff token, in process.
    pub async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", uri, Some(token), None).await
    }

    /// `http://127.0.0.1:PORT`.
    pub fn http(&self) -> String {
        format!("http://{}", self.addr)
    }
}
