//! Resident set size of this process (`VmRSS` in `/proc/self/status`). The server runs in
//! this process, so the figure is the server's plus the load generator's: an upper bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

/// The current resident set size in KiB, where `/proc` tells it.
pub fn kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the resident set size every 100 ms until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: JoinHandle<(u64, u64)>,
}

/// Peak and mean resident set size over a sampled stretch, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub peak: u64,
    pub mean: u64,
}

impl Sampler {
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let (mut peak, mut sum, mut n) = (0u64, 0u64, 0u64);
            while !flag.load(Ordering::Relaxed) {
                if let Some(now) = kib() {
                    peak = peak.max(now);
                    sum += now;
                    n += 1;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (peak, sum.checked_div(n).unwrap_or(0))
        });
        Self { stop, task }
    }

    pub async fn stop(self) -> Usage {
        self.stop.store(true, Ordering::Relaxed);
        let (peak, mean) = self.task.await.unwrap_or_default();
        Usage { peak, mean }
    }
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_kib() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t   23456 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(23456));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }
}
