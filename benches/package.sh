#!/usr/bin/env bash
# Signed Office/ODF package verification: time and peak RSS next to the
# time to SHA-256 the package's uncompressed parts, measured in the same
# run. Files (made once into target/bench-data/packages, signed by
# LibreOffice with the live test PKI's good signer):
#   big.docx — about 20 MB: 200 pictures of 100 KB (noise: they do not
#              compress), one paragraph each;
#   big.ods  — about 5 MB: a 100 000-row × 6-column table of numbers.
# Prints, per file: in-process (kyso::verify_path, release) median time and
# peak RSS, `kyso verify` (CLI) median time and peak RSS, the SHA-256 of the
# inflated parts (parts already in memory) and inflate + SHA-256, and the
# ratios. Targets (issue 15): RSS <= 64 MB; verify / SHA-256 <= 2.0.
# Usage: bash benches/package.sh   (needs LibreOffice + python3-uno: .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=target/bench-data/packages
mkdir -p "$DATA"
if [ ! -f "$DATA/big-signed.docx" ] || [ ! -f "$DATA/big-signed.ods" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    bash tests/support/lo_nss.sh "$work/nss" >/dev/null
    /usr/bin/python3 - "$work" <<'PY'
import base64, os, random, struct, sys, zlib
work = sys.argv[1]
rnd = random.Random(15)
def png(w, h):
    raw = b"".join(b"\x00" + bytes(rnd.getrandbits(8) for _ in range(w * 3)) for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b""))
NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
      'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
      'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"')
with open(f"{work}/big.fodt", "w") as f:
    f.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document {NS} office:version="1.3" '
            'office:mimetype="application/vnd.oasis.opendocument.text"><office:body><office:text>')
    for i in range(200):
        pic = base64.b64encode(png(186, 180)).decode()
        f.write(f'<text:p>Ảnh minh chứng số {i + 1}</text:p><text:p><draw:frame draw:name="p{i}" '
                f'svg:width="4cm" svg:height="4cm" text:anchor-type="as-char"><draw:image>'
                f'<office:binary-data>{pic}</office:binary-data></draw:image></draw:frame></text:p>')
    f.write('</office:text></office:body></office:document>')
with open(f"{work}/big.fods", "w") as f:
    f.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document {NS} office:version="1.3" '
            'office:mimetype="application/vnd.oasis.opendocument.spreadsheet"><office:body>'
            '<office:spreadsheet><table:table table:name="So lieu">')
    for r in range(100_000):
        f.write("<table:table-row>")
        for c in range(6):
            v = rnd.randrange(1, 10**9)
            f.write(f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>')
        f.write("</table:table-row>")
    f.write("</table:table></office:spreadsheet></office:body></office:document>")
PY
    soffice=(soffice "-env:UserInstallation=file://$work/profile" --headless --invisible --norestore --nologo)
    "${soffice[@]}" --convert-to odt --outdir "$work" "$work/big.fodt" >/dev/null 2>&1
    "${soffice[@]}" --convert-to docx --outdir "$work" "$work/big.odt" >/dev/null 2>&1
    "${soffice[@]}" --convert-to ods --outdir "$work" "$work/big.fods" >/dev/null 2>&1
    /usr/bin/python3 tests/support/lo_uno.py --nss "$work/nss" sign "$work/big.docx" "$DATA/big-signed.docx"
    /usr/bin/python3 tests/support/lo_uno.py --nss "$work/nss" sign "$work/big.ods" "$DATA/big-signed.ods"
fi
ls -l "$DATA"/big-signed.*
cargo build --release -q
COMMON=(--trust testdata/live/certs/root.pem --intermediates testdata/live/certs/interm.pem
        --revocation optional --at 2026-12-01T00:00:00Z)
echo "in-process (kyso::verify_path, release), and the reference in the same process:"
cargo bench -q --bench verify -- "${COMMON[@]}" --runs 7 --sha256-parts \
    "$DATA/big-signed.docx" "$DATA/big-signed.ods"
echo
echo "CLI (kyso verify, release):"
python3 - "$DATA" <<'PY'
import json, os, statistics, subprocess, sys, time
data = sys.argv[1]
cmd = ["target/release/kyso", "verify", "--trust", "testdata/live/certs/root.pem",
       "--intermediates", "testdata/live/certs/interm.pem", "--revocation", "optional",
       "--at", "2026-12-01T00:00:00Z", "--format", "json"]
for name in ["big-signed.docx", "big-signed.ods"]:
    p = os.path.join(data, name)
    ts, rss = [], 0
    for _ in range(5):
        t = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd + [p], capture_output=True, text=True)
        ts.append(time.perf_counter() - t)
        rss = max(rss, int(r.stderr.strip().splitlines()[-1]))
        if not json.loads(r.stdout)["summary"]["all_passed"]:
            sys.exit(f"{name}: kyso did not pass the file")
    print(f"  {name:<18}{os.path.getsize(p):>10} bytes  median {statistics.median(ts)*1e3:8.1f} ms"
          f"  peak RSS {rss/1024:6.1f} MiB (target 64)")
PY
