//! The supervisor's counters and their Prometheus text exposition (format 0.0.4), served
//! at `metrics_listen`.
//!
//! [`Metrics`] holds only counters, so that it can travel with the rest of the
//! supervisor's state across a reload (it is `serde`) and the series stay continuous.
//! Gauges describe the present and are read from the worker table when a scrape comes,
//! as [`Gauges`]. Query counts come from the workers as [`StatsDelta`]s.
//!
//! Counters with a label show every known label value from the start, zero included, so
//! that dashboards and `rate()` see each series before its first event; SQLSTATE classes
//! appear once seen.
// The event loop is wired to this in a separate change; until then only tests use it.

use std::collections::BTreeMap;
use std::fmt::{Display, Write as _};
use std::time::{Duration, SystemTime};

use mallard_protocol::channel::Generation;
use mallard_protocol::stats::{StatsDelta, BUCKETS, DURATION_BOUNDS_NS};
use serde::{Deserialize, Serialize};

/// Why the supervisor turned a client away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reject {
    /// `max_connections` reached.
    TooMany,
    /// The queue of clients waiting for a ready worker is full.
    QueueFull,
    /// The client waited in that queue past `startup_timeout`.
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

impl Reject {
    pub const ALL: [Reject; 4] = [Reject::TooMany, Reject::QueueFull, Reject::Timeout, Reject::Shutdown];

    pub fn label(self) -> &'static str {
        match self {
            Reject::TooMany => "too_many",
            Reject::QueueFull => "queue_full",
            Reject::Timeout => "timeout",
            Reject::Shutdown => "shutdown",
        }
    }
}

/// Why a worker had to be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartCause {
    /// It exited with status 0 without being drained.
    Exit,
    /// It was killed by a signal or exited with a non-zero status.
    Crash,
    /// The supervisor killed it for missing pings.
    Health,
    /// It never reported ready in time.
    Unready,
}

impl RestartCause {
    pub const ALL: [RestartCause; 4] =
        [RestartCause::Exit, RestartCause::Crash, RestartCause::Health, RestartCause::Unready];

    pub fn label(self) -> &'static str {
        match self {
            RestartCause::Exit => "exit",
            RestartCause::Crash => "crash",
            RestartCause::Health => "health",
            RestartCause::Unready => "unready",
        }
    }
}

/// Statement durations: per-bucket counts (not cumulative) and their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Histogram {
    buckets: [u64; BUCKETS],
    sum: Duration,
}

impl Histogram {
    pub fn count(&self) -> u64 {
        self.buckets.iter().fold(0u64, |sum, &n| sum.saturating_add(n))
    }
}

/// Every counter the supervisor exposes. Counts only grow (saturating at `u64::MAX`),
/// whatever a worker sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    connections_accepted: u64,
    connections_rejected: BTreeMap<Reject, u64>,
    /// Every handoff attempted, failed ones included.
    handoffs: u64,
    handoff_failures: u64,
    /// Live sessions an old worker handed to the new generation at a reload.
    sessions_moved: u64,
    /// Sessions a drain's timeout ended with 57P01 (they could not move, or were busy).
    sessions_terminated: u64,
    worker_restarts: BTreeMap<RestartCause, u64>,
    reloads_succeeded: u64,
    reloads_failed: u64,
    /// By SQLSTATE class, as the workers report them (two digits or upper-case letters).
    query_errors: BTreeMap<String, u64>,
    /// Also the query count: every query falls in one bucket.
    query_duration: Histogram,
}

/// What the supervisor's tables say at scrape time.
#[derive(Debug, Clone)]
pub struct Gauges {
    pub generation: Generation,
    /// Client sessions the workers have acknowledged and still serve.
    pub connections: u64,
    /// Client sockets sent to a worker that has not acknowledged them yet.
    pub handoffs_in_flight: u64,
    /// Clients waiting in the supervisor for a ready worker.
    pub queued: u64,
    pub workers: WorkerCounts,
    /// When the supervisor first started; a reload keeps it (the PID stays too).
    pub start_time: SystemTime,
}

/// Workers by state.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerCounts {
    pub starting: u64,
    pub ready: u64,
    pub draining: u64,
}

impl Metrics {
    /// A client connection was accepted.
    pub fn accepted(&mut self) {
        bump(&mut self.connections_accepted, 1);
    }

    /// A client was turned away (it may have been accepted first).
    pub fn rejected(&mut self, reason: Reject) {
        bump(self.connections_rejected.entry(reason).or_default(), 1);
    }

    /// A client socket was sent to a worker (`ok`), or the send failed.
    pub fn handoff(&mut self, ok: bool) {
        bump(&mut self.handoffs, 1);
        if !ok {
            bump(&mut self.handoff_failures, 1);
        }
    }

    /// A session left an old worker at a reload, to be resumed by the new generation.
    pub fn session_moved(&mut self) {
        bump(&mut self.sessions_moved, 1);
    }

    pub fn sessions_moved(&self) -> u64 {
        self.sessions_moved
    }

    /// A draining worker's timeout ended `n` sessions.
    pub fn sessions_terminated(&mut self, n: u32) {
        bump(&mut self.sessions_terminated, u64::from(n));
    }

    pub fn sessions_terminated_total(&self) -> u64 {
        self.sessions_terminated
    }

    /// A worker is being replaced.
    pub fn worker_restart(&mut self, cause: RestartCause) {
        bump(self.worker_restarts.entry(cause).or_default(), 1);
    }

    /// A reload ended: the new generation serves (`ok`), or the old one goes on.
    pub fn reload(&mut self, ok: bool) {
        bump(if ok { &mut self.reloads_succeeded } else { &mut self.reloads_failed }, 1);
    }

    /// Adds what a worker reported.
    pub fn apply(&mut self, delta: &StatsDelta) {
        let histogram = &mut self.query_duration;
        for (total, &n) in histogram.buckets.iter_mut().zip(&delta.buckets) {
            bump(total, n);
        }
        histogram.sum = histogram.sum.saturating_add(Duration::from_nanos(delta.duration_sum_ns));
        for (class, n) in delta.errors() {
            bump(self.query_errors.entry(class.as_str().to_owned()).or_default(), *n);
        }
    }

    /// The text exposition of every counter and of `gauges`.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = Exposition::default();
        out.single(
            "mallard_connections_accepted_total",
            "counter",
            "Client connections accepted.",
            self.connections_accepted,
        );
        out.family(
            "mallard_connections_rejected_total",
            "counter",
            "Client connections turned away by the supervisor, by reason.",
        );
        for reason in Reject::ALL {
            let n = self.connections_rejected.get(&reason).copied().unwrap_or(0);
            out.sample("mallard_connections_rejected_total", &[("reason", reason.label())], n);
        }
        out.single(
            "mallard_connections_active",
            "gauge",
            "Client sessions the workers serve.",
            gauges.connections,
        );
        out.single(
            "mallard_connections_queued",
            "gauge",
            "Clients waiting for a ready worker.",
            gauges.queued,
        );

        out.single(
            "mallard_handoffs_total",
            "counter",
            "Client sockets handed to a worker, failed attempts included.",
            self.handoffs,
        );
        out.single(
            "mallard_handoff_failures_total",
            "counter",
            "Handoffs whose send to a worker failed.",
            self.handoff_failures,
        );
        out.single(
            "mallard_sessions_moved_total",
            "counter",
            "Live sessions handed from an old worker to the new generation at a reload, unseen by their clients.",
            self.sessions_moved,
        );
        out.single(
            "mallard_sessions_terminated_total",
            "counter",
            "Sessions a drain's timeout ended with 57P01 (at a reload: those that could not move in time).",
            self.sessions_terminated,
        );
        out.single(
            "mallard_handoffs_in_flight",
            "gauge",
            "Client sockets sent to a worker that has not acknowledged them yet.",
            gauges.handoffs_in_flight,
        );

        out.family("mallard_worker_restarts_total", "counter", "Workers replaced, by cause.");
        for cause in RestartCause::ALL {
            let n = self.worker_restarts.get(&cause).copied().unwrap_or(0);
            out.sample("mallard_worker_restarts_total", &[("cause", cause.label())], n);
        }
        out.family("mallard_workers", "gauge", "Worker processes, by state.");
        let workers = gauges.workers;
        for (state, n) in
            [("starting", workers.starting), ("ready", workers.ready), ("draining", workers.draining)]
        {
            out.sample("mallard_workers", &[("state", state)], n);
        }

        out.family("mallard_reloads_total", "counter", "Reloads, by outcome.");
        out.sample("mallard_reloads_total", &[("outcome", "success")], self.reloads_succeeded);
        out.sample("mallard_reloads_total", &[("outcome", "failure")], self.reloads_failed);
        out.single(
            "mallard_generation",
            "gauge",
            "The current worker generation; each reload adds one.",
            gauges.generation.0,
        );
        out.family(
            "mallard_start_time_seconds",
            "gauge",
            "When the supervisor started, in seconds since the Unix epoch; reloads keep it.",
        );
        let start = gauges.start_time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        out.sample("mallard_start_time_seconds", &[], float(start.as_secs_f64()));

        self.render_queries(&mut out);
        out.0
    }

    fn render_queries(&self, out: &mut Exposition) {
        let histogram = &self.query_duration;
        out.single(
            "mallard_queries_total",
            "counter",
            "Statements run: each of a simple query, each Execute, COPY and session commands included.",
            histogram.count(),
        );
        out.family(
            "mallard_query_errors_total",
            "counter",
            "Error responses sent to clients for failed statements and protocol steps, by SQLSTATE class.",
        );
        for (class, n) in &self.query_errors {
            out.sample("mallard_query_errors_total", &[("sqlstate_class", class)], *n);
        }
        out.family("mallard_query_duration_seconds", "histogram", "Time a statement took to run.");
        let mut cumulative = 0u64;
        for (i, &n) in histogram.buckets.iter().enumerate() {
            cumulative = cumulative.saturating_add(n);
            let le = match DURATION_BOUNDS_NS.get(i) {
                Some(&ns) => float(ns as f64 / 1e9),
                None => "+Inf".to_owned(),
            };
            out.sample("mallard_query_duration_seconds_bucket", &[("le", &le)], cumulative);
        }
        out.sample("mallard_query_duration_seconds_sum", &[], float(histogram.sum.as_secs_f64()));
        out.sample("mallard_query_duration_seconds_count", &[], cumulative);
    }
}

fn bump(counter: &mut u64, n: u64) {
    *counter = counter.saturating_add(n);
}

/// A float as the exposition format spells it.
fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        v.to_string()
    }
}

#[derive(Default)]
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// A family of one sample without labels.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{label}=\"{}\"", escape_label(value));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

fn escape_label(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

/// The media type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The whole HTTP answer to a request whose head (request line and headers) is
/// `request_head`: `GET /metrics` gets `body()`, anything else an error status. The
/// connection closes after it, so there is no keep-alive to manage.
pub fn http_response(request_head: &[u8], body: impl FnOnce() -> String) -> Vec<u8> {
    match request_line(request_head) {
        None => response("400 Bad Request", "text/plain", &[], "bad request\n"),
        Some(("GET", target)) if target.split('?').next() == Some("/metrics") => {
            response("200 OK", CONTENT_TYPE, &[], &body())
        }
        Some(("GET", _)) => response("404 Not Found", "text/plain", &[], "not found; try /metrics\n"),
        Some(_) => response("405 Method Not Allowed", "text/plain", &["Allow: GET"], "only GET\n"),
    }
}

/// The method and target of an HTTP/1.x request line; `None` if it is not one.
fn request_line(head: &[u8]) -> Option<(&str, &str)> {
    let end = head.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&head[..end]).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let valid = parts.next().is_none()
        && !method.is_empty()
        && method.bytes().all(token)
        && !target.is_empty()
        && target.bytes().all(|b| b.is_ascii_graphic())
        && matches!(version, "HTTP/1.0" | "HTTP/1.1");
    valid.then_some((method, target))
}

fn response(status: &str, content_type: &str, headers: &[&str], body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for header in headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mallard_protocol::pg::SqlState;
    use mallard_protocol::stats::{bucket_index, SqlStateClass};
    use std::collections::HashMap;

    fn gauges() -> Gauges {
        Gauges {
            generation: Generation(3),
            connections: 7,
            handoffs_in_flight: 1,
            queued: 2,
            workers: WorkerCounts { starting: 1, ready: 4, draining: 2 },
            start_time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_250),
        }
    }

    fn delta(durations: &[Duration], errors: &[SqlState]) -> StatsDelta {
        let mut buckets = [0; BUCKETS];
        for &d in durations {
            buckets[bucket_index(d)] += 1;
        }
        let sum = durations.iter().sum::<Duration>().as_nanos() as u64;
        let mut delta = StatsDelta::new(buckets, sum);
        for &code in errors {
            assert!(delta.add_errors(SqlStateClass::of(code), 1));
        }
        delta
    }

    fn busy() -> Metrics {
        let mut m = Metrics::default();
        m.accepted();
        m.accepted();
        m.rejected(Reject::QueueFull);
        m.handoff(true);
        m.handoff(false);
        m.worker_restart(RestartCause::Crash);
        m.reload(true);
        m.apply(&delta(
            &[Duration::from_micros(300), Duration::from_millis(3), Duration::from_secs(30)],
            &[SqlState::UNDEFINED_TABLE, SqlState::SYNTAX_ERROR, SqlState::DIVISION_BY_ZERO],
        ));
        m
    }

    /// A sample line: name, labels, value.
    fn parse_sample(line: &str) -> (String, Vec<(String, String)>, f64) {
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let Some((name, labels)) = series.split_once('{') else { return (series.to_owned(), vec![], value) };
        let labels = labels.strip_suffix('}').expect("closing brace");
        let labels = labels
            .split(',')
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("label=value");
                (
                    k.to_owned(),
                    v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).expect("quoted").to_owned(),
                )
            })
            .collect();
        (name.to_owned(), labels, value)
    }

    /// Checks the exposition's structure and returns its samples by series.
    fn check_exposition(text: &str) -> HashMap<String, f64> {
        let mut types: HashMap<String, String> = HashMap::new();
        let mut helped = std::collections::HashSet::new();
        let mut samples = HashMap::new();
        let mut histogram_buckets: HashMap<String, Vec<(String, f64)>> = HashMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap();
                assert!(helped.insert(name.to_owned()), "HELP twice for {name}");
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(helped.contains(name), "TYPE before HELP for {name}");
                assert!(types.insert(name.to_owned(), kind.to_owned()).is_none(), "TYPE twice for {name}");
                assert!(["counter", "gauge", "histogram"].contains(&kind));
                assert_eq!(kind == "counter", name.ends_with("_total"), "{name}");
                continue;
            }
            assert!(!line.starts_with('#') && !line.is_empty(), "unexpected line {line:?}");
            let (name, labels, value) = parse_sample(line);
            assert!(name.starts_with("mallard_"), "{name}");
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix)
                        .filter(|f| types.get(*f).map(String::as_str) == Some("histogram"))
                })
                .unwrap_or(&name);
            assert!(types.contains_key(family), "sample of an undeclared family: {line}");
            if name.ends_with("_bucket") {
                let le = labels.iter().find(|(k, _)| k == "le").expect("le").1.clone();
                histogram_buckets.entry(family.to_owned()).or_default().push((le, value));
            }
            let key = line.rsplit_once(' ').unwrap().0.to_owned();
            assert!(samples.insert(key, value).is_none(), "series twice: {line}");
        }
        for (family, buckets) in histogram_buckets {
            assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{family} buckets not cumulative");
            let les: Vec<f64> = buckets.iter().map(|(le, _)| parse_sample(&format!("x {le}")).2).collect();
            assert!(les.windows(2).all(|w| w[0] < w[1]), "{family} bounds not increasing");
            let (last_le, last) = buckets.last().unwrap();
            assert_eq!(last_le, "+Inf");
            assert_eq!(Some(last), samples.get(&format!("{family}_count")));
        }
        samples
    }

    #[test]
    fn a_fresh_exposition_shows_every_known_series() {
        let samples = check_exposition(&Metrics::default().render(&gauges()));
        for reason in ["too_many", "queue_full", "timeout", "shutdown"] {
            assert_eq!(samples[&format!("mallard_connections_rejected_total{{reason=\"{reason}\"}}")], 0.0);
        }
        for cause in ["exit", "crash", "health", "unready"] {
            assert_eq!(samples[&format!("mallard_worker_restarts_total{{cause=\"{cause}\"}}")], 0.0);
        }
        assert_eq!(samples["mallard_reloads_total{outcome=\"failure\"}"], 0.0);
        assert_eq!(samples["mallard_query_duration_seconds_bucket{le=\"+Inf\"}"], 0.0);
        assert!(!samples.keys().any(|k| k.starts_with("mallard_query_errors_total")));
    }

    #[test]
    fn the_exposition_shows_counters_and_gauges() {
        let text = busy().render(&gauges());
        let samples = check_exposition(&text);
        let expect = [
            ("mallard_connections_accepted_total", 2.0),
            ("mallard_connections_rejected_total{reason=\"queue_full\"}", 1.0),
            ("mallard_connections_active", 7.0),
            ("mallard_connections_queued", 2.0),
            ("mallard_handoffs_total", 2.0),
            ("mallard_handoff_failures_total", 1.0),
            ("mallard_handoffs_in_flight", 1.0),
            ("mallard_worker_restarts_total{cause=\"crash\"}", 1.0),
            ("mallard_workers{state=\"draining\"}", 2.0),
            ("mallard_reloads_total{outcome=\"success\"}", 1.0),
            ("mallard_generation", 3.0),
            ("mallard_start_time_seconds", 1_700_000_000.25),
            ("mallard_queries_total", 3.0),
            ("mallard_query_errors_total{sqlstate_class=\"42\"}", 2.0),
            ("mallard_query_errors_total{sqlstate_class=\"22\"}", 1.0),
            ("mallard_query_duration_seconds_bucket{le=\"0.0005\"}", 1.0),
            ("mallard_query_duration_seconds_bucket{le=\"0.005\"}", 2.0),
            ("mallard_query_duration_seconds_bucket{le=\"10\"}", 2.0),
            ("mallard_query_duration_seconds_count", 3.0),
        ];
        for (series, value) in expect {
            assert_eq!(samples.get(series), Some(&value), "{series} in\n{text}");
        }
        let sum = samples["mallard_query_duration_seconds_sum"];
        assert!((sum - 30.0033).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn bucket_bounds_are_spelled_plainly() {
        let text = Metrics::default().render(&gauges());
        let les: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("mallard_query_duration_seconds_bucket{le=\""))
            .map(|l| l.split('"').next().unwrap())
            .collect();
        assert_eq!(
            les,
            [
                "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
                "2.5", "5", "10", "+Inf"
            ]
        );
    }

    #[test]
    fn apply_accumulates() {
        let mut m = Metrics::default();
        let d = delta(&[Duration::from_millis(1), Duration::from_secs(1)], &[SqlState::UNDEFINED_TABLE]);
        m.apply(&d);
        m.apply(&d);
        assert_eq!(m.query_duration.count(), 4);
        assert_eq!(m.query_duration.buckets[1], 2);
        assert_eq!(m.query_duration.sum, Duration::from_millis(2002));
        assert_eq!(m.query_errors["42"], 2);
        // A nonsense delta saturates instead of wrapping or panicking.
        let mut huge = StatsDelta::new([u64::MAX; BUCKETS], u64::MAX);
        huge.add_errors(SqlStateClass::of(SqlState::UNDEFINED_TABLE), u64::MAX);
        m.apply(&huge);
        assert_eq!(m.query_duration.count(), u64::MAX);
        assert_eq!(m.query_errors["42"], u64::MAX);
    }

    #[test]
    fn counters_survive_a_serde_round_trip() {
        let m = busy();
        let json = serde_json::to_string(&m).unwrap();
        let back: Metrics = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.render(&gauges()), m.render(&gauges()));
        // State from a supervisor that knew fewer counters still loads.
        let old: Metrics = serde_json::from_str(r#"{"connections_accepted": 5}"#).unwrap();
        assert_eq!(old.connections_accepted, 5);
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut out = Exposition::default();
        out.family("x_total", "counter", "back\\slash\nnewline");
        out.sample("x_total", &[("l", "a\"b\\c\nd")], 1);
        assert_eq!(
            out.0,
            "# HELP x_total back\\\\slash\\nnewline\n# TYPE x_total counter\nx_total{l=\"a\\\"b\\\\c\\nd\"} 1\n"
        );
    }

    fn answer(head: &str) -> String {
        String::from_utf8(http_response(head.as_bytes(), || "body\n".to_owned())).unwrap()
    }

    fn status(response: &str) -> &str {
        response.split("\r\n").next().unwrap()
    }

    #[test]
    fn http_get_metrics_gets_the_exposition() {
        for head in [
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
            "GET /metrics HTTP/1.0\r\n\r\n",
            "GET /metrics?name[]=x HTTP/1.1\r\n\r\n",
            "GET /metrics HTTP/1.1\n\n",
        ] {
            let response = answer(head);
            assert_eq!(status(&response), "HTTP/1.1 200 OK", "{head:?}");
            assert!(response.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
            assert!(response.contains("\r\nConnection: close\r\n"));
            assert!(response.contains("\r\nContent-Length: 5\r\n"));
            assert!(response.ends_with("\r\n\r\nbody\n"));
        }
    }

    #[test]
    fn http_errors() {
        let cases = [
            ("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
            ("GET /metrics/x HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
            ("POST /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"),
            ("HEAD /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"),
            ("GET /metrics HTTP/2.0\r\n\r\n", "HTTP/1.1 400 Bad Request"),
            ("GET /metrics\r\n\r\n", "HTTP/1.1 400 Bad Request"),
            ("GET  /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"),
            ("GET /metrics HTTP/1.1", "HTTP/1.1 400 Bad Request"),
            ("\x16\x03\x01\x02\x00\x01\x00\x01\x03\x03\n", "HTTP/1.1 400 Bad Request"),
            ("", "HTTP/1.1 400 Bad Request"),
        ];
        for (head, expected) in cases {
            let mut rendered = false;
            let response = String::from_utf8(http_response(head.as_bytes(), || {
                rendered = true;
                String::new()
            }))
            .unwrap();
            assert_eq!(status(&response), expected, "{head:?}");
            assert!(!rendered, "{head:?} rendered the metrics");
            assert!(response.contains("\r\nConnection: close\r\n"));
        }
        assert!(answer("PUT /metrics HTTP/1.1\r\n\r\n").contains("\r\nAllow: GET\r\n"));
        let binary = http_response(b"GET /\xff HTTP/1.1\r\n\r\n", String::new);
        assert!(binary.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
    }
}
