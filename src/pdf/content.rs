//! Where a page's content paints, roughly: the boxes (in default user space)
//! of text shown, images and form XObjects drawn, and paths filled or
//! stroked (ISO 32000-1 §8, §9). Used to tell whether an annotation added
//! after signing lies over signed content.
//!
//! Deliberately coarse and on the safe side: a text run's box assumes
//! every byte is a glyph 0.6 em wide (two-byte fonts double it), a form
//! XObject counts as its whole /BBox, a shading fills the page, and paths
//! count by their control points. Fills in white are left out (a page
//! background is not content). Anything the interpreter does not follow —
//! an unreadable stream, a graphics-state stack deeper than allowed — makes
//! the answer "unknown", which callers treat as "overlaps".

use super::document::Document;
use super::object::{Dict, Lexer, Obj, PErr, Tok};
use crate::error::Result;

/// A rectangle `[x0, y0, x1, y1]` with `x0 <= x1`, `y0 <= y1`.
pub type Rect = [f64; 4];

/// Largest decoded content read for one page.
const MAX_CONTENT_BYTES: u64 = 16 << 20;
/// Deepest `q` nesting followed.
const MAX_SAVE_DEPTH: usize = 64;
/// Most boxes collected (they are merged beyond this).
const MAX_BOXES: usize = 20_000;

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `a` then `b` (a point is mapped by `a` first).
fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    let [a0, a1, a2, a3, a4, a5] = *a;
    let [b0, b1, b2, b3, b4, b5] = *b;
    [
        a0 * b0 + a1 * b2,
        a0 * b1 + a1 * b3,
        a2 * b0 + a3 * b2,
        a2 * b1 + a3 * b3,
        a4 * b0 + a5 * b2 + b4,
        a4 * b1 + a5 * b3 + b5,
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    let [a, b, c, d, e, f] = *m;
    (a * x + c * y + e, b * x + d * y + f)
}

/// The box around `r` mapped by `m`.
fn map_rect(m: &Matrix, r: &Rect) -> Rect {
    let [x0, y0, x1, y1] = *r;
    let pts = [
        apply(m, x0, y0),
        apply(m, x1, y0),
        apply(m, x0, y1),
        apply(m, x1, y1),
    ];
    let mut out = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (x, y) in pts {
        out = [out[0].min(x), out[1].min(y), out[2].max(x), out[3].max(y)];
    }
    out
}

/// A rectangle from a PDF array of four numbers, normalised.
pub fn rect_of(o: &Obj) -> Option<Rect> {
    let Obj::Array(a) = o else { return None };
    let n: Vec<f64> = a.iter().filter_map(number).collect();
    match n.as_slice() {
        [x0, y0, x1, y1] => Some([x0.min(*x1), y0.min(*y1), x0.max(*x1), y0.max(*y1)]),
        _ => None,
    }
}

fn number(o: &Obj) -> Option<f64> {
    match o {
        Obj::Int(i) => Some(*i as f64),
        Obj::Real(r) if r.is_finite() => Some(*r),
        _ => None,
    }
}

/// Whether two rectangles share an area (touching edges do not count).
pub fn overlap(a: &Rect, b: &Rect) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

#[derive(Clone)]
struct State {
    ctm: Matrix,
    /// The non-stroking colour is white (a background fill, not content).
    fill_white: bool,
}

/// The boxes a page's content paints, or `None` when that cannot be told.
pub fn painted_boxes(doc: &Document<'_>, page: &Dict) -> Result<Option<Vec<Rect>>> {
    let mut data = Vec::new();
    let streams = match page.get(b"Contents").map(|c| doc.resolve(c)).transpose()? {
        None | Some(Obj::Null) => Vec::new(),
        Some(Obj::Array(a)) => a,
        Some(_) => page.get(b"Contents").cloned().into_iter().collect(),
    };
    for s in streams {
        let Obj::Stream(st) = doc.resolve(&s)? else {
            return Ok(None);
        };
        let Ok(bytes) = doc.stream_data_max(&st, MAX_CONTENT_BYTES) else {
            return Ok(None);
        };
        data.extend_from_slice(&bytes);
        data.push(b'\n');
    }
    let resources = inherited(doc, page, b"Resources")?;
    let xobjects = match resources
        .as_ref()
        .and_then(|r| r.as_dict())
        .and_then(|r| r.get(b"XObject"))
    {
        Some(x) => doc.resolve_dict(x)?,
        None => None,
    };
    let media = inherited(doc, page, b"MediaBox")?
        .and_then(|b| rect_of(&b))
        .unwrap_or([0.0, 0.0, 612.0, 792.0]);
    Ok(interpret(doc, &data, xobjects.as_ref(), &media))
}

/// A page attribute, inherited through /Parent (ISO 32000-1 §7.7.3.4), resolved.
fn inherited(doc: &Document<'_>, page: &Dict, key: &[u8]) -> Result<Option<Obj>> {
    let mut node = page.clone();
    for _ in 0..32 {
        if let Some(v) = node.get(key) {
            return Ok(Some(doc.resolve(v)?));
        }
        match node.get(b"Parent") {
            Some(p) => match doc.resolve_dict(p)? {
                Some(d) => node = d,
                None => return Ok(None),
            },
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// A number, name or string token as an operand.
fn simple_operand(t: Tok<'_>) -> Option<Obj> {
    Some(match t {
        Tok::Int(i) => Obj::Int(i),
        Tok::Real(r) => Obj::Real(r),
        Tok::Name(n) => Obj::Name(n),
        Tok::Str(s) => Obj::Str(s),
        _ => return None,
    })
}

fn interpret(
    doc: &Document<'_>,
    data: &[u8],
    xobjects: Option<&Dict>,
    media: &Rect,
) -> Option<Vec<Rect>> {
    let mut lx = Lexer::new(data, 0, true, 32);
    let mut ops: Vec<Obj> = Vec::new();
    let mut gs = State {
        ctm: IDENTITY,
        fill_white: false,
    };
    let mut stack: Vec<State> = Vec::new();
    let mut boxes: Vec<Rect> = Vec::new();
    let mut path: Option<Rect> = None;
    // Text state.
    let (mut tm, mut tlm) = (IDENTITY, IDENTITY);
    let (mut size, mut leading) = (12.0f64, 0.0f64);
    let num = |ops: &[Obj], i: usize| ops.get(i).and_then(number);
    loop {
        if ops.len() > 4096 {
            return None;
        }
        let save = lx.pos;
        let tok = match lx.token() {
            Ok(Some(t)) => t,
            Ok(None) => break,
            Err(PErr::Incomplete) | Err(PErr::Fatal(_)) => return None,
        };
        if lx.pos <= save {
            return None; // no progress: never loop on input the lexer cannot take
        }
        let op: &[u8] = match tok {
            Tok::ArrOpen | Tok::DictOpen => {
                lx.pos = save;
                ops.push(lx.object(0).ok()?);
                continue;
            }
            Tok::ArrClose | Tok::DictClose => return None,
            Tok::Keyword(k) => k,
            simple => {
                ops.push(simple_operand(simple)?);
                continue;
            }
        };
        // Text shown at the current text matrix: a box, then the advance.
        let show = |w_bytes: f64, tm: &mut Matrix, ctm: &Matrix, boxes: &mut Vec<Rect>| {
            let w = w_bytes * size * 0.6;
            let m = mul(tm, ctm);
            boxes.push(map_rect(&m, &[0.0, -0.25 * size, w, size]));
            *tm = mul(&[1.0, 0.0, 0.0, 1.0, w, 0.0], tm);
        };
        match op {
            b"q" => {
                if stack.len() >= MAX_SAVE_DEPTH {
                    return None;
                }
                stack.push(gs.clone());
            }
            b"Q" => gs = stack.pop().unwrap_or(gs),
            b"cm" => {
                let m: Vec<f64> = ops.iter().filter_map(number).collect();
                if let [a, b, c, d, e, f] = m.as_slice() {
                    gs.ctm = mul(&[*a, *b, *c, *d, *e, *f], &gs.ctm);
                }
            }
            b"g" => gs.fill_white = num(&ops, 0) == Some(1.0),
            b"rg" => {
                gs.fill_white = (0..3).all(|i| num(&ops, i) == Some(1.0));
            }
            b"k" => gs.fill_white = (0..4).all(|i| num(&ops, i) == Some(0.0)),
            b"sc" | b"scn" | b"cs" => gs.fill_white = false,
            b"BT" => {
                tm = IDENTITY;
                tlm = IDENTITY;
            }
            b"Tf" => size = num(&ops, 1).unwrap_or(size).abs(),
            b"TL" => leading = num(&ops, 0).unwrap_or(leading),
            b"Tm" => {
                let m: Vec<f64> = ops.iter().filter_map(number).collect();
                if let [a, b, c, d, e, f] = m.as_slice() {
                    tlm = [*a, *b, *c, *d, *e, *f];
                    tm = tlm;
                }
            }
            b"Td" | b"TD" => {
                let (x, y) = (num(&ops, 0).unwrap_or(0.0), num(&ops, 1).unwrap_or(0.0));
                if op == b"TD" {
                    leading = -y;
                }
                tlm = mul(&[1.0, 0.0, 0.0, 1.0, x, y], &tlm);
                tm = tlm;
            }
            b"T*" => {
                tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -leading], &tlm);
                tm = tlm;
            }
            b"Tj" | b"'" | b"\"" => {
                if op != b"Tj" {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -leading], &tlm);
                    tm = tlm;
                }
                if let Some(Obj::Str(s)) = ops.last() {
                    show(s.bytes.len() as f64, &mut tm, &gs.ctm, &mut boxes);
                }
            }
            b"TJ" => {
                if let Some(Obj::Array(parts)) = ops.last() {
                    let mut w = 0.0;
                    for p in parts {
                        match p {
                            Obj::Str(s) => w += s.bytes.len() as f64,
                            // Adjustments move by thousandths of an em;
                            // counted only when they widen the run.
                            o => w += (-number(o).unwrap_or(0.0) / 1000.0 / 0.6).max(0.0),
                        }
                    }
                    show(w, &mut tm, &gs.ctm, &mut boxes);
                }
            }
            b"m" | b"l" | b"c" | b"v" | b"y" => {
                let n: Vec<f64> = ops.iter().filter_map(number).collect();
                for xy in n.chunks(2) {
                    if let [x, y] = xy {
                        let (x, y) = apply(&gs.ctm, *x, *y);
                        path = Some(match path {
                            None => [x, y, x, y],
                            Some(p) => [p[0].min(x), p[1].min(y), p[2].max(x), p[3].max(y)],
                        });
                    }
                }
            }
            b"re" => {
                let n: Vec<f64> = ops.iter().filter_map(number).collect();
                if let [x, y, w, h] = n.as_slice() {
                    let r = map_rect(
                        &gs.ctm,
                        &[x.min(x + w), y.min(y + h), x.max(x + w), y.max(y + h)],
                    );
                    path = Some(match path {
                        None => r,
                        Some(p) => [
                            p[0].min(r[0]),
                            p[1].min(r[1]),
                            p[2].max(r[2]),
                            p[3].max(r[3]),
                        ],
                    });
                }
            }
            b"f" | b"F" | b"f*" => {
                if let Some(p) = path.take() {
                    if !gs.fill_white {
                        boxes.push(p);
                    }
                }
            }
            b"S" | b"s" | b"B" | b"B*" | b"b" | b"b*" => {
                if let Some(p) = path.take() {
                    boxes.push([p[0] - 1.0, p[1] - 1.0, p[2] + 1.0, p[3] + 1.0]);
                }
            }
            b"n" => path = None,
            b"sh" => boxes.push(*media),
            b"Do" => {
                let Some(Obj::Name(name)) = ops.last() else {
                    return None;
                };
                let xo = match xobjects.and_then(|x| x.get(name)) {
                    Some(o) => doc.resolve(o).ok()?,
                    None => Obj::Null,
                };
                match &xo {
                    Obj::Stream(s) if s.dict.name(b"Subtype") == Some(b"Form") => {
                        let bbox = s
                            .dict
                            .get(b"BBox")
                            .and_then(|b| doc.resolve(b).ok())
                            .and_then(|b| rect_of(&b))
                            .unwrap_or(*media);
                        let matrix: Vec<f64> = match s.dict.get(b"Matrix") {
                            Some(Obj::Array(a)) => a.iter().filter_map(number).collect(),
                            _ => Vec::new(),
                        };
                        let m = match matrix.as_slice() {
                            [a, b, c, d, e, f] => [*a, *b, *c, *d, *e, *f],
                            _ => IDENTITY,
                        };
                        boxes.push(map_rect(&mul(&m, &gs.ctm), &bbox));
                    }
                    Obj::Stream(_) => boxes.push(map_rect(&gs.ctm, &[0.0, 0.0, 1.0, 1.0])),
                    // A name the resources do not define paints nothing.
                    _ => {}
                }
            }
            b"BI" => {
                // An inline image: the unit square; its data runs to `EI`.
                boxes.push(map_rect(&gs.ctm, &[0.0, 0.0, 1.0, 1.0]));
                let rest = data.get(lx.pos..)?;
                let end = rest
                    .windows(4)
                    .position(|w| {
                        matches!(w, [a, b'E', b'I', d] if super::object::is_white(*a) && super::object::is_white(*d))
                    })?;
                lx.pos = lx.pos.saturating_add(end).saturating_add(3);
            }
            _ => {}
        }
        ops.clear();
        if boxes.len() > MAX_BOXES {
            let all = boxes.iter().fold(
                [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ],
                |a, b| {
                    [
                        a[0].min(b[0]),
                        a[1].min(b[1]),
                        a[2].max(b[2]),
                        a[3].max(b[3]),
                    ]
                },
            );
            boxes = vec![all];
        }
    }
    Some(boxes)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;
    use crate::pdf::source::MemSource;

    /// A one-page document whose page draws `content`.
    fn page_with(content: &[u8]) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offs = Vec::new();
        let objs: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
            [
                format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(),
                content,
                b"\nendstream",
            ]
            .concat(),
        ];
        for (i, o) in objs.iter().enumerate() {
            offs.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(o);
            out.extend_from_slice(b"\nendobj\n");
        }
        let x = out.len();
        out.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
        for o in offs {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{x}\n%%EOF\n").as_bytes(),
        );
        out
    }

    fn boxes(content: &[u8]) -> Option<Vec<Rect>> {
        let pdf = page_with(content);
        let src = MemSource(&pdf);
        let doc = Document::open(&src, crate::Limits::default()).unwrap();
        let page = doc.resolve_num(3).unwrap().as_dict().cloned().unwrap();
        painted_boxes(&doc, &page).unwrap()
    }

    #[test]
    fn text_is_boxed_where_it_is_shown() {
        let b = boxes(b"BT /F1 18 Tf 72 760 Td (Giay phep) Tj ET").unwrap();
        assert_eq!(b.len(), 1);
        // 9 bytes at 0.6 em of 18 pt, from x=72; from 0.25 em below the baseline.
        assert!(
            (b[0][0] - 72.0).abs() < 1e-9 && (b[0][2] - 169.2).abs() < 1e-9,
            "{b:?}"
        );
        assert!(
            (b[0][1] - 755.5).abs() < 1e-9 && (b[0][3] - 778.0).abs() < 1e-9,
            "{b:?}"
        );
        assert!(overlap(&b[0], &[70.0, 755.0, 400.0, 780.0]));
        assert!(!overlap(&b[0], &[540.0, 20.0, 560.0, 40.0]));
    }

    #[test]
    fn white_backgrounds_are_not_content_but_paths_and_images_are() {
        assert_eq!(boxes(b"1 g 0 0 595 842 re f").unwrap(), Vec::<Rect>::new());
        assert_eq!(
            boxes(b"0 g 10 10 20 20 re f").unwrap(),
            vec![[10.0, 10.0, 30.0, 30.0]]
        );
        // An image drawn by a scaled unit square; an inline image's data skipped.
        let b = boxes(b"q 100 0 0 50 200 300 cm BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI Q").unwrap();
        assert_eq!(b, vec![[200.0, 300.0, 300.0, 350.0]]);
    }

    #[test]
    fn what_cannot_be_followed_is_unknown() {
        // A graphics-state stack deeper than followed, and a stray `]`.
        assert_eq!(boxes(&b"q ".repeat(MAX_SAVE_DEPTH + 1)), None);
        assert_eq!(boxes(b"BT ] ET"), None);
    }
}
