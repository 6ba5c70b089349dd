//! Time, at the bottom of the crate: where "now" comes from ([`Clock`]) and when human agents
//! work ([`hours`]). Everything that needs the time takes a `Clock`, so demos and tests can pin it.

pub mod hours;

use chrono::{DateTime, FixedOffset};

/// A UTC offset as the config writes it ("+08:00", "-05:30", "Z"); None when it is not one.
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    DateTime::parse_from_rfc3339(&format!("2026-01-01T00:00:00{}", s.trim())).ok().map(|t| *t.offset())
}

/// Where "now" comes from: the system clock, or a fixed instant (demos and tests, so the
/// 7-day return window of the demo orders does not move).
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(DateTime<FixedOffset>),
}

impl Clock {
    pub fn now(&self) -> DateTime<FixedOffset> {
        match self {
            Clock::System => chrono::Utc::now().fixed_offset(),
            Clock::Fixed(t) => *t,
        }
    }
}
