//! Expansion snapshots: what `cargo expand` shows for the orchestrators in
//! `tests/expand/`, checked in as `*.expanded.rs` next to them.
//!
//! A missing or different snapshot fails the test. To accept new output run
//! `MACROTEST=overwrite cargo test -p durable-macros --test expand` (with
//! `cargo install --locked --version 1.0.118 cargo-expand`), and review the diff.

#[test]
fn expansions() {
    if std::env::var_os("MACROTEST").is_some_and(|v| v == "overwrite") {
        macrotest::expand("../tests/expand/*.rs");
    } else {
        macrotest::expand_without_refresh("../tests/expand/*.rs");
    }
}
