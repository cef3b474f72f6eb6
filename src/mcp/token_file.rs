//! The generated MCP token's file, written so that no other local user can
//! read it or make necromap write somewhere else: the directory is created
//! with mode 0700 or must already be a real directory owned by us with no
//! access for others, and the file is created fresh with
//! `O_CREAT | O_EXCL | O_NOFOLLOW` (an old file of ours is removed first;
//! a symlink, or a file or directory owned by someone else, is refused).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Why the token file could not be written safely: a sentence naming the
/// path and what is wrong.
fn refuse(path: &Path, what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, format!("{}: {what}; remove it or set NECROMAP_MCP_TOKEN", path.display()))
}

/// The directory for the token: created 0700 when missing, else checked.
fn private_dir(dir: &Path, uid: u32) -> std::io::Result<()> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Err(refuse(dir, "is a symbolic link, not a directory"));
    }
    if !meta.is_dir() {
        return Err(refuse(dir, "is not a directory"));
    }
    if meta.uid() != uid {
        return Err(refuse(dir, &format!("is owned by uid {}, not by this user (uid {uid})", meta.uid())));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(refuse(dir, &format!("has mode {:o}: others may read or write it (it must be 0700)", meta.mode() & 0o777)));
    }
    Ok(())
}

/// Write `text` to a new file at `path` that only this user can read.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let uid = rustix::process::geteuid().as_raw();
    if let Some(dir) = path.parent() {
        private_dir(dir, uid)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(refuse(path, "is a symbolic link")),
        Ok(meta) if !meta.is_file() => return Err(refuse(path, "is not a regular file")),
        Ok(meta) if meta.uid() != uid => return Err(refuse(path, &format!("is owned by uid {}, not by this user (uid {uid})", meta.uid()))),
        // Our own old token: replaced by a fresh file, never rewritten.
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32).open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_root() -> bool {
        rustix::process::geteuid().is_root()
    }

    #[test]
    fn a_new_token_file_is_private_and_an_old_one_of_ours_is_replaced() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("necromap").join("mcp-token");
        write_private(&path, "first").expect("write");
        write_private(&path, "second").expect("rewrite");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "second\n");
        assert_eq!(std::fs::metadata(&path).expect("meta").mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().expect("dir")).expect("meta").mode() & 0o777, 0o700);
    }

    #[test]
    fn a_planted_symlink_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().expect("tmp");
        let private = dir.path().join("necromap");
        std::fs::DirBuilder::new().mode(0o700).create(&private).expect("dir");
        let target = dir.path().join("victim");
        std::fs::write(&target, "precious").expect("victim");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("mode");
        std::os::unix::fs::symlink(&target, private.join("mcp-token")).expect("symlink");
        let e = write_private(&private.join("mcp-token"), "token").expect_err("refused");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "precious", "not truncated");
        assert_eq!(std::fs::metadata(&target).expect("meta").mode() & 0o777, 0o644, "not chmodded");
    }

    #[test]
    fn an_open_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let shared = dir.path().join("necromap");
        std::fs::DirBuilder::new().mode(0o777).create(&shared).expect("dir");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("mode");
        let e = write_private(&shared.join("mcp-token"), "token").expect_err("refused");
        assert!(e.to_string().contains("mode 777"), "{e}");
    }

    #[test]
    fn files_and_directories_of_other_users_are_refused() {
        assert!(is_root(), "this test plants files owned by another user: run it as root (CI does)");
        let nobody = 65_534;
        let dir = tempfile::tempdir().expect("tmp");
        // A foreign file in our directory: refused, not read back.
        let ours = dir.path().join("ours");
        std::fs::DirBuilder::new().mode(0o700).create(&ours).expect("dir");
        let planted = ours.join("mcp-token");
        std::fs::write(&planted, "attacker-known-token").expect("plant");
        std::os::unix::fs::chown(&planted, Some(nobody), Some(nobody)).expect("chown");
        let e = write_private(&planted, "token").expect_err("refused");
        assert!(e.to_string().contains("owned by uid 65534"), "{e}");
        assert_eq!(std::fs::read_to_string(&planted).expect("read"), "attacker-known-token");
        // A foreign directory: refused.
        let theirs = dir.path().join("theirs");
        std::fs::DirBuilder::new().mode(0o700).create(&theirs).expect("dir");
        std::os::unix::fs::chown(&theirs, Some(nobody), Some(nobody)).expect("chown");
        let e = write_private(&theirs.join("mcp-token"), "token").expect_err("refused");
        assert!(e.to_string().contains("owned by uid 65534"), "{e}");
    }
}
