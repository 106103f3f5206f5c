//! Envelope encryption of Actions' secret values.
//!
//! Each value is sealed under a data key of its own (AES-256-GCM), bound to
//! its tenant, Action and name as associated data, so that a row copied
//! onto another secret does not open. The data key is sealed in turn under
//! the operator's key, which never enters the database: a row names only
//! the key's id (a hash of it). Rotating the operator's key re-seals the
//! data keys alone ([`SealingKeys::reseal`], run by the operator's
//! `actions-control-plane reseal-secrets`); values are not touched.
//!
//! The operator gives the current key and, during a rotation, the previous
//! ones; a control plane whose keys do not open what the database holds,
//! or that shares none with the keys control planes were given before,
//! refuses to start (see `ControlPlane::open_secrets`), so a wrong key is
//! found at start-up, not at the first sign-in that needs a secret.

use crate::Error;
use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use sha2::Digest as _;

/// Bytes of an operator's key and of a data key.
pub const KEY_BYTES: usize = 32;

/// What a data key is sealed with, besides the operator's key: a version
/// tag, so that a future format cannot be mistaken for this one.
const WRAP_CONTEXT: &[u8] = b"actions secret data key v1";

/// One operator key, with its id.
struct OperatorKey {
    id: String,
    key: LessSafeKey,
}

impl OperatorKey {
    fn new(bytes: &[u8; KEY_BYTES]) -> Self {
        let digest = sha2::Sha256::digest([b"actions sealing key id\0".as_slice(), bytes].concat());
        Self {
            id: hex::encode(&digest[..8]),
            key: aead_key(bytes),
        }
    }
}

fn aead_key(bytes: &[u8; KEY_BYTES]) -> LessSafeKey {
    // 32 bytes is AES-256's key length: this cannot fail.
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES-256 key"))
}

/// The operator's keys: the current one seals, every one opens.
pub struct SealingKeys {
    current: OperatorKey,
    previous: Vec<OperatorKey>,
    random: SystemRandom,
}

impl std::fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKeys")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A value as stored: which operator key sealed its data key, the sealed
/// data key, and the sealed value (each a nonce, then ciphertext and tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The operator key's id.
    pub key_id: String,
    /// The data key, sealed under the operator key.
    pub wrapped_key: Vec<u8>,
    /// The value, sealed under the data key.
    pub ciphertext: Vec<u8>,
}

/// Which secret a value belongs to: sealed into it as associated data.
#[derive(Debug, Clone, Copy)]
pub struct SecretPlace<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The Action's slug.
    pub slug: &'a str,
    /// The secret's name.
    pub name: &'a str,
}

impl SecretPlace<'_> {
    fn associated_data(&self) -> Vec<u8> {
        [
            b"actions secret v1\0".as_slice(),
            self.tenant.as_bytes(),
            b"\0",
            self.slug.as_bytes(),
            b"\0",
            self.name.as_bytes(),
        ]
        .concat()
    }
}

/// Reads a key as the operator gives it: 32 bytes in base64 (what
/// `actions-control-plane generate-secrets-key` prints) or in hex.
pub fn parse_key(text: &str, what: &str) -> Result<[u8; KEY_BYTES], Error> {
    let text = text.trim();
    let bytes = if text.len() == KEY_BYTES * 2 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).ok()
    } else {
        base64::engine::general_purpose::STANDARD.decode(text).ok()
    };
    bytes
        .and_then(|b| <[u8; KEY_BYTES]>::try_from(b).ok())
        .ok_or_else(|| {
            Error::Config(format!(
                "{what}: not a key; give {KEY_BYTES} random bytes in base64 or hex \
                 (`actions-control-plane generate-secrets-key` prints one)"
            ))
        })
}

/// A new random key, in base64.
pub fn generate_key() -> Result<String, Error> {
    let mut bytes = [0u8; KEY_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("no randomness for a key".into()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

impl SealingKeys {
    /// The current key and the previous ones (which only open).
    pub fn new(current: &[u8; KEY_BYTES], previous: &[[u8; KEY_BYTES]]) -> Self {
        let current = OperatorKey::new(current);
        let previous = previous
            .iter()
            .map(OperatorKey::new)
            .filter(|k| k.id != current.id)
            .collect();
        Self {
            current,
            previous,
            random: SystemRandom::new(),
        }
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// The ids of every key given, the current one first.
    pub fn ids(&self) -> Vec<&str> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| k.id.as_str())
            .collect()
    }

    /// Whether a row sealed under `key_id` can be opened.
    pub fn knows(&self, key_id: &str) -> bool {
        self.key(key_id).is_some()
    }

    fn key(&self, key_id: &str) -> Option<&OperatorKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
    }

    fn seal_with(&self, key: &LessSafeKey, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| Error::Internal("no randomness for a nonce".into()))?;
        let mut sealed = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut sealed,
        )
        .map_err(|_| Error::Internal("sealing a secret failed".into()))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    fn open_with(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, rest) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = rest.to_vec();
        let plain = key.open_in_place(nonce, Aad::from(aad), &mut buffer).ok()?;
        Some(plain.to_vec())
    }

    /// Seals `value` for `place` under a new data key, itself sealed under
    /// the current key.
    pub fn seal(&self, place: SecretPlace<'_>, value: &[u8]) -> Result<Sealed, Error> {
        let mut data_key = [0u8; KEY_BYTES];
        self.random
            .fill(&mut data_key)
            .map_err(|_| Error::Internal("no randomness for a data key".into()))?;
        let ciphertext = self.seal_with(&aead_key(&data_key), &place.associated_data(), value)?;
        let wrapped_key = self.seal_with(&self.current.key, WRAP_CONTEXT, &data_key)?;
        Ok(Sealed {
            key_id: self.current.id.clone(),
            wrapped_key,
            ciphertext,
        })
    }

    fn data_key(&self, sealed: &Sealed) -> Result<[u8; KEY_BYTES], Error> {
        let key = self.key(&sealed.key_id).ok_or_else(|| {
            Error::Config(format!(
                "a secret is sealed under key {}, which is not among the keys given",
                sealed.key_id
            ))
        })?;
        Self::open_with(&key.key, WRAP_CONTEXT, &sealed.wrapped_key)
            .and_then(|bytes| <[u8; KEY_BYTES]>::try_from(bytes).ok())
            .ok_or_else(|| {
                Error::Internal(format!("a data key under key {} does not open", key.id))
            })
    }

    /// The value sealed for `place`. Fails for a row of another place, an
    /// unknown key or altered bytes.
    pub fn open(&self, place: SecretPlace<'_>, sealed: &Sealed) -> Result<Vec<u8>, Error> {
        let data_key = self.data_key(sealed)?;
        Self::open_with(
            &aead_key(&data_key),
            &place.associated_data(),
            &sealed.ciphertext,
        )
        .ok_or_else(|| {
            Error::Internal(format!(
                "secret {} of action {:?} does not open (altered, or moved from another row)",
                place.name, place.slug
            ))
        })
    }

    /// `sealed` with its data key re-sealed under the current key, or
    /// `None` when it is sealed under the current key already.
    pub fn reseal(&self, sealed: &Sealed) -> Result<Option<Sealed>, Error> {
        if sealed.key_id == self.current.id {
            return Ok(None);
        }
        let data_key = self.data_key(sealed)?;
        Ok(Some(Sealed {
            key_id: self.current.id.clone(),
            wrapped_key: self.seal_with(&self.current.key, WRAP_CONTEXT, &data_key)?,
            ciphertext: sealed.ciphertext.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACE: SecretPlace<'static> = SecretPlace {
        tenant: "acme",
        slug: "custom-claim",
        name: "API_KEY",
    };

    #[test]
    fn a_sealed_value_opens_only_at_its_place_and_never_shows_in_the_row() {
        let keys = SealingKeys::new(&[7; 32], &[]);
        let sealed = keys.seal(PLACE, b"sk_live_0123456789").expect("seal");
        assert_eq!(sealed.key_id, keys.current_id());
        assert!(
            !sealed
                .ciphertext
                .windows(b"sk_live".len())
                .any(|w| w == b"sk_live")
        );
        assert_eq!(
            keys.open(PLACE, &sealed).expect("open"),
            b"sk_live_0123456789"
        );
        let elsewhere = SecretPlace {
            name: "OTHER",
            ..PLACE
        };
        assert!(keys.open(elsewhere, &sealed).is_err());
        let mut altered = sealed.clone();
        *altered.ciphertext.last_mut().expect("bytes") ^= 1;
        assert!(keys.open(PLACE, &altered).is_err());
        // Two seals of one value share nothing.
        let again = keys.seal(PLACE, b"sk_live_0123456789").expect("seal");
        assert_ne!(again.ciphertext, sealed.ciphertext);
    }

    #[test]
    fn rotation_reseals_the_data_key_and_a_wrong_key_opens_nothing() {
        let old = SealingKeys::new(&[1; 32], &[]);
        let sealed = old.seal(PLACE, b"hunter22").expect("seal");
        let rotated = SealingKeys::new(&[2; 32], &[[1; 32]]);
        assert!(rotated.knows(&sealed.key_id));
        let resealed = rotated.reseal(&sealed).expect("reseal").expect("changed");
        assert_eq!(resealed.key_id, rotated.current_id());
        assert_eq!(resealed.ciphertext, sealed.ciphertext);
        assert!(rotated.reseal(&resealed).expect("reseal").is_none());
        let only_new = SealingKeys::new(&[2; 32], &[]);
        assert_eq!(only_new.open(PLACE, &resealed).expect("open"), b"hunter22");
        let wrong = SealingKeys::new(&[3; 32], &[]);
        assert!(!wrong.knows(&sealed.key_id));
        assert!(matches!(wrong.open(PLACE, &sealed), Err(Error::Config(_))));
    }

    #[test]
    fn keys_are_read_in_base64_or_hex_and_anything_else_is_refused() {
        let generated = generate_key().expect("key");
        assert_eq!(parse_key(&generated, "k").expect("base64").len(), KEY_BYTES);
        assert_eq!(parse_key(&"ab".repeat(32), "k").expect("hex"), [0xab; 32]);
        for bad in ["", "short", &"ab".repeat(31), "not base64 at all!"] {
            assert!(
                matches!(parse_key(bad, "k"), Err(Error::Config(_))),
                "{bad:?}"
            );
        }
    }
}
