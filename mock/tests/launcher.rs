//! The launcher against the real binary: it starts the mock on a free port, the mock answers
//! there, and dropping the handle stops the process.

use partnerstack_mock::launcher::{LaunchError, Launcher};
use std::io::{Read, Write};
use std::net::TcpStream;

/// `GET path` on the mock; the raw answer.
fn get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

#[test]
fn starts_on_a_free_port_and_stops_on_drop() {
    let mock = Launcher::new()
        .binary(env!("CARGO_BIN_EXE_partnerstack-mock"))
        .args(["--seed", "7", "--rate-limit", "5"])
        .start()
        .unwrap();
    assert_eq!(mock.base_url(), format!("http://127.0.0.1:{}", mock.port()));
    let answer = get(mock.port(), "/__mock/config").unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\"rate_limit\":5"), "{answer}");

    let port = mock.port();
    drop(mock);
    assert!(get(port, "/__mock/config").is_err());
}

#[test]
fn a_bad_option_is_reported_not_hung_on() {
    let e = Launcher::new()
        .binary(env!("CARGO_BIN_EXE_partnerstack-mock"))
        .args(["--no-such-flag"])
        .stderr(std::process::Stdio::null())
        .start()
        .unwrap_err();
    assert!(
        matches!(&e, LaunchError::NoAddress { status: Some(s), .. } if !s.success()),
        "{e}"
    );
}
