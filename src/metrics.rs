//! Service metrics in the Prometheus text format (`GET /metrics`), with the `prometheus` crate.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::store::StoreStats;

/// The counters the service keeps. One instance per server, in `AppState`.
pub struct Metrics {
    registry: Registry,
    /// Open shopper WebSocket connections.
    pub connections: IntGauge,
    /// Shopper messages stored and acknowledged.
    pub messages: IntCounter,
    /// Messages by the intent the router acted on.
    pub intents: IntCounterVec,
    /// Escalations to human agents, by reason.
    pub escalations: IntCounterVec,
    /// Error frames sent, by code.
    pub errors: IntCounterVec,
    /// Seconds from a message's arrival to its last reply being queued.
    pub reply_latency: Histogram,
    /// Open client connections (HTTP and WebSocket, every kind).
    pub open_connections: IntGauge,
    /// Connections closed at once because of a connection limit, by limit (`total`, `address`).
    pub refused: IntCounterVec,
    /// Shopper requests refused by a shared rate limit, by what was limited and whose limit
    /// (`conversation`/`message`, `address`/`shopper`).
    pub limited: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("kefu".into()), None).expect("valid prefix");
        let connections = IntGauge::new("connections", "Open shopper WebSocket connections").expect("metric");
        let messages =
            IntCounter::new("messages_total", "Shopper messages stored and acknowledged").expect("metric");
        let intents = IntCounterVec::new(
            Opts::new("intents_total", "Shopper messages by predicted intent"),
            &["intent"],
        )
        .expect("metric");
        let escalations =
            IntCounterVec::new(Opts::new("escalations_total", "Escalations to human agents"), &["reason"])
                .expect("metric");
        let errors =
            IntCounterVec::new(Opts::new("errors_total", "Error frames sent"), &["code"]).expect("metric");
        let reply_latency = Histogram::with_opts(
            HistogramOpts::new(
                "reply_latency_seconds",
                "From a shopper message arriving to its replies being queued",
            )
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]),
        )
        .expect("metric");
        let open_connections =
            IntGauge::new("open_connections", "Open client connections of every kind").expect("metric");
        let refused = IntCounterVec::new(
            Opts::new("connections_refused_total", "Connections closed at once by a connection limit"),
            &["limit"],
        )
        .expect("metric");
        let limited = IntCounterVec::new(
            Opts::new("rate_limited_total", "Shopper requests refused by a per-address or per-shopper limit"),
            &["what", "limit"],
        )
        .expect("metric");
        for c in [
            Box::new(connections.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(messages.clone()),
            Box::new(intents.clone()),
            Box::new(escalations.clone()),
            Box::new(errors.clone()),
            Box::new(reply_latency.clone()),
            Box::new(open_connections.clone()),
            Box::new(refused.clone()),
            Box::new(limited.clone()),
        ] {
            registry.register(c).expect("metric registers once");
        }
        Metrics {
            registry,
            connections,
            messages,
            intents,
            escalations,
            errors,
            reply_latency,
            open_connections,
            refused,
            limited,
        }
    }

    /// All metrics in the text exposition format, with the store's group-commit counters.
    pub fn render(&self, store: Option<&StoreStats>, desk: Option<&crate::agents::desk::Snapshot>) -> String {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf).expect("text encoding");
        let mut text = String::from_utf8(buf).expect("UTF-8 metrics");
        // the SQLite writer's group commits (PostgreSQL commits in its own server)
        if let Some(store) = store {
            for (name, help, v) in [
                ("kefu_store_commits_total", "Database transactions (one fsync each)", &store.batches),
                ("kefu_store_jobs_total", "Database operations, grouped into commits", &store.jobs),
                ("kefu_store_failed_commits_total", "Database transactions that failed", &store.failed),
                (
                    "kefu_store_slow_commits_total",
                    "Database transactions that took 20 ms or more",
                    &store.slow,
                ),
            ] {
                let v = v.load(std::sync::atomic::Ordering::Relaxed);
                text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"));
            }
            let longest = store.longest_us.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6;
            text.push_str(&format!(
                "# HELP kefu_store_longest_commit_seconds The longest database transaction so far\n# TYPE kefu_store_longest_commit_seconds gauge\nkefu_store_longest_commit_seconds {longest}\n"
            ));
        }
        if let Some(d) = desk {
            let online = d.agents.iter().filter(|a| a.connected).count();
            let owned: usize = d.agents.iter().map(|a| a.conversations.len()).sum();
            let oldest = d.queue.iter().map(|q| q.waiting_secs).max().unwrap_or(0);
            for (name, help, v) in [
                ("kefu_agent_queue_waiting", "Conversations waiting for a human agent", d.queue.len() as u64),
                (
                    "kefu_agent_queue_oldest_seconds",
                    "How long the longest-waiting conversation has waited",
                    oldest,
                ),
                ("kefu_agents_connected", "Human agents connected", online as u64),
                ("kefu_agent_conversations", "Conversations human agents hold", owned as u64),
            ] {
                text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"));
            }
        }
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
