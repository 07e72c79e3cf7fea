//! [`SessionLayer`]: the tower middleware that opens the session before the handler and saves
//! it after. The request's cookies go into a [`Session`] in the request extensions, unread;
//! after the handler, the session saves itself into the response (`Session::save`; the backends
//! are `backend/`), and [`SessionFuture`] is the response future that does it. Built with
//! [`SessionLayer::new`] or [`SessionLayer::builder`].
//!
//! A save that needs no I/O (a cookie session without a login ledger: `Session::save_now`)
//! runs inside `poll`, so such a request costs no boxed future; one that waits on a store or a
//! login ledger (`Session::save`) continues in one boxed future.
//!
//! Depends on `http` and `tower` only: any tower-based framework can use it.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::backend::cookie::CookieBackend;
use crate::backend::store_session::StoreBackend;
use crate::backend::Backend;
use crate::clock::Clock;
use crate::config::{ConfigError, SessionConfig};
use crate::cookie_header::RequestCookies;
use crate::error::SaveError;
use crate::session::Session;
use crate::stats::SessionStats;
use crate::store::{IndexedStore, Store, StoreOptions};

/// Adds a [`Session`] to every request and writes it back to the response.
///
/// ```
/// use axum::{routing::get, Router};
/// use satchel_session::{Session, SessionConfig, SessionLayer};
///
/// async fn counter(session: Session) -> String {
///     let n = session.get_or("n", 0) + 1;
///     session.insert("n", n);
///     n.to_string()
/// }
///
/// let config = SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
/// let app: Router = Router::new()
///     .route("/counter", get(counter))
///     .layer(SessionLayer::new(config).expect("valid session settings"));
/// ```
#[derive(Clone)]
pub struct SessionLayer {
    backend: Arc<Backend>,
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = self.config();
        f.debug_struct("SessionLayer")
            .field("format", &config.format)
            .field("cookie_name", &config.cookie_name)
            .finish()
    }
}

impl SessionLayer {
    /// Cookie sessions with these settings. No secret key, a key [`audit_secret_key`](crate::audit_secret_key) refuses,
    /// or settings that do not fit together are an error here, at startup, not at the first
    /// request. For a store, a clock or a legacy key, use [`SessionLayer::builder`].
    ///
    /// ```
    /// use satchel_session::{SessionConfig, SessionLayer};
    /// assert!(SessionLayer::new(SessionConfig::default()).is_err());
    /// assert!(SessionLayer::new(SessionConfig::default().with_secret_key("short")).is_err());
    /// let key = satchel_session::generate_secret_key();
    /// assert!(SessionLayer::new(SessionConfig::default().with_secret_key(key)).is_ok());
    /// ```
    pub fn new(config: SessionConfig) -> Result<Self, ConfigError> {
        Self::builder(config).build()
    }

    /// A builder for a layer with more than settings: a store, a clock, lease options, or an
    /// explicit acceptance of a weak legacy key.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use satchel_session::{store::MemoryStore, SessionConfig, SessionLayer};
    ///
    /// let layer = SessionLayer::builder(SessionConfig::default())
    ///     .store(Arc::new(MemoryStore::default()))
    ///     .build()?;
    /// # Ok::<(), satchel_session::ConfigError>(())
    /// ```
    pub fn builder(config: SessionConfig) -> SessionLayerBuilder {
        SessionLayerBuilder {
            config,
            clock: Clock::system(),
            store: None,
            store_options: None,
            allow_weak_key: false,
            ledger: None,
        }
    }

    /// The sessions this layer serves (the actix-web middleware serves the same).
    #[cfg(feature = "actix")]
    pub(crate) fn backend(&self) -> &Arc<Backend> {
        &self.backend
    }

    /// The settings in use.
    ///
    /// ```
    /// let config = satchel_session::SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
    /// let layer = satchel_session::SessionLayer::new(config).unwrap();
    /// assert_eq!(layer.config().cookie_name, "session");
    /// ```
    pub fn config(&self) -> &SessionConfig {
        self.backend.shared().cookies.config()
    }

    /// A snapshot of the layer's counters (rejected cookies by reason, oversized sessions,
    /// store failures).
    ///
    /// ```
    /// let config = satchel_session::SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
    /// let layer = satchel_session::SessionLayer::new(config).unwrap();
    /// assert_eq!(layer.stats().rejected_total(), 0);
    /// ```
    pub fn stats(&self) -> SessionStats {
        self.backend.shared().counters.snapshot()
    }
}

/// Builds a [`SessionLayer`]; from [`SessionLayer::builder`].
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use satchel_session::store::{MemoryStore, StoreOptions};
/// use satchel_session::{Clock, SessionConfig, SessionLayer};
///
/// let (clock, _hands) = Clock::manual(1_700_000_000);
/// let options = StoreOptions { lock_wait: Duration::from_secs(2), ..StoreOptions::default() };
/// let layer = SessionLayer::builder(SessionConfig::default())
///     .store(Arc::new(MemoryStore::default()))
///     .store_options(options)
///     .clock(clock)
///     .build();
/// assert!(layer.is_ok());
/// ```
#[must_use = "a builder does nothing until .build()"]
pub struct SessionLayerBuilder {
    config: SessionConfig,
    clock: Clock,
    store: Option<Arc<dyn Store>>,
    store_options: Option<StoreOptions>,
    allow_weak_key: bool,
    ledger: Option<Arc<dyn IndexedStore>>,
}

impl std::fmt::Debug for SessionLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayerBuilder")
            .field("store", &self.store.is_some())
            .field("allow_weak_key", &self.allow_weak_key)
            .finish_non_exhaustive()
    }
}

impl SessionLayerBuilder {
    /// Server-side sessions in `store`: the cookie then carries only a random session id, and
    /// `SECRET_KEY` is not needed (the id is unguessable, not signed); the cookie settings
    /// still apply.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let layer = satchel_session::SessionLayer::builder(satchel_session::SessionConfig::default())
    ///     .store(Arc::new(satchel_session::store::MemoryStore::default()))
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Lease and wait settings for a store (default: [`StoreOptions::default`]). Only with
    /// [`store`](Self::store): [`build`](Self::build) refuses them without one.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let builder = satchel_session::SessionLayer::builder(satchel_session::SessionConfig::default())
    ///     .store(Arc::new(satchel_session::store::MemoryStore::default()))
    ///     .store_options(satchel_session::store::StoreOptions::default());
    /// assert!(builder.build().is_ok());
    /// ```
    pub fn store_options(mut self, options: StoreOptions) -> Self {
        self.store_options = Some(options);
        self
    }

    /// Reads the time from `clock` (tests move a manual clock instead of sleeping).
    ///
    /// ```
    /// let (clock, _hands) = satchel_session::Clock::manual(1_700_000_000);
    /// let config = satchel_session::SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
    /// assert!(satchel_session::SessionLayer::builder(config).clock(clock).build().is_ok());
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Makes logouts of cookie sessions final: every [`login`](crate::login::login) is
    /// recorded in `ledger` (any store with an index, e.g. an SQLite file), a logged-in cookie is
    /// honoured only while its login is there, and logout, [`SessionIndex::revoke`] and
    /// [`SessionIndex::revoke_user`] on `ledger` end it for every copy of the cookie. Costs one
    /// store read per logged-in request (anonymous requests none). Cookie sessions only:
    /// [`build`](Self::build) refuses it together with [`store`](Self::store), since a
    /// server-side store is its own index.
    ///
    /// A login the ledger never saw (made by a Flask app sharing the key, or before the ledger
    /// was on) has no ledger id: it is honoured and cannot be revoked. A Flask app sharing the
    /// key does not read the ledger: a cookie logged out here still opens there until it
    /// expires. SECURITY.md ("Logout and revocation") has the guarantees per mode.
    ///
    /// [`SessionIndex::revoke`]: crate::store::SessionIndex::revoke
    /// [`SessionIndex::revoke_user`]: crate::store::SessionIndex::revoke_user
    ///
    /// ```
    /// use std::sync::Arc;
    /// let config = satchel_session::SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
    /// let ledger = Arc::new(satchel_session::store::MemoryStore::default());
    /// assert!(satchel_session::SessionLayer::builder(config).login_ledger(ledger).build().is_ok());
    /// ```
    pub fn login_ledger(mut self, ledger: Arc<dyn IndexedStore>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Accepts a `SECRET_KEY` that [`audit_secret_key`](crate::audit_secret_key) refuses (short, or publicly known), for
    /// sharing sessions with a legacy Flask app whose key cannot change yet. Logs a warning once,
    /// at build. Rotate the key as soon as you can: anyone who knows or guesses it can forge
    /// sessions. Cookie sessions only: [`build`](Self::build) refuses it together with
    /// [`store`](Self::store), whose cookie holds a random id and uses no key.
    ///
    /// ```
    /// let config = satchel_session::SessionConfig::flask_defaults().with_secret_key("dev");
    /// assert!(satchel_session::SessionLayer::new(config.clone()).is_err());
    /// assert!(satchel_session::SessionLayer::builder(config).allow_weak_secret_key().build().is_ok());
    /// ```
    pub fn allow_weak_secret_key(mut self) -> Self {
        self.allow_weak_key = true;
        self
    }

    /// Checks the settings and builds the layer. A setting that would be ignored is an error:
    /// [`login_ledger`](Self::login_ledger) or [`allow_weak_secret_key`](Self::allow_weak_secret_key)
    /// with a [`store`](Self::store), [`store_options`](Self::store_options) without one.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use satchel_session::{store::MemoryStore, SessionConfig, SessionLayer};
    /// let built = SessionLayer::builder(SessionConfig::default()).build();
    /// assert_eq!(built.unwrap_err().key, "SECRET_KEY");
    ///
    /// let store = Arc::new(MemoryStore::default());
    /// let both = SessionLayer::builder(SessionConfig::default())
    ///     .store(store.clone())
    ///     .login_ledger(store)
    ///     .build();
    /// assert_eq!(both.unwrap_err().key, "login_ledger");
    /// ```
    pub fn build(self) -> Result<SessionLayer, ConfigError> {
        let backend = match self.store {
            Some(_) if self.ledger.is_some() => {
                return Err(ConfigError::new(
                    "login_ledger",
                    "a login ledger is for cookie sessions; a server-side store is its own \
                     index: drop .login_ledger(…) or .store(…)",
                ))
            }
            Some(_) if self.allow_weak_key => {
                return Err(ConfigError::new(
                    "allow_weak_secret_key",
                    "a server-side store's cookie holds a random id and uses no SECRET_KEY: \
                     drop .allow_weak_secret_key() or .store(…)",
                ))
            }
            Some(store) => Backend::Store(StoreBackend::new(
                self.config,
                self.clock,
                store,
                self.store_options.unwrap_or_default(),
            )?),
            None if self.store_options.is_some() => {
                return Err(ConfigError::new(
                    "store_options",
                    "store options without .store(…): cookie sessions have no store",
                ))
            }
            None => Backend::Cookie(CookieBackend::new(
                self.config,
                self.clock,
                self.ledger,
                self.allow_weak_key,
            )?),
        };
        Ok(SessionLayer {
            backend: Arc::new(backend),
        })
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            backend: self.backend.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    backend: Arc<Backend>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionService")
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: 'static,
    ResBody: From<&'static str> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = SessionFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let cookies = RequestCookies::from_headers(request.headers());
        let session = Session::unopened(self.backend.clone(), cookies);
        request.extensions_mut().insert(session.clone());
        // Called here, on the service that was polled ready: no clone of it per request. The
        // session is saved when the response head is built, before the body streams.
        let handled = self.inner.call(request);
        SessionFuture::new(handled, session)
    }
}

// The response future: the inner service's response, then the session saved into it.

pin_project! {
    /// The response future of [`SessionService`](crate::SessionService): the inner service's
    /// future, then the session's save step.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response};
    /// use tower::{service_fn, Layer, Service, ServiceExt};
    /// use satchel_session::{SessionConfig, SessionLayer};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let config = SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
    /// let handler = service_fn(|request: Request<()>| async move {
    ///     let session = request.extensions().get::<satchel_session::Session>().unwrap();
    ///     session.insert("n", 1);
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let mut service = SessionLayer::new(config).unwrap().layer(handler);
    /// let future: satchel_session::SessionFuture<_, String, Infallible> =
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
