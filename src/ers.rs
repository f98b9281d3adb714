//! Evidence records (RFC 4998, Evidence Record Syntax, DER): proof that
//! data existed, unchanged, since a time, carried forward after the
//! timestamping authority's certificate expires.
//!
//! One RFC 3161 timestamp covers many objects through a hash tree: the
//! objects' hashes are the leaves, each node is the hash of its children's
//! hashes concatenated in binary ascending order (§4.2), and the root is
//! what the TSA stamps. An object's *reduced hash tree* is the list of
//! sibling hashes from its leaf to the root; with the timestamp it is the
//! object's archive timestamp. Renewal appends to the record, never
//! replacing what is there: a *timestamp renewal* stamps the previous
//! timestamp (same hash algorithm, new chain member), a *hash-tree
//! renewal* starts a new chain over `H'(H'(data) ‖ H'(all chains so far))`
//! with a new algorithm (§5.2).
//!
//! Written here, not taken from a crate: no Rust crate implements RFC 4998.
//! BouncyCastle's `org.bouncycastle.tsp.ers` is the outside implementation
//! the interop tests compare with (tests/ers.rs), both directions.
//!
//! ## Tree shape
//! Leaves are sorted and deduplicated; the lowest level is cut into pairs
//! (the last group has three leaves when their number is odd), higher
//! levels into pairs with an odd last node carried up unchanged. So an
//! object's first list holds its own hash and its one or two siblings, and
//! every later list exactly one sibling: the two readings of a reduced tree
//! found in the wild — RFC 4998 §4.3 (the computed hash joins the next
//! list) and BouncyCastle's (each list is a node folded into the hash so
//! far) — give the same root for every record kyso writes.
//!
//! ## Reading
//! A record is verified with both readings where they agree (single-hash
//! lists after the first; a first list of one hash is the object itself,
//! as BouncyCastle writes) and with RFC 4998's where they do not (a later
//! list of several hashes). An `encryptionInfo` (data encrypted before
//! archiving) is refused: kyso cannot check what it cannot decrypt.

use serde::Serialize;

use crate::crypto::DigestAlg;
use crate::der::{self, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE, encode_tlv};
use crate::error::{Error, Result};
use crate::report::{Check, Indication, Outcome, SignatureKind, SignatureReport};

/// Most archive timestamp chains read in one record (one per hash-tree renewal).
pub const MAX_CHAINS: usize = 32;
/// Most archive timestamps read in one chain (one per timestamp renewal).
pub const MAX_STAMPS_PER_CHAIN: usize = 256;
/// Most lists in one reduced hash tree (2^64 objects need 64).
pub const MAX_TREE_LEVELS: usize = 64;
/// Most hashes in one list of a reduced hash tree.
pub const MAX_LIST_HASHES: usize = 1024;
/// Largest record read (bytes).
pub const MAX_RECORD_BYTES: usize = 4 << 20;

const TAG_CTX0_CONS: u8 = 0xa0;
const TAG_CTX1_CONS: u8 = 0xa1;
const TAG_CTX2_CONS: u8 = 0xa2;

/// One archive timestamp: a timestamp over the root of a hash tree and the
/// object's path to that root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveTimeStamp {
    /// The hash algorithm of the tree; absent: the timestamp's imprint algorithm.
    pub digest_alg: Option<String>,
    /// Lists of hashes from the object's leaf up to the root; absent for a
    /// timestamp over one object's hash alone.
    pub reduced: Option<Vec<Vec<Vec<u8>>>>,
    /// The RFC 3161 TimeStampToken (ContentInfo DER).
    pub timestamp: Vec<u8>,
    /// The encoding as read (or written): what a renewal hashes.
    pub raw: Vec<u8>,
}

/// A chain of archive timestamps with one hash algorithm, each after the
/// first stamping the one before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub stamps: Vec<ArchiveTimeStamp>,
}

/// An evidence record (RFC 4998 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// Every hash algorithm the record uses (OIDs).
    pub digest_algs: Vec<String>,
    /// `cryptoInfos` as read, kept so the record is written back unchanged.
    pub crypto_infos: Option<Vec<u8>>,
    pub chains: Vec<Chain>,
}

fn bad(what: &'static str) -> Error {
    Error::asn1(what)
}

fn alg_id_der(alg: DigestAlg) -> Result<Vec<u8>> {
    let oid = alg
        .oid()
        .ok_or_else(|| Error::Invalid(format!("{} has no OID", alg.name())))?;
    Ok(encode_tlv(TAG_SEQUENCE, &crate::sign::cms::oid(oid)))
}

/// The hash of `parts` concatenated.
fn hash_of(alg: DigestAlg, parts: &[&[u8]]) -> Result<Vec<u8>> {
    // The SHA-2 family through OpenSSL's direct functions: a tree of 10^6
    // leaves hashes 10^6 short inputs, where setting up an EVP context each
    // time cost more than the hashing.
    macro_rules! direct {
        ($h:expr) => {{
            let mut h = $h;
            for p in parts {
                h.update(p);
            }
            return Ok(h.finish().to_vec());
        }};
    }
    match alg {
        DigestAlg::Sha256 => direct!(openssl::sha::Sha256::new()),
        DigestAlg::Sha384 => direct!(openssl::sha::Sha384::new()),
        DigestAlg::Sha512 => direct!(openssl::sha::Sha512::new()),
        _ => {}
    }
    let mut h = alg.hasher()?;
    for p in parts {
        h.update(p).map_err(Error::from)?;
    }
    h.finish().map_err(Error::from)
}

/// The hash of a list of hashes concatenated in binary ascending order.
pub fn hash_sorted(alg: DigestAlg, list: &[&[u8]]) -> Result<Vec<u8>> {
    let mut v: Vec<&[u8]> = list.to_vec();
    v.sort_unstable();
    hash_of(alg, &v)
}

impl ArchiveTimeStamp {
    /// An archive timestamp over a tree of algorithm `alg` (written
    /// explicitly, as BouncyCastle does).
    pub fn new(
        alg: DigestAlg,
        reduced: Option<Vec<Vec<Vec<u8>>>>,
        timestamp: Vec<u8>,
    ) -> Result<Self> {
        let mut body = Vec::new();
        let alg_id = alg_id_der(alg)?;
        // [0] IMPLICIT AlgorithmIdentifier: the SEQUENCE's content under tag [0].
        let (t, _) = der::parse_tlv(&alg_id, 0)?;
        body.extend(encode_tlv(TAG_CTX0_CONS, t.value));
        if let Some(lists) = &reduced {
            let mut seqs = Vec::new();
            for l in lists {
                let mut hashes = Vec::new();
                for h in l {
                    hashes.extend(encode_tlv(TAG_OCTET_STRING, h));
                }
                seqs.extend(encode_tlv(TAG_SEQUENCE, &hashes));
            }
            body.extend(encode_tlv(TAG_CTX2_CONS, &seqs));
        }
        body.extend_from_slice(&timestamp);
        Ok(ArchiveTimeStamp {
            digest_alg: alg.oid().map(str::to_string),
            reduced,
            timestamp,
            raw: encode_tlv(TAG_SEQUENCE, &body),
        })
    }

    fn parse(t: der::Tlv<'_>) -> Result<Self> {
        let raw = t.raw.to_vec();
        let mut r = t.expect(TAG_SEQUENCE)?.children();
        let mut digest_alg = None;
        let mut reduced = None;
        if let Some(a) = r.read_optional(TAG_CTX0_CONS)? {
            let mut ar = a.children();
            digest_alg = Some(der::read_oid(&mut ar)?);
        }
        // attributes [1]: read past (kyso writes none; nothing in them changes the proof).
        r.read_optional(TAG_CTX1_CONS)?;
        if let Some(lists) = r.read_optional(TAG_CTX2_CONS)? {
            let mut out = Vec::new();
            for l in lists.children() {
                let l = l?.expect(TAG_SEQUENCE)?;
                if out.len() >= MAX_TREE_LEVELS {
                    return Err(bad("reduced hash tree has too many levels"));
                }
                let mut hashes = Vec::new();
                for h in l.children() {
                    let h = h?.expect(TAG_OCTET_STRING)?;
                    if hashes.len() >= MAX_LIST_HASHES {
                        return Err(bad("reduced hash tree list too long"));
                    }
                    hashes.push(h.value.to_vec());
                }
                if hashes.is_empty() {
                    return Err(bad("empty list in a reduced hash tree"));
                }
                out.push(hashes);
            }
            if out.is_empty() {
                return Err(bad("empty reduced hash tree"));
            }
            reduced = Some(out);
        }
        let ts = r.read_tag(TAG_SEQUENCE)?;
        r.finish()?;
        Ok(ArchiveTimeStamp {
            digest_alg,
            reduced,
            timestamp: ts.raw.to_vec(),
            raw,
        })
    }

    /// Read one archive timestamp (DER), as stored apart from a record.
    pub fn from_der(b: &[u8]) -> Result<Self> {
        Self::parse(der::parse_exact(b)?)
    }

    /// The timestamp's TSTInfo (imprint and time), if readable.
    pub fn tst_info(&self) -> Result<crate::validate::tsp::TstInfo> {
        let sd = crate::cms::parse_signed_data(&self.timestamp, 64)?;
        let tst = sd
            .econtent
            .as_deref()
            .filter(|_| sd.econtent_type == crate::cms::oid::TST_INFO)
            .ok_or(Error::Cms("archive timestamp without TSTInfo"))?;
        crate::validate::tsp::parse_tst_info(tst)
    }

    /// The hash algorithm of this archive timestamp: its own, or the
    /// imprint's when it names none.
    pub fn algorithm(&self) -> Result<DigestAlg> {
        match &self.digest_alg {
            Some(_) => self.algorithm_with(None),
            None => self.algorithm_with(Some(&self.tst_info()?)),
        }
    }

    /// [`Self::algorithm`] with the token's TSTInfo already read.
    fn algorithm_with(&self, tst: Option<&crate::validate::tsp::TstInfo>) -> Result<DigestAlg> {
        let oid = match (&self.digest_alg, tst) {
            (Some(o), _) => o.clone(),
            (None, Some(t)) => t.imprint_alg.clone(),
            (None, None) => return Err(Error::Cms("archive timestamp without TSTInfo")),
        };
        DigestAlg::from_oid(&oid)
            .ok_or_else(|| Error::Invalid(format!("unsupported hash algorithm {oid}")))
    }
}

impl Chain {
    fn der(&self) -> Vec<u8> {
        // Whole slices, not byte by byte: a hash-tree renewal encodes the
        // record of each of 10^6 members.
        let mut body = Vec::with_capacity(self.stamps.iter().map(|s| s.raw.len()).sum());
        for s in &self.stamps {
            body.extend_from_slice(&s.raw);
        }
        encode_tlv(TAG_SEQUENCE, &body)
    }
}

impl EvidenceRecord {
    /// A record with one chain holding `first`.
    pub fn new(first: ArchiveTimeStamp) -> Result<Self> {
        let oid = first.algorithm()?.oid().unwrap_or_default().to_string();
        Ok(EvidenceRecord {
            digest_algs: vec![oid],
            crypto_infos: None,
            chains: vec![Chain {
                stamps: vec![first],
            }],
        })
    }

    /// Read a DER evidence record, within the limits above.
    pub fn parse(b: &[u8]) -> Result<Self> {
        if b.len() > MAX_RECORD_BYTES {
            return Err(Error::Invalid(format!(
                "evidence record of {} bytes (limit {MAX_RECORD_BYTES})",
                b.len()
            )));
        }
        let mut r = der::parse_exact(b)?.expect(TAG_SEQUENCE)?.children();
        if r.read_tag(TAG_INTEGER)?.value != [1] {
            return Err(bad("evidence record version must be 1"));
        }
        let mut digest_algs = Vec::new();
        for a in r.read_tag(TAG_SEQUENCE)?.children() {
            let mut ar = a?.expect(TAG_SEQUENCE)?.children();
            digest_algs.push(der::read_oid(&mut ar)?);
            if digest_algs.len() > MAX_CHAINS {
                return Err(bad("too many digest algorithms"));
            }
        }
        let crypto_infos = r.read_optional(TAG_CTX0_CONS)?.map(|t| t.raw.to_vec());
        if r.read_optional(TAG_CTX1_CONS)?.is_some() {
            return Err(Error::Invalid(
                "the evidence record is over encrypted data (encryptionInfo), which kyso cannot check".into(),
            ));
        }
        let mut chains = Vec::new();
        for c in r.read_tag(TAG_SEQUENCE)?.children() {
            if chains.len() >= MAX_CHAINS {
                return Err(bad("too many archive timestamp chains"));
            }
            let mut stamps = Vec::new();
            for s in c?.expect(TAG_SEQUENCE)?.children() {
                if stamps.len() >= MAX_STAMPS_PER_CHAIN {
                    return Err(bad("too many archive timestamps in a chain"));
                }
                stamps.push(ArchiveTimeStamp::parse(s?)?);
            }
            if stamps.is_empty() {
                return Err(bad("empty archive timestamp chain"));
            }
            chains.push(Chain { stamps });
        }
        r.finish()?;
        if chains.is_empty() {
            return Err(bad("evidence record without an archive timestamp"));
        }
        Ok(EvidenceRecord {
            digest_algs,
            crypto_infos,
            chains,
        })
    }

    /// The DER encoding (the stamps as read or written, unchanged).
    pub fn to_der(&self) -> Vec<u8> {
        let mut algs = Vec::new();
        for o in &self.digest_algs {
            algs.extend(encode_tlv(TAG_SEQUENCE, &crate::sign::cms::oid(o)));
        }
        let mut body = encode_tlv(TAG_INTEGER, &[1]);
        body.extend(encode_tlv(TAG_SEQUENCE, &algs));
        if let Some(ci) = &self.crypto_infos {
            body.extend_from_slice(ci);
        }
        body.extend(self.sequence_der(self.chains.len()));
        encode_tlv(TAG_SEQUENCE, &body)
    }

    /// The ArchiveTimeStampSequence of the first `n` chains (what a
    /// hash-tree renewal hashes).
    fn sequence_der(&self, n: usize) -> Vec<u8> {
        let mut body = Vec::new();
        for c in self.chains.iter().take(n) {
            body.extend_from_slice(&c.der());
        }
        encode_tlv(TAG_SEQUENCE, &body)
    }

    /// The last archive timestamp (the one a renewal covers).
    pub fn last(&self) -> Option<&ArchiveTimeStamp> {
        self.chains.last().and_then(|c| c.stamps.last())
    }

    /// The leaf a timestamp renewal puts in its tree: the hash of the last
    /// timestamp, with the chain's algorithm (§5.2).
    pub fn timestamp_renewal_leaf(&self) -> Result<(DigestAlg, Vec<u8>)> {
        let last = self
            .last()
            .ok_or_else(|| Error::Invalid("the record holds no archive timestamp".into()))?;
        let alg = last.algorithm()?;
        Ok((alg, hash_of(alg, &[&last.timestamp])?))
    }

    /// Append a timestamp renewal to the last chain.
    pub fn append_renewal(&mut self, stamp: ArchiveTimeStamp) -> Result<()> {
        let (alg, _) = self.timestamp_renewal_leaf()?;
        if stamp.algorithm()? != alg {
            return Err(Error::Invalid(
                "a timestamp renewal keeps the chain's hash algorithm".into(),
            ));
        }
        match self.chains.last_mut() {
            Some(c) if c.stamps.len() < MAX_STAMPS_PER_CHAIN => {
                c.stamps.push(stamp);
                Ok(())
            }
            Some(_) => Err(Error::Invalid("the chain is full".into())),
            None => Err(Error::Invalid("the record holds no chain".into())),
        }
    }

    /// The leaf a hash-tree renewal with `alg` puts in its tree for the
    /// data whose hash with `alg` is `data_hash`:
    /// `H(data_hash ‖ H(ArchiveTimeStampSequence))` (§5.2; the order
    /// BouncyCastle uses).
    pub fn hash_tree_renewal_leaf(&self, alg: DigestAlg, data_hash: &[u8]) -> Result<Vec<u8>> {
        let seq = hash_of(alg, &[&self.sequence_der(self.chains.len())])?;
        hash_of(alg, &[data_hash, &seq])
    }

    /// Start a new chain (a hash-tree renewal).
    pub fn append_chain(&mut self, stamp: ArchiveTimeStamp) -> Result<()> {
        if self.chains.len() >= MAX_CHAINS {
            return Err(Error::Invalid("the record has its most chains".into()));
        }
        let oid = stamp.algorithm()?.oid().unwrap_or_default().to_string();
        if !self.digest_algs.contains(&oid) {
            self.digest_algs.push(oid);
        }
        self.chains.push(Chain {
            stamps: vec![stamp],
        });
        Ok(())
    }
}

/// A hash tree over many leaves (flat storage: 10^6 SHA-256 leaves take
/// 64 MB for all levels).
pub struct HashTree {
    alg: DigestAlg,
    len: usize,
    /// Level 0: the sorted, deduplicated leaves; the last level: the root.
    levels: Vec<Vec<u8>>,
}

impl HashTree {
    /// Build the tree over `leaves` (each one hash of `alg`).
    pub fn build(alg: DigestAlg, mut leaves: Vec<Vec<u8>>) -> Result<Self> {
        let len = alg.digest(b"")?.len();
        if leaves.is_empty() {
            return Err(Error::Invalid("a hash tree needs at least one leaf".into()));
        }
        if leaves.iter().any(|l| l.len() != len) {
            return Err(Error::Invalid(format!(
                "every leaf must be a {} hash",
                alg.name()
            )));
        }
        leaves.sort_unstable();
        leaves.dedup();
        let mut levels = vec![leaves.concat()];
        let mut n = leaves.len();
        let mut first = true;
        while n > 1 {
            let cur = &levels[levels.len() - 1];
            let node = |i: usize| &cur[i * len..(i + 1) * len];
            let mut next = Vec::with_capacity((n / 2 + 1) * len);
            let pairs = n / 2;
            for p in 0..pairs {
                let mut group = vec![node(2 * p), node(2 * p + 1)];
                if first && n % 2 == 1 && p == pairs - 1 {
                    group.push(node(2 * p + 2));
                }
                next.extend(hash_sorted(alg, &group)?);
            }
            if !first && n % 2 == 1 {
                next.extend_from_slice(node(n - 1));
            }
            first = false;
            n = next.len() / len;
            levels.push(next);
        }
        Ok(HashTree { alg, len, levels })
    }

    pub fn algorithm(&self) -> DigestAlg {
        self.alg
    }

    /// The number of distinct leaves.
    pub fn leaves(&self) -> usize {
        self.levels[0].len() / self.len
    }

    /// The root: what the TSA stamps.
    pub fn root(&self) -> &[u8] {
        &self.levels[self.levels.len() - 1]
    }

    /// The reduced hash tree of `leaf` (None: not a leaf; `Some(None)`: the
    /// tree is that one leaf, nothing to reduce).
    pub fn reduced(&self, leaf: &[u8]) -> Option<Option<Vec<Vec<Vec<u8>>>>> {
        let l = self.len;
        let n0 = self.leaves();
        let node = |lvl: usize, i: usize| self.levels[lvl][i * l..(i + 1) * l].to_vec();
        let i = binary_search(&self.levels[0], l, leaf)?;
        if n0 == 1 {
            return Some(None);
        }
        let pairs = n0 / 2;
        let g = (i / 2).min(pairs - 1);
        let mut first = vec![node(0, 2 * g), node(0, 2 * g + 1)];
        if n0 % 2 == 1 && g == pairs - 1 {
            first.push(node(0, 2 * g + 2));
        }
        let mut lists = vec![first];
        let mut j = g;
        for lvl in 1..self.levels.len() - 1 {
            let n = self.levels[lvl].len() / l;
            let sib = j ^ 1;
            if sib < n {
                lists.push(vec![node(lvl, sib)]);
            }
            j /= 2;
        }
        Some(Some(lists))
    }
}

fn binary_search(flat: &[u8], len: usize, key: &[u8]) -> Option<usize> {
    let (mut lo, mut hi) = (0usize, flat.len() / len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match flat[mid * len..(mid + 1) * len].cmp(key) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}

/// The root a reduced hash tree leads `h` to; `None` when `h` is not in
/// its first list.
pub fn root_of(
    alg: DigestAlg,
    h: &[u8],
    reduced: Option<&[Vec<Vec<u8>>]>,
) -> Result<Option<Vec<u8>>> {
    let Some(lists) = reduced else {
        return Ok(Some(h.to_vec()));
    };
    let Some((first, rest)) = lists.split_first() else {
        return Ok(None);
    };
    if !first.iter().any(|x| x == h) {
        return Ok(None);
    }
    let mut cur = if first.len() == 1 {
        h.to_vec()
    } else {
        hash_sorted(alg, &first.iter().map(Vec::as_slice).collect::<Vec<_>>())?
    };
    for l in rest {
        let mut v: Vec<&[u8]> = l.iter().map(Vec::as_slice).collect();
        if !v.contains(&cur.as_slice()) {
            v.push(&cur);
        }
        cur = hash_sorted(alg, &v)?;
    }
    Ok(Some(cur))
}

/// The hash algorithms trees are built with (those a TSA is asked with),
/// by name: `sha256`, `SHA-384`, … (the signer's names, `Digest::parse`).
pub fn sha2(name: &str) -> Option<DigestAlg> {
    crate::sign::cms::Digest::parse(name).and_then(|d| DigestAlg::from_oid(d.oid()))
}

fn tsa_digest(alg: DigestAlg) -> Option<crate::sign::cms::Digest> {
    use crate::sign::cms::Digest;
    [Digest::Sha256, Digest::Sha384, Digest::Sha512]
        .into_iter()
        .find(|d| Some(d.oid()) == alg.oid())
}

/// Something that gets an RFC 3161 timestamp token over a hash (the
/// imprint, with its algorithm): a TSA over HTTP, or a test double.
pub type Stamper<'a> = &'a dyn Fn(DigestAlg, &[u8]) -> Result<Vec<u8>>;

/// A stamper asking the TSA at `url` (the algorithms a TSA is asked with:
/// SHA-256, SHA-384, SHA-512).
pub fn tsa_stamper(
    url: String,
    timeout: std::time::Duration,
) -> impl Fn(DigestAlg, &[u8]) -> Result<Vec<u8>> {
    move |alg, imprint| {
        let Some(d) = tsa_digest(alg) else {
            return Err(Error::Unsupported(format!(
                "{} is not asked of a TSA",
                alg.name()
            )));
        };
        crate::sign::tsa::timestamp(&url, d, imprint, timeout)
    }
}

/// One tree over `leaves`, one timestamp over its root: the archive
/// timestamp of each leaf, in the order given.
pub fn stamp_leaves(
    alg: DigestAlg,
    leaves: &[Vec<u8>],
    stamper: Stamper<'_>,
) -> Result<Vec<ArchiveTimeStamp>> {
    let tree = HashTree::build(alg, leaves.to_vec())?;
    let token = stamper(alg, tree.root())?;
    leaves
        .iter()
        .map(|l| {
            let reduced = tree
                .reduced(l)
                .ok_or_else(|| Error::Invalid("a leaf is missing from its tree".into()))?;
            ArchiveTimeStamp::new(alg, reduced, token.clone())
        })
        .collect()
}

/// New records for data with the hashes `data_hashes` (with `alg`), in order.
pub fn make_records(
    alg: DigestAlg,
    data_hashes: &[Vec<u8>],
    stamper: Stamper<'_>,
) -> Result<Vec<EvidenceRecord>> {
    stamp_leaves(alg, data_hashes, stamper)?
        .into_iter()
        .map(EvidenceRecord::new)
        .collect()
}

/// Timestamp renewal of many records with one new timestamp (§5.2): each
/// record's last timestamp hashed, one tree over those hashes. Records of
/// different algorithms are renewed in one tree per algorithm.
pub fn renew_timestamps(records: &mut [EvidenceRecord], stamper: Stamper<'_>) -> Result<()> {
    let leaves: Vec<(DigestAlg, Vec<u8>)> = records
        .iter()
        .map(EvidenceRecord::timestamp_renewal_leaf)
        .collect::<Result<_>>()?;
    let mut algs: Vec<DigestAlg> = leaves.iter().map(|(a, _)| *a).collect();
    algs.dedup();
    for alg in algs {
        let idx: Vec<usize> = (0..records.len()).filter(|i| leaves[*i].0 == alg).collect();
        let hashes: Vec<Vec<u8>> = idx.iter().map(|i| leaves[*i].1.clone()).collect();
        let stamps = stamp_leaves(alg, &hashes, stamper)?;
        for (i, st) in idx.into_iter().zip(stamps) {
            records[i].append_renewal(st)?;
        }
    }
    Ok(())
}

/// Hash-tree renewal (§5.2) to `alg`: `data_hashes[i]` is the hash with
/// `alg` of the data `records[i]` covers; each record gains a new chain.
pub fn renew_hash_trees(
    records: &mut [EvidenceRecord],
    alg: DigestAlg,
    data_hashes: &[Vec<u8>],
    stamper: Stamper<'_>,
) -> Result<()> {
    if records.len() != data_hashes.len() {
        return Err(Error::Invalid("one data hash per record".into()));
    }
    let leaves: Vec<Vec<u8>> = records
        .iter()
        .zip(data_hashes)
        .map(|(r, d)| r.hash_tree_renewal_leaf(alg, d))
        .collect::<Result<_>>()?;
    for (r, st) in records.iter_mut().zip(stamp_leaves(alg, &leaves, stamper)?) {
        r.append_chain(st)?;
    }
    Ok(())
}

/// What one archive timestamp of a record proved.
#[derive(Debug, Serialize)]
pub struct StampOutcome {
    /// 1-based chain and position in it.
    pub chain: usize,
    pub position: usize,
    pub digest_algorithm: Option<String>,
    /// The timestamp's time (RFC 3339), when readable.
    pub gen_time: Option<String>,
    /// The time against which the TSA's certificates were judged: the next
    /// archive timestamp's, or the validation time for the last.
    pub judged_at: String,
    /// The timestamp token's own report (signature, TSA path, imprint).
    pub report: SignatureReport,
}

/// The verdict on an evidence record over some data.
#[derive(Debug, Serialize)]
pub struct RecordVerdict {
    /// Every archive timestamp covers the data and holds at its time.
    pub valid: bool,
    /// When `valid`: the earliest time the data is proven to have existed (RFC 3339).
    pub existed_at: Option<String>,
    /// Unix seconds of `existed_at`.
    #[serde(skip)]
    pub existed_at_unix: Option<i64>,
    pub stamps: Vec<StampOutcome>,
    /// Why it is not valid, in both languages (empty when valid).
    pub checks: Vec<Check>,
}

fn failed(code: &'static str, vi: String, en: String) -> Check {
    Check::new(code, Outcome::Failed, vi, en)
}

/// Verify `er` over data whose hash with an algorithm `data_hash` gives,
/// at `opts.at` (RFC 4998 §5.3): each chain's first stamp covers the data
/// (after a hash-tree renewal, with the earlier chains), each later stamp
/// the timestamp before it; each timestamp is valid at the time of the
/// next one (its proof of existence), the last at the validation time.
pub fn verify(
    er: &EvidenceRecord,
    data_hash: &dyn Fn(DigestAlg) -> Result<Vec<u8>>,
    opts: &crate::VerifyOptions,
) -> RecordVerdict {
    let mut checks = Vec::new();
    // Pass 1: what each stamp covers, and its time.
    struct Step<'a> {
        chain: usize,
        pos: usize,
        stamp: &'a ArchiveTimeStamp,
        alg: Option<DigestAlg>,
        root: Option<Vec<u8>>,
        time: Option<i64>,
    }
    let mut steps: Vec<Step<'_>> = Vec::new();
    for (ci, chain) in er.chains.iter().enumerate() {
        let mut chain_alg: Option<DigestAlg> = None;
        for (pi, st) in chain.stamps.iter().enumerate() {
            let (c1, p1) = (ci + 1, pi + 1);
            // The token's TSTInfo read once: its time, imprint and algorithm.
            let tst = st.tst_info().ok();
            let time = tst.as_ref().map(|t| t.gen_time);
            let alg = match st.algorithm_with(tst.as_ref()) {
                Ok(a) => Some(a),
                Err(e) => {
                    checks.push(failed(
                        "ERS_ALGORITHM_UNSUPPORTED",
                        format!("Dấu thời gian lưu trữ {c1}.{p1}: thuật toán băm không được hỗ trợ ({e})"),
                        format!("Archive timestamp {c1}.{p1}: hash algorithm not supported ({e})"),
                    ));
                    None
                }
            };
            if let (Some(a), Some(c)) = (alg, chain_alg) {
                if a != c {
                    checks.push(failed(
                        "ERS_ALGORITHM_CHANGED_IN_CHAIN",
                        format!(
                            "Dấu thời gian lưu trữ {c1}.{p1} đổi thuật toán băm trong một chuỗi"
                        ),
                        format!(
                            "Archive timestamp {c1}.{p1} changes the hash algorithm within a chain"
                        ),
                    ));
                }
            }
            chain_alg = chain_alg.or(alg);
            let mut root = None;
            if let Some(a) = alg {
                let covered: Result<Vec<u8>> = if pi == 0 {
                    data_hash(a).and_then(|d| {
                        if ci == 0 {
                            Ok(d)
                        } else {
                            let seq = hash_of(a, &[&er.sequence_der(ci)])?;
                            hash_of(a, &[&d, &seq])
                        }
                    })
                } else {
                    hash_of(a, &[&chain.stamps[pi - 1].timestamp])
                };
                // Without a reduced tree the timestamp is over the hash itself.
                let imprint = tst.as_ref().map(|t| t.imprint.clone());
                let reached = covered
                    .and_then(|h| root_of(a, &h, st.reduced.as_deref()))
                    .map(|r| {
                        r.filter(|r| {
                            st.reduced.is_some() || imprint.as_ref().is_none_or(|i| i == r)
                        })
                    });
                match reached {
                    Ok(Some(r)) => root = Some(r),
                    Ok(None) => checks.push(failed(
                        "ERS_HASH_NOT_IN_TREE",
                        if pi == 0 {
                            format!("Dấu thời gian lưu trữ {c1}.{p1} không bao phủ dữ liệu này (mã băm của dữ liệu không có trong cây băm): dữ liệu đã bị thay đổi hoặc bản ghi thuộc dữ liệu khác")
                        } else {
                            format!("Dấu thời gian lưu trữ {c1}.{p1} không bao phủ dấu thời gian trước nó")
                        },
                        if pi == 0 {
                            format!("Archive timestamp {c1}.{p1} does not cover this data (its hash is not in the hash tree): the data was changed or the record belongs to other data")
                        } else {
                            format!("Archive timestamp {c1}.{p1} does not cover the timestamp before it")
                        },
                    )),
                    Err(e) => checks.push(failed(
                        "ERS_DATA_UNREADABLE",
                        format!("Không tính được mã băm cho dấu thời gian lưu trữ {c1}.{p1}: {e}"),
                        format!("The hash for archive timestamp {c1}.{p1} could not be computed: {e}"),
                    )),
                }
            }
            steps.push(Step {
                chain: c1,
                pos: p1,
                stamp: st,
                alg,
                root,
                time,
            });
        }
    }
    // Times must not go backwards.
    for w in steps.windows(2) {
        if let (Some(a), Some(b)) = (w[0].time, w[1].time) {
            if b < a {
                checks.push(failed(
                    "ERS_TIME_ORDER",
                    format!(
                        "Dấu thời gian lưu trữ {}.{} sớm hơn dấu thời gian trước nó",
                        w[1].chain, w[1].pos
                    ),
                    format!(
                        "Archive timestamp {}.{} is earlier than the one before it",
                        w[1].chain, w[1].pos
                    ),
                ));
            }
        }
    }
    // Pass 2: each token, judged at the next stamp's time.
    let mut stamps = Vec::new();
    let none = crate::revocation::RevocationData::default();
    for (k, s) in steps.iter().enumerate() {
        let next = steps.get(k + 1).and_then(|n| n.time);
        let judged = next.unwrap_or(opts.at);
        let stamped = match (s.alg, &s.root) {
            (Some(a), Some(r)) => crate::validate::cmscheck::Content::Digest(a, r.clone()),
            // Nothing to compare the imprint with: judged as a token over
            // nothing (its imprint check fails, the rest is still reported).
            _ => crate::validate::cmscheck::Content::Bytes(&[]),
        };
        let (mut rep, _) = crate::validate::tsp::verify_token_in(
            &s.stamp.timestamp,
            &stamped,
            SignatureKind::ArchiveTimestamp,
            k,
            opts,
            &none,
            crate::core::Timing {
                external_poe: next,
                revocation_at_most: None,
            },
        );
        rep.conclude();
        // A stamp whose coverage already failed is not reported twice.
        if rep.indication != Indication::TotalPassed && s.root.is_some() {
            let (c, p) = (s.chain, s.pos);
            let why = rep
                .checks
                .iter()
                .find(|c| c.outcome == Outcome::Failed)
                .map(|c| (c.message_vi.clone(), c.message_en.clone()))
                .unwrap_or_default();
            checks.push(failed(
                "ERS_TIMESTAMP_NOT_VALID",
                format!(
                    "Dấu thời gian lưu trữ {c}.{p} không hợp lệ tại thời điểm {}: {}",
                    crate::pki::cert::fmt_unix(judged),
                    why.0
                ),
                format!(
                    "Archive timestamp {c}.{p} is not valid at {}: {}",
                    crate::pki::cert::fmt_unix(judged),
                    why.1
                ),
            ));
        }
        stamps.push(StampOutcome {
            chain: s.chain,
            position: s.pos,
            digest_algorithm: s.alg.map(|a| a.name().to_string()),
            gen_time: s.time.map(crate::pki::cert::fmt_unix),
            judged_at: crate::pki::cert::fmt_unix(judged),
            report: rep,
        });
    }
    let valid = checks.is_empty();
    let first = steps.first().and_then(|s| s.time).filter(|_| valid);
    RecordVerdict {
        valid,
        existed_at: first.map(crate::pki::cert::fmt_unix),
        existed_at_unix: first,
        stamps,
        checks,
    }
}

/// The verdict in words, Vietnamese and English: what is proven, and
/// what is not with why.
pub fn verdict_text(v: &RecordVerdict) -> (String, String) {
    let mut vi = String::new();
    let mut en = String::new();
    match (&v.existed_at, v.valid) {
        (Some(t), true) => {
            vi.push_str(&format!(
                "HỢP LỆ: tệp tồn tại và không thay đổi từ thời điểm {t}"
            ));
            en.push_str(&format!("VALID: the file existed, unchanged, at {t}"));
        }
        _ => {
            vi.push_str("KHÔNG CHỨNG MINH ĐƯỢC: bản ghi bằng chứng không chứng minh tệp này tồn tại không thay đổi");
            en.push_str(
                "NOT PROVEN: the evidence record does not prove this file existed unchanged",
            );
        }
    }
    vi.push_str(&format!(" ({} dấu thời gian lưu trữ)\n", v.stamps.len()));
    en.push_str(&format!(" ({} archive timestamps)\n", v.stamps.len()));
    for s in &v.stamps {
        let line = |at: &str, judged: &str| {
            format!(
                "  {}.{} {} {at} {} ({judged} {}): {}\n",
                s.chain,
                s.position,
                s.digest_algorithm.as_deref().unwrap_or("?"),
                s.gen_time.as_deref().unwrap_or("?"),
                s.judged_at,
                s.report.verdict()
            )
        };
        vi.push_str(&line("lúc", "xét tại"));
        en.push_str(&line("at", "judged at"));
    }
    for c in &v.checks {
        vi.push_str(&format!("  ✗ {}: {}\n", c.code, c.message_vi));
        en.push_str(&format!("  ✗ {}: {}\n", c.code, c.message_en));
    }
    (vi, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: &[u8]) -> Vec<u8> {
        DigestAlg::Sha256.digest(b).unwrap()
    }

    #[test]
    fn every_leaf_reaches_the_root() {
        for n in [1usize, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 1023] {
            let leaves: Vec<Vec<u8>> = (0..n).map(|i| h(&i.to_be_bytes())).collect();
            let t = HashTree::build(DigestAlg::Sha256, leaves.clone()).unwrap();
            for l in &leaves {
                let red = t.reduced(l).expect("a leaf");
                let root = root_of(DigestAlg::Sha256, l, red.as_deref()).unwrap();
                assert_eq!(root.as_deref(), Some(t.root()), "n={n}");
                // Every list after the first holds one hash.
                if let Some(lists) = &red {
                    assert!(lists[0].len() == 2 || lists[0].len() == 3);
                    assert!(lists[1..].iter().all(|x| x.len() == 1));
                    assert!(lists.len() <= 64 - (n as u64).leading_zeros() as usize);
                }
            }
            // Something not in the tree reaches nothing.
            assert!(t.reduced(&h(b"other")).is_none());
            if n > 1 {
                let red = t.reduced(&leaves[0]).unwrap();
                assert_eq!(
                    root_of(DigestAlg::Sha256, &h(b"other"), red.as_deref()).unwrap(),
                    None
                );
            }
        }
    }

    #[test]
    fn bouncycastle_layout_reads_as_written() {
        // BouncyCastle 1.72 for b in {a, b, c}: [{b}, {c}, {a}], root = H(sort(a, H(sort(b, c)))).
        let (a, b, c) = (h(b"a"), h(b"b"), h(b"c"));
        let bc = hash_sorted(DigestAlg::Sha256, &[&b, &c]).unwrap();
        let root = hash_sorted(DigestAlg::Sha256, &[&a, &bc]).unwrap();
        let lists = vec![vec![b.clone()], vec![c.clone()], vec![a.clone()]];
        assert_eq!(
            root_of(DigestAlg::Sha256, &b, Some(&lists)).unwrap(),
            Some(root.clone())
        );
        // The same as RFC 4998's layout [{b, c}, {a}].
        let rfc = vec![vec![b.clone(), c.clone()], vec![a.clone()]];
        assert_eq!(
            root_of(DigestAlg::Sha256, &b, Some(&rfc)).unwrap(),
            Some(root)
        );
    }

    #[test]
    fn record_round_trips() {
        let t = HashTree::build(DigestAlg::Sha256, vec![h(b"x"), h(b"y"), h(b"z")]).unwrap();
        // A token stand-in: any DER SEQUENCE reads as the timestamp field.
        let token = encode_tlv(TAG_SEQUENCE, &encode_tlv(TAG_INTEGER, &[7]));
        let ats =
            ArchiveTimeStamp::new(DigestAlg::Sha256, t.reduced(&h(b"y")).unwrap(), token).unwrap();
        let mut er = EvidenceRecord::new(ats).unwrap();
        let der = er.to_der();
        assert_eq!(EvidenceRecord::parse(&der).unwrap(), er);
        let ats2 =
            ArchiveTimeStamp::new(DigestAlg::Sha256, None, encode_tlv(TAG_SEQUENCE, &[])).unwrap();
        er.append_renewal(ats2).unwrap();
        let ats3 =
            ArchiveTimeStamp::new(DigestAlg::Sha512, None, encode_tlv(TAG_SEQUENCE, &[])).unwrap();
        assert!(
            er.append_renewal(ats3.clone()).is_err(),
            "a renewal keeps the algorithm"
        );
        er.append_chain(ats3).unwrap();
        let back = EvidenceRecord::parse(&er.to_der()).unwrap();
        assert_eq!(back, er);
        assert_eq!(back.digest_algs.len(), 2);
        // Truncated or trailing bytes are refused.
        let der = er.to_der();
        assert!(EvidenceRecord::parse(&der[..der.len() - 1]).is_err());
        let mut more = der.clone();
        more.push(0);
        assert!(EvidenceRecord::parse(&more).is_err());
    }
}
