#!/usr/bin/env bash
# The honestly signed Office and ODF packages of testdata/packages/, made by
# LibreOffice headless through its own signing API (tests/support/lo_uno.py)
# with the live test PKI's good signer (testdata/live: "Nguyen Van Tot").
# Needs libreoffice-writer-nogui, libreoffice-calc-nogui, python3-uno and
# libnss3-tools (apt). Run from the repository root:
#
#     bash testdata/gen/make_packages.sh
#
# - don.odt / don.docx: an application letter (Vietnamese text, an embedded
#   PNG picture, a hyperlink to the portal), written as flat ODF here and
#   converted by LibreOffice; the .docx therefore has word/media/image1.png
#   and an external hyperlink relationship;
# - bang.ods / bang.xlsx: a small fee table;
# - *-signed.*: each signed once by LibreOffice (ODF: XAdES in
#   META-INF/documentsignatures.xml; OOXML: _xmlsignatures/sig1.xml);
# - don-signed-t.odt (XAdES-T, a live TSA timestamp added) is made after
#   this by testdata/gen/make_packages_t.py.
# The attack variants are derived from these by tests/package_attacks.rs.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=testdata/packages
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash tests/support/lo_nss.sh "$work/nss" >/dev/null

/usr/bin/python3 - "$work" <<'PY'
import base64, struct, sys, zlib
work = sys.argv[1]
def png(w, h, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
pic = base64.b64encode(png(64, 32, (200, 16, 46))).decode()
open(f"{work}/don.fodt", "w", encoding="utf-8").write(f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:body><office:text>
  <text:h text:outline-level="1">ĐƠN ĐỀ NGHỊ CẤP GIẤY PHÉP</text:h>
  <text:p>Kính gửi: Sở Kế hoạch và Đầu tư tỉnh.</text:p>
  <text:p>Tôi là Nguyễn Văn Tốt, CCCD 001234567890, đề nghị cấp giấy phép kinh doanh. Lệ phí: 500.000 đồng.</text:p>
  <text:p>Tra cứu hồ sơ tại <text:a xlink:type="simple" xlink:href="https://dichvucong.gov.vn/">Cổng Dịch vụ công</text:a>.</text:p>
  <text:p><draw:frame draw:name="dau" svg:width="3cm" svg:height="1.5cm" text:anchor-type="as-char"><draw:image><office:binary-data>{pic}</office:binary-data></draw:image></draw:frame></text:p>
 </office:text></office:body>
</office:document>
""")
open(f"{work}/bang.fods", "w", encoding="utf-8").write("""<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"
 office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:body><office:spreadsheet><table:table table:name="Phí">
  <table:table-row><table:table-cell office:value-type="string"><text:p>Thủ tục</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Lệ phí (đồng)</text:p></table:table-cell></table:table-row>
  <table:table-row><table:table-cell office:value-type="string"><text:p>Cấp giấy phép</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="500000"><text:p>500000</text:p></table:table-cell></table:table-row>
  <table:table-row><table:table-cell office:value-type="string"><text:p>Cấp lại</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="250000"><text:p>250000</text:p></table:table-cell></table:table-row>
 </table:table></office:spreadsheet></office:body>
</office:document>
""")
PY

soffice=(soffice "-env:UserInstallation=file://$work/profile" --headless --invisible --norestore --nologo)
"${soffice[@]}" --convert-to odt --outdir "$work" "$work/don.fodt" >/dev/null
"${soffice[@]}" --convert-to docx --outdir "$work" "$work/don.odt" >/dev/null
"${soffice[@]}" --convert-to ods --outdir "$work" "$work/bang.fods" >/dev/null
"${soffice[@]}" --convert-to xlsx --outdir "$work" "$work/bang.ods" >/dev/null

mkdir -p "$out"
for f in don.odt don.docx bang.ods bang.xlsx; do
    cp "$work/$f" "$out/$f"
    /usr/bin/python3 tests/support/lo_uno.py --nss "$work/nss" sign "$work/$f" "$out/${f%.*}-signed.${f##*.}"
done
/usr/bin/python3 tests/support/lo_uno.py --nss "$work/nss" verify "$out"/*-signed.*
