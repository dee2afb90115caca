//! Encryption at rest and keyed hashes of the registry's sensitive numbers.
//!
//! A stored value reads `v1:<key id>:<base64 of nonce and ciphertext>`. The key id names
//! the data key that sealed it, so a rotation can find the values it has not reached
//! and a node holding several keys picks the right one. AES-256-GCM takes a random
//! 96-bit nonce per value. The field name is the associated data, so a ciphertext moved
//! from the phone column to the identity column fails to open.

use aes_gcm::{
    Aes256Gcm, Nonce,
    aead::{Aead, KeyInit, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Length of a data key and of the lookup key, in bytes (256 bits).
pub const KEY_BYTES: usize = 32;
/// Length of an AES-GCM nonce, in bytes (96 bits, the size GCM is designed for).
const NONCE_BYTES: usize = 12;
/// Prefix of the stored format, so that a later format can sit next to this one.
const FORMAT: &str = "v1";

/// A sensitive field; its name separates the ciphertexts and hashes of each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    IdentityNumber,
    Phone,
    Email,
    /// The lookup key itself, sealed under the data key in the `resident_key` table.
    LookupKey,
    /// An uploaded roster kept between an import's dry run and its apply, base64 inside.
    StagedImport,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::IdentityNumber => "identity_number",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::LookupKey => "lookup_key",
            Field::StagedImport => "staged_import",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the data key is not base64; create one with `head -c 32 /dev/urandom | base64`")]
    NotBase64,
    #[error("the data key has {0} bytes; it must be base64 of exactly 32 bytes")]
    WrongLength(usize),
    #[error("a stored value was sealed with data key {0}, which is not configured")]
    UnknownKey(String),
    #[error("a stored value is damaged or was sealed with another key")]
    Corrupt,
}

/// One AES-256 data key and its public id.
#[derive(Clone)]
pub struct DataKey {
    id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({})", self.id)
    }
}

impl DataKey {
    /// Reads base64 of 32 bytes, ignoring surrounding whitespace such as a final newline.
    ///
    /// # Errors
    /// [`KeyError::NotBase64`] or [`KeyError::WrongLength`].
    pub fn from_base64(text: &str) -> Result<DataKey, KeyError> {
        let bytes = BASE64.decode(text.trim()).map_err(|_| KeyError::NotBase64)?;
        if bytes.len() != KEY_BYTES {
            return Err(KeyError::WrongLength(bytes.len()));
        }
        Ok(DataKey::from_bytes(&bytes))
    }

    /// Generates a random key and returns it with its base64 text, for a key file.
    pub fn generate() -> (DataKey, String) {
        let bytes: [u8; KEY_BYTES] = rand::random();
        (DataKey::from_bytes(&bytes), BASE64.encode(bytes))
    }

    fn from_bytes(bytes: &[u8]) -> DataKey {
        // The id is a short digest, so it distinguishes keys without revealing them.
        let digest = Sha256::new().chain_update(b"citycore data key id\0").chain_update(bytes);
        let id = hex::encode(&digest.finalize()[..4]);
        // Callers pass exactly KEY_BYTES, the one length AES-256 accepts.
        let cipher = Aes256Gcm::new_from_slice(bytes).expect("a 32-byte key");
        DataKey { id, cipher }
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The current data key, which seals new values, and older ones that still open them.
#[derive(Debug, Clone)]
pub struct KeySet {
    pub current: DataKey,
    pub previous: Vec<DataKey>,
}

impl KeySet {
    /// Seals `plain` under the current key with a fresh random nonce.
    pub fn seal(&self, field: Field, plain: &str) -> String {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let payload = Payload { msg: plain.as_bytes(), aad: field.as_str().as_bytes() };
        // AES-GCM rejects only messages near 64 GiB, and the largest value sealed here, a
        // staged import of at most 20 MiB in base64, is under 30 MiB.
        let sealed = self
            .current
            .cipher
            .encrypt(&Nonce::from(nonce_bytes), payload)
            .expect("AES-GCM encrypts messages under 64 GiB");
        let mut bytes = nonce_bytes.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{FORMAT}:{}:{}", self.current.id, BASE64.encode(bytes))
    }

    /// Opens a value sealed by [`KeySet::seal`] under any key of the set.
    ///
    /// # Errors
    /// [`KeyError::UnknownKey`] when its key is not configured, [`KeyError::Corrupt`]
    /// when it does not authenticate.
    pub fn open(&self, field: Field, stored: &str) -> Result<String, KeyError> {
        let mut parts = stored.splitn(3, ':');
        let (Some(FORMAT), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Corrupt);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == key_id)
            .ok_or_else(|| KeyError::UnknownKey(key_id.to_owned()))?;
        let bytes = BASE64.decode(body).map_err(|_| KeyError::Corrupt)?;
        if bytes.len() < NONCE_BYTES {
            return Err(KeyError::Corrupt);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| KeyError::Corrupt)?;
        let payload = Payload { msg: sealed, aad: field.as_str().as_bytes() };
        let plain =
            key.cipher.decrypt(&Nonce::from(nonce), payload).map_err(|_| KeyError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| KeyError::Corrupt)
    }

    /// Reports whether `stored` is sealed under the current key.
    pub fn is_current(&self, stored: &str) -> bool {
        stored.strip_prefix(FORMAT).and_then(|rest| rest.strip_prefix(':')).is_some_and(|rest| {
            rest.strip_prefix(self.current.id.as_str()).is_some_and(|r| r.starts_with(':'))
        })
    }
}

/// Everything the registry needs to seal, open and look up sensitive values.
#[derive(Clone)]
pub struct Keyring {
    pub keys: KeySet,
    lookup_key: [u8; KEY_BYTES],
}

/// Prints the key ids only, so that a debug log line cannot leak the lookup key.
impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("keys", &self.keys).finish_non_exhaustive()
    }
}

impl Keyring {
    pub fn new(keys: KeySet, lookup_key: [u8; KEY_BYTES]) -> Keyring {
        Keyring { keys, lookup_key }
    }

    pub fn lookup_key(&self) -> &[u8; KEY_BYTES] {
        &self.lookup_key
    }

    /// Returns the HMAC-SHA256 of a normalized value, hex-encoded, for exact lookup.
    ///
    /// Identity numbers have little entropy, so a plain hash could be reversed by
    /// trying every birth date. The secret key prevents that for anyone who has only
    /// the database.
    pub fn lookup_hash(&self, field: Field, normalized: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup_key)
            .expect("HMAC takes keys of any length");
        mac.update(field.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(normalized.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn seal(&self, field: Field, plain: &str) -> String {
        self.keys.seal(field, plain)
    }

    /// Opens a stored value; see [`KeySet::open`].
    ///
    /// # Errors
    /// When the value's key is missing or the value is damaged.
    pub fn open(&self, field: Field, stored: &str) -> Result<String, KeyError> {
        self.keys.open(field, stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> KeySet {
        KeySet { current: DataKey::generate().0, previous: Vec::new() }
    }

    #[test]
    fn seal_open_round_trip() {
        let keys = keys();
        let sealed = keys.seal(Field::IdentityNumber, "11010519491231002X");
        assert!(!sealed.contains("1101051949"), "{sealed}");
        assert!(sealed.starts_with(&format!("v1:{}:", keys.current.id())));
        assert_eq!(keys.open(Field::IdentityNumber, &sealed).unwrap(), "11010519491231002X");
    }

    #[test]
    fn seal_uses_a_new_nonce_for_each_value() {
        let keys = keys();
        assert_ne!(keys.seal(Field::Phone, "13800138000"), keys.seal(Field::Phone, "13800138000"));
    }

    #[test]
    fn open_refuses_a_value_moved_to_another_field() {
        let keys = keys();
        let sealed = keys.seal(Field::Phone, "13800138000");
        assert!(matches!(keys.open(Field::IdentityNumber, &sealed), Err(KeyError::Corrupt)));
    }

    #[test]
    fn open_with_previous_or_missing_key() {
        let old = keys();
        let sealed = old.seal(Field::Phone, "13800138000");
        let rotated =
            KeySet { current: DataKey::generate().0, previous: vec![old.current.clone()] };
        assert_eq!(rotated.open(Field::Phone, &sealed).unwrap(), "13800138000");
        assert!(!rotated.is_current(&sealed));
        let without_old = KeySet { current: rotated.current.clone(), previous: Vec::new() };
        assert!(matches!(without_old.open(Field::Phone, &sealed), Err(KeyError::UnknownKey(_))));
    }

    #[test]
    fn from_base64_rejects_short_and_malformed_keys() {
        assert!(matches!(DataKey::from_base64("AAAA"), Err(KeyError::WrongLength(3))));
        assert!(matches!(DataKey::from_base64("not base64!"), Err(KeyError::NotBase64)));
        let (key, text) = DataKey::generate();
        assert_eq!(DataKey::from_base64(&format!("{text}\n")).unwrap().id(), key.id());
    }

    #[test]
    fn keyring_debug_hides_key_bytes() {
        let ring = Keyring::new(keys(), [7; KEY_BYTES]);
        let shown = format!("{ring:?}");
        assert!(!shown.contains("7, 7"), "{shown}");
        assert!(shown.contains(ring.keys.current.id()), "{shown}");
    }

    #[test]
    fn lookup_hash_depends_on_field_and_key() {
        let ring = Keyring::new(keys(), [7; KEY_BYTES]);
        let other = Keyring::new(keys(), [8; KEY_BYTES]);
        let hash = ring.lookup_hash(Field::Phone, "13800138000");
        assert_eq!(hash, ring.lookup_hash(Field::Phone, "13800138000"));
        assert_ne!(hash, ring.lookup_hash(Field::IdentityNumber, "13800138000"));
        assert_ne!(hash, other.lookup_hash(Field::Phone, "13800138000"));
    }
}
