//! Where a scan's memory goes, without Postgres: every mock transaction read through
//! [`Scan`] (requests in flight on the fan-out's threads, windows when asked), the rows
//! dropped; then the process's peak RSS and threads, and with `MALLOC_STATS=1` glibc's
//! per-arena report on stderr (`grep -c ^Arena`: how many malloc arenas the threads used).
//!
//! Usage: `scan_memory <api_url> <max_concurrency> <windows: 0 or 1>`, e.g. against
//! `partnerstack-mock --port 0 --rate-limit 0 --size transactions=1000000`.

use partnerstack_api::client::{Client, ClientConfig};
use partnerstack_api::{catalogue, pushdown, scan::Scan};

/// A field of `/proc/self/status` (`VmHWM:` is the peak RSS).
fn status(field: &str) -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_owned())
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: scan_memory <api_url> <max_concurrency> <windows: 0 or 1>");
        std::process::exit(2);
    }
    let mut config = ClientConfig::new(&args[1], "pk_test_mock", "sk_test_mock");
    config.max_requests_per_minute = 0;
    let client = Client::new(config).unwrap();
    let concurrency: usize = args[2].parse().unwrap();
    let windows = args[3] == "1";
    let resource = catalogue::resource("transactions").unwrap();
    let requests = pushdown::plan_requests(resource, &[]).unwrap();
    let mut scan = Scan::concurrent(requests, 250, concurrency, windows);
    let started = std::time::Instant::now();
    let mut rows = 0u64;
    while let Some(_item) = scan.next_item(&client).unwrap() {
        rows += 1;
    }
    let (streams, requests) = (scan.stats.streams, scan.stats.requests);
    println!(
        "rows={rows} concurrency={concurrency} windows={windows} seconds={:.2} streams={} requests={} VmHWM={} VmRSS={} threads={}",
        started.elapsed().as_secs_f64(),
        streams,
        requests,
        status("VmHWM:"),
        status("VmRSS:"),
        status("Threads:")
    );
    drop(scan);
    // The fan-out's threads are joined with the scan: only the HTTP client's remain.
    println!("threads_after_scan={}", status("Threads:"));
    if std::env::var_os("MALLOC_STATS").is_some() {
        // SAFETY: glibc's own report on stderr; no arguments, no state of ours.
        unsafe { libc::malloc_stats() };
    }
}
