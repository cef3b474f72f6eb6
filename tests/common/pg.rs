//! A real PostgreSQL for the fleet tests: `initdb` and `pg_ctl` (from
//! PATH or /usr/lib/postgresql/*/bin) in a temporary directory, run as
//! `nobody` when the test runs as root (initdb refuses root), listening
//! on a random port of 127.0.0.1 and on a Unix socket in that directory
//! (which agents inside test namespaces reach: a socket file knows no
//! network namespace). Stopped and removed when dropped, even when the
//! test fails.

#![allow(clippy::doc_markdown)] // "PostgreSQL" is a name, not code

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

fn find_bin() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file()));
    if let Some(d) = on_path {
        return d;
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|r| r.filter_map(Result::ok).map(|e| e.path().join("bin")).filter(|b| b.join("initdb").is_file()).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().expect("PostgreSQL is not installed (initdb, pg_ctl): .ci/run installs the `postgresql` package")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

impl Pg {
    /// A new cluster, started.
    pub fn start() -> Pg {
        let bin = find_bin();
        let dir = tempfile::Builder::new().prefix("necromap-pg-").tempdir().expect("temp dir");
        if is_root() {
            // initdb refuses root: the cluster belongs to nobody.
            let ok = Command::new("chown").args(["-R", "65534:65534"]).arg(dir.path()).status().expect("chown");
            assert!(ok.success(), "chown of the cluster's directory failed");
        }
        let pg = Pg { dir, bin, port: free_port() };
        let out = pg.run("initdb", &["-D", &pg.data(), "-U", "necromap", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        pg.up();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// The Unix socket directory.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Run a PostgreSQL program as the cluster's owner.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut c = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        c.args(args).current_dir(self.dir.path()).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()))
    }

    /// Start (again) on the same port and socket.
    pub fn up(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off", self.port, self.dir.path().display());
        let log = self.dir.path().join("log").display().to_string();
        let out = self.run("pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "-t", "60", "start"]);
        assert!(out.status.success(), "pg_ctl start failed: {}\n{}", String::from_utf8_lossy(&out.stderr), std::fs::read_to_string(&log).unwrap_or_default());
    }

    /// Stop (fast: clients are disconnected).
    pub fn down(&self) {
        let out = self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"]);
        assert!(out.status.success(), "pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Over TCP on 127.0.0.1.
    pub fn url(&self) -> String {
        format!("postgres://necromap@127.0.0.1:{}/postgres?sslmode=disable", self.port)
    }

    /// Over the Unix socket (reachable from any network namespace).
    pub fn socket_url(&self) -> String {
        let dir = self.dir.path().display().to_string().replace('/', "%2F");
        format!("postgres://necromap@{dir}:{}/postgres?sslmode=disable", self.port)
    }

    /// A client for the test's own questions.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls).await.expect("connect to the test cluster");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
        // The TempDir removes the files (root, or the owner, may).
    }
}
