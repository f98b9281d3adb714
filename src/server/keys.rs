//! API keys managed at run time: create, revoke and rotate, for the admin
//! CLI (`kyso keys …`) and the admin endpoints (`/v1/keys`). Each change
//! is written with its audit entry in one transaction; only the SHA-256 of
//! a secret is stored, the secret is shown once. The rules are
//! [`crate::archive::plan_key_change`]'s, shared by both stores.

use serde::Serialize;

use super::ROLES;
use crate::archive::{ApiKeyRecord, Archive, ArchiveError, AuditDraft, KeyChange, sha256_hex};

/// A stored key as an admin sees it (never its hash).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    pub id: String,
    pub role: String,
    pub created: String,
    /// When a rotated key stops working (RFC 3339).
    pub expires: Option<String>,
    pub revoked: Option<String>,
    /// Whether it lets its holder in now.
    pub usable: bool,
}

/// A key made now: the secret, shown once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NewKey {
    pub id: String,
    pub role: String,
    pub secret: String,
    /// For a rotation: the key replaced and when it stops working.
    pub replaces: Option<String>,
    pub replaced_until: Option<String>,
}

/// Who makes a change, for its audit entry.
pub struct Actor<'a> {
    pub key_id: &'a str,
    pub role: &'a str,
}

impl<'a> From<&'a super::Caller> for Actor<'a> {
    fn from(c: &'a super::Caller) -> Self {
        Actor {
            key_id: &c.key_id,
            role: &c.role,
        }
    }
}

/// A new key of `role`: its record (hash only) and its secret.
pub fn new_record(role: &str, created: &str) -> (ApiKeyRecord, String) {
    let secret = super::new_key(role);
    let sha = sha256_hex(secret.as_bytes());
    (
        ApiKeyRecord {
            id: format!("{role}-{}", sha.get(..8).unwrap_or(&sha)),
            role: role.into(),
            key_sha256: sha,
            created: created.into(),
            expires: None,
            revoked: None,
        },
        secret,
    )
}

pub async fn list(archive: &Archive, now: i64) -> Result<Vec<KeyView>, ArchiveError> {
    let mut keys: Vec<KeyView> = archive
        .meta
        .api_keys()
        .await?
        .into_iter()
        .map(|k| KeyView {
            usable: k.usable(now),
            expires: k.expires.map(crate::pki::cert::fmt_unix),
            id: k.id,
            role: k.role,
            created: k.created,
            revoked: k.revoked,
        })
        .collect();
    keys.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    Ok(keys)
}

fn draft(who: &Actor, now_rfc: &str, action: &str, object: &str, outcome: String) -> AuditDraft {
    AuditDraft {
        time: now_rfc.into(),
        key_id: who.key_id.into(),
        role: who.role.into(),
        action: action.into(),
        object: object.into(),
        outcome,
    }
}

pub async fn create(
    archive: &Archive,
    who: &Actor<'_>,
    role: &str,
    now: i64,
) -> Result<NewKey, ArchiveError> {
    if !ROLES.contains(&role) {
        return Err(ArchiveError::Conflict(format!(
            "unknown role {role:?} (one of {})",
            ROLES.join(", ")
        )));
    }
    let now_rfc = crate::pki::cert::fmt_unix(now);
    let (rec, secret) = new_record(role, &now_rfc);
    let d = draft(who, &now_rfc, "key.create", &rec.id, format!("role {role}"));
    archive
        .meta
        .change_key(KeyChange::Create(rec.clone()), now, d)
        .await?;
    Ok(NewKey {
        id: rec.id,
        role: rec.role,
        secret,
        replaces: None,
        replaced_until: None,
    })
}

pub async fn revoke(
    archive: &Archive,
    who: &Actor<'_>,
    id: &str,
    now: i64,
) -> Result<(), ArchiveError> {
    let now_rfc = crate::pki::cert::fmt_unix(now);
    let d = draft(who, &now_rfc, "key.revoke", id, "revoked".into());
    let change = KeyChange::Revoke {
        id: id.into(),
        at: now_rfc,
    };
    archive.meta.change_key(change, now, d).await?;
    Ok(())
}

/// A new key of the same role; the old one keeps working `overlap_secs`.
pub async fn rotate(
    archive: &Archive,
    who: &Actor<'_>,
    id: &str,
    overlap_secs: u64,
    now: i64,
) -> Result<NewKey, ArchiveError> {
    let now_rfc = crate::pki::cert::fmt_unix(now);
    let old = archive.meta.api_keys().await?;
    let role = old
        .iter()
        .find(|k| k.id == id)
        .map(|k| k.role.clone())
        .ok_or_else(|| {
            ArchiveError::Conflict(format!(
                "no stored key {id} (keys in the configuration file are changed there)"
            ))
        })?;
    let (rec, secret) = new_record(&role, &now_rfc);
    let until = now.saturating_add(i64::try_from(overlap_secs).unwrap_or(i64::MAX));
    let d = draft(
        who,
        &now_rfc,
        "key.rotate",
        id,
        format!(
            "replaced by {}; works until {}",
            rec.id,
            crate::pki::cert::fmt_unix(until)
        ),
    );
    let change = KeyChange::Rotate {
        id: id.into(),
        new: rec.clone(),
        old_until: until,
    };
    archive.meta.change_key(change, now, d).await?;
    Ok(NewKey {
        id: rec.id,
        role,
        secret,
        replaces: Some(id.into()),
        replaced_until: Some(crate::pki::cert::fmt_unix(until)),
    })
}
