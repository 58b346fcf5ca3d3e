//! Where spoke keeps what lives outside the database: its local certificate authority
//! (`spoke serve --https-listen`, `spoke ca`) and keys that must not sit beside the data
//! they protect. One place decides the directory so that the server and every command
//! agree on it.
//!
//! - `SPOKE_DATA_DIR` when set (non-empty); otherwise the platform's per-user data
//!   directory plus `spoke`: `$XDG_DATA_HOME/spoke` or `~/.local/share/spoke` on Linux,
//!   `~/Library/Application Support/spoke` on macOS, `%APPDATA%\spoke` on Windows.
//! - The CA under `<data>/ca`, or `SPOKE_CA_DIR` when set.
//!
//! Nothing here creates a directory: callers that write use [`create_private_dir`] and
//! [`write_private_file`], which keep what they make readable by its owner only.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Overrides the data directory.
pub const DATA_DIR_ENV: &str = "SPOKE_DATA_DIR";
/// Overrides the certificate authority's directory (default `<data dir>/ca`).
pub const CA_DIR_ENV: &str = "SPOKE_CA_DIR";

/// spoke's data directory (absolute; not created).
pub fn data_dir() -> io::Result<PathBuf> {
    if let Some(dir) = env_path(DATA_DIR_ENV) {
        return std::path::absolute(dir);
    }
    dirs::data_dir().map(|d| d.join("spoke")).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no home directory to keep spoke's data in: set {DATA_DIR_ENV}"),
        )
    })
}

/// The directory of spoke's local certificate authority (absolute; not created).
pub fn ca_dir() -> io::Result<PathBuf> {
    match env_path(CA_DIR_ENV) {
        Some(dir) => std::path::absolute(dir),
        None => Ok(data_dir()?.join("ca")),
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Creates `dir` and its missing parents; the directories this call creates are readable
/// by their owner only (0700 on Unix). An existing directory is left as it is: the user
/// chose it.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `bytes` to `path` readable and writable by its owner only (0600 on Unix), all or
/// nothing: a temporary file beside it, synced, then renamed over it, so a crash or a
/// concurrent reader never sees half a key.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_file(path, bytes, true)
}

/// [`write_private_file`] for files meant to be shared (a CA certificate): mode 0644.
pub fn write_public_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_file(path, bytes, false)
}

fn write_file(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_and_dirs_are_the_owners_only() {
        let base = std::env::temp_dir().join(format!("spoke-datadir-{}", std::process::id()));
        let dir = base.join("a").join("b");
        create_private_dir(&dir).unwrap();
        let key = dir.join("key.pem");
        write_private_file(&key, b"one").unwrap();
        write_private_file(&key, b"two").unwrap();
        assert_eq!(fs::read(&key).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&key), 0o600);
            assert_eq!(mode(&dir), 0o700);
            write_public_file(&dir.join("ca.pem"), b"cert").unwrap();
            assert_eq!(mode(&dir.join("ca.pem")), 0o644);
        }
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        fs::remove_dir_all(&base).unwrap();
    }
}
