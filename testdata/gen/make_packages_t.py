#!/usr/bin/env python3
"""XAdES-T for a LibreOffice-signed ODF document: testdata/packages/
don-signed-t.odt is don-signed.odt (made by make_packages.sh) with a
SignatureTimeStamp of the live test PKI's TSA (certomancer, started here as
make_live.py does) added to the signature's unsigned properties — what a
signer's tool or a later extension adds; LibreOffice and kyso must still
find every stream signed. Run from the repository root with the .venv of
.ci/run (plus `pip install signxml`):

    .venv/bin/python testdata/gen/make_packages_t.py
"""
import io
import os
import sys
import zipfile

from lxml import etree
from pyhanko.sign import timestamps

sys.path.insert(0, os.path.dirname(__file__))
from make_live import BASE, serve  # noqa: E402
from make_xades_live import DS, add_timestamp  # noqa: E402

SRC = "testdata/packages/don-signed.odt"
DST = "testdata/packages/don-signed-t.odt"
SIGS = "META-INF/documentsignatures.xml"


def main():
    with zipfile.ZipFile(SRC) as z:
        entries = [(i, z.read(i.filename)) for i in z.infolist()]
    with serve():
        tsa = timestamps.HTTPTimeStamper(f"{BASE}/tsa/tsa")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as w:
            for info, data in entries:
                if info.filename == SIGS:
                    root = etree.fromstring(data)
                    add_timestamp(root.find(f"{{{DS}}}Signature"), tsa)
                    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
                w.writestr(info, data)
    with open(DST, "wb") as f:
        f.write(out.getvalue())
    print("wrote", DST)


if __name__ == "__main__":
    main()
