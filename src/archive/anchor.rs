//! Anchoring rounds: RFC 4998 evidence records over the archive.
//!
//! A round takes everything archived since the last round — each blob a
//! row points at (the leaf is the blob's SHA-256, the hash of its bytes),
//! each such reference (`H("kyso-anchor-ref-v1\n" ‖ place ‖ "\n" ‖ sha)`,
//! so a row rewritten to point at other bytes no longer matches what was
//! anchored), each intake row itself (a reference leaf whose hash is that
//! of the row's JSON: its policy, revocation setting and evidence list),
//! and the audit chain's head (its entry hash) — builds one hash
//! tree ([`crate::ers::HashTree`]) and has its root stamped by the TSA.
//! The timestamp is asked for before anything is written; the round and its
//! members are then stored in one transaction, so a crash leaves either the
//! whole round or none of it, and the next round picks up what is left.
//! On PostgreSQL a transaction-scoped advisory lock lets one node's round
//! in at a time; a round that finds a member already anchored by another
//! is dropped whole (its timestamp wasted, nothing else).
//!
//! A member's evidence record is rebuilt on demand from the round's
//! members (the tree is deterministic: sorted leaves) and the round's
//! timestamp and renewals — nothing per member but its leaf is stored.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::*;
use crate::crypto::DigestAlg;
use crate::ers::{self, ArchiveTimeStamp, EvidenceRecord, HashTree};

/// Gets a timestamp token over (algorithm, imprint); shared with the
/// blocking pool the TSA exchange runs on.
pub type SharedStamper = Arc<dyn Fn(DigestAlg, &[u8]) -> crate::Result<Vec<u8>> + Send + Sync>;

/// The leaf of a row's reference to a blob.
pub fn reference_leaf(place: &str, sha256: &str) -> String {
    sha256_hex(reference_text(place, sha256).as_bytes())
}

/// The text a reference leaf is the hash of.
pub(crate) fn reference_text(place: &str, sha256: &str) -> String {
    format!("kyso-anchor-ref-v1\n{place}\n{sha256}")
}

fn alg_of(name: &str) -> Result<DigestAlg> {
    ers::sha2(name)
        .ok_or_else(|| ArchiveError::Integrity(format!("round hash algorithm {name} unknown")))
}

fn ers_err(e: crate::Error) -> ArchiveError {
    ArchiveError::Integrity(e.to_string())
}

/// What an anchoring round did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RoundOutcome {
    /// Nothing new since the last round.
    Nothing,
    /// A round stored: its id and number of leaves.
    Anchored { round: i64, members: usize },
    /// Another round (another node) got in first; nothing stored.
    Busy,
}

/// What `kyso archive check` found about the anchoring.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnchorCheck {
    pub rounds: u64,
    pub members: u64,
    /// Leaves not anchored yet (they will be by the next round).
    pub unanchored: u64,
    /// The last anchored audit entry (seq, time of its round).
    pub audit_anchored_to: Option<i64>,
    pub problems: Vec<String>,
}

impl Archive {
    /// Every leaf not anchored yet (a whole read of the rows: for checks).
    pub async fn unanchored(&self) -> Result<Vec<AnchorMember>> {
        Ok(self.pending(Marks::default()).await?.0)
    }

    /// The leaves of the rows written after `from` that are not anchored
    /// yet, the audit head last, and where the read stopped.
    async fn pending(&self, from: Marks) -> Result<(Vec<AnchorMember>, Marks)> {
        let (refs, marks) = self.meta.blob_refs_since(from).await?;
        let mut out = Vec::new();
        // Duplicate references (two evidence items of one kind in a report,
        // a blob many rows point at) are one leaf.
        let mut seen = HashSet::new();
        for (place, sha) in refs {
            if !is_sha256_hex(&sha) {
                continue;
            }
            // An intake row is named by its own hash, not a blob's.
            if !is_intake_place(&place) && seen.insert(("blob".to_string(), sha.clone())) {
                out.push(AnchorMember {
                    place: "blob".into(),
                    sha256: sha.clone(),
                    leaf: sha.clone(),
                    round: 0,
                });
            }
            if seen.insert((place.clone(), sha.clone())) {
                out.push(AnchorMember {
                    leaf: reference_leaf(&place, &sha),
                    place,
                    sha256: sha,
                    round: 0,
                });
            }
        }
        drop(seen);
        if let Some((seq, hash)) = self.meta.audit_head().await? {
            out.push(AnchorMember {
                place: format!("audit {seq}"),
                sha256: hash.clone(),
                leaf: hash,
                round: 0,
            });
        }
        let keys = out
            .iter()
            .map(|m| (m.place.clone(), m.sha256.clone()))
            .collect();
        let done = self.meta.anchored_among(keys).await?;
        if !done.is_empty() {
            out.retain(|m| !done.contains(&(m.place.clone(), m.sha256.clone())));
        }
        Ok((out, marks))
    }

    /// How many rows (reports and dossier versions) were written since the
    /// last round read them: what the scheduler's item trigger counts.
    pub async fn rows_since_round(&self) -> Result<i64> {
        let (last, now) = (self.meta.round_marks().await?, self.meta.row_marks().await?);
        Ok((now.report - last.report).max(0) + (now.version - last.version).max(0))
    }

    /// Run one anchoring round: tree over what is not anchored yet, TSA
    /// timestamp over its root, round stored whole (or not at all).
    pub async fn anchor_round(
        &self,
        alg: DigestAlg,
        created: &str,
        stamper: SharedStamper,
    ) -> Result<RoundOutcome> {
        let t0 = std::time::Instant::now();
        let from = self.meta.round_marks().await?;
        let (members, marks) = self.pending(from).await?;
        let read = t0.elapsed();
        // The audit head alone changes with every request: a round needs more.
        if members.iter().all(|m| m.place.starts_with("audit ")) {
            return Ok(RoundOutcome::Nothing);
        }
        let (audit_seq, audit_head) = self
            .meta
            .audit_head()
            .await?
            .unwrap_or((0, GENESIS_HASH.into()));
        // A leaf is its data's hash with the round's algorithm: the SHA-256
        // names as they are, or the data hashed again (blobs read).
        let mut members = members;
        if alg != DigestAlg::Sha256 {
            for m in &mut members {
                m.leaf = hex::encode(self.member_data_hash(m, alg).await?);
            }
        }
        let leaves = members
            .iter()
            .map(|m| hex::decode(&m.leaf).map_err(|e| ArchiveError::Integrity(e.to_string())))
            .collect::<Result<Vec<_>>>()?;
        let r = RoundRecord {
            audit_seq,
            audit_head,
            marks,
            ..stamp_tree(alg, leaves, stamper, created).await?
        };
        let (stamped, t1) = (t0.elapsed() - read, std::time::Instant::now());
        let stored = self.meta.store_round(&r, &members).await?;
        tracing::info!(
            leaves = members.len(),
            read_ms = read.as_millis() as u64,
            tree_and_stamp_ms = stamped.as_millis() as u64,
            store_ms = t1.elapsed().as_millis() as u64,
            "anchoring round phases"
        );
        Ok(match stored {
            Some(id) => RoundOutcome::Anchored {
                round: id,
                members: members.len(),
            },
            None => RoundOutcome::Busy,
        })
    }

    /// The evidence record of `place` → `sha256` (a blob: place `blob`),
    /// with the round that anchors it. For many records, [`Records`]
    /// builds each round's tree once.
    pub async fn evidence_record(
        &self,
        place: &str,
        sha256: &str,
    ) -> Result<Option<(RoundRecord, EvidenceRecord)>> {
        Records::new(self).record(place, sha256).await
    }

    /// Timestamp renewal of every round whose last timestamp's certificates
    /// (TSA and chain, as carried in the token) expire before `deadline`
    /// (Unix seconds; `i64::MAX`: all), in one tree and one TSA request.
    /// A round a hash-tree renewal took over is not renewed: its members'
    /// records go on in the renewal's chain. Returns the renewed round ids.
    pub async fn renew_rounds(&self, deadline: i64, stamper: SharedStamper) -> Result<Vec<i64>> {
        let rounds = self.meta.rounds().await?;
        let mut due = Vec::new();
        for r in rounds.iter().filter(|r| r.renewed_by == 0) {
            let last = last_token(r)?;
            if deadline == i64::MAX || token_expiry(&last).is_none_or(|e| e < deadline) {
                let alg = alg_of(&r.digest)?;
                let leaf = alg.digest(&last).map_err(ers_err)?;
                due.push((r.id, alg, leaf));
            }
        }
        let mut renewed = Vec::new();
        let mut algs: Vec<DigestAlg> = due.iter().map(|d| d.1).collect();
        algs.dedup();
        for alg in algs {
            let group: Vec<&(i64, DigestAlg, Vec<u8>)> =
                due.iter().filter(|d| d.1 == alg).collect();
            let leaves: Vec<Vec<u8>> = group.iter().map(|d| d.2.clone()).collect();
            let s = stamper.clone();
            let stamps = tokio::task::spawn_blocking(move || ers::stamp_leaves(alg, &leaves, &*s))
                .await
                .map_err(|e| ArchiveError::Object(e.to_string()))?
                .map_err(ers_err)?;
            for (d, st) in group.into_iter().zip(stamps) {
                // A round taken over meanwhile keeps its chain as it was.
                if self.meta.add_renewal(d.0, &st.raw).await? {
                    renewed.push(d.0);
                }
            }
        }
        Ok(renewed)
    }

    /// The rounds a hash-tree renewal to `alg` is due for: those no renewal
    /// took over whose trees use another algorithm.
    pub async fn hash_renewal_due(&self, alg: DigestAlg) -> Result<Vec<RoundRecord>> {
        let mut due = Vec::new();
        for r in self.meta.rounds().await? {
            if r.renewed_by == 0 && alg_of(&r.digest)? != alg {
                due.push(r);
            }
        }
        Ok(due)
    }

    /// Hash-tree renewal (RFC 4998 §5.2) of every round still on another
    /// algorithm than `alg`: for each of their members, the data is hashed
    /// again with `alg` (a blob's bytes, a reference's text, an audit
    /// entry's fields) and joined with the hash of the member's record so
    /// far; one new tree over all of them, one timestamp over its root, and
    /// the round stored with the renewed rounds marked as taken over, all
    /// in one transaction. Fails whole (nothing stored) when a member's
    /// data is missing or no longer what was anchored: `kyso archive check`
    /// says which.
    pub async fn renew_hash_trees(
        &self,
        alg: DigestAlg,
        created: &str,
        stamper: SharedStamper,
    ) -> Result<RoundOutcome> {
        let due = self.hash_renewal_due(alg).await?;
        if due.is_empty() {
            return Ok(RoundOutcome::Nothing);
        }
        let mut records = Records::new(self);
        let mut members = Vec::new();
        let mut leaves = Vec::new();
        for r in &due {
            for m in self.meta.round_members(r.id).await? {
                // The round is live: the member's whole record ends with
                // it. An anchoring round is the member's first, so its
                // record is read from the round without looking it up.
                let er = if r.hash_renewal {
                    records
                        .record(&m.place, &m.sha256)
                        .await?
                        .ok_or_else(|| {
                            ArchiveError::Integrity(format!(
                                "{} {} is not anchored",
                                m.place, m.sha256
                            ))
                        })?
                        .1
                } else {
                    records.follow(&m, r, None).await?
                };
                let data = self.member_data_hash(&m, alg).await?;
                let leaf = er.hash_tree_renewal_leaf(alg, &data).map_err(ers_err)?;
                members.push(AnchorMember {
                    place: m.place,
                    sha256: m.sha256,
                    leaf: hex::encode(&leaf),
                    round: 0,
                });
                leaves.push(leaf);
            }
        }
        drop(records);
        let r = RoundRecord {
            hash_renewal: true,
            ..stamp_tree(alg, leaves, stamper, created).await?
        };
        let renewed: Vec<(i64, usize)> = due.iter().map(|r| (r.id, r.renewals.len())).collect();
        Ok(
            match self.meta.store_hash_renewal(&r, &renewed, &members).await? {
                Some(id) => RoundOutcome::Anchored {
                    round: id,
                    members: members.len(),
                },
                None => RoundOutcome::Busy,
            },
        )
    }

    /// The hash with `alg` of the data an anchored member stands for: a
    /// blob's bytes, an audit entry's chained fields, a reference's text.
    /// With SHA-256 it is the member's anchored leaf.
    pub async fn member_data_hash(&self, m: &AnchorMember, alg: DigestAlg) -> Result<Vec<u8>> {
        let bytes = if m.place == "blob" {
            let b = self.get_blob(&m.sha256).await?.ok_or_else(|| {
                ArchiveError::Integrity(format!("blob {} anchored is missing", m.sha256))
            })?;
            // Never hashed again as it is now if it is not what was anchored.
            if sha256_hex(&b) != m.sha256 {
                return Err(ArchiveError::Integrity(format!(
                    "blob {} does not match its name (changed since it was anchored)",
                    m.sha256
                )));
            }
            b.to_vec()
        } else if let Some(seq) = m.place.strip_prefix("audit ") {
            let seq: i64 = seq
                .parse()
                .map_err(|_| ArchiveError::Integrity(format!("anchored place {}", m.place)))?;
            let page = self.meta.audit_page(seq, 1).await?;
            let e = page
                .first()
                .filter(|e| e.seq == seq && e.hash == m.sha256)
                .ok_or_else(|| {
                    ArchiveError::Integrity(format!(
                        "audit entry {seq} is missing or not the one anchored"
                    ))
                })?;
            audit_bytes(e.seq, &e.draft(), &e.prev_hash)
        } else {
            reference_text(&m.place, &m.sha256).into_bytes()
        };
        alg.digest(&bytes).map_err(ers_err)
    }

    /// Every round against its members, its timestamps against `opts`
    /// (the TSA trust anchors, at the validation time), and every anchored
    /// leaf against what the archive holds now.
    pub async fn check_anchoring(&self, opts: &crate::VerifyOptions) -> Result<AnchorCheck> {
        self.check_anchoring_given(opts, None).await
    }

    /// [`Archive::check_anchoring`] with the blobs `held` already read and
    /// found intact by [`Archive::check`]: an anchored blob is then looked
    /// up there instead of read again.
    pub async fn check_anchoring_given(
        &self,
        opts: &crate::VerifyOptions,
        held: Option<&HashSet<String>>,
    ) -> Result<AnchorCheck> {
        let mut c = AnchorCheck::default();
        let rounds = self.meta.rounds().await?;
        let all = self.meta.anchored().await?;
        c.rounds = rounds.len() as u64;
        c.members = all.len() as u64;
        let mut by_round: HashMap<i64, Vec<AnchorMember>> = HashMap::new();
        for m in &all {
            by_round.entry(m.round).or_default().push(m.clone());
        }
        let mut records = Records::new(self);
        for r in &rounds {
            let members = if r.hash_renewal {
                self.meta.round_members(r.id).await?
            } else {
                by_round.remove(&r.id).unwrap_or_default()
            };
            if members.len() as u64 != r.members {
                c.problems.push(format!(
                    "round {}: {} members stored, {} anchored",
                    r.id,
                    members.len(),
                    r.members
                ));
            }
            let Some(first) = members.first() else {
                continue;
            };
            if r.hash_renewal {
                self.check_renewed_leaves(r, &members, &mut records, &mut c.problems)
                    .await?;
            }
            // A live round's timestamps on their own (its leaf stands for
            // the data); a round taken over through the whole record of
            // one member, whose later chains carry it past its own stamps.
            let verdict = if r.renewed_by == 0 {
                record_in_round(r, &members, &first.leaf).map(|er| {
                    let leaf = hex::decode(&first.leaf).unwrap_or_default();
                    ers::verify(&er, &|_| Ok(leaf.clone()), opts)
                })
            } else {
                self.verify_member(&mut records, first, opts).await
            };
            match verdict {
                Err(e) => c.problems.push(format!("round {}: {e}", r.id)),
                Ok(v) => {
                    if !v.valid {
                        let why: Vec<String> =
                            v.checks.iter().map(|k| k.message_en.clone()).collect();
                        c.problems.push(format!(
                            "round {} ({}): its archive timestamp does not hold: {}",
                            r.id,
                            r.created,
                            why.join("; ")
                        ));
                    }
                }
            }
            if r.audit_seq > 0 {
                c.audit_anchored_to = Some(c.audit_anchored_to.unwrap_or(0).max(r.audit_seq));
            }
        }
        for (id, ms) in by_round {
            c.problems.push(format!(
                "{} anchored leaves name round {id}, which does not exist",
                ms.len()
            ));
        }
        // Every anchored leaf against the archive as it is now.
        let round_algs: HashMap<i64, DigestAlg> = rounds
            .iter()
            .filter_map(|r| alg_of(&r.digest).ok().map(|a| (r.id, a)))
            .collect();
        let refs: HashSet<(String, String)> = self.meta.blob_refs().await?.into_iter().collect();
        for m in &all {
            if m.place == "blob" {
                if held.is_some_and(|h| h.contains(&m.sha256)) {
                    continue;
                }
                match self.get_blob(&m.sha256).await {
                    Ok(Some(_)) => {}
                    Ok(None) => c.problems.push(format!(
                        "blob {} anchored in round {} is missing",
                        m.sha256, m.round
                    )),
                    Err(e) => c
                        .problems
                        .push(format!("blob anchored in round {}: {e}", m.round)),
                }
            } else if let Some(seq) = m.place.strip_prefix("audit ") {
                let seq: i64 = seq.parse().unwrap_or(-1);
                let now = self.meta.audit_page(seq, 1).await?;
                match now.first().filter(|e| e.seq == seq) {
                    Some(e) if e.hash == m.sha256 => {}
                    Some(_) => c.problems.push(format!(
                        "audit entry {seq} is not the one anchored in round {}: the audit history up to it was rewritten",
                        m.round
                    )),
                    None => c.problems.push(format!(
                        "audit entry {seq} anchored in round {} is missing: the audit history was cut",
                        m.round
                    )),
                }
            } else if round_algs.get(&m.round).is_some_and(|alg| {
                alg.digest(reference_text(&m.place, &m.sha256).as_bytes())
                    .map(hex::encode)
                    .ok()
                    != Some(m.leaf.clone())
            }) {
                c.problems
                    .push(format!("{}: anchored leaf does not match its row", m.place));
            } else if !refs.contains(&(m.place.clone(), m.sha256.clone())) {
                c.problems.push(if is_intake_place(&m.place) {
                    format!(
                        "{}: the row is not the one anchored in round {} (rewritten or removed)",
                        m.place, m.round
                    )
                } else {
                    format!(
                        "{}: pointed at blob {} when anchored in round {}, no longer does (row rewritten or removed)",
                        m.place, m.sha256, m.round
                    )
                });
            }
            if c.problems.len() > 1000 {
                c.problems.push("more than 1000 problems; stopped".into());
                break;
            }
        }
        c.unanchored = self.unanchored().await?.len() as u64;
        Ok(c)
    }
}

impl Archive {
    /// Each member of hash-tree renewal round `r` against its data now and
    /// its record before `r`: the leaf `r` stamped must be made of them.
    async fn check_renewed_leaves(
        &self,
        r: &RoundRecord,
        members: &[AnchorMember],
        records: &mut Records<'_>,
        problems: &mut Vec<String>,
    ) -> Result<()> {
        let alg = alg_of(&r.digest)?;
        for m in members {
            let made = match records.record_before(&m.place, &m.sha256, r.id).await {
                Ok(er) => match self.member_data_hash(m, alg).await {
                    Ok(d) => er.hash_tree_renewal_leaf(alg, &d).map_err(ers_err),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match made {
                Ok(leaf) if hex::encode(&leaf) == m.leaf => {}
                Ok(_) => problems.push(format!(
                    "round {}: the renewed leaf of {} {} is not made of its data and record (changed since the renewal)",
                    r.id, m.place, m.sha256
                )),
                Err(e) => problems.push(format!("round {}: {} {}: {e}", r.id, m.place, m.sha256)),
            }
            if problems.len() > 1000 {
                break;
            }
        }
        Ok(())
    }

    /// Member `m`'s whole record verified over its data (hashed with each
    /// chain's algorithm).
    async fn verify_member(
        &self,
        records: &mut Records<'_>,
        m: &AnchorMember,
        opts: &crate::VerifyOptions,
    ) -> Result<ers::RecordVerdict> {
        let (_, er) = records
            .record(&m.place, &m.sha256)
            .await?
            .ok_or_else(|| ArchiveError::Integrity(format!("{} is not anchored", m.place)))?;
        let mut hashes: HashMap<DigestAlg, Vec<u8>> = HashMap::new();
        for chain in &er.chains {
            if let Some(alg) = chain.stamps.first().and_then(|s| s.algorithm().ok()) {
                if let std::collections::hash_map::Entry::Vacant(v) = hashes.entry(alg) {
                    v.insert(self.member_data_hash(m, alg).await?);
                }
            }
        }
        Ok(ers::verify(
            &er,
            &|alg| {
                hashes.get(&alg).cloned().ok_or_else(|| {
                    crate::Error::Unsupported(format!("no data hash with {}", alg.name()))
                })
            },
            opts,
        ))
    }
}

/// One tree over `leaves`, its root stamped (on the blocking pool): a
/// round of them, not stored yet, anchoring nothing else.
async fn stamp_tree(
    alg: DigestAlg,
    leaves: Vec<Vec<u8>>,
    stamper: SharedStamper,
    created: &str,
) -> Result<RoundRecord> {
    let members = leaves.len() as u64;
    let (root, token) =
        tokio::task::spawn_blocking(move || -> crate::Result<(Vec<u8>, Vec<u8>)> {
            let tree = HashTree::build(alg, leaves)?;
            let root = tree.root().to_vec();
            let token = stamper(alg, &root)?;
            Ok((root, token))
        })
        .await
        .map_err(|e| ArchiveError::Object(e.to_string()))?
        .map_err(ers_err)?;
    Ok(RoundRecord {
        id: 0,
        created: created.to_string(),
        digest: alg.name().to_string(),
        root: hex::encode(&root),
        token,
        audit_seq: 0,
        audit_head: String::new(),
        members,
        marks: Marks::default(),
        renewals: Vec::new(),
        hash_renewal: false,
        renewed_by: 0,
    })
}

/// The round's last timestamp token (its own, or its last renewal's).
fn last_token(r: &RoundRecord) -> Result<Vec<u8>> {
    match r.renewals.last() {
        None => Ok(r.token.clone()),
        Some(der) => Ok(ArchiveTimeStamp::from_der(der).map_err(ers_err)?.timestamp),
    }
}

/// The earliest notAfter among the certificates a token carries (Unix seconds).
pub fn token_expiry(token: &[u8]) -> Option<i64> {
    let sd = crate::cms::parse_signed_data(token, 64).ok()?;
    sd.certificates
        .iter()
        .filter_map(|c| openssl::x509::X509::from_der(c).ok())
        .filter_map(|c| crate::pki::cert::asn1_to_unix(c.not_after()))
        .min()
}

/// Evidence records of many anchored leaves: the rounds read once, each
/// round's tree built once (a round of 10^6 leaves takes about a second).
pub struct Records<'a> {
    archive: &'a Archive,
    rounds: Option<Vec<RoundRecord>>,
    trees: HashMap<i64, RoundTree>,
}

/// A round's tree, and for a hash-tree renewal round each renewed
/// member's new leaf.
struct RoundTree {
    tree: HashTree,
    leaves: HashMap<(String, String), String>,
}

impl<'a> Records<'a> {
    pub fn new(archive: &'a Archive) -> Self {
        Records {
            archive,
            rounds: None,
            trees: HashMap::new(),
        }
    }

    /// The record of `place` → `sha256`, with the round that anchored it;
    /// `None` when not anchored. After hash-tree renewals the record holds
    /// one chain per round its member went through.
    pub async fn record(
        &mut self,
        place: &str,
        sha256: &str,
    ) -> Result<Option<(RoundRecord, EvidenceRecord)>> {
        let Some(m) = self.archive.meta.anchor_of(place, sha256).await? else {
            return Ok(None);
        };
        let round = self.round(m.round).await?;
        let er = self.follow(&m, &round, None).await?;
        Ok(Some((round, er)))
    }

    /// The record of `place` → `sha256` as it stood when hash-tree renewal
    /// round `renewal` took it over: what that round's leaf was made from.
    async fn record_before(
        &mut self,
        place: &str,
        sha256: &str,
        renewal: i64,
    ) -> Result<EvidenceRecord> {
        let m = self
            .archive
            .meta
            .anchor_of(place, sha256)
            .await?
            .ok_or_else(|| ArchiveError::Integrity(format!("{place} {sha256} is not anchored")))?;
        let round = self.round(m.round).await?;
        self.follow(&m, &round, Some(renewal)).await
    }

    async fn round(&mut self, id: i64) -> Result<RoundRecord> {
        if self.rounds.is_none() {
            self.rounds = Some(self.archive.meta.rounds().await?);
        }
        self.rounds
            .iter()
            .flatten()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(|| ArchiveError::Integrity(format!("round {id} is missing")))
    }

    async fn tree(&mut self, r: &RoundRecord) -> Result<&RoundTree> {
        if !self.trees.contains_key(&r.id) {
            let members = self.archive.meta.round_members(r.id).await?;
            let tree = round_tree(r, &members)?;
            let leaves = if r.hash_renewal {
                members
                    .into_iter()
                    .map(|m| ((m.place, m.sha256), m.leaf))
                    .collect()
            } else {
                HashMap::new()
            };
            self.trees.insert(r.id, RoundTree { tree, leaves });
        }
        Ok(&self.trees[&r.id])
    }

    /// The record of member `m` of anchoring round `first`, through the
    /// hash-tree renewals that took it over, stopping before renewal round
    /// `before` (all: None). A cycle of renewals ends at the record's most
    /// chains ([`crate::ers::MAX_CHAINS`]).
    async fn follow(
        &mut self,
        m: &AnchorMember,
        first: &RoundRecord,
        before: Option<i64>,
    ) -> Result<EvidenceRecord> {
        let mut er = record_from_tree(first, &self.tree(first).await?.tree, &m.leaf)?;
        let mut last = first.clone();
        while last.renewed_by != 0 && before != Some(last.renewed_by) {
            let next = self.round(last.renewed_by).await?;
            let t = self.tree(&next).await?;
            let leaf = t
                .leaves
                .get(&(m.place.clone(), m.sha256.clone()))
                .ok_or_else(|| {
                    ArchiveError::Integrity(format!(
                        "round {} renews round {} but not its member {} {}",
                        next.id, last.id, m.place, m.sha256
                    ))
                })?;
            let leaf = hex::decode(leaf).map_err(|e| ArchiveError::Integrity(e.to_string()))?;
            let reduced = t
                .tree
                .reduced(&leaf)
                .ok_or_else(|| ArchiveError::Integrity("the leaf is not in its round".into()))?;
            let ats = ArchiveTimeStamp::new(t.tree.algorithm(), reduced, next.token.clone())
                .map_err(ers_err)?;
            er.append_chain(ats).map_err(ers_err)?;
            for der in &next.renewals {
                er.append_renewal(ArchiveTimeStamp::from_der(der).map_err(ers_err)?)
                    .map_err(ers_err)?;
            }
            last = next;
        }
        Ok(er)
    }
}

/// The tree of round `r` rebuilt from its `members`, checked against the stamped root.
fn round_tree(r: &RoundRecord, members: &[AnchorMember]) -> Result<HashTree> {
    let alg = alg_of(&r.digest)?;
    let leaves = members
        .iter()
        .map(|m| hex::decode(&m.leaf).map_err(|e| ArchiveError::Integrity(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let tree = HashTree::build(alg, leaves).map_err(ers_err)?;
    if hex::encode(tree.root()) != r.root {
        return Err(ArchiveError::Integrity(
            "its members no longer hash to the stamped root (an anchored leaf was changed, added or removed)".into(),
        ));
    }
    Ok(tree)
}

/// The evidence record of `leaf` (hex) in round `r` with `members`.
fn record_in_round(
    r: &RoundRecord,
    members: &[AnchorMember],
    leaf: &str,
) -> Result<EvidenceRecord> {
    record_from_tree(r, &round_tree(r, members)?, leaf)
}

/// The evidence record of `leaf` (hex) in round `r`, whose tree is `tree`.
fn record_from_tree(r: &RoundRecord, tree: &HashTree, leaf: &str) -> Result<EvidenceRecord> {
    let alg = tree.algorithm();
    let leaf = hex::decode(leaf).map_err(|e| ArchiveError::Integrity(e.to_string()))?;
    let reduced = tree
        .reduced(&leaf)
        .ok_or_else(|| ArchiveError::Integrity("the leaf is not in its round".into()))?;
    let ats = ArchiveTimeStamp::new(alg, reduced, r.token.clone()).map_err(ers_err)?;
    let mut er = EvidenceRecord::new(ats).map_err(ers_err)?;
    for der in &r.renewals {
        er.append_renewal(ArchiveTimeStamp::from_der(der).map_err(ers_err)?)
            .map_err(ers_err)?;
    }
    Ok(er)
}
