//! What the agents read about conversations, on PostgreSQL (the same rows as
//! `store::agent_reads`): everything about one conversation (one snapshot: a read-only
//! repeatable-read transaction), a shopper's profile, conversation search.

use deadpool_postgres::GenericClient;

use super::analytics::{rating, snapshot};
use super::conversations::{
    conversation_row, decode, query_messages, returns_of, shopper_row, CONVERSATION_COLUMNS, SHOPPER_COLUMNS,
};
use super::handoffs::{handoffs_of, notes_of};
use super::PgStore;
use crate::knowledge::Order;
use crate::lang::Lang;
use crate::store::{ConversationContext, ConversationRow, ConversationState, Profile, StoreError};

pub(super) async fn conversation_context(
    store: &PgStore,
    conversation_id: String,
) -> Result<Option<ConversationContext>, StoreError> {
    let mut client = store.pool.get().await?;
    let tx = snapshot(&mut client).await?;
    let st =
        tx.prepare_cached(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1")).await?;
    let conv = tx.query_opt(&st, &[&conversation_id]).await?.as_ref().map(conversation_row).transpose()?;
    let Some(conv) = conv else { return Ok(None) };
    let transcript = query_messages(&tx, &conversation_id, usize::MAX).await?;
    let handoffs = handoffs_of(&tx, &conversation_id).await?;
    // the orders the bot discussed, as the latest hand-over recorded them
    let orders_discussed: Vec<String> =
        handoffs.last().map(|h| h.context.seen.orders_discussed.clone()).unwrap_or_default();
    let mut orders = Vec::new();
    let mut returns = Vec::new();
    let mine = tx
        .prepare_cached("SELECT data FROM orders WHERE order_no = $1 AND shopper_id IS NOT DISTINCT FROM $2")
        .await?;
    let any = tx.prepare_cached("SELECT data FROM orders WHERE order_no = $1").await?;
    for no in &orders_discussed {
        let mut data: Option<String> =
            tx.query_opt(&mine, &[no, &conv.shopper_id]).await?.map(|r| r.try_get(0)).transpose()?;
        // a guest's orders were proved with the phone digits before the bot named them
        if data.is_none() && conv.shopper_id.is_none() {
            data = tx.query_opt(&any, &[no]).await?.map(|r| r.try_get(0)).transpose()?;
        }
        if let Some(d) = data {
            orders.push(decode::<Order>(&d)?);
            returns.extend(returns_of(&tx, &[no.as_str()]).await?);
        }
    }
    let shopper = match &conv.shopper_id {
        Some(id) => profile(&tx, id).await?,
        None => None,
    };
    let notes = notes_of(&tx, &conversation_id).await?;
    tx.commit().await?;
    Ok(Some(ConversationContext {
        conversation_id: conv.id,
        lang: conv.lang,
        state: conv.state,
        started_at: conv.started_at,
        escalation_reason: conv.escalation_reason,
        transcript,
        notes,
        handoffs,
        orders,
        returns,
        shopper,
    }))
}

pub(super) async fn search(
    store: &PgStore,
    shopper: Option<String>,
    order: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: usize,
) -> Result<Vec<ConversationRow>, StoreError> {
    let client = store.pool.get().await?;
    // `to` is inclusive of the whole day or minute it names (times compare byte-wise, COLLATE "C")
    let to = to.map(|t| format!("{t}\u{10FFFF}"));
    let st = client
        .prepare_cached(
            "SELECT c.id, c.shopper_id, c.lang, c.state, c.started_at, c.ended_at, c.escalation_reason, f.rating,
                    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)
             FROM conversations c LEFT JOIN feedback f ON f.conversation_id = c.id
             WHERE ($1::text IS NULL OR c.shopper_id = $1)
               AND ($2::text IS NULL OR c.id IN (SELECT conversation_id FROM messages WHERE strpos(text, $2) > 0)
                    OR c.id IN (SELECT conversation_id FROM returns WHERE order_no = $2))
               AND ($3::text IS NULL OR c.started_at >= $3) AND ($4::text IS NULL OR c.started_at <= $4)
             ORDER BY c.started_at DESC LIMIT $5",
        )
        .await?;
    let limit = limit.min(i64::MAX as usize) as i64;
    let rows = client.query(&st, &[&shopper, &order, &from, &to, &limit]).await?;
    rows.iter()
        .map(|r| {
            Ok(ConversationRow {
                id: r.try_get(0)?,
                shopper_id: r.try_get(1)?,
                lang: Lang::parse(r.try_get(2)?).unwrap_or(Lang::Zh),
                state: ConversationState::parse(r.try_get(3)?),
                started_at: r.try_get(4)?,
                ended_at: r.try_get(5)?,
                escalation_reason: r.try_get(6)?,
                rating: rating(r.try_get(7)?)?,
                messages: r.try_get::<_, i64>(8)? as u32,
            })
        })
        .collect()
}

/// A shopper's profile for the agent console (one snapshot).
pub(super) async fn shopper_profile(
    store: &PgStore,
    shopper_id: String,
) -> Result<Option<Profile>, StoreError> {
    let mut client = store.pool.get().await?;
    let tx = snapshot(&mut client).await?;
    let profile = profile(&tx, &shopper_id).await?;
    tx.commit().await?;
    Ok(profile)
}

async fn profile(client: &impl GenericClient, shopper_id: &str) -> Result<Option<Profile>, StoreError> {
    let st = client.prepare_cached(&format!("SELECT {SHOPPER_COLUMNS} FROM shoppers WHERE id = $1")).await?;
    let shopper = client.query_opt(&st, &[&shopper_id]).await?.as_ref().map(shopper_row).transpose()?;
    let Some(s) = shopper else { return Ok(None) };
    let st = client
        .prepare_cached("SELECT data FROM orders WHERE shopper_id = $1 ORDER BY created_at DESC LIMIT 5")
        .await?;
    let recent_orders = client
        .query(&st, &[&shopper_id])
        .await?
        .iter()
        .map(|r| decode::<Order>(r.try_get(0)?))
        .collect::<Result<Vec<_>, _>>()?;
    let st = client
        .prepare_cached(
            "SELECT f.rating FROM feedback f JOIN conversations c ON c.id = f.conversation_id
             WHERE c.shopper_id = $1 AND f.rating IS NOT NULL ORDER BY f.updated_at DESC LIMIT 20",
        )
        .await?;
    let past_ratings = client
        .query(&st, &[&shopper_id])
        .await?
        .iter()
        .map(|r| Ok(rating(r.try_get(0)?)?.unwrap_or_default()))
        .collect::<Result<Vec<u8>, StoreError>>()?;
    let average_rating = (!past_ratings.is_empty())
        .then(|| past_ratings.iter().map(|&r| r as f64).sum::<f64>() / past_ratings.len() as f64);
    let st = client.prepare_cached("SELECT COUNT(*) FROM conversations WHERE shopper_id = $1").await?;
    let conversations = client.query_one(&st, &[&shopper_id]).await?.try_get::<_, i64>(0)? as u32;
    Ok(Some(Profile {
        id: s.id,
        name: s.name,
        tier: s.tier,
        vip: s.vip,
        recent_orders,
        past_ratings,
        average_rating,
        conversations,
    }))
}
