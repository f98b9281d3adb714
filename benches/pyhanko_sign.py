"""pyHanko's in-process PAdES signing of a PDF with a PKCS#12 key: B-B, or
B-LT with a TSA and revocation data fetched. Prints the median and best time.

    python benches/pyhanko_sign.py FILE.pdf KEY.p12 PASSWORD RUNS [B-LT TSA_URL ROOT.pem]
"""
import io
import statistics
import sys
import time

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator import ValidationContext
from asn1crypto import pem, x509

path, p12, password, runs = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
level = sys.argv[5] if len(sys.argv) > 5 else "B-B"
data = open(path, "rb").read()
signer = signers.SimpleSigner.load_pkcs12(p12, passphrase=password)
kwargs = {}
meta = dict(field_name="Signature1", subfilter=SigSeedSubFilter.PADES)
if level == "B-LT":
    tsa, root_path = sys.argv[6], sys.argv[7]
    _, _, der = pem.unarmor(open(root_path, "rb").read())
    root = x509.Certificate.load(der)
    kwargs["timestamper"] = timestamps.HTTPTimeStamper(tsa)
    meta.update(embed_validation_info=True,
                validation_context=ValidationContext(trust_roots=[root], allow_fetching=True))
times = []
for _ in range(runs):
    t = time.perf_counter()
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)),
                           signers.PdfSignatureMetadata(**meta), signer=signer, **kwargs)
    times.append((time.perf_counter() - t) * 1e3)
    size = len(out.getvalue())
print(f"pyhanko_ms median {statistics.median(times):.3f} best {min(times):.3f} ({runs} runs, {len(data)} -> {size} bytes, {level})")
