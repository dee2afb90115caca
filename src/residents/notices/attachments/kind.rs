//! Type checks and file-name cleaning of notice attachments. A type is recognised by
//! the first bytes and the name's extension together.

/// Longest stored file name, in characters; longer names lose the end of their stem.
pub const MAX_FILE_NAME_CHARS: usize = 120;

/// The file types a notice may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
    Docx,
    Xlsx,
}

impl FileKind {
    const ALL: [FileKind; 5] =
        [FileKind::Pdf, FileKind::Jpeg, FileKind::Png, FileKind::Docx, FileKind::Xlsx];

    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// Short upper-case label shown to people, such as `PDF`.
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "PDF",
            FileKind::Jpeg => "JPEG",
            FileKind::Png => "PNG",
            FileKind::Docx => "DOCX",
            FileKind::Xlsx => "XLSX",
        }
    }

    /// Finds the kind of a stored content type.
    pub fn from_content_type(content_type: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|kind| kind.content_type() == content_type)
    }

    /// Reads the kind a file name claims from its extension, ignoring case.
    fn from_extension(file_name: &str) -> Option<FileKind> {
        let (_, extension) = file_name.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "pdf" => Some(FileKind::Pdf),
            "jpg" | "jpeg" => Some(FileKind::Jpeg),
            "png" => Some(FileKind::Png),
            "docx" => Some(FileKind::Docx),
            "xlsx" => Some(FileKind::Xlsx),
            _ => None,
        }
    }

    /// Recognises the content by its first bytes: `%PDF-`, the JPEG and PNG signatures,
    /// and for DOCX and XLSX a ZIP archive holding `word/document.xml` or
    /// `xl/workbook.xml`.
    ///
    /// NOTE: the Office check looks for the part name in the archive's headers, which
    /// are stored uncompressed. It does not parse the archive, so a ZIP that only names
    /// such a part passes.
    fn sniff(bytes: &[u8]) -> Option<FileKind> {
        if bytes.starts_with(b"%PDF-") {
            Some(FileKind::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileKind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(FileKind::Png)
        } else if bytes.starts_with(b"PK\x03\x04") {
            if contains(bytes, b"word/document.xml") {
                Some(FileKind::Docx)
            } else if contains(bytes, b"xl/workbook.xml") {
                Some(FileKind::Xlsx)
            } else {
                None
            }
        } else {
            None
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Reason a file cannot be a notice attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindError {
    /// The name has no accepted extension, or the content is no accepted type.
    Unsupported,
    /// The content is an accepted type, but not the one the name's extension claims.
    Mismatch { content: FileKind },
}

/// Checks that the content of `bytes` and the extension of `file_name` name the same
/// accepted type. The client's `Content-Type` is never consulted.
///
/// # Errors
/// [`KindError::Unsupported`] for an unknown extension or content, and
/// [`KindError::Mismatch`] for a renamed file.
pub fn check_kind(file_name: &str, bytes: &[u8]) -> Result<FileKind, KindError> {
    let claimed = FileKind::from_extension(file_name).ok_or(KindError::Unsupported)?;
    let content = FileKind::sniff(bytes).ok_or(KindError::Unsupported)?;
    if content != claimed {
        return Err(KindError::Mismatch { content });
    }
    Ok(content)
}

/// Makes an uploaded file name safe to store and to show. It drops any folder part
/// (`/` or `\`), control characters and bidirectional overrides that could disguise
/// the extension, and trims spaces. A name over [`MAX_FILE_NAME_CHARS`] characters
/// loses the end of its stem but keeps its extension. The result is empty when
/// nothing is left.
pub fn sanitise_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        base.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() <= MAX_FILE_NAME_CHARS {
        return cleaned.to_owned();
    }
    let (stem, extension) = match cleaned.rsplit_once('.') {
        Some((stem, extension)) if extension.chars().count() <= 10 => (stem, extension),
        _ => (cleaned, ""),
    };
    let room = MAX_FILE_NAME_CHARS - extension.chars().count() - usize::from(!extension.is_empty());
    let stem: String = stem.chars().take(room).collect();
    let stem = stem.trim_end();
    if extension.is_empty() { stem.to_owned() } else { format!("{stem}.{extension}") }
}

/// Reports the Unicode characters that reorder text, such as U+202E, which can make
/// `invoice<U+202E>fdp.exe` display as `invoiceexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn check_kind_accepts_matching_name_and_content() {
        let cases: [(&str, &[u8], FileKind); 5] = [
            ("通知.pdf", b"%PDF-1.7\n", FileKind::Pdf),
            ("photo.JPG", &[0xFF, 0xD8, 0xFF, 0xE0], FileKind::Jpeg),
            ("map.png", PNG, FileKind::Png),
            ("letter.docx", b"PK\x03\x04....word/document.xml", FileKind::Docx),
            ("roster.xlsx", b"PK\x03\x04....xl/workbook.xml", FileKind::Xlsx),
        ];
        for (name, bytes, kind) in cases {
            assert_eq!(check_kind(name, bytes), Ok(kind), "{name}");
        }
    }

    #[test]
    fn check_kind_rejects_a_renamed_file() {
        let error = check_kind("report.pdf", PNG).unwrap_err();
        assert_eq!(error, KindError::Mismatch { content: FileKind::Png });
    }

    #[test]
    fn check_kind_rejects_unknown_types() {
        let cases: [(&str, &[u8]); 4] = [
            ("setup.exe", b"MZ\x90\0"),
            ("notes.pdf", b"just text"),
            ("archive.docx", b"PK\x03\x04 no office part"),
            ("no-extension", b"%PDF-1.7"),
        ];
        for (name, bytes) in cases {
            assert_eq!(check_kind(name, bytes), Err(KindError::Unsupported), "{name}");
        }
    }

    #[test]
    fn sanitise_drops_folders_and_control_characters() {
        assert_eq!(sanitise_file_name("C:\\Users\\王\\停水通知.pdf"), "停水通知.pdf");
        assert_eq!(sanitise_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_file_name(" a\u{0}b\r\n.pdf "), "ab.pdf");
        assert_eq!(sanitise_file_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(sanitise_file_name("dir/"), "");
    }

    #[test]
    fn sanitise_shortens_the_stem_and_keeps_the_extension() {
        let long = format!("{}.pdf", "长".repeat(300));
        let short = sanitise_file_name(&long);
        assert_eq!(short.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(short.ends_with("长.pdf"), "{short}");
    }
}
