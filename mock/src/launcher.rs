//! Starting the mock from tests: the one launcher used by core's write tests and the
//! end-to-end harness.
//!
//! [`binary`] finds or builds the `partnerstack-mock` executable once per process;
//! [`Launcher`] starts it on a free port (`--port 0`), waits for its `listening on` line and
//! hands back a [`MockProcess`] that kills the mock when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;
use std::{fmt, io};

/// Environment variable naming a prebuilt mock binary; when set nothing is built.
pub const BINARY_ENV: &str = "PARTNERSTACK_MOCK_BIN";

/// How long the mock may take to print its `listening on` line. A release build with a
/// million transactions starts in under a second, a debug build in a few; the margin is
/// for a loaded CI machine.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The first line the mock prints, before the address it listens on.
const LISTENING_PREFIX: &str = "listening on ";

/// Name of the executable inside `<target dir>/<profile>/`.
const BINARY_NAME: &str = "partnerstack-mock";

/// The mock executable: `$PARTNERSTACK_MOCK_BIN` when set, else built once per process
/// with `cargo build -p partnerstack-mock` (the release profile when the calling test was
/// built with `--release`) into the target directory the calling test binary lives in.
/// Building is always asked for, so a test never runs a stale mock; when the mock is up
/// to date it is a no-op.
///
/// # Panics
/// When `$PARTNERSTACK_MOCK_BIN` is not a file or the build fails (the message says how to
/// build the mock by hand).
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(bin) = std::env::var_os(BINARY_ENV) {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "{BINARY_ENV}={} is not a file",
                bin.display()
            );
            return bin;
        }
        build().unwrap_or_else(|e| {
            panic!(
                "could not build the mock: {e}\nbuild it with `cargo build -p {BINARY_NAME}` \
                 (add --release for the end-to-end tests) or set {BINARY_ENV} to its path"
            )
        })
    })
}

/// Runs `cargo build -q -p partnerstack-mock` for the profile and target directory of the
/// running executable and returns the built binary.
fn build() -> Result<PathBuf, String> {
    let (target, profile) = caller_target();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("the mock crate has no parent directory")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "-q", "-p", BINARY_NAME])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(workspace);
    if profile == "release" {
        command.arg("--release");
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let bin = target.join(profile).join(BINARY_NAME);
    if !status.success() {
        return Err(format!("cargo build exited with {status}"));
    }
    if !bin.is_file() {
        return Err(format!("{} missing after the build", bin.display()));
    }
    Ok(bin)
}

/// The target directory and profile (`debug` or `release`) the running executable was built
/// into, from its path `<target>/<profile>/deps/<test binary>`; else `$CARGO_TARGET_DIR` (or
/// the workspace's `target/`) and `debug`.
fn caller_target() -> (PathBuf, &'static str) {
    let exe = std::env::current_exe().ok();
    if let Some(exe) = exe.as_deref()
        && let Some(profile_dir) = exe.ancestors().nth(2)
        && let Some(target) = profile_dir.parent()
    {
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("release") => Some("release"),
            Some("debug") => Some("debug"),
            _ => None,
        };
        if let Some(profile) = profile {
            return (target.to_path_buf(), profile);
        }
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    (target, "debug")
}

/// Why the mock did not start.
#[derive(Debug)]
pub enum LaunchError {
    /// The process could not be spawned.
    Spawn(PathBuf, io::Error),
    /// The process did not print `listening on <address>` in time.
    NoAddress {
        /// What it printed first (empty on timeout or immediate exit).
        line: String,
        /// Its exit status, when it had exited (it is killed otherwise).
        status: Option<ExitStatus>,
    },
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaunchError::Spawn(bin, e) => write!(f, "cannot start {}: {e}", bin.display()),
            LaunchError::NoAddress { line, status } => write!(
                f,
                "the mock did not print `{LISTENING_PREFIX}<address>` within {STARTUP_TIMEOUT:?} \
                 (got {line:?}, exit {status:?})"
            ),
        }
    }
}

impl std::error::Error for LaunchError {}

/// Options for starting one mock process.
#[derive(Debug)]
pub struct Launcher {
    binary: Option<PathBuf>,
    args: Vec<String>,
    stderr: Option<Stdio>,
}

impl Default for Launcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Launcher {
    /// The mock from [`binary`], on a free port, with its default options; its stderr goes
    /// to the caller's stderr.
    pub fn new() -> Self {
        Self {
            binary: None,
            args: Vec::new(),
            stderr: None,
        }
    }

    /// Runs this executable instead of [`binary`].
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Command-line options after `--port 0`, e.g. `["--seed", "7", "--accept-put"]`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Where the mock's stderr goes (for example a log file).
    pub fn stderr(mut self, stderr: impl Into<Stdio>) -> Self {
        self.stderr = Some(stderr.into());
        self
    }

    /// Spawns the mock, calls `on_spawn` with its process id (to register it for cleanup
    /// before anything can fail), and waits up to [`STARTUP_TIMEOUT`] for its address.
    pub fn start_with(self, on_spawn: impl FnOnce(u32)) -> Result<MockProcess, LaunchError> {
        let bin = match self.binary {
            Some(bin) => bin,
            None => binary().to_path_buf(),
        };
        let mut child = Command::new(&bin)
            .args(["--port", "0"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(self.stderr.unwrap_or_else(Stdio::inherit))
            .spawn()
            .map_err(|e| LaunchError::Spawn(bin.clone(), e))?;
        on_spawn(child.id());

        // Read the address line on a thread so a silent mock fails the test instead of
        // hanging it; the thread then drains stdout so the mock never blocks on a full pipe.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = io::copy(&mut reader, &mut io::sink());
        });
        let line = rx.recv_timeout(STARTUP_TIMEOUT).unwrap_or_default();
        match parse_listening_line(&line) {
            Some(addr) => Ok(MockProcess { child, addr }),
            None => {
                let _ = child.kill();
                let status = child.wait().ok();
                Err(LaunchError::NoAddress { line, status })
            }
        }
    }

    /// [`Launcher::start_with`] without a spawn callback.
    pub fn start(self) -> Result<MockProcess, LaunchError> {
        self.start_with(|_| {})
    }
}

/// The address in the mock's `listening on HOST:PORT` line.
fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    line.trim().strip_prefix(LISTENING_PREFIX)?.parse().ok()
}

/// A running mock process; killed (and reaped) when dropped.
#[derive(Debug)]
pub struct MockProcess {
    child: Child,
    addr: SocketAddr,
}

impl MockProcess {
    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its TCP port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://HOST:PORT`, the base of the API (`/api/v2`) and control (`/__mock`) paths.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The operating-system process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_address_line() {
        assert_eq!(
            parse_listening_line("listening on 127.0.0.1:43117\n"),
            Some("127.0.0.1:43117".parse().unwrap())
        );
        assert_eq!(parse_listening_line("listening on nowhere"), None);
        assert_eq!(parse_listening_line(""), None);
    }

    #[test]
    fn the_caller_target_is_where_this_test_binary_lives() {
        let (target, profile) = caller_target();
        let exe = std::env::current_exe().unwrap();
        assert!(
            exe.starts_with(target.join(profile)),
            "{} is not under {}/{profile}",
            exe.display(),
            target.display()
        );
    }

    #[test]
    fn a_missing_binary_is_a_spawn_error() {
        let e = Launcher::new()
            .binary("/nonexistent/partnerstack-mock")
            .start()
            .unwrap_err();
        assert!(matches!(e, LaunchError::Spawn(..)), "{e}");
    }
}
