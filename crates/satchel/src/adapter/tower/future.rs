//! [`SessionFuture`]: what [`SessionService`](crate::SessionService) returns for a request —
//! the inner service's response, with the session saved into it when its head is ready.
//!
//! A save that needs no I/O (a cookie session without a login ledger: [`Session::save_now`])
//! runs inside `poll`, so such a request costs no boxed future; one that waits on a store or a
//! login ledger ([`Session::save`]) continues in one boxed future.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::error::SaveError;
use crate::session::Session;

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
        },
        /// The save waits on I/O.
        Saving { saving: Saving<B> , _error: PhantomData<fn() -> E> },
        Done,
    }
}

impl<F, B, E> SessionFuture<F, B, E> {
    pub(crate) fn new(handled: F, session: Session) -> Self {
        SessionFuture {
            phase: Phase::Handling { handled, session },
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
                PhaseProjection::Handling { handled, session } => {
                    let mut response = ready!(handled.poll(cx))?;
                    if let Some(saved) = session.save_now(response.headers_mut()) {
                        phase.set(Phase::Done);
                        return Poll::Ready(Ok(with_outcome(response, saved)));
                    }
                    let session = session.clone();
                    let saving: Saving<B> = Box::pin(async move {
                        let saved = session.save(response.headers_mut()).await;
                        with_outcome(response, saved)
                    });
                    phase.set(Phase::Saving {
                        saving,
                        _error: PhantomData,
                    });
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
type Saving<B> = Pin<Box<dyn Future<Output = Response<B>> + Send + 'static>>;

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
