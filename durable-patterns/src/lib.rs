//! The orchestrations and activities of durable's examples: the five Durable Functions
//! patterns, a saga of durable functions and a bounded fan-out. Each module registers
//! its code on a [`durable::RuntimeBuilder`] of any store and runs it; the examples
//! (`examples/*.rs`) open RocksDB and call them, the tests run them on every store.
//!
//! This crate depends on `durable` without its default features, so it builds the
//! macros and the core only: `cargo expand -p durable-patterns chaining` shows the
//! machine `#[orchestrator]` generates without building RocksDB or the HTTP API. Laying
//! out a service the same way (orchestrations in a library on `durable` without
//! default features, the store chosen in the binary) gives its orchestrations the same
//! fast expansion.

pub mod async_http_api;
pub mod bounded_parallelism;
pub mod chaining;
pub mod fan_out_fan_in;
pub mod human_interaction;
pub mod monitor;
pub mod saga;
