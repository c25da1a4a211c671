//! Byte-exact compatibility with what the Go helper writes and reads: JSON strings escaped as
//! `encoding/json` does, and RFC 3339 times as `time.Time` marshals them.

pub mod json;
pub mod time;
