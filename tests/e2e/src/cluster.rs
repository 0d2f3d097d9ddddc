//! One throw-away PostgreSQL 15 server per test binary.

use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::rundir::{
    chown_to_postgres, postgres_command, run_dir, running_as_root, scrub_libpq_env,
};

/// The `pg_config` used when `$PG_CONFIG` is not set: Debian's PostgreSQL 15.
pub const DEFAULT_PG_CONFIG: &str = "/usr/lib/postgresql/15/bin/pg_config";

/// The database superuser the cluster is initialised with (whatever the OS user).
pub const SUPERUSER: &str = "postgres";

/// Tries with a fresh free port when the port picked was taken between probe and bind.
const START_ATTEMPTS: usize = 5;

/// Server start and stop may take this long on a loaded 2-core CI machine.
const PG_CTL_TIMEOUT_SECS: &str = "120";

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The shared server of this test process; see [`Cluster::get`].
#[derive(Debug)]
pub struct Cluster {
    /// postgresql.conf lines added by [`Cluster::get_with`].
    extra_settings: String,
    dir: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    bindir: PathBuf,
    sharedir: PathBuf,
}

/// `$PG_CONFIG` or [`DEFAULT_PG_CONFIG`].
pub fn pg_config_path() -> PathBuf {
    std::env::var_os("PG_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PG_CONFIG))
}

fn pg_config(flag: &str) -> Option<PathBuf> {
    let out = Command::new(pg_config_path()).arg(flag).output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The server's binary directory (`pg_config --bindir`), cached.
pub fn pg_bindir() -> Option<PathBuf> {
    static BINDIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    BINDIR.get_or_init(|| pg_config("--bindir")).clone()
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot find a free TCP port on 127.0.0.1")
}

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Cluster {
    /// The server of this test process, started on first use: `initdb` (as the postgres OS user
    /// when we are root) into `<run dir>/pg/data`, trust authentication, listening on a free port
    /// of 127.0.0.1 and on a unix socket in `<run dir>/pg`, logging (`debug1`) to
    /// [`Cluster::log_path`]. It is stopped and deleted when the process exits.
    pub fn get() -> &'static Cluster {
        CLUSTER.get_or_init(|| Cluster::start(""))
    }

    /// Like [`Cluster::get`], with `settings` (postgresql.conf lines) appended to the defaults,
    /// e.g. a longer `shared_preload_libraries` for pg_cron. Every test of a binary that needs
    /// them must call this before its first [`Cluster::get`] (or `Db::new`): the server is
    /// started once per process, and a server started without them panics here.
    pub fn get_with(settings: &str) -> &'static Cluster {
        let cluster = CLUSTER.get_or_init(|| Cluster::start(settings));
        assert_eq!(
            cluster.extra_settings, settings,
            "the test server of this process was started with other settings"
        );
        cluster
    }

    fn start(extra_settings: &str) -> Cluster {
        let bindir = pg_bindir().unwrap_or_else(|| {
            panic!(
                "cannot run `{} --bindir`: is PostgreSQL 15 installed? (bash .ci/install)",
                pg_config_path().display()
            )
        });
        let sharedir = pg_config("--sharedir").expect("pg_config --sharedir failed");
        let dir = run_dir().join("pg");
        std::fs::create_dir_all(&dir).expect("cannot create the cluster directory");
        chown_to_postgres(&dir);
        let data = dir.join("data");
        let log = dir.join("postgres.log");

        let out = postgres_command(&bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"])
            .output()
            .expect("cannot run initdb");
        assert!(
            out.status.success(),
            "initdb failed:\n{}",
            output_text(&out)
        );

        let settings = format!(
            "\n# partnerstack-e2e\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             logging_collector = off\n\
             log_destination = 'stderr'\n\
             log_min_messages = debug1\n\
             log_line_prefix = '%m [%p] %q%u@%d '\n\
             lc_messages = 'C'\n\
             timezone = 'UTC'\n\
             max_connections = 200\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             shared_preload_libraries = 'partnerstack'\n\
             {extra_settings}\n",
            dir.display()
        );
        // Written through the server's user: the data directory is private to it.
        let mut append = postgres_command(Path::new("tee"))
            .arg("-a")
            .arg(data.join("postgresql.conf"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cannot run tee");
        append
            .stdin
            .take()
            .unwrap()
            .write_all(settings.as_bytes())
            .unwrap();
        assert!(
            append.wait().unwrap().success(),
            "cannot write postgresql.conf"
        );

        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let out = postgres_command(&bindir.join("pg_ctl"))
                .arg("start")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .arg("-o")
                .arg(format!("-p {port}"))
                .args(["-w", "-t", PG_CTL_TIMEOUT_SECS])
                .stdin(Stdio::null())
                .output()
                .expect("cannot run pg_ctl");
            if out.status.success() {
                let cluster = Cluster {
                    extra_settings: extra_settings.to_owned(),
                    dir,
                    data,
                    log,
                    port,
                    bindir,
                    sharedir,
                };
                cluster.wait_ready();
                return cluster;
            }
            last_error = format!(
                "pg_ctl start failed:\n{}\n--- {} ---\n{}",
                output_text(&out),
                log.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            if !last_error.contains("could not bind") && !last_error.contains("already in use") {
                break;
            }
        }
        panic!("{last_error}");
    }

    fn wait_ready(&self) {
        for _ in 0..600 {
            if postgres::Client::connect(&self.connection_string("postgres"), postgres::NoTls)
                .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the test server on port {} never accepted connections",
            self.port
        );
    }

    /// The TCP host the server listens on.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the server's unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// The data directory (owned by the postgres OS user).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The server's log file (`log_min_messages = debug1`).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The binary directory of the PostgreSQL installation in use.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// The whole server log so far.
    pub fn log_contents(&self) -> String {
        self.log_since(0)
    }

    /// The current length of the server log: pass it to [`Cluster::log_since`] later to read
    /// only what a test caused.
    pub fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0)
    }

    /// The server log from byte `offset` on (lossy UTF-8).
    pub fn log_since(&self, offset: u64) -> String {
        let mut text = Vec::new();
        if let Ok(mut f) = std::fs::File::open(&self.log)
            && f.seek(SeekFrom::Start(offset)).is_ok()
        {
            let _ = f.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    /// A libpq/`postgres`-crate connection string for `dbname` as the superuser over TCP.
    pub fn connection_string(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user={SUPERUSER} dbname={dbname} application_name=partnerstack-e2e \
             connect_timeout=30",
            self.host(),
            self.port
        )
    }

    /// A new connection to `dbname` as the superuser over TCP.
    pub fn connect(&self, dbname: &str) -> postgres::Client {
        postgres::Client::connect(&self.connection_string(dbname), postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to database {dbname}: {e}"))
    }

    /// The path of `partnerstack.control` in the server's extension directory.
    pub fn extension_control_file(&self) -> PathBuf {
        self.sharedir.join("extension").join("partnerstack.control")
    }

    /// Panics with instructions unless the extension is installed into this PostgreSQL.
    pub fn require_extension(&self) {
        let control = self.extension_control_file();
        assert!(
            control.exists(),
            "the partnerstack extension is not installed: {} does not exist.\n\
             Install it first, from the repository root:\n    \
             PG_CONFIG={} bash scripts/install-extension.sh\n\
             (bash scripts/test.sh does this before running the end-to-end tests)",
            control.display(),
            pg_config_path().display()
        );
    }

    /// Runs the real `psql` client on `dbname` (TCP, superuser, no psqlrc,
    /// `ON_ERROR_STOP=1`) with `sql` on its standard input. Returns stdout, stderr and status.
    pub fn psql(&self, dbname: &str, sql: &str) -> (String, String, ExitStatus) {
        self.psql_with_args(dbname, &[], sql)
    }

    /// Like [`Cluster::psql`] with extra command-line arguments (e.g. `["-A", "-t"]`,
    /// `["-v", "name=value"]`) placed before the input.
    pub fn psql_with_args(
        &self,
        dbname: &str,
        args: &[&str],
        stdin: &str,
    ) -> (String, String, ExitStatus) {
        let mut cmd = Command::new(self.bindir.join("psql"));
        scrub_libpq_env(&mut cmd);
        cmd.args(["-X", "-v", "ON_ERROR_STOP=1", "-h", self.host()])
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", SUPERUSER, "-d", dbname])
            .args(args)
            .args(["-f", "-"])
            .env("PGAPPNAME", "partnerstack-e2e-psql")
            .env("PGCONNECT_TIMEOUT", "30")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("cannot run psql");
        let mut input = child.stdin.take().unwrap();
        let sql = stdin.to_owned();
        // Written from a thread so a large output cannot deadlock against a large input.
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(sql.as_bytes());
        });
        let out = child.wait_with_output().expect("psql did not finish");
        let _ = writer.join();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status,
        )
    }

    /// Runs a server-side program from the PostgreSQL bindir as the server's OS user.
    pub fn server_command(&self, program: &str) -> Command {
        postgres_command(&self.bindir.join(program))
    }

    /// True if the harness runs the server through `runuser` (tests run as root).
    pub fn runs_as_other_user(&self) -> bool {
        running_as_root()
    }
}
