//! The CAVE token: where it comes from (docs/WIRE.md, "Token discovery") and how it is kept out of every message.
//! Shared by `cave fetch` and the `cave-runtime` client; no network code here.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The environment variable read when no `--token` is given.
pub const TOKEN_ENV: &str = "CAVE_TOKEN";

/// A CAVE auth token. It is never shown: `Debug` prints `Token(<redacted>)` and there is no
/// `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token from its text; `None` when the text is empty or only whitespace.
    pub fn new(text: &str) -> Option<Token> {
        let text = text.trim();
        (!text.is_empty()).then(|| Token(text.to_string()))
    }

    /// The secret itself, for request headers. Never print it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A caveclient token file exists but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token file {}: {message}", file.display())]
pub struct TokenFileError {
    /// The file.
    pub file: PathBuf,
    /// What is wrong (never its content).
    pub message: String,
}

/// Where a token was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// Given explicitly (`--token`, `ClientBuilder::token`).
    Argument,
    /// The `CAVE_TOKEN` environment variable.
    Environment,
    /// A caveclient token file.
    File(PathBuf),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Argument => f.write_str("--token"),
            TokenSource::Environment => f.write_str(TOKEN_ENV),
            TokenSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A token and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundToken {
    /// The token.
    pub token: Token,
    /// Where it was found.
    pub source: TokenSource,
}

/// Find the token to send, in this order: `explicit` (`--token`), `env` (the value of
/// `CAVE_TOKEN`), then caveclient's token files under `home` (docs/WIRE.md, "Token discovery"):
/// `~/.cloudvolume/secrets/<netloc>-cave-secret.json` for the global `server` if it exists,
/// else `cave-secret.json`; when that file lacks the `token` key (or is missing),
/// `chunkedgraph-secret.json`. Empty values count as absent. `home` is a parameter so that
/// tests never read the real home folder; `None` skips the files.
pub fn find_token(
    explicit: Option<&str>,
    env: Option<&str>,
    home: Option<&Path>,
    server: &str,
) -> Result<Option<FoundToken>, TokenFileError> {
    if let Some(token) = explicit.and_then(Token::new) {
        return Ok(Some(FoundToken {
            token,
            source: TokenSource::Argument,
        }));
    }
    if let Some(token) = env.and_then(Token::new) {
        return Ok(Some(FoundToken {
            token,
            source: TokenSource::Environment,
        }));
    }
    let Some(home) = home else {
        return Ok(None);
    };
    let secrets = secrets_dir(home);
    let server_file = secrets.join(format!("{}-cave-secret.json", netloc(server)));
    let first = if server_file.is_file() {
        server_file
    } else {
        secrets.join("cave-secret.json")
    };
    for file in [first, secrets.join("chunkedgraph-secret.json")] {
        if let Some(token) = read_token_file(&file)? {
            return Ok(Some(FoundToken {
                token,
                source: TokenSource::File(file),
            }));
        }
    }
    Ok(None)
}

/// `~/.cloudvolume/secrets`.
pub fn secrets_dir(home: &Path) -> PathBuf {
    home.join(".cloudvolume").join("secrets")
}

/// The host of a server address, with `:port` when it has one (`https://` is assumed when the
/// address has no scheme), as caveclient names token files.
pub fn netloc(server: &str) -> &str {
    let rest = server.split_once("://").map_or(server, |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// The `token` of a JSON token file; `None` when the file or the key is missing.
fn read_token_file(file: &Path) -> Result<Option<Token>, TokenFileError> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(TokenFileError {
                file: file.to_path_buf(),
                message: format!("cannot read it: {e}"),
            });
        }
    };
    // The parse error would quote the file's text, which is the secret: say only where.
    let value: Value = serde_json::from_str(&text).map_err(|e| TokenFileError {
        file: file.to_path_buf(),
        message: format!(
            "expected a JSON object like {{\"token\": \"...\"}}, but it is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    })?;
    match value.get("token") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Token::new(s)),
        Some(_) => Err(TokenFileError {
            file: file.to_path_buf(),
            message: "expected `token` to be a string".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netloc_keeps_the_port_and_drops_the_path() {
        assert_eq!(netloc("https://global.daf-apis.com"), "global.daf-apis.com");
        assert_eq!(netloc("http://127.0.0.1:8080/info"), "127.0.0.1:8080");
        assert_eq!(netloc("global.daf-apis.com/"), "global.daf-apis.com");
    }

    #[test]
    fn debug_hides_the_secret() {
        let t = Token::new(" abc123 ").unwrap();
        assert_eq!(t.secret(), "abc123");
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert!(Token::new("  ").is_none());
    }
}
