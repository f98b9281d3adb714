//! CAdES detached SignedData for PAdES (ETSI EN 319 122-1 baseline B):
//! signed attributes contentType, messageDigest and signingCertificateV2 —
//! no signingTime (PAdES puts the time in the signature dictionary's /M).
//! Written with a small DER encoder; the signature value comes from a
//! [`super::KeySigner`], so the private key never has to be here.

use openssl::hash::MessageDigest;
use openssl::x509::X509;

use crate::der::encode_tlv;
use crate::error::{Error, Result};

/// A digest algorithm for the message imprint and the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    pub fn parse(s: &str) -> Option<Digest> {
        Some(match s.to_ascii_lowercase().as_str() {
            "sha256" | "sha-256" => Digest::Sha256,
            "sha384" | "sha-384" => Digest::Sha384,
            "sha512" | "sha-512" => Digest::Sha512,
            _ => return None,
        })
    }
    pub fn md(self) -> MessageDigest {
        match self {
            Digest::Sha256 => MessageDigest::sha256(),
            Digest::Sha384 => MessageDigest::sha384(),
            Digest::Sha512 => MessageDigest::sha512(),
        }
    }
    pub fn output_len(self) -> usize {
        match self {
            Digest::Sha256 => 32,
            Digest::Sha384 => 48,
            Digest::Sha512 => 64,
        }
    }
    pub(crate) fn oid(self) -> &'static str {
        match self {
            Digest::Sha256 => "2.16.840.1.101.3.4.2.1",
            Digest::Sha384 => "2.16.840.1.101.3.4.2.2",
            Digest::Sha512 => "2.16.840.1.101.3.4.2.3",
        }
    }
}

/// The signature scheme of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    RsaPkcs1,
    RsaPss,
    Ecdsa,
}

pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut body = Vec::new();
    if arcs.len() >= 2 {
        push_base128(arcs[0] * 40 + arcs[1], &mut body);
        for a in &arcs[2..] {
            push_base128(*a, &mut body);
        }
    }
    encode_tlv(0x06, &body)
}

fn push_base128(mut v: u64, out: &mut Vec<u8>) {
    let mut tmp = vec![(v & 0x7f) as u8];
    v >>= 7;
    while v > 0 {
        tmp.push(((v & 0x7f) as u8) | 0x80);
        v >>= 7;
    }
    tmp.reverse();
    out.extend(tmp);
}

pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    encode_tlv(0x30, &parts.concat())
}

fn set(parts: &[&[u8]]) -> Vec<u8> {
    encode_tlv(0x31, &parts.concat())
}

/// DER SET OF: elements sorted by their encodings.
fn set_of(mut parts: Vec<Vec<u8>>) -> Vec<u8> {
    parts.sort();
    encode_tlv(0x31, &parts.concat())
}

fn int_small(v: u8) -> Vec<u8> {
    encode_tlv(0x02, &[v])
}

fn octets(b: &[u8]) -> Vec<u8> {
    encode_tlv(0x04, b)
}

fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

fn alg_id(o: &str, params: Option<&[u8]>) -> Vec<u8> {
    match params {
        Some(p) => seq(&[&oid(o), p]),
        None => seq(&[&oid(o)]),
    }
}

/// The AlgorithmIdentifier of a digest (parameters NULL, as TSAs expect).
pub fn alg_id_pub(d: Digest) -> Vec<u8> {
    alg_id(d.oid(), Some(&null()))
}

/// The AlgorithmIdentifier of the signature.
pub fn signature_algorithm(scheme: Scheme, d: Digest) -> Vec<u8> {
    match (scheme, d) {
        (Scheme::RsaPkcs1, Digest::Sha256) => alg_id("1.2.840.113549.1.1.11", Some(&null())),
        (Scheme::RsaPkcs1, Digest::Sha384) => alg_id("1.2.840.113549.1.1.12", Some(&null())),
        (Scheme::RsaPkcs1, Digest::Sha512) => alg_id("1.2.840.113549.1.1.13", Some(&null())),
        (Scheme::Ecdsa, Digest::Sha256) => alg_id("1.2.840.10045.4.3.2", None),
        (Scheme::Ecdsa, Digest::Sha384) => alg_id("1.2.840.10045.4.3.3", None),
        (Scheme::Ecdsa, Digest::Sha512) => alg_id("1.2.840.10045.4.3.4", None),
        (Scheme::RsaPss, d) => {
            // RSASSA-PSS-params: hash, MGF1 with the same hash, salt = hash length.
            let hash = alg_id(d.oid(), Some(&null()));
            let mgf = alg_id("1.2.840.113549.1.1.8", Some(&hash));
            let params = seq(&[
                &encode_tlv(0xa0, &hash),
                &encode_tlv(0xa1, &mgf),
                &encode_tlv(0xa2, &encode_tlv(0x02, &[d.output_len() as u8])),
            ]);
            alg_id("1.2.840.113549.1.1.10", Some(&params))
        }
    }
}

fn attribute(o: &str, value: &[u8]) -> Vec<u8> {
    seq(&[&oid(o), &set(&[value])])
}

/// The signed attributes (as the SET OF to be signed, tag 0x31).
pub fn signed_attributes(d: Digest, message_digest: &[u8], signer: &X509) -> Result<Vec<u8>> {
    let cert_der = signer.to_der()?;
    let cert_hash = openssl::hash::hash(d.md(), &cert_der)?;
    // IssuerSerial: GeneralNames { directoryName issuer }, serial.
    let issuer = signer.issuer_name().to_der()?;
    let serial = signer.serial_number().to_bn()?.to_vec();
    let mut serial_content = serial;
    if serial_content.first().is_some_and(|b| b & 0x80 != 0) || serial_content.is_empty() {
        serial_content.insert(0, 0);
    }
    let issuer_serial = seq(&[
        &seq(&[&encode_tlv(0xa4, &issuer)]),
        &encode_tlv(0x02, &serial_content),
    ]);
    // ESSCertIDv2: the hash algorithm is left out when it is SHA-256 (the default).
    let cert_id = if d == Digest::Sha256 {
        seq(&[&octets(&cert_hash), &issuer_serial])
    } else {
        seq(&[&alg_id(d.oid(), None), &octets(&cert_hash), &issuer_serial])
    };
    let signing_cert_v2 = seq(&[&seq(&[&cert_id])]);
    Ok(set_of(vec![
        attribute("1.2.840.113549.1.9.3", &oid("1.2.840.113549.1.7.1")),
        attribute("1.2.840.113549.1.9.4", &octets(message_digest)),
        attribute("1.2.840.113549.1.9.16.2.47", &signing_cert_v2),
    ]))
}

/// The unsigned attributes (DER SET) holding a signature timestamp token.
pub fn unsigned_timestamp_attribute(token: &[u8]) -> Vec<u8> {
    set(&[&attribute("1.2.840.113549.1.9.16.2.14", token)])
}

/// SignedData (ContentInfo) around a signature over `signed_attrs`.
pub fn signed_data(
    d: Digest,
    scheme: Scheme,
    signed_attrs: &[u8],
    signature: &[u8],
    signer: &X509,
    chain: &[X509],
    unsigned_attrs: Option<&[u8]>,
) -> Result<Vec<u8>> {
    if signed_attrs.first() != Some(&0x31) {
        return Err(Error::Invalid("signed attributes must be a DER SET".into()));
    }
    let issuer = signer.issuer_name().to_der()?;
    let mut serial = signer.serial_number().to_bn()?.to_vec();
    if serial.first().is_some_and(|b| b & 0x80 != 0) || serial.is_empty() {
        serial.insert(0, 0);
    }
    let sid = seq(&[&issuer, &encode_tlv(0x02, &serial)]);
    // [0] IMPLICIT SignedAttributes: the SET's tag becomes 0xa0.
    let mut attrs_implicit = signed_attrs.to_vec();
    attrs_implicit[0] = 0xa0;
    let mut si_parts: Vec<Vec<u8>> = vec![
        int_small(1),
        sid,
        alg_id(d.oid(), None),
        attrs_implicit,
        signature_algorithm(scheme, d),
        octets(signature),
    ];
    if let Some(u) = unsigned_attrs {
        let mut u = u.to_vec();
        if u.first() == Some(&0x31) {
            u[0] = 0xa1;
        }
        si_parts.push(u);
    }
    let refs: Vec<&[u8]> = si_parts.iter().map(Vec::as_slice).collect();
    let signer_info = seq(&refs);
    let mut certs = vec![signer.to_der()?];
    for c in chain {
        let der = c.to_der()?;
        if !certs.contains(&der) {
            certs.push(der);
        }
    }
    let sd = seq(&[
        &int_small(1),
        &set(&[&alg_id(d.oid(), None)]),
        &seq(&[&oid("1.2.840.113549.1.7.1")]),
        &encode_tlv(0xa0, &certs.concat()),
        &set(&[&signer_info]),
    ]);
    Ok(seq(&[&oid("1.2.840.113549.1.7.2"), &encode_tlv(0xa0, &sd)]))
}
