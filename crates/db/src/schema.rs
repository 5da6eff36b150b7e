//! Whether a database's schema is exactly the one this build's migrations make.
//!
//! A server that runs with an account that cannot migrate must not serve a schema it was
//! not built for: one that lacks a migration (run `migrate` with the admin account
//! first), or one with a migration this build does not know, applied from different SQL,
//! or left half applied. The comparison is pure; each backend reads the migrations table.

use sqlx::migrate::Migrator;

use crate::StoreError;

/// How a database's applied migrations differ from the ones this build carries.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaMismatch {
    /// Migrations of this build the database has not applied (all of them when it has
    /// no migrations table): run `migrate` with the admin account.
    #[error("the database schema is out of date: migrations {versions:?} are not applied")]
    Missing {
        /// Their versions, ascending.
        versions: Vec<i64>,
    },
    /// The database applied a migration this build does not have (a newer build's).
    #[error("the database schema has migration {version}, which this build does not know")]
    Unknown {
        /// Its version.
        version: i64,
    },
    /// The database applied this version from other SQL than this build's.
    #[error("migration {version} was applied from other SQL than this build's")]
    Changed {
        /// Its version.
        version: i64,
    },
    /// The migration failed part way; the schema is neither before nor after it.
    #[error("migration {version} failed part way")]
    Failed {
        /// Its version.
        version: i64,
    },
}

/// One row of the migrations table (`_sqlx_migrations`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppliedMigration {
    /// The version.
    pub version: i64,
    /// False while it runs, and after it failed.
    pub success: bool,
    /// SHA-384 of the SQL it ran.
    pub checksum: Vec<u8>,
}

/// Ok when `applied` is exactly `migrator`'s up migrations, each applied successfully from
/// the same SQL. A problem with what was applied (unknown, changed, failed) is named before
/// a missing migration: migrating would not mend it.
pub fn compare(applied: &[AppliedMigration], migrator: &Migrator) -> Result<(), SchemaMismatch> {
    let expected: Vec<_> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    for row in applied {
        let Some(ours) = expected.iter().find(|m| m.version == row.version) else {
            return Err(SchemaMismatch::Unknown {
                version: row.version,
            });
        };
        if !row.success {
            return Err(SchemaMismatch::Failed {
                version: row.version,
            });
        }
        if *ours.checksum != *row.checksum {
            return Err(SchemaMismatch::Changed {
                version: row.version,
            });
        }
    }
    let versions: Vec<i64> = expected
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.iter().any(|row| row.version == *v))
        .collect();
    if versions.is_empty() {
        Ok(())
    } else {
        Err(SchemaMismatch::Missing { versions })
    }
}

impl From<SchemaMismatch> for StoreError {
    fn from(e: SchemaMismatch) -> Self {
        Self::Schema(e)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType};

    use super::*;

    fn migrator() -> Migrator {
        let migration = |version: i64, sql: &'static str| {
            Migration::new(
                version,
                Cow::Borrowed("m"),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        };
        Migrator::with_migrations(vec![migration(1, "CREATE 1"), migration(2, "CREATE 2")])
    }

    fn applied(m: &Migrator, versions: &[i64]) -> Vec<AppliedMigration> {
        m.iter()
            .filter(|x| versions.contains(&x.version))
            .map(|x| AppliedMigration {
                version: x.version,
                success: true,
                checksum: x.checksum.to_vec(),
            })
            .collect()
    }

    /// Proves only the exact set of this build's migrations, each applied from the same
    /// SQL and completed, passes; every other state is refused with its own reason.
    #[test]
    fn only_the_exact_schema_passes() {
        let m = migrator();
        assert_eq!(compare(&applied(&m, &[1, 2]), &m), Ok(()));
        assert_eq!(
            compare(&[], &m),
            Err(SchemaMismatch::Missing {
                versions: vec![1, 2]
            })
        );
        assert_eq!(
            compare(&applied(&m, &[1]), &m),
            Err(SchemaMismatch::Missing { versions: vec![2] })
        );
        let mut newer = applied(&m, &[1, 2]);
        newer.push(AppliedMigration {
            version: 3,
            success: true,
            checksum: vec![0; 48],
        });
        assert_eq!(
            compare(&newer, &m),
            Err(SchemaMismatch::Unknown { version: 3 })
        );
        let mut changed = applied(&m, &[1, 2]);
        changed[1].checksum[0] ^= 1;
        assert_eq!(
            compare(&changed, &m),
            Err(SchemaMismatch::Changed { version: 2 })
        );
        let mut failed = applied(&m, &[1]);
        failed[0].success = false;
        assert_eq!(
            compare(&failed, &m),
            Err(SchemaMismatch::Failed { version: 1 })
        );
    }
}
