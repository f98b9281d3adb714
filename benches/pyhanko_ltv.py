"""pyHanko's in-process AdES validation (ETSI EN 319 102-1 LTA algorithm, as
`pyhanko sign adesverify` runs it) of every regular signature in a PDF, with
one trust root, revocation required, no fetching. Prints the verdict once,
then the median and best time of RUNS validations.

    python benches/pyhanko_ltv.py FILE.pdf ROOT.pem VALIDATION_TIME RUNS
"""
import asyncio
import statistics
import sys
import time

from asn1crypto import pem, x509
from pyhanko.pdf_utils.misc import isoparse
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import PdfSignatureValidationSpec, SignatureValidationSpec
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy, FreshnessReqType
from pyhanko_certvalidator.registry import SimpleTrustManager

path, root_path, when, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
_, _, der = pem.unarmor(open(root_path, "rb").read())
root = x509.Certificate.load(der)
t = isoparse(when)
timing = ValidationTimingInfo(t, t, point_in_time_validation=True)
policy = CertValidationPolicySpec(
    trust_manager=SimpleTrustManager.build(trust_roots=[root]),
    revinfo_policy=CertRevTrustPolicy(
        REQUIRE_REVINFO, freshness=None,
        freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION),
)
spec = PdfSignatureValidationSpec(
    signature_validation_spec=SignatureValidationSpec(cert_validation_policy=policy),
    diff_policy=DEFAULT_DIFF_POLICY,
)


def once():
    with open(path, "rb") as f:
        r = PdfFileReader(f)
        return [asyncio.run(ades_lta_validation(s, spec, timing_info=timing)).ades_subindic
                for s in r.embedded_regular_signatures]


print("pyHanko verdict:", once())
ts = []
for _ in range(runs):
    s = time.perf_counter()
    once()
    ts.append(time.perf_counter() - s)
ts.sort()
print(f"pyhanko_ms median {statistics.median(ts) * 1e3:.3f} best {ts[0] * 1e3:.3f}")
