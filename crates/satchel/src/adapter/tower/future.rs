//! [`SessionFuture`]: what [`SessionService`](crate::SessionService) returns for a request —
//! the inner service's response, with the session saved into it when its head is ready.
//!
//! A save that needs no I/O (a cookie session without a login ledger) runs inside `poll`, so
//! such a request costs no boxed future; one that waits on a store (or on opening a session the
//! handler never touched) continues in one boxed future.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::backend::{Backend, BoxFuture};
use crate::error::SaveError;
use crate::session::{Finished, Session};

pin_project! {
    /// The response future of [`SessionService`](crate::SessionService): the inner service's
    /// future, then the session's save step.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response};
    /// use tower::{service_fn, Layer, Service, ServiceExt};
    /// use satchel::{SessionConfig, SessionLayer};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let config = SessionConfig::default().with_secret_key(satchel::generate_secret_key());
    /// let handler = service_fn(|request: Request<()>| async move {
    ///     let session = request.extensions().get::<satchel::Session>().unwrap();
    ///     session.insert("n", 1);
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let mut service = SessionLayer::new(config).unwrap().layer(handler);
    /// let future: satchel::SessionFuture<_, String, Infallible> =
    ///     service.ready().await.unwrap().call(Request::new(()));
    /// let response = future.await.unwrap();
    /// assert!(response.headers().contains_key("set-cookie"));
    /// # });
    /// ```
    pub struct SessionFuture<F, B, E> {
        #[pin]
        phase: Phase<F, B, E>,
    }
}

pin_project! {
    #[project = PhaseProjection]
    enum Phase<F, B, E> {
        /// The inner service is at work; its response then gets the session.
        Handling {
            #[pin]
            handled: F,
            session: Session,
            backend: Arc<dyn Backend>,
        },
        /// The save waits on I/O.
        Saving { saving: Saving<B> , _error: PhantomData<fn() -> E> },
        Done,
    }
}

impl<F, B, E> SessionFuture<F, B, E> {
    pub(crate) fn new(handled: F, session: Session, backend: Arc<dyn Backend>) -> Self {
        SessionFuture {
            phase: Phase::Handling {
                handled,
                session,
                backend,
            },
        }
    }
}

impl<F, B, E> std::fmt::Debug for SessionFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionFuture")
    }
}

impl<F, B, E> Future for SessionFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<&'static str> + Send + 'static,
    E: 'static,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut phase = self.project().phase;
        loop {
            match phase.as_mut().project() {
                PhaseProjection::Handling {
                    handled,
                    session,
                    backend,
                } => {
                    let response = ready!(handled.poll(cx))?;
                    match save_now_or_later(session, backend, response) {
                        Ok(response) => {
                            phase.set(Phase::Done);
                            return Poll::Ready(Ok(response));
                        }
                        Err(saving) => phase.set(Phase::Saving {
                            saving,
                            _error: PhantomData,
                        }),
                    }
                }
                PhaseProjection::Saving { saving, .. } => {
                    let response = ready!(saving.as_mut().poll(cx));
                    phase.set(Phase::Done);
                    return Poll::Ready(Ok(response));
                }
                PhaseProjection::Done => panic!("SessionFuture polled after it completed"),
            }
        }
    }
}

/// A save that waits on I/O, with the response it completes.
type Saving<B> = BoxFuture<'static, Response<B>>;

/// Saves the session into `response` now if no I/O is needed; else the future that will.
fn save_now_or_later<B>(
    session: &Session,
    backend: &Arc<dyn Backend>,
    mut response: Response<B>,
) -> Result<Response<B>, Saving<B>>
where
    B: From<&'static str> + Send + 'static,
{
    let state = match session.finished() {
        Finished::Nothing => return Ok(response),
        Finished::Ready(state) => state,
        Finished::NeedsOpen => {
            let (session, backend) = (session.clone(), backend.clone());
            return Err(Box::pin(async move {
                match session.finish().await {
                    Some(state) => {
                        let saved = backend.save(state, response.headers_mut()).finish().await;
                        with_outcome(response, saved)
                    }
                    None => response,
                }
            }));
        }
    };
    match backend.save_in_place(state, response.headers_mut()) {
        Ok(saved) => Ok(with_outcome(response, saved)),
        Err(deferred) => {
            let backend = backend.clone();
            Err(Box::pin(async move {
                let saved = backend.save_later(deferred, response.headers_mut()).await;
                with_outcome(response, saved)
            }))
        }
    }
}

/// The response as the save left it: the handler's, or an error page if the save failed.
fn with_outcome<B: From<&'static str>>(
    response: Response<B>,
    saved: Result<(), SaveError>,
) -> Response<B> {
    match saved {
        Ok(()) => response,
        Err(error) => {
            tracing::error!(%error, "could not save the session");
            error.response()
        }
    }
}
