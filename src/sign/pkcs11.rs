//! PKCS#11 keys (an HSM or a USB token; SoftHSM2 in the tests). The private
//! key never leaves the module: kyso sends it the data to sign with a
//! hashing mechanism (CKM_SHA256_RSA_PKCS, …_PSS, CKM_ECDSA_SHA256, …) and
//! gets back the signature value. One login per key object; a wrong PIN is
//! reported once, never retried (tokens lock after a few failures).

use std::path::Path;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as P11Error, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use openssl::x509::X509;

use super::cms::{Digest, Scheme};
use super::keys::KeySigner;
use crate::error::{Error, Result};

/// Where the key is: module, token, key label, PIN.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Pkcs11Config {
    /// The module (`.so`), e.g. /usr/lib/softhsm/libsofthsm2.so.
    pub module: std::path::PathBuf,
    pub token_label: String,
    /// CKA_LABEL of the private key (its certificate has the same CKA_ID).
    pub key_label: String,
    pub pin: String,
    /// RSASSA-PSS instead of PKCS#1 v1.5 for an RSA key.
    #[serde(default)]
    pub pss: bool,
}

pub struct Pkcs11Key {
    _ctx: Pkcs11,
    session: Mutex<Session>,
    key: ObjectHandle,
    cert: X509,
    chain: Vec<X509>,
    scheme: Scheme,
    max_sig: usize,
}

fn p11(what: &str) -> impl Fn(P11Error) -> Error + '_ {
    move |e| Error::Crypto(format!("PKCS#11 {what}: {e}"))
}

impl Pkcs11Key {
    pub fn open(cfg: &Pkcs11Config, chain: Vec<X509>) -> Result<Self> {
        Self::open_at(
            &cfg.module,
            &cfg.token_label,
            &cfg.key_label,
            &cfg.pin,
            chain,
            cfg.pss,
        )
    }

    pub fn open_at(
        module: &Path,
        token_label: &str,
        key_label: &str,
        pin: &str,
        chain: Vec<X509>,
        pss: bool,
    ) -> Result<Self> {
        let ctx = Pkcs11::new(module).map_err(p11("loading the module"))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(p11("initialising")(e)),
        }
        let slot = ctx
            .get_slots_with_token()
            .map_err(p11("listing slots"))?
            .into_iter()
            .find(|s| {
                ctx.get_token_info(*s)
                    .map(|t| t.label().trim_end() == token_label)
                    .unwrap_or(false)
            })
            .ok_or_else(|| Error::Invalid(format!("no PKCS#11 token labelled {token_label:?}")))?;
        let session = ctx
            .open_ro_session(slot)
            .map_err(p11("opening a session"))?;
        match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
            Ok(()) => {}
            Err(P11Error::Pkcs11(RvError::PinIncorrect, _)) => {
                return Err(Error::Invalid(format!(
                    "the PIN of token {token_label:?} is wrong (not retried: the token counts failures)"
                )));
            }
            Err(P11Error::Pkcs11(RvError::PinLocked, _)) => {
                return Err(Error::Invalid(format!("token {token_label:?} is locked")));
            }
            Err(e) => return Err(p11("login")(e)),
        }
        let keys = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(key_label.as_bytes().to_vec()),
            ])
            .map_err(p11("finding the key"))?;
        let key = *keys.first().ok_or_else(|| {
            Error::Invalid(format!(
                "no private key labelled {key_label:?} on the token"
            ))
        })?;
        let attrs = session
            .get_attributes(key, &[AttributeType::Id, AttributeType::KeyType])
            .map_err(p11("reading the key"))?;
        let mut id = Vec::new();
        let mut kt = None;
        for a in attrs {
            match a {
                Attribute::Id(v) => id = v,
                Attribute::KeyType(t) => kt = Some(t),
                _ => {}
            }
        }
        let certs = session
            .find_objects(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::Id(id),
            ])
            .map_err(p11("finding the certificate"))?;
        let cert_obj = *certs.first().ok_or_else(|| {
            Error::Invalid("no certificate with the key's CKA_ID on the token".into())
        })?;
        let der = session
            .get_attributes(cert_obj, &[AttributeType::Value])
            .map_err(p11("reading the certificate"))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::Value(v) => Some(v),
                _ => None,
            })
            .ok_or_else(|| Error::Invalid("the certificate object has no value".into()))?;
        let cert = X509::from_der(&der)?;
        let pubkey = cert.public_key()?;
        let scheme = match kt {
            Some(KeyType::RSA) if pss => Scheme::RsaPss,
            Some(KeyType::RSA) => Scheme::RsaPkcs1,
            Some(KeyType::EC) => Scheme::Ecdsa,
            _ => {
                return Err(Error::Unsupported(
                    "only RSA and EC keys on the token can sign".into(),
                ));
            }
        };
        Ok(Pkcs11Key {
            _ctx: ctx,
            session: Mutex::new(session),
            key,
            cert,
            chain,
            scheme,
            max_sig: pubkey.size(),
        })
    }
}

fn pss_params(d: Digest) -> PkcsPssParams {
    let (hash_alg, mgf) = match d {
        Digest::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        Digest::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
        Digest::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
    };
    PkcsPssParams {
        hash_alg,
        mgf,
        s_len: (d.output_len() as u64).into(),
    }
}

/// PKCS#11 gives ECDSA signatures as r‖s; CMS wants DER ECDSA-Sig-Value.
fn ecdsa_der(raw: &[u8]) -> Result<Vec<u8>> {
    if raw.is_empty() || raw.len() % 2 != 0 {
        return Err(Error::Crypto(
            "PKCS#11 returned a malformed ECDSA signature".into(),
        ));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let r = openssl::bn::BigNum::from_slice(r)?;
    let s = openssl::bn::BigNum::from_slice(s)?;
    let sig = openssl::ecdsa::EcdsaSig::from_private_components(r, s)?;
    Ok(sig.to_der()?)
}

impl KeySigner for Pkcs11Key {
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
        let session = self
            .session
            .lock()
            .map_err(|_| Error::Crypto("PKCS#11 session lock poisoned".into()))?;
        match self.scheme {
            Scheme::RsaPkcs1 => {
                let m = match digest {
                    Digest::Sha256 => Mechanism::Sha256RsaPkcs,
                    Digest::Sha384 => Mechanism::Sha384RsaPkcs,
                    Digest::Sha512 => Mechanism::Sha512RsaPkcs,
                };
                session.sign(&m, self.key, data).map_err(p11("signing"))
            }
            Scheme::RsaPss => {
                let p = pss_params(digest);
                let m = match digest {
                    Digest::Sha256 => Mechanism::Sha256RsaPkcsPss(p),
                    Digest::Sha384 => Mechanism::Sha384RsaPkcsPss(p),
                    Digest::Sha512 => Mechanism::Sha512RsaPkcsPss(p),
                };
                session.sign(&m, self.key, data).map_err(p11("signing"))
            }
            Scheme::Ecdsa => {
                // Hash here and use plain CKM_ECDSA: every module has it.
                let h = openssl::hash::hash(digest.md(), data)?;
                let raw = session
                    .sign(&Mechanism::Ecdsa, self.key, &h)
                    .map_err(p11("signing"))?;
                ecdsa_der(&raw)
            }
        }
    }
    fn max_signature_len(&self) -> usize {
        self.max_sig
    }
}
