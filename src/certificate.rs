//! The verification certificate (*Phiếu kết quả kiểm tra chữ ký số*): an A4
//! PDF that says, for one verified file, what was checked and what was
//! found — file name, size and SHA-256, validation time, policy, trust
//! anchors, each signature's result and reasons, the dossier code — in
//! Vietnamese with an embedded font (English in smaller type below each
//! heading). The pages are laid out by `krilla` (a maintained PDF writer:
//! fonts embedded and subset, text extractable); kyso signs the result
//! with the service's own key ([`crate::sign`]), so the certificate itself
//! verifies in kyso, pyHanko and pdfsig.

use std::sync::Arc;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};
use ttf_parser::Face;

use crate::error::{Error, Result};
use crate::report::plain::{self, Lang};
use crate::report::{Indication, Outcome, Report, SignatureReport};

/// A4 in points, and the margins.
const W: f32 = 595.0;
const H: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// What the certificate states besides the report.
pub struct Facts<'a> {
    pub file_name: &'a str,
    pub size: u64,
    pub sha256: &'a str,
    /// The policy the verdict was reached under (its name).
    pub policy: &'a str,
    /// The trust anchors, as people know them (subject CN and fingerprint).
    pub anchors: Vec<String>,
    pub dossier: Option<&'a str>,
    /// Who issues the certificate (the agency running kyso).
    pub issuer: &'a str,
    /// Mask personal identity numbers (a certificate handed to the public).
    pub mask_identities: bool,
}

/// The fonts: regular and bold, each with its bytes for measuring.
pub struct Fonts {
    regular: (Font, Arc<Vec<u8>>),
    bold: (Font, Arc<Vec<u8>>),
}

impl Fonts {
    /// TrueType fonts with Vietnamese glyphs (DejaVu Sans by default).
    pub fn load(regular: &[u8], bold: &[u8]) -> Result<Fonts> {
        let one = |b: &[u8]| -> Result<(Font, Arc<Vec<u8>>)> {
            let bytes = Arc::new(b.to_vec());
            face(&bytes)?;
            let f = Font::new(krilla::Data::from(bytes.clone()), 0)
                .ok_or_else(|| Error::Unsupported("font not usable".into()))?;
            Ok((f, bytes))
        };
        Ok(Fonts {
            regular: one(regular)?,
            bold: one(bold)?,
        })
    }

    /// The system's DejaVu Sans, read once per process (the service
    /// issues many certificates).
    pub fn system_shared() -> Result<Arc<Fonts>> {
        static SYSTEM: std::sync::OnceLock<Arc<Fonts>> = std::sync::OnceLock::new();
        if let Some(f) = SYSTEM.get() {
            return Ok(f.clone());
        }
        let f = Arc::new(Fonts::system()?);
        Ok(SYSTEM.get_or_init(|| f).clone())
    }

    /// The system's DejaVu Sans (Debian `fonts-dejavu-core`).
    pub fn system() -> Result<Fonts> {
        let dir = std::path::Path::new("/usr/share/fonts/truetype/dejavu");
        let read = |n: &str| {
            std::fs::read(dir.join(n))
                .map_err(|e| Error::Unsupported(format!("font {n}: {e} (apt fonts-dejavu-core)")))
        };
        Fonts::load(&read("DejaVuSans.ttf")?, &read("DejaVuSans-Bold.ttf")?)
    }
}

fn face(b: &[u8]) -> Result<Face<'_>> {
    Face::parse(b, 0).map_err(|e| Error::Unsupported(format!("font: {e}")))
}

/// Width of `text` at `size` points in the font `bytes`.
fn width(face: &Face<'_>, text: &str, size: f32) -> f32 {
    let upem = f32::from(face.units_per_em().max(1));
    let units: u32 = text
        .chars()
        .map(|c| {
            face.glyph_index(c)
                .and_then(|g| face.glyph_hor_advance(g))
                .map_or(u32::from(upem as u16 / 2), u32::from)
        })
        .sum();
    units as f32 * size / upem
}

/// Lines of at most `max` points wide, broken at spaces (a word longer
/// than a line — a digest — is broken anywhere).
fn wrap(face: &Face<'_>, text: &str, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if width(face, &candidate, size) <= max {
            cur = candidate;
            continue;
        }
        if !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
        }
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if width(face, &piece, size) > max {
                piece.pop();
                lines.push(std::mem::take(&mut piece));
                piece.push(c);
            }
        }
        cur = piece;
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// One piece of the certificate, before layout.
enum Item {
    Title(String),
    Heading(String, String),
    Field(String, String),
    Text(String, Tone),
    Gap,
}

#[derive(Clone, Copy)]
enum Tone {
    Good,
    Bad,
    Unsure,
    Small,
}

fn tone_of(i: Indication) -> Tone {
    match i {
        Indication::TotalPassed => Tone::Good,
        Indication::TotalFailed => Tone::Bad,
        Indication::Indeterminate => Tone::Unsure,
    }
}

/// What the certificate says, in order.
fn items(f: &Facts<'_>, r: &Report) -> Vec<Item> {
    let vi = Lang::Vi;
    let field = |k: &str, v: String| Item::Field(k.into(), v);
    let mut v = vec![
        Item::Text(
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM — Độc lập - Tự do - Hạnh phúc".into(),
            Tone::Small,
        ),
        Item::Text(f.issuer.to_string(), Tone::Small),
        Item::Gap,
        Item::Title("PHIẾU KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ".into()),
        Item::Text(
            "Digital signature verification certificate".into(),
            Tone::Small,
        ),
        Item::Gap,
        Item::Heading(
            "Tài liệu được kiểm tra".into(),
            "The document checked".into(),
        ),
        field("Tên tệp", f.file_name.to_string()),
        field("Dung lượng", format!("{} byte", f.size)),
        field("SHA-256", f.sha256.to_string()),
        field("Định dạng", r.document.format.to_string()),
    ];
    if let Some(d) = f.dossier {
        v.push(field("Mã hồ sơ", d.to_string()));
    }
    v.push(Item::Heading(
        "Cách kiểm tra".into(),
        "How it was checked".into(),
    ));
    v.push(field("Thời điểm kiểm tra", r.validation_time.clone()));
    v.push(field("Chính sách", f.policy.to_string()));
    for (k, a) in f.anchors.iter().enumerate() {
        v.push(field(
            if k == 0 {
                "Chứng thư gốc tin cậy"
            } else {
                ""
            },
            a.clone(),
        ));
    }
    v.push(field(
        "Phần mềm",
        format!("kyso {} ({})", r.kyso_version, r.openssl_version),
    ));
    v.push(Item::Heading("Kết luận".into(), "Conclusion".into()));
    v.push(Item::Text(
        r.summary.message_vi.clone(),
        tone_of(r.summary.indication),
    ));
    if let Some(e) = &r.document.error {
        v.push(Item::Text(e.message_vi.clone(), Tone::Bad));
    }
    for s in &r.signatures {
        v.extend(signature(f, s, vi));
    }
    v
}

fn signature(f: &Facts<'_>, s: &SignatureReport, lang: Lang) -> Vec<Item> {
    let n = s.index.saturating_add(1);
    let mut v = vec![
        Item::Heading(
            format!(
                "{} #{n}: {}",
                plain::kind(lang, s.kind),
                plain::verdict(lang, s.indication).to_uppercase()
            ),
            format!("{} #{n}: {}", plain::kind(Lang::En, s.kind), s.verdict()),
        ),
        Item::Text(plain::why(lang, s), tone_of(s.indication)),
    ];
    let field = |k: &str, v: String| Item::Field(k.into(), v);
    if let Some(c) = &s.signer {
        v.push(field(
            "Người ký",
            c.common_name
                .clone()
                .unwrap_or_else(|| plain::cn_of(&c.subject)),
        ));
        if let Some(o) = &c.organization {
            v.push(field("Tổ chức", o.clone()));
        }
        for id in &c.identities {
            v.push(field(
                &id.kind,
                plain::shown_identity(&id.kind, &id.value, f.mask_identities),
            ));
        }
        v.push(field("Tổ chức cấp chứng thư", plain::cn_of(&c.issuer)));
        v.push(field(
            "Hiệu lực chứng thư",
            format!("{} → {}", c.not_before, c.not_after),
        ));
    }
    if let Some(root) = s.chain.last() {
        v.push(field("Chứng thư gốc", plain::cn_of(root)));
    }
    for (k, l) in plain::revocation_lines(lang, s).into_iter().enumerate() {
        v.push(field(
            if k == 0 {
                "Tình trạng thu hồi"
            } else {
                ""
            },
            l,
        ));
    }
    if let Some(t) = &s.claimed_signing_time {
        v.push(field("Thời gian ký (tự khai)", t.clone()));
    }
    if let Some(t) = plain::proven_time(s) {
        v.push(field("Thời điểm được chứng minh", t));
    }
    if let Some(l) = s.level {
        v.push(field("Mức chữ ký", l.as_str().to_string()));
    }
    if let Some(w) = plain::package_coverage(lang, s) {
        v.push(field("Phạm vi chữ ký", w));
    }
    if let Some(m) = s.coverage.as_ref().and_then(|c| c.modification_level) {
        let pages = plain::pages_changed(s);
        let mut t = plain::changes(lang, m).to_string();
        if !pages.is_empty() {
            let list: Vec<String> = pages.iter().map(|p| p.to_string()).collect();
            t = format!("{t}; trang bị thay đổi: {}", list.join(", "));
        }
        v.push(field("Thay đổi sau khi ký", t));
    }
    for c in s
        .checks
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Failed | Outcome::Warning))
    {
        let mark = if c.outcome == Outcome::Failed {
            "✗"
        } else {
            "!"
        };
        v.push(Item::Text(
            format!("{mark} {} — {}", c.code, c.message_vi),
            Tone::Small,
        ));
    }
    v
}

/// Lay the certificate out on A4 pages: the unsigned PDF.
pub fn render(f: &Facts<'_>, r: &Report, fonts: &Fonts) -> Result<Vec<u8>> {
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title("Phiếu kết quả kiểm tra chữ ký số".into())
            .language("vi".into())
            .creator(format!("kyso {}", r.kyso_version)),
    );
    let items = items(f, r);
    // Each font's tables read once for all the measuring.
    let (reg, regb) = (&fonts.regular.0, face(&fonts.regular.1)?);
    let (bold, boldb) = (&fonts.bold.0, face(&fonts.bold.1)?);
    let text_w = W - 2.0 * MARGIN;
    let key_w = 165.0;
    // Each item becomes lines: (font, size, colour, x, text, whether it
    // starts a new line — a field's value shares its key's line).
    type Line<'f> = (&'f Font, f32, rgb::Color, f32, String, bool);
    let mut blocks: Vec<Vec<Line<'_>>> = Vec::new();
    let black = rgb::Color::new(20, 20, 20);
    let grey = rgb::Color::new(90, 90, 90);
    for it in &items {
        let mut b: Vec<Line<'_>> = Vec::new();
        match it {
            Item::Title(t) => {
                let x = MARGIN + (text_w - width(&boldb, t, 15.0)).max(0.0) / 2.0;
                b.push((bold, 15.0, black, x, t.clone(), true));
            }
            Item::Heading(vi, en) => {
                b.push((bold, 11.5, black, MARGIN, String::new(), true));
                for l in wrap(&boldb, vi, 11.5, text_w) {
                    b.push((bold, 11.5, black, MARGIN, l, true));
                }
                for l in wrap(&regb, en, 8.5, text_w) {
                    b.push((reg, 8.5, grey, MARGIN, l, true));
                }
            }
            Item::Field(k, val) => {
                let vals = wrap(&regb, val, 10.0, text_w - key_w);
                for (i, l) in vals.into_iter().enumerate() {
                    if i == 0 && !k.is_empty() {
                        b.push((reg, 10.0, grey, MARGIN, k.clone(), true));
                        b.push((reg, 10.0, black, MARGIN + key_w, l, false));
                    } else {
                        b.push((reg, 10.0, black, MARGIN + key_w, l, true));
                    }
                }
            }
            Item::Text(t, tone) => {
                let (font, bytes, size, colour) = match tone {
                    Tone::Good => (bold, &boldb, 10.5, rgb::Color::new(10, 107, 45)),
                    Tone::Bad => (bold, &boldb, 10.5, rgb::Color::new(164, 22, 26)),
                    Tone::Unsure => (bold, &boldb, 10.5, rgb::Color::new(138, 83, 0)),
                    Tone::Small => (reg, &regb, 8.5, grey),
                };
                for l in wrap(bytes, t, size, text_w) {
                    b.push((font, size, colour, MARGIN, l, true));
                }
            }
            Item::Gap => b.push((reg, 6.0, black, MARGIN, String::new(), true)),
        }
        blocks.push(b);
    }
    let bottom = H - MARGIN - 30.0;
    let mut pages: Vec<Vec<(f32, Line<'_>)>> = vec![Vec::new()];
    let mut y = MARGIN;
    for b in blocks {
        for (font, size, colour, x, text, new_line) in b {
            let advance = if new_line { size * 1.45 } else { 0.0 };
            if y + advance > bottom {
                pages.push(Vec::new());
                y = MARGIN;
            }
            y += advance;
            if let Some(p) = pages.last_mut() {
                p.push((y, (font, size, colour, x, text, new_line)));
            }
        }
    }
    let count = pages.len();
    for (k, lines) in pages.into_iter().enumerate() {
        let settings =
            PageSettings::from_wh(W, H).ok_or_else(|| Error::Unsupported("page size".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        // A rule under the title area on the first page, a frame on all.
        let mut pb = PathBuilder::new();
        if let Some(rect) = Rect::from_xywh(
            MARGIN - 14.0,
            MARGIN - 20.0,
            text_w + 28.0,
            H - 2.0 * MARGIN + 20.0,
        ) {
            pb.push_rect(rect);
        }
        if let Some(path) = pb.finish() {
            surface.set_fill(None);
            surface.set_stroke(Some(krilla::paint::Stroke {
                paint: rgb::Color::new(18, 53, 91).into(),
                width: 1.2,
                ..Default::default()
            }));
            surface.draw_path(&path);
            surface.set_stroke(None);
        }
        for (y, (font, size, colour, x, text, _)) in lines {
            if text.is_empty() {
                continue;
            }
            surface.set_fill(Some(Fill {
                paint: colour.into(),
                opacity: NormalizedF32::ONE,
                rule: Default::default(),
            }));
            surface.draw_text(
                Point::from_xy(x, y),
                font.clone(),
                size,
                &text,
                false,
                TextDirection::Auto,
            );
        }
        let foot = format!(
            "Phiếu do kyso tạo và được ký số bởi {}; kiểm tra phiếu bằng kyso, pyHanko hoặc pdfsig. Trang {}/{count}",
            f.issuer,
            k.saturating_add(1)
        );
        surface.set_fill(Some(Fill {
            paint: grey.into(),
            opacity: NormalizedF32::ONE,
            rule: Default::default(),
        }));
        for (i, l) in wrap(&regb, &foot, 7.5, text_w).into_iter().enumerate() {
            surface.draw_text(
                Point::from_xy(MARGIN, H - MARGIN + 16.0 + 10.0 * i as f32),
                reg.clone(),
                7.5,
                &l,
                false,
                TextDirection::Auto,
            );
        }
        surface.finish();
        page.finish();
    }
    doc.finish()
        .map_err(|e| Error::Unsupported(format!("PDF generation: {e:?}")))
}

/// How people know a trust anchor: its CN and the start of its SHA-256.
pub fn anchor_names(anchors: &[openssl::x509::X509]) -> Vec<String> {
    anchors
        .iter()
        .take(20)
        .map(|c| {
            let s = crate::pki::cert::summarize(c);
            let cn = s.common_name.unwrap_or(s.subject);
            format!("{cn} (SHA-256 {}…)", s.sha256.get(..16).unwrap_or(""))
        })
        .collect()
}

/// Render the certificate and sign it with `key` as a certification
/// signature that allows no change (DocMDP P=1), at `level` (B-T and above
/// with the TSA of `services`), time `at`.
pub fn issue(
    f: &Facts<'_>,
    r: &Report,
    fonts: &Fonts,
    key: &dyn crate::sign::keys::KeySigner,
    level: crate::sign::SignLevel,
    services: &crate::sign::Services,
    at: i64,
) -> Result<Vec<u8>> {
    let pdf = render(f, r, fonts)?;
    let opts = crate::sign::SignOptions {
        field: "PhieuKetQua".into(),
        digest: crate::sign::cms::Digest::Sha256,
        time: at,
        reason: Some("Phiếu kết quả kiểm tra chữ ký số".into()),
        location: None,
        page: 1,
        certify: Some(1),
        seal: None,
    };
    crate::sign::sign_pdf_level(&pdf, key, &opts, level, services)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character_and_the_width() {
        let Ok(f) = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") else {
            println!("SKIPPED: DejaVu Sans is absent (apt fonts-dejavu-core)");
            return;
        };
        let text = "Chứng thư số của người ký được cấp bởi tổ chức tin cậy và không bị thu hồi tại thời điểm ký 5a9d0592fb788b948985d2ef55b202bad66490e4fbe9cb9f4b1190e0c752ccd8";
        let f = face(&f).unwrap();
        let lines = wrap(&f, text, 10.0, 200.0);
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| width(&f, l, 10.0) <= 200.0));
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
    }
}
