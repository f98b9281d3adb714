//! The one place with `unsafe`: libcrypto functions the `openssl` crate does
//! not bind. Each wrapper keeps ownership rules explicit.
#![allow(unsafe_code)]

use foreign_types_shared::{ForeignType, ForeignTypeRef};
use openssl::x509::X509Crl;
use openssl::x509::store::X509StoreBuilderRef;

unsafe extern "C" {
    fn X509_STORE_add_crl(
        store: *mut openssl_sys::X509_STORE,
        crl: *mut openssl_sys::X509_CRL,
    ) -> libc::c_int;
}

/// Add a CRL to a store (the store takes its own reference).
pub fn store_add_crl(store: &mut X509StoreBuilderRef, crl: &X509Crl) -> bool {
    // SAFETY: both pointers are valid for the call; X509_STORE_add_crl
    // increments the CRL's reference count and does not keep `crl` borrowed.
    unsafe { X509_STORE_add_crl(store.as_ptr(), crl.as_ptr()) == 1 }
}
