//! Bounded reads of the small system files names come from (`/etc/services`,
//! `/etc/hosts`, `/etc/resolv.conf`): regular files only, at most 1 MiB.
//! A FIFO or device put in their place must not hang or flood the reader,
//! so the open is non-blocking and the size is enforced while reading.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Largest system file read: real ones are tens of KiB.
pub const MAX_FILE: u64 = 1024 * 1024;

/// Why a system file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not a regular file")]
    NotRegular { path: String },
    #[error("{path}: larger than {MAX_FILE} bytes")]
    TooLarge { path: String },
}

/// The text of `path` (invalid UTF-8 replaced), if it is a regular file of
/// at most [`MAX_FILE`] bytes.
pub fn read_small(path: &Path) -> Result<String, FileError> {
    let shown = crate::text::escape_control(&path.display().to_string());
    let io = |source| FileError::Io { path: shown.clone(), source };
    let file = std::fs::OpenOptions::new().read(true).custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32).open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(FileError::NotRegular { path: shown });
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(FileError::TooLarge { path: shown });
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_directories_and_missing_files() {
        assert!(matches!(read_small(Path::new("/")), Err(FileError::NotRegular { .. })));
        assert!(matches!(read_small(Path::new("/nonexistent/necromap")), Err(FileError::Io { .. })));
    }

    #[test]
    fn refuses_large_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'a'; (MAX_FILE + 1) as usize]).expect("write");
        assert!(matches!(read_small(&path), Err(FileError::TooLarge { .. })));
        std::fs::write(&path, "ok").expect("write");
        assert_eq!(read_small(&path).expect("read"), "ok");
    }
}
