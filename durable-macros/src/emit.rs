//! Emission: one machine function. Every saved local has a slot declared at the top;
//! each block is a `match` arm keyed by its resume point, that takes the locals it reads
//! out of their slots, runs the user's code, and at each exit puts back the locals the
//! next block needs. Blocks are emitted in source order, so each slot's type is
//! inferred from the first value put into it.

use std::collections::{BTreeSet, HashMap, HashSet};

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};

use crate::args::Migrate;
use crate::ir::{BindingId, BlockKind, Code, Derivation, Entry, Exit, Machine, Target};
use crate::ir::{EXIT_MARKER, STASH_MARKER};
use crate::liveness::target_block;
use crate::points::PointSite;

/// The span of `user`'s location with the macro's own hygiene, for generated names
/// that must point at user code in errors.
pub fn at(user: Span) -> Span {
    Span::call_site().located_at(user)
}

/// `schedule(__ctx, op)`, spanned exactly as the awaited expression is: rustc then
/// reports an operation that is not durable once (at the argument) instead of a second
/// time for the call's return type, whose span would otherwise differ.
fn schedule_call(op: &TokenStream, fallback: Span) -> TokenStream {
    let mut tokens = op.clone().into_iter().map(|t| t.span());
    let first = tokens.next().unwrap_or(fallback);
    let last = tokens.last().unwrap_or(first);
    let mut args = Group::new(Delimiter::Parenthesis, quote!(__ctx, #op));
    args.set_span(last);
    quote_spanned!(first=> ::durable::__private::schedule #args)
}

pub struct Emitted {
    /// The statements of the machine function.
    pub body: TokenStream,
}

/// The `static` holding the [`Point`] of the suspension whose waiter is `waiter`.
fn point_static(waiter: &Ident) -> Ident {
    let n = waiter.to_string();
    Ident::new(
        &format!("__P{}", n.trim_start_matches("__w")),
        waiter.span(),
    )
}

/// What each exit puts back into slots, and which stashes some exit relies on.
struct Plan {
    puts: Vec<Vec<BindingId>>,
    stashes: HashSet<usize>,
}

struct Emitter<'m> {
    m: &'m Machine,
    live: &'m [BTreeSet<BindingId>],
    plan: Plan,
    slots: HashMap<BindingId, Ident>,
    pcs: Vec<Option<u32>>,
}

/// The bindings a block takes out of their slots when it starts: those it reads before
/// writing them, and those it writes on some paths only while their value may still be
/// needed (live on entry): the paths that do not write it pass the old value on.
fn entry(m: &Machine, live: &[BTreeSet<BindingId>], block: usize) -> Vec<BindingId> {
    let b = &m.blocks[block];
    let mut entry = b.uses.clone();
    for a in &b.assigned {
        if live[block].contains(a) && !entry.contains(a) && m.bindings[*a].derived.is_none() {
            entry.push(*a);
        }
    }
    entry
}

/// Which bindings an exit must put back, by name; bindings hidden by a later `let` of
/// the same name are saved by that `let` (a stash) instead.
fn plan(m: &Machine, live: &[BTreeSet<BindingId>]) -> syn::Result<Plan> {
    let mut puts = Vec::with_capacity(m.exits.len());
    let mut stashes = HashSet::new();
    let mut errors: Option<syn::Error> = None;
    for exit in &m.exits {
        let taken = entry(m, live, exit.block);
        let mut out = Vec::new();
        for &b in &live[target_block(&exit.target)] {
            if !(taken.contains(&b) || exit.kills.contains(&b)) {
                continue;
            }
            if m.bindings[b].derived.is_some() {
                continue; // bound again where it is read
            }
            match visibility(m, exit, b) {
                Visibility::Visible => out.push(b),
                Visibility::Stashed(stash) => {
                    stashes.insert(stash);
                }
                Visibility::OutOfScope => {}
                Visibility::Hidden => {
                    let ident = &m.bindings[b].ident;
                    let e = syn::Error::new(
                        ident.span(),
                        format!(
                            "`{ident}` is still needed after an `.await`, but where control leaves \
                             this block a pattern or closure binding of the same name hides it; \
                             rename one of them"
                        ),
                    );
                    match &mut errors {
                        Some(first) => first.combine(e),
                        None => errors = Some(e),
                    }
                }
            }
        }
        puts.push(out);
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(Plan { puts, stashes }),
    }
}

enum Visibility {
    Visible,
    Stashed(usize),
    Hidden,
    OutOfScope,
}

fn visibility(m: &Machine, exit: &Exit, b: BindingId) -> Visibility {
    let name = m.bindings[b].ident.to_string();
    let Some(pos) = exit.scope.iter().position(|(_, e)| *e == Entry::Binding(b)) else {
        return Visibility::OutOfScope;
    };
    let Some((_, hider)) = exit.scope[pos + 1..].iter().find(|(n, _)| *n == name) else {
        return Visibility::Visible;
    };
    match hider {
        Entry::Binding(s) => match m.bindings[*s].shadows {
            Some((old, Some(stash))) if old == b => Visibility::Stashed(stash),
            _ => Visibility::Hidden,
        },
        Entry::Hiding(stash) if m.stashes[*stash].binding == b => Visibility::Stashed(*stash),
        Entry::Hiding(_) | Entry::Local | Entry::Ambient => Visibility::Hidden,
    }
}

pub fn emit(
    m: &Machine,
    live: &[BTreeSet<BindingId>],
    start: TokenStream,
    migrations: &[Migrate],
) -> syn::Result<Emitted> {
    let plan = plan(m, live)?;
    let mut order: Vec<usize> = (0..m.blocks.len())
        .filter(|b| m.blocks[*b].order.is_some())
        .collect();
    order.sort_by_key(|b| m.blocks[*b].order);
    let mut pcs = vec![None; m.blocks.len()];
    for (pc, b) in order.iter().enumerate() {
        pcs[*b] = Some(pc as u32);
    }
    let mut e = Emitter {
        m,
        live,
        plan,
        slots: HashMap::new(),
        pcs,
    };
    e.name_slots();

    let mut arms = TokenStream::new();
    let mut points = TokenStream::new();
    let mut dispatch = TokenStream::new();
    for &b in &order {
        let block = &m.blocks[b];
        let pc = e.pc(b);
        let header = match block.kind {
            BlockKind::Start => start.clone(),
            BlockKind::Resume(exit) => {
                let Target::Suspend {
                    waiter, site, span, ..
                } = &m.exits[exit].target
                else {
                    unreachable!("resume blocks follow suspensions")
                };
                let result = block
                    .declared
                    .first()
                    .map(|r| m.bindings[*r].ident.clone())
                    .expect("a resume block declares the await's value first");
                let saved = e.persisted(b);
                let names = saved.iter().map(|b| {
                    let name = m.bindings[*b].ident.to_string();
                    name.trim_start_matches("r#").to_owned()
                });
                let point = point_static(waiter);
                let (id, text) = (site.id, &site.text);
                let file = crate::points::source_file(*span);
                points.extend(quote_spanned! {*span=>
                    static #point: ::durable::__private::Point = ::durable::__private::Point::new(
                        #id,
                        #file,
                        concat!(#text, " at line ", line!(), ":", column!()),
                        &[#(#names),*],
                    );
                });
                dispatch.extend(quote!(::core::option::Option::Some(#id) => #pc,));
                let persist = e.persist_list(&saved);
                let migrate = e.migrations(site, &point, waiter, &saved, migrations);
                // a durable function that reached another `.await` of its own: suspend
                // again here, with the same locals
                let resumed = checked(
                    quote!(__resumed),
                    quote!(__step.resume(__ctx, &#point, &mut #waiter, &mut [#persist])),
                );
                quote! {
                    #migrate
                    #resumed
                    let #result = match __resumed {
                        ::core::option::Option::Some(value) => value,
                        ::core::option::Option::None => {
                            return ::core::result::Result::Ok(
                                __step.suspend(&#point, &#waiter, &mut [#persist])
                            )
                        }
                    };
                }
            }
            BlockKind::Join => TokenStream::new(),
        };
        let mut derived = HashSet::new();
        let taken = entry(m, live, b);
        let restores: Vec<TokenStream> = taken
            .iter()
            .map(|u| {
                let binding = &m.bindings[*u];
                let ident = &binding.ident;
                if let Some(d) = binding.derived {
                    if !derived.insert(d) {
                        return TokenStream::new();
                    }
                    let Derivation { pat, item, .. } = &m.derivations[d];
                    return quote! {
                        #[allow(unused_variables)]
                        let #pat = ::core::option::Option::expect(
                            #item,
                            "durable: a loop's current item is gone (its collection changed)",
                        );
                    };
                }
                let slot = &e.slots[u];
                let mutability = binding.mutable.then(|| quote!(mut));
                quote!(let #mutability #ident = #slot.take();)
            })
            .collect();
        let declarations = block
            .referenced
            .iter()
            .filter(|r| !taken.contains(r) && !block.declared.contains(r))
            .filter(|r| m.bindings[**r].derived.is_none())
            .map(|r| {
                let binding = &m.bindings[*r];
                let ident = &binding.ident;
                let mutability = binding.mutable.then(|| quote!(mut));
                quote!(let #mutability #ident;)
            });
        let code = e.codes(b, &block.code);
        let items = &block.items;
        arms.extend(quote! {
            #pc => {
                #(#items)*
                #header
                #(#restores)*
                #(#declarations)*
                #code
            }
        });
    }

    let slot_decls = {
        let mut slots: Vec<(&BindingId, &Ident)> = e.slots.iter().collect();
        slots.sort();
        slots
            .into_iter()
            .map(|(_, s)| quote!(let mut #s = ::durable::__private::Slot::new();))
            .collect::<TokenStream>()
    };
    let waiter_decls: TokenStream = m
        .exits
        .iter()
        .filter_map(|x| match &x.target {
            Target::Suspend { waiter, .. } => {
                Some(quote!(let mut #waiter = ::durable::__private::Slot::new();))
            }
            Target::Goto(_) => None,
        })
        .collect();
    let items = &m.items;
    let body = quote! {
        #(#items)*
        #slot_decls
        #waiter_decls
        #points
        let mut __pc: u32 = match __step.point() {
            ::core::option::Option::None => 0u32,
            #dispatch
            ::core::option::Option::Some(_) => {
                return ::core::result::Result::Ok(
                    ::durable::__private::Flow::Fault(__step.unknown_point())
                )
            }
        };
        let mut __fault = ::core::option::Option::None;
        '__durable: loop {
            match __pc {
                #arms
                _ => break '__durable,
            }
        }
        __step.fault(__fault)
    };
    Ok(Emitted { body })
}

impl Emitter<'_> {
    fn pc(&self, block: usize) -> u32 {
        self.pcs[block].expect("every jump target is a started block")
    }

    /// Names a slot for every binding that crosses a block boundary.
    fn name_slots(&mut self) {
        let mut crossing: BTreeSet<BindingId> = BTreeSet::new();
        for block in 0..self.m.blocks.len() {
            crossing.extend(entry(self.m, self.live, block));
        }
        for puts in &self.plan.puts {
            crossing.extend(puts.iter().copied());
        }
        for (i, stash) in self.m.stashes.iter().enumerate() {
            if self.plan.stashes.contains(&i) {
                crossing.insert(stash.binding);
            }
        }
        let mut taken: HashSet<String> = HashSet::new();
        for b in crossing {
            if self.m.bindings[b].derived.is_some() {
                continue;
            }
            let ident = &self.m.bindings[b].ident;
            let base = format!("__s_{}", ident.to_string().trim_start_matches('_'));
            let mut name = base.clone();
            let mut n = 1;
            while !taken.insert(name.clone()) {
                n += 1;
                name = format!("{base}_{n}");
            }
            self.slots.insert(b, Ident::new(&name, at(ident.span())));
        }
    }

    /// At a pinned point with migrations: when the checkpoint comes from an older
    /// version, the migration from it fills the waiter and the slots saved here; from a
    /// version without one, the checkpoint is resumed as it is (its layout is checked).
    fn migrations(
        &self,
        site: &PointSite,
        point: &Ident,
        waiter: &Ident,
        saved: &[BindingId],
        migrations: &[Migrate],
    ) -> TokenStream {
        let Some(name) = &site.pinned else {
            return TokenStream::new();
        };
        let arms: TokenStream = migrations
            .iter()
            .filter(|m| m.point.value() == *name)
            .map(|m| {
                let (from, with) = (m.from, &m.with);
                let puts = saved.iter().map(|b| {
                    let slot = &self.slots[b];
                    let field = &self.m.bindings[*b].ident;
                    quote_spanned!(m.span=> #slot.put(__new.#field);)
                });
                let migrated = checked(
                    quote!(__new),
                    quote_spanned!(m.span=> __step.migrate::<#with, _>(&#point, &mut #waiter)),
                );
                quote_spanned! {m.span=>
                    #from => {
                        #migrated
                        #(#puts)*
                    }
                }
            })
            .collect();
        if arms.is_empty() {
            return TokenStream::new();
        }
        quote! {
            if let ::core::option::Option::Some(__from) = __step.migrating() {
                match __from {
                    #arms
                    // no migration from that version here: resumed as it is, if this
                    // point is unchanged since
                    _ => {}
                }
            }
        }
    }

    /// The slots saved with the state of the resume block `block`.
    fn persisted(&self, block: usize) -> Vec<BindingId> {
        self.live[block]
            .iter()
            .copied()
            .filter(|b| self.m.bindings[*b].derived.is_none())
            .collect()
    }

    fn persist_list(&self, saved: &[BindingId]) -> TokenStream {
        let items = saved.iter().map(|b| {
            let slot = &self.slots[b];
            let span = at(self.m.bindings[*b].ident.span());
            quote_spanned!(span=> ::durable::__private::persist(&mut #slot))
        });
        quote!(#(#items),*)
    }

    fn puts(&self, bindings: &[BindingId]) -> TokenStream {
        bindings
            .iter()
            .map(|b| {
                let slot = &self.slots[b];
                let ident = &self.m.bindings[*b].ident;
                quote!(#slot.put(#ident);)
            })
            .collect()
    }

    /// Before a checkpoint: each saved loop iterator is parked (its items may go beside
    /// the checkpoint rather than in it): those among `put`, the locals put into their
    /// slots here, and those among `saved` already in theirs (an outer loop, put there
    /// when its body entered the inner loop that suspends).
    fn parks(&self, put: &[BindingId], saved: &[BindingId]) -> TokenStream {
        let iterators = |b: &&BindingId| self.m.bindings[**b].iterator;
        let locals = put.iter().filter(iterators).map(|b| {
            let ident = &self.m.bindings[*b].ident;
            checked(
                quote!(()),
                quote!(::durable::__private::iter::park(&mut #ident, __ctx)),
            )
        });
        let slots = saved
            .iter()
            .filter(iterators)
            .filter(|b| !put.contains(b))
            .map(|b| {
                let slot = &self.slots[b];
                checked(
                    quote!(()),
                    quote!(::durable::__private::iter::park_saved(&mut #slot, __ctx)),
                )
            });
        locals.chain(slots).collect()
    }

    fn exit(&self, id: usize) -> TokenStream {
        let exit = &self.m.exits[id];
        let puts = self.puts(&self.plan.puts[id]);
        match &exit.target {
            Target::Goto(block) => {
                let pc = self.pc(*block);
                quote!({ #puts __pc = #pc; continue '__durable; })
            }
            Target::Suspend {
                op,
                span,
                waiter,
                resume,
                ..
            } => {
                let point = point_static(waiter);
                let saved = self.persisted(*resume);
                let parks = self.parks(&self.plan.puts[id], &saved);
                let persist = self.persist_list(&saved);
                let scheduled = checked(quote!(__scheduled), schedule_call(op, *span));
                quote!({
                    #scheduled
                    #waiter.put(__scheduled);
                    #parks
                    #puts
                    return ::core::result::Result::Ok(__step.suspend(&#point, &#waiter, &mut [#persist]));
                })
            }
        }
    }

    fn codes(&self, block: usize, codes: &[Code]) -> TokenStream {
        codes.iter().map(|c| self.code(block, c)).collect()
    }

    fn code(&self, block: usize, code: &Code) -> TokenStream {
        match code {
            Code::Tokens(tokens) => self.markers(tokens.clone()),
            Code::Group(delim, inner) => {
                TokenTree::Group(Group::new(*delim, self.codes(block, inner))).into()
            }
            Code::Exit(id) => self.exit(*id),
            Code::Let {
                head,
                init,
                tail,
                stashes,
                bindings,
            } => {
                let assigned = &self.m.blocks[block].assigned;
                if init.is_none() && !bindings.iter().any(|b| assigned.contains(b)) {
                    return TokenStream::new();
                }
                let saved: Vec<BindingId> = stashes
                    .iter()
                    .filter(|s| self.plan.stashes.contains(s))
                    .map(|s| self.m.stashes[*s].binding)
                    .collect();
                let init = init.clone().map(|i| self.markers(i));
                let tail = self.markers(tail.clone());
                if saved.is_empty() {
                    let init = init.map(|i| quote!(= #i));
                    return quote!(#head #init #tail;);
                }
                match init {
                    Some(init) => {
                        let init = self.stashed(init, &saved);
                        quote!(#head = #init #tail;)
                    }
                    None => {
                        let puts = self.puts(&saved);
                        quote!(#puts #head #tail;)
                    }
                }
            }
        }
    }

    /// `[ids], value` of a stash marker: the value, after saving the hidden bindings
    /// that some exit needs.
    fn stash(&self, args: TokenStream) -> TokenStream {
        let mut tokens = args.into_iter();
        let ids: Vec<usize> = match tokens.next() {
            Some(TokenTree::Group(g)) => g
                .stream()
                .into_iter()
                .filter_map(|t| t.to_string().parse().ok())
                .collect(),
            _ => Vec::new(),
        };
        let _comma = tokens.next();
        let value = self.markers(tokens.collect());
        let saved: Vec<BindingId> = ids
            .iter()
            .filter(|s| self.plan.stashes.contains(s))
            .map(|s| self.m.stashes[*s].binding)
            .collect();
        self.stashed(value, &saved)
    }

    /// `value`, evaluated before the hidden bindings `saved` are put in their slots.
    fn stashed(&self, value: TokenStream, saved: &[BindingId]) -> TokenStream {
        if saved.is_empty() {
            return value;
        }
        let puts = self.puts(saved);
        quote!({ let __value = #value; #puts __value })
    }

    /// Replaces the exit markers left in await-free code with the exits' code.
    fn markers(&self, tokens: TokenStream) -> TokenStream {
        let mut out = Vec::new();
        let mut iter = tokens.into_iter().peekable();
        while let Some(tt) = iter.next() {
            match tt {
                TokenTree::Ident(ident) if ident == EXIT_MARKER => {
                    let bang = iter.next();
                    let args = iter.next();
                    let id = match &args {
                        Some(TokenTree::Group(g)) => g.stream().to_string().parse::<usize>().ok(),
                        _ => None,
                    };
                    match (bang, id) {
                        (Some(TokenTree::Punct(p)), Some(id)) if p.as_char() == '!' => {
                            out.extend(self.exit(id));
                        }
                        (bang, _) => {
                            out.push(TokenTree::Ident(ident));
                            out.extend(bang);
                            out.extend(args);
                        }
                    }
                }
                TokenTree::Ident(ident) if ident == STASH_MARKER => {
                    let _bang = iter.next();
                    let Some(TokenTree::Group(args)) = iter.next() else {
                        unreachable!("stash markers are written with arguments")
                    };
                    out.extend(self.stash(args.stream()));
                }
                TokenTree::Group(g) => {
                    let mut group = Group::new(g.delimiter(), self.markers(g.stream()));
                    group.set_span(g.span());
                    out.push(TokenTree::Group(group));
                }
                other => out.push(other),
            }
        }
        out.into_iter().collect()
    }
}

/// `let Some(#bind) = ok(&mut __fault, #result) else { break '__durable };`: the value
/// of a runtime call that may fail the step, which then leaves the machine's loop for
/// its one fault exit (see `durable_core::machine::ok`).
pub(crate) fn checked(bind: TokenStream, result: TokenStream) -> TokenStream {
    quote! {
        let ::core::option::Option::Some(#bind) =
            ::durable::__private::ok(&mut __fault, #result)
        else {
            break '__durable;
        };
    }
}
