//! Request limits per minute — per client address for requests without a
//! valid key and for the public page, per API key when configured — shared
//! by every node when the metadata store can share them (PostgreSQL: one
//! counter row per subject and minute, `INSERT … ON CONFLICT … RETURNING`),
//! else counted on this node (the embedded store serves one node).
//!
//! Each node counts locally too, and a subject already over its limit here
//! is refused without asking the database: a flood costs the database at
//! most `limit` writes per subject, minute and node. A database that does
//! not answer leaves the node's own count in force.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::archive::MetaStore;

/// Most subjects counted at once on a node (then the table starts again).
const MAX_SUBJECTS: usize = 65_536;

#[derive(Default)]
pub struct RateLimits {
    local: Mutex<HashMap<String, (i64, u64)>>,
}

impl RateLimits {
    /// This node's count of `subject` in `minute`, with one more request.
    fn local_hit(&self, subject: &str, minute: i64) -> u64 {
        let Ok(mut m) = self.local.lock() else {
            return 0;
        };
        if m.len() >= MAX_SUBJECTS && !m.contains_key(subject) {
            m.clear();
        }
        let e = m.entry(subject.to_string()).or_insert((minute, 0));
        if e.0 != minute {
            *e = (minute, 0);
        }
        e.1 = e.1.saturating_add(1);
        e.1
    }

    /// Count one request of `subject` at `now` (Unix seconds); whether it
    /// is over `limit` requests in this minute, on all nodes together.
    pub async fn over(&self, meta: &dyn MetaStore, subject: &str, now: i64, limit: u32) -> bool {
        let minute = now.div_euclid(60);
        let here = self.local_hit(subject, minute);
        if here > u64::from(limit) {
            return true;
        }
        match meta.count_request(subject, minute).await {
            Ok(Some(all)) => all > u64::from(limit),
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "shared request count: this node's count applies");
                false
            }
        }
    }
}

/// Seconds until the current minute ends (the Retry-After of a 429).
pub fn retry_after(now: i64) -> u64 {
    u64::try_from(60 - now.rem_euclid(60)).unwrap_or(60)
}
