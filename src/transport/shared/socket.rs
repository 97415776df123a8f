//! The Unix socket of a worker named by a path: created owner-only,
//! refusing peers of another user, and taken over when a killed host
//! left it behind. OpenSSH's ControlMaster is the model: bind under a
//! private temporary name, then move it into place.

use crate::error::{Error, Result};
use std::fs;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The user id of the process at the other end of `fd`.
fn peer_uid(fd: &impl AsRawFd) -> std::io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are live locals of the sizes getsockopt expects.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred.uid)
}

fn my_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether the process at the other end runs as our user. The socket's
/// mode already keeps others out; this holds even if someone changed it.
pub(crate) fn same_user(stream: &UnixStream) -> bool {
    peer_uid(stream).is_ok_and(|uid| uid == my_uid())
}

/// What is at a worker path.
pub(crate) enum Found {
    /// A live manager answered, run by our user.
    Host(UnixStream),
    /// Nothing, or a socket nobody listens on (its host was killed).
    Nobody,
}

/// Looks for a live manager at `path`.
pub(crate) fn find_host(path: &Path) -> Result<Found> {
    match UnixStream::connect(path) {
        Ok(stream) => {
            if !same_user(&stream) {
                return Err(Error::io(format!(
                    "the worker socket {} belongs to another user; refused",
                    path.display()
                )));
            }
            Ok(Found::Host(stream))
        }
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            Ok(Found::Nobody)
        }
        Err(e) => Err(Error::io_from(
            format!("cannot reach the worker socket {}: {e}", path.display()),
            e,
        )),
    }
}

/// Serializes the takeover of one worker path between processes: held
/// while a process checks for a host and binds in its place.
pub(crate) struct TakeoverLock {
    _file: fs::File,
}

impl TakeoverLock {
    pub fn acquire(path: &Path, timeout: Duration) -> Result<TakeoverLock> {
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode_0600()
            .open(&lock_path)
            .map_err(|e| {
                Error::io_from(
                    format!(
                        "cannot create the worker lock {}: {e}",
                        Path::new(&lock_path).display()
                    ),
                    e,
                )
            })?;
        let deadline = Instant::now() + timeout;
        loop {
            // SAFETY: flock on a descriptor we own.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(TakeoverLock { _file: file });
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout(format!(
                    "another process holds the worker lock {}",
                    Path::new(&lock_path).display()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o600)
    }
}

/// The listening socket of a hosted worker, and the file it owns.
pub(crate) struct Listener {
    pub socket: UnixListener,
    path: PathBuf,
    /// Device and inode of our socket file: we remove only our own.
    identity: (u64, u64),
}

impl Listener {
    /// Binds `path` owner-only (mode 0600), replacing a stale socket. Call
    /// with the takeover lock held and after `find_host` found nobody.
    pub fn bind(path: &Path) -> Result<Listener> {
        let shown = path.display();
        match fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(Error::InvalidArgument(format!(
                    "{shown} exists and is not a socket; refusing to replace it"
                )))
            }
            _ => {}
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Bound in a private directory, so that nobody can connect before
        // the mode is set, then moved into place in one step.
        let staging = private_dir(&parent).map_err(|e| {
            Error::io_from(format!("cannot create the worker socket {shown}: {e}"), e)
        })?;
        let staged = staging.join("s");
        let result = (|| -> std::io::Result<Listener> {
            let socket = UnixListener::bind(&staged)?;
            fs::set_permissions(&staged, fs::Permissions::from_mode(0o600))?;
            fs::rename(&staged, path)?;
            let meta = fs::symlink_metadata(path)?;
            socket.set_nonblocking(true)?;
            Ok(Listener {
                socket,
                path: path.to_path_buf(),
                identity: (meta.dev(), meta.ino()),
            })
        })();
        let _ = fs::remove_file(&staged);
        let _ = fs::remove_dir(&staging);
        result
            .map_err(|e| Error::io_from(format!("cannot create the worker socket {shown}: {e}"), e))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let ours =
            fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// mkdtemp in `parent`: a fresh directory only we may enter.
fn private_dir(parent: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut template = parent
        .join(".epode-worker-XXXXXX")
        .into_os_string()
        .into_vec();
    template.push(0);
    // SAFETY: template is a NUL-terminated buffer that mkdtemp rewrites in place.
    let made = unsafe { libc::mkdtemp(template.as_mut_ptr().cast()) };
    if made.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    template.pop();
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(&template)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("epode-sock-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_socket_is_owner_only_and_removed_with_its_listener() {
        let dir = temp_dir("mode");
        let path = dir.join("w.sock");
        let listener = Listener::bind(&path).unwrap();
        let meta = fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let Found::Host(stream) = find_host(&path).unwrap() else {
            panic!("the bound socket did not answer");
        };
        assert!(same_user(&stream));
        drop(listener);
        assert!(!path.exists());
        // No staging directory is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stale_socket_is_found_empty_and_replaced() {
        let dir = temp_dir("stale");
        let path = dir.join("w.sock");
        // A listener dropped without cleanup, as by a killed process.
        let old = UnixListener::bind(&path).unwrap();
        drop(old);
        assert!(path.exists());
        assert!(matches!(find_host(&path).unwrap(), Found::Nobody));
        let _lock = TakeoverLock::acquire(&path, Duration::from_secs(1)).unwrap();
        let listener = Listener::bind(&path).unwrap();
        assert!(matches!(find_host(&path).unwrap(), Found::Host(_)));
        drop(listener);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_regular_file_is_never_replaced() {
        let dir = temp_dir("file");
        let path = dir.join("notes.txt");
        fs::write(&path, "keep me").unwrap();
        let err = Listener::bind(&path).err().unwrap();
        assert!(err.to_string().contains("not a socket"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "keep me");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_takeover_lock_is_exclusive() {
        let dir = temp_dir("lock");
        let path = dir.join("w.sock");
        let held = TakeoverLock::acquire(&path, Duration::from_secs(1)).unwrap();
        let err = TakeoverLock::acquire(&path, Duration::from_millis(50))
            .err()
            .unwrap();
        assert!(matches!(err, Error::Timeout(_)), "{err}");
        drop(held);
        TakeoverLock::acquire(&path, Duration::from_millis(50)).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
