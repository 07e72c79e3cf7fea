//! A lower bound on the size of zlib's deflate output, to skip compressing a Flask session
//! that provably cannot come out short enough to be used.
//!
//! itsdangerous keeps `zlib.compress(json)` only when it is shorter than `len(json) - 1`. A
//! zlib stream is a 2-byte header, deflate blocks and a 4-byte checksum, so compression pays
//! only when the deflate data fits in `n - 8` bytes (`n = len(json)`). [`deflate_cannot_fit`]
//! proves, without running zlib, that it does not; compressing a short session costs most of
//! its encode (zlib clears a 64 KiB hash table per stream).
//!
//! The proof, for inputs up to [`MAX_BOUNDED_LEN`] bytes (zlib writes them as one block: its
//! symbol buffer holds 16 K symbols at the default memory level):
//!
//! - **Where a match can be.** Every byte a deflate match copies lies in a 3-byte window that
//!   also occurs earlier in the input (a match is at least 3 long). Bytes outside every such
//!   window ("unmatchable") must be written as literals.
//! - **Stored block**: at least `n + 5` bytes. Never fits.
//! - **Fixed codes**: a literal is 8 or 9 bits, a match at least 12 (a 7-bit length code and a
//!   5-bit distance code), the block header 3 and end-of-block 7. Each run of matchable bytes
//!   costs at least `min(8 · run, 12)`.
//! - **Dynamic codes**: 17 header bits, at least 4 code-length-code lengths (12 bits); then
//!   the unmatchable literals under any prefix code cost at least their Huffman-optimal total
//!   (with end-of-block in the code); and the code lengths of symbols 0–256 must be sent.
//!   zlib gives a nonzero length exactly to the symbols the block uses, so a byte that never
//!   occurs has length 0 and every unmatchable byte (and end-of-block) a nonzero one; a byte
//!   that occurs only in matchable places is left out of the count, which can only lower it.
//!   The lengths are sent as code-length symbols of at least 1 bit each: one length, `16`
//!   (repeat the previous 3–6 times, 2 extra bits), `17` (3–10 zeros, 3 extra) or `18`
//!   (11–138 zeros, 7 extra). The cheapest way to send each run of zero and nonzero lengths is
//!   tabulated below, whatever the nonzero values.
//!
//! Each term is at most what zlib writes, so when the smaller of the two code bounds exceeds
//! `8 · (n - 8)` bits, compressing would be wasted. A test checks the bound against real zlib
//! on generated inputs; the Flask conformance tests compare whole cookies with real Flask.

/// Longest input the bound is computed for; longer sessions are simply compressed.
const MAX_BOUNDED_LEN: usize = 255;

/// A set of up to 256 small numbers (positions, byte values).
#[derive(Clone, Copy, Default)]
struct Bits([u64; 4]);

impl Bits {
    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    /// The members, in increasing order.
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(word, &bits)| {
            let mut rest = bits;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    word * 64 + bit
                })
            })
        })
    }
}

/// Work space kept between calls, so a call allocates and clears nothing large.
#[derive(Default)]
pub(super) struct BoundScratch {
    windows: Vec<u32>,
    weights: Vec<u32>,
    nodes: Vec<u32>,
}

/// True when zlib's deflate of `input` provably needs more than `input.len() - 8` bytes, so
/// itsdangerous would not use it.
pub(super) fn deflate_cannot_fit(input: &[u8], scratch: &mut BoundScratch) -> bool {
    let n = input.len();
    if !(3..=MAX_BOUNDED_LEN).contains(&n) {
        return false;
    }
    let budget_bits = 8 * (n as u32).saturating_sub(8);
    let matchable = matchable_bytes(input, &mut scratch.windows);
    fixed_code_bits(input, &matchable) > budget_bits
        && dynamic_code_bits(input, &matchable, scratch) > budget_bits
}

/// The positions a deflate match could cover: those in a 3-byte window whose bytes also start
/// at an earlier position.
fn matchable_bytes(input: &[u8], windows: &mut Vec<u32>) -> Bits {
    // Each window as `bytes << 8 | start`; sorted, equal windows sit together, earliest first.
    windows.clear();
    windows.extend(input.windows(3).enumerate().map(|(start, w)| {
        (u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2])) << 8 | start as u32
    }));
    windows.sort_unstable();
    let mut matchable = Bits::default();
    for pair in windows.windows(2) {
        if pair[0] >> 8 == pair[1] >> 8 {
            let start = (pair[1] & 0xff) as usize;
            (start..start + 3).for_each(|i| matchable.insert(i));
        }
    }
    matchable
}

/// The fewest bits a fixed-code block of `input` can take.
fn fixed_code_bits(input: &[u8], matchable: &Bits) -> u32 {
    let mut bits = 3 + 7;
    let mut run = 0u32;
    for (i, &byte) in input.iter().enumerate() {
        if matchable.contains(i) {
            run += 1;
            continue;
        }
        bits += (8 * run).min(12) + if byte < 144 { 8 } else { 9 };
        run = 0;
    }
    bits + (8 * run).min(12)
}

/// The fewest bits a dynamic-code block of `input` can take.
fn dynamic_code_bits(input: &[u8], matchable: &Bits, scratch: &mut BoundScratch) -> u32 {
    // Counts fit a byte: inputs are at most 255 long.
    let mut literals = [0u8; 256];
    let mut occurs = Bits::default();
    for (i, &byte) in input.iter().enumerate() {
        occurs.insert(usize::from(byte));
        if !matchable.contains(i) {
            literals[usize::from(byte)] += 1;
        }
    }
    let header = 3 + 5 + 5 + 4 + 4 * 3;
    header + code_lengths_bits(&literals, &occurs) + literal_bits(&literals, &occurs, scratch)
}

/// The fewest bits the literal/length code lengths of symbols 0–256 can be sent in: runs of
/// zero lengths (bytes that never occur) and of nonzero ones (unmatchable bytes and
/// end-of-block), leaving out bytes that occur only where a match could be (deleting an entry
/// never makes the cheapest sending dearer).
fn code_lengths_bits(literals: &[u8; 256], occurs: &Bits) -> u32 {
    let (mut bits, mut zeros, mut lengths) = (0, 0, 0);
    let mut next = 0;
    for byte in occurs.iter().chain([256]) {
        let gap = byte - next;
        if gap > 0 {
            bits += run_bits(lengths, false);
            lengths = 0;
            zeros += gap;
        }
        next = byte + 1;
        if byte == 256 || literals[byte] > 0 {
            bits += run_bits(zeros, true);
            zeros = 0;
            lengths += 1;
        }
    }
    bits + run_bits(zeros, true) + run_bits(lengths, false)
}

fn run_bits(run: usize, zeros: bool) -> u32 {
    u32::from(if zeros {
        ZERO_RUN_BITS[run]
    } else {
        LENGTH_RUN_BITS[run]
    })
}

/// The Huffman-optimal bits for the counted literals plus one end-of-block: no prefix code
/// writes them in fewer.
fn literal_bits(literals: &[u8; 256], occurs: &Bits, scratch: &mut BoundScratch) -> u32 {
    let weights = &mut scratch.weights;
    weights.clear();
    weights.extend(
        occurs
            .iter()
            .map(|b| u32::from(literals[b]))
            .filter(|&c| c > 0),
    );
    weights.push(1); // end-of-block
    weights.sort_unstable();
    // Huffman's algorithm in linear time: the sorted leaves, and the merged nodes, which are
    // made in nondecreasing order. Each merge adds its weight once per level it sits above
    // the leaves, so the sum of the merged weights is the code's total length.
    let nodes = &mut scratch.nodes;
    nodes.clear();
    let (mut leaf, mut node, mut total) = (0, 0, 0);
    let mut smallest = |nodes: &Vec<u32>| match (weights.get(leaf), nodes.get(node)) {
        (Some(&l), Some(&m)) if m < l => {
            node += 1;
            m
        }
        (Some(&l), _) => {
            leaf += 1;
            l
        }
        (None, Some(&m)) => {
            node += 1;
            m
        }
        (None, None) => 0,
    };
    for _ in 1..weights.len() {
        let merged = smallest(nodes) + smallest(nodes);
        total += merged;
        nodes.push(merged);
    }
    total
}

/// Fewest bits to send `r` zero code lengths in a row: `0` (≥ 1 bit each), `16` after a zero
/// (≥ 3 bits, 3–6 more), `17` (≥ 4 bits, 3–10), `18` (≥ 8 bits, 11–138).
const ZERO_RUN_BITS: [u8; 258] = zero_run_table();

/// Fewest bits to send `r` nonzero code lengths in a row when their values are free: a length
/// (≥ 1 bit), or `16` after one (≥ 3 bits, 3–6 copies).
const LENGTH_RUN_BITS: [u8; 258] = length_run_table();

const fn zero_run_table() -> [u8; 258] {
    let mut t = [0u8; 258];
    let mut r = 1;
    while r < 258 {
        let mut best = t[r - 1] + 1;
        best = min_over(&t, r, 3, 10, 4, best, false);
        best = min_over(&t, r, 11, 138, 8, best, false);
        best = min_over(&t, r, 3, 6, 3, best, true);
        t[r] = best;
        r += 1;
    }
    t
}

const fn length_run_table() -> [u8; 258] {
    let mut t = [0u8; 258];
    let mut r = 1;
    while r < 258 {
        t[r] = min_over(&t, r, 3, 6, 3, t[r - 1] + 1, true);
        r += 1;
    }
    t
}

/// `best` lowered by ending a run of `r` with one token of `cost` bits covering `lo..=hi`
/// entries (`after_one`: the token repeats an earlier entry of the run, so it cannot start it).
const fn min_over(
    t: &[u8; 258],
    r: usize,
    lo: usize,
    hi: usize,
    cost: u8,
    mut best: u8,
    after_one: bool,
) -> u8 {
    let mut k = lo;
    while k <= hi && (k < r || (!after_one && k == r)) {
        let bits = t[r - k] + cost;
        if bits < best {
            best = bits;
        }
        k += 1;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::ZlibEncoder, Compression};

    /// `zlib.compress(input)`'s length, by the same zlib the codec uses.
    fn zlib_len(input: &[u8]) -> usize {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::new(6));
        std::io::Write::write_all(&mut z, input).unwrap();
        z.finish().unwrap().len()
    }

    /// xorshift64: the same inputs every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn sessions_of_the_bench_and_tutorial_skip_compression() {
        for json in [
            &br#"{"age":25,"n":1,"username":"Kimi"}"#[..],
            br#"{"age":25,"username":"Kimi"}"#,
            br#"{"user_id":42}"#,
        ] {
            assert!(
                deflate_cannot_fit(json, &mut BoundScratch::default()),
                "{}",
                String::from_utf8_lossy(json)
            );
            assert!(zlib_len(json) >= json.len() - 1);
        }
        let repetitive = br#"{"a":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#;
        assert!(!deflate_cannot_fit(
            repetitive,
            &mut BoundScratch::default()
        ));
        assert!(
            zlib_len(repetitive) < repetitive.len() - 1,
            "it does compress"
        );
    }

    #[test]
    fn the_bound_never_exceeds_what_zlib_writes() {
        let alphabets: [&[u8]; 5] = [
            b"ab",
            b"abcdefgh",
            b"{}\":,_ 0123456789abcdefghijklmnopqrstuvwxyz",
            b"{}\":,0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_",
            &[0x20, 0x7f, 0x80, 0x90, 0xc3, 0xe2, 0xff, b'"', b'{', b'}'],
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut skipped, mut compressed_anyway) = (0, 0);
        let mut scratch = BoundScratch::default();
        for round in 0..40_000 {
            let alphabet = alphabets[round % alphabets.len()];
            let len = 10
                + rng.below(if round % 2 == 0 {
                    50
                } else {
                    MAX_BOUNDED_LEN - 9
                });
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let actual = zlib_len(&input);
            // The bound on any block zlib can choose (stored included) is at most its output.
            let matchable = matchable_bytes(&input, &mut scratch.windows);
            let bound = fixed_code_bits(&input, &matchable)
                .min(dynamic_code_bits(&input, &matchable, &mut scratch))
                .min(8 * (len as u32 + 5));
            assert!(
                bound.div_ceil(8) as usize <= actual - 6,
                "bound {bound} bits, zlib wrote {} deflate bytes for {:?}",
                actual - 6,
                String::from_utf8_lossy(&input)
            );
            if deflate_cannot_fit(&input, &mut scratch) {
                skipped += 1;
                assert!(actual >= len - 1, "{:?}", String::from_utf8_lossy(&input));
            } else if actual >= len - 1 {
                compressed_anyway += 1;
            }
        }
        assert!(skipped > 5_000, "only {skipped} inputs skipped compression");
        println!("skipped {skipped}; compressed without gain {compressed_anyway}");
    }

    #[test]
    fn run_tables_match_the_token_costs() {
        // Zeros: one `0` each below 3; 17 (4 bits) covers 3–10; 18 (8 bits) covers 11–138.
        assert_eq!(&ZERO_RUN_BITS[..4], &[0, 1, 2, 3]);
        assert_eq!(ZERO_RUN_BITS[10], 4);
        assert_eq!(ZERO_RUN_BITS[11], 5); // 17 + a single 0
        assert_eq!(ZERO_RUN_BITS[138], 8);
        assert_eq!(ZERO_RUN_BITS[139], 9);
        assert_eq!(ZERO_RUN_BITS[257], 8 + 8);
        // Lengths: 16 must follow one: 1 + 3 bits for 4–7 in a row.
        assert_eq!(&LENGTH_RUN_BITS[..8], &[0, 1, 2, 3, 4, 4, 4, 4]);
    }

    #[test]
    fn positions_in_a_repeated_window_are_matchable() {
        let m = matchable_bytes(b"abcXabcYbcX", &mut Vec::new());
        // "abc" again at 4; "bcX" again at 8.
        assert_eq!(m.iter().collect::<Vec<_>>(), [4, 5, 6, 8, 9, 10]);
        assert!(!deflate_cannot_fit(
            &[b'a'; MAX_BOUNDED_LEN + 1],
            &mut BoundScratch::default()
        ));
    }
}
