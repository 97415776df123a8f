//! Pollable mode at scale: one thread drives every connection from one
//! epoll set over their `poll_fd`s, as a program with its own loop would.
//! Timers cost nothing while idle: the driver asks a connection for its
//! next timeout after each of its steps, and sweeps all of them only when
//! the earliest timer it knows of is due (at least once a second, for
//! timers set by calls from other threads).

use epode::{Connection, Options};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest the driver sleeps without a sweep.
const SWEEP_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

pub struct Driver {
    epoll: RawFd,
    conns: Mutex<Vec<Arc<Connection>>>,
    /// A connection was added: sweep at the next turn.
    added: AtomicBool,
    stop: AtomicBool,
    pub steps: AtomicU64,
}

impl Driver {
    /// A driver and its thread.
    pub fn start() -> (Arc<Driver>, JoinHandle<()>) {
        // SAFETY: a plain syscall; the descriptor is closed in Drop.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(epoll >= 0, "{}", std::io::Error::last_os_error());
        let driver = Arc::new(Driver {
            epoll,
            conns: Mutex::new(Vec::new()),
            added: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            steps: AtomicU64::new(0),
        });
        let d = Arc::clone(&driver);
        (driver, std::thread::spawn(move || d.run()))
    }

    /// A connection to `url`: pollable and driven by `driver` if one is
    /// given, else with its own engine thread.
    pub fn connection(driver: Option<&Driver>, url: &str, mut options: Options) -> Arc<Connection> {
        if driver.is_some() {
            options.set("pollable", "true").unwrap();
        }
        let conn = Arc::new(Connection::new(url, options).expect("a connection"));
        if let Some(driver) = driver {
            driver.add(&conn);
        }
        conn
    }

    /// Ends the loop of a driver that `start` gave and joins its thread.
    pub fn finish((driver, thread): (Arc<Driver>, JoinHandle<()>)) {
        driver.stop();
        thread.join().expect("the driver thread");
    }

    /// Drives `conn` from now on (made with the `pollable` option).
    pub fn add(&self, conn: &Arc<Connection>) {
        let fd = conn.poll_fd().expect("a pollable connection");
        let mut conns = self.conns.lock().unwrap();
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: conns.len() as u64,
        };
        // SAFETY: ev is a live epoll_event; fd is the connection's own.
        let rc = unsafe { libc::epoll_ctl(self.epoll, libc::EPOLL_CTL_ADD, fd, &mut ev) };
        assert!(rc == 0, "{}", std::io::Error::last_os_error());
        conns.push(Arc::clone(conn));
        self.added.store(true, Ordering::Release);
    }

    /// Ends the driver's loop (its thread returns within a second).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn conn(&self, i: usize) -> Arc<Connection> {
        Arc::clone(&self.conns.lock().unwrap()[i])
    }

    /// One step of connection `i`; then when it next wants one.
    fn step(&self, i: usize) -> Option<Instant> {
        let conn = self.conn(i);
        self.steps.fetch_add(1, Ordering::Relaxed);
        if conn.run_once(Duration::ZERO).is_err() {
            // It has ended: its descriptor leaves the set.
            let fd = conn.poll_fd().unwrap_or(-1);
            // SAFETY: deleting a descriptor from our epoll set.
            unsafe { libc::epoll_ctl(self.epoll, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
            return None;
        }
        let timeout = conn.next_timeout().ok().flatten()?;
        Some(Instant::now() + timeout)
    }

    /// Steps every connection whose timer is due; the earliest left.
    fn sweep(&self) -> Instant {
        let now = Instant::now();
        let mut next = now + SWEEP_AT_LEAST_EVERY;
        let n = self.conns.lock().unwrap().len();
        for i in 0..n {
            let due = match self.conn(i).next_timeout() {
                Ok(Some(t)) if t.is_zero() => self.step(i),
                Ok(Some(t)) => Some(now + t),
                _ => None,
            };
            next = due.map_or(next, |d| d.min(next));
        }
        next
    }

    fn run(&self) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
        let mut next_sweep = Instant::now();
        while !self.stop.load(Ordering::Acquire) {
            if self.added.swap(false, Ordering::AcqRel) || Instant::now() >= next_sweep {
                next_sweep = self.sweep();
            }
            let wait = next_sweep.saturating_duration_since(Instant::now());
            let ms = wait.as_micros().div_ceil(1000).min(1000) as libc::c_int;
            // SAFETY: events is a live buffer of the length passed.
            let n = unsafe {
                libc::epoll_wait(self.epoll, events.as_mut_ptr(), events.len() as i32, ms)
            };
            for ev in &events[..n.max(0) as usize] {
                if let Some(due) = self.step(ev.u64 as usize) {
                    next_sweep = next_sweep.min(due);
                }
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: our own descriptor, closed once.
        unsafe { libc::close(self.epoll) };
    }
}
