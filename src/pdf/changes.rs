//! What changed in the incremental updates after a signed revision
//! (ISO 32000-1 §7.5.6), object by object, and whether each change is one a
//! signature tolerates.
//!
//! The signed revision is the document as its cross-reference sections stood
//! before the end of the signature's ByteRange; every object listed by a later
//! section is compared with its signed version and classified. This module
//! recognises the updates that are allowed after any signature — validation
//! data in the `/DSS` (ETSI EN 319 142-1 §5.4), document timestamps, later
//! signatures in new or empty signature fields, and bookkeeping that rewrites
//! an object unchanged. Anything else is reported as not allowed: kyso fails
//! closed on what it does not recognise.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::document::{Document, XrefEntry};
use super::object::{Dict, Obj, ObjRef};
use super::source::read_range;
use crate::error::{Error, Result};

/// How far the document was modified after the signature, the worst change first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModLevel {
    /// Nothing but rewritten, equal objects.
    #[default]
    None,
    /// Validation data (DSS/VRI) and document timestamps.
    LtaUpdates,
    /// Later signatures (new or formerly empty signature fields).
    FormFilling,
    /// Annotations added to pages (comments, highlights, stamps…): whether
    /// they are accepted is the acceptance policy's decision.
    Annotations,
    /// Anything else, including changes kyso does not recognise.
    Other,
}

impl ModLevel {
    /// The name the report uses (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            ModLevel::None => "NONE",
            ModLevel::LtaUpdates => "LTA_UPDATES",
            ModLevel::FormFilling => "FORM_FILLING",
            ModLevel::Annotations => "ANNOTATIONS",
            ModLevel::Other => "OTHER",
        }
    }
}

/// What one changed object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeClass {
    /// Rewritten with equal content, or cross-reference/object streams.
    Bookkeeping,
    /// Part of the document security store.
    Dss,
    /// Document metadata: the XMP stream, /Info modification date and producer.
    Metadata,
    /// The field, widget, appearance or value of a document timestamp.
    DocTimestamp,
    /// The field, widget, appearance or value of a later signature.
    LaterSignature,
    /// The value or appearance of an existing form field (not a signature).
    FormField,
    /// A new annotation on a page (not a widget), or what it is drawn with.
    Annotation,
    /// Not an allowed change.
    Disallowed,
}

impl ChangeClass {
    fn level(self) -> ModLevel {
        match self {
            ChangeClass::Bookkeeping => ModLevel::None,
            ChangeClass::Dss | ChangeClass::DocTimestamp | ChangeClass::Metadata => {
                ModLevel::LtaUpdates
            }
            ChangeClass::LaterSignature | ChangeClass::FormField => ModLevel::FormFilling,
            ChangeClass::Annotation => ModLevel::Annotations,
            ChangeClass::Disallowed => ModLevel::Other,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub object: u32,
    pub class: ChangeClass,
    /// What the object is and what changed, in English (object-level evidence).
    pub what: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ChangeReport {
    pub level: ModLevel,
    /// Number of cross-reference sections after the signed revision.
    pub later_sections: usize,
    pub changes: Vec<Change>,
    /// Form fields (not signatures) whose value or appearance changed, by full name.
    pub filled_fields: Vec<String>,
    /// New signature fields (not document timestamps) with a visible widget,
    /// added after the signed revision.
    pub new_visible_signatures: Vec<String>,
    /// Pages (1-based) that show a disallowed change: a changed object is
    /// the page or something the page uses (content, resources, annotations).
    pub pages_changed: Vec<usize>,
    /// Annotations added to pages after the signed revision.
    pub annotations: Vec<AddedAnnotation>,
}

/// An annotation added after signing.
#[derive(Clone, Debug, Serialize)]
pub struct AddedAnnotation {
    pub object: u32,
    /// 1-based page number (0 when the page could not be numbered).
    pub page: usize,
    /// /Subtype: Text, FreeText, Highlight, Ink, Stamp, …
    pub subtype: String,
    /// /Rect in default user space, `[x0, y0, x1, y1]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rect: Option<[f64; 4]>,
    /// Whether it lies over what the signed page paints (text, images,
    /// paths; see [`super::content`]). True also when that cannot be told.
    pub overlaps_content: bool,
}

impl ChangeReport {
    pub fn disallowed(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.class == ChangeClass::Disallowed)
    }
}

/// Keys not followed from a signature field: back-links to the page and the
/// parent field, and a signature's /Reference (whose /Data may name the catalog).
const SKIP: &[&[u8]] = &[b"P", b"Parent", b"Reference"];

/// Most allowed changes a combined report keeps (a report shows 200).
const MAX_CHANGES_KEPT: usize = 200;

/// Most objects followed when collecting the objects of a structure.
const MAX_REACH: usize = 100_000;
/// Largest stream compared byte for byte.
const MAX_COMPARE_BYTES: u64 = 64 << 20;

/// What the analyses of one document's signatures share, so that a file
/// signed many times is not re-examined once per signature.
#[derive(Default)]
pub struct Memo {
    /// The document's certification signature's DocMDP permission, if any
    /// (it governs every later change, ISO 32000-1 §12.8.2.2).
    pub certification: Option<u8>,
    /// The acceptance policy accepts annotations added after signing
    /// (over no signed content).
    pub allow_annotations: bool,
    /// A new signature field's objects (reached from the field).
    field_objects: std::cell::RefCell<HashMap<u32, std::rc::Rc<HashSet<u32>>>>,
    /// Per cross-reference section (by offset): object numbers that its
    /// objects refer to but that no section up to it defines.
    dangling: std::cell::OnceCell<Vec<(u64, HashSet<u32>)>>,
    /// The earliest end of a signed range in the document, when known: where
    /// the one walk for stray bytes starts.
    pub earliest_end: Option<u64>,
    /// Each update's own analysis, by the offset of its cross-reference section.
    steps: std::cell::RefCell<HashMap<u64, std::rc::Rc<ChangeReport>>>,
    /// [`Document::stray_after`] from the earliest end asked so far.
    stray: std::cell::RefCell<Option<(u64, Vec<u64>)>>,
}

/// Compare the revision signed up to `signed_end` with the document as it is now.
pub fn analyse(doc: &Document<'_>, signed_end: u64) -> Result<ChangeReport> {
    analyse_with(doc, signed_end, &Memo::default())
}

impl Memo {
    /// The first position at or after `end` where the bytes stop being
    /// incremental updates ([`Document::stray_after`]), walking the file once
    /// for all signatures that end at or after the earliest end asked.
    pub fn stray_after(&self, doc: &Document<'_>, end: u64) -> Option<u64> {
        let mut cell = self.stray.borrow_mut();
        let fresh = match cell.as_ref() {
            Some((from, _)) => *from > end,
            None => true,
        };
        if fresh {
            // One walk from the earliest signed end serves every signature.
            let from = self.earliest_end.map_or(end, |e| e.min(end));
            *cell = Some((from, doc.stray_after(from)));
        }
        let (from, found) = cell.as_ref()?;
        let hit = found.iter().copied().find(|p| *p >= end);
        // A walk that stopped at its cap before `end` says nothing after it.
        if hit.is_none() && *from < end && found.len() >= super::document::MAX_STRAY {
            return doc.stray_after(end).into_iter().find(|p| *p >= end);
        }
        hit
    }

    /// For a document whose certification signature (if any) has DocMDP `certification`.
    pub fn new(certification: Option<u8>) -> Self {
        Memo {
            certification,
            ..Memo::default()
        }
    }
}

/// [`analyse`], sharing work with the other signatures of the same document.
///
/// Each incremental update is analysed once, against the revision before
/// it (as pyHanko's difference analysis does), and cached in `memo`; a
/// signature's verdict combines the steps after its revision. A document
/// signed n times costs n step analyses, not n² object comparisons. An
/// object changed by one update and changed back by a later one counts as
/// changed: a viewer of the intermediate revision saw it.
pub fn analyse_with(doc: &Document<'_>, signed_end: u64, memo: &Memo) -> Result<ChangeReport> {
    // Sections after the signed revision, oldest first.
    let mut later: Vec<&super::document::XrefSection> = doc
        .sections
        .iter()
        .filter(|s| s.offset >= signed_end)
        .collect();
    later.reverse();
    let mut rep = ChangeReport {
        later_sections: later.len(),
        ..ChangeReport::default()
    };
    // The current document must build on the signed revision itself: its
    // cross-reference section (named by the signed bytes' last startxref) is
    // the newest one before the signed end. An update whose /Prev skips it
    // would show an older state than the one signed.
    let builds_on_signed = match doc.startxref_before(signed_end)? {
        Some(Ok(sx)) => doc
            .sections
            .iter()
            .find(|s| s.offset < signed_end)
            .is_some_and(|s| {
                s.offset == sx || (!doc.repairs.borrow().is_empty() && s.offset.abs_diff(sx) <= 256)
            }),
        _ => false,
    };
    if !builds_on_signed {
        rep.level = ModLevel::Other;
        rep.changes.push(Change {
            object: 0,
            class: ChangeClass::Disallowed,
            what: "the later updates do not build on the signed revision's cross-reference section"
                .into(),
        });
    }
    let mut from = signed_end;
    for (i, s) in later.iter().enumerate() {
        let cached = memo.steps.borrow().get(&s.offset).cloned();
        let step = match cached {
            Some(r) => r,
            None => {
                let r = if i.saturating_add(1) == later.len() {
                    analyse_step(doc, from, memo)?
                } else {
                    let view = doc
                        .view_before(s.offset.saturating_add(1))
                        .ok_or(Error::pdf(s.offset, "no cross-reference section here"))?;
                    analyse_step(&view, from, memo)?
                };
                let r = std::rc::Rc::new(r);
                memo.steps.borrow_mut().insert(s.offset, r.clone());
                r
            }
        };
        rep.level = rep.level.max(step.level);
        // Every disallowed change is kept; others only up to what a report
        // shows (a signature early in a long chain would copy them all).
        for c in step.changes.iter() {
            if c.class == ChangeClass::Disallowed || rep.changes.len() < MAX_CHANGES_KEPT {
                rep.changes.push(c.clone());
            }
        }
        rep.new_visible_signatures
            .extend(step.new_visible_signatures.iter().cloned());
        rep.filled_fields.extend(step.filled_fields.iter().cloned());
        rep.pages_changed.extend(step.pages_changed.iter().copied());
        rep.annotations.extend(step.annotations.iter().cloned());
        from = s.offset.saturating_add(1);
    }
    rep.filled_fields.sort();
    rep.filled_fields.dedup();
    rep.new_visible_signatures.sort();
    rep.new_visible_signatures.dedup();
    rep.pages_changed.sort_unstable();
    rep.pages_changed.dedup();
    Ok(rep)
}

/// What the one update after `from` (the end of the revision before it)
/// changed: `doc` is the document as that update leaves it.
fn analyse_step(doc: &Document<'_>, signed_end: u64, memo: &Memo) -> Result<ChangeReport> {
    // Reached field objects are cached for one `doc` only.
    memo.field_objects.borrow_mut().clear();
    let old = doc.view_before(signed_end).ok_or(Error::pdf(
        signed_end,
        "no cross-reference section before the signed end",
    ))?;
    let later: Vec<_> = doc
        .sections
        .iter()
        .filter(|s| s.offset >= signed_end)
        .collect();
    let mut changed = BTreeSet::new();
    for s in &later {
        for (num, _) in s.entries.iter() {
            changed.insert(*num);
            if changed.len() > doc.limits.max_xref_entries as usize {
                return Err(Error::limit(
                    "max_xref_entries",
                    changed.len(),
                    doc.limits.max_xref_entries,
                ));
            }
        }
    }
    let mut rep = ChangeReport {
        later_sections: later.len(),
        ..ChangeReport::default()
    };
    if changed.is_empty() {
        return Ok(rep);
    }
    let ctx = Context::new(&old, doc, &changed, memo, signed_end)?;
    rep.new_visible_signatures = ctx
        .fields
        .iter()
        .filter(|f| !f.was_empty && f.visible && f.class == ChangeClass::LaterSignature)
        .map(|f| f.name.clone())
        .collect();
    for num in changed {
        let (class, what) = ctx.classify(num)?;
        rep.level = rep.level.max(class.level());
        rep.changes.push(Change {
            object: num,
            class,
            what,
        });
    }
    let mut filled: Vec<String> = rep
        .changes
        .iter()
        .filter(|c| c.class == ChangeClass::FormField)
        .filter_map(|c| ctx.form_field_name(c.object))
        .collect();
    filled.sort();
    filled.dedup();
    rep.filled_fields = filled;
    rep.annotations = ctx.added_annotations()?;
    let bad: HashSet<u32> = rep
        .disallowed()
        .map(|c| c.object)
        .filter(|n| *n != 0)
        .collect();
    if !bad.is_empty() {
        rep.pages_changed = pages_using(doc, &bad)?;
    }
    // The trailer itself: a new root or encryption changes everything.
    let root = |d: &Document<'_>| d.trailer.get(b"Root").cloned();
    if root(&old) != root(doc) {
        rep.level = ModLevel::Other;
        rep.changes.push(Change {
            object: 0,
            class: ChangeClass::Disallowed,
            what: "the trailer names another document catalog (/Root)".into(),
        });
    }
    if old.trailer.get(b"Encrypt") != doc.trailer.get(b"Encrypt") {
        rep.level = ModLevel::Other;
        rep.changes.push(Change {
            object: 0,
            class: ChangeClass::Disallowed,
            what: "the trailer's /Encrypt entry changed".into(),
        });
    }
    Ok(rep)
}

/// A signature field added or filled after the signed revision.
struct NewField {
    name: String,
    field: u32,
    class: ChangeClass,
    /// Objects of the field: itself, widgets, value, appearances.
    objects: HashSet<u32>,
    widgets: HashSet<u32>,
    /// The field existed, empty, in the signed revision.
    was_empty: bool,
    /// A widget of the field has an area and is not hidden.
    visible: bool,
}

struct Context<'a, 's> {
    old: &'a Document<'s>,
    new: &'a Document<'s>,
    root: Option<u32>,
    acroform: Option<u32>,
    /// The current form's /Fields array, when it is an object of its own.
    fields_array: Option<u32>,
    info: Option<u32>,
    metadata: Option<u32>,
    old_metadata: Option<u32>,
    old_dss: HashSet<u32>,
    new_dss: HashSet<u32>,
    fields: Vec<NewField>,
    /// Indirect /Annots arrays of the changed pages: array object → page object.
    annots_arrays: HashMap<u32, u32>,
    pages: HashSet<u32>,
    /// Objects reachable from the catalog's /Extensions, before and now.
    old_extensions: HashSet<u32>,
    new_extensions: HashSet<u32>,
    memo: &'a Memo,
    signed_end: u64,
    /// Existing form fields (not signatures) one of whose objects changed.
    form_fields: Vec<FormField>,
    /// Every page's indirect /Annots array (array → page), walked only when
    /// an array changed whose page did not.
    page_annots: std::cell::OnceCell<HashMap<u32, u32>>,
    /// Object numbers reachable from the current trailer, walked only when
    /// an update freed an object.
    reachable: std::cell::OnceCell<HashSet<u32>>,
    /// The logical structure (tagged PDF), when the document has one.
    structure: Option<Structure>,
    /// New annotations (not widgets) appended to a page's /Annots:
    /// annotation object → page object.
    new_annots: HashMap<u32, u32>,
    /// The new objects those annotations are drawn with (appearances).
    annot_objects: HashSet<u32>,
}

/// What a later signature may change in the logical structure of a tagged
/// PDF (ISO 32000-1 §14.7): register its widget. A new structure element
/// whose only content is an object reference (OBJR) to the widget joins an
/// existing element's /K, and the parent tree maps the widget's
/// /StructParent key to that element (§14.7.4.4).
struct Structure {
    /// The /StructTreeRoot object.
    root: Option<u32>,
    /// New structure elements (and indirect OBJR dictionaries) that only
    /// reference widgets of new signature fields.
    registrations: HashSet<u32>,
    /// The objects of the current parent tree (its number-tree nodes).
    parent_tree_nodes: HashSet<u32>,
    /// Whether the current parent tree keeps every entry of the signed one
    /// and adds only entries that name a registration element.
    parent_tree_ok: bool,
}

/// Most entries read from a parent tree.
const MAX_TREE_ENTRIES: usize = 100_000;

/// A number tree's entries (key, value) and the objects of its nodes.
type NumberTree = (Vec<(i64, Obj)>, HashSet<u32>);

/// The entries of a number tree (ISO 32000-1 §7.9.7), and its node objects.
fn number_tree(doc: &Document<'_>, root: &Obj) -> Result<NumberTree> {
    let mut entries = Vec::new();
    let mut nodes = HashSet::new();
    let mut todo: Vec<(Obj, usize)> = vec![(root.clone(), 0)];
    while let Some((o, depth)) = todo.pop() {
        if depth > 32 {
            return Err(Error::limit("number_tree_depth", depth, 32));
        }
        if let Obj::Ref(r) = &o {
            if !nodes.insert(r.num) {
                continue;
            }
        }
        let Some(node) = doc.resolve_dict(&o)? else {
            continue;
        };
        if let Some(Obj::Array(nums)) = node.get(b"Nums").map(|n| doc.resolve(n)).transpose()? {
            for pair in nums.chunks(2) {
                if let [Obj::Int(k), v] = pair {
                    entries.push((*k, v.clone()));
                }
            }
        }
        if let Some(Obj::Array(kids)) = node.get(b"Kids").map(|k| doc.resolve(k)).transpose()? {
            todo.extend(kids.into_iter().map(|k| (k, depth.saturating_add(1))));
        }
        if entries.len() > MAX_TREE_ENTRIES || todo.len() > MAX_TREE_ENTRIES {
            return Err(Error::limit(
                "number_tree_entries",
                entries.len(),
                MAX_TREE_ENTRIES,
            ));
        }
    }
    Ok((entries, nodes))
}

/// An element's /K as a list (a single kid is a list of one).
fn kids_of(doc: &Document<'_>, elem: &Dict) -> Result<Vec<Obj>> {
    Ok(match elem.get(b"K").map(|k| doc.resolve(k)).transpose()? {
        None | Some(Obj::Null) => Vec::new(),
        Some(Obj::Array(a)) => a,
        Some(_) => elem.get(b"K").cloned().into_iter().collect(),
    })
}

impl Structure {
    fn new(
        old: &Document<'_>,
        new: &Document<'_>,
        old_cat: &Dict,
        new_cat: &Dict,
        changed: &BTreeSet<u32>,
        widgets: &HashSet<u32>,
    ) -> Result<Option<Self>> {
        let Some(root_obj) = new_cat.get(b"StructTreeRoot") else {
            return Ok(None);
        };
        let root = match root_obj {
            Obj::Ref(r) => Some(r.num),
            _ => None,
        };
        // New elements whose every kid is an OBJR to a new signature widget.
        let mut registrations = HashSet::new();
        let objr_to_widget = |o: &Obj| -> Result<Option<Option<u32>>> {
            let Some(d) = new.resolve_dict(o)? else {
                return Ok(None);
            };
            if d.name(b"Type") != Some(b"OBJR") {
                return Ok(None);
            }
            Ok(match d.get(b"Obj") {
                Some(Obj::Ref(w)) if widgets.contains(&w.num) => Some(match o {
                    Obj::Ref(r) => Some(r.num),
                    _ => None,
                }),
                _ => None,
            })
        };
        for num in changed {
            if !matches!(old.resolve_num(*num)?, Obj::Null) {
                continue;
            }
            let Obj::Dict(d) = new.resolve_num(*num)? else {
                continue;
            };
            if d.name(b"Type") != Some(b"StructElem") && d.get(b"S").is_none() {
                continue;
            }
            let kids = kids_of(new, &d)?;
            let mut objrs = Vec::new();
            let mut only_widgets = !kids.is_empty();
            for k in &kids {
                match objr_to_widget(k)? {
                    Some(indirect) => objrs.extend(indirect),
                    None => {
                        only_widgets = false;
                        break;
                    }
                }
            }
            if only_widgets {
                registrations.insert(*num);
                registrations.extend(objrs);
            }
        }
        // The parent tree, before and now.
        let tree = |doc: &Document<'_>, cat: &Dict| -> Result<NumberTree> {
            let Some(st) = cat
                .get(b"StructTreeRoot")
                .map(|r| doc.resolve_dict(r))
                .transpose()?
                .flatten()
            else {
                return Ok((Vec::new(), HashSet::new()));
            };
            match st.get(b"ParentTree") {
                Some(pt) => number_tree(doc, pt),
                None => Ok((Vec::new(), HashSet::new())),
            }
        };
        let (before, _) = tree(old, old_cat)?;
        let (now, parent_tree_nodes) = tree(new, new_cat)?;
        let now_map: HashMap<i64, &Obj> = now.iter().map(|(k, v)| (*k, v)).collect();
        let mut parent_tree_ok = now_map.len() == now.len();
        for (k, v) in &before {
            match now_map.get(k) {
                Some(w) if same(old, v, new, w)? => {}
                _ => parent_tree_ok = false,
            }
        }
        let old_keys: HashSet<i64> = before.iter().map(|(k, _)| *k).collect();
        for (k, v) in &now {
            if !old_keys.contains(k) && !matches!(v, Obj::Ref(r) if registrations.contains(&r.num))
            {
                parent_tree_ok = false;
            }
        }
        Ok(Some(Structure {
            root,
            registrations,
            parent_tree_nodes,
            parent_tree_ok,
        }))
    }
}

/// A form field of the signed revision touched by a later update.
struct FormField {
    name: String,
    /// The field and its widgets.
    own: HashSet<u32>,
    /// What the field's and widgets' appearances use now.
    appearance: HashSet<u32>,
}

impl<'a, 's> Context<'a, 's> {
    fn new(
        old: &'a Document<'s>,
        new: &'a Document<'s>,
        changed: &BTreeSet<u32>,
        memo: &'a Memo,
        signed_end: u64,
    ) -> Result<Self> {
        let ref_num = |o: Option<&Obj>| match o {
            Some(Obj::Ref(r)) => Some(r.num),
            _ => None,
        };
        let new_cat = new.catalog()?;
        let old_cat = old.catalog().unwrap_or_default();
        let old_dss = reach_key(old, &old_cat, b"DSS")?;
        let new_dss = reach_key(new, &new_cat, b"DSS")?;
        // The fields the updates touched: each changed object that is a
        // terminal field or a widget of one (no walk of the whole form).
        let mut new_all: HashMap<ObjRef, TerminalField> = HashMap::new();
        for num in changed {
            if let Some((r, f)) = field_of(new, *num)? {
                new_all.entry(r).or_insert(f);
            }
        }
        let mut old_all: HashMap<ObjRef, TerminalField> = HashMap::new();
        for r in new_all.keys() {
            if let Some((or, f)) = field_of(old, r.num)? {
                if or.num == r.num {
                    old_all.insert(*r, f);
                }
            }
        }
        let is_sig = |f: &TerminalField| f.1.as_deref() == Some(b"Sig");
        let old_fields: HashMap<ObjRef, Dict> = old_all
            .iter()
            .filter(|(_, f)| is_sig(f))
            .map(|(r, f)| (*r, f.0.clone()))
            .collect();
        let new_fields: HashMap<ObjRef, Dict> = new_all
            .iter()
            .filter(|(_, f)| is_sig(f))
            .map(|(r, f)| (*r, f.0.clone()))
            .collect();
        // Existing non-signature fields that an update touched.
        let mut form_fields = Vec::new();
        for (r, f) in new_all.iter().filter(|(_, f)| !is_sig(f)) {
            if !old_all.contains_key(r) {
                continue;
            }
            let mut own: HashSet<u32> = [r.num].into();
            if let Some(Obj::Array(kids)) = f.0.get(b"Kids").map(|k| new.resolve(k)).transpose()? {
                own.extend(kids.iter().filter_map(|k| match k {
                    Obj::Ref(kr) => Some(kr.num),
                    _ => None,
                }));
            }
            if !own.iter().any(|n| changed.contains(n)) {
                continue;
            }
            let mut appearance = HashSet::new();
            for n in &own {
                if let Some(ap) = new
                    .resolve_num(*n)?
                    .as_dict()
                    .and_then(|d| d.get(b"AP").cloned())
                {
                    appearance.extend(reach(new, &ap, SKIP)?);
                }
            }
            form_fields.push(FormField {
                name: f.2.clone(),
                own,
                appearance,
            });
        }
        let mut fields = Vec::new();
        for (r, f) in &new_fields {
            let before = old_fields.get(r);
            let filled_now = f.get(b"V").is_some();
            let was_empty = match before {
                None => false,
                Some(b) if b.get(b"V").is_none() && filled_now => true,
                Some(_) => continue,
            };
            if !filled_now && was_empty {
                continue;
            }
            let value = match f.get(b"V") {
                Some(v) => new.resolve_dict(v)?,
                None => None,
            };
            let is_ts = value.as_ref().is_some_and(super::sig::is_doc_timestamp);
            let mut objects = HashSet::new();
            let mut widgets = HashSet::new();
            if was_empty {
                // Only what the signature brought: the value and the appearances.
                objects.insert(r.num);
                for key in [&b"V"[..], b"AP"] {
                    if let Some(o) = f.get(key) {
                        objects.extend(reach(new, o, SKIP)?);
                    }
                }
            } else {
                let known = memo.field_objects.borrow().get(&r.num).cloned();
                let reached = match known {
                    Some(set) => set,
                    None => {
                        let set = std::rc::Rc::new(reach(new, &Obj::Ref(*r), SKIP)?);
                        memo.field_objects.borrow_mut().insert(r.num, set.clone());
                        set
                    }
                };
                objects.extend(reached.iter().copied());
            }
            if f.name(b"Subtype") == Some(b"Widget") {
                widgets.insert(r.num);
            }
            if let Some(Obj::Array(kids)) = f.get(b"Kids").map(|k| new.resolve(k)).transpose()? {
                for k in kids {
                    if let Obj::Ref(kr) = k {
                        widgets.insert(kr.num);
                        if was_empty {
                            if let Some(kd) = new.resolve_dict(&Obj::Ref(kr))? {
                                if let Some(ap) = kd.get(b"AP") {
                                    objects.extend(reach(new, ap, SKIP)?);
                                }
                            }
                            objects.insert(kr.num);
                        }
                    }
                }
            }
            let mut visible = false;
            for w in &widgets {
                if let Some(wd) = new.resolve_num(*w)?.as_dict() {
                    visible |= widget_visible(new, wd)?;
                }
            }
            fields.push(NewField {
                name: field_name(f),
                visible,
                field: r.num,
                class: if is_ts {
                    ChangeClass::DocTimestamp
                } else {
                    ChangeClass::LaterSignature
                },
                objects,
                widgets,
                was_empty,
            });
        }
        // Changed pages, and the /Annots arrays they name.
        let mut pages = HashSet::new();
        let mut annots_arrays = HashMap::new();
        for num in changed {
            if let Some(d) = new.resolve_num(*num)?.as_dict() {
                if d.name(b"Type") == Some(b"Page") {
                    pages.insert(*num);
                    if let Some(Obj::Ref(a)) = d.get(b"Annots") {
                        annots_arrays.insert(a.num, *num);
                    }
                }
            }
        }
        let fields_array = match new_cat
            .get(b"AcroForm")
            .map(|a| new.resolve(a))
            .transpose()?
        {
            Some(Obj::Dict(form)) => ref_num(form.get(b"Fields")),
            _ => None,
        };
        let old_extensions = reach_key(old, &old_cat, b"Extensions")?;
        let new_extensions = reach_key(new, &new_cat, b"Extensions")?;
        let new_widgets: HashSet<u32> = fields
            .iter()
            .filter(|f| !f.was_empty || f.class == ChangeClass::LaterSignature)
            .flat_map(|f| f.widgets.iter().copied())
            .collect();
        let structure = Structure::new(old, new, &old_cat, &new_cat, changed, &new_widgets)?;
        // Annotations appended to pages: by the changed pages, or by their
        // changed /Annots arrays.
        let mut owners: Vec<(u32, Obj, Obj)> = Vec::new();
        let annots_of = |d: &Document<'_>, page: u32| -> Result<Vec<Obj>> {
            Ok(
                match d
                    .resolve_num(page)?
                    .as_dict()
                    .and_then(|p| p.get(b"Annots").cloned())
                {
                    Some(a) => match d.resolve(&a)? {
                        Obj::Array(v) => v,
                        _ => Vec::new(),
                    },
                    None => Vec::new(),
                },
            )
        };
        let page_annots = std::cell::OnceCell::new();
        let mut owner_pages: HashSet<u32> = pages.clone();
        if changed
            .iter()
            .any(|n| matches!(new.resolve_num(*n), Ok(Obj::Array(_))))
        {
            let (_, map) = page_tree(new, &new_cat)?;
            owner_pages.extend(
                map.iter()
                    .filter(|(arr, _)| changed.contains(arr))
                    .map(|(_, page)| *page),
            );
            // Kept for annots_owner, which would walk the same tree.
            let _ = page_annots.set(map);
        }
        for page in owner_pages {
            owners.push((
                page,
                Obj::Array(annots_of(old, page)?),
                Obj::Array(annots_of(new, page)?),
            ));
        }
        let mut new_annots = HashMap::new();
        let mut annot_objects = HashSet::new();
        for (page, before, after) in owners {
            let (Obj::Array(a), Obj::Array(b)) = (before, after) else {
                continue;
            };
            let Some(added) = b.strip_prefix(a.as_slice()) else {
                continue;
            };
            for o in added {
                let Obj::Ref(r) = o else { continue };
                if new_widgets.contains(&r.num) || !matches!(old.resolve_num(r.num)?, Obj::Null) {
                    continue;
                }
                let Some(d) = new.resolve_dict(o)? else {
                    continue;
                };
                if d.name(b"Subtype").is_none_or(|t| t == b"Widget") {
                    continue;
                }
                new_annots.insert(r.num, page);
                for n in reach(new, o, &[b"P", b"Parent", b"IRT", b"Popup"])? {
                    if matches!(old.resolve_num(n)?, Obj::Null) {
                        annot_objects.insert(n);
                    }
                }
            }
        }
        Ok(Context {
            old,
            new,
            root: ref_num(new.trailer.get(b"Root")),
            acroform: ref_num(new_cat.get(b"AcroForm")),
            fields_array,
            info: ref_num(new.trailer.get(b"Info")),
            metadata: ref_num(new_cat.get(b"Metadata")),
            old_metadata: ref_num(old_cat.get(b"Metadata")),
            old_dss,
            new_dss,
            fields,
            annots_arrays,
            pages,
            old_extensions,
            new_extensions,
            memo,
            signed_end,
            form_fields,
            page_annots,
            reachable: std::cell::OnceCell::new(),
            structure,
            new_annots,
            annot_objects,
        })
    }

    /// The annotations added after signing, with their page and whether
    /// they lie over what the signed page paints.
    fn added_annotations(&self) -> Result<Vec<AddedAnnotation>> {
        if self.new_annots.is_empty() {
            return Ok(Vec::new());
        }
        let numbers = page_numbers(self.new)?;
        let mut painted: HashMap<u32, Option<Vec<super::content::Rect>>> = HashMap::new();
        let mut out = Vec::new();
        let mut annots: Vec<(&u32, &u32)> = self.new_annots.iter().collect();
        annots.sort();
        for (num, page) in annots {
            let d = self.new.resolve_num(*num)?;
            let d = d.as_dict().cloned().unwrap_or_default();
            let rect = d
                .get(b"Rect")
                .map(|r| self.new.resolve(r))
                .transpose()?
                .and_then(|r| super::content::rect_of(&r));
            if !painted.contains_key(page) {
                let boxes = match self.old.resolve_num(*page)?.as_dict() {
                    Some(p) => super::content::painted_boxes(self.old, p)?,
                    None => None,
                };
                painted.insert(*page, boxes);
            }
            let overlaps_content = match (rect, painted.get(page)) {
                (Some(r), Some(Some(boxes))) => {
                    boxes.iter().any(|b| super::content::overlap(&r, b))
                }
                _ => true,
            };
            out.push(AddedAnnotation {
                object: *num,
                page: numbers.get(page).copied().unwrap_or(0),
                subtype: d
                    .name(b"Subtype")
                    .map(|t| String::from_utf8_lossy(t).into_owned())
                    .unwrap_or_default(),
                rect,
                overlaps_content,
            });
        }
        Ok(out)
    }

    /// A change to the logical structure: allowed when it only registers
    /// the widget of a new signature (see [`Structure`]). `None` when `num`
    /// is no part of the structure.
    fn structure_change(
        &self,
        num: u32,
        old: &Obj,
        new: &Obj,
    ) -> Result<Option<(ChangeClass, String)>> {
        let Some(st) = &self.structure else {
            return Ok(None);
        };
        if st.registrations.contains(&num) {
            return Ok(Some((
                ChangeClass::LaterSignature,
                "structure element of a new signature's widget".into(),
            )));
        }
        if st.parent_tree_nodes.contains(&num) && Some(num) != st.root {
            return Ok(Some(if st.parent_tree_ok {
                (
                    ChangeClass::LaterSignature,
                    "structure parent tree: entries for new signature widgets".into(),
                )
            } else {
                (
                    ChangeClass::Disallowed,
                    "structure parent tree: entries changed or removed".into(),
                )
            }));
        }
        let is_elem = |o: &Obj| {
            o.as_dict().is_some_and(|d| {
                matches!(
                    d.name(b"Type"),
                    Some(b"StructElem") | Some(b"StructTreeRoot")
                )
            })
        };
        if Some(num) != st.root && !is_elem(old) {
            return Ok(None);
        }
        let (Some(a), Some(b)) = (old.as_dict(), new.as_dict()) else {
            return Ok(None);
        };
        let mut bad = Vec::new();
        for k in differing_keys(self.old, a, self.new, b)? {
            match k.as_slice() {
                b"K" => {
                    let before = kids_of(self.old, a)?;
                    let after: Vec<Obj> = kids_of(self.new, b)?
                        .into_iter()
                        .filter(|o| !matches!(o, Obj::Ref(r) if st.registrations.contains(&r.num)))
                        .collect();
                    let mut kept = before.len() == after.len();
                    for (x, y) in before.iter().zip(&after) {
                        kept = kept && same(self.old, x, self.new, y)?;
                    }
                    if !kept {
                        bad.push("/K".to_string());
                    }
                }
                b"ParentTreeNextKey" if Some(num) == st.root => {}
                b"ParentTree" if Some(num) == st.root && st.parent_tree_ok => {}
                other => bad.push(format!("/{}", String::from_utf8_lossy(other))),
            }
        }
        Ok(Some(if bad.is_empty() {
            (
                ChangeClass::LaterSignature,
                format!("{}: a new signature's widget registered", describe(new)),
            )
        } else {
            (
                ChangeClass::Disallowed,
                format!("{}: {} changed", describe(new), bad.join(" ")),
            )
        }))
    }

    /// Object numbers the current document reaches from its trailer.
    fn reachable_now(&self) -> Result<&HashSet<u32>> {
        if self.reachable.get().is_none() {
            let set = reach(self.new, &Obj::Dict(self.new.trailer.clone()), &[])?;
            let _ = self.reachable.set(set);
        }
        self.reachable
            .get()
            .ok_or(Error::pdf(0, "reachable objects not computed"))
    }

    /// The page whose /Annots array object `num` is, if it is one.
    fn annots_owner(&self, num: u32, new: &Obj) -> Result<Option<u32>> {
        if let Some(p) = self.annots_arrays.get(&num) {
            return Ok(Some(*p));
        }
        if !matches!(new, Obj::Array(_)) {
            return Ok(None);
        }
        if self.page_annots.get().is_none() {
            let (_, map) = page_tree(self.new, &self.new.catalog()?)?;
            let _ = self.page_annots.set(map);
        }
        Ok(self.page_annots.get().and_then(|m| m.get(&num).copied()))
    }

    /// The signed revision's form dictionary (empty when it had none).
    fn old_form(&self) -> Result<Obj> {
        let cat = self.old.catalog().unwrap_or_default();
        Ok(match cat.get(b"AcroForm") {
            Some(o) => match self.old.resolve(o)? {
                Obj::Dict(d) => Obj::Dict(d),
                other => other,
            },
            None => Obj::Dict(Dict::default()),
        })
    }

    fn widget_class(&self, num: u32) -> Option<ChangeClass> {
        self.fields
            .iter()
            .find(|f| f.widgets.contains(&num))
            .map(|f| f.class)
    }

    fn classify(&self, num: u32) -> Result<(ChangeClass, String)> {
        use ChangeClass::*;
        let new = self.new.resolve_num(num)?;
        let old = self.old.resolve_num(num)?;
        let is_new = matches!(old, Obj::Null);
        if let Obj::Stream(s) = &new {
            if matches!(s.dict.name(b"Type"), Some(b"XRef") | Some(b"ObjStm")) {
                let old_kind = old.as_dict().and_then(|d| d.name(b"Type"));
                if is_new || old_kind == s.dict.name(b"Type") {
                    return Ok((Bookkeeping, "cross-reference or object stream".into()));
                }
            }
        }
        // References name a generation: a new one makes every existing
        // reference to the object resolve to null (ISO 32000-1 §7.3.10).
        let generation = |d: &Document<'_>| match d.xref_entry(num) {
            Some(XrefEntry::InFile { generation, .. }) => Some(generation),
            Some(XrefEntry::InStream { .. }) => Some(0),
            _ => None,
        };
        let (g_old, g_new) = (generation(self.old), generation(self.new));
        // An object freed by an update: harmless when nothing reachable in
        // the document refers to it any more (an orphan a writer cleaned
        // up); while something still refers to it, what that shows is now
        // null (ISO 32000-1 §7.3.10), so the change is not allowed.
        if g_old.is_some() && g_new.is_none() {
            return Ok(if self.reachable_now()?.contains(&num) {
                (
                    Disallowed,
                    "object freed while the document still refers to it".into(),
                )
            } else {
                (
                    Bookkeeping,
                    "object freed; nothing in the document refers to it".into(),
                )
            });
        }
        if g_old.is_some() && g_old != g_new {
            return Ok((
                Disallowed,
                format!(
                    "generation number changed ({} → {}): references to the signed object no longer reach it",
                    g_old.map_or("-".to_string(), |g| g.to_string()),
                    g_new.map_or("free".to_string(), |g| g.to_string())
                ),
            ));
        }
        if same(self.old, &old, self.new, &new)? {
            return Ok((Bookkeeping, "rewritten without change".into()));
        }
        // Readers disagree on which of two equal keys counts: a changed object
        // with duplicated keys could show one thing and be judged as another.
        if has_duplicate_keys(&new, 0) {
            return Ok((
                Disallowed,
                format!("{} with duplicated dictionary keys", describe(&new)),
            ));
        }
        // An object the signed revision referred to but did not have: adding
        // it fills a dangling reference, and what referred to it (a page's
        // resources, say) now shows something new, whatever it is labelled as.
        if is_new && self.referenced_before(num)? {
            return Ok((
                Disallowed,
                format!(
                    "a {} added where the signed revision had a dangling reference",
                    describe(&new)
                ),
            ));
        }
        if Some(num) == self.root {
            return self.catalog_change(&old, &new);
        }
        if Some(num) == self.acroform {
            // A form dictionary that became an object of its own (or moved to
            // another) is judged by its content against the signed form,
            // wherever that was (ISO 32000-1 §12.7.2 allows either).
            let before = if is_new {
                self.old_form()?
            } else {
                old.clone()
            };
            return self.acroform_change(&before, &new, "interactive form dictionary");
        }
        if Some(num) == self.fields_array {
            let before = match self.old_form()?.as_dict().and_then(|d| d.get(b"Fields")) {
                Some(o) => self.old.resolve(o)?,
                None => Obj::Array(Vec::new()),
            };
            return Ok(match (&before, &new) {
                (Obj::Array(a), Obj::Array(b)) => match self.appended_fields(a, b) {
                    Some(c) => (c, "form fields: new signature fields appended".into()),
                    None => (
                        Disallowed,
                        "form fields other than new signatures changed".into(),
                    ),
                },
                _ => (Disallowed, "form /Fields array replaced".into()),
            });
        }
        if Some(num) == self.info {
            return self.info_change(&old, &new);
        }
        if Some(num) == self.metadata {
            let xmp = new.as_dict().is_some_and(|d| {
                matches!(new, Obj::Stream(_)) && d.name(b"Type") == Some(b"Metadata")
            });
            return Ok(if xmp && (is_new || self.old_metadata == Some(num)) {
                (Metadata, "XMP metadata stream".into())
            } else {
                (
                    Disallowed,
                    "metadata replaced by an object that is not an XMP stream".into(),
                )
            });
        }
        if self.new_dss.contains(&num) {
            return Ok(if is_new || self.old_dss.contains(&num) {
                (Dss, "document security store (validation data)".into())
            } else {
                (
                    Disallowed,
                    "an object of the signed revision reused for validation data".into(),
                )
            });
        }
        for f in &self.fields {
            if f.objects.contains(&num) {
                if is_new {
                    return Ok((f.class, format!("signature field '{}'", f.name)));
                }
                if f.was_empty && (f.widgets.contains(&num) || f.field == num) {
                    return self.filled_field_change(f, &old, &new);
                }
                // An appearance of the formerly empty field, rewritten: fine
                // if nothing outside this field's own objects used it.
                let own: HashSet<u32> = f.widgets.iter().copied().chain([f.field]).collect();
                if f.was_empty && !self.used_outside(num, &own, &[])? {
                    return Ok((
                        f.class,
                        format!("signature field '{}': its own appearance rewritten", f.name),
                    ));
                }
                return Ok((
                    Disallowed,
                    format!(
                        "signature field '{}' reuses an object of the signed revision",
                        f.name
                    ),
                ));
            }
        }
        for ff in &self.form_fields {
            if ff.own.contains(&num) {
                return self.form_field_change(ff, &old, &new);
            }
            if ff.appearance.contains(&num) && (is_new || !self.used_outside(num, &ff.own, &[])?) {
                return Ok((
                    FormField,
                    format!("form field '{}': its appearance", ff.name),
                ));
            }
        }
        if let Some(c) = self.structure_change(num, &old, &new)? {
            return Ok(c);
        }
        if self.pages.contains(&num) {
            return self.page_change(&old, &new);
        }
        if let Some(page) = self.annots_owner(num, &new)? {
            // A new array replaces the page's old one: compare with that.
            let before = match &old {
                Obj::Null => match self
                    .old
                    .resolve_num(page)?
                    .as_dict()
                    .and_then(|d| d.get(b"Annots").cloned())
                {
                    Some(o) => self.old.resolve(&o)?,
                    None => Obj::Array(Vec::new()),
                },
                o => o.clone(),
            };
            return Ok(match (&before, &new) {
                (Obj::Array(a), Obj::Array(b)) => match self.appended_widgets(a, b) {
                    Some(ChangeClass::Annotation) => (
                        ChangeClass::Annotation,
                        "page annotations: annotations added".into(),
                    ),
                    Some(c) => (
                        c,
                        "page annotations: widget of a new signature added".into(),
                    ),
                    None => (Disallowed, "page annotations changed".into()),
                },
                _ => (Disallowed, "page annotations changed".into()),
            });
        }
        if self.new_extensions.contains(&num) {
            // Developer-extension declarations (ISO 32000-1 §7.12) change no rendering,
            // as long as the object served nothing else before.
            let only_ext = is_new
                || (self.old_extensions.contains(&num)
                    && !self.used_outside(num, &HashSet::new(), &[b"Extensions"])?);
            return Ok(if only_ext {
                (Bookkeeping, "developer extensions dictionary".into())
            } else {
                (
                    Disallowed,
                    "an object used elsewhere was rewritten as a developer extension".into(),
                )
            });
        }
        if let Some(page) = self.new_annots.get(&num) {
            return Ok((
                Annotation,
                format!("{} added to page object {page}", describe(&new)),
            ));
        }
        if self.annot_objects.contains(&num) {
            return Ok((
                Annotation,
                format!("{} of a new annotation", describe(&new)),
            ));
        }
        // A new object nothing in the signed revision referred to (checked
        // above), and that no allowed change uses: it changes nothing a viewer
        // shows (e.g. DSS arrays left behind when a later DSS was rewritten).
        if is_new {
            return Ok((Bookkeeping, format!("unused new {}", describe(&new))));
        }
        Ok((Disallowed, format!("{} changed", describe(&new))))
    }

    /// A formerly empty signature field (or its widget) may gain /V and a new appearance.
    fn filled_field_change(
        &self,
        f: &NewField,
        old: &Obj,
        new: &Obj,
    ) -> Result<(ChangeClass, String)> {
        let (Some(a), Some(b)) = (old.as_dict(), new.as_dict()) else {
            return Ok((
                ChangeClass::Disallowed,
                format!("signature field '{}' changed type", f.name),
            ));
        };
        // The value, and what only affects this widget's own look.
        let bad = self.other_keys(a, b, &[b"V", b"AP", b"F", b"MK", b"DA", b"AS"])?;
        // An old appearance dictionary that something else also uses: the
        // field should never have shared it, and a signer's tool that
        // replaces it may be hiding what the shared use shows. Refused, as
        // pyHanko does (its "sneaky" appearance cases).
        if let Some(Obj::Ref(ap)) = a.get(b"AP") {
            if b.get(b"AP") != a.get(b"AP") {
                let own: HashSet<u32> = f.widgets.iter().copied().chain([f.field]).collect();
                if self.used_outside(ap.num, &own, &[])? {
                    return Ok((
                        ChangeClass::Disallowed,
                        format!(
                            "signature field '{}': its old appearance dictionary (object {}) is shared with other objects",
                            f.name, ap.num
                        ),
                    ));
                }
            }
        }
        if bad.is_empty() && a.get(b"V").is_none() {
            Ok((f.class, format!("signature field '{}' signed", f.name)))
        } else {
            Ok((
                ChangeClass::Disallowed,
                format!("signature field '{}': {} changed", f.name, bad.join(" ")),
            ))
        }
    }

    /// Whether an object of the signed revision (or its trailer) refers to
    /// `num`, which it did not define: a dangling reference. Conservative:
    /// any version of any object listed up to the signed revision counts.
    fn referenced_before(&self, num: u32) -> Result<bool> {
        if self.memo.dangling.get().is_none() {
            let d = dangling_by_section(self.new)?;
            let _ = self.memo.dangling.set(d);
        }
        Ok(self.memo.dangling.get().is_some_and(|all| {
            all.iter()
                .any(|(off, set)| *off < self.signed_end && set.contains(&num))
        }))
    }

    /// Whether `num` is reachable in the signed revision from the trailer
    /// without passing through the objects in `through` and without
    /// following the catalog keys in `catalog_skip`: i.e. whether something
    /// else than those also uses it (and would change with it).
    fn used_outside(
        &self,
        num: u32,
        through: &HashSet<u32>,
        catalog_skip: &[&[u8]],
    ) -> Result<bool> {
        let root = match self.old.trailer.get(b"Root") {
            Some(Obj::Ref(r)) => Some(r.num),
            _ => None,
        };
        let mut seen: HashSet<u32> = HashSet::new();
        let mut todo: Vec<Obj> = self.old.trailer.0.iter().map(|(_, v)| v.clone()).collect();
        while let Some(o) = todo.pop() {
            match o {
                Obj::Ref(r) => {
                    if r.num == num {
                        return Ok(true);
                    }
                    if through.contains(&r.num) || !seen.insert(r.num) {
                        continue;
                    }
                    if seen.len() > MAX_REACH {
                        return Err(Error::limit("reachable_objects", seen.len(), MAX_REACH));
                    }
                    let obj = self.old.resolve_num(r.num)?;
                    let skip = if Some(r.num) == root {
                        catalog_skip
                    } else {
                        &[]
                    };
                    match obj {
                        Obj::Dict(d) => push_dict(&mut todo, d, skip),
                        Obj::Stream(s) => push_dict(&mut todo, s.dict, skip),
                        other => todo.push(other),
                    }
                }
                Obj::Array(v) => todo.extend(v),
                Obj::Dict(d) => push_dict(&mut todo, d, &[]),
                Obj::Stream(s) => push_dict(&mut todo, s.dict, &[]),
                _ => {}
            }
            if todo.len() > MAX_REACH {
                return Err(Error::limit("reachable_objects", todo.len(), MAX_REACH));
            }
        }
        Ok(false)
    }

    /// A resource dictionary whose new version keeps every old entry (one
    /// level of direct dictionaries deep) and only adds.
    fn resources_only_added(&self, old: Option<&Obj>, new: Option<&Obj>) -> Result<bool> {
        let a = match old {
            Some(o) => self.old.resolve(o)?,
            None => Obj::Dict(Dict::default()),
        };
        let b = match new {
            Some(o) => self.new.resolve(o)?,
            None => return Ok(false),
        };
        let (Some(a), Some(b)) = (a.as_dict(), b.as_dict()) else {
            return Ok(false);
        };
        for (k, v) in &a.0 {
            let Some(w) = b.get(k) else { return Ok(false) };
            if same(self.old, v, self.new, w)? {
                continue;
            }
            let (vd, wd) = (self.old.resolve(v)?, self.new.resolve(w)?);
            match (vd.as_dict(), wd.as_dict()) {
                (Some(x), Some(y)) => {
                    for (k2, v2) in &x.0 {
                        match y.get(k2) {
                            Some(w2) if same(self.old, v2, self.new, w2)? => {}
                            _ => return Ok(false),
                        }
                    }
                }
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    fn form_field_name(&self, num: u32) -> Option<String> {
        self.form_fields
            .iter()
            .find(|f| f.own.contains(&num) || f.appearance.contains(&num))
            .map(|f| f.name.clone())
    }

    /// The keys, other than `allowed`, whose values differ between `a` (old) and `b` (new), as `/Name`s.
    fn other_keys(&self, a: &Dict, b: &Dict, allowed: &[&[u8]]) -> Result<Vec<String>> {
        Ok(differing_keys(self.old, a, self.new, b)?
            .iter()
            .filter(|k| !allowed.contains(&k.as_slice()))
            .map(|k| format!("/{}", String::from_utf8_lossy(k)))
            .collect())
    }

    /// Filling a form field: its value (/V, and /I for a choice field), a
    /// widget's state (/AS) and appearance (/AP) may change, nothing else.
    fn form_field_change(
        &self,
        ff: &FormField,
        old: &Obj,
        new: &Obj,
    ) -> Result<(ChangeClass, String)> {
        let (Some(a), Some(b)) = (old.as_dict(), new.as_dict()) else {
            return Ok((
                ChangeClass::Disallowed,
                format!("form field '{}' replaced", ff.name),
            ));
        };
        // /I: the selected options of a choice field, part of its value (ISO 32000-1 Table 231).
        let bad = self.other_keys(a, b, &[b"V", b"AS", b"AP", b"I"])?;
        Ok(if bad.is_empty() {
            (
                ChangeClass::FormField,
                format!("form field '{}' filled", ff.name),
            )
        } else {
            (
                ChangeClass::Disallowed,
                format!("form field '{}': {} changed", ff.name, bad.join(" ")),
            )
        })
    }

    fn catalog_change(&self, old: &Obj, new: &Obj) -> Result<(ChangeClass, String)> {
        let (Some(a), Some(b)) = (old.as_dict(), new.as_dict()) else {
            return Ok((ChangeClass::Disallowed, "document catalog replaced".into()));
        };
        let mut class = ChangeClass::Bookkeeping;
        let mut bad = Vec::new();
        for k in differing_keys(self.old, a, self.new, b)? {
            match k.as_slice() {
                b"DSS" => class = worst(class, ChangeClass::Dss),
                // Developer extensions (ISO 32000-1 §7.12.1) and the version
                // (§7.2.2) declare features; the metadata stream is checked on its own.
                b"Extensions" | b"Version" => {}
                b"Metadata" => class = worst(class, ChangeClass::Metadata),
                b"AcroForm" => {
                    let (oa, ob) = (a.get(b"AcroForm"), b.get(b"AcroForm"));
                    let oa = match oa {
                        Some(o) => self.old.resolve(o)?,
                        None => Obj::Dict(Dict::default()),
                    };
                    let ob = match ob {
                        Some(o) => self.new.resolve(o)?,
                        None => Obj::Null,
                    };
                    let (c, w) = self.acroform_change(&oa, &ob, "interactive form")?;
                    if c == ChangeClass::Disallowed {
                        bad.push(w);
                    } else {
                        class = worst(class, c);
                    }
                }
                other => bad.push(format!("/{} changed", String::from_utf8_lossy(other))),
            }
        }
        if !bad.is_empty() {
            return Ok((
                ChangeClass::Disallowed,
                format!("document catalog: {}", bad.join(", ")),
            ));
        }
        Ok((
            class,
            "document catalog: validation data, metadata or form entries".into(),
        ))
    }

    /// The document information dictionary may get a new modification date and producer.
    fn info_change(&self, old: &Obj, new: &Obj) -> Result<(ChangeClass, String)> {
        let empty = Dict::default();
        let a = match old {
            Obj::Null => &empty,
            o => match o.as_dict() {
                Some(d) => d,
                None => {
                    return Ok((
                        ChangeClass::Disallowed,
                        "document information replaced".into(),
                    ));
                }
            },
        };
        let Some(b) = new.as_dict() else {
            return Ok((
                ChangeClass::Disallowed,
                "document information replaced".into(),
            ));
        };
        let bad = self.other_keys(a, b, &[b"ModDate", b"Producer"])?;
        Ok(if bad.is_empty() {
            (
                ChangeClass::Metadata,
                "document information: modification date, producer".into(),
            )
        } else {
            (
                ChangeClass::Disallowed,
                format!("document information: {} changed", bad.join(" ")),
            )
        })
    }

    /// The form may gain fields of new signatures, and /SigFlags.
    fn acroform_change(&self, old: &Obj, new: &Obj, what: &str) -> Result<(ChangeClass, String)> {
        let (Some(a), Some(b)) = (old.as_dict(), new.as_dict()) else {
            return Ok((ChangeClass::Disallowed, format!("{what} replaced")));
        };
        let mut class = ChangeClass::Bookkeeping;
        // Viewers rebuild field appearances from /DA and /DR only when
        // /NeedAppearances is true (ISO 32000-1 §12.7.2): otherwise the
        // existing appearance streams are what is shown.
        let regenerates = matches!(b.get(b"NeedAppearances"), Some(Obj::Bool(true)));
        for k in differing_keys(self.old, a, self.new, b)? {
            match k.as_slice() {
                b"SigFlags" => {}
                // Signing tools set the form's default appearance for the
                // widget they add, and turn appearance regeneration off.
                b"DA" if !regenerates => {}
                b"NeedAppearances" if !regenerates => {}
                // Default resources may gain entries (fonts for a signature's
                // appearance); none may change or go.
                b"DR" if self.resources_only_added(a.get(b"DR"), b.get(b"DR"))? => {}
                b"Fields" => {
                    let fa = match a.get(b"Fields") {
                        Some(o) => self.old.resolve(o)?,
                        None => Obj::Array(Vec::new()),
                    };
                    let fb = match b.get(b"Fields") {
                        Some(o) => self.new.resolve(o)?,
                        None => Obj::Null,
                    };
                    match (fa, fb) {
                        (Obj::Array(x), Obj::Array(y)) => match self.appended_fields(&x, &y) {
                            Some(c) => class = worst(class, c),
                            None => {
                                return Ok((
                                    ChangeClass::Disallowed,
                                    format!("{what}: fields other than new signatures changed"),
                                ));
                            }
                        },
                        _ => {
                            return Ok((
                                ChangeClass::Disallowed,
                                format!("{what}: /Fields replaced"),
                            ));
                        }
                    }
                }
                other => {
                    let why = if regenerates && matches!(other, b"DA" | b"NeedAppearances") {
                        " with /NeedAppearances true (viewers redraw every field from it)"
                    } else {
                        ""
                    };
                    return Ok((
                        ChangeClass::Disallowed,
                        format!("{what}: /{} changed{why}", String::from_utf8_lossy(other)),
                    ));
                }
            }
        }
        Ok((class, format!("{what}: new signature fields")))
    }

    /// `new` is `old` followed by references to new signature fields.
    fn appended_fields(&self, old: &[Obj], new: &[Obj]) -> Option<ChangeClass> {
        let added = new.strip_prefix(old)?;
        let mut class = ChangeClass::Bookkeeping;
        for o in added {
            let Obj::Ref(r) = o else { return None };
            let f = self
                .fields
                .iter()
                .find(|f| !f.was_empty && f.objects.contains(&r.num))?;
            class = worst(class, f.class);
        }
        Some(class)
    }

    /// `new` is `old` followed by references to widgets of new signatures.
    fn appended_widgets(&self, old: &[Obj], new: &[Obj]) -> Option<ChangeClass> {
        let added = new.strip_prefix(old)?;
        let mut class = ChangeClass::Bookkeeping;
        for o in added {
            let Obj::Ref(r) = o else { return None };
            let c = match self.widget_class(r.num) {
                Some(c) => c,
                None if self.new_annots.contains_key(&r.num) => ChangeClass::Annotation,
                None => return None,
            };
            class = worst(class, c);
        }
        Some(class)
    }

    /// A page may gain widget annotations of new signatures, nothing else.
    fn page_change(&self, old: &Obj, new: &Obj) -> Result<(ChangeClass, String)> {
        let (Some(a), Some(b)) = (old.as_dict(), new.as_dict()) else {
            return Ok((ChangeClass::Disallowed, "page replaced".into()));
        };
        let list = self.other_keys(a, b, &[])?;
        if list.iter().any(|k| k != "/Annots") {
            return Ok((
                ChangeClass::Disallowed,
                format!("page: {} changed", list.join(" ")),
            ));
        }
        let annots = |d: &Document<'_>, dict: &Dict| -> Result<Vec<Obj>> {
            Ok(match dict.get(b"Annots") {
                Some(o) => match d.resolve(o)? {
                    Obj::Array(v) => v,
                    _ => Vec::new(),
                },
                None => Vec::new(),
            })
        };
        let (x, y) = (annots(self.old, a)?, annots(self.new, b)?);
        Ok(match self.appended_widgets(&x, &y) {
            Some(ChangeClass::Annotation) => {
                (ChangeClass::Annotation, "page: annotations added".into())
            }
            Some(c) => (c, "page: widget of a new signature added".into()),
            None => (ChangeClass::Disallowed, "page: annotations changed".into()),
        })
    }
}

/// Whether a dictionary in `o` (not following references) repeats a key.
fn has_duplicate_keys(o: &Obj, depth: usize) -> bool {
    if depth > 64 {
        return true; // too deep to tell: fail closed
    }
    match o {
        Obj::Dict(d) => {
            d.has_duplicate_keys()
                || d.0
                    .iter()
                    .any(|(_, v)| has_duplicate_keys(v, depth.saturating_add(1)))
        }
        Obj::Stream(st) => {
            st.dict.has_duplicate_keys()
                || st
                    .dict
                    .0
                    .iter()
                    .any(|(_, v)| has_duplicate_keys(v, depth.saturating_add(1)))
        }
        Obj::Array(a) => a
            .iter()
            .any(|v| has_duplicate_keys(v, depth.saturating_add(1))),
        _ => false,
    }
}

fn worst(a: ChangeClass, b: ChangeClass) -> ChangeClass {
    if b.level() > a.level() { b } else { a }
}

fn describe(o: &Obj) -> String {
    match o
        .as_dict()
        .and_then(|d| d.name(b"Type").or(d.name(b"Subtype")))
    {
        Some(t) => format!("{} /{}", o.type_name(), String::from_utf8_lossy(t)),
        None => o.type_name().to_string(),
    }
}

fn field_name_opt(f: &Dict) -> Option<String> {
    match f.get(b"T") {
        Some(Obj::Str(s)) => Some(super::sig::text_string(&s.bytes)),
        _ => None,
    }
}

fn field_name(f: &Dict) -> String {
    field_name_opt(f).unwrap_or_else(|| "(unnamed)".into())
}

/// Keys whose values differ between two dictionaries.
fn differing_keys(
    da: &Document<'_>,
    a: &Dict,
    db: &Document<'_>,
    b: &Dict,
) -> Result<Vec<Vec<u8>>> {
    let mut keys: Vec<&Vec<u8>> = a.0.iter().chain(b.0.iter()).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        let eq = match (x, y) {
            (Some(x), Some(y)) => same(da, x, db, y)?,
            (None, None) => true,
            _ => false,
        };
        if !eq {
            out.push(k.clone());
        }
    }
    Ok(out)
}

/// Structural equality, ignoring where things lie in the file; streams
/// compare their dictionaries and their raw bytes. References compare as
/// references (their targets are compared on their own).
fn same(da: &Document<'_>, a: &Obj, db: &Document<'_>, b: &Obj) -> Result<bool> {
    same_at(da, a, db, b, 0)
}

fn same_at(da: &Document<'_>, a: &Obj, db: &Document<'_>, b: &Obj, depth: usize) -> Result<bool> {
    if depth > 64 {
        return Err(Error::limit("object_compare_depth", depth, 64));
    }
    Ok(match (a, b) {
        (Obj::Str(x), Obj::Str(y)) => x.bytes == y.bytes,
        (Obj::Array(x), Obj::Array(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (p, q) in x.iter().zip(y) {
                if !same_at(da, p, db, q, depth.saturating_add(1))? {
                    return Ok(false);
                }
            }
            true
        }
        (Obj::Dict(x), Obj::Dict(y)) => same_dict(da, x, db, y, depth)?,
        // A number is a number (ISO 32000-1 §7.3.3): `0` and `0.0` are the same value.
        (Obj::Int(i), Obj::Real(r)) | (Obj::Real(r), Obj::Int(i)) => *r == *i as f64,
        (Obj::Stream(x), Obj::Stream(y)) => {
            let strip = |d: &Dict| {
                Dict(
                    d.0.iter()
                        .filter(|(k, _)| k != b"Length")
                        .cloned()
                        .collect(),
                )
            };
            if !same_dict(da, &strip(&x.dict), db, &strip(&y.dict), depth)? {
                return Ok(false);
            }
            match (raw_len(da, x)?, raw_len(db, y)?) {
                (Some(l), Some(m)) if l == m && l <= MAX_COMPARE_BYTES => {
                    compare_ranges(da, x.data_start, db, y.data_start, l)?
                }
                _ => false,
            }
        }
        _ => a == b,
    })
}

fn same_dict(
    da: &Document<'_>,
    x: &Dict,
    db: &Document<'_>,
    y: &Dict,
    depth: usize,
) -> Result<bool> {
    // Entry by entry, in order: duplicated keys must match too.
    if x.0.len() != y.0.len() {
        return Ok(false);
    }
    for ((k, v), (l, w)) in x.0.iter().zip(&y.0) {
        if k != l || !same_at(da, v, db, w, depth.saturating_add(1))? {
            // Same entries in another order are still the same dictionary.
            return same_dict_unordered(da, x, db, y, depth);
        }
    }
    Ok(true)
}

fn same_dict_unordered(
    da: &Document<'_>,
    x: &Dict,
    db: &Document<'_>,
    y: &Dict,
    depth: usize,
) -> Result<bool> {
    if x.has_duplicate_keys() || y.has_duplicate_keys() {
        return Ok(false);
    }
    for (k, v) in &x.0 {
        match y.get(k) {
            Some(w) if same_at(da, v, db, w, depth.saturating_add(1))? => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

fn raw_len(d: &Document<'_>, s: &super::object::Stream) -> Result<Option<u64>> {
    Ok(match s.dict.get(b"Length") {
        Some(Obj::Int(n)) if *n >= 0 => Some(*n as u64),
        Some(o @ Obj::Ref(_)) => match d.resolve(o)? {
            Obj::Int(n) if n >= 0 => Some(n as u64),
            _ => None,
        },
        _ => s.data_len,
    })
}

fn compare_ranges(da: &Document<'_>, a: u64, db: &Document<'_>, b: u64, len: u64) -> Result<bool> {
    if a == b {
        return Ok(true);
    }
    const CHUNK: u64 = 1 << 16;
    let mut done: u64 = 0;
    while done < len {
        let n = len.saturating_sub(done).min(CHUNK) as usize;
        let (pa, pb) = (a.saturating_add(done), b.saturating_add(done));
        if read_range(da.source(), pa, n)? != read_range(db.source(), pb, n)? {
            return Ok(false);
        }
        done = done.saturating_add(n as u64);
    }
    Ok(true)
}

/// Object numbers reachable from `start` through references, not following
/// the dictionary keys in `skip`.
fn reach(doc: &Document<'_>, start: &Obj, skip: &[&[u8]]) -> Result<HashSet<u32>> {
    let mut seen: HashSet<u32> = HashSet::new();
    let mut todo: Vec<Obj> = vec![start.clone()];
    while let Some(o) = todo.pop() {
        match o {
            Obj::Ref(ObjRef { num, .. }) if seen.insert(num) => {
                if seen.len() > MAX_REACH {
                    return Err(Error::limit("reachable_objects", seen.len(), MAX_REACH));
                }
                todo.push(doc.resolve_num(num)?);
            }
            Obj::Array(v) => todo.extend(v),
            Obj::Dict(d) => push_dict(&mut todo, d, skip),
            Obj::Stream(s) => push_dict(&mut todo, s.dict, skip),
            _ => {}
        }
        if todo.len() > MAX_REACH {
            return Err(Error::limit("reachable_objects", todo.len(), MAX_REACH));
        }
    }
    Ok(seen)
}

/// For each cross-reference section, oldest first: the object numbers that
/// its objects (every version it lists) and its trailer refer to, but that no
/// section up to and including it defines. Each listed object is read once.
fn dangling_by_section(doc: &Document<'_>) -> Result<Vec<(u64, HashSet<u32>)>> {
    let mut defined: HashSet<u32> = HashSet::new();
    let mut out = Vec::new();
    for s in doc.sections.iter().rev() {
        for (num, e) in s.entries.iter() {
            if !matches!(e, XrefEntry::Free) {
                defined.insert(*num);
            }
        }
        let mut refs: Vec<u32> = Vec::new();
        refs_in(&Obj::Dict((*s.trailer).clone()), &mut refs, 0);
        for (_, obj) in doc.listed_objects(s) {
            refs_in(&obj, &mut refs, 0);
            if refs.len() > MAX_REACH {
                return Err(Error::limit("dangling_scan_refs", refs.len(), MAX_REACH));
            }
        }
        let dangling: HashSet<u32> = refs.into_iter().filter(|r| !defined.contains(r)).collect();
        out.push((s.offset, dangling));
    }
    Ok(out)
}

/// The first object number above every number a cross-reference section
/// lists and every number an object or trailer refers to: where a writer
/// can number new objects without filling a dangling reference of a
/// signed revision (which a validator must treat as a change to it).
pub fn first_unused_number(doc: &Document<'_>) -> Result<u32> {
    let mut hi: u32 = 0;
    let mut refs: Vec<u32> = Vec::new();
    for s in &doc.sections {
        for (num, _) in s.entries.iter() {
            hi = hi.max(*num);
        }
        refs_in(&Obj::Dict((*s.trailer).clone()), &mut refs, 0);
        for (_, obj) in doc.listed_objects(s) {
            refs_in(&obj, &mut refs, 0);
            hi = refs.iter().copied().fold(hi, u32::max);
            refs.clear();
        }
        hi = refs.iter().copied().fold(hi, u32::max);
        refs.clear();
    }
    hi.checked_add(1)
        .ok_or(Error::pdf(0, "object numbers exhausted"))
}

/// The object numbers `o` refers to (not following references).
fn refs_in(o: &Obj, out: &mut Vec<u32>, depth: usize) {
    if depth > 64 {
        return;
    }
    match o {
        Obj::Ref(r) => out.push(r.num),
        Obj::Array(v) => v
            .iter()
            .for_each(|x| refs_in(x, out, depth.saturating_add(1))),
        Obj::Dict(d) => {
            d.0.iter()
                .for_each(|(_, x)| refs_in(x, out, depth.saturating_add(1)))
        }
        Obj::Stream(s) => s
            .dict
            .0
            .iter()
            .for_each(|(_, x)| refs_in(x, out, depth.saturating_add(1))),
        _ => {}
    }
}

/// Whether a widget annotation shows: a /Rect with an area, and no Hidden
/// (bit 2) or NoView (bit 6) flag (ISO 32000-1 §12.5.3).
fn widget_visible(doc: &Document<'_>, w: &Dict) -> Result<bool> {
    let flags = w.int(b"F").unwrap_or(0);
    if flags & (2 | 32) != 0 {
        return Ok(false);
    }
    let rect = match w.get(b"Rect") {
        Some(o) => doc.resolve(o)?,
        None => return Ok(false),
    };
    let num = |o: &Obj| match o {
        Obj::Int(i) => *i as f64,
        Obj::Real(r) => *r,
        _ => 0.0,
    };
    Ok(match rect {
        Obj::Array(v) if v.len() == 4 => {
            let [x1, y1, x2, y2] = [0, 1, 2, 3].map(|i| v.get(i).map_or(0.0, num));
            (x2 - x1).abs() > 0.0 && (y2 - y1).abs() > 0.0
        }
        _ => false,
    })
}

/// Most pages mapped to changed objects.
const MAX_PAGES_MAPPED: usize = 2000;

/// The pages (1-based, in page-tree order) whose own objects — the page,
/// its contents, resources, annotations and what they use — include one of
/// `objs`. Stops after [`MAX_PAGES_MAPPED`] pages.
fn pages_using(doc: &Document<'_>, objs: &HashSet<u32>) -> Result<Vec<usize>> {
    let mut pages: Vec<(usize, u32)> = page_numbers(doc)?
        .into_iter()
        .map(|(o, n)| (n, o))
        .collect();
    pages.sort_unstable();
    let mut out = Vec::new();
    for (page_no, num) in pages {
        let Some(d) = doc.resolve_num(num)?.as_dict().cloned() else {
            continue;
        };
        let mut own = reach(doc, &Obj::Dict(d), &[b"Parent", b"P"])?;
        own.insert(num);
        if own.iter().any(|n| objs.contains(n)) {
            out.push(page_no);
        }
    }
    Ok(out)
}

/// Each page object's 1-based number, in page-tree order (bounded).
fn page_numbers(doc: &Document<'_>) -> Result<HashMap<u32, usize>> {
    let cat = doc.catalog()?;
    let mut out = HashMap::new();
    let mut seen = HashSet::new();
    let mut todo: Vec<Obj> = cat.get(b"Pages").cloned().into_iter().collect();
    while let Some(o) = todo.pop() {
        let Obj::Ref(r) = o else { continue };
        if !seen.insert(r.num) || out.len() >= MAX_PAGES_MAPPED {
            continue;
        }
        let Some(d) = doc.resolve_dict(&o)? else {
            continue;
        };
        match d.get(b"Kids").map(|k| doc.resolve(k)).transpose()? {
            Some(Obj::Array(kids)) if d.name(b"Type") != Some(b"Page") => {
                todo.extend(kids.into_iter().rev());
            }
            _ => {
                let n = out.len().saturating_add(1);
                out.insert(r.num, n);
            }
        }
    }
    Ok(out)
}

/// Objects reachable from the catalog's `key`.
fn reach_key(d: &Document<'_>, cat: &Dict, key: &[u8]) -> Result<HashSet<u32>> {
    match cat.get(key) {
        Some(o) => reach(d, o, &[]),
        None => Ok(HashSet::new()),
    }
}

fn push_dict(todo: &mut Vec<Obj>, d: Dict, skip: &[&[u8]]) {
    todo.extend(
        d.0.into_iter()
            .filter(|(k, _)| !skip.contains(&k.as_slice()))
            .map(|(_, v)| v),
    );
}

/// A terminal field: its dictionary, /FT (possibly inherited) and full name.
type TerminalField = (Dict, Option<Vec<u8>>, String);

/// The terminal field that object `num` is, or is a widget of (through its
/// /Parent), with its /FT and full name taken up the /Parent chain; `None`
/// when the object is not part of a terminal field.
fn field_of(doc: &Document<'_>, num: u32) -> Result<Option<(ObjRef, TerminalField)>> {
    let o = doc.resolve_num(num)?;
    let Some(d) = o.as_dict() else {
        return Ok(None);
    };
    let (fnum, field) = if d.get(b"T").is_some() || d.get(b"FT").is_some() {
        (num, d.clone())
    } else if d.name(b"Subtype") == Some(b"Widget") {
        match d.get(b"Parent") {
            Some(Obj::Ref(p)) => match doc.resolve_num(p.num)?.as_dict() {
                Some(pd) => (p.num, pd.clone()),
                None => return Ok(None),
            },
            _ => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    // Terminal: none of its kids is a field (has /T).
    if let Some(Obj::Array(kids)) = field.get(b"Kids").map(|k| doc.resolve(k)).transpose()? {
        for k in kids.iter().take(10_000) {
            if doc
                .resolve_dict(k)?
                .is_some_and(|kd| kd.get(b"T").is_some())
            {
                return Ok(None);
            }
        }
    }
    let mut ft = field.name(b"FT").map(<[u8]>::to_vec);
    let mut names: Vec<String> = field_name_opt(&field).into_iter().collect();
    let mut up = field.get(b"Parent").cloned();
    for _ in 0..32 {
        let Some(p @ Obj::Ref(_)) = up else { break };
        let Some(pd) = doc.resolve_dict(&p)? else {
            break;
        };
        if ft.is_none() {
            ft = pd.name(b"FT").map(<[u8]>::to_vec);
        }
        names.extend(field_name_opt(&pd));
        up = pd.get(b"Parent").cloned();
    }
    names.reverse();
    let generation = match doc.xref_entry(fnum) {
        Some(XrefEntry::InFile { generation, .. }) => generation,
        _ => 0,
    };
    Ok(Some((
        ObjRef {
            num: fnum,
            generation,
        },
        (field, ft, names.join(".")),
    )))
}

/// Page objects and indirect /Annots arrays of the page tree.
fn page_tree(doc: &Document<'_>, cat: &Dict) -> Result<(HashSet<u32>, HashMap<u32, u32>)> {
    let mut pages = HashSet::new();
    let mut annots = HashMap::new();
    let mut seen = HashSet::new();
    let mut todo: Vec<Obj> = cat.get(b"Pages").cloned().into_iter().collect();
    while let Some(o) = todo.pop() {
        let Obj::Ref(r) = o else { continue };
        if !seen.insert(r.num) {
            continue;
        }
        if seen.len() > MAX_REACH {
            return Err(Error::limit("page_tree_nodes", seen.len(), MAX_REACH));
        }
        let Some(d) = doc.resolve_dict(&o)? else {
            continue;
        };
        match d.get(b"Kids").map(|k| doc.resolve(k)).transpose()? {
            Some(Obj::Array(kids)) if d.name(b"Type") != Some(b"Page") => todo.extend(kids),
            _ => {
                pages.insert(r.num);
                if let Some(Obj::Ref(a)) = d.get(b"Annots") {
                    annots.insert(a.num, r.num);
                }
            }
        }
    }
    Ok((pages, annots))
}
