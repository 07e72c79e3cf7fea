//! What the TLS tests run against: a CA of the test's own and an unrelated one (rcgen), a
//! server certificate for 127.0.0.1 only (so `localhost` is a wrong host name), and private
//! Redis, PostgreSQL and MariaDB servers with TLS on, on free ports in fresh directories,
//! stopped when dropped. The shared servers are never touched.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::RngExt as _;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};

/// How long a server may take to come up.
const START: Duration = Duration::from_secs(30);

/// The certificate files of one test, in its own directory.
pub struct Pki {
    pub dir: PathBuf,
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// A CA that signed nothing here.
    pub other_ca: PathBuf,
    /// The server's certificate (for 127.0.0.1 only) and key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    /// Fresh files under a new directory named after `what`.
    pub fn new(what: &str) -> Self {
        // The system's temp directory: the `postgres` user must be able to reach it.
        let dir =
            std::env::temp_dir().join(format!("tls-{what}-{:016x}", rand::rng().random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca_pem, issuer) = ca("satchel test CA");
        let (other_pem, _) = ca("an unrelated CA");
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Pki {
            ca: write("ca.pem", &ca_pem),
            other_ca: write("other-ca.pem", &other_pem),
            cert: write("server.pem", &cert.pem()),
            key: write("server-key.pem", &key.serialize_pem()),
            dir,
        }
    }

    /// Hands the directory and its files to `user` (PostgreSQL will not run as root, and
    /// reads its key only if it owns it, mode 0600).
    fn give_to(&self, user: &str) {
        run(Command::new("chown").args(["-R", user]).arg(&self.dir));
        run(Command::new("chmod").arg("600").arg(&self.key));
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A self-signed CA: its certificate's PEM and the issuer that signs with it.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(params, key))
}

fn run(command: &mut Command) {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits (bounded) until `ready` holds.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + START;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not come up");
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Whether `program` runs here; without it the test is skipped (a failure under CI).
fn present(program: &str, how: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    satchel_testkit::require_or_skip(found, program, how)
}

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Killed {
    /// `command` started, once it listens on every one of `ports` (bounded).
    fn listening(command: &mut Command, ports: &[u16]) -> Self {
        let child = Killed(command.spawn().expect("the server starts"));
        wait_until(&format!("{command:?}"), || {
            ports.iter().all(|&p| listening(p))
        });
        child
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private `redis-server` with a plain port and a TLS-only port.
pub struct Redis {
    pub plain_port: u16,
    pub tls_port: u16,
    _child: Killed,
}

impl Redis {
    pub fn start(pki: &Pki) -> Option<Self> {
        if !present("redis-server", "install redis-server") {
            return None;
        }
        let (plain_port, tls_port) = (free_port(), free_port());
        let mut child = Command::new("redis-server");
        child
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--port", &plain_port.to_string()])
            .args(["--tls-port", &tls_port.to_string()])
            .arg("--tls-cert-file")
            .arg(&pki.cert)
            .arg("--tls-key-file")
            .arg(&pki.key)
            .arg("--tls-ca-cert-file")
            .arg(&pki.ca)
            .args(["--tls-auth-clients", "no"])
            .arg("--dir")
            .arg(&pki.dir)
            .stdout(std::fs::File::create(pki.dir.join("redis.log")).unwrap());
        let child = Killed::listening(&mut child, &[plain_port, tls_port]);
        Some(Redis {
            plain_port,
            tls_port,
            _child: child,
        })
    }
}

/// A private PostgreSQL cluster (run as the `postgres` user) accepting only TLS connections
/// from 127.0.0.1, until [`Postgres::turn_tls_off`].
pub struct Postgres {
    pub port: u16,
    data: PathBuf,
}

/// `postgres`' binaries: on the PATH, else Debian's directory.
fn pg_bin(name: &str) -> PathBuf {
    let on_path = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    on_path.unwrap_or_else(|| Path::new("/usr/lib/postgresql/15/bin").join(name))
}

fn as_postgres(program: &str) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(pg_bin(program));
    command
}

impl Postgres {
    pub fn start(pki: &Pki) -> Option<Self> {
        if !present("runuser", "util-linux") || !pg_bin("initdb").exists() {
            satchel_testkit::require_or_skip(false, "PostgreSQL's initdb", "install postgresql");
            return None;
        }
        pki.give_to("postgres");
        let data = pki.dir.join("data");
        run(as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data));
        let port = free_port();
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{dir}'\n\
             fsync = off\nssl = on\nssl_cert_file = '{cert}'\nssl_key_file = '{key}'\n",
            dir = pki.dir.display(),
            cert = pki.cert.display(),
            key = pki.key.display(),
        );
        append(&data.join("postgresql.conf"), &conf);
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let postgres = Postgres { port, data };
        run(postgres
            .pg_ctl("start")
            .args(["-w", "-t", "30", "-l"])
            .arg(pki.dir.join("postgres.log")));
        Some(postgres)
    }

    fn pg_ctl(&self, action: &str) -> Command {
        let mut command = as_postgres("pg_ctl");
        command.arg("-D").arg(&self.data).arg(action);
        command
    }

    /// `ssl = off` and plain connections allowed, taking effect once the server has reloaded
    /// (the caller polls for that).
    pub fn turn_tls_off(&self) {
        append(&self.data.join("postgresql.conf"), "ssl = off\n");
        std::fs::write(
            self.data.join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        run(&mut self.pg_ctl("reload"));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl("stop").args(["-m", "immediate"]).output();
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// A private MariaDB accepting only TLS connections (`require_secure_transport`), user
/// `root` without a password, database `test`.
pub struct MariaDb {
    pub port: u16,
    _child: Killed,
}

impl MariaDb {
    pub fn start(pki: &Pki) -> Option<Self> {
        if !present("mariadbd", "install mariadb-server") {
            return None;
        }
        let data = pki.dir.join("data");
        run(Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--skip-test-db"])
            .args(["--auth-root-authentication-method=normal"])
            .arg(format!("--datadir={}", data.display())));
        std::fs::create_dir_all(data.join("test")).unwrap();
        let port = free_port();
        let mut child = Command::new("mariadbd");
        child
            .args(["--no-defaults", "--user=root", "--bind-address=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--datadir={}", data.display()))
            .arg(format!(
                "--socket={}",
                pki.dir.join("mariadb.sock").display()
            ))
            .arg(format!("--ssl-ca={}", pki.ca.display()))
            .arg(format!("--ssl-cert={}", pki.cert.display()))
            .arg(format!("--ssl-key={}", pki.key.display()))
            .args(["--require-secure-transport=ON", "--skip-log-bin"])
            .args(["--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(pki.dir.join("mariadb.log")).unwrap());
        let child = Killed::listening(&mut child, &[port]);
        Some(MariaDb {
            port,
            _child: child,
        })
    }
}
