//! [`ModelStore`] on PostgreSQL: intent model versions (their files as `bytea`) and the
//! activation history every node follows. An activation is recorded only if no other was
//! recorded since the one it was decided on (an advisory lock for the transaction makes the
//! check and the insert one step across nodes).

use super::PgStore;
use crate::store::models::{ModelActivationRow, ModelFile, ModelVersionRow};
use crate::store::traits::ModelStore;
use crate::store::{now, StoreError};

/// The advisory lock activations are recorded under ("kefu" + 4).
const ACTIVATION_LOCK: i64 = 0x6b65_6675_0004;

impl ModelStore for PgStore {
    async fn model_versions(&self) -> Result<Vec<ModelVersionRow>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query("SELECT id, created, who, meta, metrics FROM model_versions ORDER BY id DESC", &[])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ModelVersionRow {
                    id: r.try_get(0)?,
                    created: r.try_get(1)?,
                    who: r.try_get(2)?,
                    meta: r.try_get(3)?,
                    metrics: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn model_files(&self, id: String) -> Result<Option<Vec<ModelFile>>, StoreError> {
        let client = self.pool.get().await?;
        if client.query_opt("SELECT 1 FROM model_versions WHERE id = $1", &[&id]).await?.is_none() {
            return Ok(None);
        }
        let rows = client
            .query("SELECT name, data FROM model_files WHERE version = $1 ORDER BY name", &[&id])
            .await?;
        let files = rows
            .iter()
            .map(|r| Ok(ModelFile { name: r.try_get(0)?, data: r.try_get(1)? }))
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(files))
    }

    async fn add_model_version(
        &self,
        version: ModelVersionRow,
        files: Vec<ModelFile>,
    ) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let added = tx
            .execute(
                "INSERT INTO model_versions (id, created, who, meta, metrics, added_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                &[&version.id, &version.created, &version.who, &version.meta, &version.metrics, &now()],
            )
            .await?;
        if added == 0 {
            return Ok(false);
        }
        let insert = tx.prepare("INSERT INTO model_files (version, name, data) VALUES ($1, $2, $3)").await?;
        for f in &files {
            tx.execute(&insert, &[&version.id, &f.name, &f.data]).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn record_model_activation(
        &self,
        after: Option<i64>,
        kind: String,
        version: String,
        who: String,
    ) -> Result<Option<i64>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ACTIVATION_LOCK]).await?;
        let last: Option<i64> =
            tx.query_one("SELECT MAX(id) FROM model_activations", &[]).await?.try_get(0)?;
        if last != after {
            return Ok(None);
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO model_activations (at, kind, version, who) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&now(), &kind, &version, &who],
            )
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(Some(id))
    }

    async fn model_activations(&self) -> Result<Vec<ModelActivationRow>, StoreError> {
        let client = self.pool.get().await?;
        let rows =
            client.query("SELECT id, at, kind, version, who FROM model_activations ORDER BY id", &[]).await?;
        rows.iter()
            .map(|r| {
                Ok(ModelActivationRow {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    version: r.try_get(3)?,
                    who: r.try_get(4)?,
                })
            })
            .collect()
    }
}
