//! Compile-fail cases: each orchestrator or activity in `tests/ui/` is wrong in one way,
//! and its `.stderr` pins the error the user gets, on their own line.
//! Regenerate with `TRYBUILD=overwrite cargo test -p durable-macros --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("../tests/ui/*.rs");
}
