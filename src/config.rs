//! Service configuration: built-in defaults that work with no setup, then `kefu.toml` (if
//! present, or the file named by `--config` / `KEFU_CONFIG`), then `KEFU_*` environment
//! variables. Every value is validated; a bad one is a clear error naming its source.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Most conversations one agent may hold at once.
pub const MAX_AGENT_CAPACITY: usize = 20;

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
    /// A fixed "now" (RFC 3339) instead of the system clock, for demos and tests: the demo
    /// orders' delivery dates and 7-day return windows are relative to 2026-11-25.
    pub fixed_time: Option<String>,
    /// An agent who disconnects keeps their conversations this long (seconds), then they go
    /// back to the queue.
    pub agent_grace_secs: u64,
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
    /// Proxies (e.g. the store's nginx) whose `X-Forwarded-For` names the real client address
    /// for the per-address limits. Empty (the default): the connection's own address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve `/metrics` on this separate address, without a token (e.g. 127.0.0.1:9090 for a
    /// Prometheus on the host). None (the default): `/metrics` on `listen` needs an admin's
    /// staff token.
    pub metrics_listen: Option<SocketAddr>,
    /// Password checks (argon2, ~19 MB each) running at once; logins beyond it get 503 at once.
    pub max_concurrent_logins: usize,
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
            fixed_time: None,
            agent_grace_secs: 120,
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
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            max_concurrent_logins: 4,
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

    /// Applies `KEFU_LISTEN`, `KEFU_DATABASE`, `KEFU_KNOWLEDGE`, `KEFU_MODEL`,
    /// `KEFU_MODEL_STORE`, `KEFU_TOKEN_SECRET`, `KEFU_STAFF_TOKEN_SECRET`,
    /// `KEFU_SHOPPER_TOKEN_MAX_SECS`, `KEFU_MAX_MESSAGE_CHARS`, `KEFU_MESSAGES_PER_MINUTE`,
    /// `KEFU_IDLE_TIMEOUT_SECS`, `KEFU_SEND_TIMEOUT_SECS`, `KEFU_FIXED_TIME`,
    /// `KEFU_AGENT_GRACE_SECS`, `KEFU_AGENT_CAPACITY`, `KEFU_BUSINESS_HOURS` (empty: always),
    /// `KEFU_BUSINESS_TIMEZONE`, `KEFU_WEB_DIR` (empty: built in), `KEFU_MAX_CONNECTIONS`,
    /// `KEFU_MAX_CONNECTIONS_PER_ADDRESS`, `KEFU_HEADER_TIMEOUT_SECS`, `KEFU_HELLO_TIMEOUT_SECS`,
    /// `KEFU_ADDRESS_CONVERSATIONS_PER_MINUTE`, `KEFU_ADDRESS_MESSAGES_PER_MINUTE`,
    /// `KEFU_SHOPPER_CONVERSATIONS_PER_MINUTE`, `KEFU_SHOPPER_MESSAGES_PER_MINUTE`,
    /// `KEFU_TRUSTED_PROXIES` (comma-separated), `KEFU_METRICS_LISTEN` (empty: none),
    /// `KEFU_MAX_CONCURRENT_LOGINS`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env {
                name: name.into(),
                value: value.into(),
                message: e.to_string(),
            })
        }
        if let Some(v) = get("KEFU_LISTEN") {
            self.listen = parse("KEFU_LISTEN", &v)?;
        }
        if let Some(v) = get("KEFU_DATABASE") {
            self.database = v.into();
        }
        if let Some(v) = get("KEFU_KNOWLEDGE") {
            self.knowledge = v.into();
        }
        if let Some(v) = get("KEFU_MODEL") {
            self.model = v.into();
        }
        if let Some(v) = get("KEFU_MODEL_STORE") {
            self.model_store = v.into();
        }
        if let Some(v) = get("KEFU_TOKEN_SECRET") {
            self.token_secret = Some(v);
        }
        if let Some(v) = get("KEFU_STAFF_TOKEN_SECRET") {
            self.staff_token_secret = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = get("KEFU_SHOPPER_TOKEN_MAX_SECS") {
            self.shopper_token_max_secs = parse("KEFU_SHOPPER_TOKEN_MAX_SECS", &v)?;
        }
        if let Some(v) = get("KEFU_MAX_MESSAGE_CHARS") {
            self.max_message_chars = parse("KEFU_MAX_MESSAGE_CHARS", &v)?;
        }
        if let Some(v) = get("KEFU_MESSAGES_PER_MINUTE") {
            self.messages_per_minute = parse("KEFU_MESSAGES_PER_MINUTE", &v)?;
        }
        if let Some(v) = get("KEFU_FIXED_TIME") {
            self.fixed_time = Some(v);
        }
        if let Some(v) = get("KEFU_IDLE_TIMEOUT_SECS") {
            self.idle_timeout_secs = parse("KEFU_IDLE_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("KEFU_SEND_TIMEOUT_SECS") {
            self.send_timeout_secs = parse("KEFU_SEND_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("KEFU_AGENT_GRACE_SECS") {
            self.agent_grace_secs = parse("KEFU_AGENT_GRACE_SECS", &v)?;
        }
        if let Some(v) = get("KEFU_AGENT_CAPACITY") {
            self.agent_capacity = parse("KEFU_AGENT_CAPACITY", &v)?;
        }
        if let Some(v) = get("KEFU_BUSINESS_HOURS") {
            self.business_hours = (!v.trim().is_empty()).then_some(v);
        }
        if let Some(v) = get("KEFU_BUSINESS_TIMEZONE") {
            self.business_timezone = v;
        }
        if let Some(v) = get("KEFU_WEB_DIR") {
            self.web_dir = (!v.trim().is_empty()).then(|| v.into());
        }
        macro_rules! number {
            ($($field:ident => $name:literal),* $(,)?) => {$(
                if let Some(v) = get($name) {
                    self.$field = parse($name, &v)?;
                }
            )*};
        }
        number! {
            max_connections => "KEFU_MAX_CONNECTIONS",
            max_connections_per_address => "KEFU_MAX_CONNECTIONS_PER_ADDRESS",
            header_timeout_secs => "KEFU_HEADER_TIMEOUT_SECS",
            hello_timeout_secs => "KEFU_HELLO_TIMEOUT_SECS",
            address_conversations_per_minute => "KEFU_ADDRESS_CONVERSATIONS_PER_MINUTE",
            address_messages_per_minute => "KEFU_ADDRESS_MESSAGES_PER_MINUTE",
            shopper_conversations_per_minute => "KEFU_SHOPPER_CONVERSATIONS_PER_MINUTE",
            shopper_messages_per_minute => "KEFU_SHOPPER_MESSAGES_PER_MINUTE",
            max_concurrent_logins => "KEFU_MAX_CONCURRENT_LOGINS",
        }
        if let Some(v) = get("KEFU_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| parse("KEFU_TRUSTED_PROXIES", a))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = get("KEFU_METRICS_LISTEN") {
            self.metrics_listen =
                if v.trim().is_empty() { None } else { Some(parse("KEFU_METRICS_LISTEN", &v)?) };
        }
        Ok(())
    }

    /// The clock the service runs on.
    pub fn clock(&self) -> crate::dialogue::Clock {
        match self.fixed_time.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
            Some(t) => crate::dialogue::Clock::Fixed(t),
            None => crate::dialogue::Clock::System,
        }
    }

    /// The model versions folder in force (see `model_store`).
    pub fn model_store_dir(&self) -> PathBuf {
        if !self.model_store.as_os_str().is_empty() {
            return self.model_store.clone();
        }
        self.database.parent().map(|d| d.join("models")).unwrap_or_else(|| PathBuf::from("models"))
    }

    /// The business hours in force (validated by [`Config::validate`]).
    pub fn hours(&self) -> Result<Option<crate::agents::hours::BusinessHours>, ConfigError> {
        self.business_hours
            .as_deref()
            .map(|h| crate::agents::hours::BusinessHours::parse(h, &self.business_timezone))
            .transpose()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.hours()?;
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
            ("max_concurrent_logins", self.max_concurrent_logins as u64),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
        }
        if self.metrics_listen.is_some_and(|m| m == self.listen) {
            return Err(ConfigError::Invalid("metrics_listen must differ from listen".into()));
        }
        Ok(())
    }
}

/// Written by hand so that the secrets are never printed (logs, error reports).
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database", &self.database)
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
            .field("fixed_time", &self.fixed_time)
            .field("agent_grace_secs", &self.agent_grace_secs)
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
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_listen", &self.metrics_listen)
            .field("max_concurrent_logins", &self.max_concurrent_logins)
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

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kefu.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:9000\"\nlisen = 1\n").unwrap();
        let e = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("lisen"), "{e}");
    }
}
