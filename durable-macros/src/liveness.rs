//! Backward liveness over blocks: a binding is live on entry to a block if the block
//! reads it before writing it, or if some exit of the block leads to a block where it
//! is live and the path to that exit did not write it.

use std::collections::BTreeSet;

use crate::ir::{BindingId, BlockId, Machine, Target};

/// The block an exit continues in.
pub fn target_block(target: &Target) -> BlockId {
    match target {
        Target::Goto(block) => *block,
        Target::Suspend { resume, .. } => *resume,
    }
}

/// `live_in[block]`: the bindings that must be in their slots when `block` starts.
pub fn live_in(m: &Machine) -> Vec<BTreeSet<BindingId>> {
    let mut live: Vec<BTreeSet<BindingId>> = m
        .blocks
        .iter()
        .map(|b| b.uses.iter().copied().collect())
        .collect();
    loop {
        let mut changed = false;
        for exit in m.exits.iter().rev() {
            let from_target: Vec<BindingId> = live[target_block(&exit.target)]
                .iter()
                .copied()
                .filter(|b| !exit.kills.contains(b))
                .collect();
            for b in from_target {
                changed |= live[exit.block].insert(b);
            }
        }
        if !changed {
            return live;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Block, BlockKind, Exit};

    fn block(uses: Vec<BindingId>) -> Block {
        Block {
            kind: BlockKind::Join,
            code: Vec::new(),
            uses,
            referenced: Vec::new(),
            assigned: Vec::new(),
            declared: Vec::new(),
            order: None,
            items: Vec::new(),
        }
    }

    fn goto(from: BlockId, to: BlockId, kills: Vec<BindingId>) -> Exit {
        Exit {
            block: from,
            target: Target::Goto(to),
            kills,
            scope: Vec::new(),
        }
    }

    #[test]
    fn liveness_flows_back_through_loops_and_stops_at_writes() {
        // 0 -> 1 (loop head, reads 0) -> 2 (writes 1, reads 0) -> 1; 1 -> 3 (reads 1)
        let m = Machine {
            bindings: Vec::new(),
            blocks: vec![
                block(vec![]),
                block(vec![0]),
                block(vec![0]),
                block(vec![1]),
            ],
            exits: vec![
                goto(0, 1, vec![0, 1]),
                goto(1, 2, vec![]),
                goto(2, 1, vec![1]),
                goto(1, 3, vec![]),
            ],
            stashes: Vec::new(),
            items: Vec::new(),
            derivations: Vec::new(),
        };
        let live = live_in(&m);
        assert_eq!(live[0], BTreeSet::new());
        assert_eq!(live[1], BTreeSet::from([0, 1]));
        assert_eq!(live[2], BTreeSet::from([0]));
        assert_eq!(live[3], BTreeSet::from([1]));
    }
}
