//! Which node leads (runs the agent desk): the one holding a session-level advisory lock
//! ([`LOCK`]) on a dedicated connection. The others try to take it every [`RETRY`] and read who
//! holds it from `pg_locks` (the holder's `application_name` names its node), so the database
//! itself says who leads: there is no stored leader that could be stale.
//!
//! When the leader dies (even kill -9), its connection drops, PostgreSQL frees the lock and the
//! next node to try takes it, within about a second (a dead machine, rather than a dead
//! process, is noticed after the server's TCP keepalive: see docs/deploy.md). The leader checks
//! its own connection every [`RETRY`]; when that fails it steps down at once (`None`), since
//! the lock may be someone else's by now, and reconnects.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::tokio_postgres::{self, NoTls};
use tokio::sync::watch;

use super::{Backoff, NodeId};

/// The desk's advisory lock ("kefu" + 2); `pg_locks` shows a bigint key as classid (high 32
/// bits) and objid (low 32 bits), objsubid 1.
pub const LOCK: i64 = 0x6b65_6675_0002;
/// How often a follower tries the lock, and a leader checks its connection.
pub const RETRY: Duration = Duration::from_secs(1);
/// A query that takes longer than this counts as a lost connection.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
const APP_PREFIX: &str = "kefu-lead ";

/// The node that leads, and its term: the backend process id of the connection holding the
/// lock, so a node that lost the lock and took it again is seen as a new term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leader {
    pub node: NodeId,
    pub term: i32,
}

/// Who holds the lock now (in this database), as `pg_locks` and `pg_stat_activity` say.
const HOLDER: &str =
    "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.classid = ($1::bigint >> 32)::text::oid AND l.objid = ($1::bigint & 4294967295)::text::oid
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/// The nodes connected to this database now: one leadership connection each, named after its
/// node (a node killed, or cut off from the database, drops out within seconds).
const LIVE: &str = "SELECT application_name FROM pg_stat_activity
    WHERE datname = current_database() AND application_name LIKE 'kefu-lead %'";

/// The nodes connected to the database, as the leader last read them (`None`: not read since
/// this node took the lead, or it does not lead).
pub type LiveNodes = Option<Arc<BTreeSet<NodeId>>>;

/// Runs for as long as the node does: takes the lock when it can, and says who leads on `tx`;
/// while it leads, which nodes are connected on `live`.
pub(super) async fn run(
    mut config: tokio_postgres::Config,
    me: NodeId,
    tx: watch::Sender<Option<Leader>>,
    live: watch::Sender<LiveNodes>,
) {
    config.application_name(format!("{APP_PREFIX}{me}"));
    let mut backoff = Backoff::new();
    loop {
        let error = match config.connect(NoTls).await {
            Ok((client, conn)) => {
                let mut conn = tokio::spawn(conn);
                backoff.reset();
                let e = tokio::select! {
                    e = hold(&client, me, &tx, &live) => e,
                    _ = &mut conn => "the connection closed".to_string(),
                };
                conn.abort();
                e
            }
            Err(e) => e.to_string(),
        };
        // the lock went with the connection: whoever leads now, it is not this node
        live.send_replace(None);
        tx.send_if_modified(|l| {
            let mine = l.is_some_and(|l| l.node == me);
            if mine {
                *l = None;
            }
            mine
        });
        tracing::warn!(error = %error, node = %me, "the leadership connection is down; reconnecting");
        tokio::time::sleep(backoff.next()).await;
    }
}

/// Tries the lock every [`RETRY`] until it is this node's, then checks the connection every
/// [`RETRY`]. Returns why the connection failed.
async fn hold(
    client: &tokio_postgres::Client,
    me: NodeId,
    tx: &watch::Sender<Option<Leader>>,
    live: &watch::Sender<LiveNodes>,
) -> String {
    let mut tick = tokio::time::interval(RETRY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut holding = false;
    loop {
        tick.tick().await;
        let step = async {
            if holding {
                // the check of the connection is the read of who is connected
                let rows = client.query(LIVE, &[]).await?;
                let nodes: BTreeSet<NodeId> = rows
                    .iter()
                    .filter_map(|r| r.get::<_, Option<String>>(0))
                    .filter_map(|app| NodeId::parse(app.strip_prefix(APP_PREFIX)?))
                    .collect();
                live.send_replace(Some(Arc::new(nodes)));
                Ok::<_, tokio_postgres::Error>(None)
            } else {
                let row =
                    client.query_one("SELECT pg_try_advisory_lock($1), pg_backend_pid()", &[&LOCK]).await?;
                if row.get::<_, bool>(0) {
                    return Ok(Some(Some(Leader { node: me, term: row.get(1) })));
                }
                let holder = client.query_opt(HOLDER, &[&LOCK]).await?;
                let leader = holder.and_then(|r| {
                    let app: Option<String> = r.get(0);
                    let node = NodeId::parse(app?.strip_prefix(APP_PREFIX)?)?;
                    Some(Leader { node, term: r.get(1) })
                });
                Ok(Some(leader))
            }
        };
        match tokio::time::timeout(QUERY_TIMEOUT, step).await {
            Ok(Ok(None)) => {}
            Ok(Ok(Some(leader))) => {
                if leader.is_some_and(|l| l.node == me) {
                    holding = true;
                    tracing::info!(node = %me, "this node leads the desk now");
                }
                tx.send_if_modified(|l| {
                    let changed = *l != leader;
                    *l = leader;
                    changed
                });
            }
            Ok(Err(e)) => return e.to_string(),
            Err(_) => return format!("no answer within {} s", QUERY_TIMEOUT.as_secs()),
        }
    }
}
