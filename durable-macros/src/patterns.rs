//! The names a pattern binds.

use proc_macro2::Ident;
use syn::Pat;

/// A name bound by a pattern.
pub struct Bound {
    pub ident: Ident,
    pub mutable: bool,
}

/// The names `pat` binds, in source order. An identifier that starts with an uppercase
/// letter and has no `mut`, `ref` or `@` is taken for a unit struct, constant or enum
/// variant (`None`, `MAX`), the convention Rust's own lints assume.
pub fn bindings(pat: &Pat) -> Vec<Bound> {
    let mut out = Vec::new();
    collect(pat, &mut out);
    out
}

fn collect(pat: &Pat, out: &mut Vec<Bound>) {
    match pat {
        Pat::Ident(p) => {
            let looks_constant = p
                .ident
                .to_string()
                .chars()
                .next()
                .is_some_and(char::is_uppercase);
            let plain = p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none();
            if !(looks_constant && plain) {
                out.push(Bound {
                    ident: p.ident.clone(),
                    mutable: p.mutability.is_some(),
                });
            }
            if let Some((_, sub)) = &p.subpat {
                collect(sub, out);
            }
        }
        Pat::Or(p) => {
            if let Some(first) = p.cases.first() {
                collect(first, out);
            }
        }
        Pat::Paren(p) => collect(&p.pat, out),
        Pat::Reference(p) => collect(&p.pat, out),
        Pat::Slice(p) => p.elems.iter().for_each(|e| collect(e, out)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| collect(&f.pat, out)),
        Pat::Tuple(p) => p.elems.iter().for_each(|e| collect(e, out)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| collect(e, out)),
        Pat::Type(p) => collect(&p.pat, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse::Parser;

    fn names(src: &str) -> Vec<(String, bool)> {
        let pat = Pat::parse_multi.parse_str(src).unwrap();
        bindings(&pat)
            .into_iter()
            .map(|b| (b.ident.to_string(), b.mutable))
            .collect()
    }

    #[test]
    fn finds_bindings_and_skips_constants() {
        assert_eq!(
            names("(a, mut b)"),
            [("a".into(), false), ("b".into(), true)]
        );
        assert_eq!(names("Some(x)"), [("x".into(), false)]);
        assert_eq!(names("None"), []);
        assert_eq!(
            names("Point { x, y: ref yy }"),
            [("x".into(), false), ("yy".into(), false)]
        );
        assert_eq!(names("[first, .., last]").len(), 2);
        assert_eq!(names("n @ 1..=3"), [("n".into(), false)]);
        assert_eq!(names("A(v) | B(v)"), [("v".into(), false)]);
    }
}
