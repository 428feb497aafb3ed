//! The process's own figures for `/metrics`, read from `/proc` on Linux when scraped.

use std::fmt::Write as _;

use super::header;

/// CPU time and resident memory, from `/proc` (Linux); nothing where it is absent.
pub fn render(out: &mut String) {
    if let Some(secs) = std::fs::read_to_string("/proc/self/stat").ok().as_deref().and_then(cpu_seconds) {
        header(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
        let _ = writeln!(out, "process_cpu_seconds_total {secs}");
    }
    if let Some(bytes) = std::fs::read_to_string("/proc/self/status").ok().as_deref().and_then(resident_bytes) {
        header(out, "process_resident_memory_bytes", "gauge", "Resident memory, in bytes.");
        let _ = writeln!(out, "process_resident_memory_bytes {bytes}");
    }
}

/// Linux reports CPU time in clock ticks of `USER_HZ`, which is 100 on every architecture
/// it exposes to user space.
const USER_HZ: f64 = 100.0;

/// `utime + stime` of `/proc/self/stat`, in seconds. The fields are counted after the
/// command name's closing parenthesis, since the name itself may hold spaces.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11); // state is field 3; utime is 14
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// `VmRSS` of `/proc/self/status`, which the kernel gives in kB whatever the page size
/// (`/proc/self/statm` counts pages of a size only `sysconf` knows).
fn resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_past_a_command_name_with_spaces() {
        let stat = "4242 (shen bian) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 1 2 3";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(cpu_seconds("garbage"), None);
    }

    #[test]
    fn resident_memory_is_read_in_kilobytes() {
        let status = "Name:\tshenbian\nVmPeak:\t  9000 kB\nVmRSS:\t    2048 kB\n";
        assert_eq!(resident_bytes(status), Some(2 * 1024 * 1024));
        assert_eq!(resident_bytes("Name:\tx\n"), None);
    }
}
