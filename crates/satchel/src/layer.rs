//! [`SessionLayer`]: the tower middleware that opens the session before the handler and saves
//! it after (the tower half of Flask's `SessionInterface`; the rules live in
//! [`interface`](crate::interface)).
//!
//! Depends on `http` and `tower` only: any tower-based framework can use it. The session is put
//! in the request extensions *undecoded*; it is decoded the first time a handler uses it, so
//! routes that never touch the session pay nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::clock::Clock;
use crate::codec::{CookieFormat, FlaskCodec, SealedCodec};
use crate::config::{ConfigError, SessionConfig};
use crate::error::plain_response;
use crate::interface::CookieText;
use crate::interface::{self, Backend, Context, SaveError};
use crate::keyed_lock::KeyedLocks;
use crate::renewal::Renewals;
use crate::session::Session;
use crate::slot::{self, StoreBackend};
use crate::stats::SessionStats;
use crate::store::{Store, StoreOptions};

/// Adds a [`Session`] to every request and writes it back to the response.
///
/// ```
/// use axum::{routing::get, Router};
/// use satchel::{Session, SessionConfig, SessionLayer};
///
/// async fn counter(session: Session) -> String {
///     let n = session.get_or("n", 0) + 1;
///     session.insert("n", n);
///     n.to_string()
/// }
///
/// let config = SessionConfig::default().with_secret_key("a long secret from `satchel keygen`");
/// let app: Router = Router::new()
///     .route("/counter", get(counter))
///     .layer(SessionLayer::new(config).expect("valid session settings"));
/// ```
#[derive(Clone)]
pub struct SessionLayer {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer")
            .field("format", &self.ctx.config.format)
            .field("cookie_name", &self.ctx.config.cookie_name)
            .finish()
    }
}

impl SessionLayer {
    /// Checks the settings and builds the cookie codec. No secret key, or settings that do not
    /// fit together, is an error here, at startup, not at the first request.
    ///
    /// ```
    /// use satchel::{SessionConfig, SessionLayer};
    /// assert!(SessionLayer::new(SessionConfig::default()).is_err());
    /// assert!(SessionLayer::new(SessionConfig::default().with_secret_key("k")).is_ok());
    /// ```
    pub fn new(config: SessionConfig) -> Result<Self, ConfigError> {
        Self::with_clock(config, Clock::system())
    }

    /// As [`SessionLayer::new`], with the time read from `clock` (tests move a manual clock
    /// instead of sleeping).
    ///
    /// ```
    /// use satchel::{Clock, SessionConfig, SessionLayer};
    /// let (clock, hands) = Clock::manual(1_700_000_000);
    /// let layer = SessionLayer::with_clock(SessionConfig::default().with_secret_key("k"), clock);
    /// assert!(layer.is_ok());
    /// ```
    pub fn with_clock(config: SessionConfig, clock: Clock) -> Result<Self, ConfigError> {
        let keys = config.validate()?;
        let codec: Box<dyn crate::codec::Codec> = match config.format {
            CookieFormat::Sealed => Box::new(SealedCodec::new(&keys, &config.cookie_name)),
            CookieFormat::Flask => Box::new(FlaskCodec::new(&keys, Context::max_age_secs(&config))),
        };
        Ok(Self::build(config, Backend::Cookie(codec), clock))
    }

    /// Server-side sessions in `store`: the cookie then carries only a random session id.
    /// `SECRET_KEY` is not needed for that (the id is unguessable, not signed); the cookie
    /// settings still apply. Leases and waits take [`StoreOptions::default`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use satchel::store::MemoryStore;
    /// use satchel::{SessionConfig, SessionLayer};
    ///
    /// let layer = SessionLayer::with_store(SessionConfig::default(), Arc::new(MemoryStore::default()));
    /// assert!(layer.is_ok());
    /// ```
    pub fn with_store(config: SessionConfig, store: Arc<dyn Store>) -> Result<Self, ConfigError> {
        Self::with_store_options(config, store, StoreOptions::default(), Clock::system())
    }

    /// As [`SessionLayer::with_store`], with lease settings and a clock of your choosing.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use satchel::store::{MemoryStore, StoreOptions};
    /// use satchel::{Clock, SessionConfig, SessionLayer};
    ///
    /// let options = StoreOptions { lock_wait: Duration::from_secs(2), ..StoreOptions::default() };
    /// let (clock, _hands) = Clock::manual(1_700_000_000);
    /// let store = Arc::new(MemoryStore::default());
    /// assert!(SessionLayer::with_store_options(SessionConfig::default(), store, options, clock).is_ok());
    /// ```
    pub fn with_store_options(
        config: SessionConfig,
        store: Arc<dyn Store>,
        options: StoreOptions,
        clock: Clock,
    ) -> Result<Self, ConfigError> {
        config.validate_cookie_settings()?;
        let backend = Backend::Store(StoreBackend {
            renewals: options
                .renew_leases
                .then(|| Renewals::new(store.clone(), options.lease_ttl)),
            store,
            options,
            locks: KeyedLocks::default(),
        });
        Ok(Self::build(config, backend, clock))
    }

    fn build(config: SessionConfig, backend: Backend, clock: Clock) -> Self {
        SessionLayer {
            ctx: Arc::new(Context {
                cookie_text: CookieText::new(&config),
                config,
                backend,
                clock,
                stats: Arc::new(SessionStats::default()),
            }),
        }
    }

    /// The settings in use.
    ///
    /// ```
    /// let layer = satchel::SessionLayer::new(satchel::SessionConfig::default().with_secret_key("k")).unwrap();
    /// assert_eq!(layer.config().cookie_name, "session");
    /// ```
    pub fn config(&self) -> &SessionConfig {
        &self.ctx.config
    }

    /// The layer's counters (rejected cookies by reason, oversized sessions).
    ///
    /// ```
    /// let layer = satchel::SessionLayer::new(satchel::SessionConfig::default().with_secret_key("k")).unwrap();
    /// assert_eq!(layer.stats().rejected_total(), 0);
    /// ```
    pub fn stats(&self) -> Arc<SessionStats> {
        self.ctx.stats.clone()
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            ctx: self.ctx.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    ctx: Arc<Context>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionService")
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<&'static str> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let session = Session::pending(
            self.ctx.clone(),
            interface::cookie_headers(request.headers()),
        );
        request.extensions_mut().insert(session.clone());
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            // Committed when the response head is built, before the body streams.
            if let Some(state) = session.take_loaded_state() {
                let headers = response.headers_mut();
                let saved = match &ctx.backend {
                    Backend::Cookie(codec) => {
                        interface::save_session(&ctx, codec.as_ref(), state, headers)
                    }
                    Backend::Store(backend) => slot::save(&ctx, backend, state, headers).await,
                };
                if let Err(error) = saved {
                    tracing::error!(%error, "could not save the session");
                    response = save_error_response(&error);
                }
            }
            Ok(response)
        })
    }
}

/// The response that replaces the handler's when its session could not be saved.
fn save_error_response<B: From<&'static str>>(error: &SaveError) -> Response<B> {
    use http::StatusCode;
    match error {
        SaveError::Oversized(_) | SaveError::Encode(_) => plain_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error: the session could not be saved (see the server log)\n",
        ),
        SaveError::Refused => plain_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Unavailable: the session changed or ended while this request ran, so \
             its changes were not saved; try again\n",
        ),
        SaveError::Store(e) => {
            plain_response(crate::error::store_status(e), crate::error::store_body(e))
        }
    }
}
