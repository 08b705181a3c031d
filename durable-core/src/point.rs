//! Resume points: what a checkpoint says about where it was taken, so that changed code
//! resumes it only where nothing it carries changed.
//!
//! Every `.await` of an orchestrator is a [`Point`], a `static` in the generated code.
//! Its *identity* is fixed at compile time from the awaited expression as written, the
//! control constructs around it and its rank among identical siblings (or a name the
//! user pins with `#[point("..")]`), so it survives edits elsewhere in the function. Its
//! *layout* is known only at run time: the type of the operation awaited and the name
//! and type of each local saved there, through `std::any::type_name` of each slot's
//! generic parameter (the macro cannot name inferred types). A checkpoint starts with
//! both, and the code resumes it only at the point with the same identity, after
//! checking the layout and before decoding a byte of the locals.
//!
//! The layout is one 32-bit hash per part (the waiter, then each slot in order), so a
//! mismatch can say which local changed. What the hash cannot see: a change inside a
//! type that keeps its name (a field added to or reordered in a user struct), which
//! decodes wrongly or fails to decode; the README says what to do about it.

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::codec::CodecError;

/// The first bytes of every checkpoint in this format. States of the first format
/// started with a whole-machine fingerprint instead; they are told apart by this.
const MAGIC: [u8; 4] = *b"dur\x02";

/// A resume point of a generated machine.
pub struct Point {
    id: u64,
    /// The source file, shown by inspection; not saved, to keep checkpoints small.
    file: &'static str,
    label: &'static str,
    slots: &'static [&'static str],
    layout: OnceLock<Layout>,
}

/// The run-time half of a point: the type of what it awaits and of each saved slot.
struct Layout {
    /// The header this point writes before the slots of every checkpoint taken there.
    header: Vec<u8>,
    /// The type names, the waiter's first, for the reason of a mismatch.
    types: Vec<&'static str>,
}

impl Point {
    /// A point with identity `id` in source file `file`, described by `label` (the
    /// awaited expression and its line and column), that saves the locals named
    /// `slots`, in order.
    pub const fn new(
        id: u64,
        file: &'static str,
        label: &'static str,
        slots: &'static [&'static str],
    ) -> Self {
        Self {
            id,
            file,
            label,
            slots,
            layout: OnceLock::new(),
        }
    }

    /// The awaited expression and where it is in the source.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// The source file of the `.await`.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The names of the locals saved here, in order.
    pub fn slot_names(&self) -> &'static [&'static str] {
        self.slots
    }

    /// The header of a checkpoint taken here, given the type names of the waiter and
    /// the slots (computed once per point and process).
    pub(crate) fn header(&self, types: impl FnOnce() -> Vec<&'static str>) -> &[u8] {
        &self.layout(types).header
    }

    fn layout(&self, types: impl FnOnce() -> Vec<&'static str>) -> &Layout {
        self.layout.get_or_init(|| {
            let types = types();
            let mut header = Vec::with_capacity(32 + self.label.len() + 4 * types.len());
            header.extend_from_slice(&MAGIC);
            header.extend_from_slice(&self.id.to_le_bytes());
            let label = truncated(self.label, u16::MAX as usize);
            header.extend_from_slice(&(label.len() as u16).to_le_bytes());
            header.extend_from_slice(label.as_bytes());
            header.extend_from_slice(&(types.len() as u16).to_le_bytes());
            for (i, ty) in types.iter().enumerate() {
                let name = if i == 0 { "" } else { self.slots[i - 1] };
                header.extend_from_slice(&part_hash(name, ty).to_le_bytes());
            }
            Layout { header, types }
        })
    }

    /// Checks that `saved` (a checkpoint taken at a point with this identity) carries
    /// what this code saves here; says what differs if not.
    pub(crate) fn check(
        &self,
        saved: &Header<'_>,
        types: impl FnOnce() -> Vec<&'static str>,
    ) -> Result<(), String> {
        let layout = self.layout(types);
        let parts_at = 4 + 8 + 2 + self.label_len() + 2;
        let ours = &layout.header[parts_at..];
        if ours == saved.parts {
            return Ok(());
        }
        Err(self.difference(saved, &layout.types))
    }

    fn label_len(&self) -> usize {
        truncated(self.label, u16::MAX as usize).len()
    }

    fn difference(&self, saved: &Header<'_>, types: &[&'static str]) -> String {
        let saved_parts: Vec<u32> = saved
            .parts
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut why = String::new();
        if saved_parts.first() != Some(&part_hash("", types[0])) {
            let _ = write!(
                why,
                "the operation awaited there changed (the code now awaits `{}`); ",
                types[0]
            );
        }
        let mut changed = Vec::new();
        for (name, ty) in self.slots.iter().zip(&types[1..]) {
            if !saved_parts[1.min(saved_parts.len())..].contains(&part_hash(name, ty)) {
                changed.push(format!("`{name}: {ty}`"));
            }
        }
        if !changed.is_empty() {
            let _ = write!(
                why,
                "the checkpoint holds no local {} (new, renamed or of another type); ",
                changed.join(", ")
            );
        }
        let saved_slots = saved_parts.len().saturating_sub(1);
        if saved_slots != self.slots.len() {
            let _ = write!(
                why,
                "the checkpoint holds {saved_slots} locals, the code saves {} there; ",
                self.slots.len()
            );
        } else if changed.is_empty() && why.is_empty() {
            why.push_str("the saved locals are in another order; ");
        }
        why.push_str(
            "if the code did not change there, a new compiler may name a type differently \
             (`std::any::type_name` is not stable across compiler versions)",
        );
        why
    }
}

/// Checks that a migration taking `locals` (with type names `types`) fits `saved`, a
/// checkpoint taken by an older version at the point this code awaits `waiter` at.
pub(crate) fn check_migration(
    saved: &Header<'_>,
    waiter: &str,
    locals: &[&str],
    types: &[&str],
) -> Result<(), String> {
    let parts: Vec<u32> = saved
        .parts
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if parts.first() != Some(&part_hash("", waiter)) {
        return Err(format!(
            "the point now awaits `{waiter}`, another operation than the checkpoint's; a \
             migration cannot change what a point awaits, as it is already under way"
        ));
    }
    let saved_locals = &parts[1..];
    if saved_locals.len() != locals.len() {
        return Err(format!(
            "the checkpoint holds {} locals, the migration takes {}",
            saved_locals.len(),
            locals.len()
        ));
    }
    let wrong: Vec<String> = locals
        .iter()
        .zip(types)
        .zip(saved_locals)
        .filter(|((name, ty), part)| part_hash(name, ty) != **part)
        .map(|((name, ty), _)| format!("`{name}: {ty}`"))
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} not where the checkpoint holds it (take the old locals with their names and \
         types, in the order the old code declared them)",
        wrong.join(", ")
    ))
}

/// What a checkpoint says about the point it was taken at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub id: u64,
    /// The awaited expression and its place in the source of the code that saved it.
    pub label: &'a str,
    parts: &'a [u8],
}

impl Header<'_> {
    /// The layout the checkpoint was saved with, as hex: the hash of the awaited
    /// operation's type, then of each saved local's name and type.
    pub fn fingerprint(&self) -> String {
        self.parts.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// How a checkpoint starts.
#[derive(Debug, PartialEq, Eq)]
pub enum Saved<'a> {
    /// At a resume point, in this format: the header and the slot bytes after it.
    Point(Header<'a>, &'a [u8]),
    /// In the first format (a whole-machine fingerprint and a resume point number).
    Legacy,
}

/// Splits a checkpoint into what it says about its point and the slot bytes.
pub fn split(state: &[u8]) -> Result<Saved<'_>, CodecError> {
    let Some(rest) = state.strip_prefix(&MAGIC) else {
        // the first format: an 8-byte fingerprint, then a resume point number that is
        // never 0 (a state at the start is not saved)
        return match state.get(8..12) {
            Some(pc) if pc != [0; 4] => Ok(Saved::Legacy),
            _ => Err(corrupt("header")),
        };
    };
    let mut reader = Reader(rest);
    let id = u64::from_le_bytes(reader.array()?);
    let label_len = u16::from_le_bytes(reader.array()?) as usize;
    let label = std::str::from_utf8(reader.bytes(label_len)?).map_err(|_| corrupt("label"))?;
    let parts = u16::from_le_bytes(reader.array()?) as usize;
    let parts = reader.bytes(parts * 4)?;
    Ok(Saved::Point(Header { id, label, parts }, reader.0))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.0.len() < n {
            return Err(corrupt("header"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let bytes = self.bytes(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }
}

fn corrupt(what: &str) -> CodecError {
    CodecError::Decode {
        what: "orchestration state",
        message: format!("its {what} is cut short or malformed"),
    }
}

fn truncated(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// FNV-1a of a saved part, `name:type`, folded to 32 bits.
fn part_hash(name: &str, ty: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain([b':']).chain(ty.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash ^ (hash >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    static AMOUNT: Point = Point::new(
        7,
        "src/x.rs",
        "ctx.event(\"approval\") at line 3:9",
        &["amount"],
    );

    #[test]
    fn a_header_splits_back_and_checks() {
        let header = AMOUNT.header(|| vec!["W", "u32"]).to_vec();
        let mut state = header.clone();
        state.extend_from_slice(b"slots");
        let Saved::Point(saved, slots) = split(&state).unwrap() else {
            panic!("not a point")
        };
        assert_eq!(saved.id, 7);
        assert_eq!(saved.label, AMOUNT.label());
        assert_eq!(slots, b"slots");
        assert_eq!(AMOUNT.check(&saved, || unreachable!()), Ok(()));
        assert!(split(&header[..header.len() - 1]).is_err());
        assert_eq!(split(b"fingerpr\x01\0\0\0slots").unwrap(), Saved::Legacy);
        assert!(split(b"fingerpr\0\0\0\0slots").is_err(), "resume point 0");
        assert!(
            split(b"\x01\x02legacy").is_err(),
            "too short for a first-format one"
        );
    }

    #[test]
    fn a_changed_type_or_operation_is_named() {
        let other = Point::new(7, "x.rs", "x", &["amount"]);
        let mut state = other.header(|| vec!["W", "u32"]).to_vec();
        state.extend_from_slice(b"..");
        let Saved::Point(saved, _) = split(&state).unwrap() else {
            panic!("not a point")
        };
        let changed = Point::new(7, "x.rs", "x", &["amount"]);
        let why = changed.check(&saved, || vec!["W", "i64"]).unwrap_err();
        assert!(why.contains("`amount: i64`"), "{why}");
        assert!(!why.contains("operation"), "{why}");
        let awaited = Point::new(7, "x.rs", "x", &["amount"]);
        let why = awaited.check(&saved, || vec!["V", "u32"]).unwrap_err();
        assert!(why.contains("operation awaited there changed"), "{why}");
        let more = Point::new(7, "x.rs", "x", &["amount", "n"]);
        let why = more.check(&saved, || vec!["W", "u32", "u8"]).unwrap_err();
        assert!(
            why.contains("`n: u8`") && why.contains("holds 1 locals"),
            "{why}"
        );
    }
}
