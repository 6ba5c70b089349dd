//! The rows of shared intent model versions ([`super::traits::ModelStore`], PostgreSQL only:
//! with SQLite the versions stay in files, `models::registry`). Plain data: the store knows
//! nothing of what a model is.

/// One stored model version, without its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVersionRow {
    pub id: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub who: String,
    /// `meta.json` and `metrics.json` as written (for listing without the files).
    pub meta: Option<String>,
    pub metrics: Option<String>,
}

/// One file of a version (a plain name, no folders).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// One activation, override or rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelActivationRow {
    /// Increasing: the last one names the version in force.
    pub id: i64,
    pub at: String,
    /// `activate`, `override` or `rollback`.
    pub kind: String,
    pub version: String,
    pub who: String,
}
