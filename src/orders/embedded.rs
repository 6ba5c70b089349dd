//! The embedded order source: the demo store's orders, seeded into kefu's own SQLite database
//! from `knowledge/demo` (`Store::seed`), and the returns kefu opens there. The default source;
//! every operation is one store job on the writer's queue, as the dialogue's reads were before
//! (a read after a write's `Ok` sees it). kefu's database failing is [`OrderError::Store`], so
//! a turn fails exactly as it did before the boundary existed.

use super::{
    Created, NewReturn, Order, OrderError, OrderSource, OrderWithReturns, ReturnRequest, SourceFuture,
};
use crate::store::prelude::*;
use crate::store::Backend;

/// Orders and returns from kefu's own database.
#[derive(Clone)]
pub struct Embedded {
    store: Backend,
}

impl Embedded {
    pub fn new(store: Backend) -> Embedded {
        Embedded { store }
    }
}

impl OrderSource for Embedded {
    fn name(&self) -> &'static str {
        "embedded"
    }

    fn order<'a>(&'a self, order_no: &'a str) -> SourceFuture<'a, Option<Order>> {
        Box::pin(async move { Ok(self.store.order(order_no.to_string()).await?) })
    }

    fn orders<'a>(&'a self, order_nos: &'a [String]) -> SourceFuture<'a, Vec<Order>> {
        Box::pin(async move { Ok(self.store.orders(order_nos.to_vec()).await?) })
    }

    fn recent_orders<'a>(
        &'a self,
        shopper_id: &'a str,
        limit: usize,
    ) -> SourceFuture<'a, Vec<OrderWithReturns>> {
        Box::pin(async move {
            let rows = self.store.recent_orders_with_returns(shopper_id.to_string(), limit).await?;
            Ok(rows.into_iter().map(|(order, returns)| OrderWithReturns { order, returns }).collect())
        })
    }

    fn returns_for<'a>(&'a self, order_no: &'a str) -> SourceFuture<'a, Vec<ReturnRequest>> {
        Box::pin(async move { Ok(self.store.returns_for(order_no.to_string()).await?) })
    }

    fn create_return(&self, r: NewReturn) -> SourceFuture<'_, Created> {
        Box::pin(async move {
            let created = self
                .store
                .create_return_once(r.order_no, r.conversation_id, r.reason, r.idempotency_key)
                .await
                .map_err(OrderError::Store)?;
            Ok(match created {
                Ok(r) => Created::Opened(r),
                Err(existing) => Created::Exists(existing),
            })
        })
    }

    fn updated<'a>(&'a self, update: &'a super::events::OrderUpdate) -> SourceFuture<'a, bool> {
        Box::pin(async move {
            let u = update.clone();
            let changed = self
                .store
                .update_order(update.order_no.clone(), move |o| {
                    super::events::apply(o, &u, &crate::store::now())
                })
                .await?;
            Ok(changed.is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::knowledge::KnowledgeBase;
    use crate::orders::PhoneCheck;
    use crate::orders::PhoneGuesses;

    fn new_return(order_no: &str, key: &str) -> NewReturn {
        NewReturn {
            order_no: order_no.into(),
            conversation_id: Some("c1".into()),
            reason: "no_reason".into(),
            idempotency_key: key.into(),
        }
    }

    /// The demo orders in a fresh database: one return per order, one per idempotency key
    /// (a repeat is the same return, not someone else's), and the guess lockout beside it.
    #[tokio::test]
    async fn returns_are_opened_once_per_order_and_per_key() {
        let kb = KnowledgeBase::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::Backend::from(crate::store::Store::open(&dir.path().join("kefu.db")).unwrap());
        store.seed(kb.shoppers.clone(), kb.orders.clone()).await.unwrap();
        let source = Embedded::new(store.clone());
        let order = &kb.orders[0];
        let no = order.order_no.as_str();

        let Created::Opened(first) = source.create_return(new_return(no, "k1")).await.unwrap() else {
            panic!("not opened")
        };
        assert_eq!(source.create_return(new_return(no, "k1")).await.unwrap(), Created::Opened(first.clone()));
        assert_eq!(source.create_return(new_return(no, "k2")).await.unwrap(), Created::Exists(first.clone()));
        assert_eq!(source.returns_for(no).await.unwrap(), vec![first.clone()]);
        let mine = source.recent_orders(&order.shopper_id, 50).await.unwrap();
        let listed = mine.iter().find(|o| o.order.order_no == no).unwrap();
        assert_eq!(listed.returns, vec![first]);
        assert!(source.order("000000000000000000").await.unwrap().is_none());

        // the lockout counts wrong guesses, whatever the source
        for _ in 0..2 {
            assert_eq!(store.guess(no, false, 2).await.unwrap(), PhoneCheck::Mismatch);
        }
        assert_eq!(store.guess(no, true, 2).await.unwrap(), PhoneCheck::Locked);
    }
}
