//! Resume point identities: what a checkpoint names its `.await` by, so that code
//! edited elsewhere still finds it.
//!
//! An identity hashes the awaited expression as written, the control constructs around
//! it (`if` branches, `match` arms by pattern, loops), its rank among awaits of the same
//! expression there and how many there are; or, when the user pins it with
//! `#[point("name")]`, only that name. Edits that leave these alone (code between
//! awaits, other awaits added or removed, new branches) keep it. Adding or removing an
//! identical await in the same construct changes the identity of all of them, so that a
//! checkpoint is never resumed at the wrong one of several identical awaits: such
//! instances are blocked, unless their points are pinned. Line numbers are left out on
//! purpose: they move with every edit above.

use std::collections::HashMap;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// FNV-1a, 64-bit: stable across compiler versions and platforms, unlike `std`'s hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The name of a temporary holding `content` inside `path`, the `rank`th such there:
/// `__{prefix}_{hash}`, then `_{rank}` after the first. What it holds and where, not a
/// running count, so that code added before it leaves its name (and so the layout of a
/// checkpoint that saves it) alone.
pub fn temporary(prefix: &str, path: &str, content: &str, rank: u32) -> String {
    let hash = fnv1a(format!("durable-temp-v1;{prefix};{path};{content}").as_bytes());
    let short = (hash >> 32) as u32 ^ hash as u32;
    match rank {
        0 => format!("__{prefix}_{short:08x}"),
        _ => format!("__{prefix}_{short:08x}_{rank}"),
    }
}

/// The identity of a pinned point.
pub fn pinned(name: &str) -> u64 {
    fnv1a(format!("durable-point-v1;pin;{name}").as_bytes())
}

/// The identity of the `rank`th of `count` awaits of `expr` inside `path`.
pub fn ranked(path: &str, expr: &str, rank: u32, count: u32) -> u64 {
    fnv1a(format!("durable-point-v1;{path};{expr};{rank}/{count}").as_bytes())
}

/// `tokens` as text that does not depend on how the compiler spaces them: one space
/// between tokens, groups by their delimiters.
pub fn normalized(tokens: TokenStream) -> String {
    let mut out = Vec::new();
    for tree in tokens {
        match tree {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push(format!("{open} {} {close}", normalized(g.stream())));
            }
            TokenTree::Ident(i) => out.push(i.to_string()),
            TokenTree::Punct(p) => out.push(p.as_char().to_string()),
            TokenTree::Literal(l) => out.push(l.to_string()),
        }
    }
    out.join(" ")
}

/// Counts awaits with the same surroundings, in source order.
#[derive(Default)]
pub struct Ranks {
    seen: HashMap<(String, String), u32>,
}

impl Ranks {
    /// The rank of the next await of `expr` inside `path`.
    pub fn next(&mut self, path: &str, expr: &str) -> u32 {
        let rank = self
            .seen
            .entry((path.to_owned(), expr.to_owned()))
            .or_default();
        *rank += 1;
        *rank - 1
    }

    /// How many awaits of `expr` inside `path` there are.
    pub fn count(&self, path: &str, expr: &str) -> u32 {
        self.seen
            .get(&(path.to_owned(), expr.to_owned()))
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn a_temporary_is_named_by_what_it_holds_and_where() {
        let name = temporary("iter", "", "0 .. n", 0);
        assert!(name.starts_with("__iter_") && name.len() == "__iter_".len() + 8);
        assert_eq!(name, temporary("iter", "", "0 .. n", 0), "stable");
        assert_ne!(name, temporary("iter", "for", "0 .. n", 0));
        assert_ne!(name, temporary("iter", "", "0 .. m", 0));
        assert_eq!(temporary("iter", "", "0 .. n", 1), format!("{name}_1"));
    }

    #[test]
    fn depends_on_the_expression_the_surroundings_and_the_siblings_only() {
        let mut a = Ranks::default();
        assert_eq!((a.next("loop", "t"), a.next("loop", "t")), (0, 1));
        assert_eq!((a.next("", "t"), a.count("loop", "t")), (0, 2));
        assert_ne!(ranked("loop", "t", 0, 2), ranked("loop", "t", 1, 2));
        assert_ne!(ranked("loop", "t", 0, 2), ranked("loop", "t", 0, 3));
        assert_ne!(ranked("loop", "t", 0, 1), ranked("", "t", 0, 1));
        assert_ne!(pinned("approval"), pinned("approval2"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn spacing_does_not_matter() {
        assert_eq!(
            normalized(quote!(ctx.call(f, (a, 1)))),
            normalized("ctx . call ( f ,( a ,1 ) )".parse().unwrap())
        );
        assert_eq!(
            normalized(quote!(ctx.event("go"))),
            "ctx . event ( \"go\" )"
        );
    }
}
