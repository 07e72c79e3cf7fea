//! Adapters: how a web framework drives the core. An adapter does three things and nothing
//! else: it puts an unopened [`Session`](crate::Session) (the request's `Cookie` headers, still
//! unread) where handlers can find it, lets the handler open it through an extractor, and after
//! the handler asks the session to save itself into the response's headers. Every rule (when
//! to send a cookie, how to write it, when a store is called) lives below, in `backend/`.

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
pub mod tower;
