//! `/metrics`: Prometheus text through the `metrics` crate: requests by route and status,
//! latencies, and the session layer's rejected cookies by reason.
//!
//! Every label value comes from a fixed set, never from the client's bytes, so no request can
//! add a series: the method is one of the nine standard methods or `other` ([`method_label`]),
//! the route is the matched route's path or `other` (the caller maps paths to its route table),
//! the status is one the server chose, and rejection reasons are [`RejectReason::ALL`].

use std::cell::RefCell;
use std::time::Duration;

use axum::http::Method;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rustc_hash::FxHashMap;
use satchel_session::codec::RejectReason;
use satchel_session::SessionLayer;

/// A thread's metric handles by (method label, route, status).
/// The handles of each (method, route, status), keyed by the labels' addresses (every label is
/// a `&'static str`, so an address names one text) and the status: hashing two addresses costs
/// a fraction of hashing the texts. Fx, not SipHash: the keys are the server's own (static
/// labels and the statuses it answers with), so no client can choose colliding ones.
type RequestHandles = FxHashMap<(usize, usize, u16), (Counter, Histogram)>;

/// The `method` label: a standard method's name, else `other` (a method is any token the
/// client likes; as a label it would let each request add a series).
pub fn method_label(method: &Method) -> &'static str {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT",
    ];
    STANDARD
        .into_iter()
        .find(|name| *name == method.as_str())
        .unwrap_or("other")
}

/// The exporter handle and the session counters it reports.
#[derive(Clone)]
pub struct Metrics {
    handle: Option<PrometheusHandle>,
    /// The layer whose counters are reported (a fresh snapshot at each render).
    layer: Option<SessionLayer>,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

impl Metrics {
    /// Installs the process-wide recorder (once per process: `satchel serve` calls it at start).
    pub fn install(layer: SessionLayer) -> Result<Self, String> {
        let handle = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
        metrics::describe_counter!("http_requests_total", "HTTP requests by route and status");
        metrics::describe_histogram!(
            "http_request_duration_seconds",
            metrics::Unit::Seconds,
            "Time to produce the response"
        );
        metrics::describe_counter!(
            "satchel_cookies_rejected_total",
            "Session cookies refused, by reason (the request got an empty session)"
        );
        metrics::describe_counter!(
            "satchel_sessions_oversized_total",
            "Sessions too large for a cookie (answered 500)"
        );
        metrics::describe_counter!("satchel_login_failures_total", "Failed logins");
        metrics::describe_counter!("satchel_login_throttled_total", "Logins refused with 429");
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(Metrics {
            handle: Some(handle),
            layer: Some(layer),
        })
    }

    /// No exporter (before [`Metrics::install`]): `/metrics` renders empty.
    pub fn disabled() -> Self {
        Metrics {
            handle: None,
            layer: None,
        }
    }

    /// Counts one served request. The handles for each (method, route, status) are looked
    /// up once per thread and kept: building a labelled key and finding it in the registry
    /// cost more than the rest of a small request's bookkeeping.
    pub fn request(method: &Method, route: &'static str, status: u16, elapsed: Duration) {
        thread_local! {
            static HANDLES: RefCell<RequestHandles> = RefCell::new(FxHashMap::default());
        }
        let method = method_label(method);
        HANDLES.with_borrow_mut(|handles| {
            let key = (method.as_ptr() as usize, route.as_ptr() as usize, status);
            let (counter, histogram) = handles.entry(key).or_insert_with(|| {
                (
                    metrics::counter!(
                        "http_requests_total",
                        "method" => method,
                        "route" => route,
                        "status" => status.to_string()
                    ),
                    metrics::histogram!("http_request_duration_seconds", "route" => route),
                )
            });
            counter.increment(1);
            histogram.record(elapsed.as_secs_f64());
        });
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        let stats = self
            .layer
            .as_ref()
            .map(SessionLayer::stats)
            .unwrap_or_default();
        for reason in RejectReason::ALL {
            metrics::counter!("satchel_cookies_rejected_total", "reason" => reason.as_str())
                .absolute(stats.rejected(reason));
        }
        metrics::counter!("satchel_sessions_oversized_total").absolute(stats.oversized());
        self.handle
            .as_ref()
            .map_or_else(String::new, PrometheusHandle::render)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_keep_their_name_and_others_are_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::CONNECT), "CONNECT");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for odd in ["BREW", "get", "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"] {
            assert_eq!(
                method_label(&Method::from_bytes(odd.as_bytes()).unwrap()),
                "other"
            );
        }
    }
}
