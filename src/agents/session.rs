//! One agent WebSocket (`/ws/agent`): the first frame is `hello` with a staff token (role agent
//! or admin); after that every request goes to the desk, and a writer task sends the desk's
//! frames (bounded: an agent connection that stops reading is dropped, not waited for).
//! The token is checked against the account as it is now (`accounts::Roster`) on every frame
//! and every [`RECHECK`], so a removed account, a role change or a password change closes the
//! connection within seconds, even when the agent sends nothing; the desk sees it as the agent
//! disconnecting.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::desk::AgentHello;
use super::protocol::{decode, AgentErrorCode, AgentFrame, AgentMsg};
use super::Desk;
use crate::accounts::AccountError;
use crate::accounts::Roster;
use crate::identity::{self, Role, StaffClaims};
use crate::socket::{self, After, Outgoing, Strikes, CLOSE_POLICY};

/// Frames queued for one agent connection.
const OUTBOX: usize = 256;
/// Protocol errors tolerated on one connection before it is closed.
const MAX_ERRORS: u32 = 50;
/// How often a quiet connection's token is checked against the account.
const RECHECK: Duration = Duration::from_secs(2);

/// An error that signs the agent out is the connection's last frame: a close frame follows it.
impl Outgoing for AgentFrame {
    fn into_message(self) -> (Message, After) {
        let last = matches!(
            self,
            AgentFrame::Error {
                code: AgentErrorCode::Replaced | AgentErrorCode::Unauthorized | AgentErrorCode::Forbidden,
                ..
            }
        );
        let after =
            if last { After::Close(socket::close(CLOSE_POLICY, "signed out")) } else { After::Continue };
        (socket::json(&self), after)
    }
}

fn error(code: AgentErrorCode, message: impl Into<String>) -> AgentFrame {
    AgentFrame::Error { code, message: message.into(), conversation_id: None }
}

/// What an agent session needs from the service: a narrow handle, not the whole application.
pub struct AgentService {
    pub desk: Desk,
    /// The staff accounts every frame's token is checked against.
    pub roster: Arc<Roster>,
    /// The secret staff tokens are signed with.
    pub staff_secret: String,
    /// Time allowed for the `hello` frame.
    pub hello_timeout: Duration,
    /// A connection that accepts nothing for this long is dropped.
    pub send_timeout: Duration,
}

/// Serves one agent connection until it closes.
pub async fn run(socket: WebSocket, app: Arc<AgentService>) {
    let socket::Connection { out, mut stream, writer } =
        socket::connect::<AgentFrame>(socket, OUTBOX, app.send_timeout);

    let Some(SignedIn { claims, conn, close }) = hello(&mut stream, &out, &app).await else {
        drop(out);
        writer.drained().await;
        return;
    };
    let name = claims.sub.clone();
    let mut errors = Strikes::new(MAX_ERRORS);
    // the connection ends with the token: the agent signs in again for a new one
    let expired = tokio::time::sleep(Duration::from_secs(
        claims.exp.saturating_sub(chrono::Utc::now().timestamp()).max(0) as u64,
    ));
    tokio::pin!(expired);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
    loop {
        let m = tokio::select! {
            m = stream.next() => match m {
                Some(Ok(m)) => m,
                _ => break,
            },
            // the desk let go of this connection (signed in elsewhere, or not keeping up)
            _ = close.notified() => break,
            _ = &mut expired => {
                let _ = out.send(error(AgentErrorCode::Unauthorized, "your sign-in expired; log in again")).await;
                break;
            }
            _ = recheck.tick() => {
                if still_valid(&app, &claims, &out).await == Some(false) {
                    break;
                }
                continue;
            }
        };
        match m {
            Message::Text(t) => match decode(t.as_str()) {
                Ok(msg) => match still_valid(&app, &claims, &out).await {
                    Some(true) => app.desk.agent(name.clone(), conn, msg).await,
                    Some(false) => break,
                    None => {
                        let _ = out.try_send(error(
                            AgentErrorCode::StorageUnavailable,
                            "could not check your sign-in; try again",
                        ));
                    }
                },
                Err((code, message)) => {
                    errors.strike();
                    let _ = out.send(error(code, message)).await;
                    if errors.exceeded() {
                        break;
                    }
                }
            },
            Message::Binary(_) => {
                let _ = out.send(error(AgentErrorCode::MalformedFrame, "send JSON text frames")).await;
            }
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => {}
        }
        if out.is_closed() || writer.is_finished() {
            break;
        }
    }
    app.desk.agent_gone(name, conn).await;
    drop(out);
    writer.drained().await;
}

struct SignedIn {
    claims: StaffClaims,
    conn: u64,
    close: Arc<tokio::sync::Notify>,
}

/// Whether the token still holds for the account as it is: `Some(false)` (after telling the
/// agent why) when it was revoked, `None` when the store could not say (the connection is kept).
async fn still_valid(
    app: &AgentService,
    claims: &StaffClaims,
    out: &mpsc::Sender<AgentFrame>,
) -> Option<bool> {
    match app.roster.check(claims).await {
        Ok(_) => Some(true),
        Err(e @ AccountError::Revoked(_)) => {
            tracing::info!(agent = %claims.sub, reason = %e, "agent's sign-in revoked; closing the connection");
            let _ = out.send(error(AgentErrorCode::Unauthorized, e.to_string())).await;
            Some(false)
        }
        Err(e) => {
            tracing::error!(error = %e, "could not check the agent's account");
            None
        }
    }
}

/// Waits for `hello`, checks the token and the account's role, and signs the agent in at the desk.
async fn hello(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    out: &mpsc::Sender<AgentFrame>,
    app: &Arc<AgentService>,
) -> Option<SignedIn> {
    let refuse = |code, m: &str| {
        let _ = out.try_send(error(code, m));
        None
    };
    let first = match tokio::time::timeout(app.hello_timeout, stream.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(_) => return None,
        Err(_) => return refuse(AgentErrorCode::Unauthorized, "send hello with your token first"),
    };
    let (token, capacity, langs, presence) = match decode(first.as_str()) {
        Ok(AgentMsg::Hello { token, capacity, langs, presence }) => (token, capacity, langs, presence),
        Ok(_) => return refuse(AgentErrorCode::Unauthorized, "send hello with your token first"),
        Err((code, m)) => return refuse(code, &m),
    };
    let claims = match identity::verify_staff(&app.staff_secret, &token, chrono::Utc::now().timestamp()) {
        Ok(c) => c,
        Err(e) => return refuse(AgentErrorCode::Unauthorized, &format!("{e}; log in again")),
    };
    let account = match app.roster.check(&claims).await {
        Ok(standing) => standing,
        Err(e @ AccountError::Revoked(_)) => return refuse(AgentErrorCode::Unauthorized, &e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, "could not read account");
            return refuse(AgentErrorCode::StorageUnavailable, "could not sign in right now; try again");
        }
    };
    // the account as it is now: the roster checked the token's role is still the account's
    if !matches!(account.role, Role::Agent | Role::Admin) {
        return refuse(AgentErrorCode::Forbidden, "this needs the role agent or admin");
    }
    let conn = super::desk::fresh_id();
    let close = Arc::new(tokio::sync::Notify::new());
    app.desk
        .agent_hello(AgentHello {
            name: claims.sub.clone(),
            display_name: account.display_name,
            capacity,
            langs,
            presence,
            admin: account.role == Role::Admin,
            conn,
            tx: out.clone().into(),
            close: close.clone(),
        })
        .await;
    Some(SignedIn { claims, conn, close })
}
