//! The resume points a lowering meets: the constructs around each `.await` and the
//! names users pin with `#[point("..")]`, turned into identities (see [`identity`]).

use std::collections::HashMap;
use std::path::Path;

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, LitStr};

use crate::identity::{self, Ranks};

/// What a suspension knows about its `.await`.
#[derive(Clone, Debug)]
pub struct PointSite {
    /// Its identity, final once the whole body is lowered ([`Points::identify`]).
    pub id: u64,
    /// The awaited expression as written.
    pub text: String,
    /// The name it is pinned to, if any.
    pub pinned: Option<String>,
    /// Where it is and what it awaits, for an identity by rank.
    path: String,
    key: String,
    rank: u32,
}

/// The pin of the statement being lowered.
struct Pin {
    name: LitStr,
    awaits: usize,
}

#[derive(Default)]
pub struct Points {
    /// The lowered constructs around the code being lowered, outermost first.
    path: Vec<String>,
    ranks: Ranks,
    /// Temporaries named so far, by what they hold and where.
    temporaries: Ranks,
    pin: Option<Pin>,
    /// Pinned names, with where each was pinned.
    pinned: HashMap<String, Span>,
}

impl Points {
    /// Enters a construct around later awaits (`then`, `else`, `arm:<pattern>`, `loop`).
    pub fn enter(&mut self, construct: String) {
        self.path.push(construct);
    }

    pub fn leave(&mut self) {
        self.path.pop();
    }

    /// The name of the next temporary holding `content` (see [`identity::temporary`]).
    pub fn temporary(&mut self, prefix: &str, content: TokenStream) -> String {
        let path = self.path.join("/");
        let key = identity::normalized(content);
        let rank = self.temporaries.next(&path, &format!("{prefix};{key}"));
        identity::temporary(prefix, &path, &key, rank)
    }

    /// The next `.await`, of `expr`.
    pub fn site(&mut self, expr: &TokenStream) -> PointSite {
        let path = self.path.join("/");
        let key = identity::normalized(expr.clone());
        let (id, pinned, rank) = match &mut self.pin {
            Some(pin) => {
                pin.awaits += 1;
                let name = pin.name.value();
                (identity::pinned(&name), Some(name), 0)
            }
            None => (0, None, self.ranks.next(&path, &key)),
        };
        PointSite {
            id,
            text: crate::display::one_line(expr),
            pinned,
            path,
            key,
            rank,
        }
    }

    /// Gives an unpinned `site` its identity, once every await of the body is counted.
    pub fn identify(&self, site: &mut PointSite) {
        if site.pinned.is_none() {
            let count = self.ranks.count(&site.path, &site.key);
            site.id = identity::ranked(&site.path, &site.key, site.rank, count);
        }
    }

    /// Starts a statement pinned to `name`.
    pub fn pin(&mut self, name: LitStr) -> syn::Result<()> {
        let value = name.value();
        if self.pin.is_some() {
            return Err(syn::Error::new(
                name.span(),
                "this statement is inside another pinned one: pin one `.await` per statement",
            ));
        }
        if let Some(first) = self.pinned.get(&value) {
            let mut e = syn::Error::new(
                name.span(),
                format!("resume point `{value}` is named twice in this orchestrator"),
            );
            e.combine(syn::Error::new(*first, "first named here"));
            return Err(e);
        }
        self.pinned.insert(value, name.span());
        self.pin = Some(Pin { name, awaits: 0 });
        Ok(())
    }

    /// Ends the pinned statement: it must have had exactly one `.await`.
    pub fn unpin(&mut self) -> syn::Result<()> {
        let Some(pin) = self.pin.take() else {
            return Ok(());
        };
        match pin.awaits {
            1 => Ok(()),
            0 => Err(syn::Error::new(
                pin.name.span(),
                "`#[point]` names the `.await` of its statement, and this statement has none",
            )),
            n => Err(syn::Error::new(
                pin.name.span(),
                format!(
                    "`#[point]` names one `.await`, and this statement has {n}; \
                     split it so that each pinned statement awaits once"
                ),
            )),
        }
    }

    /// Whether `name` is pinned somewhere in the body.
    pub fn is_pinned(&self, name: &str) -> bool {
        self.pinned.contains_key(name)
    }
}

/// Removes a `#[point("name")]` from `attrs` and returns its name.
pub fn take_pin(attrs: &mut Vec<Attribute>) -> syn::Result<Option<LitStr>> {
    let Some(i) = attrs.iter().position(|a| a.path().is_ident("point")) else {
        return Ok(None);
    };
    let attr = attrs.remove(i);
    if let Some(again) = attrs.iter().find(|a| a.path().is_ident("point")) {
        return Err(syn::Error::new(
            again.span(),
            "a statement takes one `#[point]`",
        ));
    }
    let name: LitStr = attr.parse_args().map_err(|_| {
        syn::Error::new(
            attr.span(),
            "`#[point]` takes the point's name as a string: `#[point(\"approval\")]`",
        )
    })?;
    if name.value().is_empty() {
        return Err(syn::Error::new(
            name.span(),
            "a point's name must not be empty",
        ));
    }
    Ok(Some(name))
}

/// The attributes of an expression statement a pin may be written on.
pub fn expr_attrs(e: &mut Expr) -> Option<&mut Vec<Attribute>> {
    match e {
        Expr::Await(e) => Some(&mut e.attrs),
        Expr::Try(e) => Some(&mut e.attrs),
        Expr::Assign(e) => Some(&mut e.attrs),
        Expr::MethodCall(e) => Some(&mut e.attrs),
        Expr::Call(e) => Some(&mut e.attrs),
        _ => None,
    }
}

/// The file `span` is in, as inspection shows it: as cargo names it to the compiler
/// (relative to the workspace), or relative to the compiler's working directory when
/// it is given whole, so that it does not depend on where a checkout is.
pub fn source_file(span: Span) -> String {
    // outside a macro expansion (unit tests) spans know no file
    if !proc_macro::is_available() {
        return String::new();
    }
    let file = span.unwrap().file();
    let path = Path::new(&file);
    if !path.is_absolute() {
        return tidied(path);
    }
    std::env::current_dir()
        .ok()
        .and_then(|cwd| relative(path, &cwd))
        .unwrap_or(file)
}

/// A relative `path` without the `dir/..` detours of a `#[path]` include
/// (`tests/../examples/x.rs` is `examples/x.rs`).
fn tidied(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        let part = part.as_os_str().to_string_lossy().into_owned();
        match part.as_str() {
            "." => {}
            ".." if parts.last().is_some_and(|p| p != "..") => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// `path` relative to `base`, both absolute.
fn relative(path: &Path, base: &Path) -> Option<String> {
    let (path, base): (Vec<_>, Vec<_>) = (path.components().collect(), base.components().collect());
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let up = std::iter::repeat_n("..".to_owned(), base.len() - common);
    let down = path[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    Some(up.chain(down).collect::<Vec<_>>().join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_files_are_shown_without_detours_or_the_checkout_path() {
        let tidy = |p: &str| tidied(Path::new(p));
        assert_eq!(tidy("tests/../examples/x.rs"), "examples/x.rs");
        assert_eq!(tidy("./src/lib.rs"), "src/lib.rs");
        assert_eq!(tidy("../up/x.rs"), "../up/x.rs");
        let from = |p: &str, base: &str| relative(Path::new(p), Path::new(base));
        assert_eq!(
            from(
                "/work/repo/tests/expand/a.rs",
                "/work/repo/target/tests/t/h"
            ),
            Some("../../../../tests/expand/a.rs".to_owned())
        );
    }
}
