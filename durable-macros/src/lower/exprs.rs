//! Expressions that contain an `.await`: split at each `.await`, with what Rust
//! evaluates before it bound to temporaries first.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;
use syn::Expr;

use super::{Dest, Lowerer};
use crate::awaits::has_await;
use crate::ir::{BlockKind, Code, Target};
use crate::points::PointSite;

impl Lowerer {
    // ---- expressions ---------------------------------------------------------------------

    /// Lowers an expression that awaits, and returns what is left to evaluate after its
    /// last `.await`: an await-free expression over temporaries.
    pub(super) fn lower_expr(&mut self, e: Expr) -> Expr {
        match e {
            Expr::Await(a) => {
                let span = a.await_token.span;
                let site = self.points.site(&a.base.to_token_stream());
                let op = self.residual(*a.base);
                self.suspend(op, span, site)
            }
            Expr::Try(mut t) => {
                *t.expr = self.lower_expr(*t.expr);
                Expr::Try(t)
            }
            Expr::Paren(mut p) => {
                *p.expr = self.lower_expr(*p.expr);
                Expr::Paren(p)
            }
            Expr::Group(mut g) => {
                *g.expr = self.lower_expr(*g.expr);
                Expr::Group(g)
            }
            Expr::Field(mut f) => {
                *f.base = self.lower_expr(*f.base);
                Expr::Field(f)
            }
            Expr::MethodCall(mut m) => {
                // Rust evaluates the receiver first. A receiver that is a place stays
                // in place (a method takes it by reference: moving it to a temporary
                // would move the local), its index checked before the arguments'
                // `.await`; any other is evaluated before it (its value must then be
                // savable: await into a local first where it is a borrow, such as
                // `map.entry(k)`).
                let mut ops: Vec<&mut Expr> = Vec::new();
                if has_await(&m.receiver) || m.args.iter().any(has_await) {
                    ops.push(&mut *m.receiver);
                }
                ops.extend(m.args.iter_mut());
                self.operands(ops);
                Expr::MethodCall(m)
            }
            Expr::Call(mut c) => {
                let mut ops: Vec<&mut Expr> = vec![&mut *c.func];
                ops.extend(c.args.iter_mut());
                self.operands(ops);
                Expr::Call(c)
            }
            Expr::Binary(b)
                if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_))
                    && has_await(&b.right) =>
            {
                let (left, right) = (b.left, b.right);
                let cond: Expr = match b.op {
                    syn::BinOp::And(_) => syn::parse_quote!(if #left { #right } else { false }),
                    _ => syn::parse_quote!(if #left { true } else { #right }),
                };
                self.value_of(cond)
            }
            Expr::Binary(mut b) if is_compound_assign(&b.op) => {
                // `place op= value`: the value first, and the place stays a place.
                self.operands(vec![&mut *b.right, &mut *b.left]);
                Expr::Binary(b)
            }
            Expr::Binary(mut b) if takes_by_value(&b.op) => {
                // `+`, `*`, `<<`, ...: Rust reads (copies or moves) the left operand
                // before it evaluates the right one, even where the left is a place
                self.hoisted_operands(vec![&mut *b.left, &mut *b.right]);
                Expr::Binary(b)
            }
            Expr::Binary(mut b) => {
                // a comparison borrows its operands: a place stays where it is
                self.operands(vec![&mut *b.left, &mut *b.right]);
                Expr::Binary(b)
            }
            Expr::Assign(mut a) => {
                self.operands(vec![&mut *a.right, &mut *a.left]);
                Expr::Assign(a)
            }
            Expr::Unary(mut u) => {
                *u.expr = self.lower_expr(*u.expr);
                Expr::Unary(u)
            }
            Expr::Cast(mut c) => {
                *c.expr = self.lower_expr(*c.expr);
                Expr::Cast(c)
            }
            Expr::Reference(mut r) => {
                *r.expr = self.lower_expr(*r.expr);
                Expr::Reference(r)
            }
            Expr::Index(mut i) => {
                self.operands(vec![&mut *i.expr, &mut *i.index]);
                Expr::Index(i)
            }
            Expr::Tuple(mut t) => {
                self.operands(t.elems.iter_mut().collect());
                Expr::Tuple(t)
            }
            Expr::Array(mut a) => {
                self.operands(a.elems.iter_mut().collect());
                Expr::Array(a)
            }
            Expr::Struct(mut s) => {
                let mut ops: Vec<&mut Expr> = s.fields.iter_mut().map(|f| &mut f.expr).collect();
                if let Some(rest) = &mut s.rest {
                    ops.push(rest);
                }
                self.operands(ops);
                Expr::Struct(s)
            }
            Expr::Range(mut r) => {
                let mut ops = Vec::new();
                if let Some(start) = &mut r.start {
                    ops.push(&mut **start);
                }
                if let Some(end) = &mut r.end {
                    ops.push(&mut **end);
                }
                self.operands(ops);
                Expr::Range(r)
            }
            Expr::Return(mut r) => {
                if let Some(v) = r.expr.take() {
                    r.expr = Some(Box::new(self.lower_expr(*v)));
                }
                Expr::Return(r)
            }
            Expr::Break(mut b) => {
                if let Some(v) = b.expr.take() {
                    b.expr = Some(Box::new(self.lower_expr(*v)));
                }
                Expr::Break(b)
            }
            e @ (Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Block(_)
            | Expr::Unsafe(_)) => self.value_of(e),
            other => {
                self.error(syn::Error::new(
                    other.span(),
                    "this kind of expression cannot contain `.await` in an #[orchestrator]; \
                     await into a local first",
                ));
                other
            }
        }
    }

    /// Lowers a value-producing construct into a temporary and returns the temporary.
    /// The temporary is declared (`let __vN;`) at the top of each block that assigns or
    /// reads it, so no block declares it without a value.
    pub(super) fn value_of(&mut self, e: Expr) -> Expr {
        let t = self.temp("v", e.to_token_stream(), e.span(), false);
        self.m.blocks[self.cursor.block]
            .declared
            .retain(|d| *d != t);
        self.cursor.kills.retain(|k| *k != t);
        let ident = self.ident_of(t);
        self.lower_control(e, Dest::Temp(t));
        syn::parse_quote!(#ident)
    }

    /// Lowers operands listed in evaluation order. Everything evaluated before the last
    /// operand that awaits is bound to a temporary first, so it is evaluated exactly when
    /// Rust would evaluate it (a method called before the `.await`). A place stays where
    /// it is: Rust reads it without effect (an operator may only borrow it, and moving it
    /// into a temporary would move the local), except that an index is checked: its
    /// bounds check runs before the `.await`, as in Rust.
    pub(super) fn operands(&mut self, ops: Vec<&mut Expr>) {
        self.lower_operands(ops, false);
    }

    /// [`Lowerer::operands`] of an operator that takes them by value: a place before
    /// the last `.await` is read into a temporary there too, as Rust reads it.
    fn hoisted_operands(&mut self, ops: Vec<&mut Expr>) {
        self.lower_operands(ops, true);
    }

    fn lower_operands(&mut self, ops: Vec<&mut Expr>, by_value: bool) {
        let Some(last) = ops.iter().rposition(|e| has_await(e)) else {
            return;
        };
        for (i, op) in ops.into_iter().enumerate().take(last + 1) {
            let taken = std::mem::replace(op, Expr::Verbatim(TokenStream::new()));
            let lowered = if has_await(&taken) {
                self.lower_expr(taken)
            } else {
                taken
            };
            *op = match (i < last, is_place(&lowered) && !by_value) {
                (false, _) => lowered,
                (true, false) => self.hoist(lowered),
                (true, true) => {
                    if has_index(&lowered) {
                        let mut check = lowered.clone();
                        self.visit_expr(&mut check);
                        self.tokens(quote!(let _ = &#check;));
                    }
                    lowered
                }
            };
        }
    }

    pub(super) fn hoist(&mut self, mut e: Expr) -> Expr {
        self.visit_expr(&mut e);
        let t = self.temp("t", e.to_token_stream(), e.span(), false);
        let ident = self.ident_of(t);
        self.push(Code::Let {
            head: quote!(let #ident),
            init: Some(e.into_token_stream()),
            tail: TokenStream::new(),
            stashes: Vec::new(),
            bindings: Vec::new(),
        });
        syn::parse_quote!(#ident)
    }

    /// Ends the block at an `.await` of `op` and continues in a new resume block, where
    /// the `.await`'s value is the returned temporary.
    pub(super) fn suspend(&mut self, op: Expr, span: Span, site: PointSite) -> Expr {
        self.awaits += 1;
        let waiter = format_ident!("__w{}", self.awaits);
        let result = Ident::new(&self.points.temporary("r", op.to_token_stream()), span);
        let resume = self.new_block(BlockKind::Join);
        let exit = self.exit(Target::Suspend {
            op: op.into_token_stream(),
            span,
            site,
            waiter,
            resume,
        });
        self.m.blocks[resume].kind = BlockKind::Resume(exit);
        self.push(Code::Exit(exit));
        self.switch_to(resume);
        self.define(result.clone(), false, false);
        syn::parse_quote!(#result)
    }
}

/// Whether binary operator `op` takes its operands by value (arithmetic, bitwise and
/// shifts), rather than by reference (comparisons).
fn takes_by_value(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        Add(_)
            | Sub(_)
            | Mul(_)
            | Div(_)
            | Rem(_)
            | BitXor(_)
            | BitAnd(_)
            | BitOr(_)
            | Shl(_)
            | Shr(_)
    )
}

/// Whether `op` is a compound assignment (`+=`, `<<=`, ...).
pub(super) fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

/// Whether `e` names a place (or is a literal): reading it has no effect.
pub(super) fn is_place(e: &Expr) -> bool {
    match e {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Field(f) => is_place(&f.base),
        Expr::Index(i) => is_place(&i.expr) && is_place(&i.index),
        Expr::Paren(p) => is_place(&p.expr),
        Expr::Reference(r) => is_place(&r.expr),
        Expr::Unary(u) => matches!(u.op, syn::UnOp::Deref(_)) && is_place(&u.expr),
        _ => false,
    }
}

/// Whether a place reads through an index (`v[i]`, `a.b[i].c`).
fn has_index(e: &Expr) -> bool {
    match e {
        Expr::Index(_) => true,
        Expr::Field(f) => has_index(&f.base),
        Expr::Paren(p) => has_index(&p.expr),
        Expr::Reference(r) => has_index(&r.expr),
        Expr::Unary(u) => has_index(&u.expr),
        _ => false,
    }
}
