//! Statistics of online dossiers for the province's reporting: per
//! procedure and month, the dossiers and submissions, how many were
//! accepted in lieu of paper originals and how many sent to the post; the
//! refusal reasons (policy checks that failed), the file formats and the
//! CAs seen. Computed from the archive (each submission's stored
//! decision), for `GET /v1/stats` (JSON, CSV) and the staff page.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::intake::load_decision;
use super::{ApiError, AppState, Caller};

/// Submissions read for one answer at most (then `truncated`).
const MAX_SUBMISSIONS: usize = 100_000;

#[derive(Serialize, ToSchema)]
pub struct Stats {
    /// The period, `[from, to)`.
    pub from: String,
    pub to: String,
    pub submissions: usize,
    /// More than the submissions read were in the period.
    pub truncated: bool,
    /// Per procedure and month (`YYYY-MM`), in order.
    pub rows: Vec<Row>,
    /// Policy checks that refused a file, most frequent first.
    pub refusals: Vec<Count>,
    /// Files by format.
    pub formats: Vec<Count>,
    /// Signatures by issuing CA.
    pub cas: Vec<Count>,
}

#[derive(Serialize, ToSchema, Default, Clone)]
pub struct Row {
    pub month: String,
    pub procedure: String,
    /// Distinct dossier codes submitted in the month.
    pub dossiers: usize,
    pub submissions: usize,
    /// Submissions accepted in lieu of paper originals.
    pub accepted: usize,
    /// Submissions whose originals must come by post.
    pub to_post: usize,
}

#[derive(Serialize, ToSchema)]
pub struct Count {
    pub name: String,
    pub count: usize,
}

/// A period bound: `YYYY-MM-DD` or RFC 3339, as the archive writes times.
fn bound(s: Option<&str>, default: i64) -> Result<String, ApiError> {
    let t = match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => default,
        Some(d) if d.len() == 10 => {
            crate::pki::cert::parse_rfc3339(&format!("{d}T00:00:00Z")).ok_or_else(|| bad_time(d))?
        }
        Some(d) => crate::pki::cert::parse_rfc3339(d).ok_or_else(|| bad_time(d))?,
    };
    Ok(crate::pki::cert::fmt_unix(t))
}

fn bad_time(s: &str) -> ApiError {
    ApiError::bad_request(
        "BAD_TIME",
        format!("Thời điểm '{s}' không đúng định dạng (YYYY-MM-DD hoặc RFC 3339)."),
        format!("Time '{s}' is not YYYY-MM-DD or RFC 3339."),
    )
}

fn counts(m: BTreeMap<String, usize>) -> Vec<Count> {
    let mut v: Vec<Count> = m
        .into_iter()
        .map(|(name, count)| Count { name, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    v.truncate(20);
    v
}

/// The statistics of `[from, to)` (default: everything until now); the
/// read is audited.
pub async fn compute(
    state: &AppState,
    who: &Caller,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Stats, ApiError> {
    let from = bound(from, 0)?;
    let to = bound(to, state.clock.now().saturating_add(86_400))?;
    let versions = state
        .archive
        .meta
        .versions_between(&from, &to, MAX_SUBMISSIONS.saturating_add(1))
        .await?;
    let truncated = versions.len() > MAX_SUBMISSIONS;
    let mut rows: BTreeMap<(String, String), (Row, BTreeSet<String>)> = BTreeMap::new();
    let (mut refusals, mut formats, mut cas) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut n = 0usize;
    for v in versions.iter().take(MAX_SUBMISSIONS) {
        n = n.saturating_add(1);
        let month = v.created.get(..7).unwrap_or("").to_string();
        let e = rows
            .entry((month.clone(), v.procedure.clone()))
            .or_insert_with(|| {
                (
                    Row {
                        month,
                        procedure: v.procedure.clone(),
                        ..Row::default()
                    },
                    BTreeSet::new(),
                )
            });
        e.1.insert(v.code.clone());
        e.0.submissions = e.0.submissions.saturating_add(1);
        if v.accepted {
            e.0.accepted = e.0.accepted.saturating_add(1);
        } else {
            e.0.to_post = e.0.to_post.saturating_add(1);
        }
        let d = load_decision(state, &v.decision_sha256).await?;
        for f in &d.files {
            let fmt = if f.format.is_empty() {
                "?"
            } else {
                f.format.as_str()
            };
            *formats.entry(fmt.to_string()).or_insert(0usize) += 1;
            for c in f.checks.iter().filter(|c| !c.passed) {
                *refusals.entry(c.code.clone()).or_insert(0usize) += 1;
            }
            for s in &f.signers {
                let ca = s.issuer.clone().unwrap_or_else(|| "?".into());
                *cas.entry(ca).or_insert(0usize) += 1;
            }
        }
    }
    let rows = rows
        .into_values()
        .map(|(mut r, codes)| {
            r.dossiers = codes.len();
            r
        })
        .collect();
    state
        .audit(
            who,
            "stats.read",
            &format!("{from} .. {to}"),
            &format!("{n} submissions"),
        )
        .await?;
    Ok(Stats {
        from,
        to,
        submissions: n,
        truncated,
        rows,
        refusals: counts(refusals),
        formats: counts(formats),
        cas: counts(cas),
    })
}

/// One CSV field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The per-procedure, per-month table as CSV (UTF-8, header row).
pub fn csv(s: &Stats) -> String {
    let mut out = String::from("month,procedure,dossiers,submissions,accepted,to_post\r\n");
    for r in &s.rows {
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            field(&r.month),
            field(&r.procedure),
            r.dossiers,
            r.submissions,
            r.accepted,
            r.to_post
        ));
    }
    out
}

/// The CSV as a download.
pub fn csv_response(s: &Stats) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"kyso-stats.csv\"",
            ),
        ],
        csv(s),
    )
        .into_response()
}

/// Per month over all procedures: (month, accepted, to post).
pub fn by_month(s: &Stats) -> Vec<(String, usize, usize)> {
    let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &s.rows {
        let e = m.entry(r.month.clone()).or_insert((0, 0));
        e.0 = e.0.saturating_add(r.accepted);
        e.1 = e.1.saturating_add(r.to_post);
    }
    m.into_iter().map(|(k, (a, p))| (k, a, p)).collect()
}
