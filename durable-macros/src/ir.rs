//! The lowered form of an orchestrator body: blocks of code between resume points and
//! jumps, and the exits (jumps, suspensions) whose saved locals liveness decides.

use proc_macro2::{Delimiter, Ident, Span, TokenStream};

use crate::points::PointSite;

/// The placeholder an exit leaves in await-free code until liveness says what it saves.
pub const EXIT_MARKER: &str = "__durable_exit";

/// The placeholder around the value of a `let` in await-free code that hides a tracked
/// binding: `__durable_stash!([stash ids], value)`. If some exit in the `let`'s scope
/// needs the hidden binding, emission saves it to its slot before the `let` binds.
pub const STASH_MARKER: &str = "__durable_stash";

pub type BindingId = usize;
pub type BlockId = usize;
pub type ExitId = usize;
pub type StashId = usize;

/// A local of the user's body (or a temporary the lowering introduced).
pub struct Binding {
    /// The user's identifier, with its span: restores bind this name.
    pub ident: Ident,
    pub mutable: bool,
    /// The binding this one hides, and the stash that can save it first (`let` only).
    pub shadows: Option<(BindingId, Option<StashId>)>,
    /// For the pattern bindings of a loop over a re-created iterator: how they are bound
    /// again (never saved).
    pub derived: Option<usize>,
    /// A saved loop's iterator: parked before each checkpoint (its items may go beside
    /// it, `durable::__private::iter::park`).
    pub iterator: bool,
}

/// How the bindings of a re-created loop's pattern are bound again after an `.await`.
pub struct Derivation {
    pub pat: TokenStream,
    /// The current item, an `Option` (re-created from the loop's expression and cursor).
    pub item: TokenStream,
    /// What `item` reads: the expression's locals and the cursor.
    pub deps: Vec<BindingId>,
}

/// Where code inside a block goes next.
pub enum Target {
    /// Continue in another block of the same step.
    Goto(BlockId),
    /// Schedule `op`, save the state, and end the step; resume in `resume`.
    Suspend {
        op: TokenStream,
        span: Span,
        /// The `.await`'s identity and text, for its `durable::__private::Point`.
        site: PointSite,
        waiter: Ident,
        resume: BlockId,
    },
}

/// A place where control leaves a block.
pub struct Exit {
    pub block: BlockId,
    pub target: Target,
    /// Bindings defined or assigned in the block before this exit, on its path.
    pub kills: Vec<BindingId>,
    /// The names in scope at the exit, innermost last.
    pub scope: Vec<(String, Entry)>,
}

/// What a name in scope refers to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Entry {
    /// A binding the lowering tracks.
    Binding(BindingId),
    /// A binding local to await-free code; it never crosses a block boundary.
    Local,
    /// A `let` in await-free code that hides a tracked binding and can stash it first.
    Hiding(StashId),
    /// The orchestration context: bound anew in every step, never saved.
    Ambient,
}

/// A piece of a block's code.
pub enum Code {
    Tokens(TokenStream),
    Group(Delimiter, Vec<Code>),
    Exit(ExitId),
    /// A `let` that may have to save a binding it shadows first.
    Let {
        head: TokenStream,
        init: Option<TokenStream>,
        tail: TokenStream,
        stashes: Vec<StashId>,
        /// What it binds; a `let x;` without a value is left out of blocks that never
        /// assign `x` (those that do assign it declare it themselves).
        bindings: Vec<BindingId>,
    },
}

/// Why a block exists.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BlockKind {
    /// The start of the orchestration.
    Start,
    /// Right after the `.await` of the suspension that exits through `ExitId`.
    Resume(ExitId),
    /// A loop head or the code after a construct that contains an `.await`.
    Join,
}

pub struct Block {
    pub kind: BlockKind,
    pub code: Vec<Code>,
    /// Bindings read before any write in this block, in first-use order: restored on entry.
    pub uses: Vec<BindingId>,
    /// Bindings this block reads or assigns.
    pub referenced: Vec<BindingId>,
    /// Bindings this block assigns (`x = ..`).
    pub assigned: Vec<BindingId>,
    /// Bindings declared by a `let` (or pattern) in this block.
    pub declared: Vec<BindingId>,
    /// Position in emission (and resume point) order, once the block has started.
    pub order: Option<usize>,
    /// Functions, constants and imports of the nested blocks the block starts in:
    /// declared again at its top, so that they are visible exactly where Rust makes
    /// them visible (those of the body itself are declared once, for every block).
    pub items: Vec<TokenStream>,
}

/// A binding hidden by a later `let` that may have to be saved before that `let` runs.
pub struct Stash {
    pub binding: BindingId,
}

/// A lowered orchestrator body.
pub struct Machine {
    pub bindings: Vec<Binding>,
    pub blocks: Vec<Block>,
    pub exits: Vec<Exit>,
    pub stashes: Vec<Stash>,
    /// Items declared in the body itself, and types, traits and impls declared in nested
    /// blocks (one declaration each, or values of them could not cross blocks):
    /// visible from every block.
    pub items: Vec<TokenStream>,
    pub derivations: Vec<Derivation>,
}
