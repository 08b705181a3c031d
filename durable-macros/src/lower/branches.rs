//! Control flow that contains an `.await`: blocks, `if`, `match`, `loop` and `while`,
//! each split into blocks that end in exits.

use proc_macro2::Delimiter;
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, Pat};

use super::{Dest, Frame, Lowerer};
use crate::awaits::{has_await, stmts_have_await};
use crate::identity;
use crate::ir::BlockKind;

impl Lowerer {
    // ---- control flow --------------------------------------------------------------------

    pub(super) fn lower_control(&mut self, e: Expr, dest: Dest) {
        match e {
            Expr::If(i) => self.lower_if(i, dest),
            Expr::Match(m) => self.lower_match(m, dest),
            Expr::Block(b) => {
                if let Some(label) = &b.label {
                    self.error(syn::Error::new(
                        label.span(),
                        "a labeled block containing `.await` is not supported in an #[orchestrator]; \
                         use a `loop` with `break` instead",
                    ));
                }
                let join = self.new_block(BlockKind::Join);
                self.branch(Delimiter::Brace, |l| {
                    l.lower_block(b.block, dest);
                    l.goto(join);
                });
                self.switch_to(join);
            }
            Expr::Unsafe(u) => {
                let join = self.new_block(BlockKind::Join);
                let token = u.unsafe_token;
                self.tokens(quote!(#token));
                self.branch(Delimiter::Brace, |l| {
                    l.lower_block(u.block, dest);
                    l.goto(join);
                });
                self.switch_to(join);
            }
            Expr::Loop(lp) => {
                let head = self.new_block(BlockKind::Join);
                let exit = self.new_block(BlockKind::Join);
                self.goto(head);
                self.switch_to(head);
                self.loops.push(Frame::Lowered {
                    label: lp.label.as_ref().map(|l| l.name.ident.to_string()),
                    head,
                    exit,
                    dest,
                });
                self.points.enter("loop".into());
                self.lower_block(lp.body, Dest::Discard);
                self.points.leave();
                self.goto(head);
                self.loops.pop();
                self.switch_to(exit);
            }
            Expr::While(w) => {
                let head = self.new_block(BlockKind::Join);
                let exit = self.new_block(BlockKind::Join);
                self.goto(head);
                self.switch_to(head);
                self.loops.push(Frame::Lowered {
                    label: w.label.as_ref().map(|l| l.name.ident.to_string()),
                    head,
                    exit,
                    dest: Dest::Discard,
                });
                self.points.enter("while".into());
                let pats = self.condition(*w.cond);
                self.branch(Delimiter::Brace, |l| {
                    l.scope.push();
                    for pat in &pats {
                        l.define_pattern(pat);
                    }
                    l.lower_block(w.body, Dest::Discard);
                    l.scope.pop();
                    l.goto(head);
                });
                self.points.leave();
                self.tokens(quote!(else));
                self.branch(Delimiter::Brace, |l| l.goto(exit));
                self.loops.pop();
                self.switch_to(exit);
                self.unit_value(dest);
            }
            Expr::ForLoop(f) => self.lower_for(f, dest),
            other => {
                let e = self.lower_expr(other);
                self.emit_value(e, dest);
            }
        }
    }

    /// Emits `if <cond>` / `if let <pat> = <cond>` for a condition that may await, and
    /// returns the patterns whose bindings the branch must declare.
    pub(super) fn condition(&mut self, cond: Expr) -> Vec<Pat> {
        match cond {
            Expr::Let(l) => {
                let scrutinee = self.residual(*l.expr);
                let pat = *l.pat;
                self.tokens(quote!(if let #pat = #scrutinee));
                vec![pat]
            }
            c => {
                let mut pats = Vec::new();
                let_patterns(&c, &mut pats);
                if !pats.is_empty() && has_await(&c) {
                    self.error(syn::Error::new(
                        c.span(),
                        "`.await` inside a `let` chain is not supported in an #[orchestrator]; \
                         await into a local before the `if`",
                    ));
                }
                let c = self.residual(c);
                self.tokens(quote!(if #c));
                pats
            }
        }
    }

    pub(super) fn unit_value(&mut self, dest: Dest) {
        if dest != Dest::Discard {
            self.emit_value(syn::parse_quote!(()), dest);
        }
    }

    pub(super) fn lower_if(&mut self, i: syn::ExprIf, dest: Dest) {
        let branches_await = stmts_have_await(&i.then_branch.stmts)
            || i.else_branch.as_ref().is_some_and(|(_, e)| has_await(e));
        if !branches_await {
            let mut i = i;
            if has_await(&i.cond) {
                i.cond = Box::new(match *i.cond {
                    Expr::Let(mut l) => {
                        l.expr = Box::new(self.lower_expr(*l.expr));
                        Expr::Let(l)
                    }
                    c => self.lower_expr(c),
                });
            }
            return self.emit_value(Expr::If(i), dest);
        }
        let join = self.new_block(BlockKind::Join);
        self.scope.push();
        let pats = self.condition(*i.cond);
        self.branch(Delimiter::Brace, |l| {
            for pat in &pats {
                l.define_pattern(pat);
            }
            l.points.enter("then".into());
            l.lower_block(i.then_branch, dest);
            l.points.leave();
            l.goto(join);
        });
        self.scope.pop();
        self.tokens(quote!(else));
        self.branch(Delimiter::Brace, |l| {
            l.points.enter("else".into());
            match i.else_branch {
                None => l.unit_value(dest),
                Some((_, e)) => match *e {
                    Expr::Block(b) => l.lower_block(b.block, dest),
                    e => l.lower_expr_stmt(e, dest),
                },
            }
            l.points.leave();
            l.goto(join);
        });
        self.switch_to(join);
    }

    pub(super) fn lower_match(&mut self, m: syn::ExprMatch, dest: Dest) {
        let arms_await = m
            .arms
            .iter()
            .any(|a| has_await(&a.body) || a.guard.as_ref().is_some_and(|(_, g)| has_await(g)));
        if !arms_await {
            let mut m = m;
            if has_await(&m.expr) {
                m.expr = Box::new(self.lower_expr(*m.expr));
            }
            return self.emit_value(Expr::Match(m), dest);
        }
        let scrutinee = self.residual(*m.expr);
        let join = self.new_block(BlockKind::Join);
        self.tokens(quote!(match #scrutinee));
        self.open(Delimiter::Brace);
        for arm in m.arms {
            self.scope.push();
            let syn::Arm {
                attrs,
                pat,
                guard,
                body,
                ..
            } = arm;
            self.define_pattern(&pat);
            let guard = guard.map(|(if_token, g)| {
                let mut g = *g;
                if has_await(&g) {
                    self.error(syn::Error::new(
                        g.span(),
                        "`.await` in a match guard is not supported in an #[orchestrator]; \
                         await before the `match`, or inside the arm",
                    ));
                } else {
                    self.visit_expr(&mut g);
                }
                quote!(#if_token #g)
            });
            let arm = format!("arm:{}", identity::normalized(pat.to_token_stream()));
            self.tokens(quote!(#(#attrs)* #pat #guard =>));
            self.branch(Delimiter::Brace, |l| {
                l.points.enter(arm);
                match *body {
                    Expr::Block(b) if b.label.is_none() => l.lower_block(b.block, dest),
                    e => l.lower_expr_stmt(e, dest),
                }
                l.points.leave();
                l.goto(join);
            });
            self.scope.pop();
        }
        self.close();
        self.switch_to(join);
    }
}

/// The patterns of the `let`s in a condition (`if let`, or a `let` chain).
fn let_patterns(e: &Expr, out: &mut Vec<Pat>) {
    match e {
        Expr::Let(l) => out.push((*l.pat).clone()),
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
            let_patterns(&b.left, out);
            let_patterns(&b.right, out);
        }
        Expr::Paren(p) => let_patterns(&p.expr, out),
        _ => {}
    }
}
