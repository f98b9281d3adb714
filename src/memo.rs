//! Per-thread memory of pure, costly results: certificates parsed from DER,
//! OCSP responses parsed and their responder checked, CRLs parsed and their
//! signature checked. The same objects recur across the paths of one
//! verification (signer, signature timestamp, document timestamps) and
//! across verifications; each answer depends only on the bytes, keyed by
//! their SHA-256 (for revocation data, computed once per item: [`Raw::key`]). Bounded: a table that fills up is emptied.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use openssl::x509::{X509, X509Crl};

use crate::revocation::Raw;
use crate::revocation::ocsp::{self, OcspResponse, Responder, ResponseProblem};

type Key = [u8; 32];

const MAX_ENTRIES: usize = 512;
/// CRLs are kept only below this size, and only this many.
const MAX_CRL_BYTES: usize = 4 << 20;
const MAX_CRLS: usize = 16;

fn key(b: &[u8]) -> Key {
    openssl::sha::sha256(b)
}

/// The key of a result about an item (by its key) and a certificate.
fn key2(item: &Key, cert: &X509) -> Key {
    let mut h = openssl::sha::Sha256::new();
    h.update(item);
    h.update(&cert.to_der().unwrap_or_default());
    h.finish()
}

type ResponderResult = Result<(Responder, Option<X509>), ResponseProblem>;

#[derive(Default)]
struct Tables {
    certs: HashMap<Key, Option<X509>>,
    ocsp: HashMap<Key, Option<Rc<OcspResponse>>>,
    responder: HashMap<Key, ResponderResult>,
    crls: HashMap<Key, Option<Rc<X509Crl>>>,
    crl_sig: HashMap<Key, bool>,
}

thread_local! {
    static TABLES: RefCell<Tables> = RefCell::new(Tables::default());
}

/// The value kept under `k` in the table `pick` chooses, or `compute`'s,
/// kept (the table emptied first when it holds `max` entries).
fn cached<V: Clone>(
    pick: fn(&mut Tables) -> &mut HashMap<Key, V>,
    k: Key,
    max: usize,
    compute: impl FnOnce() -> V,
) -> V {
    if let Some(v) = TABLES.with(|t| pick(&mut t.borrow_mut()).get(&k).cloned()) {
        return v;
    }
    let v = compute();
    TABLES.with(|t| {
        let mut t = t.borrow_mut();
        let m = pick(&mut t);
        if m.len() >= max {
            m.clear();
        }
        m.insert(k, v.clone());
    });
    v
}

/// A certificate from DER.
pub fn x509(der: &[u8]) -> Option<X509> {
    cached(
        |t| &mut t.certs,
        key(der),
        MAX_ENTRIES,
        || X509::from_der(der).ok(),
    )
}

/// An OCSP response, parsed.
pub fn ocsp_response(raw: &[u8]) -> Option<Rc<OcspResponse>> {
    cached(
        |t| &mut t.ocsp,
        key(raw),
        MAX_ENTRIES,
        || ocsp::parse(raw).ok().map(Rc::new),
    )
}

/// [`ocsp::check_responder`] for the response `raw` and `issuer`.
pub fn ocsp_responder(raw: &Raw, resp: &OcspResponse, issuer: &X509) -> ResponderResult {
    let k = key2(&raw.key(), issuer);
    cached(
        |t| &mut t.responder,
        k,
        MAX_ENTRIES,
        || ocsp::check_responder(resp, issuer),
    )
}

/// A CRL, parsed.
pub fn crl(raw: &Raw) -> Option<Rc<X509Crl>> {
    let parse = || X509Crl::from_der(raw).ok().map(Rc::new);
    if raw.len() > MAX_CRL_BYTES {
        return parse();
    }
    cached(|t| &mut t.crls, raw.key(), MAX_CRLS, parse)
}

/// Whether the CRL `raw` (parsed as `crl`) verifies with `issuer`'s key.
pub fn crl_signed_by(raw: &Raw, crl: &X509Crl, issuer: &X509) -> bool {
    let k = key2(&raw.key(), issuer);
    cached(
        |t| &mut t.crl_sig,
        k,
        MAX_ENTRIES,
        || {
            issuer
                .public_key()
                .ok()
                .is_some_and(|pk| crl.verify(&pk).unwrap_or(false))
        },
    )
}
