//! Staff accounts (agents, trainers, admins): adding one with an argon2id password hash, and
//! logging in for an expiring staff token (see `identity`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use serde::Serialize;

use crate::identity::{self, Role, StaffClaims, STAFF_AUDIENCE};
use crate::store::{Account, Store, StoreError};

/// How long a staff token is valid.
pub const TOKEN_TTL_SECS: i64 = 12 * 3600;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Wrong passwords for one account before it is locked for [`LOCKOUT`].
pub const MAX_FAILURES: u32 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account named {0:?} already exists")]
    NameTaken(String),
    #[error("account names are 1 to 64 letters, digits, '.', '-' or '_'")]
    BadName,
    #[error("passwords need at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("wrong name or password")]
    BadCredentials,
    #[error("too many wrong passwords for this account; try again later")]
    LockedOut,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a successful login returns.
#[derive(Debug, Clone, Serialize)]
pub struct Login {
    pub token: String,
    pub name: String,
    pub display_name: String,
    pub role: Role,
    /// Unix seconds.
    pub expires_at: i64,
}

pub fn hash_password(password: &str) -> Result<String, AccountError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

pub fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Creates an account.
pub async fn add(
    store: &Store,
    name: &str,
    display_name: &str,
    role: Role,
    password: &str,
) -> Result<Account, AccountError> {
    if !valid_name(name) {
        return Err(AccountError::BadName);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    let pw = password.to_string();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
    let display_name = if display_name.trim().is_empty() { name } else { display_name.trim() };
    let account = Account {
        name: name.to_string(),
        display_name: display_name.to_string(),
        role,
        password_hash,
        created_at: crate::store::now(),
    };
    if !store.add_account(account.clone()).await? {
        return Err(AccountError::NameTaken(name.to_string()));
    }
    Ok(account)
}

/// The server's secret for staff tokens: random, made on first start, kept in the database so
/// tokens survive a restart.
pub async fn staff_secret(store: &Store) -> Result<String, StoreError> {
    store
        .setting_or_init("staff_token_secret", || {
            use base64::Engine;
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        })
        .await
}

/// Checks names and passwords, and locks an account after repeated wrong passwords.
#[derive(Default)]
pub struct Logins {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Logins {
    /// Logs in: a signed staff token on the right password.
    pub async fn login(
        &self,
        store: &Store,
        secret: &str,
        name: &str,
        password: &str,
        now: i64,
    ) -> Result<Login, AccountError> {
        if self.locked(name) {
            return Err(AccountError::LockedOut);
        }
        let account = store.account(name.to_string()).await?;
        // an unknown name costs the same hashing work as a wrong password
        let hash =
            account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_string());
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || password_matches(&hash, &pw))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))?;
        let account = match account {
            Some(a) if ok => a,
            _ => {
                self.failed(name);
                return Err(AccountError::BadCredentials);
            }
        };
        self.failures.lock().expect("lock").remove(name);
        let exp = now + TOKEN_TTL_SECS;
        let claims =
            StaffClaims { sub: account.name.clone(), role: account.role, aud: STAFF_AUDIENCE.into(), exp };
        Ok(Login {
            token: identity::sign(secret, &claims),
            name: account.name,
            display_name: account.display_name,
            role: account.role,
            expires_at: exp,
        })
    }

    fn locked(&self, name: &str) -> bool {
        let mut f = self.failures.lock().expect("lock");
        match f.get(name).copied() {
            Some((_, since)) if since.elapsed() >= LOCKOUT => {
                f.remove(name);
                false
            }
            Some((n, _)) => n >= MAX_FAILURES,
            None => false,
        }
    }

    fn failed(&self, name: &str) {
        let mut f = self.failures.lock().expect("lock");
        let e = f.entry(name.to_string()).or_insert((0, Instant::now()));
        e.0 += 1;
        e.1 = Instant::now();
    }
}

/// An argon2id hash of a random password nobody knows, verified against for unknown names.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yf9k3b3pQe3p8u0pJ2zq0mQ9o8mU0q8yW8M7cZr7d9E";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(password_matches(&h, "correct horse"));
        assert!(!password_matches(&h, "correct horsf"));
        assert!(!password_matches("not a hash", "x"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok(), "the dummy hash parses, so it costs real work");
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("li.wei-2"));
        assert!(!valid_name(""));
        assert!(!valid_name("li wei"));
        assert!(!valid_name("<script>"));
    }
}
