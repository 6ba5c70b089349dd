//! The outbound webhooks' outbox on PostgreSQL: an event is written inside the transaction of
//! the change it describes (a return opened, a feedback record written, a handoff, a ticket), so
//! the two commit together or not at all, as `store::webhooks::record_event` does on SQLite. The
//! body is the same [`Event`] JSON, byte for byte what every delivery sends.

use deadpool_postgres::{GenericClient, Transaction};

use crate::store::webhooks::{random_event_id, return_event_id, Event, EventData};
use crate::store::{now, ReturnRequest, StoreError};

/// Writes an event into the outbox inside the caller's transaction (a fresh random id): the
/// caller commits it with its change.
pub(super) async fn record_event(tx: &Transaction<'_>, data: EventData) -> Result<(), StoreError> {
    insert(tx, Event { id: random_event_id(), created_at: now(), data }, false).await?;
    Ok(())
}

/// `return.requested` for a return another system opened, once per return id however often it
/// is reported (the event id is derived from the return's). True when recorded now.
pub(super) async fn record_return_requested(
    client: &impl GenericClient,
    r: &ReturnRequest,
) -> Result<bool, StoreError> {
    let event =
        Event { id: return_event_id(&r.id), created_at: now(), data: EventData::ReturnRequested(r.into()) };
    insert(client, event, true).await
}

/// One row of `webhook_events`; with `once`, an id already there is left alone (false).
async fn insert(client: &impl GenericClient, event: Event, once: bool) -> Result<bool, StoreError> {
    let body = serde_json::to_string(&event).expect("events serialise");
    let sql = if once {
        "INSERT INTO webhook_events (id, kind, body, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING"
    } else {
        "INSERT INTO webhook_events (id, kind, body, created_at) VALUES ($1, $2, $3, $4)"
    };
    let st = client.prepare_cached(sql).await?;
    let n = client.execute(&st, &[&event.id, &event.data.kind().as_str(), &body, &event.created_at]).await?;
    Ok(n == 1)
}
