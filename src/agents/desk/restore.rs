//! Start-up: every conversation that was waiting for or talking to an agent when the service
//! last stopped goes back in the queue or to its owner (who gets the grace period to return).

use std::collections::BTreeSet;
use std::time::Instant;

use super::state::{Agent, Owned, State};
use crate::agents::protocol::Presence;
use crate::agents::queue::Waiting;
use crate::lang::Lang;
use crate::store::StoreError;

impl State {
    pub(super) async fn restore(&mut self) -> Result<(), StoreError> {
        let open = self.store.open_handoffs().await?;
        let now = Instant::now();
        for o in open {
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
                    let display_name = match self.store.account(agent.clone()).await? {
                        Some(a) => a.display_name,
                        None => agent.clone(),
                    };
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
                    self.owners.insert(conv, Owned { agent, waiting, since: now });
                }
            }
        }
        if !self.queue.is_empty() || !self.owners.is_empty() {
            tracing::info!(waiting = self.queue.len(), owned = self.owners.len(), "agent desk restored");
        }
        Ok(())
    }
}
