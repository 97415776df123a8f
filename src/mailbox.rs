//! The engine's one inbox: commands from API calls (any thread) and
//! results from helper threads, with a pipe that wakes the engine from
//! `poll()`. The pipe is written only when the engine may be asleep, so a
//! busy engine takes a burst of sends without a syscall per send.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub(crate) struct Mailbox<T> {
    queue: Mutex<VecDeque<T>>,
    /// Set when a wake byte is in the pipe and not yet drained.
    signalled: AtomicBool,
    read_fd: RawFd,
    write_fd: RawFd,
}

impl<T> Mailbox<T> {
    pub fn new() -> io::Result<Mailbox<T>> {
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe2 writes.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Mailbox {
            queue: Mutex::new(VecDeque::new()),
            signalled: AtomicBool::new(false),
            read_fd: fds[0],
            write_fd: fds[1],
        })
    }

    /// The descriptor that becomes readable when something was posted.
    pub fn wake_fd(&self) -> RawFd {
        self.read_fd
    }

    pub fn post(&self, item: T) {
        lock(&self.queue).push_back(item);
        self.wake();
    }

    /// Wakes the engine without a command (a helper thread has news).
    pub fn wake(&self) {
        if !self.signalled.swap(true, Ordering::AcqRel) {
            let byte = 1u8;
            // SAFETY: write_fd is our open pipe; one byte from a live buffer.
            // A full pipe (EAGAIN) already means "wake up", so the result is moot.
            unsafe { libc::write(self.write_fd, (&byte as *const u8).cast(), 1) };
        }
    }

    /// Takes everything posted so far, and re-arms the wake-up. The pipe is
    /// emptied before the flag is cleared, so a post racing with us either
    /// lands in this drain or leaves a fresh byte behind: none is lost.
    pub fn drain(&self, out: &mut Vec<T>) {
        if self.signalled.load(Ordering::Acquire) {
            let mut buf = [0u8; 64];
            // SAFETY: reading into a live local buffer from our own pipe.
            while unsafe { libc::read(self.read_fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
            self.signalled.store(false, Ordering::Release);
        }
        out.extend(lock(&self.queue).drain(..));
    }

    pub fn is_empty(&self) -> bool {
        lock(&self.queue).is_empty()
    }
}

impl<T> Drop for Mailbox<T> {
    fn drop(&mut self) {
        // SAFETY: both descriptors are ours and closed exactly once, here.
        unsafe {
            libc::close(self.read_fd);
            libc::close(self.write_fd);
        }
    }
}

/// Locks a mutex, carrying on if a panicking thread poisoned it: every
/// structure behind our mutexes stays consistent between statements.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits until one of `fds` is ready or `timeout` passes (None: forever).
/// Returns the revents of each descriptor, in order.
pub(crate) fn poll_fds(
    fds: &[(RawFd, i16)],
    timeout: Option<std::time::Duration>,
) -> io::Result<Vec<i16>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    let ms = timeout.map_or(-1, |t| {
        // Round up so a deadline 0.4 ms away does not spin with timeout 0.
        let ms = t.as_micros().div_ceil(1000);
        i32::try_from(ms).unwrap_or(i32::MAX)
    });
    // SAFETY: pfds is a live array of pollfd of the length we pass.
    let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![0; fds.len()]);
        }
        return Err(err);
    }
    Ok(pfds.iter().map(|p| p.revents).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn a_post_from_another_thread_wakes_the_poller() {
        let mb = Arc::new(Mailbox::<u32>::new().unwrap());
        let poster = Arc::clone(&mb);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            poster.post(7);
            poster.post(8);
        });
        let start = Instant::now();
        let revents = poll_fds(
            &[(mb.wake_fd(), libc::POLLIN)],
            Some(Duration::from_secs(5)),
        )
        .unwrap();
        assert!(revents[0] & libc::POLLIN != 0);
        assert!(start.elapsed() < Duration::from_secs(4));
        t.join().unwrap();
        let mut got = Vec::new();
        mb.drain(&mut got);
        assert_eq!(got, vec![7, 8]);
        // Drained: the descriptor is quiet again.
        let revents = poll_fds(
            &[(mb.wake_fd(), libc::POLLIN)],
            Some(Duration::from_millis(0)),
        )
        .unwrap();
        assert_eq!(revents[0], 0);
    }
}
