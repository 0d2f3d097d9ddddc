//! The benchmark's ceiling: the simplest client that reads a whole list, page by page.
//!
//! A loop of HTTP GETs (same HTTP stack as the extension) and full JSON parsing of each page,
//! following `starting_after` until `has_more` is false. Nothing else: no mapping, no Postgres.
//!
//! Usage: `ceiling <api_url> <path> <public_key> <private_key> [page_size]`
//! Prints `items=N requests=N seconds=S items_per_second=R`.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: ceiling <api_url> <path> <public_key> <private_key> [page_size]");
        std::process::exit(2);
    }
    let (api_url, path, public_key, private_key) = (&args[1], &args[2], &args[3], &args[4]);
    let page_size: u32 = args.get(5).map_or(250, |s| s.parse().expect("page_size"));
    let http = reqwest::blocking::Client::new();
    let started = Instant::now();
    let (mut items, mut requests) = (0u64, 0u64);
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{api_url}{path}?limit={page_size}");
        if let Some(key) = &after {
            let key =
                percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC);
            url.push_str(&format!("&starting_after={key}"));
        }
        let body = http
            .get(&url)
            .basic_auth(public_key, Some(private_key))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.bytes())
            .expect("GET succeeds");
        requests += 1;
        let page: serde_json::Value = serde_json::from_slice(&body).expect("page is JSON");
        let list = page["data"]["items"].as_array().expect("data.items");
        items += list.len() as u64;
        if page["data"]["has_more"] != serde_json::Value::Bool(true) || list.is_empty() {
            break;
        }
        after = list
            .last()
            .and_then(|i| i["key"].as_str())
            .map(str::to_owned);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "items={items} requests={requests} seconds={seconds:.3} items_per_second={:.0}",
        items as f64 / seconds
    );
}
