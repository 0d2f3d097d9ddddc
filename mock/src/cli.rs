//! Command-line parsing (hand-written: a dozen flags do not justify a dependency).

use crate::auth::KeyPair;
use crate::config::Options;
use crate::data::{DataUntil, Sizes};

/// Help text printed by `--help` and on usage errors.
pub const USAGE: &str = "\
partnerstack-mock: local mock of the PartnerStack Vendor API v2

USAGE: partnerstack-mock [OPTIONS]

  --port N              listen port, 0 = any free port (default 8787)
  --host ADDR           listen address (default 127.0.0.1)
  --seed N              data seed (default 42)
  --size RESOURCE=N     objects to generate; repeatable. RESOURCE is one of
                        partnerships groups customers deals leads transactions
                        rewards actions webhooks links (links = per partnership)
  --data-until today|YYYY-MM-DD
                        end the generated data's dates there instead of 2026-01-01
                        (today = the clock at start and at each reset; the same
                        data otherwise, every date moved by the same amount)
  --key PUBLIC:SECRET[:test|:live]
                        accepted vendor key pair; repeatable; replaces the defaults
                        pk_test_mock:sk_test_mock (test) and pk_live_mock:sk_live_mock
  --s2s-token TOKEN     Bearer token for POST /conversion/xid (default s2s_test_mock)
  --rate-limit N        requests per rolling 60 s per public key (default 4000, 0 = off)
  --rate-window-ms N    the rate limit's rolling window in ms (default 60000; shorter
                        for tests that scale a minute down)
  --retry-after SECS    send Retry-After on 429 answers (default: not sent)
  --retry-after-date    send Retry-After as an HTTP date (now + SECS) instead of SECS
  --latency-ms N        delay every API answer by N ms
  --accept-put          treat PUT like PATCH (default: 405)
  --clamp-limit         clamp limit into 1..=250 (default: 400)
  --no-total            leave data.total out of list answers

On start prints `listening on HOST:PORT` and serves until killed.
Control API (no auth): /__mock/requests, /__mock/config, /__mock/faults, /__mock/reset.
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Serve with these options.
    Serve(Box<Options>),
    /// Print [`USAGE`] and exit successfully.
    Help,
}

fn value<'a>(flag: &str, it: &mut impl Iterator<Item = &'a String>) -> Result<&'a str, String> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag}: {v:?} is not a valid number"))
}

/// Parses the arguments after the program name. `--flag=value` is accepted too.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut o = Options::default();
    let mut keys: Vec<KeyPair> = Vec::new();
    // Split `--flag=value` into two tokens.
    let tokens: Vec<String> = args
        .iter()
        .flat_map(|a| match a.split_once('=') {
            Some((f, v)) if a.starts_with("--") && !f.contains(' ') && f != "--size" => {
                vec![f.to_string(), v.to_string()]
            }
            _ if a.starts_with("--size=") => vec!["--size".into(), a["--size=".len()..].into()],
            _ => vec![a.clone()],
        })
        .collect();
    let mut it = tokens.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--port" => o.port = number(flag, value(flag, &mut it)?)?,
            "--host" => o.host = value(flag, &mut it)?.to_string(),
            "--seed" => o.seed = number(flag, value(flag, &mut it)?)?,
            "--size" => {
                let spec = value(flag, &mut it)?;
                let (name, n) = spec
                    .split_once('=')
                    .ok_or_else(|| format!("--size expects RESOURCE=N, got {spec:?}"))?;
                let n: usize = number("--size", n)?;
                if !o.sizes.set(name, n) {
                    return Err(format!(
                        "--size: unknown resource {name:?} (one of {})",
                        Sizes::NAMES.join(", ")
                    ));
                }
            }
            "--data-until" => o.data_until = DataUntil::parse(value(flag, &mut it)?)?,
            "--key" => keys.push(KeyPair::parse(value(flag, &mut it)?)?),
            "--s2s-token" => o.s2s_token = value(flag, &mut it)?.to_string(),
            "--rate-limit" => o.runtime.rate_limit = number(flag, value(flag, &mut it)?)?,
            "--rate-window-ms" => {
                o.runtime.rate_window_ms = number::<u64>(flag, value(flag, &mut it)?)?.max(1)
            }
            "--retry-after" => o.runtime.retry_after = Some(number(flag, value(flag, &mut it)?)?),
            "--retry-after-date" => o.runtime.retry_after_date = true,
            "--latency-ms" => o.runtime.latency_ms = number(flag, value(flag, &mut it)?)?,
            "--accept-put" => o.runtime.accept_put = true,
            "--clamp-limit" => o.runtime.clamp_limit = true,
            "--no-total" => o.runtime.omit_total = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !keys.is_empty() {
        o.keys = keys;
    }
    Ok(Command::Serve(Box::new(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn serve(s: &str) -> Options {
        match parse(&args(s)).unwrap() {
            Command::Serve(o) => *o,
            Command::Help => panic!("help"),
        }
    }

    #[test]
    fn defaults() {
        let o = serve("");
        assert_eq!(o.port, 8787);
        assert_eq!(o.host, "127.0.0.1");
        assert_eq!(o.seed, 42);
        assert_eq!(o.keys.len(), 2);
        assert_eq!(o.s2s_token, "s2s_test_mock");
        assert_eq!(o.runtime.rate_limit, 4000);
        assert_eq!(o.runtime.retry_after, None);
        assert!(!o.runtime.retry_after_date);
        assert!(!o.runtime.accept_put);
    }

    #[test]
    fn all_flags() {
        let o = serve(
            "--port 0 --host 0.0.0.0 --seed 7 --size transactions=1000000 --size links=1 \
             --key pk_a:sk_a --key pk_b:sk_b:test --s2s-token tok --rate-limit 3 \
             --rate-window-ms 6000 --retry-after 2 --retry-after-date --latency-ms 15 --accept-put --clamp-limit --no-total",
        );
        assert_eq!(o.port, 0);
        assert_eq!(o.host, "0.0.0.0");
        assert_eq!(o.seed, 7);
        assert_eq!(o.sizes.transactions, 1_000_000);
        assert_eq!(o.sizes.links, 1);
        assert_eq!(o.keys.len(), 2);
        assert!(!o.keys[0].test);
        assert!(o.keys[1].test);
        assert_eq!(o.s2s_token, "tok");
        assert_eq!(o.runtime.rate_limit, 3);
        assert_eq!(o.runtime.rate_window_ms, 6000);
        assert_eq!(o.runtime.retry_after, Some(2));
        assert!(o.runtime.retry_after_date);
        assert_eq!(o.runtime.latency_ms, 15);
        assert!(o.runtime.accept_put && o.runtime.clamp_limit && o.runtime.omit_total);
    }

    #[test]
    fn data_until() {
        assert_eq!(serve("").data_until, DataUntil::Reference);
        assert_eq!(serve("--data-until today").data_until, DataUntil::Today);
        assert_eq!(
            serve("--data-until=2026-01-01").data_until,
            DataUntil::At(crate::data::REFERENCE_NOW_MS)
        );
    }

    #[test]
    fn equals_form() {
        let o = serve("--port=9000 --size=customers=5 --rate-limit=0");
        assert_eq!(o.port, 9000);
        assert_eq!(o.sizes.customers, 5);
        assert_eq!(o.runtime.rate_limit, 0);
    }

    #[test]
    fn errors() {
        assert!(parse(&args("--port")).is_err());
        assert!(parse(&args("--port x")).is_err());
        assert!(parse(&args("--size bogus=1")).is_err());
        assert!(parse(&args("--size customers")).is_err());
        assert!(parse(&args("--frobnicate")).is_err());
        assert!(parse(&args("--data-until yesterday")).is_err());
        assert!(parse(&args("--data-until 2026-13-01")).is_err());
        assert!(matches!(parse(&args("--help")), Ok(Command::Help)));
    }
}
