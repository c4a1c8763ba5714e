//! Text and names that come from a server, made safe before they reach a user or the disk.
//!
//! A server may put anything in an error message, a header, a column name or a type name:
//! terminal escape codes (which would act on the user's terminal when an error is printed),
//! Unicode bidirectional overrides (which make printed text read other than it is), the very
//! token it was sent (which must never show in an error, a log or a bug report), or a path
//! (`../../x`, `/etc/x`). [`Redactor::clean`] gives text fit to show; [`check_file_name`]
//! refuses names unfit to become a file.

use std::borrow::Cow;
use std::fmt::Write;

/// What a token is shown as when a server echoes it.
pub const REDACTED: &str = "<token>";

/// Replaces a secret in server text and escapes what a terminal would act on. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    secret: Option<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(..)")
    }
}

impl Redactor {
    /// A redactor of `secret` (none: only escaping). Secrets shorter than 8 characters are not
    /// replaced: real tokens are 32 hex digits, and replacing a letter or two would garble text.
    pub fn new(secret: Option<&str>) -> Self {
        Redactor {
            secret: secret.filter(|s| s.len() >= 8).map(str::to_string),
        }
    }

    /// `text` with the secret replaced by [`REDACTED`] and control and bidi characters escaped
    /// ([`printable`]).
    pub fn clean(&self, text: &str) -> String {
        printable(&self.redact(text)).into_owned()
    }

    /// `text` with the secret replaced by [`REDACTED`], nothing else changed (for data: JSON
    /// values, where escaping is the printer's business).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.secret {
            Some(s) if text.contains(s.as_str()) => Cow::Owned(text.replace(s.as_str(), REDACTED)),
            _ => Cow::Borrowed(text),
        }
    }

    /// The secret replaced in every string of a JSON value (keys included).
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        if self.secret.is_none() {
            return;
        }
        match value {
            serde_json::Value::String(s) => {
                if let Cow::Owned(r) = self.redact(s) {
                    *s = r;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut v) in entries {
                    self.redact_json(&mut v);
                    map.insert(self.redact(&k).into_owned(), v);
                }
            }
            _ => {}
        }
    }

    /// The start of a body for a message: redacted first (so that a cut never leaves half a
    /// token), escaped, whitespace runs made single spaces, at most `max` characters.
    pub fn excerpt(&self, body: &[u8], max: usize) -> String {
        let text = String::from_utf8_lossy(&body[..body.len().min(max * 4 + 1024)]);
        let redacted = self.redact(&text);
        let flat: String = redacted.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.is_empty() {
            return "an empty body".to_string();
        }
        let cut = match flat.char_indices().nth(max) {
            Some((i, _)) => format!("{}…", &flat[..i]),
            None => flat,
        };
        format!("`{}`", printable(&cut))
    }
}

/// Whether a character would act on a terminal or reorder printed text: C0 and C1 controls
/// (escape codes), and Unicode's bidirectional embeddings, overrides and isolates.
fn is_unprintable(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with control and bidi characters written as Rust escapes (`\u{1b}`); newlines and
/// tabs are kept. Text without them comes back borrowed.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unprintable(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The characters a schema type name may have to become a file name: ASCII letters, digits,
/// `_` and `-` (every type of the schema service is such; at most 200 of them).
pub fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an empty name".to_string());
    }
    if name.len() > 200 {
        return Err(format!("a name of {} bytes (at most 200)", name.len()));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        None => Ok(()),
        Some(c) => Err(format!(
            "`{}` has the character `{}`; names that become file names may have only ASCII \
             letters, digits, `_` and `-` (no path separators, no `..`)",
            printable(name),
            c.escape_debug()
        )),
    }
}

/// The host of an `http(s)://` URL (userinfo and port left out, IPv6 without brackets).
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next();
    }
    host_port.split(':').next()
}

/// Whether `url`'s host is this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback_url(url: &str) -> bool {
    match host_of(url) {
        Some(h) if h.eq_ignore_ascii_case("localhost") => true,
        Some(h) => h
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// Whether the token may be sent to `url` (the `what` of a message, e.g. `server`): over
/// `https://`; over plain `http://` only with `insecure_ok`, or to this machine with
/// `loopback_ok`. Anything else a URL does not have a token's business.
pub fn check_transport(
    what: &str,
    url: &str,
    insecure_ok: bool,
    loopback_ok: bool,
) -> Result<(), String> {
    let shown = printable(url);
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if host_of(url).is_none_or(str::is_empty) {
        return Err(format!(
            "the {what} `{shown}` is not an http:// or https:// URL with a host"
        ));
    }
    match scheme.as_deref() {
        Some("https") => Ok(()),
        Some("http") if insecure_ok || (loopback_ok && is_loopback_url(url)) => Ok(()),
        Some("http") => Err(format!(
            "the {what} `{shown}` is plain http to another machine: the token would travel \
             unencrypted; only https is accepted there (allow_insecure_http, or \
             --allow-insecure-http, allows it)"
        )),
        _ => Err(format!(
            "the {what} `{shown}` is not an http:// or https:// URL"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_codes_and_bidi_overrides_are_escaped() {
        assert_eq!(
            printable("a\u{1b}[2Jb\u{7}c\u{202e}d\ne\tf"),
            "a\\u{1b}[2Jb\\u{7}c\\u{202e}d\ne\tf"
        );
        assert!(matches!(printable("plain ünïcödé ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_secret_is_replaced_before_a_cut() {
        let r = Redactor::new(Some("0123456789abcdef"));
        let body = format!("{}0123456789abcdef tail", "x".repeat(10));
        // A cut at 15 characters would leave `01234` of the token without redacting first.
        assert_eq!(r.excerpt(body.as_bytes(), 15), "`xxxxxxxxxx<toke…`");
        assert_eq!(r.clean("a 0123456789abcdef \u{1b}"), "a <token> \\u{1b}");
        let mut v = serde_json::json!({"0123456789abcdef": ["x0123456789abcdefy", 1]});
        r.redact_json(&mut v);
        assert_eq!(v, serde_json::json!({"<token>": ["x<token>y", 1]}));
        // Short secrets are not replaced.
        assert_eq!(Redactor::new(Some("ab")).clean("abc"), "abc");
    }

    #[test]
    fn the_token_goes_over_https_or_to_this_machine() {
        for url in [
            "http://localhost:8080/x",
            "http://127.0.0.1",
            "http://127.9.9.9:1",
            "http://[::1]:9/a",
            "http://LOCALHOST",
        ] {
            assert!(is_loopback_url(url), "{url}");
            assert!(check_transport("server", url, false, true).is_ok(), "{url}");
            assert!(
                check_transport("server", url, false, false).is_err(),
                "{url}"
            );
        }
        for url in [
            "http://localhost.evil.org",
            "http://127.0.0.1.evil.org",
            "http://127.0.0.1@evil.org",
            "http://10.0.0.1",
            "http://[::2]",
        ] {
            assert!(!is_loopback_url(url), "{url}");
            let e = check_transport("server", url, false, true).unwrap_err();
            assert!(e.contains("only https"), "{e}");
            assert!(check_transport("server", url, true, false).is_ok(), "{url}");
        }
        assert!(check_transport("server", "https://global.daf-apis.com", false, false).is_ok());
        for bad in [
            "ftp://x",
            "global.daf-apis.com",
            "http://",
            "file:///etc/passwd",
        ] {
            assert!(check_transport("server", bad, true, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_names_are_plain() {
        for ok in ["synapse", "cell_type_local", "bound-tag", "V2"] {
            assert!(check_file_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "..",
            "a.b",
            "é",
            "a\u{1b}",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad}");
        }
        assert!(check_file_name(&"a".repeat(201)).is_err());
    }
}
