//! Where a body awaits: what decides whether code is lowered into blocks or kept as
//! written (`lower::verbatim`).

use syn::visit::Visit;
use syn::{Expr, Stmt};

/// Whether `expr` awaits outside closures, async blocks and nested items.
pub fn has_await(expr: &Expr) -> bool {
    struct Finder(bool);
    impl<'a> Visit<'a> for Finder {
        fn visit_expr_await(&mut self, _: &'a syn::ExprAwait) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut finder = Finder(false);
    finder.visit_expr(expr);
    finder.0
}

/// Whether any statement of `stmts` awaits.
pub fn stmts_have_await(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::Local(local) => local.init.as_ref().is_some_and(|init| {
            has_await(&init.expr) || init.diverge.as_ref().is_some_and(|(_, e)| has_await(e))
        }),
        Stmt::Expr(e, _) => has_await(e),
        Stmt::Item(_) | Stmt::Macro(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awaits_in_closures_do_not_count_as_the_bodys() {
        let e: Expr = syn::parse_quote!(f(|| async { x.await }));
        assert!(!has_await(&e));
        let e: Expr = syn::parse_quote!(f(x.await?));
        assert!(has_await(&e));
    }
}
