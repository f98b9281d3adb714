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

use super::audit::Replay;
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

/// The archived documents' SHA-256, with their first intake time.
async fn documents(archive: &Archive, since: Option<&str>) -> crate::archive::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (place, sha) in archive.meta.blob_refs().await? {
        if place.starts_with("document ") && seen.insert(sha.clone()) {
            out.push(sha);
        }
    }
    if let Some(since) = since {
        let mut kept = Vec::new();
        for sha in out {
            if let Some((_, reports)) = archive.meta.document(&sha).await? {
                if reports
                    .first()
                    .is_some_and(|r| r.verified_at.as_str() >= since)
                {
                    kept.push(sha);
                }
            }
        }
        out = kept;
    }
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
    // Documents are loaded ahead (reading rows and blobs waits on the
    // store) while at most `jobs` verify: loading overlaps verification.
    let verifying = std::sync::Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let ahead = jobs.max(1) * 2 + 2;
    let mut set = tokio::task::JoinSet::new();
    let mut results: Vec<Rejudged> = previous
        .into_iter()
        .filter(|r| all.binary_search(&r.sha256).is_ok())
        .collect();
    let mut queue = todo.into_iter();
    loop {
        while set.len() < ahead {
            let Some(sha) = queue.next() else { break };
            let (archive, policy, extra, verifying) = (
                archive.clone(),
                default_policy.clone(),
                extra.clone(),
                verifying.clone(),
            );
            set.spawn(async move {
                let mut replay = match Replay::load_from(&archive, &policy, &sha).await {
                    Ok(Some(r)) => r,
                    Ok(None) => return Err((sha, "not in the archive".to_string())),
                    Err(e) => return Err((sha, e)),
                };
                let Ok(_permit) = verifying.acquire_owned().await else {
                    return Err((sha, "stopped".to_string()));
                };
                replay.add_revocation(&extra);
                let name = sha.clone();
                tokio::task::spawn_blocking(move || {
                    let at = replay.intake.validation_time;
                    let rep = replay.run_blocking(at, &sha);
                    let (now, why) = verdict(&rep);
                    Ok(Rejudged {
                        sha256: sha,
                        validation_time: crate::pki::cert::fmt_unix(at),
                        recorded: replay.intake.indication.clone(),
                        now,
                        why_vi: why.as_ref().map(|w| w.0.clone()),
                        why_en: why.map(|w| w.1),
                    })
                })
                .await
                .unwrap_or_else(|e| Err((name, e.to_string())))
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        match joined? {
            Ok(r) => {
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
                results.push(r);
            }
            Err(f) => summary.failed.push(f),
        }
        finished += 1;
        progress(finished, total);
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
