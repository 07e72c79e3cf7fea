//! What satchel's test suites share (both crates' `tests/common` re-export it):
//!
//! - [`require_or_skip`]: the one rule for tests that need a service or a tool — under `CI`
//!   they must run and fail loudly when it is missing; elsewhere they skip with one printed line
//!   that says how to enable them;
//! - [`python_with`]: the test venv's Python (real Flask, Flask-Login), found the same way
//!   everywhere;
//! - [`http`]: one raw HTTP/1.1 client for tests that talk to real servers, so a test sees the
//!   bytes a browser would (duplicate headers, chunked bodies, a server that closes early);
//! - [`in_process`]: one in-process request harness, for tests that send requests through an
//!   axum `Router` without a socket.
#![forbid(unsafe_code)]

pub mod http;
pub mod in_process;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// How long a test waits for a server's answer before failing.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Whether what a test needs is there: `true` if `present`; otherwise a panic under `CI` (the
/// test must run there) or one printed `skipped:` line and `false`.
pub fn require_or_skip(present: bool, what: &str, how: &str) -> bool {
    if present {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI: {what} missing ({how})"
    );
    println!("skipped: no {what} ({how})");
    false
}

/// The test venv's Python (`SATCHEL_PYTHON`, else `.venv/bin/python` at the workspace root) if
/// it can import `modules` (`"flask, itsdangerous"`), else `None` after [`require_or_skip`].
pub fn python_with(modules: &str) -> Option<PathBuf> {
    let python = std::env::var_os("SATCHEL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../.venv/bin/python"
            ))
        });
    let ok = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    require_or_skip(
        ok,
        &format!("Python with {modules} at {}", python.display()),
        "run `bash scripts/test.sh` to create the venv, or set SATCHEL_PYTHON",
    )
    .then_some(python)
}

/// Whether something accepts TCP connections at `addr` (a service that should be running).
pub fn listening(addr: &str) -> bool {
    addr.parse().is_ok_and(|addr| {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_present_requirement_passes_and_a_closed_port_is_not_listening() {
        assert!(require_or_skip(true, "anything", "nothing to do"));
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap().to_string();
        drop(closed);
        assert!(!listening(&addr));
    }
}
