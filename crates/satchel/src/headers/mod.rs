//! The HTTP side of the session cookie: where it is read (`request_cookie.rs`: the request's
//! `Cookie` headers) and where it is written (`set_cookie.rs`: `Set-Cookie`, `Vary: Cookie`,
//! `Cache-Control: private`).

pub(crate) mod request_cookie;
pub(crate) mod set_cookie;
