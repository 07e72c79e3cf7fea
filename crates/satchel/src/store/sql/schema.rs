//! The table and its indexes, created on first use, idempotently (also when several processes
//! start at once on an empty database), and the columns a table made by an earlier version
//! lacks.

use super::dialect::{Dialect, On};
use super::template::{Statement, Values};

/// The table and its index, idempotently, in one transaction behind the dialect's lock.
pub(super) async fn create_schema<D: Dialect>(
    pool: &sqlx::Pool<D::Db>,
    table: &str,
) -> Result<(), sqlx::Error> {
    D::prepare(pool).await?;
    let mut tx = pool.begin_with(D::BEGIN).await?;
    let lock = D::schema_lock(table);
    for ddl in lock.iter().cloned().chain(D::schema(table)) {
        let statement = Statement::new(&ddl, D::PLACEHOLDERS);
        D::execute(On::Tx(&mut *tx), &statement, &Values::default()).await?;
    }
    tx.commit().await?;
    // A table made before the per-user index existed gets its columns. Two processes doing
    // this at once: the second's ALTER fails with "duplicate column" / "already exists",
    // which is the answer it wanted.
    for (column, statements) in D::upgrade(table) {
        let check = Statement::new(&D::has_column(table, column), D::PLACEHOLDERS);
        if D::count(On::Pool(pool), &check).await? > 0 {
            continue;
        }
        for ddl in statements {
            execute_unless_done::<D>(pool, &ddl).await?;
        }
    }
    execute_unless_done::<D>(pool, &D::user_key_index(table)).await?;
    Ok(())
}

/// Runs a schema change that another process may be making at the same moment: its
/// "duplicate column" / "already exists" is the answer this one wanted.
async fn execute_unless_done<D: Dialect>(
    pool: &sqlx::Pool<D::Db>,
    ddl: &str,
) -> Result<(), sqlx::Error> {
    let statement = Statement::new(ddl, D::PLACEHOLDERS);
    match D::execute(On::Pool(pool), &statement, &Values::default()).await {
        Err(error) => {
            let text = error.to_string().to_ascii_lowercase();
            if text.contains("duplicate") || text.contains("already exists") {
                Ok(())
            } else {
                Err(error)
            }
        }
        Ok(_) => Ok(()),
    }
}
