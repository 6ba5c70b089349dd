//! Staff accounts and server settings in the store.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{now, Store, StoreError};
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
}

impl Store {
    /// Adds an account; false when the name is taken.
    pub async fn add_account(&self, account: Account) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "INSERT OR IGNORE INTO users (name, display_name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![account.name, account.display_name, account.role.as_str(), account.password_hash, now()],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn account(&self, name: String) -> Result<Option<Account>, StoreError> {
        self.call(move |conn| {
            let row = conn
                .query_row(
                    "SELECT name, display_name, role, password_hash, created_at FROM users WHERE name = ?1",
                    params![name],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(name, display_name, role, password_hash, created_at)| {
                let role =
                    Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("user role {role:?}")))?;
                Ok(Account { name, display_name, role, password_hash, created_at })
            })
            .transpose()
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
