//! Staff accounts, failed logins and server settings in the store.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{now, Fail, Store, StoreError};
use crate::identity::Role;

/// A staff account as stored (the password only as its argon2 hash).
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub name: String,
    pub display_name: String,
    pub role: Role,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: String,
    /// The generation staff tokens must carry; raised by a password change, a role change or a
    /// removal, which ends every token issued before.
    #[serde(skip)]
    pub token_gen: i64,
}

/// The bounds of the failed-login table.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures within `window_secs` after which a name is locked.
    pub max_failures: u32,
    /// How long a failure counts (and a lockout lasts, from the last failure counted).
    pub window_secs: i64,
    /// Most rows kept; beyond it the oldest go, names that are not locked first.
    pub max_rows: u32,
}

/// The answer to "may this login's password be checked?".
#[derive(Debug)]
pub enum LoginAttempt {
    /// Too many failures lately: no check.
    Locked,
    /// Counted as a failure already (cleared on the right password); the account, if any.
    Allowed(Option<Account>),
}

const ACCOUNT_COLUMNS: &str = "name, display_name, role, password_hash, created_at, token_gen";

/// An account from a row of `ACCOUNT_COLUMNS` (a role this build does not know is corrupt data).
fn account_row(r: &rusqlite::Row) -> rusqlite::Result<Result<Account, Fail>> {
    let role: String = r.get(2)?;
    let Some(role) = Role::parse(&role) else {
        return Ok(Err(Fail::Corrupt(format!("user role {role:?}"))));
    };
    Ok(Ok(Account {
        name: r.get(0)?,
        display_name: r.get(1)?,
        role,
        password_hash: r.get(3)?,
        created_at: r.get(4)?,
        token_gen: r.get(5)?,
    }))
}

fn account_of(conn: &Connection, name: &str) -> Result<Option<Account>, Fail> {
    conn.prepare_cached(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM users WHERE name = ?1 AND removed_at IS NULL"
    ))?
    .query_row(params![name], account_row)
    .optional()?
    .transpose()
}

impl Store {
    /// Adds an account; false when the name is taken. A removed account's name can be taken
    /// again: its generation goes on rising, so tokens of the removed account stay refused.
    pub async fn add_account(&self, account: Account) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "INSERT INTO users (name, display_name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, role = excluded.role,
                     password_hash = excluded.password_hash, created_at = excluded.created_at,
                     token_gen = token_gen + 1, removed_at = NULL
                 WHERE removed_at IS NOT NULL",
                params![account.name, account.display_name, account.role.as_str(), account.password_hash, now()],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// An account that exists (not removed).
    pub async fn account(&self, name: String) -> Result<Option<Account>, StoreError> {
        self.read(move |conn| account_of(conn, &name)).await
    }

    /// Every account that exists, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|conn| {
            let mut st = conn.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM users WHERE removed_at IS NULL ORDER BY name"
            ))?;
            let rows = st.query_map([], account_row)?.collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().collect()
        })
        .await
    }

    /// Removes an account (its row stays for the handoffs and notes that name it, without a
    /// password hash) and ends its tokens; false when there is no such account.
    pub async fn remove_account(&self, name: String) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE users SET removed_at = ?2, password_hash = '', token_gen = token_gen + 1
                 WHERE name = ?1 AND removed_at IS NULL",
                params![name, now()],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Changes an account's role and ends its tokens; false when there is no such account.
    pub async fn set_account_role(&self, name: String, role: Role) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE users SET role = ?2, token_gen = token_gen + 1 WHERE name = ?1 AND removed_at IS NULL",
                params![name, role.as_str()],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Changes an account's password hash and ends its tokens; false when there is no such
    /// account.
    pub async fn set_account_password(
        &self,
        name: String,
        password_hash: String,
    ) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE users SET password_hash = ?2, token_gen = token_gen + 1 WHERE name = ?1 AND removed_at IS NULL",
                params![name, password_hash],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// One atomic step before a password check: `Locked` when `name` has `max_failures`
    /// failures within the window; otherwise the attempt is counted as a failure now (so
    /// concurrent attempts cannot get past the lockout) and the account is read. Expired rows
    /// are deleted, and the table is kept to `max_rows`. Unknown names are counted the same.
    pub async fn reserve_login(
        &self,
        name: String,
        limits: LoginLimits,
        now_secs: i64,
    ) -> Result<LoginAttempt, StoreError> {
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM login_failures WHERE updated_at <= ?1")?
                .execute(params![now_secs - limits.window_secs])?;
            let failures: Option<u32> = conn
                .prepare_cached("SELECT failures FROM login_failures WHERE name = ?1")?
                .query_row(params![name], |r| r.get(0))
                .optional()?;
            if failures.is_some_and(|f| f >= limits.max_failures) {
                return Ok(LoginAttempt::Locked);
            }
            conn.prepare_cached(
                "INSERT INTO login_failures (name, failures, updated_at) VALUES (?1, 1, ?2)
                 ON CONFLICT (name) DO UPDATE SET failures = failures + 1, updated_at = ?2",
            )?
            .execute(params![name, now_secs])?;
            if failures.is_none() {
                let rows: u32 = conn
                    .prepare_cached("SELECT COUNT(*) FROM login_failures")?
                    .query_row([], |r| r.get(0))?;
                if rows > limits.max_rows {
                    conn.prepare_cached(
                        "DELETE FROM login_failures WHERE name IN (SELECT name FROM login_failures
                         WHERE name <> ?1 ORDER BY failures >= ?2, updated_at LIMIT ?3)",
                    )?
                    .execute(params![
                        name,
                        limits.max_failures,
                        rows - limits.max_rows
                    ])?;
                }
            }
            Ok(LoginAttempt::Allowed(account_of(conn, &name)?))
        })
        .await
    }

    /// Forgets a name's failed logins (after the right password).
    pub async fn clear_login_failures(&self, name: String) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM login_failures WHERE name = ?1")?.execute(params![name])?;
            Ok(())
        })
        .await
    }

    /// A server setting, created with `make` the first time it is asked for (atomically: two
    /// callers racing get the same value).
    pub async fn setting_or_init(
        &self,
        key: &'static str,
        make: impl FnOnce() -> String + Send + 'static,
    ) -> Result<String, StoreError> {
        self.call(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
                params![key, make()],
            )?;
            Ok(conn.query_row("SELECT value FROM settings WHERE key = ?1", params![key], |r| r.get(0))?)
        })
        .await
    }
}
