//! Standard input and output closed before the program started (`<&-`,
//! `>&-`), told apart from `/dev/null`.
//!
//! Rust's runtime, before `main`, opens `/dev/null` on a closed standard
//! descriptor, so that a file opened later cannot take its number. From
//! then on a closed standard output swallows every write and a closed
//! standard input reads as empty, and a run that lost its output, or had no
//! input, would end as a success. The truth is visible only before the
//! runtime starts: a function in the ELF `.init_array`, which the C runtime
//! calls before `main`, asks the kernel whether descriptors 0 and 1 are
//! open (`fcntl(fd, F_GETFD)` fails with `EBADF` on a closed one) and
//! records the answer. That is the one use of `unsafe` in the program: a
//! call to libc, which every Rust program on Linux links. On other systems
//! nothing is recorded, and a closed stream passes for `/dev/null`.

use std::sync::atomic::{AtomicU8, Ordering};

/// Bit `fd` is set when descriptor `fd` was closed at start.
static CLOSED: AtomicU8 = AtomicU8::new(0);

/// True when standard input was closed when the program started.
pub fn stdin() -> bool {
    CLOSED.load(Ordering::Relaxed) & 1 != 0
}

/// True when standard output was closed when the program started.
pub fn stdout() -> bool {
    CLOSED.load(Ordering::Relaxed) & 2 != 0
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod probe {
    use super::{CLOSED, Ordering};

    unsafe extern "C" {
        fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    }

    /// `fcntl`'s command that reads a descriptor's flags (1 on Linux).
    const F_GETFD: i32 = 1;

    /// Records which of descriptors 0 and 1 are closed.
    extern "C" fn probe() {
        for fd in [0, 1] {
            // SAFETY: F_GETFD only reads the descriptor's flags, and takes no
            // third argument; on a closed descriptor it fails and changes
            // nothing.
            if unsafe { fcntl(fd, F_GETFD) } == -1 {
                CLOSED.fetch_or(1 << fd, Ordering::Relaxed);
            }
        }
    }

    /// Run by the C runtime before `main`, and so before Rust's runtime
    /// reopens closed descriptors.
    #[used]
    #[unsafe(link_section = ".init_array")]
    static PROBE: extern "C" fn() = probe;
}
