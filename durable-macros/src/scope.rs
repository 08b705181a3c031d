//! Lexical scopes of the body being lowered: which binding a name refers to.

use crate::ir::Entry;

#[derive(Default)]
pub struct Scope {
    entries: Vec<(String, Entry)>,
    marks: Vec<usize>,
}

impl Scope {
    pub fn push(&mut self) {
        self.marks.push(self.entries.len());
    }

    pub fn pop(&mut self) {
        let mark = self.marks.pop().expect("scope push and pop are paired");
        self.entries.truncate(mark);
    }

    pub fn add(&mut self, name: String, entry: Entry) {
        self.entries.push((name, entry));
    }

    pub fn resolve(&self, name: &str) -> Option<Entry> {
        self.entries
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, e)| *e)
    }

    pub fn snapshot(&self) -> Vec<(String, Entry)> {
        self.entries.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_names_shadow_and_end_with_their_scope() {
        let mut s = Scope::default();
        s.add("x".into(), Entry::Binding(0));
        s.push();
        s.add("x".into(), Entry::Local);
        assert_eq!(s.resolve("x"), Some(Entry::Local));
        s.pop();
        assert_eq!(s.resolve("x"), Some(Entry::Binding(0)));
        assert_eq!(s.resolve("y"), None);
    }
}
