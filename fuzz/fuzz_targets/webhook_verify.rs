//! Fuzzes the webhook signing scheme, `kefu::webhooks::signature` (both directions use it).
//!
//! The input is split at the first three 0xFF bytes into secret, `Kefu-Timestamp` header,
//! `Kefu-Signature` header and body. Properties: `verify` never panics on any header text;
//! whatever it accepts is a header that `sign` would produce for that secret, timestamp and body
//! (up to hex case, spaces and extra rotated signatures); a fresh signature of the same parts
//! always verifies at its own time, and never with one body byte changed.
#![no_main]

use std::time::Duration;

use kefu::webhooks::signature::{parse_timestamp, sign, verify, SignatureError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |b| *b == 0xFF);
    let (Some(secret), Some(ts), Some(sig), Some(body)) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let ts = String::from_utf8_lossy(ts);
    let sig = String::from_utf8_lossy(sig);
    let window = Duration::from_secs(300);
    let now = parse_timestamp(ts.trim()).unwrap_or(1_764_000_000);

    match verify(secret, Some(&ts), Some(&sig), body, now, window) {
        Ok(t) => {
            let expected = sign(secret, t, body);
            let lower = sig.to_ascii_lowercase();
            assert!(lower.split(',').any(|p| p.trim() == expected), "accepted {sig:?}, expected {expected}");
        }
        Err(SignatureError::OutsideWindow { .. }) => panic!("a timestamp equal to now is outside the window"),
        Err(_) => {}
    }

    if let Ok(t) = parse_timestamp(ts.trim()) {
        let fresh = sign(secret, t, body);
        assert_eq!(verify(secret, Some(ts.trim()), Some(&fresh), body, t, window), Ok(t));
        if let Some(first) = body.first() {
            let mut other = body.to_vec();
            other[0] = first.wrapping_add(1);
            assert_eq!(
                verify(secret, Some(ts.trim()), Some(&fresh), &other, t, window),
                Err(SignatureError::Mismatch)
            );
        }
    }
});
