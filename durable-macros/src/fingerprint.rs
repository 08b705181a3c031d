//! The layout fingerprint: a hash of the machine's shape (its resume points and the
//! slots saved at each), stored with every state so that code whose shape changed
//! refuses a state it would decode wrongly.

use crate::emit::ResumePoint;

/// FNV-1a, 64-bit: stable across compiler versions and platforms, unlike `std`'s hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

pub fn of(layout: &[ResumePoint]) -> u64 {
    let mut text = String::from("durable-layout-v1");
    for point in layout {
        text.push_str(&format!(";{}:{}", point.pc, point.slots.join(",")));
    }
    fnv1a(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(pc: u32, slots: &[&str]) -> ResumePoint {
        ResumePoint {
            pc,
            slots: slots.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn differs_when_the_shape_differs() {
        let a = of(&[point(1, &["__s_x"]), point(3, &["__s_x", "__s_y"])]);
        assert_eq!(
            a,
            of(&[point(1, &["__s_x"]), point(3, &["__s_x", "__s_y"])])
        );
        assert_ne!(a, of(&[point(1, &["__s_x"]), point(3, &["__s_y"])]));
        assert_ne!(
            a,
            of(&[point(1, &["__s_x"]), point(2, &["__s_x", "__s_y"])])
        );
        assert_ne!(a, of(&[point(1, &["__s_x"])]));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
