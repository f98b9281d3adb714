//! Blob stores: files on disk (embedded default) and S3-compatible object storage.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};

use super::{ArchiveError, BlobStore, Result, is_sha256_hex};

/// Blobs as files `DIR/blobs/ab/abcdef…`, written temp → fsync → rename → fsync dir.
pub struct FileBlobs {
    root: PathBuf,
}

impl FileBlobs {
    pub fn open(data_dir: &Path) -> Result<Self> {
        let root = data_dir.join("blobs");
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(data_dir.join("tmp"))?;
        Ok(FileBlobs { root })
    }

    fn path(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[..2]).join(sha)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.with_file_name("tmp")
    }
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn write_durable(final_path: &Path, tmp_dir: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = final_path
        .parent()
        .ok_or_else(|| std::io::Error::other("blob path has no parent"))?;
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        if let Some(up) = dir.parent() {
            fsync_dir(up)?;
        }
    }
    let tmp = tmp_dir.join(format!(
        "{}.{}.{}",
        final_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut f = std::fs::File::create(&tmp)?;
    let r = f.write_all(data).and_then(|_| f.sync_all());
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(f);
    if let Err(e) = std::fs::rename(&tmp, final_path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    fsync_dir(dir)
}

#[async_trait::async_trait]
impl BlobStore for FileBlobs {
    async fn put(&self, sha256: &str, data: Bytes) -> Result<()> {
        if !is_sha256_hex(sha256) {
            return Err(ArchiveError::Integrity(format!("bad blob name {sha256}")));
        }
        let path = self.path(sha256);
        let tmp = self.tmp_dir();
        tokio::task::spawn_blocking(move || {
            // Same name, same bytes: an existing complete file is kept.
            if let Ok(m) = std::fs::metadata(&path)
                && m.len() == data.len() as u64
            {
                return Ok(());
            }
            write_durable(&path, &tmp, &data)
        })
        .await
        .map_err(|e| ArchiveError::Io(std::io::Error::other(e.to_string())))??;
        Ok(())
    }

    async fn get(&self, sha256: &str) -> Result<Option<Bytes>> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        match tokio::fs::read(self.path(sha256)).await {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self) -> Result<Vec<String>> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<String>> {
            let mut out = Vec::new();
            for d in std::fs::read_dir(&root)? {
                let d = d?;
                if !d.file_type()?.is_dir() {
                    out.push(d.file_name().to_string_lossy().into_owned());
                    continue;
                }
                for f in std::fs::read_dir(d.path())? {
                    out.push(f?.file_name().to_string_lossy().into_owned());
                }
            }
            out.sort();
            Ok(out)
        })
        .await
        .map_err(|e| ArchiveError::Io(std::io::Error::other(e.to_string())))?
    }

    async fn ping(&self) -> Result<()> {
        tokio::fs::metadata(&self.root).await?;
        Ok(())
    }
}

/// Settings of an S3-compatible bucket.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct S3Config {
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Key prefix inside the bucket.
    #[serde(default = "default_prefix")]
    pub prefix: String,
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_prefix() -> String {
    "blobs/".into()
}

/// Blobs as objects `PREFIX<sha256>` in an S3 bucket, created with
/// `If-None-Match` semantics (never overwritten).
pub struct S3Blobs {
    store: object_store::aws::AmazonS3,
    prefix: String,
}

fn obj_err(e: object_store::Error) -> ArchiveError {
    ArchiveError::Object(e.to_string())
}

impl S3Blobs {
    pub fn new(cfg: &S3Config) -> Result<Self> {
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&cfg.endpoint)
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_access_key_id(&cfg.access_key_id)
            .with_secret_access_key(&cfg.secret_access_key)
            .with_allow_http(cfg.endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false)
            .build()
            .map_err(obj_err)?;
        Ok(S3Blobs {
            store,
            prefix: cfg.prefix.clone(),
        })
    }

    fn key(&self, sha: &str) -> object_store::path::Path {
        object_store::path::Path::from(format!("{}{}", self.prefix, sha))
    }
}

#[async_trait::async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, sha256: &str, data: Bytes) -> Result<()> {
        if !is_sha256_hex(sha256) {
            return Err(ArchiveError::Integrity(format!("bad blob name {sha256}")));
        }
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&self.key(sha256), PutPayload::from_bytes(data), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(object_store::Error::Precondition { .. }) => Ok(()),
            Err(e) => Err(obj_err(e)),
        }
    }

    async fn get(&self, sha256: &str) -> Result<Option<Bytes>> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        match self.store.get(&self.key(sha256)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(obj_err)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(obj_err(e)),
        }
    }

    async fn list(&self) -> Result<Vec<String>> {
        let prefix = object_store::path::Path::from(self.prefix.trim_end_matches('/'));
        let mut s = self.store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(m) = s.next().await {
            let m = m.map_err(obj_err)?;
            let name = m.location.filename().unwrap_or_default().to_string();
            out.push(name);
        }
        out.sort();
        Ok(out)
    }

    async fn ping(&self) -> Result<()> {
        let prefix = object_store::path::Path::from(self.prefix.trim_end_matches('/'));
        self.store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(obj_err)?;
        Ok(())
    }
}
