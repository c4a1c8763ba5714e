//! Service text (descriptions, notices) made safe for rustdoc: no line can start a code block
//! (so nothing becomes a doctest), Markdown and HTML characters are shown as written, and URLs
//! become autolinks (so `rustdoc::bare_urls` stays quiet).

/// Escape `text` for a doc comment. Lines are trimmed (indentation would make a code block);
/// blank lines separate paragraphs.
pub fn escape(text: &str) -> String {
    let mut lines = Vec::new();
    for line in text.trim().lines() {
        let line = line.trim();
        let mut out = String::new();
        for (i, token) in line.split(' ').enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if let Some(url) = url_of(token) {
                out.push('<');
                out.push_str(url);
                out.push('>');
                out.push_str(&escape_chars(&token[url.len()..]));
            } else {
                out.push_str(&escape_chars(token));
            }
        }
        lines.push(out);
    }
    lines.join("\n")
}

/// The URL at the start of `token`, without trailing punctuation.
fn url_of(token: &str) -> Option<&str> {
    if !(token.starts_with("http://") || token.starts_with("https://")) {
        return None;
    }
    let end = token
        .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
        .unwrap_or(token.len());
    let url = token[..end].trim_end_matches(['.', ',', ';', ':', ')', '!', '?', '\'']);
    Some(url)
}

fn escape_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn code_blocks_and_markup_are_neutralised() {
        assert_eq!(escape("    let x = 1;"), "let x = 1;");
        assert_eq!(
            escape("```rust\nfn x() {}\n```"),
            "\\`\\`\\`rust\nfn x() {}\n\\`\\`\\`"
        );
        assert_eq!(
            escape("a <b> [c] *d* e_f"),
            "a \\<b\\> \\[c\\] \\*d\\* e\\_f"
        );
        assert_eq!(escape("\tx\n\n  y"), "x\n\ny");
    }

    #[test]
    fn urls_become_autolinks() {
        assert_eq!(
            escape("see https://example.org/a_b. Thanks"),
            "see <https://example.org/a_b>. Thanks"
        );
    }
}
