//! Bounds on what a server can make the client do: how big an answer may be, how much its
//! Arrow buffers may expand to, how many columns and pages it may have, and how long requests
//! and queries may take. A server past a bound gets an error naming the bound and the
//! [`ClientBuilder`](crate::ClientBuilder) setting that raises it, never a process out of
//! memory or a query that never ends.

use std::time::Duration;

/// Sizes a server's answers may reach. The defaults are far above what CAVE sends (1,000,000
/// synapse rows are 60 MB as the devserver sends them, ZSTD) and far below what would take a
/// machine down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest answer to a query (one page), counted after HTTP content encodings (gzip)
    /// are undone: 2 GiB.
    pub max_page_bytes: u64,
    /// The largest JSON answer (info record, versions, metadata, counts): 16 MiB.
    pub max_json_bytes: u64,
    /// The most that one page's Arrow buffers may declare once decompressed (a ZSTD frame can
    /// expand 30,000-fold): 4 GiB.
    pub max_decoded_bytes: u64,
    /// The most columns an answer may have (CAVE tables and their joins have a few dozen):
    /// 1,024.
    pub max_columns: usize,
    /// The most requests (pages and counts) a query may send while it pages past the row
    /// cap: 10,000.
    pub max_pages: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_page_bytes: 2 << 30,
            max_json_bytes: 16 << 20,
            max_decoded_bytes: 4 << 30,
            max_columns: 1024,
            max_pages: 10_000,
        }
    }
}

/// How long the client waits. Every one is a deadline of its own; retries happen within the
/// request's deadline, not each with a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To connect (TCP and TLS): 30 s.
    pub connect: Duration,
    /// Between two reads of an answer, the wait for its first byte included: 5 minutes (the
    /// server runs the whole SQL query before it answers).
    pub idle: Duration,
    /// For a whole request, its retries and their waits included: 15 minutes.
    pub request: Duration,
    /// For all the requests of one query (every page), not counting the time the caller
    /// spends on the rows of a stream: 2 hours.
    pub query: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            idle: Duration::from_secs(300),
            request: Duration::from_secs(15 * 60),
            query: Duration::from_secs(2 * 3600),
        }
    }
}

/// A size for messages: `2 GiB`, `16 MiB`, `512 KiB`, `300 bytes`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit {
            let value = bytes as f64 / unit as f64;
            return if value.fract() == 0.0 {
                format!("{value:.0} {name}")
            } else {
                format!("{value:.1} {name}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// A duration for messages: `4 s`, `1.5 s`, `15 min`, `2 h`.
pub(crate) fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{} h", s / 3600.0)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{} min", s / 60.0)
    } else {
        format!("{} s", (s * 1000.0).round() / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_a_bound() {
        let l = Limits::default();
        assert!(l.max_page_bytes > 0 && l.max_page_bytes <= 4 << 30);
        assert!(l.max_json_bytes <= 64 << 20);
        assert!(l.max_decoded_bytes <= 8 << 30);
        let t = Timeouts::default();
        assert!(t.idle < t.request && t.request < t.query);
        assert!(t.query <= Duration::from_secs(24 * 3600));
    }

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(size(2 << 30), "2 GiB");
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(300), "300 bytes");
        assert_eq!(duration(Duration::from_secs(4)), "4 s");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(duration(Duration::from_secs(900)), "15 min");
        assert_eq!(duration(Duration::from_secs(7200)), "2 h");
    }
}
