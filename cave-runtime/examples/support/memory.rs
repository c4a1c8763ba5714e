//! This process's memory, for the benchmark examples (Linux `/proc/self/status`).

/// A memory figure of this process in MiB: `VmRSS:` (now) or `VmHWM:` (the peak); `None`
/// where `/proc` does not say.
pub fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
