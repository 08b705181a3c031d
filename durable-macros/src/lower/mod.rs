//! Lowering: the body becomes blocks. A block runs from a resume point (the start, the
//! code after an `.await`, a loop head, the code after a construct containing an
//! `.await`) to its exits. Control flow without an `.await` stays as written, inside
//! whichever block it falls in; control flow with one is split so that every path
//! ends in an exit. Expressions are split at their `.await`s, keeping Rust's evaluation
//! order by binding what was evaluated before an `.await` to a temporary.

use proc_macro2::{Delimiter, Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Local, Pat, Stmt};

use std::collections::BTreeSet;

mod loops;

use crate::assign;
use crate::identity;
use crate::ir::{
    Binding, BindingId, Block, BlockId, BlockKind, Code, Entry, Exit, Machine, Stash, StashId,
    Target,
};
use crate::patterns;
use crate::points::{self, PointSite, Points};
use crate::scope::Scope;
use crate::verbatim::{has_await, stmts_have_await, Verbatim, EXIT_MARKER};

/// Where the value of a lowered construct goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dest {
    Discard,
    /// It is the orchestrator's return value.
    Return,
    /// It is assigned to this temporary.
    Temp(BindingId),
}

/// A loop (or labeled block) `break` and `continue` may target.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Frame {
    /// A loop split into blocks: its head and the block after it.
    Lowered {
        label: Option<String>,
        head: BlockId,
        exit: BlockId,
        dest: Dest,
    },
    /// A loop or labeled block left as written.
    Verbatim {
        label: Option<String>,
        is_loop: bool,
    },
    /// A closure or async block: jumps cannot cross it.
    Barrier,
}

/// The block being written, with its open groups.
struct Cursor {
    block: BlockId,
    root: Vec<Code>,
    groups: Vec<(Delimiter, Vec<Code>, usize, bool)>,
    /// Bindings written on the current path through the block.
    kills: Vec<BindingId>,
    /// Whether the current path has already left (`return`, `break`, `continue`, ...):
    /// no jump is emitted from dead code, so liveness does not flow along it.
    dead: bool,
}

impl Cursor {
    fn new(block: BlockId) -> Self {
        Self {
            block,
            root: Vec::new(),
            groups: Vec::new(),
            kills: Vec::new(),
            dead: false,
        }
    }

    fn buffer(&mut self) -> &mut Vec<Code> {
        match self.groups.last_mut() {
            Some((_, code, _, _)) => code,
            None => &mut self.root,
        }
    }
}

pub struct Lowerer {
    pub m: Machine,
    pub scope: Scope,
    pub loops: Vec<Frame>,
    cursor: Cursor,
    parked: Vec<Cursor>,
    next_order: usize,
    temps: usize,
    awaits: usize,
    pub points: Points,
    /// The functions, constants and imports of the nested blocks being lowered,
    /// outermost first.
    item_scopes: Vec<Vec<TokenStream>>,
    errors: Option<syn::Error>,
}

fn is_place(e: &Expr) -> bool {
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

impl Lowerer {
    pub fn new() -> Self {
        let mut l = Self {
            m: Machine {
                bindings: Vec::new(),
                blocks: Vec::new(),
                exits: Vec::new(),
                stashes: Vec::new(),
                items: Vec::new(),
                derivations: Vec::new(),
            },
            scope: Scope::default(),
            loops: Vec::new(),
            cursor: Cursor::new(0),
            parked: Vec::new(),
            next_order: 0,
            temps: 0,
            awaits: 0,
            points: Points::default(),
            item_scopes: Vec::new(),
            errors: None,
        };
        let start = l.new_block(BlockKind::Start);
        l.m.blocks[start].order = Some(0);
        l.next_order = 1;
        l
    }

    /// Records an error and goes on, so one expansion reports every problem.
    pub fn error(&mut self, e: syn::Error) {
        match &mut self.errors {
            Some(first) => first.combine(e),
            None => self.errors = Some(e),
        }
    }

    pub fn finish(mut self) -> syn::Result<Machine> {
        let cursor = std::mem::replace(&mut self.cursor, Cursor::new(0));
        self.close_cursor(cursor);
        for exit in &mut self.m.exits {
            if let Target::Suspend { site, .. } = &mut exit.target {
                self.points.identify(site);
            }
        }
        match self.errors {
            Some(e) => Err(e),
            None => Ok(self.m),
        }
    }

    // ---- blocks, cursors, code -------------------------------------------------------

    fn new_block(&mut self, kind: BlockKind) -> BlockId {
        self.m.blocks.push(Block {
            kind,
            code: Vec::new(),
            uses: Vec::new(),
            referenced: Vec::new(),
            assigned: Vec::new(),
            declared: Vec::new(),
            order: None,
            items: self.item_scopes.concat(),
        });
        self.m.blocks.len() - 1
    }

    fn close_cursor(&mut self, cursor: Cursor) {
        debug_assert!(cursor.groups.is_empty());
        self.m.blocks[cursor.block].code = cursor.root;
    }

    /// Continues writing in `block`; the current block is parked if a branch of it is
    /// still open, and finished otherwise.
    fn switch_to(&mut self, block: BlockId) {
        let old = std::mem::replace(&mut self.cursor, Cursor::new(block));
        if old.groups.is_empty() {
            self.close_cursor(old);
        } else {
            self.parked.push(old);
        }
        self.m.blocks[block].order = Some(self.next_order);
        self.next_order += 1;
    }

    pub fn push(&mut self, code: Code) {
        self.cursor.buffer().push(code);
    }

    pub fn tokens(&mut self, tokens: TokenStream) {
        self.push(Code::Tokens(tokens));
    }

    fn open(&mut self, delim: Delimiter) {
        let mark = self.cursor.kills.len();
        let dead = self.cursor.dead;
        self.cursor.groups.push((delim, Vec::new(), mark, dead));
    }

    fn close(&mut self) {
        let (delim, code, mark, dead) =
            self.cursor.groups.pop().expect("open and close are paired");
        self.cursor.kills.truncate(mark);
        self.cursor.dead = dead;
        self.push(Code::Group(delim, code));
    }

    /// Writes a group whose contents may suspend: if they do, the code after the group
    /// still goes to the block the group was opened in.
    fn branch(&mut self, delim: Delimiter, f: impl FnOnce(&mut Self)) {
        self.open(delim);
        let mark = self.parked.len();
        f(self);
        if self.parked.len() > mark {
            let ours = self.parked.remove(mark);
            debug_assert_eq!(self.parked.len(), mark);
            let last = std::mem::replace(&mut self.cursor, ours);
            self.close_cursor(last);
        }
        self.close();
    }

    // ---- bindings ----------------------------------------------------------------------

    pub fn use_binding(&mut self, b: BindingId) {
        // a loop item bound again from its loop's expression: what that reads first
        if let Some(d) = self.m.bindings[b].derived {
            let block = &self.m.blocks[self.cursor.block];
            if !self.cursor.kills.contains(&b) && !block.uses.contains(&b) {
                for dep in self.m.derivations[d].deps.clone() {
                    self.use_binding(dep);
                }
            }
        }
        let block = &mut self.m.blocks[self.cursor.block];
        if !block.referenced.contains(&b) {
            block.referenced.push(b);
        }
        if !self.cursor.kills.contains(&b) && !block.uses.contains(&b) {
            block.uses.push(b);
        }
    }

    /// Records a write to `b` that needs no earlier value (inside await-free code).
    pub fn write_binding(&mut self, b: BindingId) {
        let block = &mut self.m.blocks[self.cursor.block];
        if !block.referenced.contains(&b) {
            block.referenced.push(b);
        }
        if !block.assigned.contains(&b) {
            block.assigned.push(b);
        }
    }

    /// Where the current path's writes end, to forget those of a branch after it.
    pub fn path_mark(&self) -> usize {
        self.cursor.kills.len()
    }

    /// Forgets the writes recorded since `mark`: they were on a branch that ended.
    pub fn path_reset(&mut self, mark: usize) {
        self.cursor.kills.truncate(mark);
    }

    /// Records an assignment `b = ..` on the current path.
    pub fn kill(&mut self, b: BindingId) {
        let block = &mut self.m.blocks[self.cursor.block];
        if !block.referenced.contains(&b) {
            block.referenced.push(b);
        }
        if !block.assigned.contains(&b) {
            block.assigned.push(b);
        }
        self.cursor.kills.push(b);
    }

    /// Declares a binding in the current scope and block. A `let` may stash the binding
    /// it shadows (`stash`), other patterns cannot.
    fn define(&mut self, ident: Ident, mutable: bool, stash: bool) -> BindingId {
        let id = self.m.bindings.len();
        let shadows = match self.scope.resolve(&ident.to_string()) {
            Some(Entry::Binding(old)) => {
                let stash_id = stash.then(|| self.new_stash(old));
                Some((old, stash_id))
            }
            _ => None,
        };
        self.scope.add(ident.to_string(), Entry::Binding(id));
        self.m.bindings.push(Binding {
            ident,
            mutable,
            shadows,
            derived: None,
        });
        self.m.blocks[self.cursor.block].declared.push(id);
        self.cursor.kills.push(id);
        id
    }

    /// A stash that saves binding `b` before a `let` hides it.
    pub fn new_stash(&mut self, b: BindingId) -> StashId {
        self.m.stashes.push(Stash { binding: b });
        self.m.stashes.len() - 1
    }

    pub fn define_pattern(&mut self, pat: &Pat) {
        for bound in patterns::bindings(pat) {
            self.define(bound.ident, bound.mutable, false);
        }
    }

    pub fn define_ambient(&mut self, ident: &Ident) {
        self.scope.add(ident.to_string(), Entry::Ambient);
    }

    fn temp(&mut self, prefix: &str, span: Span, mutable: bool) -> BindingId {
        self.temps += 1;
        let ident = Ident::new(&format!("__{prefix}{}", self.temps), span);
        self.define(ident, mutable, false)
    }

    fn ident_of(&self, b: BindingId) -> Ident {
        self.m.bindings[b].ident.clone()
    }

    // ---- exits -------------------------------------------------------------------------

    fn exit(&mut self, target: Target) -> usize {
        self.m.exits.push(Exit {
            block: self.cursor.block,
            target,
            kills: self.cursor.kills.clone(),
            scope: self.scope.snapshot(),
        });
        self.m.exits.len() - 1
    }

    /// Code for a jump to `block`, optionally assigning a temporary first; liveness later
    /// fills in what it saves.
    pub fn exit_tokens(
        &mut self,
        block: BlockId,
        assign: Option<(BindingId, TokenStream)>,
    ) -> TokenStream {
        let marker = Ident::new(EXIT_MARKER, Span::call_site());
        let id = |id: usize| proc_macro2::Literal::usize_unsuffixed(id);
        match assign {
            Some((t, value)) => {
                self.kill(t);
                let exit = id(self.exit(Target::Goto(block)));
                self.cursor.kills.pop();
                let t = self.ident_of(t);
                quote!({ #t = #value; #marker!(#exit) })
            }
            None => {
                let exit = id(self.exit(Target::Goto(block)));
                quote!(#marker!(#exit))
            }
        }
    }

    fn goto(&mut self, block: BlockId) {
        if self.cursor.dead {
            return;
        }
        let id = self.exit(Target::Goto(block));
        self.push(Code::Exit(id));
    }

    pub fn find_frame(&self, label: Option<&syn::Lifetime>) -> Option<Frame> {
        for frame in self.loops.iter().rev() {
            match (frame, label) {
                (Frame::Barrier, _) => return None,
                (Frame::Lowered { label: Some(l), .. }, Some(want))
                | (Frame::Verbatim { label: Some(l), .. }, Some(want))
                    if want.ident == l =>
                {
                    return Some(frame.clone())
                }
                (Frame::Lowered { .. }, None) | (Frame::Verbatim { is_loop: true, .. }, None) => {
                    return Some(frame.clone())
                }
                _ => {}
            }
        }
        None
    }

    // ---- await-free code -----------------------------------------------------------------

    /// Walks await-free code: records reads, rewrites exits, reports bad awaits.
    fn visit_expr(&mut self, e: &mut Expr) {
        self.visit_with_writes(e, BTreeSet::new());
    }

    /// Walks an await-free statement-level expression, then records the locals it
    /// assigns on every completing path as written.
    fn visit_statement(&mut self, e: &mut Expr) {
        let written = assign::expr(e).unwrap_or_default();
        self.visit_with_writes(e, written.clone());
        for name in written {
            if let Some(Entry::Binding(b)) = self.scope.resolve(&name) {
                self.kill(b);
            }
        }
    }

    fn visit_with_writes(&mut self, e: &mut Expr, writes: BTreeSet<String>) {
        let mut v = Verbatim::new(self, writes);
        v.visit_expr_mut(e);
        if let Some(err) = v.error {
            self.error(err);
        }
    }

    fn visit_stmt(&mut self, s: &mut Stmt) {
        let mut v = Verbatim::new(self, BTreeSet::new());
        v.visit_stmt_mut(s);
        if let Some(err) = v.error {
            self.error(err);
        }
    }

    /// Emits an await-free expression as a statement, or as the value of `dest`.
    fn emit_value(&mut self, mut e: Expr, dest: Dest) {
        self.visit_statement(&mut e);
        match dest {
            Dest::Discard => self.tokens(quote!(#e;)),
            Dest::Return => self.tokens(quote!(return ::durable::__private::done(#e);)),
            Dest::Temp(t) => {
                self.kill(t);
                let t = self.ident_of(t);
                self.tokens(quote!(#t = #e;));
            }
        }
    }

    /// Lowers `e` if it awaits, then walks the result as await-free code.
    fn residual(&mut self, e: Expr) -> Expr {
        let mut e = if has_await(&e) { self.lower_expr(e) } else { e };
        self.visit_expr(&mut e);
        e
    }

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
                // a nested block's items were declared where it starts (`lower_block`)
                Stmt::Item(item) if self.item_scopes.is_empty() => {
                    self.m.items.push(item.into_token_stream())
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

    fn lower_block(&mut self, block: syn::Block, dest: Dest) {
        let end = block.brace_token.span.close();
        self.scope.push();
        // Rust makes a block's items visible in all of it. Its code may end up in
        // several blocks of the machine: functions, constants and imports are declared
        // again in each (here, and at the top of blocks that start inside it); types,
        // traits and impls once, for the whole machine.
        let mut local = Vec::new();
        for stmt in &block.stmts {
            let Stmt::Item(item) = stmt else { continue };
            match item {
                // a copy may go unused in the block it is declared again in
                syn::Item::Fn(_) | syn::Item::Const(_) | syn::Item::Use(_) => {
                    local.push(quote!(#[allow(dead_code, unused_imports)] #item))
                }
                _ => self.m.items.push(item.to_token_stream()),
            }
        }
        self.tokens(local.iter().cloned().collect());
        self.item_scopes.push(local);
        self.lower_stmts(block.stmts, dest, end);
        self.item_scopes.pop();
        self.scope.pop();
    }

    fn lower_local(&mut self, local: Local) {
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

    fn lower_expr_stmt(&mut self, e: Expr, dest: Dest) {
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

    // ---- control flow --------------------------------------------------------------------

    fn lower_control(&mut self, e: Expr, dest: Dest) {
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
    fn condition(&mut self, cond: Expr) -> Vec<Pat> {
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

    fn unit_value(&mut self, dest: Dest) {
        if dest != Dest::Discard {
            self.emit_value(syn::parse_quote!(()), dest);
        }
    }

    fn lower_if(&mut self, i: syn::ExprIf, dest: Dest) {
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

    fn lower_match(&mut self, m: syn::ExprMatch, dest: Dest) {
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

    // ---- expressions ---------------------------------------------------------------------

    /// Lowers an expression that awaits, and returns what is left to evaluate after its
    /// last `.await`: an await-free expression over temporaries.
    fn lower_expr(&mut self, e: Expr) -> Expr {
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
                // would move the local); any other is evaluated before the arguments'
                // `.await` (its value must then be savable: await into a local first
                // where it is a borrow, such as `map.entry(k)`).
                let mut ops: Vec<&mut Expr> = Vec::new();
                let args_await = m.args.iter().any(has_await);
                if has_await(&m.receiver) || (args_await && !is_place(&m.receiver)) {
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
            Expr::Binary(mut b) => {
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
    fn value_of(&mut self, e: Expr) -> Expr {
        let t = self.temp("v", e.span(), false);
        self.m.blocks[self.cursor.block]
            .declared
            .retain(|d| *d != t);
        self.cursor.kills.retain(|k| *k != t);
        let ident = self.ident_of(t);
        self.lower_control(e, Dest::Temp(t));
        syn::parse_quote!(#ident)
    }

    /// Whether an operand evaluated before a later `.await` may stay where it is, and be
    /// evaluated after it, with no difference Rust could observe: a literal, a borrow of
    /// a place (taking it has no effect, and it could not be held across the `.await`),
    /// or a path that names no local (a function, a constant).
    fn stays(&self, e: &Expr) -> bool {
        match e {
            Expr::Lit(_) => true,
            Expr::Reference(r) => is_place(&r.expr),
            Expr::Paren(p) => self.stays(&p.expr),
            Expr::Path(p) => {
                let local = p
                    .path
                    .get_ident()
                    .and_then(|i| self.scope.resolve(&i.to_string()));
                !matches!(local, Some(Entry::Binding(_) | Entry::Local))
            }
            _ => false,
        }
    }

    /// Lowers operands listed in evaluation order. Everything evaluated before the last
    /// operand that awaits is bound to a temporary first (unless [`Lowerer::stays`]),
    /// so it is evaluated exactly when Rust would evaluate it: a local is read, an index
    /// checked, a method called before the `.await`.
    fn operands(&mut self, ops: Vec<&mut Expr>) {
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
            *op = if i < last && !self.stays(&lowered) {
                self.hoist(lowered)
            } else {
                lowered
            };
        }
    }

    fn hoist(&mut self, mut e: Expr) -> Expr {
        self.visit_expr(&mut e);
        let t = self.temp("t", e.span(), false);
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
    fn suspend(&mut self, op: Expr, span: Span, site: PointSite) -> Expr {
        self.awaits += 1;
        let waiter = format_ident!("__w{}", self.awaits);
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
        let result = Ident::new(&format!("__r{}", self.awaits), span);
        self.define(result.clone(), false, false);
        syn::parse_quote!(#result)
    }
}

fn is_compound_assign(op: &syn::BinOp) -> bool {
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
