//! Fuzzes the wire-protocol decoders: the shopper's `kefu::chat::protocol::decode` and the
//! agent's `kefu::agents::protocol::decode`.
//!
//! Properties: it never panics on any text frame; a frame it accepts survives a round trip
//! (serialise the decoded `ClientMsg` with serde_json, decode it again, get the same message).
#![no_main]

use kefu::chat::protocol::{decode, ClientMsg};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The server only ever decodes WebSocket *text* frames, which are valid UTF-8.
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(m) = kefu::agents::protocol::decode(text) {
        let json = serde_json::to_string(&m).expect("a decoded AgentMsg serialises");
        assert_eq!(kefu::agents::protocol::decode(&json).ok(), Some(m), "agent frame round trip: {json:?}");
    }
    let Ok(msg) = decode(text) else { return };
    let json = serde_json::to_string(&msg).expect("a decoded ClientMsg serialises");
    let again: ClientMsg = match decode(&json) {
        Ok(m) => m,
        Err(e) => panic!("re-encoded frame {json:?} (from {text:?}) no longer decodes: {e:?}"),
    };
    assert_eq!(msg, again, "round trip changed the message; re-encoded as {json:?}");
});
