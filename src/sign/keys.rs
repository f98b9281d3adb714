//! Key backends. A backend signs bytes (the DER of the signed attributes)
//! and tells its certificate; the key itself stays inside it.

use std::path::Path;

use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use openssl::x509::X509;

use super::cms::{Digest, Scheme};
use crate::error::{Error, Result};

/// Something that can make a signature value with a private key.
pub trait KeySigner: Send + Sync {
    fn certificate(&self) -> &X509;
    /// Certificates of the issuing chain to embed (without the signer's).
    fn chain(&self) -> &[X509];
    fn scheme(&self) -> Scheme;
    /// Sign `data` (hashed here with `digest`).
    fn sign(&self, digest: Digest, data: &[u8]) -> Result<Vec<u8>>;
    /// An upper bound of the signature value's length in bytes.
    fn max_signature_len(&self) -> usize;
}

/// A key in memory: from a PKCS#12 file or PEM files (the development default).
pub struct SoftKey {
    key: PKey<Private>,
    cert: X509,
    chain: Vec<X509>,
    scheme: Scheme,
}

impl SoftKey {
    /// `pss` asks for RSASSA-PSS with an RSA key (ignored for EC keys).
    pub fn new(key: PKey<Private>, cert: X509, chain: Vec<X509>, pss: bool) -> Result<Self> {
        let scheme = match key.id() {
            Id::RSA if pss => Scheme::RsaPss,
            Id::RSA => Scheme::RsaPkcs1,
            Id::EC => Scheme::Ecdsa,
            _ => {
                return Err(Error::Unsupported(
                    "only RSA and ECDSA keys can sign".into(),
                ));
            }
        };
        if !cert.public_key()?.public_eq(&key) {
            return Err(Error::Invalid(
                "the private key does not belong to the certificate".into(),
            ));
        }
        Ok(SoftKey {
            key,
            cert,
            chain,
            scheme,
        })
    }

    pub fn from_pkcs12(path: &Path, password: &str, pss: bool) -> Result<Self> {
        let der = std::fs::read(path)?;
        let p12 = openssl::pkcs12::Pkcs12::from_der(&der)?;
        let parsed = p12.parse2(password).map_err(|_| {
            Error::Invalid("the PKCS#12 password is wrong or the file is damaged".into())
        })?;
        let key = parsed
            .pkey
            .ok_or_else(|| Error::Invalid("the PKCS#12 file holds no private key".into()))?;
        let cert = parsed
            .cert
            .ok_or_else(|| Error::Invalid("the PKCS#12 file holds no certificate".into()))?;
        let chain = parsed
            .ca
            .map(|s| s.into_iter().collect())
            .unwrap_or_default();
        Self::new(key, cert, chain, pss)
    }

    /// The same key with another chain to embed.
    pub fn from_parts(k: SoftKey, chain: Vec<X509>) -> Result<Self> {
        Ok(SoftKey { chain, ..k })
    }

    pub fn from_pem(key: &Path, cert: &Path, chain: &[X509], pss: bool) -> Result<Self> {
        let k = PKey::private_key_from_pem(&std::fs::read(key)?)?;
        let c = X509::from_pem(&std::fs::read(cert)?)?;
        Self::new(k, c, chain.to_vec(), pss)
    }
}

impl KeySigner for SoftKey {
    fn certificate(&self) -> &X509 {
        &self.cert
    }
    fn chain(&self) -> &[X509] {
        &self.chain
    }
    fn scheme(&self) -> Scheme {
        self.scheme
    }
    fn sign(&self, digest: Digest, data: &[u8]) -> Result<Vec<u8>> {
        let mut s = Signer::new(digest.md(), &self.key)?;
        if self.scheme == Scheme::RsaPss {
            s.set_rsa_padding(Padding::PKCS1_PSS)?;
            s.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
            s.set_rsa_mgf1_md(digest.md())?;
        }
        s.update(data)?;
        Ok(s.sign_to_vec()?)
    }
    fn max_signature_len(&self) -> usize {
        self.key.size()
    }
}
