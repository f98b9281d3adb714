//! Entry points shared by the cargo-fuzz targets and by the regression test
//! that replays saved fuzz inputs (`tests/fuzz_regressions.rs`).

use crate::Limits;
use crate::pdf::source::MemSource;
use crate::pdf::{Document, find_signatures};
use crate::pki::TrustStore;
use crate::validate::{VerifyOptions, verify_bytes};

/// Small limits so that a fuzz input cannot make a run slow.
fn limits() -> Limits {
    Limits {
        max_object_bytes: 1 << 20,
        max_stream_bytes: 1 << 20,
        max_xref_entries: 100_000,
        ..Limits::default()
    }
}

pub fn pdf_signatures(data: &[u8]) {
    let src = MemSource(data);
    if let Ok(doc) = Document::open(&src, limits()) {
        let _ = find_signatures(&doc);
    }
}

/// The revision chain and the analysis of changes after each `%%EOF`
/// (as if a signature ended there), at most 8 of them.
pub fn revisions(data: &[u8]) {
    let src = MemSource(data);
    let Ok(doc) = Document::open(&src, limits()) else {
        return;
    };
    let ends = data
        .windows(5)
        .enumerate()
        .filter(|(_, w)| w == b"%%EOF")
        .map(|(i, _)| (i + 5) as u64)
        .take(8);
    for end in ends {
        let _ = crate::pdf::changes::analyse(&doc, end);
    }
}

pub fn cms(data: &[u8]) {
    if let Ok((tlv, _)) = crate::cms::first_tlv(data) {
        if let Ok(sd) = crate::cms::parse_signed_data(tlv, 64) {
            for si in &sd.signer_infos {
                for a in si.signed_attr(crate::cms::oid::SIGNING_CERTIFICATE_V2) {
                    for v in &a.values {
                        let _ = crate::cms::parse_ess_cert_ids(v, true);
                    }
                }
            }
            if let Some(c) = &sd.econtent {
                let _ = crate::validate::parse_tst_info(c);
            }
        }
    }
}

pub fn verify(data: &[u8]) {
    let mut opts = VerifyOptions::new(TrustStore::new(), 1_790_000_000);
    opts.limits = limits();
    let _ = verify_bytes(data, None, "fuzz", &opts);
}

/// The signed-XML path: source normalization, the parser with its limits,
/// and every signature through `verify_xml` (one supplied detached
/// document, so external references resolve too).
pub fn xml(data: &[u8]) {
    let mut opts = VerifyOptions::new(TrustStore::new(), 1_790_000_000);
    opts.limits = Limits {
        max_xml_bytes: 1 << 20,
        max_xml_elements: 20_000,
        max_xml_references: 64,
        ..limits()
    };
    let det = [crate::xml::dsig::Detached {
        uri: "doc.txt",
        data: crate::xml::dsig::DetachedData::Bytes(b"detached"),
    }];
    let _ = crate::validate::verify_xml(data, &det, "fuzz.xml", &opts);
}

/// Bytes of a fuzz input taken in order; past the end, zeros.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        b
    }
    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }
    /// A run of at most `max` bytes, its length from the input.
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = usize::from(self.byte()) % max.saturating_add(1);
        let start = self.pos.min(self.data.len());
        let end = start.saturating_add(n).min(self.data.len());
        self.pos = self.pos.saturating_add(n);
        self.data.get(start..end).unwrap_or(&[]).to_vec()
    }
    fn pick<T: Copy>(&mut self, from: &[T]) -> Option<T> {
        if from.is_empty() {
            return None;
        }
        from.get(usize::from(self.byte()) % from.len()).copied()
    }
}

/// Values that steer parsers into their corners: UTF-8 with Vietnamese
/// letters (multi-byte at odd offsets), identity shapes, odd times.
const TEXTS: &[&[u8]] = &[
    b"CCCD:001203004567",
    "123456789éabc".as_bytes(),
    "0100686209-001".as_bytes(),
    "MST:0100686209é001".as_bytes(),
    "Nguyễn Văn Thử".as_bytes(),
    b"\xff\xfe\x00",
    b"",
];
const TIMES: &[&[u8]] = &[
    b"261101120000Z",
    "2611010é000Z".as_bytes(),
    b"20261101120000.123Z",
    b"991231235959Z",
    b"20261101120000+0700",
    b"2026",
];
/// Extension OIDs the verifier reads (key usage, EKU, basic constraints,
/// CRL distribution points, AIA, certificate policies, name constraints,
/// ocsp-nocheck, ExpiredCertsOnCRL, IDP, delta, CRL number, cert issuer).
const EXT_OIDS: &[&str] = &[
    "2.5.29.15",
    "2.5.29.37",
    "2.5.29.19",
    "2.5.29.31",
    "1.3.6.1.5.5.7.1.1",
    "2.5.29.32",
    "2.5.29.30",
    "1.3.6.1.5.5.7.48.1.5",
    "2.5.29.60",
    "2.5.29.28",
    "2.5.29.27",
    "2.5.29.20",
    "2.5.29.29",
    "2.5.29.35",
    "1.2.3.4",
];
const NAME_OIDS: &[&str] = &[
    "2.5.4.3",
    "0.9.2342.19200300.100.1.1",
    "2.5.4.5",
    "2.5.4.10",
    "2.5.4.6",
    "1.2.840.113549.1.9.1",
];
const STRING_TAGS: &[u8] = &[0x0c, 0x13, 0x16, 0x14, 0x1e, 0x04];

fn tlv(tag: u8, v: &[u8]) -> Vec<u8> {
    crate::der::encode_tlv(tag, v)
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// `inner` in an explicit tag, or nothing when `inner` is empty.
fn wrap(tag: u8, inner: Vec<u8>) -> Vec<u8> {
    if inner.is_empty() {
        inner
    } else {
        tlv(tag, &inner)
    }
}

fn oid(dotted: &str) -> Vec<u8> {
    crate::sign::cms::oid(dotted)
}

/// A value: one of the steering texts, or bytes from the input.
fn value(c: &mut Cursor<'_>, pool: &[&[u8]]) -> Vec<u8> {
    if c.flag() {
        c.pick(pool).unwrap_or(b"").to_vec()
    } else {
        c.bytes(24)
    }
}

fn time_field(c: &mut Cursor<'_>, fallback: &[u8]) -> Vec<u8> {
    match c.byte() % 4 {
        0 => tlv(0x17, fallback),
        1 => tlv(0x17, &value(c, TIMES)),
        2 => tlv(0x18, &value(c, TIMES)),
        _ => tlv(c.byte(), &c.bytes(16)),
    }
}

/// An Extensions SEQUENCE (`first` and fuzzed ones); empty when there are none.
fn extensions(c: &mut Cursor<'_>, max: u8, first: Option<Vec<u8>>) -> Vec<u8> {
    let n = c.byte() % max.saturating_add(1);
    let mut exts: Vec<Vec<u8>> = first.into_iter().collect();
    if n == 0 && exts.is_empty() {
        return Vec::new();
    }
    for _ in 0..n {
        let o = c.pick(EXT_OIDS).unwrap_or("1.2.3.4");
        let mut e = vec![oid(o)];
        if c.flag() {
            e.push(tlv(0x01, &[0xff]));
        }
        // A value: raw bytes, or a SEQUENCE / BIT STRING around them.
        let raw = c.bytes(40);
        let v = match c.byte() % 3 {
            0 => raw,
            1 => tlv(0x30, &raw),
            _ => tlv(0x03, &[&[0u8][..], &raw].concat()),
        };
        e.push(tlv(0x04, &v));
        exts.push(seq(&e));
    }
    seq(&exts)
}

struct Keys {
    ca: openssl::pkey::PKey<openssl::pkey::Private>,
    ca_cert: openssl::x509::X509,
    leaf: openssl::pkey::PKey<openssl::pkey::Private>,
}

fn keys() -> Option<&'static Keys> {
    static KEYS: std::sync::OnceLock<Option<Keys>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::nid::Nid;
        let g = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).ok()?;
        let ca = openssl::pkey::PKey::from_ec_key(EcKey::generate(&g).ok()?).ok()?;
        let leaf = openssl::pkey::PKey::from_ec_key(EcKey::generate(&g).ok()?).ok()?;
        let mut name = openssl::x509::X509NameBuilder::new().ok()?;
        name.append_entry_by_text("CN", "kyso fuzz CA").ok()?;
        let name = name.build();
        let mut b = openssl::x509::X509Builder::new().ok()?;
        b.set_version(2).ok()?;
        b.set_subject_name(&name).ok()?;
        b.set_issuer_name(&name).ok()?;
        b.set_pubkey(&ca).ok()?;
        let nb = openssl::asn1::Asn1Time::from_unix(1_577_836_800).ok()?;
        let na = openssl::asn1::Asn1Time::from_unix(2_524_608_000).ok()?;
        b.set_not_before(&nb).ok()?;
        b.set_not_after(&na).ok()?;
        b.append_extension(
            openssl::x509::extension::BasicConstraints::new()
                .critical()
                .ca()
                .build()
                .ok()?,
        )
        .ok()?;
        b.append_extension(
            openssl::x509::extension::KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .ok()?,
        )
        .ok()?;
        let ski = openssl::x509::extension::SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(None, None))
            .ok()?;
        b.append_extension(ski).ok()?;
        b.sign(&ca, openssl::hash::MessageDigest::sha256()).ok()?;
        Some(Keys {
            ca,
            ca_cert: b.build(),
            leaf,
        })
    })
    .as_ref()
}

fn sign(key: &openssl::pkey::PKey<openssl::pkey::Private>, tbs: &[u8]) -> Vec<u8> {
    openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), key)
        .and_then(|mut s| s.sign_oneshot_to_vec(tbs))
        .unwrap_or_default()
}

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

/// Structure-aware: a certificate, signed attributes and a CRL built from
/// fields of the input (names with UTF-8 and identity shapes, times, OIDs,
/// extensions, CRL entries and extensions), each validly signed, then a CMS
/// over them verified with the CA trusted and the CRL given — so the fields
/// reach the code behind the signature checks: identities, path profile
/// rules, ESS, signing time, revocation scope and status.
pub fn fields(data: &[u8]) -> Option<crate::Report> {
    let k = keys()?;
    let mut c = Cursor { data, pos: 0 };
    let ca_name = k.ca_cert.subject_name().to_der().unwrap_or_default();
    // authorityKeyIdentifier [0] keyIdentifier: X509_STRICT wants it.
    let key_id = k
        .ca_cert
        .subject_key_id()
        .map(|i| i.as_slice().to_vec())
        .unwrap_or_default();
    let aki = seq(&[oid("2.5.29.35"), tlv(0x04, &seq(&[tlv(0x80, &key_id)]))]);
    // Subject: attributes with steering values in varied string types.
    let n = 1 + c.byte() % 4;
    let mut rdns = Vec::new();
    for _ in 0..n {
        let o = c.pick(NAME_OIDS).unwrap_or("2.5.4.3");
        let tag = c.pick(STRING_TAGS).unwrap_or(0x0c);
        let v = value(&mut c, TEXTS);
        rdns.push(tlv(0x31, &seq(&[oid(o), tlv(tag, &v)])));
    }
    let subject = tlv(0x30, &rdns.concat());
    let spki = k.leaf.public_key_to_der().unwrap_or_default();
    let serial = tlv(0x02, &[0x01, c.byte()]);
    let alg = seq(&[oid(ECDSA_SHA256)]);
    let validity = seq(&[
        time_field(&mut c, b"200101000000Z"),
        time_field(&mut c, b"400101000000Z"),
    ]);
    let tbs = seq(&[
        tlv(0xa0, &tlv(0x02, &[2])),
        serial.clone(),
        alg.clone(),
        ca_name.clone(),
        validity,
        subject,
        spki,
        wrap(0xa3, extensions(&mut c, 5, Some(aki.clone()))),
    ]);
    let cert = seq(&[
        tbs.clone(),
        alg.clone(),
        tlv(0x03, &[&[0u8][..], &sign(&k.ca, &tbs)].concat()),
    ]);
    if let Ok(x) = openssl::x509::X509::from_der(&cert) {
        let _ = crate::pki::cert::summarize(&x);
    }
    // Signed attributes: contentType, messageDigest, signingTime, extras.
    let content = b"kyso fuzz content";
    let digest = openssl::sha::sha256(content);
    let mut attrs = vec![
        seq(&[
            oid("1.2.840.113549.1.9.3"),
            tlv(
                0x31,
                &if c.flag() {
                    tlv(0x06, &c.bytes(12))
                } else {
                    oid("1.2.840.113549.1.7.1")
                },
            ),
        ]),
        seq(&[oid("1.2.840.113549.1.9.4"), tlv(0x31, &tlv(0x04, &digest))]),
    ];
    if c.flag() {
        let t = time_field(&mut c, b"261101000000Z");
        attrs.push(seq(&[oid("1.2.840.113549.1.9.5"), tlv(0x31, &t)]));
    }
    for _ in 0..c.byte() % 3 {
        let o = c.pick(EXT_OIDS).unwrap_or("1.2.3.4");
        let v = c.bytes(30);
        attrs.push(seq(&[oid(o), tlv(0x31, &tlv(0x04, &v))]));
    }
    let signed_attrs = tlv(0x31, &attrs.concat());
    let signature = sign(&k.leaf, &signed_attrs);
    let mut implicit = signed_attrs.clone();
    if let Some(t) = implicit.first_mut() {
        *t = 0xa0;
    }
    let issuer_serial = seq(&[ca_name.clone(), serial.clone()]);
    let sha256 = seq(&[oid("2.16.840.1.101.3.4.2.1")]);
    let si = seq(&[
        tlv(0x02, &[1]),
        issuer_serial,
        sha256.clone(),
        implicit,
        alg.clone(),
        tlv(0x04, &signature),
    ]);
    let ca_der = k.ca_cert.to_der().unwrap_or_default();
    let sd = seq(&[
        tlv(0x02, &[1]),
        tlv(0x31, &sha256),
        seq(&[oid("1.2.840.113549.1.7.1"), tlv(0xa0, &tlv(0x04, content))]),
        tlv(0xa0, &[cert.clone(), ca_der].concat()),
        tlv(0x31, &si),
    ]);
    let ci = seq(&[oid("1.2.840.113549.1.7.2"), tlv(0xa0, &sd)]);
    // A CRL of the CA with fuzzed entries and extensions.
    let mut entries = Vec::new();
    for _ in 0..c.byte() % 4 {
        let s = if c.flag() {
            serial.clone()
        } else {
            tlv(0x02, &c.bytes(4))
        };
        let mut e = vec![s, time_field(&mut c, b"260101000000Z")];
        e.push(extensions(&mut c, 2, None));
        entries.push(seq(&e));
    }
    let crl_tbs = seq(&[
        tlv(0x02, &[1]),
        alg.clone(),
        ca_name,
        time_field(&mut c, b"261001000000Z"),
        time_field(&mut c, b"271001000000Z"),
        seq(&entries),
        wrap(0xa0, extensions(&mut c, 4, Some(aki))),
    ]);
    let crl = seq(&[
        crl_tbs.clone(),
        alg,
        tlv(0x03, &[&[0u8][..], &sign(&k.ca, &crl_tbs)].concat()),
    ]);
    let mut trust = TrustStore::new();
    trust.add(k.ca_cert.clone());
    let mut opts = VerifyOptions::new(trust, 1_793_534_400);
    opts.limits = limits();
    opts.revocation
        .crls
        .push((crate::revocation::RevSource::Caller, crl.into()));
    Some(verify_bytes(&ci, None, "fuzz", &opts).0)
}

/// The ZIP package reader: structure and findings, then every part opened
/// within small limits (inflation, CRC).
pub fn package(data: &[u8]) {
    let limits = crate::package::PackageLimits {
        max_entries: 1_000,
        max_part_bytes: 4 << 20,
        max_total_bytes: 16 << 20,
        max_ratio: 1_000,
    };
    if let Ok(p) = crate::package::Package::read(data, &limits) {
        if p.check_total().is_ok() {
            for part in &p.parts {
                let _ = p.open(part);
                if let Ok(mut r) = p.reader(part) {
                    let _ = std::io::copy(&mut r, &mut std::io::sink());
                }
            }
        }
    }
    // The whole package path: relationships, content types, signatures
    // found and verified against the parts, coverage.
    let opts = crate::core::VerifyOptions::new(crate::pki::TrustStore::new(), 1_793_491_200);
    let _ = crate::validate::package::verify_package(data, "fuzz", &opts);
}

/// The streamed canonicalization of a whole document against the tree
/// path: where both read the input, the canonical bytes must be equal.
pub fn stream_c14n(data: &[u8]) {
    use bergshamra_c14n::C14nMode;
    let limits = crate::error::Limits {
        max_xml_depth: 64,
        max_xml_elements: 20_000,
        ..Default::default()
    };
    for mode in [C14nMode::Inclusive, C14nMode::ExclusiveWithComments] {
        let mut streamed = Vec::new();
        let s = crate::xml::stream_c14n::canonicalize(data, mode, &[], &limits, &mut streamed);
        let tree = crate::xml::dsig::canonical_octets_tree(data, mode, &[], &limits);
        if let (Ok(()), Ok(t)) = (s, tree) {
            assert!(
                t == streamed,
                "streamed and tree canonical XML differ ({mode:?})"
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    /// The structure-aware target gets past the signature checks: with the
    /// fields of an all-zero input the CMS verifies and its chain is valid,
    /// so the fuzzed fields meet the code behind them.
    #[test]
    fn fields_reach_behind_the_signature_checks() {
        let r = super::fields(&[0u8; 64]).unwrap();
        let s = &r.signatures[0];
        let codes: Vec<&str> = s.checks.iter().map(|c| c.code).collect();
        assert!(codes.contains(&"SIGNATURE_VALUE_VALID"), "{codes:?}");
        assert!(codes.contains(&"CHAIN_VALID"), "{codes:?} {:?}", s.checks);
        assert!(
            s.revocation.iter().any(|e| e.kind == "CRL"),
            "{:?}",
            s.revocation
        );
    }
}
