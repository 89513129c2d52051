//! Metrics of a codectx server: the names, the label sets, and the small functions
//! that record them.
//!
//! Recording goes through the [`metrics`] facade, so this module does not know who
//! collects: `codectx serve --metrics-addr` installs a Prometheus recorder
//! (`codectx_server::metrics_endpoint`) and serves it at `GET /metrics`. Without an
//! installed recorder (the CLI's `index`, `ask`, ... and most tests) every function
//! here is a no-op costing an atomic load, so callers never need to check whether
//! metrics are on.
//!
//! Who records what:
//!
//! | Metric | Kind | Labels | Recorded by |
//! |---|---|---|---|
//! | [`REQUEST_DURATION_SECONDS`] | histogram (s) | `rpc`, `code` | gRPC adapter, [`record_request`] |
//! | [`REQUESTS_TOTAL`] | counter | `rpc`, `code` | gRPC adapter, [`record_request`] |
//! | [`REQUESTS_SHED_TOTAL`] | counter | `rpc` | gRPC adapter, [`record_shed`] |
//! | [`REQUESTS_IN_FLIGHT`] | gauge | — | gRPC adapter, [`in_flight`] |
//! | [`INDEX_DURATION_SECONDS`] | histogram (s) | `repository`, `outcome` | engine, [`record_index_run`] |
//! | [`INDEX_FILES_PARSED_TOTAL`], [`INDEX_FILES_REUSED_TOTAL`], [`INDEX_FILES_REMOVED_TOTAL`] | counter | `repository` | engine, [`record_index_run`] |
//! | [`INDEX_FILES`], [`INDEX_CHUNKS`] | gauge | `repository` | engine, [`record_index_run`] |
//! | [`INDEX_LAST_SUCCESS_TIMESTAMP_SECONDS`] | gauge (s since epoch) | `repository` | engine, [`record_index_run`] |
//! | [`EMBEDDING_CACHE_HITS_TOTAL`], [`EMBEDDING_CACHE_MISSES_TOTAL`] | counter | `repository` | engine, [`record_index_run`] |
//! | [`EMBEDDING_CACHE_HIT_RATIO`] | gauge (0..1) | `repository` | engine, [`record_index_run`] |
//! | [`EMBEDDING_FAILURES_TOTAL`] | counter | `repository` | engine, [`record_index_run`] |
//! | [`INDEX_QUEUE_DEPTH`] | gauge | — | engine, [`set_index_queue_depth`] |
//! | [`INDEX_RUNS_IN_PROGRESS`] | gauge | — | engine, [`set_index_running`] |
//! | [`SNAPSHOT_CACHE_HITS_TOTAL`], [`SNAPSHOT_CACHE_MISSES_TOTAL`] | counter | — | engine, [`record_snapshot_cache`] |
//!
//! Label cardinality is bounded by construction:
//!
//! - `rpc` is the gRPC method name (`GetContext`, `IndexRepository`, ...), a
//!   `&'static str` of the adapter, never text from the client (an unknown method
//!   path is answered by tonic before it reaches the adapter).
//! - `code` is the gRPC status code as the adapter's log lines spell it (`Ok`,
//!   `NotFound`, `InvalidArgument`, `ResourceExhausted`, `Cancelled`, ...): 17 values.
//! - Request metrics carry **no** `repository` label: a client can name any
//!   repository (a request for an unknown one fails with `NotFound`), which would
//!   let it create series without bound. The per-repository view is in the logs
//!   (every RPC logs `repository`).
//! - Index metrics carry `repository`: only a served repository (from the config,
//!   `--repo`, or registered by an admin) is ever indexed, so the label has as many
//!   values as the server has repositories.
//! - `outcome` is `ok` or `error`.
//!
//! All durations are in seconds (`f64`); histograms use [`REQUEST_DURATION_BUCKETS`]
//! and [`INDEX_DURATION_BUCKETS`] (the recorder must be configured with them, see
//! [`histogram_buckets`]; otherwise the Prometheus exporter renders summaries).

use std::time::{SystemTime, UNIX_EPOCH};

use codectx_core::IndexStats;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};

/// Histogram of RPC latency in seconds, from admission (after authentication) to the
/// answer, or for a streaming RPC to its last event (or the client going away).
/// Labels: `rpc`, `code`.
pub const REQUEST_DURATION_SECONDS: &str = "codectx_request_duration_seconds";
/// Counter of finished RPCs. Labels: `rpc`, `code`. (Equal to the histogram's
/// `_count`; kept for dashboards that expect a `_total` counter.)
pub const REQUESTS_TOTAL: &str = "codectx_requests_total";
/// Counter of calls refused with `RESOURCE_EXHAUSTED` because `max_in_flight` calls
/// were already in flight. Label: `rpc`. Shed calls are also counted in
/// [`REQUESTS_TOTAL`] / [`REQUEST_DURATION_SECONDS`] with `code="ResourceExhausted"`.
pub const REQUESTS_SHED_TOTAL: &str = "codectx_requests_shed_total";
/// Gauge of admitted RPCs not finished yet (a stream counts until it ends). No labels.
pub const REQUESTS_IN_FLIGHT: &str = "codectx_requests_in_flight";

/// Histogram of index run wall time in seconds (walk, parse, write, embed, commit).
/// Labels: `repository`, `outcome` (`ok` / `error`).
pub const INDEX_DURATION_SECONDS: &str = "codectx_index_duration_seconds";
/// Counter of files parsed (new or changed) by successful index runs. Label: `repository`.
pub const INDEX_FILES_PARSED_TOTAL: &str = "codectx_index_files_parsed_total";
/// Counter of files reused unchanged from the previous generation. Label: `repository`.
pub const INDEX_FILES_REUSED_TOTAL: &str = "codectx_index_files_reused_total";
/// Counter of files removed since the previous generation. Label: `repository`.
pub const INDEX_FILES_REMOVED_TOTAL: &str = "codectx_index_files_removed_total";
/// Gauge of files in the index after the last successful run. Label: `repository`.
pub const INDEX_FILES: &str = "codectx_index_files";
/// Gauge of chunks in the index after the last successful run. Label: `repository`.
pub const INDEX_CHUNKS: &str = "codectx_index_chunks";
/// Gauge: Unix time in seconds at which the last successful run of a repository
/// ended (alert on `time() - codectx_index_last_success_timestamp_seconds`).
/// Label: `repository`.
pub const INDEX_LAST_SUCCESS_TIMESTAMP_SECONDS: &str = "codectx_index_last_success_timestamp_seconds";
/// Gauge of index runs waiting for their turn. No labels.
pub const INDEX_QUEUE_DEPTH: &str = "codectx_index_queue_depth";
/// Gauge of index runs executing now. No labels.
pub const INDEX_RUNS_IN_PROGRESS: &str = "codectx_index_runs_in_progress";

/// Counter of changed chunks whose vector came from the embedding cache.
/// Label: `repository`.
pub const EMBEDDING_CACHE_HITS_TOTAL: &str = "codectx_embedding_cache_hits_total";
/// Counter of changed chunks not in the embedding cache (to be run through the
/// model). Label: `repository`.
pub const EMBEDDING_CACHE_MISSES_TOTAL: &str = "codectx_embedding_cache_misses_total";
/// Gauge: embedding cache hit ratio (0..1) of the last run that updated chunks.
/// Label: `repository`.
pub const EMBEDDING_CACHE_HIT_RATIO: &str = "codectx_embedding_cache_hit_ratio";
/// Counter of index runs whose embedding phase failed (the lexical index was
/// still written). Label: `repository`.
pub const EMBEDDING_FAILURES_TOTAL: &str = "codectx_embedding_failures_total";

/// Counter of requests served from the index generation already open. No labels.
pub const SNAPSHOT_CACHE_HITS_TOTAL: &str = "codectx_snapshot_cache_hits_total";
/// Counter of requests that had to open (or re-open) the index generation. No labels.
pub const SNAPSHOT_CACHE_MISSES_TOTAL: &str = "codectx_snapshot_cache_misses_total";

/// Bucket upper bounds (seconds) of [`REQUEST_DURATION_SECONDS`]: 1 ms to 60 s
/// (retrieval answers in milliseconds; `Generate` streams for tens of seconds).
pub const REQUEST_DURATION_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// Bucket upper bounds (seconds) of [`INDEX_DURATION_SECONDS`]: 50 ms (an
/// incremental run with nothing changed) to 1 h (a first run with embeddings).
pub const INDEX_DURATION_BUCKETS: &[f64] =
    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];

/// The histograms and their bucket bounds, for the recorder's configuration
/// (`PrometheusBuilder::set_buckets_for_metric` with a full-name matcher).
pub fn histogram_buckets() -> [(&'static str, &'static [f64]); 2] {
    [(REQUEST_DURATION_SECONDS, REQUEST_DURATION_BUCKETS), (INDEX_DURATION_SECONDS, INDEX_DURATION_BUCKETS)]
}

/// Registers the help text and unit of every metric with the installed recorder
/// (Prometheus `# HELP` lines). Call once, after installing the recorder;
/// descriptions given before that are lost.
pub fn describe() {
    describe_histogram!(REQUEST_DURATION_SECONDS, Unit::Seconds, "gRPC call latency, by method and status code.");
    describe_counter!(REQUESTS_TOTAL, "gRPC calls finished, by method and status code.");
    describe_counter!(REQUESTS_SHED_TOTAL, "gRPC calls refused because max_in_flight calls were in flight.");
    describe_gauge!(REQUESTS_IN_FLIGHT, "gRPC calls admitted and not finished (streams until they end).");
    describe_histogram!(INDEX_DURATION_SECONDS, Unit::Seconds, "Index run wall time, by repository and outcome.");
    describe_counter!(INDEX_FILES_PARSED_TOTAL, "Files parsed (new or changed) by index runs.");
    describe_counter!(INDEX_FILES_REUSED_TOTAL, "Files reused unchanged by index runs.");
    describe_counter!(INDEX_FILES_REMOVED_TOTAL, "Files removed from the index by index runs.");
    describe_gauge!(INDEX_FILES, "Files in the index after the last successful run.");
    describe_gauge!(INDEX_CHUNKS, "Chunks in the index after the last successful run.");
    describe_gauge!(
        INDEX_LAST_SUCCESS_TIMESTAMP_SECONDS,
        Unit::Seconds,
        "Unix time at which the last successful index run ended."
    );
    describe_gauge!(INDEX_QUEUE_DEPTH, "Index runs waiting for their turn.");
    describe_gauge!(INDEX_RUNS_IN_PROGRESS, "Index runs executing now.");
    describe_counter!(EMBEDDING_CACHE_HITS_TOTAL, "Changed chunks whose vector came from the embedding cache.");
    describe_counter!(EMBEDDING_CACHE_MISSES_TOTAL, "Changed chunks missing from the embedding cache.");
    describe_gauge!(EMBEDDING_CACHE_HIT_RATIO, "Embedding cache hit ratio of the last run that updated chunks.");
    describe_counter!(EMBEDDING_FAILURES_TOTAL, "Index runs whose embedding phase failed.");
    describe_counter!(SNAPSHOT_CACHE_HITS_TOTAL, "Requests served from the index generation already open.");
    describe_counter!(SNAPSHOT_CACHE_MISSES_TOTAL, "Requests that opened or re-opened the index generation.");
}

/// Records one finished RPC: observes `seconds` in [`REQUEST_DURATION_SECONDS`] and
/// increments [`REQUESTS_TOTAL`], both labelled `{rpc, code}`.
///
/// `rpc` is the gRPC method name (`"GetContext"`); `code` the status code spelled as
/// tonic's `Code` debug form (`"Ok"`, `"NotFound"`). Called by the gRPC adapter
/// exactly once per admitted or shed call.
pub fn record_request(rpc: &'static str, code: &str, seconds: f64) {
    let labels = [("rpc", rpc.to_string()), ("code", code.to_string())];
    histogram!(REQUEST_DURATION_SECONDS, &labels).record(seconds);
    counter!(REQUESTS_TOTAL, &labels).increment(1);
}

/// Counts a call refused for load (`RESOURCE_EXHAUSTED`) in
/// [`REQUESTS_SHED_TOTAL`]`{rpc}`. The caller also records it with
/// [`record_request`].
pub fn record_shed(rpc: &'static str) {
    counter!(REQUESTS_SHED_TOTAL, "rpc" => rpc).increment(1);
}

/// Holds one unit of [`REQUESTS_IN_FLIGHT`]: the gauge goes up when it is made and
/// down when it is dropped, so every server in the process adds to one gauge.
#[must_use = "the call counts as in flight only while the guard lives"]
pub struct InFlight(metrics::Gauge);

/// Counts one call in flight until the returned guard is dropped.
pub fn in_flight() -> InFlight {
    let in_flight = gauge!(REQUESTS_IN_FLIGHT);
    in_flight.increment(1.0);
    InFlight(in_flight)
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // The gauge of the recorder that counted the call up, whichever is current now.
        self.0.decrement(1.0);
    }
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("InFlight")
    }
}

/// Records one index run of `repository` that took `seconds` of wall time.
///
/// `stats` is the run's counters when it succeeded, `None` when it failed (then only
/// the duration is recorded, with `outcome="error"`). On success:
/// [`INDEX_DURATION_SECONDS`]`{repository, outcome="ok"}` observes `seconds`; the
/// parsed / reused / removed file counters grow by the run's counts;
/// [`INDEX_FILES`] and [`INDEX_CHUNKS`] are set to the index's size;
/// [`INDEX_LAST_SUCCESS_TIMESTAMP_SECONDS`] to now. When the run embedded
/// (`stats.embeddings` is `Some`), [`EMBEDDING_CACHE_HITS_TOTAL`] grows by
/// `cache_hits`, [`EMBEDDING_CACHE_MISSES_TOTAL`] by `chunks_updated - cache_hits`
/// (both by 0 when nothing changed, so the series exist from the first run),
/// [`EMBEDDING_CACHE_HIT_RATIO`] is set when chunks were updated, and
/// [`EMBEDDING_FAILURES_TOTAL`] counts an embedding phase that failed.
///
/// `repository` must be the name of a served repository (bounded label; never a
/// name taken from a request before it was resolved). Call it once per run, when
/// the run ends; `seconds` is measured by the caller (it includes the embedding
/// phase, like `IndexStats::elapsed_ms`).
pub fn record_index_run(repository: &str, stats: Option<&IndexStats>, seconds: f64) {
    let outcome = if stats.is_some() { "ok" } else { "error" };
    let repository_label = [("repository", repository.to_string())];
    histogram!(INDEX_DURATION_SECONDS, "repository" => repository.to_string(), "outcome" => outcome).record(seconds);
    let Some(stats) = stats else { return };
    counter!(INDEX_FILES_PARSED_TOTAL, &repository_label).increment(stats.parsed);
    counter!(INDEX_FILES_REUSED_TOTAL, &repository_label).increment(stats.reused);
    counter!(INDEX_FILES_REMOVED_TOTAL, &repository_label).increment(stats.removed);
    gauge!(INDEX_FILES, &repository_label).set(stats.files as f64);
    gauge!(INDEX_CHUNKS, &repository_label).set(stats.chunks as f64);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_secs_f64()).unwrap_or(0.0);
    gauge!(INDEX_LAST_SUCCESS_TIMESTAMP_SECONDS, &repository_label).set(now);
    if let Some(embeddings) = &stats.embeddings {
        let hits = embeddings.cache_hits.min(embeddings.chunks_updated);
        counter!(EMBEDDING_CACHE_HITS_TOTAL, &repository_label).increment(hits);
        counter!(EMBEDDING_CACHE_MISSES_TOTAL, &repository_label).increment(embeddings.chunks_updated - hits);
        if embeddings.chunks_updated > 0 {
            gauge!(EMBEDDING_CACHE_HIT_RATIO, &repository_label).set(embeddings.hit_rate());
        }
        if embeddings.error.is_some() {
            counter!(EMBEDDING_FAILURES_TOTAL, &repository_label).increment(1);
        }
    }
}

/// Sets [`INDEX_QUEUE_DEPTH`] to `n`: index runs requested and waiting (not the one
/// executing). Call whenever the queue changes (enqueue, dequeue).
pub fn set_index_queue_depth(n: usize) {
    gauge!(INDEX_QUEUE_DEPTH).set(n as f64);
}

/// Sets [`INDEX_RUNS_IN_PROGRESS`] to `n`: index runs executing now. Call when a
/// run starts and when it ends.
pub fn set_index_running(n: usize) {
    gauge!(INDEX_RUNS_IN_PROGRESS).set(n as f64);
}

/// Counts a request's use of the index snapshot cache: `hit` when the repository's
/// current generation was already open and reused, `!hit` when it had to be opened
/// (first request, or a new generation was committed). Increments
/// [`SNAPSHOT_CACHE_HITS_TOTAL`] or [`SNAPSHOT_CACHE_MISSES_TOTAL`]. Call once per
/// request that reads an index.
pub fn record_snapshot_cache(hit: bool) {
    counter!(if hit { SNAPSHOT_CACHE_HITS_TOTAL } else { SNAPSHOT_CACHE_MISSES_TOTAL }).increment(1);
}

#[cfg(test)]
mod tests {
    use codectx_core::EmbedStats;
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

    use super::*;

    fn recorder() -> PrometheusRecorder {
        let mut builder = PrometheusBuilder::new();
        for (name, buckets) in histogram_buckets() {
            builder = builder.set_buckets_for_metric(Matcher::Full(name.into()), buckets).unwrap();
        }
        builder.build_recorder()
    }

    /// The value of the one sample line `series value`.
    fn sample(text: &str, series: &str) -> f64 {
        let line = text
            .lines()
            .find(|line| line.rsplit_once(' ').is_some_and(|(name, _)| name == series))
            .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"));
        line.rsplit_once(' ').unwrap().1.parse().unwrap()
    }

    #[test]
    fn an_index_run_exports_its_duration_file_counts_and_embedding_cache() {
        let recorder = recorder();
        let stats = IndexStats {
            files: 40,
            parsed: 3,
            reused: 37,
            removed: 1,
            chunks: 200,
            embeddings: Some(EmbedStats { chunks_updated: 10, cache_hits: 4, embedded: 6, ..EmbedStats::default() }),
            ..IndexStats::default()
        };
        metrics::with_local_recorder(&recorder, || {
            describe();
            record_index_run("fixture", Some(&stats), 1.5);
            record_index_run("fixture", None, 0.2);
        });
        let text = recorder.handle().render();
        let ok = r#"{repository="fixture",outcome="ok"}"#;
        assert_eq!(sample(&text, &format!("codectx_index_duration_seconds_count{ok}")), 1.0);
        assert_eq!(sample(&text, &format!("codectx_index_duration_seconds_sum{ok}")), 1.5);
        assert_eq!(
            sample(&text, r#"codectx_index_duration_seconds_bucket{repository="fixture",outcome="ok",le="2.5"}"#),
            1.0
        );
        assert_eq!(
            sample(&text, r#"codectx_index_duration_seconds_bucket{repository="fixture",outcome="ok",le="1"}"#),
            0.0
        );
        assert_eq!(sample(&text, r#"codectx_index_duration_seconds_count{repository="fixture",outcome="error"}"#), 1.0);
        assert_eq!(sample(&text, r#"codectx_index_files_parsed_total{repository="fixture"}"#), 3.0);
        assert_eq!(sample(&text, r#"codectx_index_files_reused_total{repository="fixture"}"#), 37.0);
        assert_eq!(sample(&text, r#"codectx_index_files_removed_total{repository="fixture"}"#), 1.0);
        assert_eq!(sample(&text, r#"codectx_index_chunks{repository="fixture"}"#), 200.0);
        assert_eq!(sample(&text, r#"codectx_embedding_cache_hits_total{repository="fixture"}"#), 4.0);
        assert_eq!(sample(&text, r#"codectx_embedding_cache_misses_total{repository="fixture"}"#), 6.0);
        assert_eq!(sample(&text, r#"codectx_embedding_cache_hit_ratio{repository="fixture"}"#), 0.4);
        assert!(sample(&text, r#"codectx_index_last_success_timestamp_seconds{repository="fixture"}"#) > 1.0e9);
        assert!(text.contains("# HELP codectx_index_duration_seconds"), "{text}");
        assert!(text.contains("# TYPE codectx_index_duration_seconds histogram"), "{text}");
    }

    #[test]
    fn requests_gauges_and_the_snapshot_cache_are_exported() {
        let recorder = recorder();
        let still_in_flight = metrics::with_local_recorder(&recorder, || {
            record_request("GetContext", "Ok", 0.003);
            record_request("GetContext", "NotFound", 0.0004);
            record_shed("Search");
            let finished = in_flight();
            let still_in_flight = in_flight();
            drop(finished);
            set_index_queue_depth(3);
            set_index_running(1);
            record_snapshot_cache(true);
            record_snapshot_cache(true);
            record_snapshot_cache(false);
            still_in_flight
        });
        let text = recorder.handle().render();
        drop(still_in_flight);
        assert_eq!(sample(&recorder.handle().render(), "codectx_requests_in_flight"), 0.0);
        assert_eq!(
            sample(&text, r#"codectx_request_duration_seconds_bucket{rpc="GetContext",code="Ok",le="0.005"}"#),
            1.0
        );
        assert_eq!(sample(&text, r#"codectx_request_duration_seconds_count{rpc="GetContext",code="NotFound"}"#), 1.0);
        assert_eq!(sample(&text, r#"codectx_requests_total{rpc="GetContext",code="Ok"}"#), 1.0);
        assert_eq!(sample(&text, r#"codectx_requests_shed_total{rpc="Search"}"#), 1.0);
        assert_eq!(sample(&text, "codectx_requests_in_flight"), 1.0);
        assert_eq!(sample(&text, "codectx_index_queue_depth"), 3.0);
        assert_eq!(sample(&text, "codectx_index_runs_in_progress"), 1.0);
        assert_eq!(sample(&text, "codectx_snapshot_cache_hits_total"), 2.0);
        assert_eq!(sample(&text, "codectx_snapshot_cache_misses_total"), 1.0);
    }
}
