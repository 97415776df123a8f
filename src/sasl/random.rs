//! OS randomness for SASL nonces (and any other caller in the crate).

use std::fs::File;
use std::io::{self, Read};

/// Fills `buf` from the kernel CSPRNG: `getrandom(2)` where available,
/// otherwise (old kernels, other Unixes) `/dev/urandom`.
pub fn fill(buf: &mut [u8]) -> io::Result<()> {
    match fill_getrandom(buf) {
        Ok(()) => Ok(()),
        Err(_) => fill_urandom(buf),
    }
}

/// Returns `n` fresh random bytes.
pub fn bytes(n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    fill(&mut buf)?;
    Ok(buf)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn fill_getrandom(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
        // SAFETY: `rest` is a valid, writable region of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        match usize::try_from(n) {
            // Never expected for a non-empty request; bail out rather than spin.
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            // Large requests may be served in several pieces.
            Ok(n) => done += n,
            Err(_) => {
                let err = io::Error::last_os_error();
                // A signal may interrupt a large request: just ask again.
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn fill_getrandom(_buf: &mut [u8]) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

fn fill_urandom(buf: &mut [u8]) -> io::Result<()> {
    // read_exact already retries on EINTR.
    File::open("/dev/urandom")?.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_differs() {
        let a = bytes(32).unwrap();
        let b = bytes(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn large_and_empty_requests() {
        assert!(bytes(0).unwrap().is_empty());
        let big = bytes(1 << 20).unwrap();
        assert!(big.iter().any(|&b| b != 0));
    }

    #[test]
    fn urandom_fallback_works() {
        let mut buf = [0u8; 64];
        fill_urandom(&mut buf).unwrap();
        assert!(buf.iter().any(|&b| b != 0));
    }
}
