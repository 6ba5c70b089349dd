//! What trainers measure (pure: stored rows in, numbers out). [`review_queue`] finds and groups the
//! shopper questions the bot did not resolve; this module turns a date range into day or
//! ISO-week buckets (days in the store's timezone) and computes each bucket's numbers:
//! conversations, bot resolution and escalation rates, ratings, top intents, FAQ hits, the top
//! unresolved questions and the agents' response and handle times.
//!
//! Which bucket a row falls in: a conversation (and its feedback record) by when it started, a
//! shopper message by when it was sent, a handoff by when an agent was assigned. The numbers
//! are history: trainers' review decisions (dismissed, resolved) do not change them, but the
//! unresolved questions say how many of them were dismissed or resolved since.

pub mod review_queue;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

use crate::store::analytics::{AnalyticsRows, HandoffTimes};
use crate::store::review_rows::{ReviewAction, ReviewDecision};
use review_queue::Group;

/// Longest range asked for at once, in days.
pub const MAX_DAYS: i64 = 366;
/// Entries in each bucket's top intents and FAQ hits.
pub const TOP: usize = 10;
/// Review groups in each bucket's top unresolved questions.
pub const TOP_UNRESOLVED: usize = 5;

/// How long one bucket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    /// An ISO week, Monday to Sunday (cut to the range at its ends).
    Week,
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, RangeError> {
        match s {
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            _ => Err(RangeError(format!("period {s:?}: expected day or week"))),
        }
    }
}

/// A range or period that cannot be measured, with a message saying why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RangeError(pub String);

/// `2026-11-25` (the only form accepted); `name` says which parameter was wrong.
pub fn parse_date(name: &str, s: &str) -> Result<NaiveDate, RangeError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| RangeError(format!("{name} {s:?} is not a date such as 2026-11-25")))
}

/// Whole days `from..=to` in a timezone, split into buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub period: Period,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub offset: FixedOffset,
}

impl Range {
    pub fn new(
        period: Period,
        from: NaiveDate,
        to: NaiveDate,
        offset: FixedOffset,
    ) -> Result<Range, RangeError> {
        if from > to {
            return Err(RangeError(format!("from {from} is after to {to}")));
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_DAYS {
            return Err(RangeError(format!("{days} days asked for; at most {MAX_DAYS} at once")));
        }
        Ok(Range { period, from, to, offset })
    }

    /// The range as stored timestamps compare: `[start of from, start of the day after to)`,
    /// RFC 3339 in UTC with milliseconds, like the store's.
    pub fn utc_bounds(&self) -> (String, String) {
        (self.midnight(self.from), self.midnight(self.to + Duration::days(1)))
    }

    fn midnight(&self, day: NaiveDate) -> String {
        let local = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        let utc = local - Duration::seconds(self.offset.local_minus_utc() as i64);
        utc.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// The local day of a stored timestamp.
    fn day_of(&self, at: &str) -> Option<NaiveDate> {
        DateTime::parse_from_rfc3339(at).ok().map(|t| t.with_timezone(&self.offset).date_naive())
    }

    fn week_start(day: NaiveDate) -> NaiveDate {
        day - Duration::days(day.weekday().num_days_from_monday() as i64)
    }

    /// Each bucket's label and first and last day.
    pub fn buckets(&self) -> Vec<(String, NaiveDate, NaiveDate)> {
        let mut out = Vec::new();
        let mut day = self.from;
        while day <= self.to {
            let (end, label) = match self.period {
                Period::Day => (day, day.to_string()),
                Period::Week => {
                    let iso = day.iso_week();
                    let sunday = Self::week_start(day) + Duration::days(6);
                    (sunday.min(self.to), format!("{}-W{:02}", iso.year(), iso.week()))
                }
            };
            out.push((label, day, end));
            day = end + Duration::days(1);
        }
        out
    }

    /// Which bucket a stored timestamp falls in.
    pub fn bucket_of(&self, at: &str) -> Option<usize> {
        let day = self.day_of(at)?;
        if day < self.from || day > self.to {
            return None;
        }
        let i = match self.period {
            Period::Day => (day - self.from).num_days(),
            Period::Week => (Self::week_start(day) - Self::week_start(self.from)).num_days() / 7,
        };
        Some(i as usize)
    }
}

/// Today in a timezone.
pub fn today(offset: FixedOffset) -> NaiveDate {
    Utc::now().with_timezone(&offset).date_naive()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratings {
    pub count: usize,
    pub average: Option<f64>,
    /// How many conversations were rated 1, 2, 3, 4 and 5.
    pub distribution: [usize; 5],
    /// Of those rated 1 or 2, how many an agent wrote in (the rating is about the agent then,
    /// not the bot).
    pub low_after_agent: usize,
}

/// The messages the bot did not resolve (see [`review_queue::unresolved`]), and what trainers
/// decided about them since.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    pub total: usize,
    /// Still in the review queue.
    pub open: usize,
    /// Dismissed as not worth acting on.
    pub dismissed: usize,
    /// Resolved by a knowledge-base change.
    pub resolved: usize,
}

/// A duration's average and 90th percentile (nearest rank), in seconds, over `count` handoffs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Times {
    pub count: usize,
    pub average: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentTimes {
    /// Handoffs assigned in the bucket.
    pub handoffs: usize,
    /// Assignment to the agent's first message.
    pub first_response_secs: Times,
    /// Assignment to the end of the handoff.
    pub handle_secs: Times,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRow {
    pub agent: String,
    #[serde(flatten)]
    pub times: AgentTimes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub name: String,
    pub count: usize,
}

/// The numbers of one day or week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// `2026-11-25`, or the ISO week `2026-W48`.
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Conversations started.
    pub conversations: usize,
    /// Of those, with a feedback record, and with the record's resolution `bot_resolved`.
    pub feedback_records: usize,
    pub bot_resolved: usize,
    /// `bot_resolved / feedback_records`.
    pub bot_resolution_rate: Option<f64>,
    /// Conversations handed to a person (at least once), `/ conversations`, and why (first reason).
    pub escalations: usize,
    pub escalation_rate: Option<f64>,
    pub escalation_reasons: BTreeMap<String, usize>,
    pub ratings: Ratings,
    /// Shopper messages by the intent of the bot's reply, most first.
    pub top_intents: Vec<Count>,
    /// Shopper messages answered from each FAQ entry, most first.
    pub faq_hits: Vec<Count>,
    /// Messages the bot did not resolve, and what became of them in the review queue.
    pub unresolved: Unresolved,
    /// The most asked questions the bot did not resolve (review groups of the bucket, each
    /// with how many of its messages were dismissed or resolved since).
    pub top_unresolved: Vec<Group>,
    pub agents: AgentTimes,
    pub per_agent: Vec<AgentRow>,
}

fn rate(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| round(n as f64 / of as f64))
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn top(counts: BTreeMap<String, usize>, n: usize) -> Vec<Count> {
    let mut v: Vec<Count> = counts.into_iter().map(|(name, count)| Count { name, count }).collect();
    // stable: equal counts stay in name order
    v.sort_by_key(|c| std::cmp::Reverse(c.count));
    v.truncate(n);
    v
}

/// Average and 90th percentile (nearest rank) of some durations.
pub fn times(mut secs: Vec<f64>) -> Times {
    if secs.is_empty() {
        return Times { count: 0, average: None, p90: None };
    }
    secs.sort_by(f64::total_cmp);
    let n = secs.len();
    let rank = (0.9 * n as f64).ceil() as usize;
    Times {
        count: n,
        average: Some(round(secs.iter().sum::<f64>() / n as f64)),
        p90: Some(round(secs[rank.clamp(1, n) - 1])),
    }
}

fn secs_between(a: &str, b: Option<&str>) -> Option<f64> {
    let a = DateTime::parse_from_rfc3339(a).ok()?;
    let b = DateTime::parse_from_rfc3339(b?).ok()?;
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

fn agent_times(handoffs: &[&HandoffTimes]) -> AgentTimes {
    AgentTimes {
        handoffs: handoffs.len(),
        first_response_secs: times(
            handoffs
                .iter()
                .filter_map(|h| secs_between(&h.assigned_at, h.first_response_at.as_deref()))
                .collect(),
        ),
        handle_secs: times(
            handoffs.iter().filter_map(|h| secs_between(&h.assigned_at, h.ended_at.as_deref())).collect(),
        ),
    }
}

/// Every bucket's numbers from the range's rows (as `Store::analytics_rows` reads them) and the
/// trainers' review decisions (which mark unresolved questions, never hide them).
pub fn compute(range: &Range, rows: &AnalyticsRows, decisions: &[ReviewDecision]) -> Vec<Bucket> {
    split(range.buckets(), |at| range.bucket_of(at), rows, decisions)
}

/// The whole range as one bucket (labelled `from..to`): what the range's per-bucket numbers
/// cannot give by adding up (averages, 90th percentiles, rates, the most asked questions).
pub fn total(range: &Range, rows: &AnalyticsRows, decisions: &[ReviewDecision]) -> Bucket {
    let label = format!("{}..{}", range.from, range.to);
    let mut one =
        split(vec![(label, range.from, range.to)], |at| range.bucket_of(at).map(|_| 0), rows, decisions);
    one.pop().expect("one bucket")
}

/// The numbers of `buckets`, each row put in the one `bucket_of` names (none: left out).
fn split(
    buckets: Vec<(String, NaiveDate, NaiveDate)>,
    bucket_of: impl Fn(&str) -> Option<usize>,
    rows: &AnalyticsRows,
    decisions: &[ReviewDecision],
) -> Vec<Bucket> {
    let n = buckets.len();
    let mut conversations = vec![Vec::new(); n];
    for c in &rows.conversations {
        if let Some(i) = bucket_of(&c.started_at) {
            conversations[i].push(c);
        }
    }
    let mut turns = vec![Vec::new(); n];
    for t in &rows.turns {
        if let Some(i) = bucket_of(&t.at) {
            turns[i].push(t);
        }
    }
    let mut unresolved = vec![Vec::new(); n];
    for item in review_queue::mark(review_queue::unresolved(&rows.turns), decisions) {
        if let Some(i) = bucket_of(&item.at) {
            unresolved[i].push(item);
        }
    }
    let mut handoffs = vec![Vec::new(); n];
    for h in &rows.handoffs {
        if let Some(i) = bucket_of(&h.assigned_at) {
            handoffs[i].push(h);
        }
    }
    buckets
        .into_iter()
        .enumerate()
        .map(|(i, (label, from, to))| {
            let convs = &conversations[i];
            let feedback_records = convs.iter().filter(|c| c.has_record).count();
            let bot_resolved =
                convs.iter().filter(|c| c.resolution.as_deref() == Some("bot_resolved")).count();
            let mut escalation_reasons: BTreeMap<String, usize> = BTreeMap::new();
            for reason in convs.iter().filter_map(|c| c.escalation_reason.clone()) {
                *escalation_reasons.entry(reason).or_default() += 1;
            }
            let escalations: usize = escalation_reasons.values().sum();
            let mut distribution = [0usize; 5];
            for r in convs.iter().filter_map(|c| c.rating).filter(|r| (1..=5).contains(r)) {
                distribution[r as usize - 1] += 1;
            }
            let rated: usize = distribution.iter().sum();
            let low_after_agent = convs
                .iter()
                .filter(|c| c.agent_replied && c.rating.is_some_and(|r| (1..=2).contains(&r)))
                .count();
            let items = &unresolved[i];
            let count = |f: fn(Option<ReviewAction>) -> bool| items.iter().filter(|it| f(it.decided)).count();
            let unresolved_counts = Unresolved {
                total: items.len(),
                open: count(|d| d.is_none()),
                dismissed: count(|d| d == Some(ReviewAction::Dismiss)),
                resolved: count(|d| d.is_some_and(|a| a != ReviewAction::Dismiss)),
            };
            let sum: usize = distribution.iter().enumerate().map(|(i, n)| (i + 1) * n).sum();
            let mut intents: BTreeMap<String, usize> = BTreeMap::new();
            let mut faqs: BTreeMap<String, usize> = BTreeMap::new();
            for t in &turns[i] {
                if let Some(intent) = t.replies.iter().find_map(|r| r.intent.clone()) {
                    *intents.entry(intent).or_default() += 1;
                }
                let mut answered: Vec<&str> = t.replies.iter().filter_map(|r| r.faq_id.as_deref()).collect();
                answered.sort_unstable();
                answered.dedup();
                for f in answered {
                    *faqs.entry(f.to_string()).or_default() += 1;
                }
            }
            let mut top_unresolved = review_queue::group(&unresolved[i]);
            top_unresolved.truncate(TOP_UNRESOLVED);
            let mut by_agent: BTreeMap<&str, Vec<&HandoffTimes>> = BTreeMap::new();
            for h in &handoffs[i] {
                by_agent.entry(h.agent.as_str()).or_default().push(*h);
            }
            Bucket {
                label,
                from,
                to,
                conversations: convs.len(),
                feedback_records,
                bot_resolved,
                bot_resolution_rate: rate(bot_resolved, feedback_records),
                escalations,
                escalation_rate: rate(escalations, convs.len()),
                escalation_reasons,
                ratings: Ratings {
                    count: rated,
                    average: (rated > 0).then(|| round(sum as f64 / rated as f64)),
                    distribution,
                    low_after_agent,
                },
                top_intents: top(intents, TOP),
                faq_hits: top(faqs, TOP),
                unresolved: unresolved_counts,
                top_unresolved,
                agents: agent_times(&handoffs[i]),
                per_agent: by_agent
                    .into_iter()
                    .map(|(agent, hs)| AgentRow { agent: agent.to_string(), times: agent_times(&hs) })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::analytics::ConversationStats;
    use crate::store::review_rows::{ReplyMeta, ReviewTurn};
    use crate::time::parse_offset;

    fn beijing() -> FixedOffset {
        parse_offset("+08:00").unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        parse_date("from", s).unwrap()
    }

    #[test]
    fn ranges_are_local_days_in_utc() {
        let r = Range::new(Period::Day, date("2026-11-01"), date("2026-11-30"), beijing()).unwrap();
        assert_eq!(r.utc_bounds(), ("2026-10-31T16:00:00.000Z".into(), "2026-11-30T16:00:00.000Z".into()));
        assert_eq!(r.buckets().len(), 30);
        // 23:30 UTC on the 24th is the 25th in Beijing
        assert_eq!(r.bucket_of("2026-11-24T23:30:00.000Z"), Some(24));
        assert_eq!(r.bucket_of("2026-10-31T15:59:59.999Z"), None);
        assert_eq!(r.bucket_of("not a time"), None);
    }

    #[test]
    fn weeks_are_iso_weeks_cut_to_the_range() {
        // 2026-11-01 is a Sunday
        let r = Range::new(Period::Week, date("2026-11-01"), date("2026-11-30"), beijing()).unwrap();
        let b = r.buckets();
        let labels: Vec<&str> = b.iter().map(|(l, _, _)| l.as_str()).collect();
        assert_eq!(labels, ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49"]);
        assert_eq!((b[0].1, b[0].2), (date("2026-11-01"), date("2026-11-01")));
        assert_eq!((b[1].1, b[1].2), (date("2026-11-02"), date("2026-11-08")));
        assert_eq!((b[5].1, b[5].2), (date("2026-11-30"), date("2026-11-30")));
        assert_eq!(r.bucket_of("2026-11-01T10:00:00.000Z"), Some(0));
        assert_eq!(r.bucket_of("2026-11-08T10:00:00.000Z"), Some(1));
        assert_eq!(r.bucket_of("2026-11-29T17:00:00.000Z"), Some(5));
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        assert_eq!(Period::parse("month").unwrap_err().0, "period \"month\": expected day or week");
        assert!(parse_date("from", "2026-13-01").unwrap_err().0.contains("from \"2026-13-01\""));
        assert!(parse_date("to", "yesterday").is_err());
        let e = Range::new(Period::Day, date("2026-11-30"), date("2026-11-01"), beijing()).unwrap_err();
        assert_eq!(e.0, "from 2026-11-30 is after to 2026-11-01");
        assert!(Range::new(Period::Day, date("2025-01-01"), date("2026-11-01"), beijing()).is_err());
        assert!(parse_offset("Beijing").is_none());
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let t = times((1..=10).map(|s| s as f64).collect());
        assert_eq!((t.count, t.average, t.p90), (10, Some(5.5), Some(9.0)));
        assert_eq!(times(vec![4.0]).p90, Some(4.0));
        assert_eq!(times(vec![]).average, None);
    }

    fn conv(
        id: &str,
        started_at: &str,
        resolution: &str,
        reason: Option<&str>,
        rating: Option<u8>,
    ) -> ConversationStats {
        ConversationStats {
            id: id.into(),
            started_at: started_at.into(),
            escalation_reason: reason.map(str::to_string),
            resolution: Some(resolution.into()),
            has_record: true,
            rating,
            agent_replied: false,
        }
    }

    fn turn(id: i64, at: &str, text: &str, decision: &str, intent: &str, faq_id: Option<&str>) -> ReviewTurn {
        ReviewTurn {
            message_id: id,
            conversation_id: format!("c{id}"),
            text: text.into(),
            at: at.into(),
            rating: None,
            agent_replied: false,
            escalation: None,
            replies: vec![ReplyMeta {
                decision: Some(decision.into()),
                intent: Some(intent.into()),
                faq_id: faq_id.map(str::to_string),
            }],
        }
    }

    #[test]
    fn a_day_in_numbers() {
        let day = "2026-11-25T02:00:00.000Z";
        let rows = AnalyticsRows {
            conversations: vec![
                conv("c1", day, "bot_resolved", None, Some(5)),
                conv("c2", day, "escalated", Some("requested"), Some(1)),
                conv("c3", day, "agent_resolved", Some("complaint"), None),
                conv("c4", day, "bot_resolved", None, Some(4)),
            ],
            turns: vec![
                turn(1, day, "发票怎么开", "answer", "invoice", Some("invoice-electronic")),
                turn(2, day, "电子发票在哪下载", "answer", "invoice", Some("invoice-electronic")),
                turn(3, day, "今天北京天气怎么样", "out_of_scope", "out_of_scope", None),
                turn(
                    4,
                    "2026-11-26T02:00:00.000Z",
                    "今天上海天气怎么样",
                    "out_of_scope",
                    "out_of_scope",
                    None,
                ),
            ],
            handoffs: vec![
                HandoffTimes {
                    agent: "li".into(),
                    assigned_at: "2026-11-25T02:00:00.000Z".into(),
                    first_response_at: Some("2026-11-25T02:00:10.000Z".into()),
                    ended_at: Some("2026-11-25T02:05:00.000Z".into()),
                },
                HandoffTimes {
                    agent: "amy".into(),
                    assigned_at: "2026-11-25T03:00:00.000Z".into(),
                    first_response_at: Some("2026-11-25T03:00:30.000Z".into()),
                    ended_at: None,
                },
            ],
        };
        let r = Range::new(Period::Day, date("2026-11-25"), date("2026-11-26"), beijing()).unwrap();
        let b = compute(&r, &rows, &[]);
        assert_eq!(b.len(), 2);
        let d = &b[0];
        assert_eq!(d.label, "2026-11-25");
        assert_eq!((d.conversations, d.feedback_records, d.bot_resolved), (4, 4, 2));
        assert_eq!(d.bot_resolution_rate, Some(0.5));
        assert_eq!((d.escalations, d.escalation_rate), (2, Some(0.5)));
        assert_eq!(d.escalation_reasons, BTreeMap::from([("complaint".into(), 1), ("requested".into(), 1)]));
        assert_eq!(
            d.ratings,
            Ratings { count: 3, average: Some(3.3333), distribution: [1, 0, 0, 1, 1], low_after_agent: 0 }
        );
        assert_eq!(d.unresolved, Unresolved { total: 1, open: 1, dismissed: 0, resolved: 0 });
        assert_eq!(d.top_intents[0], Count { name: "invoice".into(), count: 2 });
        assert_eq!(d.faq_hits, [Count { name: "invoice-electronic".into(), count: 2 }]);
        assert_eq!(d.top_unresolved.len(), 1);
        assert_eq!(d.top_unresolved[0].representative, "今天北京天气怎么样");
        assert_eq!(d.agents.handoffs, 2);
        assert_eq!(d.agents.first_response_secs.average, Some(20.0));
        assert_eq!(d.agents.first_response_secs.p90, Some(30.0));
        assert_eq!(d.agents.handle_secs.count, 1);
        assert_eq!(d.per_agent.iter().map(|a| a.agent.as_str()).collect::<Vec<_>>(), ["amy", "li"]);
        assert_eq!(d.per_agent[1].times.handle_secs.average, Some(300.0));
        // the next day: only the second weather question, nothing else
        assert_eq!(b[1].conversations, 0);
        assert_eq!(b[1].bot_resolution_rate, None);
        assert_eq!(b[1].top_unresolved[0].count, 1);

        // a trainer dismisses the weather question on the 26th: both days still count it,
        // marked dismissed; a low rating in a conversation an agent wrote in is the agent's
        let dismissed = ReviewDecision {
            id: 1,
            key: review_queue::key("今天北京天气怎么样"),
            text: "今天北京天气怎么样".into(),
            lang: crate::lang::Lang::Zh,
            action: ReviewAction::Dismiss,
            target: None,
            by: "wang".into(),
            at: "2026-11-26T03:00:00.000Z".into(),
        };
        let mut rows = rows;
        rows.conversations[1].agent_replied = true;
        let b = compute(&r, &rows, &[dismissed]);
        assert_eq!(b[0].unresolved, Unresolved { total: 1, open: 0, dismissed: 1, resolved: 0 });
        assert_eq!((b[0].top_unresolved[0].count, b[0].top_unresolved[0].dismissed), (1, 1));
        assert_eq!(b[1].unresolved.dismissed, 1);
        assert_eq!(b[0].ratings.low_after_agent, 1);
        // the whole range at once: sums, and the averages and percentiles over everything
        let all = total(&r, &rows, &[]);
        assert_eq!(all.label, "2026-11-25..2026-11-26");
        assert_eq!((all.conversations, all.unresolved.total), (4, 2));
        assert_eq!(all.top_unresolved[0].count, 2);
        assert_eq!(all.agents.first_response_secs.average, Some(20.0));
    }
}
