//! Uploaded files kept on disk: case photos and notice attachments.
//!
//! Each file is named by a random id of 128 bits in hex that the server generates, so a
//! file name never comes from user input and cannot leave its folder. The database row
//! of each context contains the id and what the file is; this module only names, writes
//! and describes files.

use std::path::{Path, PathBuf};

/// Length of a file id: 16 random bytes in hex.
const FILE_ID_CHARS: usize = 32;

/// Generates a new file id: 128 random bits in lowercase hex.
pub fn new_file_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Reports whether `text` has the form of a file id, so that a path built from it
/// stays inside its folder. Anything else is treated as an unknown file.
pub fn is_file_id(text: &str) -> bool {
    text.len() == FILE_ID_CHARS && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Builds the path of stored file `file_id` in `directory`. Ids are generated hex, never
/// user input, so the path stays inside `directory`.
pub fn file_path(directory: &Path, file_id: &str) -> PathBuf {
    directory.join(file_id)
}

/// Writes `bytes` to a temporary name and renames it to `path`, so a reader never sees
/// half a file.
///
/// # Errors
/// A failed write or rename.
pub async fn write_file(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    let temporary = path.with_extension("partial");
    tokio::fs::write(&temporary, bytes).await?;
    tokio::fs::rename(&temporary, path).await
}

/// Builds a `Content-Disposition: attachment` value that offers `file_name` to the
/// browser. The quoted `filename` is an ASCII fallback with other characters replaced
/// by `_`. The `filename*` parameter carries the exact UTF-8 name, percent-encoded in
/// the RFC 5987 form, and browsers that read it prefer it, so Chinese names survive.
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(file_name.len() * 3);
    for byte in file_name.bytes() {
        // RFC 5987 attr-char: letters, digits and !#$&+-.^_`|~ stay as they are.
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_id_is_32_hex_characters() {
        let id = new_file_id();
        assert!(is_file_id(&id), "{id}");
        assert!(!is_file_id("../../etc/passwd"));
        assert!(!is_file_id(&"g".repeat(32)));
        assert!(!is_file_id(&"a".repeat(31)));
    }

    #[test]
    fn content_disposition_encodes_chinese_names() {
        let value = content_disposition("停水 通知.pdf");
        assert_eq!(
            value,
            "attachment; filename=\"__ __.pdf\"; \
             filename*=UTF-8''%E5%81%9C%E6%B0%B4%20%E9%80%9A%E7%9F%A5.pdf"
        );
    }

    #[test]
    fn content_disposition_escapes_quotes_in_the_fallback() {
        let value = content_disposition("a\"b\\c;d.pdf");
        assert!(value.starts_with("attachment; filename=\"a_b_c;d.pdf\";"), "{value}");
        assert!(value.ends_with("filename*=UTF-8''a%22b%5Cc%3Bd.pdf"), "{value}");
    }
}
