//! BOSH keepalive: the session tokens (jid, sid, next rid, service) kept in
//! a private file (mode 0600, in a 0700 directory) instead of Strophe's
//! sessionStorage, so that `restore()` in a new process can attach again.

use crate::error::{Error, Result};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What a keepalive file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub service: String,
    pub jid: String,
    pub sid: String,
    /// The next rid to use.
    pub rid: u64,
}

/// The per-user default: `$XDG_RUNTIME_DIR/epode/bosh-session`, else
/// `$HOME/.local/state/epode/bosh-session`.
pub fn default_path() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("epode").join("bosh-session"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            Error::InvalidArgument(
                "neither XDG_RUNTIME_DIR nor HOME is set: give keepalive_path".into(),
            )
        })?;
    Ok(PathBuf::from(home).join(".local/state/epode/bosh-session"))
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::io_from(format!("{what} {}: {e}", path.display()), e)
}

/// Writes the session atomically (temp file + rename), owner-only.
pub fn save(path: &Path, session: &StoredSession) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io_error(dir, "cannot create", e))?;
        }
    }
    let tmp = path.with_extension("tmp");
    let text = format!(
        "epode-bosh-session 1\nservice={}\njid={}\nsid={}\nrid={}\n",
        session.service, session.jid, session.sid, session.rid
    );
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_error(&tmp, "cannot write", e))?;
    // An existing file may have been created with looser permissions.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| io_error(&tmp, "cannot protect", e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| io_error(&tmp, "cannot write", e))?;
    fs::rename(&tmp, path).map_err(|e| io_error(path, "cannot replace", e))
}

/// Checks before a login that the session could be kept at `path`: its
/// directory exists (or can be made, owner-only) and takes a file.
pub fn check_writable(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io_error(dir, "keepalive: cannot create", e))?;
    }
    let probe = path.with_extension("probe");
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&probe)
        .map_err(|e| io_error(&probe, "keepalive: cannot write", e))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// The file's text, if it is this user's own and private: its tokens let
/// anyone who can write it steer our next session, so, as OpenSSH does with
/// its keys, a file another user owns or others may read or write is not
/// trusted. Checked on the open file, so it cannot be swapped in between.
fn read_private(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let mut file = fs::File::open(path)?;
    let meta = file.metadata()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me || meta.mode() & 0o077 != 0 || !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "not trusted: owner uid {} (we are {me}), mode {:04o} (must be 0600 or stricter)",
                meta.uid(),
                meta.mode() & 0o7777
            ),
        ));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// Reads a stored session. A missing, foreign or corrupt file is
/// `Error::NoSession`, never a guess.
pub fn load(path: &Path) -> Result<StoredSession> {
    let text = match read_private(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoSession(format!(
                "no session stored in {}",
                path.display()
            )))
        }
        Err(e) => {
            return Err(Error::NoSession(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let corrupt = |why: &str| {
        Error::NoSession(format!(
            "{} is not a valid session file ({why})",
            path.display()
        ))
    };
    let mut lines = text.lines();
    if lines.next() != Some("epode-bosh-session 1") {
        return Err(corrupt("bad header"));
    }
    let mut get = |key: &str| -> Result<String> {
        let line = lines.next().ok_or_else(|| corrupt("truncated"))?;
        line.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::to_string)
            .ok_or_else(|| corrupt(&format!("expected {key}")))
    };
    let service = get("service")?;
    let jid = get("jid")?;
    let sid = get("sid")?;
    let rid = get("rid")?
        .parse::<u64>()
        .map_err(|_| corrupt("rid is not a number"))?;
    if sid.is_empty() || crate::jid::Jid::parse(&jid).is_err() {
        return Err(corrupt("empty sid or invalid JID"));
    }
    Ok(StoredSession {
        service,
        jid,
        sid,
        rid,
    })
}

/// Removes the stored session (on disconnect); a missing file is fine.
pub fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("epode-keepalive-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_file_others_may_read_or_write_is_not_trusted() {
        let dir = temp_dir("perms");
        let path = dir.join("session");
        let s = StoredSession {
            service: "http://127.0.0.1:15224/http-bind".into(),
            jid: "alice@localhost/res".into(),
            sid: "abc".into(),
            rid: 7,
        };
        save(&path, &s).unwrap();
        for mode in [0o644, 0o660, 0o602, 0o666] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            match load(&path) {
                Err(Error::NoSession(m)) => assert!(m.contains("not trusted"), "{m}"),
                other => panic!("mode {mode:o}: {other:?}"),
            }
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(load(&path).unwrap(), s);
        // Another owner (only root can make one here).
        if unsafe { libc::geteuid() } == 0 {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
            match load(&path) {
                Err(Error::NoSession(m)) => assert!(m.contains("owner uid 65534"), "{m}"),
                other => panic!("a foreign file: {other:?}"),
            }
        }
    }

    #[test]
    fn saves_private_and_loads_back() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("sub").join("session");
        let s = StoredSession {
            service: "http://127.0.0.1:15224/http-bind".into(),
            jid: "alice@localhost/res".into(),
            sid: "abc".into(),
            rid: 12345,
        };
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), s);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
        remove(&path);
        assert!(matches!(load(&path), Err(Error::NoSession(_))));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn corrupt_files_are_no_session() {
        let dir = temp_dir("corrupt");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("session");
        for bad in [
            "",
            "garbage",
            "epode-bosh-session 1\nservice=x\n",
            "epode-bosh-session 1\nservice=x\njid=alice@localhost\nsid=s\nrid=notanumber\n",
            "epode-bosh-session 1\nservice=x\njid=@bad\nsid=s\nrid=1\n",
            "epode-bosh-session 1\nservice=x\njid=alice@localhost\nsid=\nrid=1\n",
            "epode-bosh-session 1\njid=alice@localhost\nservice=x\nsid=s\nrid=1\n",
        ] {
            fs::write(&path, bad).unwrap();
            assert!(matches!(load(&path), Err(Error::NoSession(_))), "{bad:?}");
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn writability_is_checked_before_a_login() {
        let dir = temp_dir("writable");
        assert!(check_writable(&dir.join("a").join("session")).is_ok());
        let err = check_writable(Path::new("/proc/epode-no/session")).unwrap_err();
        assert!(
            matches!(err, Error::Io { ref message, .. } if message.contains("keepalive")),
            "{err:?}"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_path_is_a_clear_error() {
        let err = save(
            Path::new("/proc/epode-cannot-be-here/session"),
            &StoredSession {
                service: "s".into(),
                jid: "a@b".into(),
                sid: "x".into(),
                rid: 1,
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
    }
}
