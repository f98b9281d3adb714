//! The visible seal: an appearance stream for the signature widget with the
//! agency's seal image (PNG, transparency kept as a soft mask) and text lines
//! in a TrueType font embedded as a subset (a CID font with Identity-H
//! encoding and a ToUnicode map, so Vietnamese text renders and extracts).

use std::io::Write;

use crate::error::{Error, Result};

/// Where and what to draw.
#[derive(Clone, Debug)]
pub struct Seal {
    /// Rectangle on the page, in points: x, y (lower left), width, height.
    pub rect: [f64; 4],
    /// The seal image (PNG, transparency honoured).
    pub image_png: Option<Vec<u8>>,
    /// Text lines, top to bottom.
    pub lines: Vec<String>,
    /// A TrueType/OpenType font with the glyphs of the lines (Vietnamese).
    pub font: Vec<u8>,
}

/// Largest seal image accepted (pixels).
const MAX_PIXELS: u64 = 16 << 20;

/// The default lines (Decree 30/2020 style): signer, agency, time as
/// `hh:mm:ss dd/mm/yyyy` and as ISO 8601 with the +07:00 zone.
pub fn default_lines(signer: &str, agency: Option<&str>, t: i64) -> Vec<String> {
    let (y, mo, d, h, mi, s) = super::vn_time(t);
    let mut v = vec![format!("Ký bởi: {signer}")];
    if let Some(a) = agency {
        v.push(format!("Cơ quan: {a}"));
    }
    v.push(format!(
        "Thời gian ký: {h:02}:{mi:02}:{s:02} {d:02}/{mo:02}/{y:04}"
    ));
    v.push(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+07:00"));
    v
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let z = deflate(data);
    let mut o = format!("<<{dict}/Filter/FlateDecode/Length {}>>\nstream\n", z.len()).into_bytes();
    o.extend_from_slice(&z);
    o.extend_from_slice(b"\nendstream");
    o
}

/// Width, height, RGB pixels and an 8-bit alpha (when the image has transparency).
type Pixels = (u32, u32, Vec<u8>, Option<Vec<u8>>);

/// Numbered object bodies, and the number of the appearance XObject.
type SealObjects = (Vec<(u32, Vec<u8>)>, u32);

fn decode_png(png_bytes: &[u8]) -> Result<Pixels> {
    let mut d = png::Decoder::new(std::io::Cursor::new(png_bytes));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let bad = |e: png::DecodingError| Error::Invalid(format!("seal image: {e}"));
    let mut r = d.read_info().map_err(bad)?;
    let (w, h) = (r.info().width, r.info().height);
    if u64::from(w) * u64::from(h) > MAX_PIXELS || w == 0 || h == 0 {
        return Err(Error::limit(
            "seal image pixels",
            u64::from(w) * u64::from(h),
            MAX_PIXELS,
        ));
    }
    let mut buf = vec![0u8; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).map_err(bad)?;
    let px = (w * h) as usize;
    let (mut rgb, mut alpha) = (Vec::with_capacity(px * 3), Vec::with_capacity(px));
    let data = &buf[..info.buffer_size()];
    match info.color_type {
        png::ColorType::Rgba => data.chunks_exact(4).for_each(|p| {
            rgb.extend_from_slice(&p[..3]);
            alpha.push(p[3]);
        }),
        png::ColorType::Rgb => rgb.extend_from_slice(data),
        png::ColorType::GrayscaleAlpha => data.chunks_exact(2).for_each(|p| {
            rgb.extend_from_slice(&[p[0], p[0], p[0]]);
            alpha.push(p[1]);
        }),
        png::ColorType::Grayscale => data
            .iter()
            .for_each(|g| rgb.extend_from_slice(&[*g, *g, *g])),
        png::ColorType::Indexed => {
            return Err(Error::Unsupported("indexed PNG after expansion".into()));
        }
    }
    if rgb.len() != px * 3 {
        return Err(Error::Invalid("seal image: unexpected pixel data".into()));
    }
    let alpha = (alpha.len() == px && alpha.iter().any(|a| *a != 255)).then_some(alpha);
    Ok((w, h, rgb, alpha))
}

/// The objects of a seal appearance, numbered from `first`; returns them and
/// the number of the appearance XObject.
pub fn objects(seal: &Seal, first: u32) -> Result<SealObjects> {
    let face = ttf_parser::Face::parse(&seal.font, 0)
        .map_err(|e| Error::Invalid(format!("seal font: {e}")))?;
    let upem = f64::from(face.units_per_em());
    // Glyphs used, remapped for the subset (0 = .notdef kept first).
    let mut remap = subsetter::GlyphRemapper::new();
    let mut lines_gids: Vec<Vec<(u16, char, u16)>> = Vec::new();
    for line in &seal.lines {
        let mut v = Vec::new();
        for ch in line.chars() {
            let g = face.glyph_index(ch).map(|g| g.0).unwrap_or(0);
            let new = remap.remap(g);
            v.push((new, ch, g));
        }
        lines_gids.push(v);
    }
    let subset = subsetter::subset(&seal.font, 0, &remap)
        .map_err(|e| Error::Invalid(format!("seal font subset: {e:?}")))?;
    let width_of = |g: u16| {
        face.glyph_hor_advance(ttf_parser::GlyphId(g))
            .map(|a| f64::from(a) * 1000.0 / upem)
            .unwrap_or(500.0)
    };
    let [x, y, w, h] = seal.rect;
    let _ = (x, y);
    let mut n = first;
    let mut take = || {
        let v = n;
        n += 1;
        v
    };
    let (ap, font0, cidfont, descriptor, fontfile, tounicode) =
        (take(), take(), take(), take(), take(), take());
    let mut out: Vec<(u32, Vec<u8>)> = Vec::new();

    // The image, fitted into the left square of the box.
    let mut content = String::from("q\n");
    let mut resources_xobj = String::new();
    let mut text_x = 4.0;
    if let Some(png_bytes) = &seal.image_png {
        let (iw, ih, rgb, alpha) = decode_png(png_bytes)?;
        let img = take();
        let mut smask = String::new();
        if let Some(a) = alpha {
            let sm = take();
            out.push((sm, stream(&format!("/Type/XObject/Subtype/Image/Width {iw}/Height {ih}/ColorSpace/DeviceGray/BitsPerComponent 8"), &a)));
            smask = format!("/SMask {sm} 0 R");
        }
        out.push((img, stream(&format!("/Type/XObject/Subtype/Image/Width {iw}/Height {ih}/ColorSpace/DeviceRGB/BitsPerComponent 8{smask}"), &rgb)));
        let side = h.min(w / 2.0);
        let scale = (side / f64::from(iw)).min(side / f64::from(ih));
        let (dw, dh) = (f64::from(iw) * scale, f64::from(ih) * scale);
        let (dx, dy) = ((side - dw) / 2.0, (h - dh) / 2.0);
        content.push_str(&format!(
            "q {dw:.3} 0 0 {dh:.3} {dx:.3} {dy:.3} cm /Seal Do Q\n"
        ));
        resources_xobj = format!("/XObject<</Seal {img} 0 R>>");
        text_x = side + 4.0;
    }
    // Text: the largest size (≤ 11 pt) at which every line fits.
    let avail_w = (w - text_x - 3.0).max(1.0);
    let count = lines_gids.len().max(1) as f64;
    let widest = lines_gids
        .iter()
        .map(|l| l.iter().map(|(_, _, g)| width_of(*g)).sum::<f64>() / 1000.0)
        .fold(0.0f64, f64::max);
    let mut size = (h - 4.0) / (count * 1.2);
    if widest > 0.0 {
        size = size.min(avail_w / widest);
    }
    let size = size.clamp(2.0, 11.0);
    let leading = size * 1.2;
    let top = h - 2.0 - size;
    content.push_str(&format!(
        "BT /F1 {size:.3} Tf 0 g {text_x:.3} {top:.3} Td {leading:.3} TL\n"
    ));
    for (i, l) in lines_gids.iter().enumerate() {
        if i > 0 {
            content.push_str("T*\n");
        }
        content.push('<');
        for (cid, _, _) in l {
            content.push_str(&format!("{cid:04X}"));
        }
        content.push_str("> Tj\n");
    }
    content.push_str("ET\nQ\n");
    out.push((
        ap,
        stream(
            &format!("/Type/XObject/Subtype/Form/BBox[0 0 {w:.3} {h:.3}]/Resources<<{resources_xobj}/Font<</F1 {font0} 0 R>>>>"),
            content.as_bytes(),
        ),
    ));

    // The font: Type0 → CIDFontType2 → descriptor → subset program; ToUnicode.
    let name = format!(
        "KYSOAA+{}",
        face.names()
            .into_iter()
            .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME && n.is_unicode())
            .and_then(|n| n.to_string())
            .unwrap_or_else(|| "Font".into())
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "")
    );
    let mut used: Vec<(u16, char, u16)> = lines_gids.concat();
    used.sort_by_key(|u| u.0);
    used.dedup_by_key(|u| u.0);
    let widths: String = used
        .iter()
        .map(|(cid, _, g)| format!("{cid}[{:.0}]", width_of(*g)))
        .collect::<Vec<_>>()
        .join(" ");
    let bb = face.global_bounding_box();
    let s = |v: i16| (f64::from(v) * 1000.0 / upem).round();
    out.push((font0, format!("<</Type/Font/Subtype/Type0/BaseFont/{name}/Encoding/Identity-H/DescendantFonts[{cidfont} 0 R]/ToUnicode {tounicode} 0 R>>").into_bytes()));
    out.push((cidfont, format!("<</Type/Font/Subtype/CIDFontType2/BaseFont/{name}/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/FontDescriptor {descriptor} 0 R/W[{widths}]/CIDToGIDMap/Identity>>").into_bytes()));
    out.push((descriptor, format!(
        "<</Type/FontDescriptor/FontName/{name}/Flags 32/FontBBox[{} {} {} {}]/ItalicAngle 0/Ascent {}/Descent {}/CapHeight {}/StemV 80/FontFile2 {fontfile} 0 R>>",
        s(bb.x_min), s(bb.y_min), s(bb.x_max), s(bb.y_max),
        s(face.ascender()), s(face.descender()),
        s(face.capital_height().unwrap_or(face.ascender())),
    ).into_bytes()));
    out.push((
        fontfile,
        stream(&format!("/Length1 {}", subset.len()), &subset),
    ));
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n/CIDSystemInfo<</Registry(Adobe)/Ordering(UCS)/Supplement 0>> def\n/CMapName/Adobe-Identity-UCS def/CMapType 2 def\n1 begincodespacerange <0000><FFFF> endcodespacerange\n",
    );
    for chunk in used.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (cid, ch, _) in chunk {
            let mut u = [0u16; 2];
            let units: String = ch
                .encode_utf16(&mut u)
                .iter()
                .map(|x| format!("{x:04X}"))
                .collect();
            cmap.push_str(&format!("<{cid:04X}><{units}>\n"));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap CMapName currentdict /CMap defineresource pop end end\n");
    out.push((tounicode, stream("", cmap.as_bytes())));
    Ok((out, ap))
}
