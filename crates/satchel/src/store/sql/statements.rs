//! Every statement a store runs, written once over the [`Dialect`]'s differences and built
//! once per store, for its table.

use super::dialect::Dialect;
use super::template::Statement;

/// Every statement a store runs, built once for its table.
pub(super) struct Statements {
    pub(super) read: Statement,
    pub(super) take: Statement,
    pub(super) read_leased: Statement,
    pub(super) create: Statement,
    pub(super) save: Statement,
    pub(super) release: Statement,
    pub(super) delete: Statement,
    pub(super) renew: Statement,
    pub(super) touch: Statement,
    pub(super) sweep: Statement,
    pub(super) count: Statement,
    pub(super) list_user: Statement,
    pub(super) list_all: Statement,
    pub(super) revoke: Statement,
    pub(super) revoke_user: Statement,
}

const COLUMNS: &str = "data, created_at, idle_deadline, absolute_deadline, login";
const INDEX_COLUMNS: &str = "id, login, created_at, last_seen, expires_at";

impl Statements {
    pub(super) fn new<D: Dialect>(table: &str, synchronous_leases: bool) -> Self {
        let now = D::NOW_MS;
        let fence = format!("id = :id AND lease = :token AND lease_until > {now}");
        // The lease-only writes (take, renew, release) need no flush of their own: see
        // `SqlStore`'s "Durability".
        let unflushed = if synchronous_leases {
            ""
        } else {
            D::UNFLUSHED_COMMIT
        };
        let build = |text: String| Statement::new(&text, D::PLACEHOLDERS);
        let returning = if D::RETURNING {
            format!(" RETURNING {COLUMNS}")
        } else {
            String::new()
        };
        let least = D::LEAST;
        Statements {
            read: build(format!("SELECT {COLUMNS} FROM {table} WHERE id = :id")),
            take: build(format!(
                "UPDATE {table} SET lease = :token, lease_until = {now} + :ttl \
                 WHERE {unflushed}id = :id AND expires_at > :now \
                 AND (lease IS NULL OR lease = :token OR lease_until <= {now}){returning}"
            )),
            read_leased: build(format!(
                "SELECT {COLUMNS}, COALESCE(lease = :token, 0) FROM {table} WHERE id = :id"
            )),
            create: build(format!(
                "INSERT INTO {table} (id, {COLUMNS}, expires_at, user_key, last_seen) \
                 VALUES (:id, :data, :created, :idle, :absolute, :login, :expires, :user_key, \
                 :now){}",
                D::ON_CONFLICT
            )),
            save: build(format!(
                "UPDATE {table} SET data = :data, created_at = :created, idle_deadline = :idle, \
                 absolute_deadline = :absolute, expires_at = :expires, login = :login, \
                 user_key = :user_key, last_seen = :now, lease = NULL, \
                 lease_until = NULL WHERE {fence}"
            )),
            release: build(format!(
                "UPDATE {table} SET lease = NULL, lease_until = NULL WHERE {unflushed}{fence}"
            )),
            delete: build(format!("DELETE FROM {table} WHERE {fence}")),
            renew: build(format!(
                "UPDATE {table} SET lease_until = {now} + :ttl WHERE {unflushed}{fence}"
            )),
            touch: build(format!(
                "UPDATE {table} SET idle_deadline = {least}(:idle, absolute_deadline), \
                 expires_at = {least}(:idle, absolute_deadline), last_seen = :now \
                 WHERE id = :id AND expires_at > :now \
                 AND idle_deadline < {least}(:idle, absolute_deadline)"
            )),
            sweep: build(D::sweep(table)),
            count: build(format!("SELECT COUNT(*) FROM {table}")),
            list_user: build(format!(
                "SELECT {INDEX_COLUMNS} FROM {table} WHERE user_key = :user_key \
                 AND expires_at > :now ORDER BY last_seen DESC LIMIT :limit"
            )),
            list_all: build(format!(
                "SELECT {INDEX_COLUMNS} FROM {table} WHERE user_key IS NOT NULL \
                 AND expires_at > :now ORDER BY last_seen DESC LIMIT :limit"
            )),
            revoke: build(format!("DELETE FROM {table} WHERE id = :id")),
            revoke_user: build(format!("DELETE FROM {table} WHERE user_key = :user_key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    #[test]
    fn only_the_lease_statements_skip_the_flush_and_lease_commit_sync_keeps_it() {
        use super::super::postgres::Postgres;
        use super::super::settings::split_url;
        let unflushed = |s: &Statement| s.sql.as_str().contains("synchronous_commit");
        let fast = Statements::new::<Postgres>("t", false);
        for lease_only in [&fast.take, &fast.renew, &fast.release] {
            assert!(unflushed(lease_only), "{}", lease_only.sql.as_str());
        }
        for data in [
            &fast.create,
            &fast.save,
            &fast.delete,
            &fast.touch,
            &fast.sweep,
            &fast.revoke,
            &fast.revoke_user,
        ] {
            assert!(!unflushed(data), "{}", data.sql.as_str());
        }
        let durable = Statements::new::<Postgres>("t", true);
        assert!(!unflushed(&durable.take) && !unflushed(&durable.release));
        let (_, s) = split_url("postgres://h/db?lease_commit=sync", 10).unwrap();
        assert!(s.synchronous_leases);
        let (_, s) = split_url("postgres://h/db", 10).unwrap();
        assert!(!s.synchronous_leases);
        assert!(split_url("postgres://h/db?lease_commit=off", 10).is_err());
    }
}
