//! The router built from data, without a server or a database: the shipped engines, an order
//! source held in memory and a fixed clock. What these tests see is what a shopper is told.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::DateTime;

use super::{texts, DialogueState, Engines, Outcome, Pending, Router};
use crate::intent::IntentModel;
use crate::knowledge::{KnowledgeBase, Order};
use crate::lang::Lang;
use crate::orders::{
    Created, NewReturn, OrderError, OrderSource, OrderWithReturns, PhoneCheck, PhoneGuesses, ReturnRequest,
    SourceFuture,
};
use crate::records::ReplyDecision;
use crate::search::Thresholds;
use crate::store::StoreError;
use crate::time::Clock;

/// S1001's orders, newest first (knowledge/demo/orders.json).
const PAID: &str = "261124866711367179";
const SHIPPED: &str = "261123115788241675";
/// The wool coat, delivered the day before the demo's "now": returnable.
const COAT: &str = "261122958843983379";
const CONV: &str = "c1";

/// The shipped engines and the demo orders, loaded once for every test here.
fn shipped() -> &'static (Arc<Engines>, Vec<Order>) {
    static SHIPPED_DATA: OnceLock<(Arc<Engines>, Vec<Order>)> = OnceLock::new();
    SHIPPED_DATA.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let kb = KnowledgeBase::load(&root.join("knowledge")).unwrap();
        let thresholds = Thresholds::load(&kb.root).unwrap();
        let intents = Arc::new(IntentModel::load(&root.join("models/intent")).unwrap());
        let engines = Engines::build(&kb.faqs, thresholds, kb.products.clone(), intents).unwrap();
        (Arc::new(engines), kb.orders)
    })
}

/// Orders and returns in memory; `down` makes every call fail as an unreachable store would.
#[derive(Default)]
struct Memory {
    orders: Vec<Order>,
    /// Returns opened, with the idempotency key each was opened with.
    returns: Mutex<Vec<(ReturnRequest, String)>>,
    down: AtomicBool,
}

impl Memory {
    fn up(&self) -> Result<(), OrderError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(OrderError::Unavailable("connection refused".into())),
            false => Ok(()),
        }
    }

    fn returns_of(&self, order_no: &str) -> Vec<ReturnRequest> {
        let returns = self.returns.lock().unwrap();
        returns.iter().filter(|(r, _)| r.order_no == order_no).map(|(r, _)| r.clone()).collect()
    }

    fn newest_first(&self, mut orders: Vec<Order>) -> Vec<Order> {
        orders.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        orders
    }
}

impl OrderSource for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn order<'a>(&'a self, order_no: &'a str) -> SourceFuture<'a, Option<Order>> {
        Box::pin(async move {
            self.up()?;
            Ok(self.orders.iter().find(|o| o.order_no == order_no).cloned())
        })
    }

    fn orders<'a>(&'a self, order_nos: &'a [String]) -> SourceFuture<'a, Vec<Order>> {
        Box::pin(async move {
            self.up()?;
            Ok(self.newest_first(
                self.orders.iter().filter(|o| order_nos.contains(&o.order_no)).cloned().collect(),
            ))
        })
    }

    fn recent_orders<'a>(
        &'a self,
        shopper_id: &'a str,
        limit: usize,
    ) -> SourceFuture<'a, Vec<OrderWithReturns>> {
        Box::pin(async move {
            self.up()?;
            let mine = self.orders.iter().filter(|o| o.shopper_id == shopper_id).cloned().collect();
            Ok(self
                .newest_first(mine)
                .into_iter()
                .take(limit)
                .map(|order| OrderWithReturns { returns: self.returns_of(&order.order_no), order })
                .collect())
        })
    }

    fn returns_for<'a>(&'a self, order_no: &'a str) -> SourceFuture<'a, Vec<ReturnRequest>> {
        Box::pin(async move {
            self.up()?;
            Ok(self.returns_of(order_no))
        })
    }

    fn create_return(&self, r: NewReturn) -> SourceFuture<'_, Created> {
        Box::pin(async move {
            self.up()?;
            let mut returns = self.returns.lock().unwrap();
            if let Some((same, _)) = returns.iter().find(|(_, key)| *key == r.idempotency_key) {
                return Ok(Created::Opened(same.clone()));
            }
            if let Some((existing, _)) = returns.iter().find(|(x, _)| x.order_no == r.order_no) {
                return Ok(Created::Exists(existing.clone()));
            }
            let opened = ReturnRequest {
                id: format!("R{:010}", returns.len() + 1),
                order_no: r.order_no,
                conversation_id: r.conversation_id,
                reason: r.reason,
                status: "requested".into(),
                created_at: "2026-11-25T01:00:00.000Z".into(),
            };
            returns.push((opened.clone(), r.idempotency_key));
            Ok(Created::Opened(opened))
        })
    }
}

/// Wrong guesses per order, in memory.
#[derive(Default)]
struct Guesses(Mutex<HashMap<String, u32>>);

impl PhoneGuesses for Guesses {
    fn guess<'a>(
        &'a self,
        order_no: &'a str,
        matched: bool,
        max: u32,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<PhoneCheck, StoreError>> + Send + 'a>>
    {
        Box::pin(async move {
            let mut wrong = self.0.lock().unwrap();
            let n = wrong.entry(order_no.to_string()).or_default();
            Ok(if *n >= max {
                PhoneCheck::Locked
            } else if matched {
                PhoneCheck::Match
            } else {
                *n += 1;
                PhoneCheck::Mismatch
            })
        })
    }
}

/// A router over the demo orders in memory, at the demo's "now".
fn router() -> (Router, Arc<Memory>, Arc<Guesses>) {
    let (engines, orders) = shipped();
    let memory = Arc::new(Memory { orders: orders.clone(), ..Default::default() });
    let guesses = Arc::new(Guesses::default());
    let now = DateTime::parse_from_rfc3339("2026-11-25T09:00:00+08:00").unwrap();
    let router = Router::new(engines.clone(), memory.clone(), guesses.clone(), Clock::Fixed(now));
    (router, memory, guesses)
}

async fn ask(router: &Router, st: &mut DialogueState, text: &str) -> Outcome {
    router.handle(st, CONV, text, None).await.unwrap()
}

fn said(o: &Outcome) -> String {
    o.replies.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n")
}

fn order_cards(o: &Outcome) -> Vec<String> {
    o.replies
        .iter()
        .flat_map(|r| &r.cards)
        .filter_map(|c| match c {
            super::Card::Order { order_no, .. } => Some(order_no.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_order_status_turn_in_both_languages() {
    let (router, ..) = router();
    let mut st = DialogueState::new(Lang::Zh, Some("S1001".into()));
    let o = ask(&router, &mut st, &format!("订单 {SHIPPED} 到哪了")).await;
    assert!(said(&o).contains(&format!("订单 {SHIPPED} 当前状态：已发货，运输中")), "{o:#?}");
    assert_eq!(order_cards(&o), vec![SHIPPED.to_string()]);
    assert_eq!(o.replies[0].intent.as_deref(), Some("order_status"));
    assert_eq!(st.focus.order.as_deref(), Some(SHIPPED));

    let mut st = DialogueState::new(Lang::En, Some("S1001".into()));
    let o = ask(&router, &mut st, &format!("where is my order {SHIPPED}?")).await;
    assert!(said(&o).contains(&format!("Order {SHIPPED} is shipped, in transit")), "{o:#?}");
    // another shopper's order is a missing one
    let mut st = DialogueState::new(Lang::En, Some("S1002".into()));
    let o = ask(&router, &mut st, &format!("where is my order {SHIPPED}?")).await;
    assert!(said(&o).contains("couldn't find an order"), "{o:#?}");
    assert!(order_cards(&o).is_empty());
}

#[tokio::test]
async fn the_second_one_in_an_order_list() {
    let (router, ..) = router();
    let mut st = DialogueState::new(Lang::Zh, Some("S1001".into()));
    let o = ask(&router, &mut st, "我的快递到哪了").await;
    let cards = order_cards(&o);
    assert_eq!(cards.len(), 5, "{o:#?}");
    assert_eq!(cards[..2], [PAID.to_string(), SHIPPED.to_string()]);
    let o = ask(&router, &mut st, "第二个").await;
    assert!(said(&o).contains(SHIPPED), "{o:#?}");
    assert_eq!(order_cards(&o), vec![SHIPPED.to_string()]);
}

#[tokio::test]
async fn a_return_is_opened_once_in_the_order_source() {
    let (router, memory, _) = router();
    let mut st = DialogueState::new(Lang::Zh, Some("S1001".into()));
    let o = ask(&router, &mut st, &format!("{COAT} 我要退货")).await;
    assert!(said(&o).contains("符合七天无理由退货"), "{o:#?}");
    assert!(matches!(&st.pending, Some(Pending::ConfirmReturn { order_no }) if order_no == COAT));
    let o = ask(&router, &mut st, "确认").await;
    let opened = memory.returns.lock().unwrap().clone();
    assert_eq!(opened.len(), 1);
    let (r, key) = &opened[0];
    assert_eq!((r.order_no.as_str(), r.conversation_id.as_deref()), (COAT, Some(CONV)));
    assert_eq!(key, &format!("{CONV}/{COAT}"));
    // the id the shopper is given is the source's
    assert!(said(&o).contains(&format!("退货申请已提交，退货单号 {}", r.id)), "{o:#?}");
    assert_eq!(st.seen.returns_created, vec![r.id.clone()]);

    // a confirmation handled again finds the return open and opens no second one
    let mut again = DialogueState::new(Lang::Zh, Some("S1001".into()));
    again.pending = Some(Pending::ConfirmReturn { order_no: COAT.into() });
    let o = ask(&router, &mut again, "确认").await;
    assert_eq!(memory.returns.lock().unwrap().len(), 1);
    assert!(said(&o).contains("已有退货申请"), "{o:#?}");
}

#[tokio::test]
async fn an_unavailable_source_is_said_honestly_and_the_question_waits() {
    let (router, memory, guesses) = router();
    memory.down.store(true, Ordering::SeqCst);
    for (lang, text) in
        [(Lang::Zh, format!("订单 {SHIPPED} 到哪了")), (Lang::En, format!("where is order {SHIPPED}?"))]
    {
        let mut st = DialogueState::new(lang, Some("S1001".into()));
        let o = ask(&router, &mut st, &text).await;
        assert_eq!(said(&o), texts::orders_unavailable(lang), "{o:#?}");
        assert!(said(&o).contains(if lang == Lang::Zh { "转人工" } else { "agent" }));
        // a person is offered, not forced; nothing is guessed or shown
        assert!(o.escalate.is_none() && order_cards(&o).is_empty());
        assert_eq!(o.replies[0].decision, Some(ReplyDecision::Flow));
        assert_eq!(st.focus.order, None);
        assert_eq!(st.turn, 1);
    }

    // a confirmation sent while the store is down leaves the question open for when it is back
    memory.down.store(false, Ordering::SeqCst);
    let mut st = DialogueState::new(Lang::En, Some("S1001".into()));
    ask(&router, &mut st, &format!("I want to return order {COAT}")).await;
    assert!(matches!(&st.pending, Some(Pending::ConfirmReturn { .. })), "{st:#?}");
    memory.down.store(true, Ordering::SeqCst);
    let o = ask(&router, &mut st, "yes").await;
    assert_eq!(said(&o), texts::orders_unavailable(Lang::En));
    assert!(matches!(&st.pending, Some(Pending::ConfirmReturn { .. })), "{st:#?}");
    assert!(memory.returns.lock().unwrap().is_empty());
    memory.down.store(false, Ordering::SeqCst);
    let o = ask(&router, &mut st, "yes").await;
    assert!(said(&o).contains("Your return R"), "{o:#?}");

    // a guest's digits are not counted as a guess while the order cannot be checked
    let mut guest = DialogueState::new(Lang::Zh, None);
    ask(&router, &mut guest, &format!("{COAT} 到哪了")).await;
    memory.down.store(true, Ordering::SeqCst);
    let o = ask(&router, &mut guest, "0000").await;
    assert_eq!(said(&o), texts::orders_unavailable(Lang::Zh));
    assert!(guesses.0.lock().unwrap().is_empty());
    assert!(matches!(&guest.pending, Some(Pending::PhoneDigits { .. })));
}

#[tokio::test]
async fn a_guest_proves_an_order_with_the_phone_digits_and_is_locked_out_after_five_wrong() {
    let (router, _, guesses) = router();
    let (_, orders) = shipped();
    let phone = &orders.iter().find(|o| o.order_no == COAT).unwrap().address.phone;
    let right = &phone[phone.len() - 4..];
    let wrong = if right == "0000" { "1111" } else { "0000" };

    let mut st = DialogueState::new(Lang::Zh, None);
    let o = ask(&router, &mut st, &format!("{COAT} 到哪了")).await;
    assert!(said(&o).contains("后4位"), "{o:#?}");
    let o = ask(&router, &mut st, right).await;
    assert!(said(&o).contains(&format!("订单 {COAT} 当前状态")), "{o:#?}");
    assert!(st.verified_orders.contains(COAT));

    for _ in 0..5 {
        let mut st = DialogueState::new(Lang::Zh, None);
        ask(&router, &mut st, &format!("{SHIPPED} 到哪了")).await;
        assert!(said(&ask(&router, &mut st, wrong).await).contains("不匹配"));
    }
    assert_eq!(guesses.0.lock().unwrap()[SHIPPED], 5);
    let mut st = DialogueState::new(Lang::Zh, None);
    ask(&router, &mut st, &format!("{SHIPPED} 到哪了")).await;
    let shipped_phone = &orders.iter().find(|o| o.order_no == SHIPPED).unwrap().address.phone;
    let o = ask(&router, &mut st, &shipped_phone[shipped_phone.len() - 4..]).await;
    assert!(said(&o).contains("错误次数过多"), "{o:#?}");
}
