//! Start-up: every conversation that was waiting for or talking to an agent when the service
//! last stopped goes back in the queue or to its owner (who gets the grace period to return).
//! [`read`] asks the store (before the desk's loop starts); [`State::restore`] decides.

use std::collections::{BTreeSet, HashMap};

use super::state::{Agent, Owned, State};
use crate::agents::protocol::Presence;
use crate::agents::queue::Waiting;
use crate::lang::Lang;
use crate::store::{AccountStore, HandoffStore, OpenHandoff, StoreError};

/// What the desk starts from: the open handoffs, and the display names of their agents.
pub(crate) struct Open {
    pub(crate) handoffs: Vec<OpenHandoff>,
    pub(crate) display_names: HashMap<String, String>,
}

pub(crate) async fn read<S: HandoffStore + AccountStore>(store: &S) -> Result<Open, StoreError> {
    let handoffs = store.open_handoffs().await?;
    let mut display_names = HashMap::new();
    for agent in
        handoffs.iter().filter(|o| o.handoff.assigned_at.is_some()).filter_map(|o| o.handoff.agent.as_ref())
    {
        if !display_names.contains_key(agent) {
            let name =
                store.account(agent.clone()).await?.map(|a| a.display_name).unwrap_or_else(|| agent.clone());
            display_names.insert(agent.clone(), name);
        }
    }
    Ok(Open { handoffs, display_names })
}

impl State {
    pub(crate) fn restore(&mut self, open: Open) {
        let now = self.now;
        for o in open.handoffs {
            let waiting = Waiting {
                conversation_id: o.handoff.conversation_id.clone(),
                handoff: o.handoff.id,
                lang: o.lang,
                vip: o.vip,
                reason: o.handoff.reason.clone(),
                shopper_id: o.shopper_id,
                shopper_name: o.shopper_name,
                queued_at: o.handoff.queued_at.clone(),
                since: now,
                bot: o.handoff.context,
                exclude: None,
            };
            match o.handoff.agent.filter(|_| o.handoff.assigned_at.is_some()) {
                None => self.queue.push(waiting),
                Some(agent) => {
                    let display_name =
                        open.display_names.get(&agent).cloned().unwrap_or_else(|| agent.clone());
                    let slot = self.agents.entry(agent.clone()).or_insert_with(|| Agent {
                        display_name,
                        presence: Presence::Online,
                        capacity: self.config.default_capacity,
                        langs: vec![Lang::Zh, Lang::En],
                        conn: None,
                        grace_until: Some(now + self.config.grace),
                        conversations: BTreeSet::new(),
                    });
                    slot.conversations.insert(waiting.conversation_id.clone());
                    let conv = waiting.conversation_id.clone();
                    self.owners.insert(conv, Owned { agent, waiting, since: now, loading: None });
                }
            }
        }
        if !self.queue.is_empty() || !self.owners.is_empty() {
            tracing::info!(waiting = self.queue.len(), owned = self.owners.len(), "agent desk restored");
        }
    }
}
