//! The scratch directory of one test process, and the guarantee that it goes away together with
//! everything running out of it (the PostgreSQL server, the mocks).
//!
//! Three mechanisms, because statics are never dropped:
//! * a libc `atexit` handler: runs when the test binary returns from `main` or calls
//!   `process::exit` (libtest does so on failure), so the directory is gone when `cargo test`
//!   moves on to the next binary;
//! * a watchdog shell in its own process group that polls the test process and cleans up after a
//!   `SIGKILL`, a Ctrl-C or an abort, when no handler runs;
//! * at start, a sweep of directories left by earlier runs whose owner process is dead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Prefix of every per-process directory; the sweep only touches names with this prefix.
const DIR_PREFIX: &str = "partnerstack-e2e-";

/// The OS user that runs PostgreSQL when the tests run as root (the server refuses root).
pub const POSTGRES_OS_USER: &str = "postgres";

static RUN_DIR: OnceLock<PathBuf> = OnceLock::new();

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> i32;
    fn geteuid() -> u32;
}

/// True when this process runs as root, so server-side commands go through `runuser`.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

/// The per-process scratch directory (`$PARTNERSTACK_E2E_TMPDIR` or `/tmp`, then
/// `partnerstack-e2e-<pid>`), created on first use, readable by the postgres OS user.
pub fn run_dir() -> &'static Path {
    RUN_DIR.get_or_init(|| {
        let base = std::env::var_os("PARTNERSTACK_E2E_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        sweep_stale(&base);
        let dir = base.join(format!("{DIR_PREFIX}{}", std::process::id()));
        // A directory with our pid but a different owner identity is stale too.
        if dir.exists() {
            cleanup(&dir);
        }
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        set_mode(&dir, 0o755);
        std::fs::write(
            dir.join("owner"),
            owner_identity(std::process::id()).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("cannot write owner file in {}: {e}", dir.display()));
        // SAFETY: registering a plain extern "C" function without captured state.
        if unsafe { atexit(cleanup_at_exit) } != 0 {
            eprintln!("partnerstack-e2e: atexit registration failed; relying on the watchdog");
        }
        spawn_watchdog(&dir);
        dir
    })
}

/// Records a child process (a mock) that must not outlive the test process.
pub fn register_child(pid: u32) {
    use std::io::Write;
    let path = run_dir().join("children");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = writeln!(f, "{pid}");
    }
}

/// Sets a Unix mode on a path, ignoring errors (best effort).
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// Makes `path` owned by the postgres OS user when running as root.
pub fn chown_to_postgres(path: &Path) {
    if !running_as_root() {
        return;
    }
    let uid = os_user_id("-u");
    let gid = os_user_id("-g");
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("cannot chown {} to {POSTGRES_OS_USER}: {e}", path.display()));
}

fn os_user_id(flag: &str) -> u32 {
    let out = Command::new("id")
        .arg(flag)
        .arg(POSTGRES_OS_USER)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `id {flag} {POSTGRES_OS_USER}`: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| {
            panic!(
                "the OS user `{POSTGRES_OS_USER}` does not exist (run .ci/install, which installs \
                 postgresql-15): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// A command that runs as the postgres OS user when we are root, else as ourselves. The
/// working directory is the run directory (postgres may not be able to read ours), and libpq
/// variables from the caller's environment are removed so they cannot redirect anything.
pub fn postgres_command(program: &Path) -> Command {
    let mut cmd = if running_as_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg(POSTGRES_OS_USER).arg("--").arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.current_dir(run_dir());
    scrub_libpq_env(&mut cmd);
    cmd
}

/// Removes the libpq environment variables that would override explicit connection options.
pub fn scrub_libpq_env(cmd: &mut Command) {
    for var in [
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGDATABASE",
        "PGUSER",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGOPTIONS",
        "PGSSLMODE",
        "PGDATA",
        "PGAPPNAME",
        "PGTZ",
        "PGDATESTYLE",
        "PGCLIENTENCODING",
        "PSQLRC",
    ] {
        cmd.env_remove(var);
    }
}

/// `<pid> <start time>` from /proc, so a recycled pid is not mistaken for a live owner.
fn owner_identity(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22 (starttime) counts from after the parenthesised command name.
    let after_comm = &stat[stat.rfind(')')? + 2..];
    let start_time = after_comm.split_whitespace().nth(19)?;
    Some(format!("{pid} {start_time}"))
}

fn sweep_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let recorded = std::fs::read_to_string(entry.path().join("owner")).unwrap_or_default();
        let alive = owner_identity(pid).is_some_and(|id| id == recorded.trim());
        if !alive {
            cleanup(&entry.path());
        }
    }
}

/// Stops the server and children of a run directory, then deletes it.
fn cleanup(dir: &Path) {
    let data = dir.join("pg").join("data");
    let pid_file = data.join("postmaster.pid");
    if pid_file.exists() {
        let postmaster = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()));
        if let Some(pg_ctl) = crate::cluster::pg_bindir().map(|b| b.join("pg_ctl")) {
            let mut cmd = if running_as_root() {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(POSTGRES_OS_USER).arg("--").arg(pg_ctl);
                c
            } else {
                Command::new(pg_ctl)
            };
            let _ = cmd
                .arg("stop")
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "-t", "30"])
                .current_dir("/")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if let Some(pid) = postmaster
            && is_process_named(pid, "postgres")
        {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
    if let Ok(children) = std::fs::read_to_string(dir.join("children")) {
        for pid in children
            .lines()
            .filter_map(|l| l.trim().parse::<u32>().ok())
        {
            if is_process_named(pid, "partnerstack-mock") {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn is_process_named(pid: u32, needle: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(needle))
        .unwrap_or(false)
}

extern "C" fn cleanup_at_exit() {
    // A panic must not unwind into libc.
    let _ = std::panic::catch_unwind(|| {
        if let Some(dir) = RUN_DIR.get() {
            cleanup(dir);
        }
    });
}

/// The watchdog: a `sh` loop in its own process group (so Ctrl-C on the terminal does not reach
/// it) with no inherited pipes (so `cargo test` does not wait for it).
fn spawn_watchdog(dir: &Path) {
    const SCRIPT: &str = r#"
owner=$1; dir=$2; pg_ctl=$3; as_root=$4
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
[ -d "$dir" ] || exit 0
if [ -f "$dir/pg/data/postmaster.pid" ] && [ -x "$pg_ctl" ]; then
  if [ "$as_root" = 1 ]; then
    runuser -u postgres -- "$pg_ctl" stop -D "$dir/pg/data" -m immediate -w -t 30
  else
    "$pg_ctl" stop -D "$dir/pg/data" -m immediate -w -t 30
  fi
fi
if [ -f "$dir/children" ]; then
  while read -r pid; do
    grep -q partnerstack-mock "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid"
  done < "$dir/children"
fi
rm -rf "$dir"
"#;
    use std::os::unix::process::CommandExt;
    let pg_ctl = crate::cluster::pg_bindir()
        .map(|b| b.join("pg_ctl"))
        .unwrap_or_default();
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("partnerstack-e2e-watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .arg(pg_ctl)
        .arg(if running_as_root() { "1" } else { "0" })
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    if let Err(e) = spawned {
        eprintln!("partnerstack-e2e: cannot start the cleanup watchdog: {e}");
    }
}
