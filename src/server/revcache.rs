//! The service's revocation cache: OCSP responses and CRLs fetched once and
//! kept until their next update — in this node's memory and in the metadata
//! store, so that every node shares them — with one fetch per key at a
//! time, background refresh of configured and recently used CRLs before
//! their nextUpdate, and counters for `/metrics`.
//!
//! Freshness decides only whether to fetch again. What an answer proves is
//! decided by `revocation::status_at` at the time a signature needs: a stale
//! answer handed out when the responder is down is reported as stale there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::archive::{CachedAnswer, MetaStore};
use crate::revocation::Raw;
use crate::revocation::fetch::{CacheKey, Kind, Shared};

use super::Clock;

/// Most answers kept in memory, and their total size.
const MAX_ENTRIES: usize = 4096;
const MAX_BYTES: usize = 128 << 20;
/// An answer without nextUpdate is fetched again after this long.
const DEFAULT_FRESH_SECS: i64 = 3600;
/// An answer already past its nextUpdate when fetched is not fetched again
/// for this long (the responder has nothing newer; do not hammer it).
const STALE_RETRY_SECS: i64 = 60;
/// Most URLs whose fetch counts are kept (for tests and operators).
const MAX_COUNTED_URLS: usize = 1024;
/// CRL URLs used within this long are refreshed in the background.
const RECENT_SECS: i64 = 24 * 3600;

#[derive(Clone)]
struct Entry {
    body: Raw,
    fetched_at: i64,
    fresh_until: i64,
}

/// Counters, exported on `/metrics`.
#[derive(Default)]
pub struct CacheStats {
    pub memory_hits: AtomicU64,
    pub store_hits: AtomicU64,
    pub fetches: AtomicU64,
    pub fetch_errors: AtomicU64,
    /// Fetch time, total (milliseconds), for the mean.
    pub fetch_ms: AtomicU64,
    /// A stale answer handed out because a fetch failed.
    pub stale_served: AtomicU64,
    /// Background refreshes done.
    pub refreshes: AtomicU64,
}

pub struct RevocationCache {
    meta: Arc<dyn MetaStore>,
    rt: tokio::runtime::Handle,
    clock: Arc<Clock>,
    /// Longest an answer is kept fresh, whatever its nextUpdate says.
    max_age: i64,
    memory: Mutex<HashMap<String, Entry>>,
    inflight: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    fetch_counts: Mutex<HashMap<String, u64>>,
    /// CRL keys seen in use, with when (for background refresh).
    recent: Mutex<HashMap<String, (CacheKey, i64)>>,
    pub stats: CacheStats,
}

/// When an answer should be fetched again: its (earliest) nextUpdate,
/// bounded by `max_age`; soon again when it is stale already.
pub fn fresh_until(kind: Kind, body: &[u8], now: i64, max_age: i64) -> i64 {
    let next = match kind {
        Kind::Crl => crate::revocation::crl::Crl::parse(body)
            .ok()
            .and_then(|c| c.next_update),
        Kind::Ocsp => crate::revocation::ocsp::parse(body)
            .ok()
            .and_then(|r| r.basic)
            .and_then(|b| b.responses.iter().filter_map(|s| s.next_update).min()),
    };
    let cap = now.saturating_add(max_age);
    match next {
        Some(n) if n > now => n.min(cap),
        Some(_) => now.saturating_add(STALE_RETRY_SECS),
        None => now.saturating_add(DEFAULT_FRESH_SECS).min(cap),
    }
}

impl RevocationCache {
    pub fn new(meta: Arc<dyn MetaStore>, clock: Arc<Clock>, max_age: i64) -> Self {
        RevocationCache {
            meta,
            rt: tokio::runtime::Handle::current(),
            clock,
            max_age,
            memory: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            fetch_counts: Mutex::new(HashMap::new()),
            recent: Mutex::new(HashMap::new()),
            stats: CacheStats::default(),
        }
    }

    /// How many times each URL was fetched by this node.
    pub fn fetch_counts(&self) -> HashMap<String, u64> {
        self.fetch_counts
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    fn remember(&self, key: &str, e: Entry) {
        let Ok(mut m) = self.memory.lock() else {
            return;
        };
        let total: usize = m.values().map(|x| x.body.len()).sum();
        if m.len() >= MAX_ENTRIES || total.saturating_add(e.body.len()) > MAX_BYTES {
            // Drop the entries that go stale first.
            let mut by_age: Vec<(String, i64)> =
                m.iter().map(|(k, v)| (k.clone(), v.fresh_until)).collect();
            by_age.sort_by_key(|(_, f)| *f);
            for (k, _) in by_age.into_iter().take(m.len() / 2 + 1) {
                m.remove(&k);
            }
        }
        m.insert(key.to_string(), e);
    }

    fn memory(&self, key: &str) -> Option<Entry> {
        self.memory.lock().ok()?.get(key).cloned()
    }

    /// The metadata store, from a blocking thread (verification runs on one).
    fn store_get(&self, key: &str) -> Option<Entry> {
        let meta = self.meta.clone();
        let k = key.to_string();
        let got = self.rt.block_on(async move { meta.cache_get(&k).await });
        match got {
            Ok(Some(a)) => Some(Entry {
                body: a.body.into(),
                fetched_at: a.fetched_at,
                fresh_until: a.fresh_until,
            }),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "revocation cache: reading the store");
                None
            }
        }
    }

    fn store_put(&self, key: &str, e: &Entry) {
        let meta = self.meta.clone();
        let a = CachedAnswer {
            key: key.to_string(),
            body: e.body.to_vec(),
            fetched_at: e.fetched_at,
            fresh_until: e.fresh_until,
        };
        if let Err(err) = self.rt.block_on(async move { meta.cache_put(&a).await }) {
            tracing::warn!(error = %err, "revocation cache: writing the store");
        }
    }

    fn count_fetch(&self, url: &str, took: std::time::Duration, ok: bool) {
        self.stats.fetches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .fetch_ms
            .fetch_add(took.as_millis() as u64, Ordering::Relaxed);
        if !ok {
            self.stats.fetch_errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut m) = self.fetch_counts.lock() {
            if m.len() < MAX_COUNTED_URLS || m.contains_key(url) {
                let n = m.entry(url.to_string()).or_insert(0);
                *n = n.saturating_add(1);
            }
        }
    }

    /// Fetch `key` now and keep the answer (memory and store).
    fn fetch_and_keep(
        &self,
        key: &CacheKey,
        fetch: &mut dyn FnMut() -> Result<Vec<u8>, String>,
    ) -> Result<Entry, String> {
        let t0 = Instant::now();
        let got = fetch();
        self.count_fetch(&key.url, t0.elapsed(), got.is_ok());
        let body = got?;
        let now = self.clock.now();
        let e = Entry {
            fresh_until: fresh_until(key.kind, &body, now, self.max_age),
            fetched_at: now,
            body: body.into(),
        };
        let id = key.id();
        self.remember(&id, e.clone());
        self.store_put(&id, &e);
        Ok(e)
    }

    /// Refetch `key` when its answer goes stale within `margin` seconds (or is unknown).
    pub fn refresh_if_due(
        &self,
        key: &CacheKey,
        margin: i64,
        fetch: &mut dyn FnMut() -> Result<Vec<u8>, String>,
    ) -> Result<Option<Raw>, String> {
        let now = self.clock.now();
        let id = key.id();
        let current = self.memory(&id).or_else(|| self.store_get(&id));
        if current
            .as_ref()
            .is_some_and(|e| e.fresh_until.saturating_sub(margin) > now)
        {
            return Ok(None);
        }
        let e = self.fetch_and_keep(key, fetch)?;
        self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
        Ok(Some(e.body))
    }

    /// Prometheus text for the cache (names and labels from a fixed set).
    pub fn render_metrics(&self) -> String {
        use std::fmt::Write;
        let s = &self.stats;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# HELP kyso_revocation_cache_hits_total OCSP/CRL answers served from the cache"
        );
        let _ = writeln!(o, "# TYPE kyso_revocation_cache_hits_total counter");
        let _ = writeln!(
            o,
            "kyso_revocation_cache_hits_total{{layer=\"memory\"}} {}",
            get(&s.memory_hits)
        );
        let _ = writeln!(
            o,
            "kyso_revocation_cache_hits_total{{layer=\"store\"}} {}",
            get(&s.store_hits)
        );
        for (name, help, v) in [
            (
                "kyso_revocation_fetches_total",
                "OCSP/CRL fetches",
                get(&s.fetches),
            ),
            (
                "kyso_revocation_fetch_errors_total",
                "OCSP/CRL fetches that failed",
                get(&s.fetch_errors),
            ),
            (
                "kyso_revocation_fetch_milliseconds_total",
                "time spent fetching OCSP/CRL",
                get(&s.fetch_ms),
            ),
            (
                "kyso_revocation_stale_served_total",
                "stale answers used because a fetch failed",
                get(&s.stale_served),
            ),
            (
                "kyso_revocation_refreshes_total",
                "background refreshes of CRLs before their nextUpdate",
                get(&s.refreshes),
            ),
        ] {
            let _ = writeln!(o, "# HELP {name} {help}");
            let _ = writeln!(o, "# TYPE {name} counter");
            let _ = writeln!(o, "{name} {v}");
        }
        o
    }

    /// The answer kept for `key`, fresh or not.
    pub fn current(&self, key: &CacheKey) -> Option<Raw> {
        let id = key.id();
        self.memory(&id)
            .or_else(|| self.store_get(&id))
            .map(|e| e.body)
    }

    /// The CRL keys used within the last day (for background refresh).
    pub fn recent_crls(&self) -> Vec<CacheKey> {
        let now = self.clock.now();
        let Ok(mut m) = self.recent.lock() else {
            return Vec::new();
        };
        m.retain(|_, (_, used)| now.saturating_sub(*used) < RECENT_SECS);
        m.values().map(|(k, _)| k.clone()).collect()
    }
}

impl Shared for RevocationCache {
    fn get_or_fetch(
        &self,
        key: &CacheKey,
        fetch: &mut dyn FnMut() -> Result<Vec<u8>, String>,
    ) -> Result<Raw, String> {
        let id = key.id();
        let now = self.clock.now();
        if key.kind == Kind::Crl {
            if let Ok(mut m) = self.recent.lock() {
                if m.len() < MAX_COUNTED_URLS || m.contains_key(&id) {
                    m.insert(id.clone(), (key.clone(), now));
                }
            }
        }
        if let Some(e) = self.memory(&id).filter(|e| now < e.fresh_until) {
            self.stats.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(e.body);
        }
        // One fetch per key at a time on this node: the others wait for it.
        let gate = {
            let Ok(mut f) = self.inflight.lock() else {
                return Err("revocation cache lock poisoned".into());
            };
            f.entry(id.clone()).or_default().clone()
        };
        let result = {
            let _turn = gate.lock().map_err(|_| "revocation cache lock poisoned")?;
            if let Some(e) = self.memory(&id).filter(|e| now < e.fresh_until) {
                self.stats.memory_hits.fetch_add(1, Ordering::Relaxed);
                Ok(e.body)
            } else if let Some(e) = self.store_get(&id).filter(|e| now < e.fresh_until) {
                self.stats.store_hits.fetch_add(1, Ordering::Relaxed);
                self.remember(&id, e.clone());
                Ok(e.body)
            } else {
                match self.fetch_and_keep(key, fetch) {
                    Ok(e) => Ok(e.body),
                    // A stale answer is better evidence than none: status_at
                    // judges what it covers.
                    Err(why) => match self.memory(&id).or_else(|| self.store_get(&id)) {
                        Some(e) => {
                            self.stats.stale_served.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(url = %key.url, error = %why, "revocation fetch failed; stale answer used");
                            Ok(e.body)
                        }
                        None => Err(why),
                    },
                }
            }
        };
        if let Ok(mut f) = self.inflight.lock() {
            if Arc::strong_count(&gate) <= 2 {
                f.remove(&id);
            }
        }
        result
    }
}
