//! `for` loops with an `.await` in their body (see `durable_core::iter` for how each
//! kind resumes).
//!
//! A loop over a borrowed collection or a lazy iterator keeps a cursor, the number of
//! items taken, and takes each item as the `nth` of the iterator created anew from the
//! loop's expression; its pattern's bindings are *derived*: never saved, bound again
//! from the expression and the cursor in every block that reads them after an `.await`.
//! Trailing `.map(f)` and `.enumerate()` adapters are applied to the one item taken, so
//! that `(1..).map(f)` resumes in O(1) and runs `f` on that item only. Any other loop
//! keeps its iterator in the state: a range as it is, an owned collection collected.

use proc_macro2::{Delimiter, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::Expr;

use super::exprs::{is_compound_assign, is_place};
use super::verbatim::format_captures;
use super::{Dest, Frame, Lowerer};
use crate::awaits::has_await;
use crate::ir::{BlockKind, Code, Derivation, Entry};
use crate::patterns;

/// Methods that iterate a collection by reference.
const BORROWING: &[&str] = &[
    "iter",
    "iter_mut",
    "chunks",
    "chunks_exact",
    "rchunks",
    "windows",
    "keys",
    "values",
    "values_mut",
    "chars",
    "char_indices",
    "bytes",
    "lines",
    "split_whitespace",
];

/// Functions of `std::iter` that build a lazy iterator.
const LAZY_SOURCES: &[&str] = &[
    "successors",
    "repeat",
    "repeat_n",
    "repeat_with",
    "from_fn",
    "once",
];

/// Iterator adapters that keep a re-created iterator re-creatable: they own nothing
/// the source did not, and take no snapshot (`collect`, `to_vec` and the like do).
const ADAPTERS: &[&str] = &[
    "map",
    "enumerate",
    "step_by",
    "skip",
    "take",
    "rev",
    "filter",
    "filter_map",
    "copied",
    "cloned",
    "take_while",
    "skip_while",
    "map_while",
    "flat_map",
    "flatten",
    "inspect",
    "chain",
    "zip",
];

fn is_range(e: &Expr) -> bool {
    match e {
        Expr::Range(_) => true,
        Expr::Paren(p) => is_range(&p.expr),
        _ => false,
    }
}

fn is_lazy_source(e: &Expr) -> bool {
    let Expr::Call(c) = e else { return false };
    let Expr::Path(p) = &*c.func else {
        return false;
    };
    p.path
        .segments
        .last()
        .is_some_and(|s| LAZY_SOURCES.contains(&s.ident.to_string().as_str()))
}

/// Whether the loop's iterator can be created anew for each item, yielding the same
/// items: a borrow of a place (`&v`, `v.iter()`, `v[1..].chunks(2)`), a range, or a
/// lazy source, adapted only by [`ADAPTERS`]. Decided on the expression as written,
/// because it is evaluated again: nothing in it may move, take a snapshot, or build a
/// temporary it borrows from.
fn recreated(e: &Expr) -> bool {
    match e {
        // a literal array (`["flight", "hotel"]`) is evaluated again for nothing, and its
        // items (`&'static str`) could not be saved
        Expr::Array(a) => a.elems.iter().all(is_constant),
        Expr::Reference(r) => is_place(&r.expr) || recreated(&r.expr),
        Expr::Paren(p) => recreated(&p.expr),
        Expr::MethodCall(m) => {
            let method = m.method.to_string();
            if BORROWING.contains(&method.as_str()) {
                is_place(&m.receiver)
            } else {
                ADAPTERS.contains(&method.as_str())
                    && (is_range(&m.receiver)
                        || is_lazy_source(&m.receiver)
                        || recreated(&m.receiver))
            }
        }
        e => is_lazy_source(e),
    }
}

/// Whether `e` is made of literals only.
fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Lit(_) => true,
        Expr::Paren(p) => is_constant(&p.expr),
        Expr::Unary(u) => matches!(u.op, syn::UnOp::Neg(_)) && is_constant(&u.expr),
        Expr::Tuple(t) => t.elems.iter().all(is_constant),
        Expr::Array(a) => a.elems.iter().all(is_constant),
        _ => false,
    }
}

/// The innermost borrow of a collection in a re-created loop's expression: what the
/// iteration order check looks at (`map` in `map.keys().cloned()`).
fn borrowed_source(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Reference(_) => Some(e),
        Expr::Paren(p) => borrowed_source(&p.expr),
        Expr::MethodCall(m) if BORROWING.contains(&m.method.to_string().as_str()) => Some(e),
        Expr::MethodCall(m) => borrowed_source(&m.receiver),
        _ => None,
    }
}

/// Names the loop's body declares or assigns that are among `deps`: the items are
/// derived again from the loop's expression, which must read what it read at first.
fn clashes(body: &syn::Block, deps: &[String]) -> Option<(proc_macro2::Ident, bool)> {
    struct Finder<'a> {
        deps: &'a [String],
        found: Option<(proc_macro2::Ident, bool)>,
    }
    impl<'a> Visit<'a> for Finder<'_> {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            if self.found.is_none() && self.deps.contains(&p.ident.to_string()) {
                self.found = Some((p.ident.clone(), true));
            }
        }
        fn visit_expr(&mut self, e: &'a Expr) {
            let target = match e {
                Expr::Assign(a) => Some(&*a.left),
                Expr::Binary(b) if is_compound_assign(&b.op) => Some(&*b.left),
                Expr::Reference(r) if r.mutability.is_some() => Some(&*r.expr),
                _ => None,
            };
            if let Some(Expr::Path(p)) = target {
                if let Some(ident) = p.path.get_ident() {
                    if self.found.is_none() && self.deps.contains(&ident.to_string()) {
                        self.found = Some((ident.clone(), false));
                    }
                }
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut finder = Finder { deps, found: None };
    finder.visit_block(body);
    finder.found
}

/// An adapter applied to the one item taken rather than to the iterator.
enum Adapter {
    Map(Expr),
    Enumerate,
}

/// Splits trailing `.map(f)` and `.enumerate()` off the loop's expression.
fn peel(mut e: Expr) -> (Expr, Vec<Adapter>) {
    let mut adapters = Vec::new();
    loop {
        match e {
            Expr::MethodCall(m) if m.method == "map" && m.args.len() == 1 => {
                adapters.push(Adapter::Map(m.args[0].clone()));
                e = *m.receiver;
            }
            Expr::MethodCall(m) if m.method == "enumerate" && m.args.is_empty() => {
                adapters.push(Adapter::Enumerate);
                e = *m.receiver;
            }
            other => {
                adapters.reverse();
                return (other, adapters);
            }
        }
    }
}

/// The item at `index` of `inner` with `adapters` applied: an `Option`. The order of
/// the collection the expression borrows is checked at compile time.
fn item_at(inner: &Expr, adapters: &[Adapter], index: &TokenStream, span: Span) -> TokenStream {
    let source = borrowed_source(inner).unwrap_or(inner);
    let applied = adapters.iter().map(|a| match a {
        Adapter::Map(f) => quote_spanned!(span=> .map(#f)),
        Adapter::Enumerate => {
            quote_spanned!(span=> .map(|__durable_item| (#index, __durable_item)))
        }
    });
    quote_spanned! {span=> {
        #[allow(unused_imports)]
        use ::durable::__private::iter::{AnyOrder as _, HashOrder as _};
        #[allow(clippy::needless_borrow)]
        ::durable::__private::iter::stable(
            (&&::durable::__private::iter::Order(&::core::iter::IntoIterator::into_iter(#source)))
                .durable_order(),
        );
        let __durable_iter = ::core::iter::IntoIterator::into_iter(#inner);
        ::durable::__private::iter::nth(__durable_iter, #index) #(#applied)*
    }}
}

/// The locals an expression reads, by name.
fn names_read(e: &Expr) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'a> Visit<'a> for Names {
        fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
            if let Some(ident) = p.path.get_ident() {
                self.0.push(ident.to_string());
            }
        }
        fn visit_macro(&mut self, m: &'a syn::Macro) {
            self.tokens(m.tokens.clone());
        }
    }
    impl Names {
        /// Identifiers, and the `{name}`s strings capture, in a macro's tokens.
        fn tokens(&mut self, tokens: TokenStream) {
            for tt in tokens {
                match tt {
                    proc_macro2::TokenTree::Ident(i) => self.0.push(i.to_string()),
                    proc_macro2::TokenTree::Group(g) => self.tokens(g.stream()),
                    proc_macro2::TokenTree::Literal(l) => {
                        if let Ok(syn::Lit::Str(s)) = syn::parse2::<syn::Lit>(quote!(#l)) {
                            self.0.extend(format_captures(&s.value()));
                        }
                    }
                    proc_macro2::TokenTree::Punct(_) => {}
                }
            }
        }
    }
    let mut names = Names(Vec::new());
    names.visit_expr(e);
    names.0
}

impl Lowerer {
    pub(super) fn lower_for(&mut self, f: syn::ExprForLoop, dest: Dest) {
        if has_await(&f.expr) || !recreated(&f.expr) {
            return self.lower_saved_for(f, dest);
        }
        let span = f.expr.span();
        let source = f.expr.to_token_stream();
        let (inner, adapters) = peel(*f.expr);
        let inner = match inner {
            Expr::Paren(p) => *p.expr,
            other => other,
        };
        let mut deps = Vec::new();
        for name in names_read(&inner)
            .into_iter()
            .chain(adapters.iter().flat_map(|a| match a {
                Adapter::Map(f) => names_read(f),
                Adapter::Enumerate => Vec::new(),
            }))
        {
            if let Some(Entry::Binding(b)) = self.scope.resolve(&name) {
                if !deps.contains(&b) {
                    deps.push(b);
                }
            }
        }
        let names: Vec<String> = deps
            .iter()
            .map(|b| self.m.bindings[*b].ident.to_string())
            .collect();
        if let Some((ident, declared)) = clashes(&f.body, &names) {
            let what = if declared { "declares" } else { "changes" };
            self.error(syn::Error::new(
                ident.span(),
                format!(
                    "this loop's body {what} `{ident}`, which the loop's iterator reads: its \
                     items are taken again from that iterator after each `.await`, so it \
                     must read what it read at first; use another name, or copy `{ident}` \
                     into a local before the loop and iterate over that"
                ),
            ));
        }
        let cursor = self.temp("n", source, span, true);
        let cursor_ident = self.ident_of(cursor);
        self.push(Code::Let {
            head: quote!(let mut #cursor_ident),
            init: Some(quote!(0usize)),
            tail: TokenStream::new(),
            stashes: Vec::new(),
            bindings: Vec::new(),
        });
        deps.push(cursor);
        let (head, exit) = self.open_loop(f.label.as_ref());
        let mut walked = inner.clone();
        self.visit_expr(&mut walked);
        for adapter in &adapters {
            if let Adapter::Map(f) = adapter {
                self.visit_expr(&mut f.clone());
            }
        }
        self.use_binding(cursor);
        let next = item_at(&inner, &adapters, &cursor_ident.to_token_stream(), span);
        self.tokens(quote!(match #next));
        self.open(Delimiter::Brace);
        let pat = *f.pat;
        // its bindings may be read only after an `.await`, where they are bound again
        self.tokens(quote!(#[allow(unused_variables)] ::core::option::Option::Some(#pat) =>));
        let current = quote!((#cursor_ident - 1));
        let again = item_at(&inner, &adapters, &current, span);
        self.loop_arms(f.body, head, exit, dest, |l| {
            l.tokens(quote!(#cursor_ident += 1;));
            l.kill(cursor);
            l.define_derived(&pat, again, deps);
        });
    }

    /// Starts a `for` loop's head block, and the frame its `break`s and `continue`s
    /// target: the head, and the block after the loop.
    fn open_loop(&mut self, label: Option<&syn::Label>) -> (usize, usize) {
        let head = self.new_block(BlockKind::Join);
        let exit = self.new_block(BlockKind::Join);
        self.goto(head);
        self.switch_to(head);
        self.loops.push(Frame::Lowered {
            label: label.map(|l| l.name.ident.to_string()),
            head,
            exit,
            dest: Dest::Discard,
        });
        (head, exit)
    }

    /// The rest of a `for` loop after `Some(pattern) =>`: the body (after `bind` binds
    /// the pattern), back to the head; `None` leaves for `exit`.
    fn loop_arms(
        &mut self,
        body: syn::Block,
        head: usize,
        exit: usize,
        dest: Dest,
        bind: impl FnOnce(&mut Self),
    ) {
        self.branch(Delimiter::Brace, |l| {
            l.scope.push();
            bind(l);
            l.points.enter("for".into());
            l.lower_block(body, Dest::Discard);
            l.points.leave();
            l.scope.pop();
            l.goto(head);
        });
        self.tokens(quote!(::core::option::Option::None =>));
        self.branch(Delimiter::Brace, |l| l.goto(exit));
        self.close();
        self.loops.pop();
        self.switch_to(exit);
        self.unit_value(dest);
    }

    /// Defines the bindings of a re-created loop's pattern: bound again from `item` (the
    /// current item, re-created) wherever they are read after an `.await`.
    fn define_derived(&mut self, pat: &syn::Pat, item: TokenStream, deps: Vec<usize>) {
        let derivation = self.m.derivations.len();
        for bound in patterns::bindings(pat) {
            if bound.mutable {
                self.error(syn::Error::new(
                    bound.ident.span(),
                    "a loop over a borrowed collection or a lazy iterator binds its items \
                     again after each `.await`, so they cannot be `mut`: copy one into a \
                     local first (`let mut x = x;`)",
                ));
            }
            let b = self.define(bound.ident, false, false);
            self.m.bindings[b].derived = Some(derivation);
        }
        self.m.derivations.push(Derivation {
            pat: pat.to_token_stream(),
            item,
            deps,
        });
    }

    /// A loop over an owned collection (collected when the loop starts) or a range
    /// (saved as it is).
    fn lower_saved_for(&mut self, f: syn::ExprForLoop, dest: Dest) {
        let span = f.expr.span();
        let source = f.expr.to_token_stream();
        let iterable = self.residual(*f.expr);
        let iter = self.temp("iter", source, span, true);
        self.m.bindings[iter].iterator = true;
        let iter_ident = self.ident_of(iter);
        self.push(Code::Let {
            head: quote!(let mut #iter_ident),
            // a `match` on the iterator keeps the temporaries it borrows (`s.to_lowercase()`
            // in `s.to_lowercase().chars()`) alive while it is collected, as `for` does
            init: Some(quote_spanned! {span=> {
                #[allow(unused_imports)]
                use ::durable::__private::iter::{CollectKind as _, LazyKind as _};
                match ::durable::__private::iter::IterKind(
                    ::core::iter::IntoIterator::into_iter(#iterable),
                ) {
                    kind => {
                        #[allow(clippy::needless_borrow)]
                        let tag = (&&kind).durable_iter_kind();
                        tag.saved(kind.0)
                    }
                }
            }}),
            tail: TokenStream::new(),
            stashes: Vec::new(),
            bindings: Vec::new(),
        });
        self.use_binding(iter);
        self.tokens(crate::emit::checked(
            quote!(()),
            quote_spanned!(span=> ::durable::__private::iter::started(&#iter_ident)),
        ));
        let (head, exit) = self.open_loop(f.label.as_ref());
        self.use_binding(iter);
        self.tokens(crate::emit::checked(
            quote!(__next),
            quote!(::durable::__private::iter::next(&mut #iter_ident, __ctx)),
        ));
        self.tokens(quote!(match __next));
        self.open(Delimiter::Brace);
        let pat = *f.pat;
        self.tokens(quote!(::core::option::Option::Some(#pat) =>));
        self.loop_arms(f.body, head, exit, dest, |l| l.define_pattern(&pat));
    }
}
