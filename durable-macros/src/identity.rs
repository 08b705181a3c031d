//! Resume point identities: what a checkpoint names its `.await` by, so that code
//! edited elsewhere still finds it.
//!
//! An identity hashes the awaited expression as written, the control constructs around
//! it (`if` branches, `match` arms by pattern, loops) and its rank among awaits with the
//! same two; or, when the user pins it with `#[point("name")]`, only that name. Edits
//! that leave these alone (code between awaits, awaits added elsewhere, new branches)
//! keep it. Line numbers are left out on purpose: they move with every edit above.

use std::collections::HashMap;

/// FNV-1a, 64-bit: stable across compiler versions and platforms, unlike `std`'s hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The identity of a pinned point.
pub fn pinned(name: &str) -> u64 {
    fnv1a(format!("durable-point-v1;pin;{name}").as_bytes())
}

/// Numbers awaits with the same surroundings, in source order.
#[derive(Default)]
pub struct Ranks {
    seen: HashMap<(String, String), u32>,
}

impl Ranks {
    /// The identity of the next await of `expr` (its tokens as written) inside `path`
    /// (the enclosing constructs, outermost first).
    pub fn next(&mut self, path: &[String], expr: &str) -> u64 {
        let path = path.join("/");
        let rank = self
            .seen
            .entry((path.clone(), expr.to_owned()))
            .or_default();
        let id = fnv1a(format!("durable-point-v1;{path};{expr};{rank}").as_bytes());
        *rank += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_the_expression_the_surroundings_and_the_rank_only() {
        let mut a = Ranks::default();
        let first = a.next(&["loop".into()], "ctx.timer(d)");
        let second = a.next(&["loop".into()], "ctx.timer(d)");
        assert_ne!(first, second);
        let mut b = Ranks::default();
        let _unrelated = b.next(&[], "ctx.call(f, 1)");
        assert_eq!(b.next(&["loop".into()], "ctx.timer(d)"), first);
        assert_ne!(b.next(&[], "ctx.timer(d)"), first);
        assert_ne!(pinned("approval"), pinned("approval2"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
