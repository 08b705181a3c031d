//! Definite assignment over await-free code: which locals a statement assigns on every
//! path that completes. Those are writes that need no earlier value, so a block that
//! only assigns such a local does not have to restore it first.

use std::collections::BTreeSet;

use syn::{Expr, Stmt};

/// Names assigned on every completing path of `stmt`; `None` if it never completes
/// (it returns, breaks, continues or panics on every path).
pub fn stmt(stmt: &Stmt) -> Option<BTreeSet<String>> {
    match stmt {
        Stmt::Expr(e, _) => expr(e),
        Stmt::Local(local) => match &local.init {
            Some(init) => expr(&init.expr),
            None => Some(BTreeSet::new()),
        },
        Stmt::Macro(m) if diverging_macro(&m.mac) => None,
        Stmt::Macro(_) | Stmt::Item(_) => Some(BTreeSet::new()),
    }
}

/// Names assigned on every completing path of `e`; `None` if it never completes.
pub fn expr(e: &Expr) -> Option<BTreeSet<String>> {
    match e {
        Expr::Assign(a) => {
            let mut set = expr(&a.right)?;
            if let Expr::Path(p) = &*a.left {
                if let Some(ident) = p.path.get_ident() {
                    set.insert(ident.to_string());
                }
            }
            Some(set)
        }
        Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => None,
        Expr::Macro(m) if diverging_macro(&m.mac) => None,
        Expr::Paren(p) => expr(&p.expr),
        Expr::Block(b) if b.label.is_none() => block(&b.block.stmts),
        Expr::Unsafe(u) => block(&u.block.stmts),
        Expr::If(i) => {
            let cond = expr(&i.cond)?;
            let Some((_, else_)) = &i.else_branch else {
                return Some(cond);
            };
            let arms = meet(block(&i.then_branch.stmts), expr(else_));
            arms.map(|a| &cond | &a)
        }
        Expr::Match(m) => {
            let scrutinee = expr(&m.expr)?;
            let arms = m
                .arms
                .iter()
                .map(|arm| expr(&arm.body))
                .fold(
                    None,
                    |acc: Option<Option<BTreeSet<String>>>, arm| match acc {
                        None => Some(arm),
                        Some(acc) => Some(meet(acc, arm)),
                    },
                )
                .unwrap_or(None);
            arms.map(|a| &scrutinee | &a)
        }
        _ => Some(BTreeSet::new()),
    }
}

fn block(stmts: &[Stmt]) -> Option<BTreeSet<String>> {
    let mut set = BTreeSet::new();
    for s in stmts {
        if let Stmt::Local(_) = s {
            // a `let` may shadow a name assigned before it; stop counting there
            return Some(set);
        }
        set.extend(stmt(s)?);
    }
    Some(set)
}

/// Paths that both complete: what both assign. A path that never completes assigns
/// everything, so the other decides.
fn meet(a: Option<BTreeSet<String>>, b: Option<BTreeSet<String>>) -> Option<BTreeSet<String>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(&a & &b),
        (Some(x), None) | (None, Some(x)) => Some(x),
        (None, None) => None,
    }
}

fn diverging_macro(mac: &syn::Macro) -> bool {
    mac.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "panic" | "unreachable" | "todo" | "unimplemented"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Option<Vec<String>> {
        let e: Expr = syn::parse_str(src).unwrap();
        expr(&e).map(|s| s.into_iter().collect())
    }

    #[test]
    fn assignments_on_every_completing_path() {
        assert_eq!(names("x = 1"), Some(vec!["x".into()]));
        assert_eq!(
            names("if c { x = 1 } else { x = 2; y = 3 }"),
            Some(vec!["x".into()])
        );
        assert_eq!(names("if c { x = 1 }"), Some(vec![]));
        assert_eq!(
            names("match n { Some(t) => cursor = Some(t), None => break }"),
            Some(vec!["cursor".into()])
        );
        assert_eq!(names("{ return 1; }"), None);
        assert_eq!(names("if c { panic!() } else { continue }"), None);
        assert_eq!(names("{ x = 1; let x = 2; y = 3 }"), Some(vec!["x".into()]));
    }
}
