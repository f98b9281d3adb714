//! Per-thread memory of pure, costly results: certificates parsed from DER,
//! OCSP responses parsed and their responder checked, CRLs parsed and their
//! signature checked. The same objects recur across the paths of one
//! verification (signer, signature timestamp, document timestamps) and
//! across verifications; each answer depends only on the bytes, keyed by
//! their SHA-256. Bounded: a table that fills up is emptied.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use openssl::x509::{X509, X509Crl};

use crate::revocation::ocsp::{self, OcspResponse, Responder, ResponseProblem};

type Key = [u8; 32];

const MAX_ENTRIES: usize = 512;
/// CRLs are kept only below this size, and only this many.
const MAX_CRL_BYTES: usize = 4 << 20;
const MAX_CRLS: usize = 16;

fn key(b: &[u8]) -> Key {
    openssl::sha::sha256(b)
}

fn key2(a: &[u8], b: &[u8]) -> Key {
    let mut h = openssl::sha::Sha256::new();
    h.update(&(a.len() as u64).to_be_bytes());
    h.update(a);
    h.update(b);
    h.finish()
}

type ResponderResult = Result<(Responder, Option<X509>), ResponseProblem>;

#[derive(Default)]
struct Tables {
    certs: HashMap<Key, X509>,
    ocsp: HashMap<Key, Option<Rc<OcspResponse>>>,
    responder: HashMap<Key, ResponderResult>,
    crls: HashMap<Key, Option<Rc<X509Crl>>>,
    crl_sig: HashMap<Key, bool>,
}

thread_local! {
    static TABLES: RefCell<Tables> = RefCell::new(Tables::default());
}

fn put<V>(m: &mut HashMap<Key, V>, k: Key, v: V, max: usize) {
    if m.len() >= max {
        m.clear();
    }
    m.insert(k, v);
}

/// A certificate from DER.
pub fn x509(der: &[u8]) -> Option<X509> {
    let k = key(der);
    if let Some(c) = TABLES.with(|t| t.borrow().certs.get(&k).cloned()) {
        return Some(c);
    }
    let c = X509::from_der(der).ok()?;
    TABLES.with(|t| put(&mut t.borrow_mut().certs, k, c.clone(), MAX_ENTRIES));
    Some(c)
}

/// An OCSP response, parsed.
pub fn ocsp_response(raw: &[u8]) -> Option<Rc<OcspResponse>> {
    let k = key(raw);
    if let Some(r) = TABLES.with(|t| t.borrow().ocsp.get(&k).cloned()) {
        return r;
    }
    let r = ocsp::parse(raw).ok().map(Rc::new);
    TABLES.with(|t| put(&mut t.borrow_mut().ocsp, k, r.clone(), MAX_ENTRIES));
    r
}

/// [`ocsp::check_responder`] for the response `raw` and `issuer`.
pub fn ocsp_responder(raw: &[u8], resp: &OcspResponse, issuer: &X509) -> ResponderResult {
    let idder = issuer.to_der().unwrap_or_default();
    let k = key2(raw, &idder);
    if let Some(r) = TABLES.with(|t| t.borrow().responder.get(&k).cloned()) {
        return r;
    }
    let r = ocsp::check_responder(resp, issuer);
    TABLES.with(|t| put(&mut t.borrow_mut().responder, k, r.clone(), MAX_ENTRIES));
    r
}

/// A CRL, parsed.
pub fn crl(raw: &[u8]) -> Option<Rc<X509Crl>> {
    if raw.len() > MAX_CRL_BYTES {
        return X509Crl::from_der(raw).ok().map(Rc::new);
    }
    let k = key(raw);
    if let Some(c) = TABLES.with(|t| t.borrow().crls.get(&k).cloned()) {
        return c;
    }
    let c = X509Crl::from_der(raw).ok().map(Rc::new);
    TABLES.with(|t| put(&mut t.borrow_mut().crls, k, c.clone(), MAX_CRLS));
    c
}

/// Whether the CRL `raw` (parsed as `crl`) verifies with `issuer`'s key.
pub fn crl_signed_by(raw: &[u8], crl: &X509Crl, issuer: &X509) -> bool {
    let idder = issuer.to_der().unwrap_or_default();
    let k = key2(raw, &idder);
    if let Some(v) = TABLES.with(|t| t.borrow().crl_sig.get(&k).copied()) {
        return v;
    }
    let v = issuer
        .public_key()
        .ok()
        .is_some_and(|pk| crl.verify(&pk).unwrap_or(false));
    TABLES.with(|t| put(&mut t.borrow_mut().crl_sig, k, v, MAX_ENTRIES));
    v
}
