//! [`AccountStore`] on PostgreSQL: staff accounts, token generations, the failed-login
//! lockout and settings created once (the same rows and rules as `store::accounts`).

use deadpool_postgres::tokio_postgres::Row;

use super::PgStore;
use crate::identity::Role;
use crate::store::{now, Account, AccountStore, LoginAttempt, LoginLimits, StoreError};

const ACCOUNT_COLUMNS: &str = "name, display_name, role, password_hash, created_at, token_gen";

/// An account from a row of `ACCOUNT_COLUMNS` (a role this build does not know is corrupt data).
fn account_row(r: &Row) -> Result<Account, StoreError> {
    let role: String = r.try_get(2)?;
    let Some(role) = Role::parse(&role) else {
        return Err(StoreError::Corrupt(format!("user role {role:?}")));
    };
    Ok(Account {
        name: r.try_get(0)?,
        display_name: r.try_get(1)?,
        role,
        password_hash: r.try_get(3)?,
        created_at: r.try_get(4)?,
        token_gen: r.try_get(5)?,
    })
}

const ACCOUNT_BY_NAME: &str = "SELECT name, display_name, role, password_hash, created_at, token_gen
     FROM users WHERE name = $1 AND removed_at IS NULL";

impl PgStore {
    /// One statement that changes an account; true when a row was changed.
    async fn change_account(
        &self,
        sql: &str,
        params: &[&(dyn deadpool_postgres::tokio_postgres::types::ToSql + Sync)],
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let st = client.prepare_cached(sql).await?;
        Ok(client.execute(&st, params).await? == 1)
    }
}

impl AccountStore for PgStore {
    async fn add_account(&self, account: Account) -> Result<bool, StoreError> {
        // a removed account's name can be taken again; its generation goes on rising
        self.change_account(
            "INSERT INTO users (name, display_name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, role = excluded.role,
                 password_hash = excluded.password_hash, created_at = excluded.created_at,
                 token_gen = users.token_gen + 1, removed_at = NULL
             WHERE users.removed_at IS NOT NULL",
            &[&account.name, &account.display_name, &account.role.as_str(), &account.password_hash, &now()],
        )
        .await
    }

    async fn account(&self, name: String) -> Result<Option<Account>, StoreError> {
        let client = self.pool.get().await?;
        let st = client.prepare_cached(ACCOUNT_BY_NAME).await?;
        client.query_opt(&st, &[&name]).await?.as_ref().map(account_row).transpose()
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM users WHERE removed_at IS NULL ORDER BY name COLLATE \"C\""
        );
        let st = client.prepare_cached(&sql).await?;
        client.query(&st, &[]).await?.iter().map(account_row).collect()
    }

    async fn remove_account(&self, name: String) -> Result<bool, StoreError> {
        self.change_account(
            "UPDATE users SET removed_at = $2, password_hash = '', token_gen = token_gen + 1
             WHERE name = $1 AND removed_at IS NULL",
            &[&name, &now()],
        )
        .await
    }

    async fn set_account_role(&self, name: String, role: Role) -> Result<bool, StoreError> {
        self.change_account(
            "UPDATE users SET role = $2, token_gen = token_gen + 1 WHERE name = $1 AND removed_at IS NULL",
            &[&name, &role.as_str()],
        )
        .await
    }

    async fn set_account_password(&self, name: String, password_hash: String) -> Result<bool, StoreError> {
        self.change_account(
            "UPDATE users SET password_hash = $2, token_gen = token_gen + 1 WHERE name = $1 AND removed_at IS NULL",
            &[&name, &password_hash],
        )
        .await
    }

    /// As `Store::reserve_login`, serialised per name by an advisory lock, so concurrent
    /// attempts on any node cannot get past the lockout.
    async fn reserve_login(
        &self,
        name: String,
        limits: LoginLimits,
        now_secs: i64,
    ) -> Result<LoginAttempt, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('login:' || $1::text, 0))", &[&name])
            .await?;
        let expired = tx.prepare_cached("DELETE FROM login_failures WHERE updated_at <= $1").await?;
        tx.execute(&expired, &[&(now_secs - limits.window_secs)]).await?;
        let count = tx.prepare_cached("SELECT failures FROM login_failures WHERE name = $1").await?;
        let failures: Option<i64> =
            tx.query_opt(&count, &[&name]).await?.map(|r| r.try_get(0)).transpose()?;
        let max = i64::from(limits.max_failures);
        if failures.is_some_and(|f| f >= max) {
            tx.commit().await?;
            return Ok(LoginAttempt::Locked);
        }
        let add = tx
            .prepare_cached(
                "INSERT INTO login_failures (name, failures, updated_at) VALUES ($1, 1, $2)
                 ON CONFLICT (name) DO UPDATE SET failures = login_failures.failures + 1, updated_at = $2",
            )
            .await?;
        tx.execute(&add, &[&name, &now_secs]).await?;
        if failures.is_none() {
            let rows: i64 = tx.query_one("SELECT COUNT(*) FROM login_failures", &[]).await?.try_get(0)?;
            let over = rows - i64::from(limits.max_rows);
            if over > 0 {
                // the oldest go first, names that are not locked before locked ones
                let evict = tx
                    .prepare_cached(
                        "DELETE FROM login_failures WHERE name IN (SELECT name FROM login_failures
                         WHERE name <> $1 ORDER BY failures >= $2, updated_at LIMIT $3)",
                    )
                    .await?;
                tx.execute(&evict, &[&name, &max, &over]).await?;
            }
        }
        let st = tx.prepare_cached(ACCOUNT_BY_NAME).await?;
        let account = tx.query_opt(&st, &[&name]).await?.as_ref().map(account_row).transpose()?;
        tx.commit().await?;
        Ok(LoginAttempt::Allowed(account))
    }

    async fn clear_login_failures(&self, name: String) -> Result<(), StoreError> {
        self.change_account("DELETE FROM login_failures WHERE name = $1", &[&name]).await?;
        Ok(())
    }

    /// Two callers racing get the same value: the second insert waits for the first's row, then
    /// does nothing.
    async fn setting_or_init(
        &self,
        key: &'static str,
        make: impl FnOnce() -> String + Send + 'static,
    ) -> Result<String, StoreError> {
        let client = self.pool.get().await?;
        let add = client
            .prepare_cached("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .await?;
        client.execute(&add, &[&key, &make()]).await?;
        // a statement of its own: it sees a racing caller's row committed meanwhile
        let get = client.prepare_cached("SELECT value FROM settings WHERE key = $1").await?;
        let row = client.query_one(&get, &[&key]).await?;
        Ok(row.try_get(0)?)
    }
}
