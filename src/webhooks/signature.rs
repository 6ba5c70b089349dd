//! The one signing scheme for webhooks in both directions: kefu's outbound deliveries and the
//! events a store posts to kefu. Pure functions, no I/O, so the inbound handler, the delivery
//! worker, the tests and the fuzz target all run the same code.
//!
//! A request carries three headers:
//! - `Kefu-Timestamp`: the time of signing, Unix seconds (ASCII digits);
//! - `Kefu-Signature`: `v1=<hex>`, the lower-case hex HMAC-SHA256, keyed with the endpoint's
//!   shared secret, of the timestamp, a `.` and the raw body bytes. Several comma-separated
//!   `v1=` values may be sent while a secret is being rotated; one match is enough;
//! - `Kefu-Event-Id`: the event's id, the same on every retry: receivers deduplicate by it.
//!
//! Verifying checks the signature in constant time, then that the timestamp lies within the
//! replay window (default five minutes either side of now). The window bounds how long a
//! captured request stays usable; inside it, a receiver rejects a repeated event id.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header with the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "Kefu-Timestamp";
/// The header with the signature(s): `v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "Kefu-Signature";
/// The header with the event id (for deduplication).
pub const EVENT_ID_HEADER: &str = "Kefu-Event-Id";
/// The header with the event's type, e.g. `conversation.escalated` (also in the body).
pub const EVENT_TYPE_HEADER: &str = "Kefu-Event";
/// The scheme's version prefix in [`SIGNATURE_HEADER`].
pub const SCHEME: &str = "v1";
/// How far a timestamp may be from now, either way, unless configured otherwise.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// Longest signature header looked at (a few rotated signatures fit easily).
const MAX_SIGNATURE_HEADER: usize = 1024;

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {TIMESTAMP_HEADER} header is missing or not a Unix time in seconds")]
    BadTimestamp,
    #[error("the {SIGNATURE_HEADER} header is missing or has no {SCHEME}= signature")]
    NoSignature,
    #[error("the signature does not match the body and timestamp")]
    Mismatch,
    /// Signed too long ago, or too far ahead (a wrong clock), for the replay window.
    #[error("the timestamp is {off_by_secs} s away from now, outside the replay window of {window_secs} s")]
    OutsideWindow { off_by_secs: u64, window_secs: u64 },
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts any key length")
}

/// The MAC of `timestamp.body`.
fn keyed(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut m = mac(secret);
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The [`SIGNATURE_HEADER`] value for `body` signed at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = keyed(secret, &timestamp.to_string(), body).finalize().into_bytes();
    let mut out = String::with_capacity(SCHEME.len() + 1 + 64);
    out.push_str(SCHEME);
    out.push('=');
    for b in tag {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Parses a [`TIMESTAMP_HEADER`] value: 1 to 12 ASCII digits, nothing else (no sign, no
/// spaces), so one timestamp has exactly one spelling and the signed text is unambiguous.
pub fn parse_timestamp(text: &str) -> Result<i64, SignatureError> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::BadTimestamp);
    }
    text.parse().map_err(|_| SignatureError::BadTimestamp)
}

/// The replay window, as a pure decision: `timestamp` must be within `tolerance` of `now`
/// (both Unix seconds), in either direction.
pub fn check_window(timestamp: i64, now: i64, tolerance: Duration) -> Result<(), SignatureError> {
    let off = now.abs_diff(timestamp);
    let window = tolerance.as_secs();
    if off > window {
        return Err(SignatureError::OutsideWindow { off_by_secs: off, window_secs: window });
    }
    Ok(())
}

/// Checks a request's signature headers against its raw body: the timestamp's form, one
/// `v1=` signature that matches (compared in constant time), then the replay window. Returns
/// the signed timestamp. `now` is Unix seconds.
pub fn verify(
    secret: &[u8],
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<i64, SignatureError> {
    let ts_text = timestamp_header.ok_or(SignatureError::BadTimestamp)?.trim();
    let timestamp = parse_timestamp(ts_text)?;
    let header =
        signature_header.filter(|h| h.len() <= MAX_SIGNATURE_HEADER).ok_or(SignatureError::NoSignature)?;
    let mut candidates = header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix(SCHEME)?.strip_prefix('='))
        .map(decode_hex)
        .peekable();
    if candidates.peek().is_none() {
        return Err(SignatureError::NoSignature);
    }
    let expected = keyed(secret, ts_text, body);
    // every candidate is checked (no early exit on the first match), each in constant time
    let matched = candidates.fold(false, |hit, tag| {
        let ok = tag.is_some_and(|tag| expected.clone().verify_slice(&tag).is_ok());
        hit | ok
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    check_window(timestamp, now, tolerance)?;
    Ok(timestamp)
}

/// 64 hex digits (either case) as 32 bytes; anything else is none.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if t.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    t.chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    const SECRET: &[u8] = b"whsec-test-0123456789";
    const NOW: i64 = 1_764_000_000;

    fn ok(ts: i64, body: &[u8]) -> Result<i64, SignatureError> {
        let sig = sign(SECRET, ts, body);
        verify(SECRET, Some(&ts.to_string()), Some(&sig), body, NOW, DEFAULT_TOLERANCE)
    }

    #[test]
    fn a_known_vector() {
        // the same value as docs/integrating.md's Python example prints
        let sig = sign(b"s3cret", 1_700_000_000, br#"{"id":"evt_1"}"#);
        assert_eq!(sig, "v1=8e6f5c9e12ccd802130a0cf337c2d90395d59605481627c32bb6c530172adf23");
    }

    #[test]
    fn headers_must_be_well_formed() {
        let body = b"{}";
        let sig = sign(SECRET, NOW, body);
        let v = |ts: Option<&str>, s: Option<&str>| verify(SECRET, ts, s, body, NOW, DEFAULT_TOLERANCE);
        assert_eq!(v(None, Some(&sig)), Err(SignatureError::BadTimestamp));
        for bad in ["", "-1", "+1764000000", "1764000000.0", "0x10", "1 2", "1234567890123"] {
            assert_eq!(v(Some(bad), Some(&sig)), Err(SignatureError::BadTimestamp), "{bad:?}");
        }
        assert_eq!(v(Some(&NOW.to_string()), None), Err(SignatureError::NoSignature));
        assert_eq!(v(Some(&NOW.to_string()), Some("v0=abcd")), Err(SignatureError::NoSignature));
        assert_eq!(v(Some(&NOW.to_string()), Some("v1=zz")), Err(SignatureError::Mismatch));
        // upper-case hex, spaces around parts and a rotated second signature are accepted
        let upper = sig.to_uppercase().replacen("V1", "v1", 1);
        assert_eq!(v(Some(&NOW.to_string()), Some(&upper)), Ok(NOW));
        let rotated = format!("v1={}, {sig}", "0".repeat(64));
        assert_eq!(v(Some(&NOW.to_string()), Some(&rotated)), Ok(NOW));
    }

    #[test]
    fn the_window_is_inclusive_both_ways() {
        let w = DEFAULT_TOLERANCE.as_secs() as i64;
        assert_eq!(ok(NOW - w, b"x"), Ok(NOW - w));
        assert_eq!(ok(NOW + w, b"x"), Ok(NOW + w));
        assert_eq!(
            ok(NOW - w - 1, b"x"),
            Err(SignatureError::OutsideWindow { off_by_secs: 301, window_secs: 300 })
        );
        assert!(matches!(ok(NOW + w + 1, b"x"), Err(SignatureError::OutsideWindow { .. })));
        assert!(check_window(0, i64::MAX, Duration::from_secs(u64::MAX)).is_ok());
        assert!(check_window(i64::MIN, i64::MAX, DEFAULT_TOLERANCE).is_err());
    }

    /// Randomised properties, seeded (the same cases every run): a signature made by `sign`
    /// verifies; changing one byte of the body, the timestamp, the secret or the signature, or
    /// moving outside the window, never does.
    #[test]
    fn properties_hold_for_random_inputs() {
        let mut rng = ChaCha8Rng::seed_from_u64(18);
        for case in 0..2000 {
            let mut body = vec![0u8; rng.random_range(0..300)];
            rng.fill_bytes(&mut body);
            let mut secret = vec![0u8; rng.random_range(1..80)];
            rng.fill_bytes(&mut secret);
            let window = Duration::from_secs(rng.random_range(0..3600));
            let ts = NOW + rng.random_range(-(window.as_secs() as i64)..=window.as_secs() as i64);
            let sig = sign(&secret, ts, &body);
            let ts_text = ts.to_string();
            let check = |secret: &[u8], ts: &str, sig: &str, body: &[u8]| {
                verify(secret, Some(ts), Some(sig), body, NOW, window)
            };
            assert_eq!(check(&secret, &ts_text, &sig, &body), Ok(ts), "case {case}");

            if !body.is_empty() {
                let mut other = body.clone();
                let i = rng.random_range(0..other.len());
                other[i] ^= 1 << rng.random_range(0..8);
                assert_eq!(
                    check(&secret, &ts_text, &sig, &other),
                    Err(SignatureError::Mismatch),
                    "case {case}"
                );
                // a byte moved across the "." still changes what was signed
                let mut longer = body.clone();
                longer.push(b'.');
                assert_eq!(check(&secret, &ts_text, &sig, &longer), Err(SignatureError::Mismatch));
            }
            let mut other_secret = secret.clone();
            let i = rng.random_range(0..other_secret.len());
            other_secret[i] ^= 1 << rng.random_range(0..8);
            assert_eq!(
                check(&other_secret, &ts_text, &sig, &body),
                Err(SignatureError::Mismatch),
                "case {case}"
            );
            let other_ts = (ts + rng.random_range(1..1000)).to_string();
            assert_eq!(check(&secret, &other_ts, &sig, &body), Err(SignatureError::Mismatch), "case {case}");
            let mut other_sig = sig.clone().into_bytes();
            let i = rng.random_range(3..other_sig.len());
            other_sig[i] = if other_sig[i] == b'0' { b'1' } else { b'0' };
            let other_sig = String::from_utf8(other_sig).unwrap();
            assert_eq!(
                check(&secret, &ts_text, &other_sig, &body),
                Err(SignatureError::Mismatch),
                "case {case}"
            );

            // right signature, wrong time: refused by the window alone
            let far = NOW + window.as_secs() as i64 + rng.random_range(1..100_000);
            let far_sig = sign(&secret, far, &body);
            assert!(
                matches!(
                    check(&secret, &far.to_string(), &far_sig, &body),
                    Err(SignatureError::OutsideWindow { .. })
                ),
                "case {case}"
            );
        }
    }

    /// Random header text never panics and never verifies.
    #[test]
    fn random_headers_are_refused_without_panicking() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let alphabet = b"v1=0123456789abcdefABCDEF,. -+x";
        for _ in 0..5000 {
            let mut text = |n: usize| -> String {
                (0..rng.random_range(0..n))
                    .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
                    .collect()
            };
            let (ts, sig) = (text(16), text(160));
            assert!(
                verify(SECRET, Some(&ts), Some(&sig), b"{}", NOW, DEFAULT_TOLERANCE).is_err(),
                "{ts:?} {sig:?}"
            );
        }
    }
}
