//! Timestamps as the chunkedgraph reads and writes them: float Unix seconds (docs/WIRE.md,
//! "Chunkedgraph"). caveclient sends `repr(datetime.timestamp())` (`1736763001.286229`,
//! `946684800.0`) and reads answers with `datetime.fromtimestamp(ts, UTC)`; both are copied
//! here exactly.

use chrono::{DateTime, Utc};

/// `t` as caveclient writes it in a query string: Python's `repr(t.timestamp())`.
///
/// Python's `timestamp()` of an aware datetime is its total microseconds since the epoch
/// divided by 10^6 (an exact integer division rounded once), which is what `f64` division of
/// the two (both exact below 2^53 µs, about 285 years from 1970) gives too; `repr` is the
/// shortest text that reads back as the same float, with `.0` when it is whole. Python's
/// datetimes have no nanoseconds: the ones of `t` are dropped (rounded down).
pub(crate) fn python_timestamp(t: DateTime<Utc>) -> String {
    crate::pyjson::float_repr(t.timestamp_micros() as f64 / 1e6)
}

/// Float Unix seconds from an answer as a UTC time, as Python's `datetime.fromtimestamp`
/// reads them: the fraction rounded to microseconds, half to even. `None` for a value no time
/// can hold (NaN, infinite, out of range).
pub(crate) fn from_unix_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() {
        return None;
    }
    // CPython's `_PyTime_ObjectToTimeval`: split, round the fraction, carry.
    let mut whole = seconds.trunc();
    let mut micros = ((seconds - whole) * 1e6).round_ties_even();
    if micros >= 1e6 {
        micros -= 1e6;
        whole += 1.0;
    } else if micros < 0.0 {
        micros += 1e6;
        whole -= 1.0;
    }
    if whole.abs() > 1e15 {
        return None;
    }
    DateTime::from_timestamp(whole as i64, (micros as u32) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn timestamps_are_written_like_pythons_repr_of_timestamp() {
        // Each value is Python 3.11's `repr(datetime.fromisoformat(s).timestamp())`.
        for (text, want) in [
            ("2000-01-01T00:00:00Z", "946684800.0"),
            ("2025-01-13T10:10:01.286229Z", "1736763001.286229"),
            ("2025-01-13T10:10:01.000001Z", "1736763001.000001"),
            ("2025-01-13T10:10:01.100000Z", "1736763001.1"),
            ("2025-01-13T10:10:01.999999Z", "1736763001.999999"),
            ("2024-06-12T10:10:01.5Z", "1718187001.5"),
            ("2023-04-20T00:00:00.000010Z", "1681948800.00001"),
            ("1970-01-01T00:00:00Z", "0.0"),
            ("1970-01-01T00:00:00.000001Z", "1e-06"),
            ("1969-12-31T23:59:59.5Z", "-0.5"),
            ("2020-06-01T00:00:00Z", "1590969600.0"),
        ] {
            assert_eq!(python_timestamp(at(text)), want, "{text}");
        }
    }

    #[test]
    fn nanoseconds_are_dropped_as_python_has_none() {
        let t = Utc.timestamp_opt(1736763001, 286_229_999).unwrap();
        assert_eq!(python_timestamp(t), "1736763001.286229");
    }

    #[test]
    fn answers_read_like_pythons_fromtimestamp() {
        let t = from_unix_seconds(1736763001.286229).unwrap();
        assert_eq!(t, at("2025-01-13T10:10:01.286229Z"));
        assert_eq!(python_timestamp(t), "1736763001.286229");
        assert_eq!(
            from_unix_seconds(946684800.0).unwrap(),
            at("2000-01-01T00:00:00Z")
        );
        // 0.9999995 s rounds up into the next second.
        assert_eq!(
            from_unix_seconds(10.9999996).unwrap(),
            at("1970-01-01T00:00:11Z")
        );
        assert_eq!(
            from_unix_seconds(-0.5).unwrap(),
            at("1969-12-31T23:59:59.5Z")
        );
        assert!(from_unix_seconds(f64::NAN).is_none());
        assert!(from_unix_seconds(f64::INFINITY).is_none());
        assert!(from_unix_seconds(1e300).is_none());
    }

    #[test]
    fn a_written_timestamp_reads_back_as_the_same_time() {
        for micros in [
            0i64,
            1,
            999_999,
            1_736_763_001_286_229,
            946_684_800_000_000,
            -1,
        ] {
            let t = DateTime::from_timestamp_micros(micros).unwrap();
            let text = python_timestamp(t);
            assert_eq!(from_unix_seconds(text.parse().unwrap()), Some(t), "{text}");
        }
    }
}
