//! Photos shoppers send (a damaged item, a wrong colour): which kinds kefu takes and how it
//! tells them, from the bytes alone. The client's content type and file name are never trusted:
//! an image is what its first bytes say (JPEG, PNG, WebP, GIF), and it is served back only as
//! that type. SVG, HTML and everything else is refused, whatever it is called.
//!
//! At the bottom, like `records`: the store keeps [`ImageRef`]s in a message's meta, the wire
//! formats carry them, the web layer sniffs uploads with [`sniff`].

use serde::{Deserialize, Serialize};

/// The kinds of image kefu stores and serves, each with the one content type it is served as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageKind {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
    #[serde(rename = "image/gif")]
    Gif,
}

impl ImageKind {
    /// The content type it is served as (never the uploader's).
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Webp => "image/webp",
            ImageKind::Gif => "image/gif",
        }
    }

    /// The file name extension of a download.
    pub fn ext(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpg",
            ImageKind::Png => "png",
            ImageKind::Webp => "webp",
            ImageKind::Gif => "gif",
        }
    }

    /// The kind stored under this content type.
    pub fn from_mime(mime: &str) -> Option<ImageKind> {
        [ImageKind::Jpeg, ImageKind::Png, ImageKind::Webp, ImageKind::Gif]
            .into_iter()
            .find(|k| k.mime() == mime)
    }
}

/// A stored image as messages, frames and the console refer to it: its id, the type it was
/// sniffed as, its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub id: String,
    pub content_type: ImageKind,
    pub bytes: u64,
}

/// The smallest file taken as an image (a real image's headers alone are longer).
pub const MIN_BYTES: usize = 16;

/// Longest image id accepted from a client (ids kefu makes are 25 characters).
pub const MAX_ID_CHARS: usize = 64;

/// What kind of image `data` is, from its magic bytes; None for anything else (SVG, HTML, PDF,
/// a truncated header, text that names itself `.jpg`).
pub fn sniff(data: &[u8]) -> Option<ImageKind> {
    if data.len() < MIN_BYTES {
        return None;
    }
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(ImageKind::Jpeg);
    }
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(ImageKind::Png);
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        return Some(ImageKind::Gif);
    }
    // RIFF <size> WEBP, then a VP8 / VP8L / VP8X chunk
    if data.starts_with(b"RIFF") && &data[8..12] == b"WEBP" && data[12..15] == *b"VP8" {
        return Some(ImageKind::Webp);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(head: &[u8]) -> Vec<u8> {
        let mut v = head.to_vec();
        v.resize(64, 0);
        v
    }

    #[test]
    fn images_are_told_by_their_bytes() {
        assert_eq!(sniff(&padded(&[0xFF, 0xD8, 0xFF, 0xE0])), Some(ImageKind::Jpeg));
        assert_eq!(sniff(&padded(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")), Some(ImageKind::Png));
        assert_eq!(sniff(&padded(b"GIF89a")), Some(ImageKind::Gif));
        assert_eq!(sniff(&padded(b"GIF87a")), Some(ImageKind::Gif));
        assert_eq!(sniff(&padded(b"RIFF\x24\0\0\0WEBPVP8 ")), Some(ImageKind::Webp));
        assert_eq!(sniff(&padded(b"RIFF\x24\0\0\0WEBPVP8L")), Some(ImageKind::Webp));
    }

    #[test]
    fn anything_else_is_refused_whatever_it_claims() {
        for bad in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"[..],
            b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            b"  <html><body>not an image</body></html>",
            b"%PDF-1.7 a document, not a photo at all",
            b"RIFF\x24\0\0\0WAVEfmt a sound file of some kind",
            b"RIFF\x24\0\0\0WEBPnope: not a VP8 chunk after all",
            b"\x89PNG\r\n",
            b"",
        ] {
            assert_eq!(sniff(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        // a JPEG's magic with too little after it to be one
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), None);
    }

    #[test]
    fn the_kind_is_its_content_type_on_the_wire() {
        let r = ImageRef { id: "i1".into(), content_type: ImageKind::Png, bytes: 68 };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"id":"i1","content_type":"image/png","bytes":68}"#
        );
        assert_eq!(ImageKind::from_mime("image/webp"), Some(ImageKind::Webp));
        assert_eq!(ImageKind::from_mime("image/svg+xml"), None);
    }
}
