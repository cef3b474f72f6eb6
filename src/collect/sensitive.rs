//! Which open files hold secrets worth noticing next to a network socket:
//! SSH private keys, cloud credentials, wallets, PEM and key files, `.env`.
//! The collector keeps only these paths (never every open file), so the
//! decision is made here, once, when an fd is first read.

/// Whether an fd link target names a file that holds secrets.
pub fn is_sensitive_path(path: &str) -> bool {
    if !path.starts_with('/') {
        return false; // sockets, pipes, anon inodes
    }
    let base = path.rsplit('/').next().unwrap_or(path);
    // Certificate bundles end in .pem too, and hold nothing secret.
    if path.contains("/certs/") || path.contains("certifi") || base.contains("cacert") || base.contains("ca-bundle") || base.contains("ca-certificates") {
        return false;
    }
    let ssh_private_key = path.contains("/.ssh/id_") && !has_extension(base, "pub") && base.starts_with("id_");
    ssh_private_key
        || path.ends_with("/.aws/credentials")
        || path.ends_with("/.config/gcloud/credentials.db")
        || base == "wallet.dat"
        || has_extension(base, "pem")
        || has_extension(base, "key")
        || base == ".env"
}

/// `base` is `<something>.<ext>`, the extension in any case.
fn has_extension(base: &str, ext: &str) -> bool {
    base.rsplit_once('.').is_some_and(|(stem, e)| !stem.is_empty() && e.eq_ignore_ascii_case(ext))
}

/// Most paths kept per process: enough to show, bounded against a process
/// that opens thousands of key files.
pub const MAX_SENSITIVE_FILES: usize = 8;

#[cfg(test)]
mod tests {
    use super::is_sensitive_path;

    #[test]
    fn secrets_are_recognised() {
        for p in [
            "/root/.ssh/id_ed25519",
            "/home/a/.ssh/id_rsa",
            "/home/a/.aws/credentials",
            "/home/a/.bitcoin/wallet.dat",
            "/etc/ssl/private/server.key",
            "/srv/app/tls.pem",
            "/srv/app/.env",
        ] {
            assert!(is_sensitive_path(p), "{p}");
        }
    }

    #[test]
    fn ordinary_files_are_not() {
        for p in [
            "/home/a/.ssh/id_rsa.pub",
            "/home/a/.ssh/known_hosts",
            "/var/log/syslog",
            "/srv/app/.env.example",
            "/srv/app/keys/.key",
            "socket:[1234]",
            "pipe:[55]",
            "anon_inode:[eventpoll]",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/python3/dist-packages/certifi/cacert.pem",
            "/etc/ssl/certs/ISRG_Root_X1.pem",
        ] {
            assert!(!is_sensitive_path(p), "{p}");
        }
    }
}
