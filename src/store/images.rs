//! Photos shoppers send (migration 12): uploaded into a conversation, then sent as a message
//! that refers to them. Limits that need the stored rows are checked in the same job as the
//! write, so concurrent uploads cannot pass them together: images per conversation, and the
//! bytes all stored images may take.

use rusqlite::{params, OptionalExtension};

use super::records::{insert_message, new_id, now};
use super::{Fail, Sender, Store, StoreError};
use crate::images::{ImageKind, ImageRef};
use crate::records::MessageMeta;

/// Why an upload was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageQuota {
    /// The conversation has this many images already.
    Conversation(u32),
    /// All stored images together would take more than the configured bytes.
    Full,
}

/// What became of a shopper's photo message (see [`Store::accept_shopper_image`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageAccepted {
    /// Stored now as message `row`, referring to the image.
    New(i64, ImageRef),
    /// Already stored under the same client id; `answered` when something was sent after it.
    Known { answered: bool },
    /// Not stored: new but not admitted (closed conversation, rate limit).
    Refused,
    /// The conversation has no such image, or it was already sent in another message.
    NoSuchImage,
}

/// An image's bytes and the kind they were sniffed as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    pub kind: ImageKind,
    pub data: Vec<u8>,
}

impl Store {
    /// Stores an uploaded image in a conversation (not yet sent): its reference, or why the
    /// quota refused it (`per_conversation` images at most; all images' bytes together at most
    /// `max_total_bytes`).
    pub async fn add_image(
        &self,
        conversation_id: String,
        kind: ImageKind,
        data: Vec<u8>,
        per_conversation: u32,
        max_total_bytes: u64,
    ) -> Result<Result<ImageRef, ImageQuota>, StoreError> {
        use sha2::Digest;
        let sha = sha2::Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect::<String>();
        self.call(move |conn| {
            let held: u32 = conn
                .prepare_cached("SELECT COUNT(*) FROM images WHERE conversation_id = ?1")?
                .query_row(params![conversation_id], |r| r.get(0))?;
            if held >= per_conversation {
                return Ok(Err(ImageQuota::Conversation(per_conversation)));
            }
            let total: i64 = conn
                .prepare_cached("SELECT COALESCE(SUM(bytes), 0) FROM images")?
                .query_row([], |r| r.get(0))?;
            if total as u64 + data.len() as u64 > max_total_bytes {
                return Ok(Err(ImageQuota::Full));
            }
            let image = ImageRef { id: new_id("i", 24), content_type: kind, bytes: data.len() as u64 };
            conn.prepare_cached(
                "INSERT INTO images (id, conversation_id, content_type, bytes, sha256, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                image.id,
                conversation_id,
                kind.mime(),
                image.bytes as i64,
                sha,
                now()
            ])?;
            conn.prepare_cached("INSERT INTO image_data (id, data) VALUES (?1, ?2)")?
                .execute(params![image.id, data])?;
            Ok(Ok(image))
        })
        .await
    }

    /// An image of a conversation (sent or only uploaded): its bytes and kind. Read on a reader
    /// thread.
    pub async fn image(&self, conversation_id: String, id: String) -> Result<Option<ImageFile>, StoreError> {
        self.read(move |conn| {
            let row = conn
                .prepare_cached(
                    "SELECT i.content_type, d.data FROM images i JOIN image_data d ON d.id = i.id
                     WHERE i.id = ?1 AND i.conversation_id = ?2",
                )?
                .query_row(params![id, conversation_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .optional()?;
            row.map(|(mime, data)| {
                let kind = ImageKind::from_mime(&mime)
                    .ok_or_else(|| Fail::Corrupt(format!("image {id} has content type {mime:?}")))?;
                Ok(ImageFile { kind, data })
            })
            .transpose()
        })
        .await
    }

    /// Stores a shopper message that sends an uploaded image, under its client id, once (like
    /// [`Store::accept_shopper_message`]): the image must be this conversation's and not sent
    /// before; `text` is the stand-in stored as the message's text. With `admit` false nothing
    /// new is written.
    pub async fn accept_shopper_image(
        &self,
        conversation_id: String,
        client_msg_id: String,
        image_id: String,
        text: String,
        admit: bool,
    ) -> Result<ImageAccepted, StoreError> {
        self.call(move |conn| {
            let known: Option<i64> = conn
                .prepare_cached("SELECT id FROM messages WHERE conversation_id = ?1 AND client_msg_id = ?2")?
                .query_row(params![conversation_id, client_msg_id], |r| r.get(0))
                .optional()?;
            if let Some(id) = known {
                let answered: bool = conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1 AND id > ?2 AND sender != 'shopper')",
                    )?
                    .query_row(params![conversation_id, id], |r| r.get(0))?;
                return Ok(ImageAccepted::Known { answered });
            }
            let image = conn
                .prepare_cached(
                    "SELECT content_type, bytes FROM images
                     WHERE id = ?1 AND conversation_id = ?2 AND message_id IS NULL",
                )?
                .query_row(params![image_id, conversation_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .optional()?;
            let Some((mime, bytes)) = image else { return Ok(ImageAccepted::NoSuchImage) };
            if !admit {
                return Ok(ImageAccepted::Refused);
            }
            let kind = ImageKind::from_mime(&mime)
                .ok_or_else(|| Fail::Corrupt(format!("image {image_id} has content type {mime:?}")))?;
            let image = ImageRef { id: image_id, content_type: kind, bytes: bytes as u64 };
            let meta = MessageMeta { image: Some(image.clone()), ..MessageMeta::default() };
            let row =
                insert_message(conn, &conversation_id, Some(&client_msg_id), Sender::Shopper, &text, Some(&meta))?;
            conn.prepare_cached("UPDATE images SET message_id = ?2 WHERE id = ?1")?.execute(params![image.id, row])?;
            Ok(ImageAccepted::New(row, image))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Lang;

    fn png() -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        v.resize(100, 7);
        v
    }

    #[tokio::test]
    async fn an_image_is_uploaded_then_sent_once_within_the_quotas() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("kefu.db")).unwrap();
        let conv = store.open_conversation(None, Lang::Zh).await.unwrap();
        let other = store.open_conversation(None, Lang::Zh).await.unwrap();
        let img = store.add_image(conv.id.clone(), ImageKind::Png, png(), 2, 1000).await.unwrap().unwrap();
        assert_eq!((img.content_type, img.bytes), (ImageKind::Png, 100));
        let file = store.image(conv.id.clone(), img.id.clone()).await.unwrap().unwrap();
        assert_eq!((file.kind, file.data), (ImageKind::Png, png()));
        // another conversation's image is not there
        assert_eq!(store.image(other.id.clone(), img.id.clone()).await.unwrap(), None);

        // the conversation's quota, then the store's
        store.add_image(conv.id.clone(), ImageKind::Png, png(), 2, 1000).await.unwrap().unwrap();
        let third = store.add_image(conv.id.clone(), ImageKind::Png, png(), 2, 1000).await.unwrap();
        assert_eq!(third, Err(ImageQuota::Conversation(2)));
        let full = store.add_image(other.id.clone(), ImageKind::Png, png(), 2, 250).await.unwrap();
        assert_eq!(full, Err(ImageQuota::Full));

        // sent as a message: once per client id, and only from its own conversation
        let send = |conv: &str, client: &str, admit| {
            store.accept_shopper_image(conv.into(), client.into(), img.id.clone(), "[图片]".into(), admit)
        };
        assert_eq!(send(&other.id, "m1", true).await.unwrap(), ImageAccepted::NoSuchImage);
        assert_eq!(send(&conv.id, "m1", false).await.unwrap(), ImageAccepted::Refused);
        let ImageAccepted::New(row, sent) = send(&conv.id, "m1", true).await.unwrap() else { panic!() };
        assert_eq!(sent, img);
        assert_eq!(send(&conv.id, "m1", true).await.unwrap(), ImageAccepted::Known { answered: false });
        assert_eq!(send(&conv.id, "m2", true).await.unwrap(), ImageAccepted::NoSuchImage, "sent already");
        let msgs = store.messages(conv.id.clone()).await.unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].id, row);
        assert_eq!(msgs[0].text, "[图片]");
        assert_eq!(msgs[0].meta.as_ref().and_then(|m| m.image.clone()), Some(img));
    }
}
