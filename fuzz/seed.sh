#!/usr/bin/env bash
# Seed corpora for the cargo-fuzz targets from kyso's fixtures and every
# outside suite in ../shared/corpora (when present). Run from fuzz/.
set -euo pipefail
cd "$(dirname "$0")"
shared=../../shared/corpora
mkdir -p corpus/{pdf_signatures,revisions,verify,cms,fields,pdf_differential,xml,package,stream_c14n}
pdfs() { find ../testdata -name '*.pdf'; [ -d "$shared/pdf" ] && find "$shared/pdf" -name '*.pdf'; true; }
cmss() {
    find ../testdata/cms -type f
    [ -d "$shared/cms" ] && find "$shared/cms" -type f \( -name '*.p7*' -o -name '*.der' -o -name '*.pem' -o -name '*.bin' -o -name '*.cms' \)
    [ -d "$shared/tsp" ] && find "$shared/tsp" -type f \( -name '*.tsr' -o -name '*.tst' -o -name '*.der' \)
    [ -d "$shared/pkits/smime" ] && find "$shared/pkits/smime" -name '*.eml' | head -40
    true
}
copy() { # copy FILE... into DIR, named by content hash, at most 2 MB each
    local dir=$1; shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le 2000000 ] || continue
        cp "$f" "$dir/$(sha1sum "$f" | cut -c1-16)"
    done
}
mapfile -t P < <(pdfs)
mapfile -t C < <(cmss)
copy corpus/pdf_signatures "${P[@]}"
copy corpus/revisions "${P[@]}"
copy corpus/pdf_differential "${P[@]}"
copy corpus/verify "${P[@]}" "${C[@]}"
copy corpus/cms "${C[@]}"
# OCSP responses, CRLs and certificates feed the DER readers through `cms`
# (first TLV) and `verify` (format detection, CMS path).
for d in "$shared/ocsp" "$shared/pkits/crls" "$shared/pkits/certs"; do
    [ -d "$d" ] && mapfile -t O < <(find "$d" -type f | head -200) && copy corpus/cms "${O[@]}"
done
copy corpus/verify ../testdata/revocation/*.crl ../testdata/revocation/*.ocsp ../testdata/revocation/rules/*
copy corpus/fields ../fuzz/regressions/fields/*
for i in $(seq 1 64); do head -c 512 /dev/urandom > "corpus/fields/random-$i"; done
# Signed XML: kyso's fixtures and the XMLDSig suites (xmlsec, Santuario).
mapfile -t X < <(find ../testdata/xml -name '*.xml'; [ -d "$shared/xmldsig" ] && find "$shared/xmldsig/xmlsec" "$shared/xmldsig/santuario" -name '*.xml' | head -1500; true)
copy corpus/xml "${X[@]}"
copy corpus/stream_c14n "${X[@]}"
# ZIP packages: the signed Office and ODF documents of the corpora.
mapfile -t Z < <([ -d "$shared/xmldsig" ] && find "$shared/xmldsig/ooxml-poi" "$shared/xmldsig/odf-libreoffice" -type f \( -name '*.docx' -o -name '*.xlsx' -o -name '*.pptx' -o -name '*.odt' -o -name '*.ods' -o -name '*.odp' \); true)
copy corpus/package "${Z[@]}"
for t in pdf_signatures revisions verify cms fields pdf_differential xml package stream_c14n; do
    echo "$t: $(ls corpus/$t | wc -l) seeds"
done
