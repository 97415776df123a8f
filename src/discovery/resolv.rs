//! One DNS query through glibc's libresolv, and its answer records: the
//! only unsafe code of discovery. libresolv rather than a crate of our own
//! choosing because it honours resolv.conf, needs no new dependency and is
//! the path libstrophe takes; its parser (`ns_initparse`, `ns_parserr`,
//! `dn_expand`) reads the message, so nothing here parses DNS by hand.
//!
//! Symbols, as glibc 2.36 (Debian 12) exports them: `__res_ninit` and
//! `__res_nclose` (resolv.h's `res_ninit`/`res_nclose` are macros for
//! them), `res_nquery` and `dn_expand` (libc.so.6, GLIBC_2.34),
//! `ns_initparse` and `ns_parserr` (libresolv.so.2), `__h_errno_location`
//! and `__errno_location` (libc.so.6).

use crate::Error;
use std::ffi::{c_char, c_int, c_ulong, c_void, CStr, CString};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::{Duration, Instant};

/// The first fields of glibc's `struct __res_state`
/// (bits/types/res_state.h), the only ones we write. Offsets checked
/// against the C compiler's on x86_64: retrans 0, retry 4, options 8,
/// nscount 16, nsaddr_list 20 (three `sockaddr_in`, to 68).
#[repr(C)]
struct ResStateHead {
    retrans: c_int,
    retry: c_int,
    options: c_ulong,
    nscount: c_int,
    nsaddr_list: [libc::sockaddr_in; 3],
}

const _: () = {
    assert!(std::mem::offset_of!(ResStateHead, retrans) == 0);
    assert!(std::mem::offset_of!(ResStateHead, retry) == 4);
    assert!(std::mem::offset_of!(ResStateHead, options) == 8);
    assert!(std::mem::offset_of!(ResStateHead, nscount) == 16);
    assert!(std::mem::offset_of!(ResStateHead, nsaddr_list) == 20);
    assert!(std::mem::size_of::<ResStateHead>() <= std::mem::size_of::<ResStateBuf>());
};

/// Room for a `struct __res_state` (568 bytes, 8-aligned on x86_64 glibc
/// 2.36), with a margin: we never rely on its exact size.
#[repr(C, align(8))]
struct ResStateBuf([u8; 1024]);

/// glibc's `ns_msg` (arpa/nameser.h): a parse handle, 80 bytes on x86_64.
#[repr(C)]
struct NsMsg {
    msg: *const u8,
    eom: *const u8,
    id: u16,
    flags: u16,
    counts: [u16; 4],
    sections: [*const u8; 4],
    sect: c_int,
    rrnum: c_int,
    msg_ptr: *const u8,
}

/// glibc's `ns_rr` (arpa/nameser.h): one parsed record, 1048 bytes on x86_64.
#[repr(C)]
struct NsRr {
    name: [c_char; NS_MAXDNAME],
    rtype: u16,
    rr_class: u16,
    ttl: u32,
    rdlength: u16,
    rdata: *const u8,
}

#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(std::mem::size_of::<NsMsg>() == 80);
    assert!(std::mem::offset_of!(NsMsg, counts) == 20);
    assert!(std::mem::offset_of!(NsMsg, sections) == 32);
    assert!(std::mem::size_of::<NsRr>() == 1048);
    assert!(std::mem::offset_of!(NsRr, rtype) == 1026);
    assert!(std::mem::offset_of!(NsRr, rdlength) == 1036);
    assert!(std::mem::offset_of!(NsRr, rdata) == 1040);
};

const NS_MAXDNAME: usize = 1025;
const NS_S_AN: c_int = 1;
const C_IN: c_int = 1;
/// The record types asked for.
pub(super) const T_A: u16 = 1;
pub(super) const T_AAAA: u16 = 28;
pub(super) const T_SRV: u16 = 33;
// netdb.h's h_errno values.
const HOST_NOT_FOUND: c_int = 1;
const NO_DATA: c_int = 4;

#[link(name = "resolv")]
extern "C" {
    fn __res_ninit(statp: *mut c_void) -> c_int;
    fn __res_nclose(statp: *mut c_void);
    fn res_nquery(
        statp: *mut c_void,
        dname: *const c_char,
        class: c_int,
        rtype: c_int,
        answer: *mut u8,
        anslen: c_int,
    ) -> c_int;
    fn ns_initparse(msg: *const u8, msglen: c_int, handle: *mut NsMsg) -> c_int;
    fn ns_parserr(handle: *mut NsMsg, section: c_int, rrnum: c_int, rr: *mut NsRr) -> c_int;
    fn dn_expand(
        msg: *const u8,
        eom: *const u8,
        src: *const u8,
        dst: *mut c_char,
        dstsiz: c_int,
    ) -> c_int;
    fn __h_errno_location() -> *mut c_int;
}

/// One answer record of the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Rr {
    /// An SRV record; `target` as dn_expand prints it (no final dot, "."
    /// for the root).
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// An A record.
    A(Ipv4Addr),
    /// An AAAA record.
    Aaaa(Ipv6Addr),
}

/// Where and how long to ask.
#[derive(Debug, Clone, Copy)]
pub(super) struct Server {
    /// None: resolv.conf's servers.
    pub(super) addr: Option<SocketAddrV4>,
    pub(super) timeout: Duration,
}

/// A resolver state of our own, initialised from resolv.conf; closed on
/// drop. Boxed because glibc keeps pointers into it (`dnsrch` points at
/// `defdname`), so it must not move once initialised.
struct State(Box<ResStateBuf>);

impl State {
    fn new() -> Result<State, Error> {
        let mut buf = Box::new(ResStateBuf([0; 1024]));
        // SAFETY: the buffer is zeroed (as res_ninit wants), 8-aligned and
        // larger than struct __res_state; it lives, unmoved, in its box
        // until State's Drop closes it.
        if unsafe { __res_ninit((&mut *buf as *mut ResStateBuf).cast()) } != 0 {
            // Not initialised, so not a State: nothing to close (and a
            // zeroed state's _vcsock 0 would have res_nclose close stdin).
            return Err(Error::io("res_ninit failed (resolv.conf?)"));
        }
        Ok(State(buf))
    }

    fn ptr(&mut self) -> *mut c_void {
        (&mut *self.0 as *mut ResStateBuf).cast()
    }

    fn head(&mut self) -> &mut ResStateHead {
        // SAFETY: the buffer starts with struct __res_state, whose first
        // fields ResStateHead mirrors (offsets asserted above); the buffer
        // is 8-aligned and we hold the only reference to it.
        unsafe { &mut *self.ptr().cast::<ResStateHead>() }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: only a state that res_ninit initialised is dropped (see
        // new); res_nclose frees what it allocated and closes its sockets.
        unsafe { __res_nclose(self.ptr()) }
    }
}

/// Why a query found nothing to use: distinguished because the caller
/// falls back on "no records" and reports the rest.
#[derive(Debug)]
pub(super) enum Failure {
    /// NXDOMAIN, or the name has no records of the type (NODATA).
    NoRecords,
    /// Anything else (timeout, SERVFAIL, refused, unreachable server).
    Failed(Error),
}

/// Asks `server` for the `rtype` records of `name` (an absolute, checked
/// name without the final dot), and returns those of the answer section.
pub(super) fn query(server: Server, name: &str, rtype: u16) -> Result<Vec<Rr>, Failure> {
    let cname = CString::new(name)
        .map_err(|_| Failure::Failed(Error::InvalidArgument(format!("{name:?} has a NUL"))))?;
    let mut state = State::new().map_err(Failure::Failed)?;
    // glibc waits `retrans` seconds per server and try (the later servers
    // a little longer, about the same in sum), so one try each with the
    // timeout shared among the servers bounds the whole call by about the
    // timeout. Whole seconds only: glibc counts no finer.
    let head = state.head();
    if let Some(addr) = server.addr {
        head.nscount = 1;
        head.nsaddr_list[0] = sockaddr_in(addr);
    }
    let servers = u64::try_from(head.nscount).unwrap_or(1).max(1);
    let secs = server.timeout.as_millis().div_ceil(1000) as u64;
    head.retrans = c_int::try_from(secs.div_ceil(servers).max(1)).unwrap_or(c_int::MAX);
    head.retry = 1;

    let mut answer = vec![0u8; 65535];
    let started = Instant::now();
    // SAFETY: errno and h_errno are this thread's; resetting them lets us
    // read what this call, and only it, set.
    unsafe {
        *libc::__errno_location() = 0;
        *__h_errno_location() = 0;
    }
    // SAFETY: the state is initialised, `cname` is NUL-terminated and the
    // answer buffer has the length given.
    let len = unsafe {
        res_nquery(
            state.ptr(),
            cname.as_ptr(),
            C_IN,
            c_int::from(rtype),
            answer.as_mut_ptr(),
            answer.len() as c_int,
        )
    };
    if len < 0 {
        // SAFETY: this thread's errno and h_errno, just set by res_nquery.
        let (errno, herrno) = unsafe { (*libc::__errno_location(), *__h_errno_location()) };
        return Err(failure(server, name, errno, herrno, started.elapsed()));
    }
    // glibc returns the full length of a truncated answer: parse what we have.
    let len = (len as usize).min(answer.len());
    parse(&answer[..len], rtype)
        .map_err(|m| Failure::Failed(Error::io(format!("DNS answer for {name}: {m}"))))
}

/// What res_nquery's failure means. glibc reports a server's SERVFAIL and
/// its silence alike (TRY_AGAIN, errno ETIMEDOUT), so a failure that took
/// the whole timeout is a timeout, a quicker one some other failure.
fn failure(server: Server, name: &str, errno: c_int, herrno: c_int, took: Duration) -> Failure {
    let whom = match server.addr {
        Some(addr) => format!("DNS server {addr}"),
        None => "the system's DNS servers".to_owned(),
    };
    match herrno {
        HOST_NOT_FOUND | NO_DATA => Failure::NoRecords,
        _ if errno == libc::ECONNREFUSED => Failure::Failed(Error::Io {
            message: format!("looking up {name}: {whom} refused (nothing listens?)"),
            kind: Some(std::io::ErrorKind::ConnectionRefused),
            source: None,
        }),
        _ if errno == libc::ETIMEDOUT && took + Duration::from_millis(200) >= server.timeout => {
            Failure::Failed(Error::Timeout(format!(
                "looking up {name}: no answer from {whom} in {:?}",
                server.timeout
            )))
        }
        _ => Failure::Failed(Error::io(format!(
            "looking up {name}: {whom} gave no usable answer (SERVFAIL, REFUSED or the like; h_errno {herrno})"
        ))),
    }
}

fn sockaddr_in(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// The answer section's records of type `rtype`, through libresolv's parser.
fn parse(msg: &[u8], rtype: u16) -> Result<Vec<Rr>, String> {
    // SAFETY: NsMsg and NsRr are plain C data; all-zero is a valid value
    // for each (null pointers, zero counts), and ns_initparse and
    // ns_parserr fill them before they are read.
    let (mut handle, mut rr): (NsMsg, Box<NsRr>) =
        unsafe { (std::mem::zeroed(), Box::new(std::mem::zeroed())) };
    // SAFETY: `msg` is valid for its length; the handle it fills points
    // into `msg`, which outlives every use of it below.
    if unsafe { ns_initparse(msg.as_ptr(), msg.len() as c_int, &mut handle) } != 0 {
        return Err("malformed message".into());
    }
    let mut out = Vec::new();
    for n in 0..c_int::from(handle.counts[NS_S_AN as usize]) {
        // SAFETY: the handle was initialised from `msg`, still alive; `rr`
        // is a whole ns_rr for it to fill.
        if unsafe { ns_parserr(&mut handle, NS_S_AN, n, &mut *rr) } != 0 {
            return Err(format!("malformed answer record {n}"));
        }
        if rr.rtype != rtype || c_int::from(rr.rr_class) != C_IN {
            continue; // a CNAME on the way, or another class
        }
        // SAFETY: ns_parserr checked that rdata..rdata+rdlength lies inside
        // `msg`.
        let rdata = unsafe { std::slice::from_raw_parts(rr.rdata, usize::from(rr.rdlength)) };
        match (rtype, rdata.len()) {
            (T_A, 4) => out.push(Rr::A(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]))),
            (T_AAAA, 16) => {
                let bytes: [u8; 16] = rdata.try_into().expect("16 bytes");
                out.push(Rr::Aaaa(Ipv6Addr::from(bytes)));
            }
            (T_SRV, 7..) => {
                let be = |i: usize| u16::from_be_bytes([rdata[i], rdata[i + 1]]);
                let target = expand(msg, &rdata[6..])
                    .ok_or_else(|| format!("bad SRV target in record {n}"))?;
                out.push(Rr::Srv {
                    priority: be(0),
                    weight: be(2),
                    port: be(4),
                    target,
                });
            }
            _ => return Err(format!("record {n} has a bad length {}", rdata.len())),
        }
    }
    Ok(out)
}

/// The (possibly compressed) name at `at`, a slice inside `msg`, in text.
fn expand(msg: &[u8], at: &[u8]) -> Option<String> {
    let mut name = [0 as c_char; NS_MAXDNAME];
    // SAFETY: `at` lies inside `msg` (the rdata of one of its records);
    // dn_expand reads only between msg's start and end and writes at most
    // `name.len()` bytes, NUL included.
    let n = unsafe {
        dn_expand(
            msg.as_ptr(),
            msg.as_ptr().add(msg.len()),
            at.as_ptr(),
            name.as_mut_ptr(),
            name.len() as c_int,
        )
    };
    if n < 0 {
        return None;
    }
    // SAFETY: on success dn_expand wrote a NUL-terminated string into `name`.
    let text = unsafe { CStr::from_ptr(name.as_ptr()) };
    text.to_str().ok().map(str::to_owned)
}
