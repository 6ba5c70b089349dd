//! Tickets on PostgreSQL (the same rows and rules as `store::tickets`): open, answered (the
//! answer is also an agent message in the ticket's conversation), closed; the answers shown to
//! the shopper on their next visit. Answering and delivering hold the ticket's row
//! (`SELECT … FOR UPDATE`), so two nodes answer a ticket once and deliver an answer once.

use deadpool_postgres::tokio_postgres::Row;
use deadpool_postgres::{GenericClient, Transaction};

use super::conversations::insert_message;
use super::events::record_event;
use super::PgStore;
use crate::lang::Lang;
use crate::records::MessageMeta;
use crate::store::records::new_id;
use crate::store::tickets::TICKET_COLUMNS;
use crate::store::webhooks::{EventData, TicketAnswered, TicketCreated};
use crate::store::{now, Sender, StoreError, Ticket};

pub(super) fn ticket_row(r: &Row) -> Result<Ticket, StoreError> {
    Ok(Ticket {
        id: r.try_get(0)?,
        conversation_id: r.try_get(1)?,
        shopper_id: r.try_get(2)?,
        lang: Lang::parse(r.try_get(3)?).unwrap_or(Lang::Zh),
        text: r.try_get(4)?,
        contact: r.try_get(5)?,
        status: r.try_get(6)?,
        created_at: r.try_get(7)?,
        closed_by: r.try_get(8)?,
        closed_at: r.try_get(9)?,
        answer: r.try_get(10)?,
        answered_by: r.try_get(11)?,
        answered_at: r.try_get(12)?,
        delivered_at: r.try_get(13)?,
    })
}

/// Tickets of a query on `TICKET_COLUMNS`.
pub(super) async fn query(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn deadpool_postgres::tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Ticket>, StoreError> {
    let st = client.prepare_cached(sql).await?;
    client.query(&st, params).await?.iter().map(ticket_row).collect()
}

/// One ticket, held (`FOR UPDATE`) for the rest of the transaction when `lock`.
async fn by_id(client: &impl GenericClient, id: &str, lock: bool) -> Result<Option<Ticket>, StoreError> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    Ok(query(client, &sql, &[&id]).await?.pop())
}

/// The agent message that carries a ticket's answer (its client id keeps it stored once per
/// conversation).
async fn answer_message(
    tx: &Transaction<'_>,
    conversation_id: &str,
    t: &Ticket,
    agent: &str,
    text: &str,
) -> Result<(), StoreError> {
    let key = format!("ticket:{}", t.id);
    let meta =
        MessageMeta { agent: Some(agent.to_string()), ticket: Some(t.id.clone()), ..MessageMeta::default() };
    insert_message(tx, conversation_id, Some(&key), Sender::Agent, text, Some(&meta)).await?;
    Ok(())
}

pub(super) async fn create(
    store: &PgStore,
    conversation_id: String,
    shopper_id: Option<String>,
    lang: Lang,
    text: String,
    contact: Option<String>,
) -> Result<Ticket, StoreError> {
    let t = Ticket {
        id: new_id("T", 10),
        conversation_id,
        shopper_id,
        lang,
        text,
        contact,
        status: "open".into(),
        created_at: now(),
        closed_by: None,
        closed_at: None,
        answer: None,
        answered_by: None,
        answered_at: None,
        delivered_at: None,
    };
    let mut client = store.pool.get().await?;
    let tx = client.transaction().await?;
    let st = tx
        .prepare_cached(
            "INSERT INTO tickets (id, conversation_id, shopper_id, lang, text, contact, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    tx.execute(
        &st,
        &[
            &t.id,
            &t.conversation_id,
            &t.shopper_id,
            &t.lang.code(),
            &t.text,
            &t.contact,
            &t.status,
            &t.created_at,
        ],
    )
    .await?;
    record_event(&tx, EventData::TicketCreated(TicketCreated::from(&t))).await?;
    tx.commit().await?;
    Ok(t)
}

pub(super) async fn list(store: &PgStore, status: Option<String>) -> Result<Vec<Ticket>, StoreError> {
    let client = store.pool.get().await?;
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE $1::text IS NULL OR status = $1 ORDER BY created_at, id"
    );
    query(&client, &sql, &[&status]).await
}

pub(super) async fn one(store: &PgStore, id: String) -> Result<Option<Ticket>, StoreError> {
    let client = store.pool.get().await?;
    by_id(&client, &id, false).await
}

pub(super) async fn close(store: &PgStore, id: String, by: String) -> Result<bool, StoreError> {
    let client = store.pool.get().await?;
    let st = client
        .prepare_cached(
            "UPDATE tickets SET status = 'closed', closed_by = $2, closed_at = $3
             WHERE id = $1 AND status IN ('open', 'answered')",
        )
        .await?;
    Ok(client.execute(&st, &[&id, &by, &now()]).await? == 1)
}

pub(super) async fn answer(
    store: &PgStore,
    id: String,
    by: String,
    text: String,
) -> Result<Option<Ticket>, StoreError> {
    let mut client = store.pool.get().await?;
    let tx = client.transaction().await?;
    let Some(mut t) = by_id(&tx, &id, true).await?.filter(|t| t.status == "open") else { return Ok(None) };
    answer_message(&tx, &t.conversation_id, &t, &by, &text).await?;
    let at = now();
    let st = tx
        .prepare_cached(
            "UPDATE tickets SET status = 'answered', answer = $2, answered_by = $3, answered_at = $4 WHERE id = $1",
        )
        .await?;
    tx.execute(&st, &[&id, &text, &by, &at]).await?;
    (t.status, t.answer, t.answered_by, t.answered_at) = ("answered".into(), Some(text), Some(by), Some(at));
    record_event(&tx, EventData::TicketAnswered(TicketAnswered::from(&t))).await?;
    tx.commit().await?;
    Ok(Some(t))
}

pub(super) async fn undelivered(
    store: &PgStore,
    conversation_id: String,
    shopper_id: Option<String>,
) -> Result<Vec<Ticket>, StoreError> {
    let client = store.pool.get().await?;
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets
         WHERE answer IS NOT NULL AND delivered_at IS NULL
           AND (conversation_id = $1 OR ($2::text IS NOT NULL AND shopper_id = $2))
         ORDER BY answered_at, id"
    );
    query(&client, &sql, &[&conversation_id, &shopper_id]).await
}

pub(super) async fn deliver(
    store: &PgStore,
    conversation_id: String,
    tickets: Vec<String>,
) -> Result<usize, StoreError> {
    let mut client = store.pool.get().await?;
    let tx = client.transaction().await?;
    let mut marked = 0;
    for id in tickets {
        let Some(t) = by_id(&tx, &id, true).await?.filter(|t| t.delivered_at.is_none()) else { continue };
        let (Some(answer), Some(by)) = (t.answer.as_deref(), t.answered_by.as_deref()) else { continue };
        if t.conversation_id != conversation_id {
            answer_message(&tx, &conversation_id, &t, by, answer).await?;
        }
        let st = tx.prepare_cached("UPDATE tickets SET delivered_at = $2 WHERE id = $1").await?;
        marked += tx.execute(&st, &[&id, &now()]).await? as usize;
    }
    tx.commit().await?;
    Ok(marked)
}
