//! Business hours for human agents: `"09:00-24:00"` in a fixed UTC offset such as `"+08:00"`.
//! Outside them, escalated shoppers are told so and offered to leave a message.

use chrono::{DateTime, FixedOffset, NaiveTime, Timelike};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessHours {
    /// Minutes after midnight: open from `open` until (not including) `close`; `close` may be 1440.
    open: u32,
    close: u32,
    offset: FixedOffset,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HoursError {
    #[error("business hours {0:?}: expected HH:MM-HH:MM, e.g. 09:00-24:00")]
    Range(String),
    #[error("timezone {0:?}: expected a UTC offset such as +08:00")]
    Offset(String),
}

fn minutes(s: &str) -> Option<u32> {
    if s == "24:00" {
        return Some(24 * 60);
    }
    let t = NaiveTime::parse_from_str(s, "%H:%M").ok()?;
    Some(t.hour() * 60 + t.minute())
}

impl BusinessHours {
    pub fn parse(range: &str, offset: &str) -> Result<BusinessHours, HoursError> {
        let bad = || HoursError::Range(range.to_string());
        let (a, b) = range.trim().split_once('-').ok_or_else(bad)?;
        let (open, close) = (minutes(a.trim()).ok_or_else(bad)?, minutes(b.trim()).ok_or_else(bad)?);
        if open == close {
            return Err(bad());
        }
        let offset = super::parse_offset(offset).ok_or_else(|| HoursError::Offset(offset.to_string()))?;
        Ok(BusinessHours { open, close, offset })
    }

    /// Whether agents work at `now` (a range like 22:00-06:00 runs over midnight).
    pub fn is_open(&self, now: DateTime<FixedOffset>) -> bool {
        let local = now.with_timezone(&self.offset);
        let m = local.hour() * 60 + local.minute();
        if self.open < self.close {
            (self.open..self.close).contains(&m)
        } else {
            m >= self.open || m < self.close
        }
    }

    /// The hours as shoppers read them, e.g. "09:00–24:00".
    pub fn describe(&self) -> String {
        format!("{:02}:{:02}–{:02}:{:02}", self.open / 60, self.open % 60, self.close / 60, self.close % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn open_and_closed() {
        let h = BusinessHours::parse("09:00-24:00", "+08:00").unwrap();
        assert!(h.is_open(at("2026-11-25T09:00:00+08:00")));
        assert!(h.is_open(at("2026-11-25T23:59:00+08:00")));
        assert!(!h.is_open(at("2026-11-25T08:59:00+08:00")));
        assert!(!h.is_open(at("2026-11-25T00:30:00Z")), "08:30 in Beijing");
        let night = BusinessHours::parse("22:00-06:00", "+00:00").unwrap();
        assert!(night.is_open(at("2026-11-25T23:00:00Z")) && night.is_open(at("2026-11-25T05:00:00Z")));
        assert!(!night.is_open(at("2026-11-25T12:00:00Z")));
        assert_eq!(h.describe(), "09:00–24:00");
        assert!(BusinessHours::parse("9-5", "+08:00").is_err());
        assert!(BusinessHours::parse("09:00-18:00", "Beijing").is_err());
    }
}
