//! `partnerstack-mock` binary: parses the command line and runs the server.

use partnerstack_mock::cli::{self, Command, USAGE};
use std::process::ExitCode;

/// Exit status for usage errors (like most Unix tools).
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Serve(options)) => match partnerstack_mock::run(*options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("partnerstack-mock: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("partnerstack-mock: {e}\n\n{USAGE}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}
