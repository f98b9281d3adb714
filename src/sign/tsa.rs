//! RFC 3161 timestamps from a TSA over HTTP: the request, the response's
//! status, and a check that the token attests the imprint asked for.

use std::time::Duration;

use super::cms::{Digest, alg_id_pub, seq};
use crate::der::{self, encode_tlv};
use crate::error::{Error, Result};

/// Largest TSA response read.
const MAX_RESPONSE: usize = 64 << 10;

/// The DER of a TimeStampReq for `imprint` (a digest with `d`), asking for the TSA's certificate.
pub fn request(d: Digest, imprint: &[u8], nonce: &[u8]) -> Vec<u8> {
    seq(&[
        &encode_tlv(0x02, &[1]),
        &seq(&[&alg_id_pub(d), &encode_tlv(0x04, imprint)]),
        &encode_tlv(0x02, nonce),
        &[0x01, 0x01, 0xff],
    ])
}

/// Ask `url` for a timestamp token over `imprint`; returns the token (ContentInfo DER).
pub fn timestamp(url: &str, d: Digest, imprint: &[u8], timeout: Duration) -> Result<Vec<u8>> {
    let mut nonce: [u8; 8] = rand::random();
    nonce[0] = (nonce[0] & 0x7f) | 0x01;
    let req = request(d, imprint, &nonce);
    let resp = crate::revocation::fetch::http(
        url,
        Some(("application/timestamp-query", &req)),
        timeout,
        MAX_RESPONSE,
    )
    .map_err(|e| Error::Invalid(format!("timestamp authority {url}: {e}")))?;
    token_from_response(&resp, d, imprint)
}

/// The token of a TimeStampResp, checked: granted, and over `imprint`.
pub fn token_from_response(resp: &[u8], d: Digest, imprint: &[u8]) -> Result<Vec<u8>> {
    let (top, _) = der::parse_tlv(resp, 0)?;
    let mut r = top.expect(0x30)?.children();
    let mut status = r.read_tag(0x30)?.children();
    let code = status.read_tag(0x02)?;
    let granted = matches!(code.value, [0] | [1]);
    if !granted {
        return Err(Error::Invalid(format!(
            "the timestamp authority refused the request (status {:?})",
            code.value
        )));
    }
    let token_der = r.read_tag(0x30)?.raw.to_vec();
    let sd = crate::cms::parse_signed_data(&token_der, 64)?;
    let tst = sd
        .econtent
        .as_deref()
        .ok_or(Error::Cms("timestamp token without TSTInfo"))?;
    let info = crate::validate::parse_tst_info(tst)?;
    if info.imprint != imprint || info.imprint_alg != d.oid() {
        return Err(Error::Invalid(
            "the timestamp token does not attest the data sent".into(),
        ));
    }
    Ok(token_der)
}

/// The certificates a token carries (the TSA's, usually its chain).
pub fn token_certificates(token: &[u8]) -> Result<Vec<openssl::x509::X509>> {
    let sd = crate::cms::parse_signed_data(token, 64)?;
    sd.certificates
        .iter()
        .map(|c| openssl::x509::X509::from_der(c).map_err(Error::from))
        .collect()
}
