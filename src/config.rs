//! Service configuration: built-in defaults that work with no setup, then `kefu.toml` (if
//! present, or the file named by `--config` / `KEFU_CONFIG`), then `KEFU_*` environment
//! variables: one mapping for every field (`x` ← `KEFU_X`), read through the same serde path as
//! the file, so a new field needs no environment code. Every value is validated; a bad one is a
//! clear error naming its source.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::de::value::MapDeserializer;
use serde::de::{self, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Most conversations one agent may hold at once.
pub const MAX_AGENT_CAPACITY: usize = 20;

/// Where the dialogue's orders and returns come from (see `orders`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderSourceKind {
    /// The demo store's orders, seeded into kefu's own database from `knowledge/demo`.
    Embedded,
    /// The store's own API (docs/store-api.yaml).
    Http,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP/WebSocket server listens on.
    pub listen: SocketAddr,
    /// SQLite database file (created and migrated automatically).
    pub database: PathBuf,
    /// Knowledge-base folder.
    pub knowledge: PathBuf,
    /// Intent model folder: the shipped model (read only; never written by the service).
    pub model: PathBuf,
    /// Where models trained while the service runs are kept: one folder per version, and the
    /// `ACTIVE` and `HISTORY` files (see `models::registry`). Empty (the default): `models/`
    /// beside the database file, so each database has its own versions.
    pub model_store: PathBuf,
    /// Secret for the HMAC-SHA256 shopper tokens the storefront signs. Without one, only guests
    /// (no token) can chat; order details then need order number + phone.
    pub token_secret: Option<String>,
    /// Secret for the staff tokens `POST /api/login` signs (at least 32 bytes). None (the
    /// default): one generated on first start and kept in the database.
    pub staff_token_secret: Option<String>,
    /// Longest lifetime of a shopper token: one whose `exp` is further than this (seconds) from
    /// its `iat`, or from now, is refused, as is one without `iat`.
    pub shopper_token_max_secs: i64,
    /// Longest shopper message accepted, in characters.
    pub max_message_chars: usize,
    /// Messages a shopper connection may send per minute.
    pub messages_per_minute: u32,
    /// A conversation idle this long (seconds) is closed with a rating request.
    pub idle_timeout_secs: u64,
    /// A client that accepts no data for this long (seconds) while replies wait for it is
    /// disconnected; what it sent is stored, and it can resume.
    pub send_timeout_secs: u64,
    /// Where orders and returns come from: `embedded` (the demo store's orders in kefu's own
    /// database, the default) or `http` (the store's API at `orders_url`, docs/store-api.yaml).
    pub orders_source: OrderSourceKind,
    /// The store API's base URL for `orders_source = "http"` (plain `http://`; for https, a
    /// local TLS-terminating proxy), e.g. `http://127.0.0.1:9000/api/v1`.
    pub orders_url: Option<String>,
    /// Sent to the store API as `Authorization: Bearer …`.
    pub orders_api_key: Option<String>,
    /// One call to the store API gives up after this many milliseconds.
    pub orders_timeout_ms: u64,
    /// Extra attempts for a read (GET) that found the store unavailable; creating a return is
    /// never retried (its idempotency key makes the shopper's next confirmation safe).
    pub orders_retries: u32,
    /// The first retry's delay (milliseconds); each further one doubles, with jitter.
    pub orders_retry_base_ms: u64,
    /// How long an answer from the store API is reused (milliseconds; 0: never). An expired
    /// answer is never shown while the store is down.
    pub orders_cache_ttl_ms: u64,
    /// Failures in a row after which kefu stops calling the store (the circuit breaker opens).
    pub orders_breaker_failures: u32,
    /// How long the open breaker refuses calls (milliseconds) before it lets one probe through.
    pub orders_breaker_open_ms: u64,
    /// The shared secret the store signs the events it posts to `/api/store/events` with (at
    /// least 16 bytes). None (the default): the endpoint answers 404.
    pub store_events_secret: Option<String>,
    /// With `orders_source = "http"`: how often (seconds) products and stock changed since the
    /// last sync are fetched from the store (also at once on a stock or product event); 0: only
    /// on events.
    pub catalog_sync_secs: u64,
    /// A fixed "now" (RFC 3339) instead of the system clock, for demos and tests: the demo
    /// orders' delivery dates and 7-day return windows are relative to 2026-11-25.
    pub fixed_time: Option<String>,
    /// An agent who disconnects keeps their conversations this long (seconds), then they go
    /// back to the queue.
    pub agent_grace_secs: u64,
    /// An agent may recall a message they sent for this long (seconds; the admin too).
    pub recall_window_secs: u64,
    /// Conversations an agent takes at once unless they say otherwise.
    pub agent_capacity: usize,
    /// When human agents work, `HH:MM-HH:MM` in `business_timezone`; none = always.
    pub business_hours: Option<String>,
    /// The UTC offset business hours are in.
    pub business_timezone: String,
    /// Serve the web pages (widget, consoles) from this folder instead of the copies built into
    /// the binary, read on every request: for editing them without rebuilding. None (the
    /// default): the built-in copies.
    pub web_dir: Option<PathBuf>,
    /// Open client connections served at once, in total (HTTP and WebSocket). The server lowers
    /// it below its file-descriptor limit at start, and refuses (closes at once, with a log line)
    /// beyond it.
    pub max_connections: usize,
    /// Open connections from one client address (IPv6: one /64).
    pub max_connections_per_address: usize,
    /// A client must send its request headers (or the WebSocket upgrade request) within this
    /// many seconds of connecting, or of its previous request on a kept-alive connection.
    pub header_timeout_secs: u64,
    /// A WebSocket that sends no `hello` within this many seconds is closed.
    pub hello_timeout_secs: u64,
    /// New conversations one client address may start per minute.
    pub address_conversations_per_minute: u32,
    /// Shopper messages from one client address per minute, across all its connections.
    pub address_messages_per_minute: u32,
    /// New conversations one signed-in shopper may start per minute.
    pub shopper_conversations_per_minute: u32,
    /// Messages from one signed-in shopper per minute, across all their connections.
    pub shopper_messages_per_minute: u32,
    /// Largest photo a shopper may upload, in bytes (larger: 413).
    pub image_max_bytes: u64,
    /// Photos one conversation may hold (uploaded, sent or not); 0: no photos.
    pub images_per_conversation: u32,
    /// Photo uploads from one client address per hour (a token bucket, like the message
    /// limits); 0: no photos.
    pub address_images_per_hour: u32,
    /// Megabytes all stored photos together may take; beyond it uploads are refused (507).
    pub images_max_total_mb: u64,
    /// Proxies (e.g. the store's nginx) whose `X-Forwarded-For` names the real client address
    /// for the per-address limits. Empty (the default): the connection's own address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve `/metrics` on this separate address, without a token (e.g. 127.0.0.1:9090 for a
    /// Prometheus on the host). None (the default): `/metrics` on `listen` needs an admin's
    /// staff token.
    pub metrics_listen: Option<SocketAddr>,
    /// Password checks (argon2, ~19 MB each) running at once; logins beyond it get 503 at once.
    pub max_concurrent_logins: usize,
    /// Endpoints that receive signed event deliveries (`[[webhooks]]` tables: `url`, `secret`,
    /// `events`). In `KEFU_WEBHOOKS`, comma-separated `URL secret=S events=a|b` items.
    pub webhooks: Vec<WebhookEndpoint>,
    /// One delivery attempt (connect, send, status line) gives up after this many seconds.
    pub webhook_timeout_secs: u64,
    /// Attempts per delivery before it is marked failed (an admin can replay it).
    pub webhook_max_attempts: u32,
    /// A delivery still failing this long (seconds) after its first attempt is marked failed.
    pub webhook_max_age_secs: u64,
    /// The first retry's delay (milliseconds); each further one doubles, with jitter.
    pub webhook_retry_base_ms: u64,
    /// The longest delay between two attempts (seconds).
    pub webhook_retry_max_secs: u64,
    /// How far a signed request's timestamp may be from now (seconds, either way): the replay
    /// window of the signing scheme (`webhooks::signature`).
    pub webhook_tolerance_secs: u64,
    /// Days messages are kept (with the photos they sent); 0: for ever. Conversations, their
    /// counts and feedback records stay.
    pub retention_messages_days: u32,
    /// Days agents' internal notes are kept; 0: for ever.
    pub retention_notes_days: u32,
    /// Days answered and closed tickets are kept (open ones until closed); 0: for ever.
    pub retention_tickets_days: u32,
    /// Days after its last change a feedback record is anonymised (its comment and shopper id
    /// removed; counts, rating and outcome kept, never deleted); 0: never.
    pub retention_feedback_days: u32,
    /// Days staff login lockout counters and guests' phone-digit guess counters are kept after
    /// their last change; 0: for ever.
    pub retention_logins_days: u32,
    /// How often (seconds) the retention job looks for expired data; 0: the job does not run.
    pub retention_every_secs: u64,
    /// Rows one retention statement purges at most (1–10000): each batch is one short
    /// transaction.
    pub retention_batch_rows: usize,
    /// Pause between two retention batches (milliseconds), so chat's writes are never held up
    /// by a long purge.
    pub retention_pause_ms: u64,
}

/// A webhook endpoint: where to POST, the shared secret deliveries are signed with, and the
/// event types it wants (none: all). Written by hand for `Debug`, which never shows the secret.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EndpointText")]
pub struct WebhookEndpoint {
    pub url: String,
    pub secret: String,
    #[serde(default)]
    pub events: Vec<String>,
}

/// An endpoint as written: a TOML table, or (from `KEFU_WEBHOOKS`) one line of text.
#[derive(Deserialize)]
#[serde(untagged)]
enum EndpointText {
    Table {
        url: String,
        secret: String,
        #[serde(default)]
        events: Vec<String>,
    },
    Line(String),
}

impl TryFrom<EndpointText> for WebhookEndpoint {
    type Error = String;

    /// A line is `URL secret=S events=a|b` (the events optional), separated by spaces.
    fn try_from(t: EndpointText) -> Result<WebhookEndpoint, String> {
        match t {
            EndpointText::Table { url, secret, events } => Ok(WebhookEndpoint { url, secret, events }),
            EndpointText::Line(line) => {
                let mut parts = line.split_whitespace();
                let url = parts.next().unwrap_or_default().to_string();
                let (mut secret, mut events) = (None, Vec::new());
                for p in parts {
                    match p.split_once('=') {
                        Some(("secret", s)) => secret = Some(s.to_string()),
                        Some(("events", e)) => {
                            events = e.split('|').filter(|e| !e.is_empty()).map(String::from).collect()
                        }
                        _ => {
                            return Err(format!(
                                "webhook {url:?}: expected secret=… or events=…, found {p:?}"
                            ))
                        }
                    }
                }
                let secret = secret.ok_or_else(|| format!("webhook {url:?}: no secret=…"))?;
                if !url.starts_with("http://") && !url.starts_with("https://") {
                    return Err(format!("webhook URL {url:?} is not http://…"));
                }
                Ok(WebhookEndpoint { url, secret, events })
            }
        }
    }
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("events", &self.events)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            database: PathBuf::from("data/kefu.db"),
            knowledge: PathBuf::from("knowledge"),
            model: PathBuf::from("models/intent"),
            model_store: PathBuf::new(),
            token_secret: None,
            staff_token_secret: None,
            shopper_token_max_secs: 86_400,
            max_message_chars: 2000,
            messages_per_minute: 30,
            idle_timeout_secs: 1800,
            send_timeout_secs: 10,
            orders_source: OrderSourceKind::Embedded,
            orders_url: None,
            orders_api_key: None,
            orders_timeout_ms: 2000,
            orders_retries: 1,
            orders_retry_base_ms: 100,
            orders_cache_ttl_ms: 5000,
            orders_breaker_failures: 5,
            orders_breaker_open_ms: 10_000,
            store_events_secret: None,
            catalog_sync_secs: 300,
            fixed_time: None,
            agent_grace_secs: 120,
            recall_window_secs: 120,
            agent_capacity: 5,
            business_hours: Some("09:00-24:00".into()),
            business_timezone: "+08:00".into(),
            web_dir: None,
            max_connections: 10_000,
            max_connections_per_address: 256,
            header_timeout_secs: 10,
            hello_timeout_secs: 10,
            address_conversations_per_minute: 60,
            address_messages_per_minute: 600,
            shopper_conversations_per_minute: 10,
            shopper_messages_per_minute: 60,
            image_max_bytes: 5 * 1024 * 1024,
            images_per_conversation: 20,
            address_images_per_hour: 30,
            images_max_total_mb: 2048,
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            max_concurrent_logins: 4,
            webhooks: Vec::new(),
            webhook_timeout_secs: 10,
            webhook_max_attempts: 12,
            webhook_max_age_secs: 86_400,
            webhook_retry_base_ms: 1000,
            webhook_retry_max_secs: 3600,
            webhook_tolerance_secs: 300,
            retention_messages_days: 365,
            retention_notes_days: 365,
            retention_tickets_days: 365,
            retention_feedback_days: 730,
            retention_logins_days: 30,
            retention_every_secs: 3600,
            retention_batch_rows: 500,
            retention_pause_ms: 200,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
    #[error("environment variable {name}={value:?}: {message}")]
    Env { name: String, value: String, message: String },
    #[error("config: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then the config file (explicit path must exist; `kefu.toml` is optional), then
    /// the environment.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match explicit {
            Some(p) => Self::from_file(p)?,
            None if Path::new("kefu.toml").exists() => Self::from_file(Path::new("kefu.toml"))?,
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.validate()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError::File { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        toml::from_str(&text).map_err(|e| err(e.to_string()))
    }

    /// Applies the environment: every field `x` can be set with `KEFU_X` (its name in upper
    /// case, see [`env_name`]), the value read as the field's type, as in `kefu.toml`:
    /// numbers and addresses parsed, a list comma-separated (`KEFU_TRUSTED_PROXIES`), and for the
    /// fields in [`EMPTY_MEANS_NONE`] an empty value means none (`KEFU_BUSINESS_HOURS=""`:
    /// always). A value that does not parse is an error naming the variable and the value.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for field in Self::field_names() {
            let name = env_name(&field);
            let Some(value) = get(&name) else { continue };
            let current = self.fields().map_err(|e| ConfigError::Invalid(e.to_string()))?;
            let slots = current.iter().map(|(k, v)| {
                let slot = if *k == field {
                    Slot::Env(&value, EMPTY_MEANS_NONE.contains(&field.as_str()))
                } else {
                    Slot::Kept(v)
                };
                (k.as_str(), slot)
            });
            *self = Config::deserialize(MapDeserializer::new(slots)).map_err(|e| ConfigError::Env {
                name: name.clone(),
                value: value.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// The names of the fields, as in `kefu.toml`.
    pub fn field_names() -> Vec<String> {
        Config::default().fields().expect("the defaults serialise").into_iter().map(|(k, _)| k).collect()
    }

    /// Every field with its value (`null` for none), as serde sees them. Fails only for a path
    /// that is not UTF-8.
    fn fields(&self) -> Result<serde_json::Map<String, serde_json::Value>, serde_json::Error> {
        match serde_json::to_value(self)? {
            serde_json::Value::Object(fields) => Ok(fields),
            other => unreachable!("a struct serialises to an object: {other:?}"),
        }
    }

    /// The clock the service runs on.
    pub fn clock(&self) -> crate::time::Clock {
        match self.fixed_time.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
            Some(t) => crate::time::Clock::Fixed(t),
            None => crate::time::Clock::System,
        }
    }

    /// The model versions folder in force (see `model_store`).
    pub fn model_store_dir(&self) -> PathBuf {
        if !self.model_store.as_os_str().is_empty() {
            return self.model_store.clone();
        }
        if crate::store::backend::postgres_url(&self.database).is_some() {
            // a URL has no folder beside it
            return PathBuf::from("data/models");
        }
        self.database.parent().map(|d| d.join("models")).unwrap_or_else(|| PathBuf::from("models"))
    }

    /// The business hours in force (validated by [`Config::validate`]).
    pub fn hours(&self) -> Result<Option<crate::time::hours::BusinessHours>, ConfigError> {
        self.business_hours
            .as_deref()
            .map(|h| crate::time::hours::BusinessHours::parse(h, &self.business_timezone))
            .transpose()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The order source's settings: `http` needs a URL; its limits are at least 1.
    fn validate_orders(&self) -> Result<(), ConfigError> {
        if self.orders_source == OrderSourceKind::Http && self.orders_url.as_deref().is_none_or(str::is_empty)
        {
            return Err(ConfigError::Invalid("orders_source = \"http\" needs orders_url".into()));
        }
        if self.orders_timeout_ms == 0
            || self.orders_breaker_failures == 0
            || self.orders_breaker_open_ms == 0
        {
            return Err(ConfigError::Invalid(
                "orders_timeout_ms, orders_breaker_failures and orders_breaker_open_ms must be at least 1"
                    .into(),
            ));
        }
        if self.store_events_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(ConfigError::Invalid("store_events_secret must be at least 16 bytes".into()));
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.hours()?;
        if !(1..=10_000).contains(&self.retention_batch_rows) {
            return Err(ConfigError::Invalid("retention_batch_rows must be between 1 and 10000".into()));
        }
        if self.agent_capacity == 0 || self.agent_capacity > MAX_AGENT_CAPACITY {
            return Err(ConfigError::Invalid(format!(
                "agent_capacity must be between 1 and {MAX_AGENT_CAPACITY}"
            )));
        }
        if self.max_message_chars == 0 || self.max_message_chars > 100_000 {
            return Err(ConfigError::Invalid("max_message_chars must be between 1 and 100000".into()));
        }
        if self.messages_per_minute == 0 {
            return Err(ConfigError::Invalid("messages_per_minute must be at least 1".into()));
        }
        self.validate_orders()?;
        if let Some(t) = &self.fixed_time {
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| ConfigError::Invalid(format!("fixed_time {t:?} is not RFC 3339: {e}")))?;
        }
        if let Some(s) = &self.token_secret {
            if s.len() < 16 {
                return Err(ConfigError::Invalid("token_secret must be at least 16 characters".into()));
            }
        }
        if let Some(s) = &self.staff_token_secret {
            if s.len() < 32 {
                return Err(ConfigError::Invalid(format!(
                    "staff_token_secret must be at least 32 bytes (it has {})",
                    s.len()
                )));
            }
        }
        if self.shopper_token_max_secs <= 0 {
            return Err(ConfigError::Invalid("shopper_token_max_secs must be at least 1".into()));
        }
        let at_least_one = [
            ("max_connections", self.max_connections as u64),
            ("max_connections_per_address", self.max_connections_per_address as u64),
            ("header_timeout_secs", self.header_timeout_secs),
            ("hello_timeout_secs", self.hello_timeout_secs),
            ("address_conversations_per_minute", self.address_conversations_per_minute.into()),
            ("address_messages_per_minute", self.address_messages_per_minute.into()),
            ("shopper_conversations_per_minute", self.shopper_conversations_per_minute.into()),
            ("shopper_messages_per_minute", self.shopper_messages_per_minute.into()),
            ("image_max_bytes", self.image_max_bytes),
            ("max_concurrent_logins", self.max_concurrent_logins as u64),
            ("webhook_timeout_secs", self.webhook_timeout_secs),
            ("webhook_max_attempts", self.webhook_max_attempts.into()),
            ("webhook_max_age_secs", self.webhook_max_age_secs),
            ("webhook_retry_base_ms", self.webhook_retry_base_ms),
            ("webhook_retry_max_secs", self.webhook_retry_max_secs),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
        }
        if self.metrics_listen.is_some_and(|m| m == self.listen) {
            return Err(ConfigError::Invalid("metrics_listen must differ from listen".into()));
        }
        for w in &self.webhooks {
            // TLS for https endpoints is not built in: point kefu at a local TLS-terminating proxy
            if !w.url.starts_with("http://") {
                return Err(ConfigError::Invalid(format!(
                    "webhook URL {:?}: only http:// is supported (for https, send through a local TLS proxy)",
                    w.url
                )));
            }
            if w.secret.len() < 16 {
                return Err(ConfigError::Invalid(format!(
                    "webhook {:?}: secret must be at least 16 bytes",
                    w.url
                )));
            }
        }
        if self.webhooks.iter().enumerate().any(|(i, w)| self.webhooks[..i].iter().any(|o| o.url == w.url)) {
            return Err(ConfigError::Invalid("two webhooks have the same URL".into()));
        }
        Ok(())
    }
}

/// The environment variable that sets the field `field`: `KEFU_` and its name in upper case.
pub fn env_name(field: &str) -> String {
    format!("KEFU_{}", field.to_ascii_uppercase())
}

/// The fields whose variable, when empty (or blank), means none instead of an empty value.
pub const EMPTY_MEANS_NONE: &[&str] = &["staff_token_secret", "business_hours", "web_dir", "metrics_listen"];

/// One field's value while [`Config::apply_env`] deserialises a whole `Config`: the value it
/// already has, or a variable's text, parsed as the field's type asks (so one code path serves
/// every field, present and future).
enum Slot<'a> {
    Kept(&'a serde_json::Value),
    /// The text, and whether an empty text means none.
    Env(&'a str, bool),
}

impl<'de> IntoDeserializer<'de, serde_json::Error> for Slot<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// A number (or bool) parsed from the text with `FromStr`, so errors read as before
/// ("invalid digit found in string").
macro_rules! parsed {
    ($($method:ident $visit:ident $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self {
                Slot::Kept(v) => v.$method(visitor),
                Slot::Env(s, _) => visitor.$visit(s.parse::<$ty>().map_err(de::Error::custom)?),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Slot<'de> {
    type Error = serde_json::Error;

    /// Text: strings, paths and addresses (which parse themselves from it).
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Slot::Kept(v) => v.deserialize_any(visitor),
            Slot::Env(s, _) => visitor.visit_borrowed_str(s),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Slot::Kept(v) => v.deserialize_option(visitor),
            Slot::Env(s, true) if s.trim().is_empty() => visitor.visit_none(),
            env => visitor.visit_some(env),
        }
    }

    /// A list: comma-separated, each item trimmed, empty items skipped.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Slot::Kept(v) => v.deserialize_seq(visitor),
            Slot::Env(s, _) => {
                let items =
                    s.split(',').map(str::trim).filter(|a| !a.is_empty()).map(|a| Slot::Env(a, false));
                let mut seq = de::value::SeqDeserializer::new(items);
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            Slot::Kept(v) => v.deserialize_newtype_struct(name, visitor),
            env => visitor.visit_newtype_struct(env),
        }
    }

    /// A unit variant by its name.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            Slot::Kept(v) => v.deserialize_enum(name, variants, visitor),
            Slot::Env(s, _) => IntoDeserializer::<serde_json::Error>::into_deserializer(s)
                .deserialize_enum(name, variants, visitor),
        }
    }

    parsed! {
        deserialize_bool visit_bool bool,
        deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16,
        deserialize_i32 visit_i32 i32, deserialize_i64 visit_i64 i64,
        deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64,
        deserialize_f32 visit_f32 f32, deserialize_f64 visit_f64 f64,
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier
        ignored_any
    }
}

/// Written by hand so that the secrets are never printed (logs, error reports).
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field(
                "database",
                &match crate::store::backend::postgres_url(&self.database) {
                    Some(_) => "postgres://<redacted>".to_string(),
                    None => self.database.display().to_string(),
                },
            )
            .field("knowledge", &self.knowledge)
            .field("model", &self.model)
            .field("model_store", &self.model_store)
            .field("token_secret", &redact(&self.token_secret))
            .field("staff_token_secret", &redact(&self.staff_token_secret))
            .field("shopper_token_max_secs", &self.shopper_token_max_secs)
            .field("max_message_chars", &self.max_message_chars)
            .field("messages_per_minute", &self.messages_per_minute)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("send_timeout_secs", &self.send_timeout_secs)
            .field("orders_source", &self.orders_source)
            .field("orders_url", &self.orders_url)
            .field("orders_api_key", &redact(&self.orders_api_key))
            .field("orders_timeout_ms", &self.orders_timeout_ms)
            .field("orders_retries", &self.orders_retries)
            .field("orders_retry_base_ms", &self.orders_retry_base_ms)
            .field("orders_cache_ttl_ms", &self.orders_cache_ttl_ms)
            .field("orders_breaker_failures", &self.orders_breaker_failures)
            .field("orders_breaker_open_ms", &self.orders_breaker_open_ms)
            .field("store_events_secret", &redact(&self.store_events_secret))
            .field("catalog_sync_secs", &self.catalog_sync_secs)
            .field("fixed_time", &self.fixed_time)
            .field("agent_grace_secs", &self.agent_grace_secs)
            .field("recall_window_secs", &self.recall_window_secs)
            .field("agent_capacity", &self.agent_capacity)
            .field("business_hours", &self.business_hours)
            .field("business_timezone", &self.business_timezone)
            .field("web_dir", &self.web_dir)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_address", &self.max_connections_per_address)
            .field("header_timeout_secs", &self.header_timeout_secs)
            .field("hello_timeout_secs", &self.hello_timeout_secs)
            .field("address_conversations_per_minute", &self.address_conversations_per_minute)
            .field("address_messages_per_minute", &self.address_messages_per_minute)
            .field("shopper_conversations_per_minute", &self.shopper_conversations_per_minute)
            .field("shopper_messages_per_minute", &self.shopper_messages_per_minute)
            .field("image_max_bytes", &self.image_max_bytes)
            .field("images_per_conversation", &self.images_per_conversation)
            .field("address_images_per_hour", &self.address_images_per_hour)
            .field("images_max_total_mb", &self.images_max_total_mb)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_listen", &self.metrics_listen)
            .field("max_concurrent_logins", &self.max_concurrent_logins)
            .field("webhooks", &self.webhooks)
            .field("webhook_timeout_secs", &self.webhook_timeout_secs)
            .field("webhook_max_attempts", &self.webhook_max_attempts)
            .field("webhook_max_age_secs", &self.webhook_max_age_secs)
            .field("webhook_retry_base_ms", &self.webhook_retry_base_ms)
            .field("webhook_retry_max_secs", &self.webhook_retry_max_secs)
            .field("webhook_tolerance_secs", &self.webhook_tolerance_secs)
            .field("retention_messages_days", &self.retention_messages_days)
            .field("retention_notes_days", &self.retention_notes_days)
            .field("retention_tickets_days", &self.retention_tickets_days)
            .field("retention_feedback_days", &self.retention_feedback_days)
            .field("retention_logins_days", &self.retention_logins_days)
            .field("retention_every_secs", &self.retention_every_secs)
            .field("retention_batch_rows", &self.retention_batch_rows)
            .field("retention_pause_ms", &self.retention_pause_ms)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_and_bad_values_are_named() {
        let mut c = Config::default();
        c.apply_env(|k| (k == "KEFU_MAX_MESSAGE_CHARS").then(|| "500".to_string())).unwrap();
        assert_eq!(c.max_message_chars, 500);
        let e = c.apply_env(|k| (k == "KEFU_LISTEN").then(|| "nowhere".to_string())).unwrap_err();
        assert!(e.to_string().contains("KEFU_LISTEN"), "{e}");
    }

    /// A sample value for every field: a new field without one fails
    /// `every_field_is_settable_from_the_environment` (its variable works without new code).
    const SAMPLES: &[(&str, &str, &str)] = &[
        // field, the variable's text, the field's value afterwards (JSON)
        ("listen", "0.0.0.0:9000", r#""0.0.0.0:9000""#),
        ("database", "/srv/kefu/kefu.db", r#""/srv/kefu/kefu.db""#),
        ("knowledge", "/srv/kefu/knowledge", r#""/srv/kefu/knowledge""#),
        ("model", "/srv/kefu/model", r#""/srv/kefu/model""#),
        ("model_store", "/srv/kefu/models", r#""/srv/kefu/models""#),
        ("token_secret", "0123456789abcdef0", r#""0123456789abcdef0""#),
        ("staff_token_secret", "s", r#""s""#),
        ("shopper_token_max_secs", "-3", "-3"),
        ("max_message_chars", "500", "500"),
        ("messages_per_minute", "7", "7"),
        ("idle_timeout_secs", "60", "60"),
        ("send_timeout_secs", "3", "3"),
        ("orders_source", "http", r#""http""#),
        ("orders_url", "http://127.0.0.1:9000/api/v1", r#""http://127.0.0.1:9000/api/v1""#),
        ("orders_api_key", "key", r#""key""#),
        ("orders_timeout_ms", "31", "31"),
        ("orders_retries", "32", "32"),
        ("orders_retry_base_ms", "33", "33"),
        ("orders_cache_ttl_ms", "34", "34"),
        ("orders_breaker_failures", "35", "35"),
        ("orders_breaker_open_ms", "36", "36"),
        ("store_events_secret", "0123456789abcdef", r#""0123456789abcdef""#),
        ("fixed_time", "2026-11-25T09:00:00+08:00", r#""2026-11-25T09:00:00+08:00""#),
        ("agent_grace_secs", "5", "5"),
        ("recall_window_secs", "7", "7"),
        ("catalog_sync_secs", "45", "45"),
        ("agent_capacity", "2", "2"),
        ("business_hours", "08:00-20:00", r#""08:00-20:00""#),
        ("business_timezone", "+01:00", r#""+01:00""#),
        ("web_dir", "web", r#""web""#),
        ("max_connections", "11", "11"),
        ("max_connections_per_address", "12", "12"),
        ("header_timeout_secs", "13", "13"),
        ("hello_timeout_secs", "14", "14"),
        ("address_conversations_per_minute", "15", "15"),
        ("address_messages_per_minute", "16", "16"),
        ("shopper_conversations_per_minute", "17", "17"),
        ("shopper_messages_per_minute", "18", "18"),
        ("image_max_bytes", "1000", "1000"),
        ("images_per_conversation", "3", "3"),
        ("address_images_per_hour", "4", "4"),
        ("images_max_total_mb", "5", "5"),
        ("trusted_proxies", " 10.0.0.1, ::1,", r#"["10.0.0.1","::1"]"#),
        ("metrics_listen", "127.0.0.1:9090", r#""127.0.0.1:9090""#),
        ("max_concurrent_logins", "19", "19"),
        (
            "webhooks",
            "http://127.0.0.1:9000/hook secret=0123456789abcdef events=ticket.created|feedback.written, http://[::1]/h secret=s",
            r#"[{"url":"http://127.0.0.1:9000/hook","secret":"0123456789abcdef","events":["ticket.created","feedback.written"]},{"url":"http://[::1]/h","secret":"s","events":[]}]"#,
        ),
        ("webhook_timeout_secs", "20", "20"),
        ("webhook_max_attempts", "21", "21"),
        ("webhook_max_age_secs", "22", "22"),
        ("webhook_retry_base_ms", "23", "23"),
        ("webhook_retry_max_secs", "24", "24"),
        ("webhook_tolerance_secs", "25", "25"),
        ("retention_messages_days", "90", "90"),
        ("retention_notes_days", "0", "0"),
        ("retention_tickets_days", "180", "180"),
        ("retention_feedback_days", "365", "365"),
        ("retention_logins_days", "7", "7"),
        ("retention_every_secs", "600", "600"),
        ("retention_batch_rows", "100", "100"),
        ("retention_pause_ms", "50", "50"),
    ];

    fn with_env(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        c.apply_env(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))?;
        Ok(c)
    }

    fn field(c: &Config, name: &str) -> serde_json::Value {
        c.fields().unwrap()[name].clone()
    }

    #[test]
    fn every_field_is_settable_from_the_environment() {
        let fields = Config::field_names();
        let sampled: Vec<&str> = SAMPLES.iter().map(|s| s.0).collect();
        for f in &fields {
            assert!(sampled.contains(&f.as_str()), "no sample for {f}: add one to SAMPLES");
        }
        assert_eq!(fields.len(), SAMPLES.len());
        for (f, text, expected) in SAMPLES {
            let name = env_name(f);
            let c = with_env(&[(&name, text)]).unwrap_or_else(|e| panic!("{name}={text:?}: {e}"));
            let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
            assert_eq!(field(&c, f), expected, "{name}={text:?}");
            assert_ne!(field(&Config::default(), f), expected, "{f}'s sample is its default");
            // only that field changed
            for other in fields.iter().filter(|o| *o != f) {
                assert_eq!(field(&c, other), field(&Config::default(), other), "{name} changed {other}");
            }
        }
        // all of them at once
        let vars: Vec<(String, &str)> = SAMPLES.iter().map(|(f, t, _)| (env_name(f), *t)).collect();
        let vars: Vec<(&str, &str)> = vars.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        let c = with_env(&vars).unwrap();
        for (f, _, expected) in SAMPLES {
            assert_eq!(field(&c, f), serde_json::from_str::<serde_json::Value>(expected).unwrap());
        }
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let cases = [
            ("KEFU_LISTEN", "nowhere", "invalid socket address syntax"),
            ("KEFU_MAX_MESSAGE_CHARS", "lots", "invalid digit found in string"),
            ("KEFU_MAX_MESSAGE_CHARS", "-1", "invalid digit found in string"),
            ("KEFU_MAX_MESSAGE_CHARS", " 500", "invalid digit found in string"),
            ("KEFU_MESSAGES_PER_MINUTE", "99999999999", "number too large to fit in target type"),
            ("KEFU_SHOPPER_TOKEN_MAX_SECS", "1.5", "invalid digit found in string"),
            ("KEFU_TRUSTED_PROXIES", "10.0.0.1,proxy", "invalid IP address syntax"),
            ("KEFU_METRICS_LISTEN", "9090", "invalid socket address syntax"),
            ("KEFU_AGENT_CAPACITY", "", "cannot parse integer from empty string"),
        ];
        for (name, value, message) in cases {
            let e = with_env(&[(name, value)]).unwrap_err();
            assert!(matches!(&e, ConfigError::Env { .. }), "{e:?}");
            assert_eq!(e.to_string(), format!("environment variable {name}={value:?}: {message}"));
        }
        // every typed field refuses text that is no value of its type
        for f in Config::field_names() {
            let name = env_name(&f);
            match with_env(&[(&name, "not a value")]) {
                Err(e) => assert!(e.to_string().contains(&format!("{name}=\"not a value\"")), "{e}"),
                Ok(c) => assert_eq!(field(&c, &f), "not a value", "{name} took text as something else"),
            }
        }
    }

    #[test]
    fn empty_means_none_where_it_did() {
        let mut c = Config {
            staff_token_secret: Some("x".repeat(32)),
            web_dir: Some("web".into()),
            metrics_listen: Some("127.0.0.1:9090".parse().unwrap()),
            trusted_proxies: vec!["10.0.0.1".parse().unwrap()],
            ..Config::default()
        };
        let vars = [
            ("KEFU_STAFF_TOKEN_SECRET", ""),
            ("KEFU_BUSINESS_HOURS", " "),
            ("KEFU_WEB_DIR", ""),
            ("KEFU_METRICS_LISTEN", ""),
            ("KEFU_TRUSTED_PROXIES", ""),
        ];
        c.apply_env(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
        assert_eq!(c.staff_token_secret, None);
        assert_eq!(c.business_hours, None);
        assert_eq!(c.web_dir, None);
        assert_eq!(c.metrics_listen, None);
        assert!(c.trusted_proxies.is_empty());
        // a none stays none when other variables are applied after it
        c.apply_env(|k| (k == "KEFU_AGENT_CAPACITY").then(|| "3".to_string())).unwrap();
        assert_eq!((c.business_hours.as_deref(), c.agent_capacity), (None, 3));
        // elsewhere an empty value is a value (and validation judges it)
        let c = with_env(&[("KEFU_TOKEN_SECRET", ""), ("KEFU_FIXED_TIME", ""), ("KEFU_MODEL_STORE", "")])
            .unwrap();
        assert_eq!((c.token_secret.as_deref(), c.fixed_time.as_deref()), (Some(""), Some("")));
        assert!(c.validate().is_err());
    }

    #[test]
    fn debug_lists_every_field_and_hides_the_secrets() {
        let c = Config {
            token_secret: Some("shopper-secret-0123456789".into()),
            staff_token_secret: Some("staff-secret-0123456789-0123456789".into()),
            ..Config::default()
        };
        let debug = format!("{c:?}");
        for f in Config::field_names() {
            assert!(debug.contains(&format!(" {f}: ")), "{f} missing from Debug: {debug}");
        }
        assert!(!debug.contains("secret-0123456789"), "{debug}");
        assert_eq!(debug.matches("<redacted>").count(), 2, "{debug}");
    }

    #[test]
    fn webhooks_from_the_file_are_checked_and_their_secrets_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kefu.toml");
        let file = |url: &str, secret: &str| {
            let text = format!(
                "[[webhooks]]\nurl = \"{url}\"\nsecret = \"{secret}\"\nevents = [\"ticket.created\"]\n\n\
                 [[webhooks]]\nurl = \"http://127.0.0.1:9/b\"\nsecret = \"another-secret-0123\"\n"
            );
            std::fs::write(&p, text).unwrap();
            Config::load(Some(&p))
        };
        let c = file("http://127.0.0.1:9/a", "hook-secret-0123456789").unwrap();
        assert_eq!(c.webhooks.len(), 2);
        assert_eq!(
            (c.webhooks[0].events.as_slice(), c.webhooks[1].events.len()),
            (&["ticket.created".to_string()][..], 0)
        );
        let debug = format!("{c:?}");
        assert!(!debug.contains("hook-secret") && !debug.contains("another-secret"), "{debug}");
        let e = file("https://shop.example/hook", "hook-secret-0123456789").unwrap_err().to_string();
        assert!(e.contains("only http://"), "{e}");
        let e = file("http://127.0.0.1:9/a", "short").unwrap_err().to_string();
        assert!(e.contains("at least 16 bytes"), "{e}");
        let e = file("http://127.0.0.1:9/b", "hook-secret-0123456789").unwrap_err().to_string();
        assert!(e.contains("same URL"), "{e}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kefu.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:9000\"\nlisen = 1\n").unwrap();
        let e = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("lisen"), "{e}");
    }
}
