//! A real PostgreSQL for the fleet tests: `initdb` and `pg_ctl` (from
//! PATH or /usr/lib/postgresql/*/bin) in a temporary directory, run as
//! `nobody` when the test runs as root (initdb refuses root), listening
//! on a random port of 127.0.0.1 and on a Unix socket in that directory
//! (which agents inside test namespaces reach: a socket file knows no
//! network namespace). Stopped and removed when dropped, even when the
//! test fails. [`Pg::start_tls`] makes one with `ssl=on`, a test CA and a
//! server certificate (made with the `openssl` CLI in that directory), and
//! a pg_hba.conf that takes TCP clients over TLS only.

#![allow(clippy::doc_markdown)] // "PostgreSQL" is a name, not code

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    tls: bool,
}

/// The certificates of a TLS cluster: the CA that signed the server's
/// certificate (for `localhost` and 127.0.0.1), and a CA that did not.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub other_ca: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl (the `openssl` package)");
    assert!(out.status.success(), "openssl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// A CA (`NAME.crt`, `NAME.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    let (key, crt, subj) = (format!("{name}.key"), format!("{name}.crt"), format!("/CN=necromap test {name}"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
            "-subj",
            &subj,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// A CA, a server certificate it signed for localhost and 127.0.0.1, and
/// another CA, in `dir`.
fn make_certs(dir: &Path) -> TlsFiles {
    make_ca(dir, "ca");
    make_ca(dir, "other-ca");
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("write server.ext");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    // PostgreSQL refuses a key others can read.
    std::fs::set_permissions(dir.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod server.key");
    TlsFiles { ca: dir.join("ca.crt"), other_ca: dir.join("other-ca.crt") }
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
        Self::start_with(false).0
    }

    /// A new cluster with `ssl=on` whose pg_hba.conf takes TCP clients
    /// over TLS only (`hostssl`; the Unix socket stays open), started.
    pub fn start_tls() -> (Pg, TlsFiles) {
        let (pg, files) = Self::start_with(true);
        (pg, files.expect("certificates"))
    }

    fn start_with(tls: bool) -> (Pg, Option<TlsFiles>) {
        let bin = find_bin();
        let dir = tempfile::Builder::new().prefix("necromap-pg-").tempdir().expect("temp dir");
        let files = tls.then(|| make_certs(dir.path()));
        if is_root() {
            // initdb refuses root: the cluster belongs to nobody.
            let ok = Command::new("chown").args(["-R", "65534:65534"]).arg(dir.path()).status().expect("chown");
            assert!(ok.success(), "chown of the cluster's directory failed");
        }
        let pg = Pg { dir, bin, port: free_port(), tls };
        let out = pg.run("initdb", &["-D", &pg.data(), "-U", "necromap", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        if tls {
            // Rewrites the file initdb made (its owner stays the cluster's).
            std::fs::write(Path::new(&pg.data()).join("pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 trust\n").expect("write pg_hba.conf");
        }
        pg.up();
        (pg, files)
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
        let d = self.dir.path().display();
        let ssl = if self.tls { format!(" -c ssl=on -c ssl_cert_file={d}/server.crt -c ssl_key_file={d}/server.key") } else { String::new() };
        let opts = format!("-p {} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off{ssl}", self.port);
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
