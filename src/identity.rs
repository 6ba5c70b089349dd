//! Who is talking, as signed tokens (JWT, HS256 = HMAC-SHA256).
//!
//! - Shoppers: the storefront signs a token with the configured `token_secret`, carrying the
//!   shopper id in `sub`, the time it was issued in `iat` and an expiry in `exp` (Unix seconds).
//!   A token without `iat`, or whose `exp` is more than `shopper_token_max_secs` (default 24 h)
//!   after its `iat` or after now, is refused: a stolen token is good for a day at most.
//! - Staff (agents, trainers, admins): `POST /api/login` signs a token with the server's own staff
//!   secret (generated on first start, kept in the database), with the role and the audience
//!   [`STAFF_AUDIENCE`], and the account's token generation in `gen`. The two secrets differ, so
//!   one kind of token never passes for the other. A valid signature is not enough for a staff
//!   token: the account must still exist with that role and generation (`accounts::Roster`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The shopper id.
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// The longest lifetime of a shopper token unless configured (`shopper_token_max_secs`): 24 h.
pub const DEFAULT_SHOPPER_TOKEN_MAX_SECS: i64 = 86_400;

/// A shopper token's claims as they arrive (`iat` is checked, then dropped).
#[derive(Deserialize)]
struct ShopperWire {
    sub: String,
    exp: i64,
    iat: Option<i64>,
}

impl Expiring for ShopperWire {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Trainer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Trainer => "trainer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            "trainer" => Some(Role::Trainer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The audience of staff tokens.
pub const STAFF_AUDIENCE: &str = "kefu-staff";

/// A staff token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffClaims {
    /// The account name.
    pub sub: String,
    pub role: Role,
    /// Always [`STAFF_AUDIENCE`].
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// The account's token generation when the token was issued: a password change, a role
    /// change or a removal raises the account's, which ends the token (see `accounts::Roster`).
    pub gen: i64,
}

/// Claims that expire.
pub trait Expiring {
    fn exp(&self) -> i64;
}

impl Expiring for Claims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Expiring for StaffClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token has no iat (issued at)")]
    NoIssuedAt,
    #[error("token lives longer than the {0} seconds this server allows")]
    TooLong(i64),
    #[error("shopper tokens are not enabled on this server (no token_secret configured)")]
    Disabled,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn mac(secret: &str) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length")
}

/// Signs claims (what a storefront does for shoppers; used by tests, `kefu token` and login).
/// Claims without an `iat` get one: now.
pub fn sign<C: Serialize>(secret: &str, claims: &C) -> String {
    let mut value = serde_json::to_value(claims).expect("claims serialise");
    if let Some(map) = value.as_object_mut() {
        if !map.contains_key("iat") {
            map.insert("iat".into(), chrono::Utc::now().timestamp().into());
        }
    }
    sign_exact(secret, &value)
}

/// Signs claims exactly as given (no `iat` added).
pub fn sign_exact<C: Serialize>(secret: &str, claims: &C) -> String {
    let head = URL_SAFE_NO_PAD.encode(HEADER);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let mut m = mac(secret);
    m.update(format!("{head}.{body}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{head}.{body}.{sig}")
}

/// Verifies a shopper token's signature, expiry and lifetime at `now` (Unix seconds), with the
/// default maximum lifetime.
pub fn verify(secret: &str, token: &str, now: i64) -> Result<Claims, TokenError> {
    verify_shopper(secret, token, now, DEFAULT_SHOPPER_TOKEN_MAX_SECS)
}

/// Verifies a shopper token: signature, expiry, an `iat`, and `exp` no more than `max_secs`
/// after `iat` nor after `now`.
pub fn verify_shopper(secret: &str, token: &str, now: i64, max_secs: i64) -> Result<Claims, TokenError> {
    let c: ShopperWire = verify_claims(secret, token, now)?;
    let iat = c.iat.ok_or(TokenError::NoIssuedAt)?;
    if c.exp.saturating_sub(iat) > max_secs || c.exp.saturating_sub(now) > max_secs {
        return Err(TokenError::TooLong(max_secs));
    }
    Ok(Claims { sub: c.sub, exp: c.exp })
}

/// Verifies a staff token: signature, expiry and audience.
pub fn verify_staff(secret: &str, token: &str, now: i64) -> Result<StaffClaims, TokenError> {
    let c: StaffClaims = verify_claims(secret, token, now)?;
    if c.aud != STAFF_AUDIENCE {
        return Err(TokenError::Malformed);
    }
    Ok(c)
}

fn verify_claims<C: serde::de::DeserializeOwned + Expiring>(
    secret: &str,
    token: &str,
    now: i64,
) -> Result<C, TokenError> {
    let mut parts = token.split('.');
    let (Some(head), Some(body), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header = URL_SAFE_NO_PAD.decode(head).map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Value = serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(TokenError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| TokenError::Malformed)?;
    let mut m = mac(secret);
    m.update(format!("{head}.{body}").as_bytes());
    m.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
    let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| TokenError::Malformed)?;
    let claims: C = serde_json::from_slice(&body).map_err(|_| TokenError::Malformed)?;
    if claims.exp() <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-test-secret-of-enough-length";

    #[test]
    fn signed_tokens_verify_and_tampering_is_caught() {
        let t = sign(SECRET, &Claims { sub: "S1001".into(), exp: 2_000 });
        assert_eq!(verify(SECRET, &t, 1_000).unwrap().sub, "S1001");
        assert_eq!(verify(SECRET, &t, 2_000), Err(TokenError::Expired));
        assert_eq!(verify("another-secret-entirely", &t, 1_000), Err(TokenError::BadSignature));
        let forged = sign(SECRET, &Claims { sub: "S1002".into(), exp: 2_000 });
        // another shopper's payload under this token's signature
        let p: Vec<&str> = t.split('.').collect();
        let f: Vec<&str> = forged.split('.').collect();
        assert_eq!(
            verify(SECRET, &format!("{}.{}.{}", p[0], f[1], p[2]), 1_000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(SECRET, "not a token", 1_000), Err(TokenError::Malformed));
    }

    #[test]
    fn shopper_tokens_need_iat_and_a_bounded_lifetime() {
        let now = 1_800_000_000;
        let ok = sign_exact(SECRET, &serde_json::json!({"sub": "S1", "iat": now, "exp": now + 3600}));
        assert_eq!(verify_shopper(SECRET, &ok, now, 86_400).unwrap().sub, "S1");
        let no_iat = sign_exact(SECRET, &Claims { sub: "S1".into(), exp: now + 3600 });
        assert_eq!(verify_shopper(SECRET, &no_iat, now, 86_400), Err(TokenError::NoIssuedAt));
        let year_3000 =
            sign_exact(SECRET, &serde_json::json!({"sub": "S1", "iat": now, "exp": 32_503_680_000i64}));
        assert_eq!(verify_shopper(SECRET, &year_3000, now, 86_400), Err(TokenError::TooLong(86_400)));
        // an iat in the future does not stretch it
        let late =
            sign_exact(SECRET, &serde_json::json!({"sub": "S1", "iat": now + 86_400, "exp": now + 100_000}));
        assert_eq!(verify_shopper(SECRET, &late, now, 86_400), Err(TokenError::TooLong(86_400)));
    }
}
