//! The database this workstation works on, behind one enum so the screens need not know
//! which backend it is.

use std::path::Path;

use pqbank_db_mysql::MySqlStore;
use pqbank_db_sqlite::SqliteStore;
use pqbank_service::Service;

use crate::UiError;

/// The service over the configured backend.
pub enum Bank {
    /// The embedded SQLite file.
    Sqlite(Service<SqliteStore>),
    /// A shared MySQL / MariaDB server.
    Mysql(Service<MySqlStore>),
}

/// Runs `$body` with `$s` bound to the service, whichever backend it uses.
macro_rules! on_bank {
    ($bank:expr, $s:ident => $body:expr) => {
        match $bank {
            $crate::Bank::Sqlite($s) => $body,
            $crate::Bank::Mysql($s) => $body,
        }
    };
}
pub(crate) use on_bank;

/// An opened, migrated store of either kind, before the service is built on it.
pub(crate) enum Store {
    Sqlite(SqliteStore),
    Mysql(MySqlStore),
}

impl Store {
    /// Opens and migrates the database a URL names (`mysql://…`, `sqlite://PATH`, or a
    /// plain path).
    pub(crate) async fn open(url: &str) -> Result<Self, UiError> {
        if url.starts_with("mysql://") {
            let store = MySqlStore::connect(url).await?;
            pqbank_db::Backend::migrate(&store).await?;
            Ok(Self::Mysql(store))
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            let path = Path::new(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| UiError::io(parent, &e))?;
            }
            let store = SqliteStore::open(path).await?;
            pqbank_db::Backend::migrate(&store).await?;
            Ok(Self::Sqlite(store))
        }
    }
}

/// Where a URL points, without credentials: for the status line.
#[must_use]
pub(crate) fn location(url: &str) -> String {
    match url.strip_prefix("mysql://") {
        Some(rest) => format!(
            "mysql://{}",
            rest.rsplit_once('@').map_or(rest, |(_, host)| host)
        ),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn location_hides_credentials() {
        assert_eq!(
            super::location("mysql://bank:secret@db.example:3306/pqbank"),
            "mysql://db.example:3306/pqbank"
        );
        assert_eq!(super::location("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
