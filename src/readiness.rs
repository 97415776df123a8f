//! The one descriptor a caller's own loop waits on in pollable mode: an
//! epoll set holding what the engine itself would poll (its mailbox's
//! wake-up descriptor, and the transport's socket, for writing too while output
//! waits). The engine brings the set up to date after every step, so it
//! is readable exactly while a step has work (level-triggered, like the
//! descriptors inside it).

use std::io;
use std::os::fd::RawFd;
use std::sync::Mutex;

pub(crate) struct Readiness {
    epoll_fd: RawFd,
    /// What is registered now: descriptor and poll(2) events.
    registered: Mutex<Vec<(RawFd, i16)>>,
}

impl Readiness {
    pub fn new() -> crate::error::Result<Readiness> {
        // SAFETY: a plain syscall; the descriptor is ours until Drop.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(crate::error::Error::io_from(
                format!("cannot make the poll set: {e}"),
                e,
            ));
        }
        Ok(Readiness {
            epoll_fd: fd,
            registered: Mutex::new(Vec::new()),
        })
    }

    /// The epoll descriptor, readable while one of the set is ready.
    pub fn fd(&self) -> RawFd {
        self.epoll_fd
    }

    /// Makes the set hold exactly `wanted` (descriptor, POLLIN/POLLOUT).
    pub fn update(&self, wanted: &[(RawFd, i16)]) -> io::Result<()> {
        let mut registered = crate::mailbox::lock(&self.registered);
        for &(fd, _) in registered.iter() {
            if !wanted.iter().any(|&(w, _)| w == fd) {
                // A closed descriptor left the set by itself: ENOENT/EBADF.
                let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0);
            }
        }
        for &(fd, events) in wanted {
            let same = registered.contains(&(fd, events));
            // The number may be a new socket that reuses a closed one's:
            // register it again whatever we think is there.
            if same && self.ctl(libc::EPOLL_CTL_MOD, fd, events).is_ok() {
                continue;
            }
            if let Err(e) = self.ctl(libc::EPOLL_CTL_ADD, fd, events) {
                if e.raw_os_error() != Some(libc::EEXIST) {
                    return Err(e);
                }
                self.ctl(libc::EPOLL_CTL_MOD, fd, events)?;
            }
        }
        *registered = wanted.to_vec();
        Ok(())
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: i16) -> io::Result<()> {
        let mut mask = 0u32;
        if events & libc::POLLIN != 0 {
            mask |= libc::EPOLLIN as u32;
        }
        if events & libc::POLLOUT != 0 {
            mask |= libc::EPOLLOUT as u32;
        }
        let mut event = libc::epoll_event {
            events: mask,
            u64: fd as u64,
        };
        // SAFETY: `event` is a live epoll_event; the kernel only reads it.
        let rc = unsafe { libc::epoll_ctl(self.epoll_fd, op, fd, &mut event) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Drop for Readiness {
    fn drop(&mut self) {
        // SAFETY: our own descriptor, closed once, here.
        unsafe { libc::close(self.epoll_fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::{poll_fds, Mailbox};
    use std::time::Duration;

    fn readable(r: &Readiness) -> bool {
        let revents = poll_fds(&[(r.fd(), libc::POLLIN)], Some(Duration::ZERO)).unwrap();
        revents[0] & libc::POLLIN != 0
    }

    #[test]
    fn readable_while_a_member_is_and_no_longer() {
        let mb = Mailbox::<u8>::new().unwrap();
        let r = Readiness::new().unwrap();
        r.update(&[(mb.wake_fd(), libc::POLLIN)]).unwrap();
        assert!(!readable(&r));
        mb.post(1);
        assert!(readable(&r));
        let mut got = Vec::new();
        mb.drain(&mut got);
        assert!(!readable(&r), "level-triggered: quiet once drained");
        // Out of the set: a post no longer shows.
        r.update(&[]).unwrap();
        mb.post(2);
        assert!(!readable(&r));
        // Registered again (as if a new socket took the number).
        r.update(&[(mb.wake_fd(), libc::POLLIN)]).unwrap();
        r.update(&[(mb.wake_fd(), libc::POLLIN)]).unwrap();
        assert!(readable(&r));
    }

    #[test]
    fn writable_interest_comes_and_goes() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        let r = Readiness::new().unwrap();
        r.update(&[(a.as_raw_fd(), libc::POLLIN)]).unwrap();
        assert!(!readable(&r), "nothing to read");
        r.update(&[(a.as_raw_fd(), libc::POLLIN | libc::POLLOUT)])
            .unwrap();
        assert!(readable(&r), "an empty send buffer is writable");
        r.update(&[(a.as_raw_fd(), libc::POLLIN)]).unwrap();
        assert!(!readable(&r));
    }
}
