//! Per-thread memory of pure, costly results, keyed by the SHA-256 of the
//! bytes they depend on: certificates parsed from DER here; OCSP responses
//! and CRLs (parsed, signature checked) in [`crate::revocation`], each in a
//! [`Table`] of its own. The same objects recur across the paths of one
//! verification (signer, signature timestamp, document timestamps) and
//! across verifications. Bounded: a table that fills up is emptied.
//! This module depends on nothing else of the crate.

use std::cell::RefCell;
use std::collections::HashMap;

use openssl::x509::X509;

pub type Key = [u8; 32];

/// SHA-256 of `b`.
pub fn key(b: &[u8]) -> Key {
    openssl::sha::sha256(b)
}

/// The key of a result about an item (by its key) and a certificate.
pub fn key2(item: &Key, cert: &X509) -> Key {
    let mut h = openssl::sha::Sha256::new();
    h.update(item);
    h.update(&cert.to_der().unwrap_or_default());
    h.finish()
}

/// One bounded table; meant to live in a `thread_local!`.
pub struct Table<V> {
    map: RefCell<HashMap<Key, V>>,
    max: usize,
}

impl<V: Clone> Table<V> {
    pub fn new(max: usize) -> Self {
        Table {
            map: RefCell::new(HashMap::new()),
            max,
        }
    }

    /// The value kept under `k`, or `compute`'s, kept (the table emptied
    /// first when it is full). `compute` runs with the table unborrowed, so
    /// it may use other tables, or this one.
    pub fn get_or(&self, k: Key, compute: impl FnOnce() -> V) -> V {
        if let Some(v) = self.map.borrow().get(&k).cloned() {
            return v;
        }
        let v = compute();
        let mut m = self.map.borrow_mut();
        if m.len() >= self.max {
            m.clear();
        }
        m.insert(k, v.clone());
        v
    }
}

thread_local! {
    static CERTS: Table<Option<X509>> = Table::new(512);
}

/// A certificate from DER.
pub fn x509(der: &[u8]) -> Option<X509> {
    CERTS.with(|t| t.get_or(key(der), || X509::from_der(der).ok()))
}
