//! [`ImageStore`] on PostgreSQL: shoppers' photos (the same rows and rules as `store::images`;
//! the bytes in `image_data`, BYTEA).
//!
//! Several nodes: an upload checks the quotas (images per conversation, bytes of all images)
//! under one **transaction-scoped advisory lock** for all uploads, so concurrent uploads on any
//! nodes cannot pass a quota together (uploads are rare; the lock is held for two counts and two
//! inserts). Sending an image holds the image's row (`SELECT … FOR UPDATE`), so it is sent in
//! one message, once per client id.

use sha2::Digest;

use super::conversations::insert_message;
use super::PgStore;
use crate::images::{ImageKind, ImageRef};
use crate::records::MessageMeta;
use crate::store::images::{ImageAccepted, ImageFile, ImageQuota};
use crate::store::records::new_id;
use crate::store::traits::ImageStore;
use crate::store::{now, Sender, StoreError};

/// The advisory lock key every upload's quota check runs under ("kefu" + 2).
const UPLOAD_LOCK: i64 = 0x6b65_6675_0002;

fn kind(mime: &str, id: &str) -> Result<ImageKind, StoreError> {
    ImageKind::from_mime(mime)
        .ok_or_else(|| StoreError::Corrupt(format!("image {id} has content type {mime:?}")))
}

impl ImageStore for PgStore {
    async fn add_image(
        &self,
        conversation_id: String,
        kind: ImageKind,
        data: Vec<u8>,
        per_conversation: u32,
        max_total_bytes: u64,
    ) -> Result<Result<ImageRef, ImageQuota>, StoreError> {
        let sha = sha2::Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect::<String>();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&UPLOAD_LOCK]).await?;
        let st = tx.prepare_cached("SELECT COUNT(*) FROM images WHERE conversation_id = $1").await?;
        let held: i64 = tx.query_one(&st, &[&conversation_id]).await?.try_get(0)?;
        if held >= i64::from(per_conversation) {
            return Ok(Err(ImageQuota::Conversation(per_conversation)));
        }
        let st = tx.prepare_cached("SELECT COALESCE(SUM(bytes), 0)::bigint FROM images").await?;
        let total: i64 = tx.query_one(&st, &[]).await?.try_get(0)?;
        if total as u64 + data.len() as u64 > max_total_bytes {
            return Ok(Err(ImageQuota::Full));
        }
        let image = ImageRef { id: new_id("i", 24), content_type: kind, bytes: data.len() as u64 };
        let st = tx
            .prepare_cached(
                "INSERT INTO images (id, conversation_id, content_type, bytes, sha256, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await?;
        tx.execute(&st, &[&image.id, &conversation_id, &kind.mime(), &(data.len() as i64), &sha, &now()])
            .await?;
        let st = tx.prepare_cached("INSERT INTO image_data (id, data) VALUES ($1, $2)").await?;
        tx.execute(&st, &[&image.id, &data]).await?;
        tx.commit().await?;
        Ok(Ok(image))
    }

    async fn image(&self, conversation_id: String, id: String) -> Result<Option<ImageFile>, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(
                "SELECT i.content_type, d.data FROM images i JOIN image_data d ON d.id = i.id
                 WHERE i.id = $1 AND i.conversation_id = $2",
            )
            .await?;
        let Some(row) = client.query_opt(&st, &[&id, &conversation_id]).await? else { return Ok(None) };
        Ok(Some(ImageFile { kind: kind(row.try_get(0)?, &id)?, data: row.try_get(1)? }))
    }

    async fn accept_shopper_image(
        &self,
        conversation_id: String,
        client_msg_id: String,
        image_id: String,
        text: String,
        admit: bool,
    ) -> Result<ImageAccepted, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // the image first: a second send of it (any client id) waits here for the first
        let st = tx
            .prepare_cached(
                "SELECT content_type, bytes, message_id IS NULL FROM images
                 WHERE id = $1 AND conversation_id = $2 FOR UPDATE",
            )
            .await?;
        let image = tx.query_opt(&st, &[&image_id, &conversation_id]).await?;
        let st = tx
            .prepare_cached("SELECT id FROM messages WHERE conversation_id = $1 AND client_msg_id = $2")
            .await?;
        if let Some(known) = tx.query_opt(&st, &[&conversation_id, &client_msg_id]).await? {
            let id: i64 = known.try_get(0)?;
            let st = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND id > $2 AND sender <> 'shopper')",
                )
                .await?;
            let answered = tx.query_one(&st, &[&conversation_id, &id]).await?.try_get(0)?;
            return Ok(ImageAccepted::Known { answered });
        }
        let unsent = match &image {
            Some(r) => r.try_get::<_, bool>(2)?,
            None => false,
        };
        let (Some(image), true) = (image, unsent) else { return Ok(ImageAccepted::NoSuchImage) };
        if !admit {
            return Ok(ImageAccepted::Refused);
        }
        let bytes: i64 = image.try_get(1)?;
        let image =
            ImageRef { content_type: kind(image.try_get(0)?, &image_id)?, id: image_id, bytes: bytes as u64 };
        let meta = MessageMeta { image: Some(image.clone()), ..MessageMeta::default() };
        let row =
            insert_message(&tx, &conversation_id, Some(&client_msg_id), Sender::Shopper, &text, Some(&meta))
                .await?;
        let st = tx.prepare_cached("UPDATE images SET message_id = $2 WHERE id = $1").await?;
        tx.execute(&st, &[&image.id, &row]).await?;
        tx.commit().await?;
        Ok(ImageAccepted::New(row, image))
    }
}
