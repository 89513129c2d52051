//! The Prometheus endpoint: the process's metrics recorder and a plain HTTP/1.1
//! listener answering `GET /metrics`.
//!
//! [`install_recorder`] installs a `metrics-exporter-prometheus` recorder as the
//! process's global `metrics` recorder, once (later calls return the same handle, so
//! several servers in one process share it), with the histogram buckets of
//! [`codectx_service::telemetry`]. [`serve_metrics`] answers `GET /metrics` (and
//! `HEAD`) with the Prometheus text exposition format (`text/plain; version=0.0.4`),
//! `405` for other methods on it and `404` for every other path.
//!
//! The endpoint has **no authentication and no TLS**: the metrics name the served
//! repositories and reveal traffic. Bind it to loopback or a private network
//! (`[server] metrics_addr = "127.0.0.1:9464"`), never to a public address.
//!
//! `codectx serve --metrics-addr ADDR` (or `[server] metrics_addr`) turns it on, through
//! [`crate::ServeOptions::metrics`].

use std::convert::Infallible;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use codectx_core::{Error, Result};
use codectx_service::telemetry;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// `Content-Type` of the Prometheus text exposition format.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often the recorder's upkeep (draining histogram samples into buckets) runs
/// between scrapes, so that memory stays bounded when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder as this process's `metrics` recorder the first
/// time it is called, and returns its handle (the same one on every later call).
///
/// The first call also registers the metrics' help texts
/// ([`telemetry::describe`]) and starts a background thread running the recorder's
/// upkeep every 5 s. Metrics recorded before the first call are not kept.
///
/// # Errors
///
/// [`Error::Internal`] when the recorder cannot be built, or when another `metrics`
/// recorder was installed in this process first (by an application embedding
/// codectx); every later call returns the same error.
pub fn install_recorder() -> Result<&'static PrometheusHandle> {
    static HANDLE: OnceLock<std::result::Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            for (name, buckets) in telemetry::histogram_buckets() {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full(name.to_string()), buckets)
                    .map_err(|error| format!("metrics buckets of {name}: {error}"))?;
            }
            let handle = builder
                .install_recorder()
                .map_err(|error| format!("cannot install the Prometheus metrics recorder: {error}"))?;
            telemetry::describe();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("codectx-metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                })
                .map_err(|error| format!("cannot start the metrics upkeep thread: {error}"))?;
            Ok(handle)
        })
        .as_ref()
        .map_err(|message| Error::Internal(message.clone()))
}

/// Serves `GET /metrics` from the process's recorder ([`install_recorder`], which
/// this calls) on `listener` until `shutdown` resolves, then stops accepting and
/// closes open connections (a scrape in progress is cut).
///
/// HTTP/1.1 only, no authentication, no TLS: bind `listener` to loopback or a
/// private network. Errors accepting or serving one connection are logged at
/// `DEBUG` and do not stop the endpoint.
///
/// # Errors
///
/// As [`install_recorder`].
pub async fn serve_metrics(listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
    let handle = install_recorder()?;
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "metrics endpoint listening (GET /metrics)");
    }
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::debug!(%error, "metrics endpoint: accept failed");
                    // Out of file descriptors and the like: do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        connections.spawn(async move {
            let service =
                hyper::service::service_fn(move |request| async move { Ok::<_, Infallible>(answer(handle, &request)) });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "metrics endpoint: connection failed");
            }
        });
    }
    connections.shutdown().await;
    tracing::info!("metrics endpoint stopped");
    Ok(())
}

/// The answer to one HTTP request.
fn answer(handle: &PrometheusHandle, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let plain = |status: StatusCode, body: &'static str| {
        let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = status;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        response
    };
    if request.uri().path() != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "not found: metrics are at /metrics\n");
    }
    match *request.method() {
        Method::GET | Method::HEAD => {
            // hyper sends no body for HEAD, only its length.
            let mut response = Response::new(Full::new(Bytes::from(handle.render())));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_TEXT));
            response
        }
        _ => {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed: use GET\n");
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
    }
}
