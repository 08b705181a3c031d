//! An awaited expression as people read it, on one line: in inspection, the dashboard,
//! the CLI and errors. `TokenStream`'s own printing spaces every token
//! (`ctx.event::< u32 > ("code")`); this prints it the way rustfmt would write it on one
//! line, for the shapes awaited expressions take (calls, method chains, paths with
//! turbofish, macros, closures, operators).

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// `tokens` on one line.
pub fn one_line(tokens: &TokenStream) -> String {
    let mut out = String::new();
    write(tokens, &mut out);
    out
}

/// What the previous token was, for deciding whether a space goes before the next.
#[derive(Clone, Copy, PartialEq)]
enum Prev {
    Start,
    /// An identifier, literal or closed group: a call or index may follow directly.
    Operand,
    /// `.`, `::`, a macro's `!`, a unary operator, an opening `<` or `|`: nothing
    /// follows it after a space.
    Tight,
    /// A binary operator, `,`, `;` or `:`: a space follows.
    Spaced,
}

fn write(tokens: &TokenStream, out: &mut String) {
    let mut prev = Prev::Start;
    // generic arguments opened by `::<`, not yet closed
    let mut generics = 0usize;
    // between a closure's `|` and its closing `|`
    let mut closure_params = false;
    let mut iter = tokens.clone().into_iter().peekable();
    while let Some(token) = iter.next() {
        let punct = match token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace if group.stream().is_empty() => ("{", "}"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                let call = group.delimiter() != Delimiter::Brace && prev == Prev::Operand;
                if !call && !matches!(prev, Prev::Start | Prev::Tight) {
                    out.push(' ');
                }
                out.push_str(open);
                write(&group.stream(), out);
                out.push_str(close);
                prev = Prev::Operand;
                continue;
            }
            TokenTree::Ident(_) | TokenTree::Literal(_) => {
                if matches!(prev, Prev::Operand | Prev::Spaced) {
                    out.push(' ');
                }
                out.push_str(&token.to_string());
                prev = Prev::Operand;
                continue;
            }
            TokenTree::Punct(punct) => punct,
        };
        // a whole operator: `::`, `==`, `&&`, `->`, `..=`
        let mut op = String::from(punct.as_char());
        let mut spacing = punct.spacing();
        // `::` ends at its second colon, so that `::<` opens generic arguments
        while spacing == Spacing::Joint && op != "::" && op != "'" {
            match iter.peek() {
                Some(TokenTree::Punct(next)) => {
                    op.push(next.as_char());
                    spacing = next.spacing();
                    iter.next();
                }
                _ => break,
            }
        }
        let next_is_lt = matches!(iter.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '<');
        let opening =
            matches!(prev, Prev::Start | Prev::Spaced | Prev::Tight) || out.ends_with("move");
        let (space_before, after) = match op.as_str() {
            "." | ".." | "..=" => (false, Prev::Tight),
            "::" => {
                generics += usize::from(next_is_lt);
                (false, Prev::Tight)
            }
            // `::<` (counted at the `::`) or a nested `Option<u32>` inside it
            "<" if generics > 0 => {
                if !out.ends_with("::") {
                    generics += 1;
                }
                (false, Prev::Tight)
            }
            // a lifetime: `&'a str`
            "'" => {
                let spaced = prev == Prev::Spaced && !out.ends_with('&');
                (prev == Prev::Operand || spaced, Prev::Tight)
            }
            closing if generics > 0 && closing.chars().all(|c| c == '>') => {
                generics = generics.saturating_sub(closing.len());
                (false, Prev::Operand)
            }
            "," | ";" | ":" => (false, Prev::Spaced),
            "?" => (false, Prev::Operand),
            "!" if prev == Prev::Operand => (false, Prev::Tight),
            "|" | "||" if opening && !closure_params => {
                closure_params = op == "|";
                let after = if closure_params {
                    Prev::Tight
                } else {
                    Prev::Spaced
                };
                (prev != Prev::Start && prev != Prev::Tight, after)
            }
            "|" if closure_params => {
                closure_params = false;
                (false, Prev::Spaced)
            }
            "&" | "&&" | "*" | "-" | "!" if opening => {
                (!matches!(prev, Prev::Start | Prev::Tight), Prev::Tight)
            }
            _ => (prev != Prev::Start, Prev::Spaced),
        };
        if space_before {
            out.push(' ');
        }
        out.push_str(&op);
        prev = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn awaited_expressions_print_as_written() {
        let cases = [
            (
                quote!(ctx.event::<u32>("code")),
                r#"ctx.event::<u32>("code")"#,
            ),
            (
                quote!(select(ctx.timer(timeout), ctx.event::<u32>("code"))),
                r#"select(ctx.timer(timeout), ctx.event::<u32>("code"))"#,
            ),
            (
                quote!(durable::join(ctx.call(a, x.clone()), ctx.call(b, &y))),
                "durable::join(ctx.call(a, x.clone()), ctx.call(b, &y))",
            ),
            (
                quote!(join_all(items.iter().map(|i| ctx.call(double, *i)))),
                "join_all(items.iter().map(|i| ctx.call(double, *i)))",
            ),
            (
                quote!(ctx.call(add, (a + 1, b[0] * 2)).with_retry(policy)),
                "ctx.call(add, (a + 1, b[0] * 2)).with_retry(policy)",
            ),
            (
                quote!(ctx.timer(Duration::from_secs(n as u64 * 60))),
                "ctx.timer(Duration::from_secs(n as u64 * 60))",
            ),
            (
                quote!(helper(&ctx, vec![1, 2], -x)),
                "helper(&ctx, vec![1, 2], -x)",
            ),
            (quote!(set.next()), "set.next()"),
            (
                quote!(ctx.event::<Option<Vec<u32>>>("x")),
                r#"ctx.event::<Option<Vec<u32>>>("x")"#,
            ),
            (
                quote!(join_all(v.iter().map(move |i| ctx.call(f, *i)))),
                "join_all(v.iter().map(move |i| ctx.call(f, *i)))",
            ),
            (
                quote!(helper(&ctx, x as &'static str, {})),
                "helper(&ctx, x as &'static str, {})",
            ),
            (
                quote!(ctx.call(f, a == b && !c)),
                "ctx.call(f, a == b && !c)",
            ),
        ];
        for (tokens, expected) in cases {
            assert_eq!(one_line(&tokens), expected);
        }
    }
}
