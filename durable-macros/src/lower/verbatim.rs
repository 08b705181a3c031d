//! Await-free code, kept as the user wrote it except where it leaves the machine:
//! `return` becomes the machine's return, and `break`/`continue` that target a loop
//! the lowering split into blocks become exits. On the way it records which tracked
//! bindings the code reads and reports `.await`s the machine cannot checkpoint.

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Label, Macro, Stmt, Token};

use super::{Dest, Frame, Lowerer};
use crate::ir::{Entry, STASH_MARKER};
use crate::patterns;

const AWAIT_IN_MACRO: &str =
    "`.await` inside a macro invocation cannot be checkpointed in an #[orchestrator]; \
     await into a local first (`let value = op.await;`) and pass the local to the macro";

/// Walks await-free code for the lowerer.
pub struct Verbatim<'l> {
    pub l: &'l mut Lowerer,
    /// How many closures / async blocks deep the walk is.
    nested: usize,
    /// How many macro invocations deep the walk is.
    in_macro: usize,
    /// Names the statement being walked assigns on every path that completes: an
    /// assignment to one of them is a write that needs no earlier value.
    writes: BTreeSet<String>,
    pub error: Option<syn::Error>,
}

impl<'l> Verbatim<'l> {
    pub fn new(l: &'l mut Lowerer, writes: BTreeSet<String>) -> Self {
        Self {
            l,
            nested: 0,
            in_macro: 0,
            writes,
            error: None,
        }
    }

    fn fail(&mut self, span: Span, message: &str) {
        let e = syn::Error::new(span, message);
        match &mut self.error {
            Some(first) => first.combine(e),
            None => self.error = Some(e),
        }
    }

    fn use_ident(&mut self, ident: &Ident) {
        if let Some(Entry::Binding(b)) = self.l.scope.resolve(&ident.to_string()) {
            self.l.use_binding(b);
        }
    }

    fn add_locals(&mut self, pat: &syn::Pat) {
        for bound in patterns::bindings(pat) {
            self.l.scope.add(bound.ident.to_string(), Entry::Local);
        }
    }

    /// Macro arguments that parse as expressions are walked as code (named format
    /// arguments by their value); anything else is scanned as tokens.
    fn mac(&mut self, mac: &mut Macro) {
        self.in_macro += 1;
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        match parser.parse2(mac.tokens.clone()) {
            Ok(mut args) => {
                for arg in args.iter_mut() {
                    match arg {
                        Expr::Assign(a) if matches!(&*a.left, Expr::Path(p) if p.path.get_ident().is_some()) => {
                            self.visit_expr_mut(&mut a.right)
                        }
                        Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(s),
                            ..
                        }) => self.captures(s),
                        other => self.visit_expr_mut(other),
                    }
                }
                mac.tokens = args.into_token_stream();
            }
            Err(_) => self.tokens(mac.tokens.clone()),
        }
        self.in_macro -= 1;
    }

    fn captures(&mut self, s: &syn::LitStr) {
        for name in format_captures(&s.value()) {
            self.use_ident(&Ident::new(&name, s.span()));
        }
    }

    /// Tokens that are not expressions: every identifier that names a tracked binding
    /// counts as a read, except field and method names (after `.`), path segments, macro
    /// names and `name =` / `name:` labels; so does every `{name}` a string captures.
    fn tokens(&mut self, tokens: TokenStream) {
        let tts: Vec<TokenTree> = tokens.into_iter().collect();
        let punct = |i: usize| match tts.get(i) {
            Some(TokenTree::Punct(p)) => Some(p.as_char()),
            _ => None,
        };
        for (i, tt) in tts.iter().enumerate() {
            match tt {
                TokenTree::Ident(ident)
                    if i > 0 && punct(i - 1) == Some('.') && ident == "await" =>
                {
                    self.fail(ident.span(), AWAIT_IN_MACRO)
                }
                TokenTree::Ident(ident) => {
                    let after_dot = i > 0 && punct(i - 1) == Some('.');
                    let after_path =
                        i > 1 && punct(i - 1) == Some(':') && punct(i - 2) == Some(':');
                    let label = match (punct(i + 1), punct(i + 2)) {
                        (Some(':'), Some(':')) | (Some('!'), _) => true,
                        (Some('='), Some('=')) => false,
                        (Some('=') | Some(':'), _) => true,
                        _ => false,
                    };
                    if !(after_dot || after_path || label) {
                        self.use_ident(ident);
                    }
                }
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Literal(lit) => {
                    if let Ok(syn::Lit::Str(s)) = syn::parse2::<syn::Lit>(quote!(#lit)) {
                        self.captures(&s);
                    }
                }
                TokenTree::Punct(_) => {}
            }
        }
    }

    /// Walks the body of a loop or labeled block: it may run on some paths only, so its
    /// writes end with it.
    fn with_frame(&mut self, frame: Frame, f: impl FnOnce(&mut Self)) {
        self.l.loops.push(frame);
        self.branch(f);
        self.l.loops.pop();
    }

    /// Walks code that runs on some paths only: writes in it end with it.
    fn branch(&mut self, f: impl FnOnce(&mut Self)) {
        let mark = self.l.path_mark();
        f(self);
        self.l.path_reset(mark);
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self)) {
        self.nested += 1;
        self.l.loops.push(Frame::Barrier);
        self.l.scope.push();
        f(self);
        self.l.scope.pop();
        self.l.loops.pop();
        self.nested -= 1;
    }

    /// Replaces a `break`/`continue` that leaves a lowered loop with an exit.
    fn jump(&mut self, e: &mut Expr, label: Option<&syn::Lifetime>, is_break: bool) {
        let Some(frame) = self.l.find_frame(label) else {
            return;
        };
        let Frame::Lowered {
            head, exit, dest, ..
        } = frame
        else {
            return;
        };
        let value = match e {
            Expr::Break(b) => b.expr.take(),
            _ => None,
        };
        let replacement = if !is_break {
            self.l.exit_tokens(head, None)
        } else {
            match (dest, value) {
                (Dest::Return, Some(v)) => quote!(return ::durable::__private::done(#v)),
                (Dest::Return, None) => quote!(return ::durable::__private::done(())),
                (Dest::Temp(t), v) => {
                    let v = v.map_or_else(|| quote!(()), |v| quote!(#v));
                    self.l.exit_tokens(exit, Some((t, v)))
                }
                (Dest::Discard, v) => {
                    let exit = self.l.exit_tokens(exit, None);
                    match v {
                        Some(v) => quote!({ let _ = #v; #exit }),
                        None => exit,
                    }
                }
            }
        };
        *e = Expr::Verbatim(replacement);
    }
}

fn label_name(label: &Option<Label>) -> Option<String> {
    label.as_ref().map(|l| l.name.ident.to_string())
}

impl VisitMut for Verbatim<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::Path(p) if p.qself.is_none() => {
                if let Some(ident) = p.path.get_ident() {
                    let ident = ident.clone();
                    self.use_ident(&ident);
                }
            }
            Expr::Closure(c) => {
                let c = &mut *c;
                self.nested(|v| {
                    for input in &c.inputs {
                        v.add_locals(input);
                    }
                    v.visit_expr_mut(&mut c.body);
                });
            }
            Expr::Async(a) => {
                let block = &mut a.block;
                self.nested(|v| v.visit_block_mut(block));
            }
            Expr::Await(a) => {
                let span = a.await_token.span;
                if self.in_macro > 0 {
                    self.fail(span, AWAIT_IN_MACRO);
                } else if self.nested > 0 {
                    self.fail(
                        span,
                        "`.await` inside a closure or `async` block cannot be checkpointed in an #[orchestrator]; \
                         await in the orchestrator's own body, or move this work into an #[activity]",
                    );
                } else {
                    self.fail(
                        span,
                        "durable-macros: an `.await` escaped lowering (please report this)",
                    );
                }
                visit_mut::visit_expr_await_mut(self, a);
            }
            Expr::Return(r) if self.nested == 0 => {
                if let Some(inner) = &mut r.expr {
                    self.visit_expr_mut(inner);
                }
                let value = r.expr.take().map_or_else(|| quote!(()), |v| quote!(#v));
                *e = Expr::Verbatim(quote!(return ::durable::__private::done(#value)));
            }
            Expr::Break(b) if self.nested == 0 => {
                if let Some(v) = &mut b.expr {
                    self.visit_expr_mut(v);
                }
                let label = b.label.clone();
                self.jump(e, label.as_ref(), true);
            }
            Expr::Continue(c) if self.nested == 0 => {
                let label = c.label.clone();
                self.jump(e, label.as_ref(), false);
            }
            Expr::Loop(l) => {
                let frame = Frame::Verbatim {
                    label: label_name(&l.label),
                    is_loop: true,
                };
                let body = &mut l.body;
                self.with_frame(frame, |v| v.visit_block_mut(body));
            }
            Expr::While(w) => {
                let frame = Frame::Verbatim {
                    label: label_name(&w.label),
                    is_loop: true,
                };
                let (cond, body) = (&mut w.cond, &mut w.body);
                self.l.scope.push();
                self.visit_expr_mut(cond);
                self.with_frame(frame, |v| v.visit_block_mut(body));
                self.l.scope.pop();
            }
            Expr::ForLoop(f) => {
                self.visit_expr_mut(&mut f.expr);
                let frame = Frame::Verbatim {
                    label: label_name(&f.label),
                    is_loop: true,
                };
                self.l.scope.push();
                self.add_locals(&f.pat);
                let body = &mut f.body;
                self.with_frame(frame, |v| v.visit_block_mut(body));
                self.l.scope.pop();
            }
            Expr::Block(b) if b.label.is_some() => {
                let frame = Frame::Verbatim {
                    label: label_name(&b.label),
                    is_loop: false,
                };
                let block = &mut b.block;
                self.with_frame(frame, |v| v.visit_block_mut(block));
            }
            Expr::If(i) => {
                self.l.scope.push();
                self.visit_expr_mut(&mut i.cond);
                self.branch(|v| v.visit_block_mut(&mut i.then_branch));
                self.l.scope.pop();
                if let Some((_, else_)) = &mut i.else_branch {
                    self.branch(|v| v.visit_expr_mut(else_));
                }
            }
            Expr::Let(l) => {
                self.visit_expr_mut(&mut l.expr);
                self.add_locals(&l.pat);
            }
            Expr::Match(m) => {
                self.visit_expr_mut(&mut m.expr);
                for arm in &mut m.arms {
                    self.l.scope.push();
                    self.add_locals(&arm.pat);
                    if let Some((_, guard)) = &mut arm.guard {
                        self.visit_expr_mut(guard);
                    }
                    self.branch(|v| v.visit_expr_mut(&mut arm.body));
                    self.l.scope.pop();
                }
            }
            Expr::Macro(m) => self.mac(&mut m.mac),
            Expr::Assign(a) if self.nested == 0 => {
                self.visit_expr_mut(&mut a.right);
                let written = match &*a.left {
                    Expr::Path(p) => p.path.get_ident().cloned(),
                    _ => None,
                };
                let tracked = written.and_then(|w| match self.l.scope.resolve(&w.to_string()) {
                    Some(Entry::Binding(b)) => Some((w, b)),
                    _ => None,
                });
                match tracked {
                    // assigned on every path of the statement: the statement kills it
                    Some((w, b)) if self.writes.contains(&w.to_string()) => self.l.write_binding(b),
                    // assigned on this branch only: written for the rest of the branch
                    // (a `break` after it carries the value), not read
                    Some((_, b)) => self.l.kill(b),
                    None => self.visit_expr_mut(&mut a.left),
                }
            }
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        self.l.scope.push();
        for stmt in &mut block.stmts {
            self.visit_stmt_mut(stmt);
        }
        self.l.scope.pop();
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        match stmt {
            Stmt::Local(local) => {
                if let Some(init) = &mut local.init {
                    self.visit_expr_mut(&mut init.expr);
                    if let Some((_, diverge)) = &mut init.diverge {
                        self.visit_expr_mut(diverge);
                    }
                }
                let mut stashes = Vec::new();
                for bound in patterns::bindings(&local.pat) {
                    let name = bound.ident.to_string();
                    let entry = match self.l.scope.resolve(&name) {
                        Some(Entry::Binding(b)) if self.nested == 0 && local.init.is_some() => {
                            let stash = self.l.new_stash(b);
                            stashes.push(proc_macro2::Literal::usize_unsuffixed(stash));
                            Entry::Hiding(stash)
                        }
                        _ => Entry::Local,
                    };
                    self.l.scope.add(name, entry);
                }
                if let (false, Some(init)) = (stashes.is_empty(), &mut local.init) {
                    let value = &init.expr;
                    let marker = Ident::new(STASH_MARKER, Span::call_site());
                    *init.expr = Expr::Verbatim(quote!(#marker!([#(#stashes),*], #value)));
                }
            }
            Stmt::Item(_) => {}
            Stmt::Macro(m) => self.mac(&mut m.mac),
            Stmt::Expr(e, _) => self.visit_expr_mut(e),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// The names a format string captures implicitly: `{name}`, `{name:?}`, `{name:>width$}`.
pub fn format_captures(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' {
            if chars.peek() == Some(&'{') {
                chars.next();
                continue;
            }
            let name: String =
                std::iter::from_fn(|| chars.next_if(|c| *c != '}' && *c != ':')).collect();
            let name = name.trim();
            let is_ident = name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            if is_ident {
                out.push(name.to_owned());
            }
            let rest: String = std::iter::from_fn(|| chars.next_if(|c| *c != '}')).collect();
            for width in rest.split('$').rev().skip(1) {
                let name = width.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '_');
                if name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                {
                    out.push(name.to_owned());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_captures_finds_implicit_arguments() {
        assert_eq!(format_captures("hi {name}, {{x}} {0} {n:?}"), ["name", "n"]);
        assert_eq!(format_captures("{v:>width$}"), ["v", "width"]);
        assert!(format_captures("{} {:?}").is_empty());
    }
}
