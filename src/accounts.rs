//! Staff accounts (agents, trainers, admins): adding, changing and removing them (argon2id
//! password hashes), logging in for an expiring staff token (see `identity`) with a bound on
//! the password checks running at once and a lockout kept in the store, and the [`Roster`] every
//! staff request is checked against, so a removed account, a role change or a password change
//! ends the tokens issued before within seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::identity::{self, Role, StaffClaims, STAFF_AUDIENCE};
use crate::store::{Account, AccountStore, Backend, LoginAttempt, LoginLimits, StoreError};

/// How long a staff token is valid.
pub const TOKEN_TTL_SECS: i64 = 12 * 3600;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (longer ones are refused before any hashing).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Wrong passwords for one name before it is locked for [`LOCKOUT`].
pub const MAX_FAILURES: u32 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Most names kept in the failed-login table (unknown names are counted too).
pub const MAX_FAILURE_ROWS: u32 = 10_000;
/// How long the [`Roster`] trusts what it read about an account. Changes made by another
/// process (`kefu user …`) take effect within this time; in-process ones at once.
pub const ROSTER_TTL: Duration = Duration::from_secs(2);
/// Accounts the roster remembers before it drops the stale ones.
const ROSTER_CACHE: usize = 1024;

const LOGIN_LIMITS: LoginLimits = LoginLimits {
    max_failures: MAX_FAILURES,
    window_secs: LOCKOUT.as_secs() as i64,
    max_rows: MAX_FAILURE_ROWS,
};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account named {0:?} already exists")]
    NameTaken(String),
    #[error("no account named {0:?}")]
    NoSuchAccount(String),
    #[error("account names are 1 to 64 letters, digits, '.', '-' or '_'")]
    BadName,
    #[error("passwords need at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("passwords are at most {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    #[error("wrong name or password")]
    BadCredentials,
    #[error("too many wrong passwords for this account; try again later")]
    LockedOut,
    #[error("too many logins at once; try again in a second")]
    Busy,
    /// A validly signed staff token whose account was removed, or changed since it was issued.
    #[error("{0}; log in again")]
    Revoked(&'static str),
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

/// A new password's hash, made on the blocking pool, once the password is long enough and not
/// too long.
async fn new_password_hash(password: &str) -> Result<String, AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::PasswordTooLong);
    }
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
}

/// Creates an account.
pub async fn add(
    store: &Backend,
    name: &str,
    display_name: &str,
    role: Role,
    password: &str,
) -> Result<Account, AccountError> {
    if !valid_name(name) {
        return Err(AccountError::BadName);
    }
    let password_hash = new_password_hash(password).await?;
    let display_name = if display_name.trim().is_empty() { name } else { display_name.trim() };
    let account = Account {
        name: name.to_string(),
        display_name: display_name.to_string(),
        role,
        password_hash,
        created_at: crate::store::now(),
        token_gen: 0,
    };
    if !store.add_account(account.clone()).await? {
        return Err(AccountError::NameTaken(name.to_string()));
    }
    Ok(account)
}

/// The server's secret for staff tokens: random, made on first start, kept in the database so
/// tokens survive a restart.
pub async fn staff_secret(store: &Backend) -> Result<String, StoreError> {
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

/// Checks names and passwords: a bounded number of password checks at once (argon2 takes
/// about 19 MB each), and the lockout after repeated wrong passwords, kept in the store.
pub struct Logins {
    permits: Arc<Semaphore>,
}

impl Logins {
    /// At most `max_concurrent` password checks at once; more are refused at once
    /// ([`AccountError::Busy`]), never queued.
    pub fn new(max_concurrent: usize) -> Logins {
        Logins { permits: Arc::new(Semaphore::new(max_concurrent)) }
    }

    /// Logs in: a signed staff token on the right password. A name that cannot exist or a
    /// password that is too long is refused before any hashing or store work; every other
    /// attempt, for a known name or not, is counted against the name before its check.
    pub async fn login(
        &self,
        store: &Backend,
        secret: &str,
        name: &str,
        password: &str,
        now: i64,
    ) -> Result<Login, AccountError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(AccountError::PasswordTooLong);
        }
        if !valid_name(name) {
            return Err(AccountError::BadCredentials);
        }
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| AccountError::Busy)?;
        let account = match store.reserve_login(name.to_string(), LOGIN_LIMITS, now).await? {
            LoginAttempt::Locked => return Err(AccountError::LockedOut),
            LoginAttempt::Allowed(account) => account,
        };
        // an unknown name costs the same hashing work as a wrong password
        let hash = account.as_ref().map_or(DUMMY_HASH, |a| a.password_hash.as_str()).to_string();
        let pw = password.to_string();
        // the permit lives as long as the hashing, also when the client hangs up meanwhile
        let ok = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            password_matches(&hash, &pw)
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?;
        let account = match account {
            Some(a) if ok => a,
            _ => return Err(AccountError::BadCredentials),
        };
        store.clear_login_failures(account.name.clone()).await?;
        let exp = now + TOKEN_TTL_SECS;
        let claims = StaffClaims {
            sub: account.name.clone(),
            role: account.role,
            aud: STAFF_AUDIENCE.into(),
            exp,
            gen: account.token_gen,
        };
        Ok(Login {
            token: identity::sign(secret, &claims),
            name: account.name,
            display_name: account.display_name,
            role: account.role,
            expires_at: exp,
        })
    }
}

/// An account as a staff token is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub display_name: String,
    pub role: Role,
    pub gen: i64,
}

/// Whether a token's claims still hold for the account as it is (`None`: no such account).
fn admits(standing: Option<Standing>, claims: &StaffClaims) -> Result<Standing, AccountError> {
    match standing {
        None => Err(AccountError::Revoked("this account no longer exists")),
        Some(s) if s.gen != claims.gen || s.role != claims.role => {
            Err(AccountError::Revoked("this account's password or role changed since you logged in"))
        }
        Some(s) => Ok(s),
    }
}

/// The staff accounts as tokens are checked against them: a small cache of each account's
/// role and token generation, trusted for [`ROSTER_TTL`] (the CLI changes accounts from
/// another process), forgotten at once on a change made through it. Also the way to change
/// accounts.
pub struct Roster {
    store: Backend,
    cache: Mutex<HashMap<String, (Option<Standing>, Instant)>>,
}

impl Roster {
    pub fn new(store: Backend) -> Roster {
        Roster { store, cache: Mutex::new(HashMap::new()) }
    }

    /// The account of a validly signed staff token, if it still exists with the token's role
    /// and generation; else [`AccountError::Revoked`].
    pub async fn check(&self, claims: &StaffClaims) -> Result<Standing, AccountError> {
        let cached = self.cache.lock().expect("lock").get(&claims.sub).cloned();
        let standing = match cached {
            Some((standing, at)) if at.elapsed() < ROSTER_TTL => standing,
            _ => {
                let standing = self.store.account(claims.sub.clone()).await?.map(|a| Standing {
                    display_name: a.display_name,
                    role: a.role,
                    gen: a.token_gen,
                });
                let mut cache = self.cache.lock().expect("lock");
                if cache.len() >= ROSTER_CACHE {
                    cache.retain(|_, (_, at)| at.elapsed() < ROSTER_TTL);
                }
                cache.insert(claims.sub.clone(), (standing.clone(), Instant::now()));
                standing
            }
        };
        admits(standing, claims)
    }

    /// Removes an account: its tokens end.
    pub async fn remove(&self, name: &str) -> Result<(), AccountError> {
        let found = self.store.remove_account(name.to_string()).await?;
        self.changed(name, found)
    }

    /// Gives an account another role: its tokens end.
    pub async fn set_role(&self, name: &str, role: Role) -> Result<(), AccountError> {
        let found = self.store.set_account_role(name.to_string(), role).await?;
        self.changed(name, found)
    }

    /// Gives an account a new password: its tokens end.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        let hash = new_password_hash(password).await?;
        let found = self.store.set_account_password(name.to_string(), hash).await?;
        self.changed(name, found)
    }

    fn changed(&self, name: &str, found: bool) -> Result<(), AccountError> {
        self.cache.lock().expect("lock").remove(name);
        found.then_some(()).ok_or_else(|| AccountError::NoSuchAccount(name.to_string()))
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

    #[test]
    fn tokens_are_admitted_only_for_the_account_as_it_is() {
        let claims =
            StaffClaims { sub: "li".into(), role: Role::Agent, aud: STAFF_AUDIENCE.into(), exp: 0, gen: 3 };
        let now = Standing { display_name: "Li".into(), role: Role::Agent, gen: 3 };
        assert_eq!(admits(Some(now.clone()), &claims).unwrap(), now);
        let revoked = |s| matches!(admits(s, &claims), Err(AccountError::Revoked(_)));
        assert!(revoked(None), "removed");
        assert!(revoked(Some(Standing { gen: 4, ..now.clone() })), "password changed");
        assert!(revoked(Some(Standing { role: Role::Admin, ..now })), "role changed");
    }

    #[tokio::test]
    async fn new_passwords_are_bounded_both_ways() {
        assert!(matches!(new_password_hash("short").await, Err(AccountError::WeakPassword)));
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(matches!(new_password_hash(&long).await, Err(AccountError::PasswordTooLong)));
    }

    /// With no permit to give, a login can only get as far as `Busy`: a name that cannot exist
    /// and an over-long password are refused before that, so before any hashing or store work.
    #[tokio::test]
    async fn impossible_logins_are_refused_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::Backend::from(crate::store::Store::open(&dir.path().join("kefu.db")).unwrap());
        let logins = Logins::new(0);
        let login = |name: String, pw: String| {
            let (logins, store) = (&logins, &store);
            async move { logins.login(store, "secret", &name, &pw, 0).await }
        };
        let long_name = "x".repeat(1_500_000);
        assert!(matches!(login(long_name, "pw".into()).await, Err(AccountError::BadCredentials)));
        assert!(matches!(login("li wei".into(), "pw".into()).await, Err(AccountError::BadCredentials)));
        let long_pw = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(matches!(login("li".into(), long_pw).await, Err(AccountError::PasswordTooLong)));
        assert!(matches!(login("li".into(), "pw".into()).await, Err(AccountError::Busy)));
    }
}
