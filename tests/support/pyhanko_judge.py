#!/usr/bin/env python3
"""pyHanko's judgement of the earlier signatures of a PDF before and after
kyso signs it (tests/sign.rs). Arguments: KEY CERT, then pairs BEFORE
AFTER. For every signature of BEFORE: (intact, valid, docmdp_ok) by
pyHanko's own difference analysis, before and after; prints one AGREE or
DIFFER line per signature and a last line `pyhanko: N signatures, M judged
as before, K as after pyHanko's own signature`. Trust and revocation are
not asked for: only integrity and the change analysis.

Where the verdict changes, BEFORE is signed again by pyHanko itself (KEY,
CERT): when pyHanko judges its own update exactly as kyso's (`SAME_AS_OWN`),
what changed is how pyHanko reads the original file once any update
follows it (a dangling reference in an earlier trailer, a linearized
original), not what kyso wrote."""
import logging
import sys
import warnings

import io

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

logging.disable(logging.CRITICAL)
warnings.simplefilter("ignore")


def judge(path):
    out = {}
    try:
        with (open(path, "rb") if isinstance(path, str) else path) as f:
            r = PdfFileReader(f, strict=False)
            for emb in r.embedded_signatures:
                vc = ValidationContext(allow_fetching=False, revocation_mode="soft-fail")
                try:
                    if emb.sig_object_type == "/DocTimeStamp":
                        st = validate_pdf_timestamp(emb, validation_context=vc)
                    else:
                        st = validate_pdf_signature(emb, signer_validation_context=vc)
                    out[emb.field_name] = (st.intact, st.valid, getattr(st, "docmdp_ok", None))
                except Exception as e:  # pyHanko gives up on this signature
                    out[emb.field_name] = ("error", type(e).__name__)
    except Exception as e:
        out["*"] = ("unreadable", type(e).__name__)
    return out


def own_update(before, key, cert):
    """BEFORE signed by pyHanko itself, as bytes (None when it refuses)."""
    try:
        signer = signers.SimpleSigner.load(key, cert)
        with open(before, "rb") as f:
            w = IncrementalPdfFileWriter(io.BytesIO(f.read()), strict=False)
        out = io.BytesIO()
        signers.sign_pdf(w, signers.PdfSignatureMetadata(field_name="PyHankoOwnSig"),
                         signer=signer, output=out)
        return out.getvalue()
    except Exception:
        return None


def main(args):
    key, cert, pairs = args[0], args[1], args[2:]
    total = same = as_own = 0
    for before, after in zip(pairs[0::2], pairs[1::2]):
        b, a = judge(before), judge(after)
        own = None
        for field, verdict in b.items():
            total += 1
            now = a.get(field)
            if now == verdict:
                same += 1
                print(f"AGREE {before} {field} {verdict}")
                continue
            if own is None:
                data = own_update(before, key, cert)
                own = judge(io.BytesIO(data)) if data else {}
            if field in own and own[field] == now:
                as_own += 1
                print(f"SAME_AS_OWN {before} {field} before={verdict} after={now}")
            else:
                print(f"DIFFER {before} {field} before={verdict} after={now} "
                      f"own={own.get(field)}")
    print(f"pyhanko: {total} signatures, {same} judged as before, "
          f"{as_own} as after pyHanko's own signature")


if __name__ == "__main__":
    main(sys.argv[1:])
