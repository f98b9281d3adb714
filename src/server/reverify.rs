//! Re-verify a whole archive (`kyso archive reverify`): every stored
//! document judged again at its intake validation time from the evidence
//! kept with it, plus the revocation data known now (a CA that published a
//! revocation dated before the signing time after intake), on N workers,
//! resumable: each result is appended to a journal as it is reached, and a
//! second run skips what the journal holds.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::audit::{BlobsReadOnce, Replay, SharedItems, intake_parts};
use super::policy::Policy;
use crate::archive::Archive;
use crate::revocation::RevocationData;

/// One document's result (a journal line).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rejudged {
    pub sha256: String,
    pub validation_time: String,
    /// The verdict recorded at intake.
    pub recorded: String,
    /// The verdict now (indication[/sub-indication] of the first signature
    /// that is not TOTAL_PASSED, or the document's).
    pub now: String,
    /// When they differ: the first failed check, in both languages.
    pub why_vi: Option<String>,
    pub why_en: Option<String>,
}

impl Rejudged {
    pub fn changed(&self) -> bool {
        self.now.split('/').next() != Some(self.recorded.as_str())
    }
}

/// What a run did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub documents: usize,
    /// Judged by an earlier, interrupted run (read from the journal).
    pub resumed: usize,
    pub same: usize,
    pub changed: Vec<Rejudged>,
    pub failed: Vec<(String, String)>,
    pub seconds: f64,
}

/// The archived documents' SHA-256 (first taken in at or after `since`,
/// when given), sorted.
async fn documents(archive: &Archive, since: Option<&str>) -> crate::archive::Result<Vec<String>> {
    let mut out: Vec<String> = archive
        .meta
        .document_intakes()
        .await?
        .into_iter()
        .filter(|(_, at)| since.is_none_or(|s| at.as_str() >= s))
        .map(|(sha, _)| sha)
        .collect();
    out.sort();
    Ok(out)
}

fn verdict(r: &crate::report::Report) -> (String, Option<(String, String)>) {
    let failing = r
        .signatures
        .iter()
        .find(|s| s.indication != crate::report::Indication::TotalPassed);
    match failing {
        None => (r.summary.indication.as_str().to_string(), None),
        Some(s) => {
            let why = s
                .checks
                .iter()
                .find(|c| c.outcome == crate::report::Outcome::Failed)
                .map(|c| (c.message_vi.clone(), c.message_en.clone()));
            (s.verdict(), why)
        }
    }
}

/// A document read from the archive, ready to be judged.
struct Loaded {
    sha: String,
    intake: crate::archive::ReportRecord,
    data: bytes::Bytes,
    items: Vec<(String, bytes::Bytes)>,
}

type Judged = Result<Rejudged, (String, String)>;

async fn load(
    archive: &Archive,
    shared: &BlobsReadOnce,
    sha: String,
) -> Result<Loaded, (String, String)> {
    match intake_parts(archive, &sha, Some(shared)).await {
        Ok(Some((intake, data, items))) => Ok(Loaded {
            sha,
            intake,
            data,
            items,
        }),
        Ok(None) => Err((sha, "not in the archive".into())),
        Err(e) => Err((sha, e)),
    }
}

/// Judge one loaded document again at its intake time (on a verifier thread).
fn judge(l: Loaded, policy: &Policy, extra: &RevocationData, shared: &mut SharedItems) -> Judged {
    let Loaded {
        sha,
        intake,
        data,
        items,
    } = l;
    let mut replay = match Replay::from_parts_sharing(intake, data, items, policy, Some(shared)) {
        Ok(r) => r,
        Err(e) => return Err((sha, e)),
    };
    replay.add_revocation(extra);
    let at = replay.intake.validation_time;
    let rep = replay.run_blocking(at, &sha);
    let (now, why) = verdict(&rep);
    Ok(Rejudged {
        validation_time: crate::pki::cert::fmt_unix(at),
        recorded: replay.intake.indication.clone(),
        now,
        why_vi: why.as_ref().map(|w| w.0.clone()),
        why_en: why.map(|w| w.1),
        sha256: sha,
    })
}

/// Re-judge every document (verified since `since`, RFC 3339, when given)
/// with `jobs` workers; results appended to `journal` (JSON lines), whose
/// earlier lines are skipped; `progress(done, total)` after each.
pub async fn reverify_archive(
    archive: &Archive,
    default_policy: &Policy,
    extra: &RevocationData,
    since: Option<&str>,
    jobs: usize,
    journal: &Path,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> anyhow::Result<Summary> {
    let started = std::time::Instant::now();
    let mut summary = Summary::default();
    let mut done: HashSet<String> = HashSet::new();
    let mut previous = Vec::new();
    if let Ok(text) = std::fs::read_to_string(journal) {
        for line in text.lines() {
            // A line cut by an interruption is judged again.
            if let Ok(r) = serde_json::from_str::<Rejudged>(line) {
                if done.insert(r.sha256.clone()) {
                    previous.push(r);
                }
            }
        }
    }
    let all = documents(archive, since).await?;
    summary.documents = all.len();
    let todo: Vec<String> = all.iter().filter(|s| !done.contains(*s)).cloned().collect();
    summary.resumed = all.len() - todo.len();
    let total = all.len() as u64;
    let mut finished = summary.resumed as u64;
    progress(finished, total);
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal)?;
    let mut results: Vec<Rejudged> = previous
        .into_iter()
        .filter(|r| all.binary_search(&r.sha256).is_ok())
        .collect();
    // `jobs` verifier threads of their own, for the run: their per-thread
    // tables (parsed certificates, CRLs, signature checks) stay warm from
    // one document to the next. Documents are loaded ahead on the runtime
    // (rows and blobs wait on the store), evidence blobs read once and
    // shared: most documents carry the same anchors and CRLs.
    let jobs = jobs.max(1);
    let ahead = jobs * 4 + 4;
    let (work_tx, work_rx) = tokio::sync::mpsc::channel::<Loaded>(ahead);
    let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
    let (res_tx, mut res_rx) = tokio::sync::mpsc::unbounded_channel::<Judged>();
    let mut workers = Vec::new();
    for i in 0..jobs {
        let (rx, tx, policy, extra) = (
            work_rx.clone(),
            res_tx.clone(),
            default_policy.clone(),
            extra.clone(),
        );
        workers.push(
            std::thread::Builder::new()
                .name(format!("kyso-reverify-{i}"))
                .spawn(move || {
                    let mut shared = SharedItems::default();
                    loop {
                        let next = match rx.lock() {
                            Ok(mut r) => r.blocking_recv(),
                            Err(_) => None,
                        };
                        let Some(l) = next else { break };
                        if tx.send(judge(l, &policy, &extra, &mut shared)).is_err() {
                            break;
                        }
                    }
                })?,
        );
    }
    let loader = {
        let (archive, res_tx) = (archive.clone(), res_tx.clone());
        let shared = std::sync::Arc::new(BlobsReadOnce::default());
        tokio::spawn(async move {
            use futures_util::StreamExt;
            let mut loads = futures_util::stream::iter(todo)
                .map(|sha| {
                    let (archive, shared) = (archive.clone(), shared.clone());
                    async move { load(&archive, &shared, sha).await }
                })
                .buffered(ahead);
            while let Some(l) = loads.next().await {
                let sent = match l {
                    Ok(l) => work_tx.send(l).await.is_ok(),
                    Err(f) => res_tx.send(Err(f)).is_ok(),
                };
                if !sent {
                    break;
                }
            }
        })
    };
    drop(res_tx);
    while let Some(judged) = res_rx.recv().await {
        match judged {
            Ok(r) => {
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
                results.push(r);
            }
            Err(f) => summary.failed.push(f),
        }
        finished += 1;
        progress(finished, total);
    }
    loader.await?;
    for w in workers {
        let _ = w.join();
    }
    out.flush()?;
    drop(out);
    // Complete: the next run starts afresh (the journal kept beside).
    if summary.failed.is_empty() {
        let mut last = journal.as_os_str().to_owned();
        last.push(".last");
        std::fs::rename(journal, last)?;
    }
    for r in results {
        if r.changed() {
            summary.changed.push(r);
        } else {
            summary.same += 1;
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
