//! Retention (issue 21, item 2): every kind of data with a period (`retention_*_days` in the
//! config) is purged once past it — messages, notes, answered and closed tickets, login and
//! phone-guess lockout counters deleted; feedback records anonymised, never deleted, so the
//! statistics keep their counts. One background task ([`start`]) looks every
//! `retention_every_secs`, and purges in batches of at most `retention_batch_rows` rows, each
//! one short transaction (`ShopperDataStore::purge_expired`), with `retention_pause_ms` between
//! them, so a large backlog never holds chat's writes up for long.
//!
//! Times are the system clock's, as the stored rows' are (a fixed demo clock does not apply).
//! With several nodes on PostgreSQL each node runs the job; two purging at once delete or
//! anonymise each row once (the statements only touch rows still expired and not yet done).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::store::{Retained, ShopperDataStore, StoreError};

/// The job's settings, from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Each kind's period; None: kept for ever.
    pub periods: Vec<(Retained, Option<Duration>)>,
    /// How often the job looks; None: it does not run.
    pub every: Option<Duration>,
    pub batch_rows: usize,
    pub pause: Duration,
}

fn days(d: u32) -> Option<Duration> {
    (d > 0).then(|| Duration::from_secs(u64::from(d) * 86_400))
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            periods: vec![
                (Retained::Messages, days(config.retention_messages_days)),
                (Retained::Notes, days(config.retention_notes_days)),
                (Retained::Tickets, days(config.retention_tickets_days)),
                (Retained::Feedback, days(config.retention_feedback_days)),
                (Retained::Logins, days(config.retention_logins_days)),
            ],
            every: (config.retention_every_secs > 0)
                .then(|| Duration::from_secs(config.retention_every_secs)),
            batch_rows: config.retention_batch_rows.clamp(1, 10_000),
            pause: Duration::from_millis(config.retention_pause_ms),
        }
    }
}

/// What is older than this (RFC 3339, as stored) has expired at `now`, for a period; None for
/// none (kept for ever).
pub fn cutoff(now: DateTime<Utc>, period: Option<Duration>) -> Option<String> {
    let period = chrono::Duration::from_std(period?).ok()?;
    let at = now.checked_sub_signed(period)?;
    Some(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// How many rows of one kind one round purged (feedback: anonymised), and in how many batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    pub kind: Retained,
    pub rows: usize,
    pub batches: usize,
}

/// One round at `now`: every kind with a period, batch after batch until a batch comes back
/// short, pausing between batches.
pub async fn run_once(
    store: &impl ShopperDataStore,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Vec<Purged>, StoreError> {
    let mut out = Vec::new();
    for &(kind, period) in &settings.periods {
        let Some(before) = cutoff(now, period) else { continue };
        let mut purged = Purged { kind, rows: 0, batches: 0 };
        loop {
            let n = store.purge_expired(kind, before.clone(), settings.batch_rows).await?;
            purged.rows += n;
            purged.batches += 1;
            if n < settings.batch_rows {
                break;
            }
            tokio::time::sleep(settings.pause).await;
        }
        out.push(purged);
    }
    Ok(out)
}

/// Starts the job (nothing when `every` is None): the first round a minute after start (or
/// `every`, if shorter), then every `every`. A failed round is logged and tried again at the
/// next.
pub fn start<S: ShopperDataStore + 'static>(
    store: S,
    settings: Settings,
) -> Option<tokio::task::JoinHandle<()>> {
    let every = settings.every?;
    Some(tokio::spawn(async move {
        tokio::time::sleep(every.min(Duration::from_secs(60))).await;
        loop {
            match run_once(&store, &settings, Utc::now()).await {
                Ok(purged) => {
                    for p in purged.iter().filter(|p| p.rows > 0) {
                        tracing::info!(
                            kind = p.kind.as_str(),
                            rows = p.rows,
                            batches = p.batches,
                            "retention purged"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "retention round failed; tried again later"),
            }
            tokio::time::sleep(every).await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_of_zero_keeps_for_ever() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(cutoff(now, days(0)), None);
        assert_eq!(cutoff(now, days(30)).as_deref(), Some("2026-11-03T12:00:00.000Z"));
        let settings = Settings::from_config(&Config::default());
        assert_eq!(settings.batch_rows, 500);
        assert!(settings.periods.iter().all(|(_, p)| p.is_some()));
    }
}
