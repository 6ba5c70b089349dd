//! The harness every integration test uses: the service in this process ([`server`]) or as a
//! `kefu` child process ([`process`]), HTTP clients in process and over TCP ([`http`]), and a
//! WebSocket client for shoppers and agents ([`ws`]).

#[allow(dead_code)]
pub mod http;
#[allow(dead_code)]
pub mod models;
#[allow(dead_code)]
pub mod postgres;
#[allow(dead_code)]
pub mod process;
#[allow(dead_code)]
pub mod server;
#[allow(dead_code)]
pub mod ws;

#[allow(unused_imports)]
pub use http::{call, get_text, token};
