//! The SQL databases the store tests use: finding them, fresh table names, stores that drop
//! their table when the test is done, and a few raw statements for checking what is stored.
#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::RngExt as _;
use satchel_session::store::{
    Commit, IdHash, Lease, LeaseToken, Loaded, Record, SqlStore, Store, StoreFuture,
};

/// PostgreSQL as CI runs it (trust auth, database `test`).
pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// MariaDB as CI runs it (root, empty password, database `test`).
pub const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// `Some(url)` if the server behind `url` answers on its port. Without it: a panic under `CI`,
/// else one line saying how to run the test, and `None`.
pub fn server(url: &str) -> Option<String> {
    if url.starts_with("sqlite:") {
        return Some(url.to_owned());
    }
    let hostport = url.rsplit('@').next()?.split('/').next()?;
    let addr: SocketAddr = hostport.parse().ok()?;
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
        return Some(url.to_owned());
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but nothing answers on {addr} for {url}: start the database");
    }
    println!(
        "skipped: no database on {addr} (start it to run this test; under CI=1 it is required)"
    );
    None
}

/// A table name no other test (or run) uses.
pub fn table() -> String {
    format!("satchel_test_{:016x}", rand::rng().random::<u64>())
}

/// A fresh SQLite file URL (in the temp directory).
pub fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("satchel-sql-{}", table()));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite:{}", dir.join("sessions.db").display())
}

/// `url` (a server URL, or `sqlite` for a fresh file) if available.
pub fn url_for(kind: &str) -> Option<String> {
    match kind {
        "sqlite" => Some(sqlite_url()),
        "postgres" => server(POSTGRES_URL),
        "mysql" => server(MYSQL_URL),
        other => panic!("unknown kind {other}"),
    }
}

/// A store on a fresh table that drops the table (or deletes the SQLite file) when dropped.
pub struct Scratch {
    pub store: SqlStore,
    pub url: String,
    pub table: String,
}

impl Scratch {
    /// A scratch store of `kind` without a background sweep, or `None` if unavailable.
    pub fn new(kind: &str) -> Option<Scratch> {
        let url = url_for(kind)?;
        Some(Scratch::on(&url, &table(), None))
    }

    pub fn on(url: &str, table: &str, sweep: Option<Duration>) -> Scratch {
        let store = SqlStore::open(url)
            .unwrap()
            .with_table(table)
            .unwrap()
            .with_sweep_interval(sweep)
            .with_timeout(Duration::from_secs(2));
        Scratch {
            store,
            url: url.to_owned(),
            table: table.to_owned(),
        }
    }

    pub fn shared(kind: &str) -> Option<Arc<dyn Store>> {
        Scratch::new(kind).map(|s| Arc::new(s) as Arc<dyn Store>)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop_table(&self.url, &self.table);
    }
}

/// Drops `table` at `url` (a SQLite file is deleted with its WAL).
pub fn drop_table(url: &str, table: &str) {
    if let Some(path) = url.strip_prefix("sqlite:") {
        if let Some(dir) = std::path::Path::new(path.split('?').next().unwrap()).parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
        return;
    }
    let _ = scalar(url, &format!("DROP TABLE IF EXISTS {table}"));
}

/// Runs `sql` at `url` on a connection of its own (from any thread, runtime or not) and gives
/// its first row's first column as an integer (`None` for a statement without rows).
pub fn scalar(url: &str, sql: &str) -> Option<i64> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run_scalar(&url, sql))
    })
    .join()
    .unwrap()
}

async fn run_scalar(url: &str, sql: String) -> Option<i64> {
    use sqlx::{AssertSqlSafe, Connection, Row};
    let sql = AssertSqlSafe(sql);
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let row = sqlx::query(sql).fetch_optional(&mut c).await.unwrap();
        return row.map(|r| r.try_get::<i64, _>(0).unwrap());
    }
    #[cfg(feature = "mysql")]
    if url.starts_with("mysql") {
        let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
        let row = sqlx::query(sql).fetch_optional(&mut c).await.unwrap();
        return row.map(|r| r.try_get::<i64, _>(0).unwrap());
    }
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let row = sqlx::query(sql).fetch_optional(&mut c).await.unwrap();
        return row.map(|r| r.try_get::<i64, _>(0).unwrap());
    }
    panic!("no driver for {url}")
}

/// How many indexes of `table` lead with `user_key` then `last_seen` (the per-user index a
/// listing walks most recently seen first).
pub fn user_key_indexes(url: &str, table: &str) -> i64 {
    count_in_catalog(
        url,
        format!("SELECT COUNT(*) FROM pg_indexes WHERE tablename = '{table}' AND indexdef LIKE '%(user_key, last_seen)%'"),
        format!("SELECT COUNT(*) FROM information_schema.statistics s WHERE s.table_schema = DATABASE() AND s.table_name = '{table}' AND s.column_name = 'last_seen' AND s.seq_in_index = 2 AND EXISTS (SELECT 1 FROM information_schema.statistics u WHERE u.table_schema = s.table_schema AND u.table_name = s.table_name AND u.index_name = s.index_name AND u.column_name = 'user_key' AND u.seq_in_index = 1)"),
        format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' AND sql LIKE '%(user_key, last_seen)%'"),
    )
}

/// How many tables named `table` exist at `url`.
pub fn tables_named(url: &str, table: &str) -> i64 {
    count_in_catalog(
        url,
        format!("SELECT COUNT(*) FROM pg_tables WHERE tablename = '{table}'"),
        format!("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"),
        format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
    )
}

/// The count the catalog query for `url`'s database gives.
fn count_in_catalog(url: &str, postgres: String, mysql: String, sqlite: String) -> i64 {
    let sql = if url.starts_with("postgres") {
        postgres
    } else if url.starts_with("mysql") {
        mysql
    } else {
        sqlite
    };
    scalar(url, &sql).unwrap()
}

impl Store for Scratch {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        self.store.load(id, now, lease)
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        self.store.create(id, record, now)
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        self.store.commit(id, token, commit, now)
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        self.store.renew(id, lease)
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        self.store.touch(id, idle_deadline, now)
    }
}
