//! `YKIEN_FILES`: where case attachments are kept (issue 22; the store is `src/storage/files.rs`).

use std::fmt;
use std::path::PathBuf;

use super::DatabaseUrl;

/// Where attachments are kept, as `YKIEN_FILES` says: `database`, `s3://BUCKET[/PREFIX]` (credentials, region and
/// endpoint from the usual `AWS_*` variables), or a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilesAt {
    Database,
    Directory(PathBuf),
    S3 {
        bucket: String,
        prefix: String,
        /// The `AWS_*` settings given beside (credentials, region, endpoint, `AWS_ALLOW_HTTP`).
        settings: S3Settings,
    },
}

/// `AWS_*` settings for an S3-compatible bucket, names in lower case; never printed with their values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Settings(pub Vec<(String, String)>);

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(k, _)| k)).finish()
    }
}

impl FilesAt {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("database") {
            return Ok(Self::Database);
        }
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("s3:// needs a bucket name: s3://BUCKET or s3://BUCKET/PREFIX".into());
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
                settings: S3Settings::default(),
            });
        }
        if value.is_empty() || value.contains("://") {
            return Err(format!(
                "{value:?} is neither `database`, `s3://BUCKET[/PREFIX]` nor a directory"
            ));
        }
        Ok(Self::Directory(PathBuf::from(value)))
    }

    /// Without `YKIEN_FILES`: a directory beside a SQLite database (`ykien.db` → `ykien-files/`), which lives on one
    /// machine anyway; the database itself on PostgreSQL, where several instances could not share a directory of
    /// one of them (set a shared directory or a bucket there).
    pub fn default_for(url: &DatabaseUrl) -> Self {
        match url {
            DatabaseUrl::Sqlite { path } => {
                let stem = path
                    .file_stem()
                    .map_or("ykien".into(), |s| s.to_string_lossy().into_owned());
                Self::Directory(path.with_file_name(format!("{stem}-files")))
            }
            DatabaseUrl::Postgres { .. } => Self::Database,
        }
    }

    /// For messages: where files go, without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Database => "the database".into(),
            Self::Directory(dir) => format!("the directory {}", dir.display()),
            Self::S3 { bucket, prefix, .. } if prefix.is_empty() => format!("s3://{bucket}"),
            Self::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_and_wrong_ones_refused() {
        assert_eq!(FilesAt::parse("database"), Ok(FilesAt::Database));
        assert_eq!(
            FilesAt::parse("s3://ykien-photos/hung-yen/"),
            Ok(FilesAt::S3 {
                bucket: "ykien-photos".into(),
                prefix: "hung-yen".into(),
                settings: Default::default(),
            })
        );
        assert_eq!(
            FilesAt::parse("/var/lib/ykien/files"),
            Ok(FilesAt::Directory("/var/lib/ykien/files".into()))
        );
        for wrong in ["", "s3://", "s3:///prefix", "gs://bucket"] {
            assert!(FilesAt::parse(wrong).is_err(), "{wrong:?}");
        }
        let dir = std::env::temp_dir();
        let sqlite = DatabaseUrl::parse(&format!("sqlite://{}", dir.join("ykien.db").display())).expect("a SQLite URL");
        assert_eq!(
            FilesAt::default_for(&sqlite),
            FilesAt::Directory(dir.join("ykien-files"))
        );
    }
}
