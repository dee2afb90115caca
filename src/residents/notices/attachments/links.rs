//! Attachments as notices list them: name, type, size and the download URL that fits
//! the reader, a resident or staff.

use std::collections::HashMap;

use serde::Serialize;

use super::{NoticeAttachment, kind::FileKind, store};
use crate::db::Db;

/// An attachment as a notice lists it: what it is and where to download it.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentLink {
    pub attachment_id: String,
    pub file_name: String,
    pub content_type: String,
    pub byte_size: i64,
    pub download_url: String,
}

impl AttachmentLink {
    /// Describes `attachment` for a resident, with the URL of the resident API.
    pub fn for_resident(attachment: NoticeAttachment, notice_id: i64) -> Self {
        let url =
            format!("/api/v1/my/notices/{notice_id}/attachments/{}", attachment.attachment_id);
        Self::new(attachment, url)
    }

    /// Describes `attachment` for staff, with the URL of the staff API.
    pub fn for_staff(attachment: NoticeAttachment, notice_id: i64) -> Self {
        let url = format!(
            "/api/v1/resident-notices/{notice_id}/attachments/{}",
            attachment.attachment_id
        );
        Self::new(attachment, url)
    }

    fn new(attachment: NoticeAttachment, download_url: String) -> Self {
        AttachmentLink {
            attachment_id: attachment.attachment_id,
            file_name: attachment.file_name,
            content_type: attachment.content_type,
            byte_size: attachment.byte_size,
            download_url,
        }
    }

    /// Returns the type's short label, such as `PDF`.
    pub fn kind_label(&self) -> &'static str {
        kind_label(&self.content_type)
    }

    /// Formats the size for people, such as `1.5 MiB`.
    pub fn size_label(&self) -> String {
        size_label(self.byte_size)
    }
}

/// Returns the short label of a stored content type, such as `PDF`.
pub fn kind_label(content_type: &str) -> &'static str {
    FileKind::from_content_type(content_type).map_or("", FileKind::label)
}

/// Formats a size for people: bytes, or KiB or MiB with one decimal.
pub fn size_label(byte_size: i64) -> String {
    let bytes = byte_size as f64;
    if byte_size < 1024 {
        format!("{byte_size} B")
    } else if byte_size < 1024 * 1024 {
        format!("{:.1} KiB", bytes / 1024.0)
    } else {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    }
}

/// Lists the attachments of `notice_ids` as links for residents.
///
/// # Errors
/// A database failure.
pub async fn resident_links(
    db: &Db,
    notice_ids: &[i64],
) -> Result<HashMap<i64, Vec<AttachmentLink>>, sqlx::Error> {
    let rows = store::for_notices(db, notice_ids).await?;
    Ok(rows
        .into_iter()
        .map(|(notice_id, rows)| {
            let links = rows.into_iter().map(|row| AttachmentLink::for_resident(row, notice_id));
            (notice_id, links.collect())
        })
        .collect())
}

/// Lists the attachments of notice `notice_id` as links for staff.
///
/// # Errors
/// A database failure.
pub async fn staff_links(db: &Db, notice_id: i64) -> Result<Vec<AttachmentLink>, sqlx::Error> {
    let mut rows = store::for_notices(db, &[notice_id]).await?;
    let rows = rows.remove(&notice_id).unwrap_or_default();
    Ok(rows.into_iter().map(|row| AttachmentLink::for_staff(row, notice_id)).collect())
}
