//! The progress line on stderr: `fetch: versions 13/13, tables metadata, unique values 5/14,
//! types`, rewritten in place on a terminal, one plain line per finished stage otherwise.

use std::io::{IsTerminal, Write};

/// Where progress goes.
#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    done: Vec<String>,
    current: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Silent,
    Terminal,
    Lines,
}

impl Progress {
    /// Progress on stderr: a rewritten line on a terminal, plain lines otherwise.
    pub fn stderr() -> Self {
        let mode = if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Lines
        };
        Progress {
            mode,
            done: Vec::new(),
            current: None,
        }
    }

    /// No progress output (library use, tests).
    pub fn silent() -> Self {
        Progress {
            mode: Mode::Silent,
            done: Vec::new(),
            current: None,
        }
    }

    /// A stage is under way, e.g. `versions 3/13`.
    pub fn working(&mut self, stage: impl Into<String>) {
        self.current = Some(stage.into());
        if self.mode == Mode::Terminal {
            self.draw();
        }
    }

    /// The current stage, as last described by `working` (or `stage` itself), is finished.
    pub fn finished(&mut self, stage: impl Into<String>) {
        let stage = stage.into();
        self.current = None;
        match self.mode {
            Mode::Silent => {}
            Mode::Terminal => {
                self.done.push(stage);
                self.draw();
            }
            Mode::Lines => {
                eprintln!("fetch: {stage}");
                self.done.push(stage);
            }
        }
    }

    /// End the line (on a terminal), so that later output starts on a fresh one.
    pub fn end(&mut self) {
        if self.mode == Mode::Terminal && (!self.done.is_empty() || self.current.is_some()) {
            eprintln!();
        }
        self.done.clear();
        self.current = None;
    }

    fn draw(&self) {
        let mut parts: Vec<&str> = self.done.iter().map(String::as_str).collect();
        parts.extend(self.current.as_deref());
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[Kfetch: {}", parts.join(", "));
        let _ = stderr.flush();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.end();
    }
}
