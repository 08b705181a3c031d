//! Migrations: moving an instance saved by one version of an orchestration to a later
//! one, at a named resume point, through a user function.
//!
//! `#[migration]` on `fn f(amount: u64, approver: String) -> Locals` implements
//! [`Migration`] for a type named `f`: it takes the old version's locals at the point
//! by name and type, and returns the new version's locals there as the fields of
//! `Locals`. `#[orchestrator(version = 3, migrate(from = 2, point = "approval", with =
//! f))]` declares it. The old locals are checked against the checkpoint (names, types
//! and order) before a byte is decoded; what the point awaits must not have changed, as
//! the call, timer or event it waits for is already under way.

use crate::codec::CodecError;

/// A function from one version's saved locals at a point to the next version's.
pub trait Migration: 'static {
    /// The new version's locals at the point, as fields named like them.
    type Output;
    /// The old version's locals the function takes, by name, in the order the old code
    /// declared them (the order its checkpoint holds them in).
    const LOCALS: &'static [&'static str];
    /// The type names of [`Migration::LOCALS`], in the same order.
    fn types() -> Vec<&'static str>;
    /// Decodes the old locals from the front of `bytes` and maps them to the new ones.
    fn migrate(bytes: &mut &[u8]) -> Result<Self::Output, CodecError>;
}
