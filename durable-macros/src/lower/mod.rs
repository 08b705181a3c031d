//! Lowering: the body becomes blocks. A block runs from a resume point (the start, the
//! code after an `.await`, a loop head, the code after a construct containing an
//! `.await`) to its exits. Control flow without an `.await` stays as written, inside
//! whichever block it falls in; control flow with one is split so that every path
//! ends in an exit. Expressions are split at their `.await`s, keeping Rust's evaluation
//! order by binding what was evaluated before an `.await` to a temporary.
//!
//! This module holds the lowerer's state: blocks and the cursor writing into them,
//! bindings and the writes on the current path, exits. The constructs are lowered in
//! `stmts` (statements, blocks, items, pins), `branches` (`if`, `match`, `loop`,
//! `while`), `loops` (`for`) and `exprs` (expressions around an `.await`).

use proc_macro2::{Delimiter, Ident, Span, TokenStream};
use quote::quote;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat, Stmt};

use std::collections::BTreeSet;

mod branches;
mod exprs;
mod items;
mod loops;
mod stmts;
mod verbatim;

use crate::assign;
use crate::awaits::has_await;
use crate::ir::EXIT_MARKER;
use crate::ir::{
    Binding, BindingId, Block, BlockId, BlockKind, Code, Entry, Exit, Machine, Stash, StashId,
    Target,
};
use crate::patterns;
use crate::points::Points;
use crate::scope::Scope;
use verbatim::Verbatim;

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
    awaits: usize,
    pub points: Points,
    /// The functions, constants and imports of the nested blocks being lowered,
    /// outermost first, each with its name (imports: none).
    item_scopes: Vec<Vec<(Option<String>, TokenStream)>>,
    /// The modules of the blocks being lowered that declare type items, outermost
    /// first, and how many there are so far (see [`items`]).
    item_modules: Vec<items::ItemModule>,
    item_module_count: usize,
    errors: Option<syn::Error>,
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
            awaits: 0,
            points: Points::default(),
            item_scopes: Vec::new(),
            item_modules: Vec::new(),
            item_module_count: 0,
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

    /// Lowers an orchestrator's or durable function's body. Its type items go into a
    /// module that the whole machine imports; its other items stay at the top.
    pub fn lower_body(&mut self, stmts: Vec<Stmt>, dest: Dest, end: Span) {
        let typed = items::have_type_items(&stmts);
        if typed {
            let import = self.open_item_module(&stmts);
            self.m.items.push(import);
        }
        self.lower_stmts(stmts, dest, end);
        if typed {
            self.close_item_module();
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
            items: visible_items(&self.item_scopes),
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
            iterator: false,
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

    /// A temporary holding `content`, named by what it holds and where (a checkpoint
    /// that saves it still fits after edits elsewhere).
    fn temp(&mut self, prefix: &str, content: TokenStream, span: Span, mutable: bool) -> BindingId {
        let ident = Ident::new(&self.points.temporary(prefix, content), span);
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
}

/// The items of nested blocks visible where a block starts: the innermost of each name,
/// as Rust resolves them (declaring both in one block would clash).
fn visible_items(scopes: &[Vec<(Option<String>, TokenStream)>]) -> Vec<TokenStream> {
    let mut seen = std::collections::HashSet::new();
    let mut visible = Vec::new();
    for (name, item) in scopes.iter().rev().flatten() {
        if name.as_ref().is_none_or(|n| seen.insert(n.clone())) {
            visible.push(item.clone());
        }
    }
    visible.reverse();
    visible
}
