//! XMLDSig algorithm identifiers (XMLDSig 1.1 §6, RFC 6931) and what kyso
//! does with each: supported, refused on purpose, or unknown.

use bergshamra_c14n::C14nMode;

use crate::crypto::{DigestAlg, SigScheme};

/// A digest method URI.
pub fn digest(uri: &str) -> Option<DigestAlg> {
    Some(match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => DigestAlg::Sha1,
        "http://www.w3.org/2001/04/xmldsig-more#sha224" => DigestAlg::Sha224,
        "http://www.w3.org/2001/04/xmlenc#sha256" => DigestAlg::Sha256,
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => DigestAlg::Sha384,
        "http://www.w3.org/2001/04/xmlenc#sha512" => DigestAlg::Sha512,
        "http://www.w3.org/2007/05/xmldsig-more#sha3-224" => DigestAlg::Sha3_224,
        "http://www.w3.org/2007/05/xmldsig-more#sha3-256" => DigestAlg::Sha3_256,
        "http://www.w3.org/2007/05/xmldsig-more#sha3-384" => DigestAlg::Sha3_384,
        "http://www.w3.org/2007/05/xmldsig-more#sha3-512" => DigestAlg::Sha3_512,
        "http://www.w3.org/2001/04/xmldsig-more#md5" => DigestAlg::Md5,
        _ => return None,
    })
}

/// What a SignatureMethod URI is to kyso.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigAlg {
    Scheme(SigScheme),
    /// RSASSA-PSS with parameters in the element (RFC 6931 §2.3.10).
    PssWithParams,
    /// Refused on purpose, with the reason.
    Refused(&'static str),
}

/// A SignatureMethod URI; `None` when unknown.
pub fn signature(uri: &str) -> Option<SigAlg> {
    use DigestAlg::*;
    let pss = |h: DigestAlg| {
        SigAlg::Scheme(SigScheme::RsaPss {
            hash: h,
            mgf1_hash: h,
            salt_len: digest_len(h),
        })
    };
    const HMAC: &str = "HMAC: a shared secret names no signer";
    Some(match uri {
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => SigAlg::Scheme(SigScheme::RsaPkcs1(Sha1)),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha224" => {
            SigAlg::Scheme(SigScheme::RsaPkcs1(Sha224))
        }
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => {
            SigAlg::Scheme(SigScheme::RsaPkcs1(Sha256))
        }
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => {
            SigAlg::Scheme(SigScheme::RsaPkcs1(Sha384))
        }
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => {
            SigAlg::Scheme(SigScheme::RsaPkcs1(Sha512))
        }
        "http://www.w3.org/2007/05/xmldsig-more#sha1-rsa-MGF1" => pss(Sha1),
        "http://www.w3.org/2007/05/xmldsig-more#sha224-rsa-MGF1" => pss(Sha224),
        "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1" => pss(Sha256),
        "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1" => pss(Sha384),
        "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1" => pss(Sha512),
        "http://www.w3.org/2007/05/xmldsig-more#sha3-224-rsa-MGF1" => pss(Sha3_224),
        "http://www.w3.org/2007/05/xmldsig-more#sha3-256-rsa-MGF1" => pss(Sha3_256),
        "http://www.w3.org/2007/05/xmldsig-more#sha3-384-rsa-MGF1" => pss(Sha3_384),
        "http://www.w3.org/2007/05/xmldsig-more#sha3-512-rsa-MGF1" => pss(Sha3_512),
        "http://www.w3.org/2007/05/xmldsig-more#rsa-pss" => SigAlg::PssWithParams,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1" => {
            SigAlg::Scheme(SigScheme::EcdsaPlain(Sha1))
        }
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha224" => {
            SigAlg::Scheme(SigScheme::EcdsaPlain(Sha224))
        }
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => {
            SigAlg::Scheme(SigScheme::EcdsaPlain(Sha256))
        }
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => {
            SigAlg::Scheme(SigScheme::EcdsaPlain(Sha384))
        }
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512" => {
            SigAlg::Scheme(SigScheme::EcdsaPlain(Sha512))
        }
        "http://www.w3.org/2021/04/xmldsig-more#ecdsa-sha3-224" => {
            SigAlg::Scheme(SigScheme::EcdsaPlain(Sha3_224))
        }
        "http://www.w3.org/2021/04/xmldsig-more#ecdsa-sha3-256" => {
            SigAlg::Scheme(SigScheme::EcdsaPlain(Sha3_256))
        }
        "http://www.w3.org/2021/04/xmldsig-more#ecdsa-sha3-384" => {
            SigAlg::Scheme(SigScheme::EcdsaPlain(Sha3_384))
        }
        "http://www.w3.org/2021/04/xmldsig-more#ecdsa-sha3-512" => {
            SigAlg::Scheme(SigScheme::EcdsaPlain(Sha3_512))
        }
        "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519" => {
            SigAlg::Scheme(SigScheme::Ed25519)
        }
        "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed448" => SigAlg::Scheme(SigScheme::Ed448),
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
        | "http://www.w3.org/2001/04/xmldsig-more#hmac-sha224"
        | "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
        | "http://www.w3.org/2001/04/xmldsig-more#hmac-sha384"
        | "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"
        | "http://www.w3.org/2001/04/xmldsig-more#hmac-md5"
        | "http://www.w3.org/2001/04/xmldsig-more#hmac-ripemd160" => SigAlg::Refused(HMAC),
        "http://www.w3.org/2000/09/xmldsig#dsa-sha1"
        | "http://www.w3.org/2009/xmldsig11#dsa-sha256" => {
            SigAlg::Refused("DSA: withdrawn from FIPS 186-5, not issued by Vietnamese CAs")
        }
        "http://www.w3.org/2001/04/xmldsig-more#rsa-md5" => SigAlg::Refused("RSA with MD5"),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-ripemd160"
        | "http://www.w3.org/2001/04/xmldsig-more#ecdsa-ripemd160"
        | "http://www.w3.org/2007/05/xmldsig-more#ecdsa-ripemd160" => {
            SigAlg::Refused("RIPEMD-160: not in OpenSSL's default provider, unused in Vietnam")
        }
        u if u.contains("ed25519ph")
            || u.contains("ed25519ctx")
            || u.contains("ed448ph")
            || u.contains("ed448ctx") =>
        {
            SigAlg::Refused("pre-hashed or context EdDSA variants")
        }
        u if u.contains("gost") => SigAlg::Refused("GOST: not a Vietnamese or EU algorithm"),
        u if u.contains("ml-dsa") || u.contains("slh-dsa") || u.contains("mldsa") => {
            SigAlg::Refused("post-quantum signature: no CA issues such certificates yet")
        }
        _ => return None,
    })
}

/// Output length of a digest in bytes (the RFC 6931 default PSS salt).
pub fn digest_len(h: DigestAlg) -> u32 {
    match h {
        DigestAlg::Md5 => 16,
        DigestAlg::Sha1 => 20,
        DigestAlg::Sha224 | DigestAlg::Sha3_224 | DigestAlg::Sha512_224 => 28,
        DigestAlg::Sha256 | DigestAlg::Sha3_256 | DigestAlg::Sha512_256 => 32,
        DigestAlg::Sha384 | DigestAlg::Sha3_384 => 48,
        DigestAlg::Sha512 | DigestAlg::Sha3_512 | DigestAlg::Shake256 => 64,
    }
}

/// A canonicalization URI.
pub fn c14n(uri: &str) -> Option<C14nMode> {
    C14nMode::from_uri(uri)
}

pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const BASE64: &str = "http://www.w3.org/2000/09/xmldsig#base64";
pub const XPATH: &str = "http://www.w3.org/TR/1999/REC-xpath-19991116";
pub const XPATH2: &str = "http://www.w3.org/2002/06/xmldsig-filter2";
pub const XSLT: &str = "http://www.w3.org/TR/1999/REC-xslt-19991116";
pub const MANIFEST_TYPE: &str = "http://www.w3.org/2000/09/xmldsig#Manifest";
/// OPC (ISO/IEC 29500-2 §13.2.4.24): a relationships part reduced to the relationships signed.
pub const RELATIONSHIP_TRANSFORM: &str =
    "http://schemas.openxmlformats.org/package/2006/RelationshipTransform";
