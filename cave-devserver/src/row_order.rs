//! The order a query's rows come back in. The real server builds its queries with no
//! `ORDER BY` (docs/WIRE.md, "Row cap and paging"), so PostgreSQL may answer the same query in
//! a different order each time; `--row-order random` makes this server do so, drawing a new
//! order for every query, so that a client relying on a stable order fails here too.

use std::fmt;
use std::str::FromStr;

/// How the rows of an answer are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowOrder {
    /// The stored order, the same for every request (the default).
    #[default]
    Stored,
    /// A new order per query, drawn from this seed and the number of the query: the same
    /// seed and requests give the same orders.
    Random {
        /// The seed of the draws.
        seed: u64,
    },
}

impl RowOrder {
    /// The seed of the order of query number `n`, or `None` for the stored order.
    pub fn seed_for(self, n: u64) -> Option<u64> {
        match self {
            RowOrder::Stored => None,
            RowOrder::Random { seed } => Some(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }
    }
}

impl FromStr for RowOrder {
    type Err = String;

    /// `stored`, `random` (seed 1) or `random:SEED`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "stored" => Ok(RowOrder::Stored),
            None if s == "random" => Ok(RowOrder::Random { seed: 1 }),
            Some(("random", seed)) => seed
                .parse()
                .map(|seed| RowOrder::Random { seed })
                .map_err(|_| format!("row order `{s}`: the seed `{seed}` is not a u64")),
            _ => Err(format!(
                "row order `{s}`: expected `stored`, `random` or `random:SEED`"
            )),
        }
    }
}

impl fmt::Display for RowOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowOrder::Stored => f.write_str("stored"),
            RowOrder::Random { seed } => write!(f, "random:{seed}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!("stored".parse(), Ok(RowOrder::Stored));
        assert_eq!("random".parse(), Ok(RowOrder::Random { seed: 1 }));
        assert_eq!("random:42".parse(), Ok(RowOrder::Random { seed: 42 }));
        assert!("random:x".parse::<RowOrder>().unwrap_err().contains("`x`"));
        assert!("sorted".parse::<RowOrder>().is_err());
        assert_eq!(RowOrder::Random { seed: 42 }.to_string(), "random:42");
        let r = RowOrder::Random { seed: 7 };
        assert_ne!(r.seed_for(0), r.seed_for(1));
        assert_eq!(RowOrder::Stored.seed_for(3), None);
    }
}
