//! Where the bytes of case attachments (photos, voice notes, scans) live: in a directory (the default beside a
//! SQLite database), in an S3-compatible bucket (several instances on PostgreSQL), or in the database itself
//! (`attachments.bytes`, the default on PostgreSQL when nothing is configured, and where attachments stored before
//! migration 0018 stay). Issue 22: a province's photos would otherwise make the database, its backups and its
//! replication grow by gigabytes.
//!
//! One API for the directory and the bucket: the `object_store` crate (Apache Arrow's), whose local-file store
//! writes each object atomically (a temporary file renamed into place) and whose S3 client signs requests with
//! the same reqwest and rustls the service already uses.
//!
//! Objects are named by the SHA-256 of their bytes (`attachments/ab/abcdef…`): writing the same photo twice is
//! harmless, a file written by a transaction that then failed is reused by the retry, and every read checks the
//! bytes against their name, so a damaged or swapped file is an error, never another citizen's photo.

use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::config::FilesAt;

/// The attachment files of one deployment.
#[derive(Clone)]
pub struct Files {
    at: FilesAt,
    /// None: in the database.
    objects: Option<Arc<dyn ObjectStore>>,
    prefix: String,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Files({})", self.at.describe())
    }
}

fn files_error(at: &FilesAt, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Files(format!("{what} in {}: {e}", at.describe()))
}

impl Files {
    /// Opens (creating a directory if missing) where files go.
    pub fn open(at: &FilesAt) -> Result<Self, StoreError> {
        let (objects, prefix): (Option<Arc<dyn ObjectStore>>, String) = match at {
            FilesAt::Database => (None, String::new()),
            FilesAt::Directory(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| files_error(at, "cannot create the directory", e))?;
                let local = LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| files_error(at, "cannot open the directory", e))?
                    .with_automatic_cleanup(true);
                (Some(Arc::new(local)), String::new())
            }
            FilesAt::S3 {
                bucket,
                prefix,
                settings,
            } => {
                let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
                for (key, value) in &settings.0 {
                    // Other AWS_* variables of the environment (a profile, a CLI pager) are not the bucket's.
                    if let Ok(key) = key.parse::<AmazonS3ConfigKey>() {
                        builder = builder.with_config(key, value);
                    }
                }
                let s3 = builder
                    .build()
                    .map_err(|e| files_error(at, "cannot configure the bucket", e))?;
                (Some(Arc::new(s3)), prefix.clone())
            }
        };
        Ok(Self {
            at: at.clone(),
            objects,
            prefix,
        })
    }

    fn object_path(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    /// Keeps `bytes` outside the database and returns the name to store in `attachments.location`; None when files
    /// are kept in the database (the caller stores the bytes in the row).
    pub async fn put(&self, bytes: &[u8]) -> Result<Option<String>, StoreError> {
        let Some(objects) = &self.objects else {
            return Ok(None);
        };
        let name = name_for(bytes);
        objects
            .put(&self.object_path(&name), PutPayload::from(bytes.to_vec()))
            .await
            .map_err(|e| files_error(&self.at, "cannot write a file", e))?;
        Ok(Some(name))
    }

    /// The bytes stored under `name`, checked against it.
    pub async fn get(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let Some(objects) = &self.objects else {
            return Err(StoreError::Corrupt(format!(
                "attachment {name} is kept outside the database, but YKIEN_FILES says the database"
            )));
        };
        let read = async { objects.get(&self.object_path(name)).await?.bytes().await };
        let bytes = match read.await {
            Ok(bytes) => bytes,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StoreError::NotFound(format!("the attachment file {name}")));
            }
            Err(e) => return Err(files_error(&self.at, "cannot read a file", e)),
        };
        if name_for(&bytes) != name {
            return Err(StoreError::Corrupt(format!(
                "the attachment file {name} does not hold the bytes it was written with"
            )));
        }
        Ok(bytes.to_vec())
    }
}

/// `attachments/ab/abcdef…`: the SHA-256 of the bytes, in 256 folders so that no directory grows too large.
fn name_for(bytes: &[u8]) -> String {
    let hex = hex::encode(Sha256::digest(bytes));
    format!("attachments/{}/{hex}", &hex[..2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_keeps_files_by_content_and_refuses_a_damaged_one() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let files = Files::open(&FilesAt::Directory(dir.path().join("files"))).expect("opened");
        let name = files
            .put(b"a photo")
            .await
            .expect("written")
            .expect("outside the database");
        assert_eq!(files.put(b"a photo").await.expect("written again"), Some(name.clone()));
        assert_eq!(files.get(&name).await.expect("read"), b"a photo");
        let on_disk = dir.path().join("files").join(&name);
        std::fs::write(&on_disk, b"another photo").expect("overwritten by hand");
        assert!(matches!(files.get(&name).await, Err(StoreError::Corrupt(_))));
        std::fs::remove_file(&on_disk).expect("removed by hand");
        assert!(matches!(files.get(&name).await, Err(StoreError::NotFound(_))));
        let in_database = Files::open(&FilesAt::Database).expect("opened");
        assert_eq!(in_database.put(b"a photo").await.expect("nothing to write"), None);
    }
}
