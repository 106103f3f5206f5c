//! Page tokens of the listings over tables every tenant shares (audit
//! events, runs). Their position is a sequence number of the whole table:
//! handed out as is, it would tell a tenant how much all the other tenants
//! did between two of its own rows, and a token seen by one tenant would
//! page another's list. So a token is the position encrypted and
//! authenticated for one tenant and one listing (a deterministic SIV-style
//! construction on HMAC-SHA256): opaque, stable for the same page, and
//! refused (`INVALID_ARGUMENT`) anywhere else.

use crate::Error;
use crate::auth::Secrets;
use sha2::{Digest, Sha256};

/// The listing a token continues: a token of one never continues another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `Audit.ListAuditEvents`.
    AuditEvents,
    /// `Audit.ListRuns`.
    Runs,
}

impl Listing {
    fn name(self) -> &'static [u8] {
        match self {
            Listing::AuditEvents => b"audit-events",
            Listing::Runs => b"runs",
        }
    }
}

/// Bytes of the encrypted position and of the tag.
const POSITION_BYTES: usize = 8;
const TAG_BYTES: usize = 16;

/// Makes and reads page tokens with one server key.
pub struct PageTokens {
    key: [u8; 32],
}

impl PageTokens {
    /// The key comes from the operator and sync tokens, which every replica
    /// of a fleet shares, so a token from one replica pages on another (and
    /// rotating either token ends the tokens handed out before). Without
    /// either (`insecure_no_auth`), a random key for this process.
    pub fn new(secrets: &Secrets) -> Result<Self, Error> {
        let mut key = [0u8; 32];
        if secrets.operator_token.is_empty() && secrets.sync_token.is_empty() {
            getrandom::fill(&mut key)
                .map_err(|e| Error::Internal(format!("no randomness for a key: {e}")))?;
        } else {
            let mut hasher = Sha256::new();
            hasher.update(b"actions page-token key v1");
            for secret in [&secrets.operator_token, &secrets.sync_token] {
                hasher.update((secret.len() as u64).to_be_bytes());
                hasher.update(secret.as_bytes());
            }
            key = hasher.finalize().into();
        }
        Ok(Self { key })
    }

    /// The token that continues `listing` of `tenant` after `position`.
    pub fn encode(&self, listing: Listing, tenant: &str, position: i64) -> String {
        let position = position.to_be_bytes();
        let tag = self.tag(listing, tenant, &position);
        let mut token = xor(&position, &self.pad(&tag)).to_vec();
        token.extend_from_slice(&tag);
        hex::encode(token)
    }

    /// The position a token of `listing` of `tenant` continues after; 0 for
    /// the empty token (the start). Any other token is refused.
    pub fn decode(&self, listing: Listing, tenant: &str, token: &str) -> Result<i64, Error> {
        if token.is_empty() {
            return Ok(0);
        }
        let refused = || Error::Invalid("page_token is not one this listing gave you".into());
        let bytes = hex::decode(token).map_err(|_| refused())?;
        if bytes.len() != POSITION_BYTES + TAG_BYTES {
            return Err(refused());
        }
        let (encrypted, tag) = bytes.split_at(POSITION_BYTES);
        let tag: [u8; TAG_BYTES] = tag.try_into().map_err(|_| refused())?;
        let encrypted: [u8; POSITION_BYTES] = encrypted.try_into().map_err(|_| refused())?;
        let position = xor(&encrypted, &self.pad(&tag));
        let expected = self.tag(listing, tenant, &position);
        if !actions_proto::bearer::same_secret(&hex::encode(tag), &hex::encode(expected)) {
            return Err(refused());
        }
        Some(i64::from_be_bytes(position))
            .filter(|p| *p >= 0)
            .ok_or_else(refused)
    }

    fn tag(&self, listing: Listing, tenant: &str, position: &[u8]) -> [u8; TAG_BYTES] {
        let name = listing.name();
        let mac = self.hmac(&[
            b"tag",
            &(name.len() as u64).to_be_bytes(),
            name,
            &(tenant.len() as u64).to_be_bytes(),
            tenant.as_bytes(),
            position,
        ]);
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&mac[..TAG_BYTES]);
        tag
    }

    fn pad(&self, tag: &[u8]) -> [u8; POSITION_BYTES] {
        let mac = self.hmac(&[b"pad", tag]);
        let mut pad = [0u8; POSITION_BYTES];
        pad.copy_from_slice(&mac[..POSITION_BYTES]);
        pad
    }

    /// HMAC-SHA256 (RFC 2104) of the parts, in order.
    fn hmac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner_pad = [0x36u8; 64];
        let mut outer_pad = [0x5cu8; 64];
        for (i, byte) in self.key.iter().enumerate() {
            inner_pad[i] ^= byte;
            outer_pad[i] ^= byte;
        }
        let mut inner = Sha256::new();
        inner.update(inner_pad);
        for part in parts {
            inner.update(part);
        }
        let mut outer = Sha256::new();
        outer.update(outer_pad);
        outer.update(inner.finalize());
        outer.finalize().into()
    }
}

fn xor(a: &[u8; POSITION_BYTES], b: &[u8; POSITION_BYTES]) -> [u8; POSITION_BYTES] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(operator: &str) -> PageTokens {
        PageTokens::new(&Secrets {
            operator_token: operator.into(),
            sync_token: "sync".into(),
            insecure_no_auth: false,
        })
        .expect("key")
    }

    #[test]
    fn a_token_reads_back_only_for_its_tenant_listing_and_key() {
        let pages = tokens("op");
        let token = pages.encode(Listing::Runs, "acme", 4711);
        assert!(!token.contains("4711"));
        assert_eq!(
            pages.decode(Listing::Runs, "acme", &token).expect("ours"),
            4711
        );
        assert_eq!(pages.encode(Listing::Runs, "acme", 4711), token, "stable");
        assert_eq!(pages.decode(Listing::Runs, "acme", "").expect("start"), 0);
        let mut tampered = hex::decode(&token).expect("hex");
        tampered[POSITION_BYTES + TAG_BYTES - 1] ^= 1;
        for (listing, tenant, token) in [
            (Listing::Runs, "globex", token.clone()),
            (Listing::AuditEvents, "acme", token.clone()),
            (Listing::Runs, "acme", "4711".to_owned()),
            (Listing::Runs, "acme", hex::encode(tampered)),
        ] {
            assert!(matches!(
                pages.decode(listing, tenant, &token),
                Err(Error::Invalid(_))
            ));
        }
        assert!(matches!(
            tokens("another operator").decode(Listing::Runs, "acme", &token),
            Err(Error::Invalid(_))
        ));
    }
}
