//! Expansion snapshots: what `cargo expand` shows for the orchestrators in
//! `tests/expand/`, checked in as `*.expanded.rs` next to them.
//! Regenerate with `MACROTEST=overwrite cargo test -p durable-macros --test expand`
//! (needs `cargo install --locked --version 1.0.118 cargo-expand`).

#[test]
fn expansions() {
    macrotest::expand_without_refresh("../tests/expand/*.rs");
}
