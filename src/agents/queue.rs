//! The waiting queue and the choice of agent, as plain data (no tasks, no I/O), so the rules
//! can be read and tested on their own: VIP shoppers first, then the longest wait; a waiting
//! conversation goes to the least-loaded online agent who serves its language and has room.

use crate::records::{EscalationContext, Page};
use std::time::Instant;

use serde::Serialize;

use crate::lang::Lang;

/// A conversation waiting for an agent.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub conversation_id: String,
    pub handoff: i64,
    pub lang: Lang,
    pub vip: bool,
    pub reason: String,
    pub shopper_id: Option<String>,
    pub shopper_name: Option<String>,
    /// When it was queued (RFC 3339, as stored) and on the monotonic clock.
    pub queued_at: String,
    pub since: Instant,
    /// What the bot knew when it handed over (shown to the agent who takes it).
    pub bot: EscalationContext,
    /// An agent who must not get it back (they transferred it to the queue).
    pub exclude: Option<String>,
}

/// A queue entry as agents see it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct QueueItem {
    pub conversation_id: String,
    pub lang: Lang,
    pub vip: bool,
    pub reason: String,
    pub shopper_id: Option<String>,
    pub shopper_name: Option<String>,
    pub queued_at: String,
    pub waiting_secs: u64,
    /// The page the shopper is on (product, order, address), when the widget said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<Page>,
}

#[derive(Debug, Default)]
pub struct Queue {
    items: Vec<Waiting>,
}

impl Queue {
    /// Adds a conversation (once: a conversation already waiting keeps its place).
    pub fn push(&mut self, w: Waiting) {
        if !self.contains(&w.conversation_id) {
            self.items.push(w);
        }
    }

    pub fn contains(&self, conversation_id: &str) -> bool {
        self.items.iter().any(|w| w.conversation_id == conversation_id)
    }

    pub fn get_mut(&mut self, conversation_id: &str) -> Option<&mut Waiting> {
        self.items.iter_mut().find(|w| w.conversation_id == conversation_id)
    }

    pub fn remove(&mut self, conversation_id: &str) -> Option<Waiting> {
        let i = self.items.iter().position(|w| w.conversation_id == conversation_id)?;
        Some(self.items.remove(i))
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The waiting conversations in the order they are served: VIP first, then longest wait.
    pub fn ordered(&self) -> Vec<&Waiting> {
        let mut v: Vec<&Waiting> = self.items.iter().collect();
        v.sort_by(|a, b| b.vip.cmp(&a.vip).then(a.since.cmp(&b.since)).then(a.handoff.cmp(&b.handoff)));
        v
    }

    /// 1-based place of a conversation among those waiting in its language.
    pub fn position(&self, conversation_id: &str) -> Option<usize> {
        let lang = self.items.iter().find(|w| w.conversation_id == conversation_id)?.lang;
        self.ordered()
            .into_iter()
            .filter(|w| w.lang == lang)
            .position(|w| w.conversation_id == conversation_id)
            .map(|p| p + 1)
    }

    pub fn items(&self, now: Instant) -> Vec<QueueItem> {
        self.ordered()
            .into_iter()
            .map(|w| QueueItem {
                conversation_id: w.conversation_id.clone(),
                lang: w.lang,
                vip: w.vip,
                reason: w.reason.clone(),
                shopper_id: w.shopper_id.clone(),
                shopper_name: w.shopper_name.clone(),
                queued_at: w.queued_at.clone(),
                waiting_secs: now.duration_since(w.since).as_secs(),
                page: Some(w.bot.page.clone()).filter(|p| *p != Page::default()),
            })
            .collect()
    }
}

/// What assignment needs to know about an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Seat<'a> {
    pub name: &'a str,
    /// Connected and present (not away, not in a reconnect grace period).
    pub available: bool,
    pub langs: &'a [Lang],
    pub capacity: usize,
    pub load: usize,
}

/// The least-loaded available agent who serves `lang` and has room (ties: by name, so the
/// choice is deterministic).
pub fn pick<'a>(seats: &[Seat<'a>], lang: Lang) -> Option<&'a str> {
    seats
        .iter()
        .filter(|s| s.available && s.load < s.capacity && s.langs.contains(&lang))
        .min_by(|a, b| a.load.cmp(&b.load).then(a.name.cmp(b.name)))
        .map(|s| s.name)
}

/// Expected wait for the `position`-th shopper in line, from the agents serving the language
/// and the average handle time: each agent frees a seat every `handle / capacity` on average.
pub fn expected_wait_secs(
    position: usize,
    seats: &[Seat<'_>],
    lang: Lang,
    average_handle_secs: f64,
) -> Option<u64> {
    let slots: usize =
        seats.iter().filter(|s| s.available && s.langs.contains(&lang)).map(|s| s.capacity.max(1)).sum();
    (slots > 0).then(|| (position as f64 * average_handle_secs / slots as f64).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn waiting(id: &str, vip: bool, since: Instant, lang: Lang) -> Waiting {
        Waiting {
            conversation_id: id.into(),
            handoff: 0,
            lang,
            vip,
            reason: "requested".into(),
            shopper_id: None,
            shopper_name: None,
            queued_at: String::new(),
            since,
            bot: EscalationContext::default(),
            exclude: None,
        }
    }

    #[test]
    fn vip_first_then_longest_wait() {
        let t0 = Instant::now();
        let mut q = Queue::default();
        q.push(waiting("a", false, t0, Lang::Zh));
        q.push(waiting("b", true, t0 + Duration::from_secs(5), Lang::Zh));
        q.push(waiting("c", false, t0 + Duration::from_secs(1), Lang::En));
        q.push(waiting("a", false, t0 + Duration::from_secs(9), Lang::Zh)); // already waiting
        let order: Vec<&str> = q.ordered().iter().map(|w| w.conversation_id.as_str()).collect();
        assert_eq!(order, ["b", "a", "c"]);
        assert_eq!(q.position("a"), Some(2));
        assert_eq!(q.position("c"), Some(1), "positions count within a language");
        assert!(q.remove("b").is_some());
        assert_eq!(q.position("a"), Some(1));
    }

    #[test]
    fn least_loaded_available_agent_of_the_language() {
        let zh = [Lang::Zh];
        let both = [Lang::Zh, Lang::En];
        let seats = [
            Seat { name: "li", available: true, langs: &zh, capacity: 5, load: 2 },
            Seat { name: "amy", available: true, langs: &both, capacity: 5, load: 3 },
            Seat { name: "wang", available: false, langs: &both, capacity: 5, load: 0 },
            Seat { name: "zhao", available: true, langs: &zh, capacity: 2, load: 2 },
        ];
        assert_eq!(pick(&seats, Lang::Zh), Some("li"));
        assert_eq!(pick(&seats, Lang::En), Some("amy"));
        let full = [Seat { name: "li", available: true, langs: &zh, capacity: 1, load: 1 }];
        assert_eq!(pick(&full, Lang::Zh), None);
        assert_eq!(expected_wait_secs(2, &seats, Lang::En, 300.0), Some(120));
        assert_eq!(expected_wait_secs(1, &seats[2..3], Lang::En, 300.0), None);
    }
}
