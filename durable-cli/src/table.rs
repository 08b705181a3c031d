//! Plain-text layout for people: columns, and aligned `key  value` fields.
//!
//! Widths count `char`s, not terminal cells: ids and names are mostly ASCII, and a
//! table a few cells off for wide characters is still readable. Nothing is padded at
//! the end of a line, so the output diffs and greps cleanly.

/// Spaces between two columns, or between a key and its value.
const GAP: usize = 2;

/// Rows of cells under a header, each column as wide as its widest cell.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank and extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, width) in widths.iter_mut().enumerate() {
                *width = (*width).max(cell(row, i).chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let text = cell(row, i);
                line.push_str(text);
                if i + 1 < columns {
                    let pad = width - text.chars().count() + GAP;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `key  value` lines with the values in one column. A value of several lines keeps
/// its later lines under its first.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        + GAP;
    let mut out = String::new();
    for (key, value) in pairs {
        let mut lines = value.lines();
        let first = lines.next().unwrap_or("");
        let line = format!("{key:width$}{first}");
        out.push_str(line.trim_end());
        out.push('\n');
        for more in lines {
            let line = format!("{:width$}{more}", "");
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// Cell `i` of `row` up to its first line break (a table row stays one line), or
/// blank past the row's end.
fn cell(row: &[String], i: usize) -> &str {
    row.get(i).and_then(|c| c.lines().next()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let mut table = Table::new(&["ID", "STATUS"]);
        table.row(vec!["a-long-id".into(), "Running".into()]);
        table.row(vec!["b".into(), "Completed".into()]);
        assert_eq!(
            table.render(),
            "ID         STATUS\n\
             a-long-id  Running\n\
             b          Completed\n"
        );
    }

    #[test]
    fn short_rows_are_blank_and_lines_have_no_trailing_spaces() {
        let mut table = Table::new(&["A", "B", "C"]);
        table.row(vec!["x".into()]);
        table.row(vec!["y".into(), "".into(), "zz\nsecond line".into()]);
        assert_eq!(table.render(), "A  B  C\nx\ny     zz\n");
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let mut table = Table::new(&["NAME", "X"]);
        table.row(vec!["żółw".into(), "1".into()]);
        assert_eq!(table.render(), "NAME  X\nżółw  1\n");
    }

    #[test]
    fn fields_align_values_and_indent_their_later_lines() {
        let text = fields(&[
            ("id", "a".into()),
            ("error", "first\nsecond".into()),
            ("empty", String::new()),
        ]);
        assert_eq!(
            text,
            "id     a\n\
             error  first\n       second\n\
             empty\n"
        );
    }
}
