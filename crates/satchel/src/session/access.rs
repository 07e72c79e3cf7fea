//! [`Access`]: what a handler means to do with its session, which decides what opening it costs
//! with a server-side store (a reader takes no lock and no lease).

/// How a session is opened. `Write` > `Read`: a session opened for reading is opened again for
/// writing when a `Session` extractor asks after a `ReadOnlySession` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Access {
    /// Reads only: no lock, no lease.
    Read,
    /// Reads and writes: the in-process lock and the store's lease, held until the commit.
    Write,
}
