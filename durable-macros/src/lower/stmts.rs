//! Statements and blocks: `let`, expression statements, a block's items, and the
//! pins (`#[point]`) and guard warnings that apply per statement.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, Local, Pat, Stmt};

use super::{items, Dest, Lowerer};
use crate::awaits::{has_await, stmts_have_await};
use crate::ir::Code;
use crate::points::{self};
use crate::{assign, patterns};

impl Lowerer {
    // ---- statements ----------------------------------------------------------------------

    pub fn lower_stmts(&mut self, stmts: Vec<Stmt>, dest: Dest, end: Span) {
        let n = stmts.len();
        let guards = guards_before_awaits(&stmts);
        let mut has_tail = false;
        let mut diverges = false;
        for (i, mut stmt) in stmts.into_iter().enumerate() {
            if let Some(guard) = guards.iter().find(|g| g.0 == i) {
                self.tokens(drop_note(&guard.1));
            }
            diverges = assign::stmt(&stmt).is_none();
            let attrs = match &mut stmt {
                Stmt::Local(local) => Some(&mut local.attrs),
                Stmt::Expr(e, _) => points::expr_attrs(e),
                _ => None,
            };
            let pinned = match attrs.map(points::take_pin).transpose() {
                Ok(pin) => pin.flatten(),
                Err(e) => {
                    self.error(e);
                    None
                }
            };
            let pins = match pinned.map(|name| self.points.pin(name)) {
                Some(Ok(())) => true,
                Some(Err(e)) => {
                    self.error(e);
                    false
                }
                None => false,
            };
            match stmt {
                Stmt::Local(local) => self.lower_local(local),
                // a nested block's items were declared where it starts (`lower_block`),
                // the body's type items in its module (`lower_body`)
                Stmt::Item(item) if self.item_scopes.is_empty() && items::stays_flat(&item) => {
                    // with the body's module, which has a copy for its types, this one
                    // may go unused
                    let copied = !self.item_modules.is_empty();
                    let allow = copied.then(|| quote!(#[allow(dead_code, unused_imports)]));
                    self.m.items.push(quote!(#allow #item))
                }
                Stmt::Item(_) => {}
                mut stmt @ Stmt::Macro(_) => {
                    self.visit_stmt(&mut stmt);
                    self.tokens(stmt.into_token_stream());
                }
                Stmt::Expr(e, semi) => {
                    let tail = i + 1 == n && semi.is_none();
                    has_tail |= tail;
                    self.lower_expr_stmt(e, if tail { dest } else { Dest::Discard });
                }
            }
            // statements inside a pinned one (in a block it awaits) count towards it
            if pins {
                if let Err(e) = self.points.unpin() {
                    self.error(e);
                }
            }
            if diverges {
                // whichever block the statement ended in, the path has left it
                self.cursor.dead = true;
            }
        }
        if has_tail || diverges {
            return;
        }
        match dest {
            Dest::Discard => {}
            Dest::Return => {
                self.tokens(quote_spanned!(end=> return ::durable::__private::done(());))
            }
            Dest::Temp(t) => {
                self.kill(t);
                let t = self.ident_of(t);
                self.tokens(quote!(#t = ();));
            }
        }
    }

    pub(super) fn lower_block(&mut self, block: syn::Block, dest: Dest) {
        let end = block.brace_token.span.close();
        self.scope.push();
        // Rust makes a block's items visible in all of it. Its code may end up in
        // several blocks of the machine: functions, constants and imports are declared
        // again in each (here, and at the top of blocks that start inside it); types,
        // traits and impls once, in the block's module, imported in each (`items`).
        let mut local = Vec::new();
        if items::have_type_items(&block.stmts) {
            local.push((None, self.open_item_module(&block.stmts)));
        }
        for stmt in &block.stmts {
            let Stmt::Item(item) = stmt else { continue };
            // a copy may go unused in the block it is declared again in
            let copy = quote!(#[allow(dead_code, unused_imports)] #item);
            match item {
                syn::Item::Fn(f) => local.push((Some(f.sig.ident.to_string()), copy)),
                syn::Item::Const(c) => local.push((Some(c.ident.to_string()), copy)),
                syn::Item::Use(_) => local.push((None, copy)),
                // item macros (`macro_rules!` too) as before: once, at the machine's top
                syn::Item::Macro(_) | syn::Item::ExternCrate(_) => {
                    self.m.items.push(item.to_token_stream())
                }
                _ => {}
            }
        }
        self.tokens(local.iter().map(|(_, item)| item.clone()).collect());
        let typed = items::have_type_items(&block.stmts);
        self.item_scopes.push(local);
        self.lower_stmts(block.stmts, dest, end);
        self.item_scopes.pop();
        if typed {
            self.close_item_module();
        }
        self.scope.pop();
    }

    pub(super) fn lower_local(&mut self, local: Local) {
        let Local {
            attrs, pat, init, ..
        } = local;
        let mut init_ts = None;
        let mut tail = TokenStream::new();
        if let Some(init) = init {
            let mut value = *init.expr;
            if has_await(&value) {
                value = self.lower_expr(value);
            }
            self.visit_statement(&mut value);
            init_ts = Some(value.into_token_stream());
            if let Some((else_token, mut diverge)) = init.diverge {
                if has_await(&diverge) {
                    self.error(syn::Error::new(
                        diverge.span(),
                        "`.await` in the `else` of a `let ... else` is not supported in an #[orchestrator]; \
                         use a `match` instead",
                    ));
                } else {
                    self.visit_expr(&mut diverge);
                }
                tail = quote!(#else_token #diverge);
            }
        }
        let mut stashes = Vec::new();
        let mut bindings = Vec::new();
        for bound in patterns::bindings(&pat) {
            let b = self.define(bound.ident, bound.mutable, true);
            if let Some((_, Some(stash))) = self.m.bindings[b].shadows {
                stashes.push(stash);
            }
            bindings.push(b);
        }
        self.push(Code::Let {
            head: quote!(#(#attrs)* let #pat),
            init: init_ts,
            tail,
            stashes,
            bindings,
        });
    }

    pub(super) fn lower_expr_stmt(&mut self, e: Expr, dest: Dest) {
        if !has_await(&e) {
            return self.emit_value(e, dest);
        }
        match e {
            Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Block(_)
            | Expr::Unsafe(_) => self.lower_control(e, dest),
            e => {
                let e = self.lower_expr(e);
                self.emit_value(e, dest);
            }
        }
    }
}

/// `let _name = value;` statements (the usual way to hold a guard), whose value does
/// not come from an `.await`, followed by an `.await` in the same block: by index, with
/// the name.
fn guards_before_awaits(stmts: &[Stmt]) -> Vec<(usize, Ident)> {
    let mut found = Vec::new();
    for (i, stmt) in stmts.iter().enumerate() {
        let Stmt::Local(local) = stmt else { continue };
        let Pat::Ident(p) = &local.pat else { continue };
        // a value an `.await` gave is a result kept on purpose, not a guard
        if local.init.as_ref().is_none_or(|init| has_await(&init.expr)) {
            continue;
        }
        let name = p.ident.to_string();
        if name.len() > 1 && name.starts_with('_') && stmts_have_await(&stmts[i + 1..]) {
            found.push((i, p.ident.clone()));
        }
    }
    found
}

/// A warning at `guard` (a deprecated item's note is the one warning a proc macro can
/// give on stable Rust): Rust keeps it alive across the `.await` after it, a machine
/// does not.
fn drop_note(guard: &Ident) -> TokenStream {
    let note = format!(
        "`{guard}` is held across an `.await`, which a durable orchestrator cannot do as \
         Rust does: a local that is not read after an `.await` is dropped before it, and \
         one that is read is saved, dropped at the checkpoint and decoded again. A guard \
         (a lock, a span, a timer) cannot cover an `.await`: end it before, or do the \
         guarded work in an #[activity]"
    );
    quote_spanned! {guard.span()=>
        {
            #[allow(non_camel_case_types)]
            #[deprecated(note = #note)]
            struct __durable_guard_across_await;
            let _ = __durable_guard_across_await;
        }
    }
}
