//! In-process maps keyed by [`IdHash`]: the memory store's records and leases, the keyed
//! mutex of waiting writers.
//!
//! The key is a SHA-256 output, so its first eight bytes are already a uniform hash; SipHash
//! over all 32 would only cost time. Those bytes are folded with a key drawn once per process,
//! so that a client, who can send ids of its choosing, cannot grind ids whose hashes collide
//! in a map (the keyed mutex holds an entry for every writer in flight, known id or not).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

use super::IdHash;

/// A map keyed by session id hashes.
pub(crate) type IdMap<V> = HashMap<IdHash, V, IdHashing>;

/// Builds [`IdHasher`]s with this process's key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IdHashing {
    key: u64,
}

impl Default for IdHashing {
    fn default() -> Self {
        static KEY: OnceLock<u64> = OnceLock::new();
        IdHashing {
            key: *KEY.get_or_init(rand::random),
        }
    }
}

impl BuildHasher for IdHashing {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher {
            key: self.key,
            word: 0,
        }
    }
}

/// Takes the first eight bytes written and folds them with the key (a 64×64→128-bit multiply,
/// whose halves are xored: every output bit depends on every input and key bit).
pub(crate) struct IdHasher {
    key: u64,
    word: u64,
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.word ^= u64::from_le_bytes(word);
    }

    fn finish(&self) -> u64 {
        const ODD: u64 = 0x9E37_79B9_7F4A_7C15;
        let product = u128::from(self.word ^ self.key) * u128::from(ODD);
        (product as u64) ^ ((product >> 64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SessionId;

    #[test]
    fn ids_that_share_their_low_bytes_still_spread() {
        // Ids a client ground to agree in the bits a table indexes by would all land in one
        // bucket with the plain first-eight-bytes hash; folded with the key they do not.
        let hashing = IdHashing::default();
        let low_bits = |word: u64| {
            let mut hasher = hashing.build_hasher();
            hasher.write(&word.to_le_bytes());
            hasher.finish() & 0xFFFF
        };
        let buckets: std::collections::HashSet<u64> =
            (0..256u64).map(|i| low_bits(i << 32)).collect();
        assert!(buckets.len() > 200, "{} distinct buckets", buckets.len());
    }

    #[test]
    fn a_map_finds_what_it_holds() {
        let mut map = IdMap::default();
        let ids: Vec<_> = (0..100).map(|_| SessionId::generate().hash()).collect();
        for (n, id) in ids.iter().enumerate() {
            map.insert(*id, n);
        }
        assert!(ids
            .iter()
            .enumerate()
            .all(|(n, id)| map.get(id) == Some(&n)));
    }
}
