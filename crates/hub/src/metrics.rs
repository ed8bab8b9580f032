//! The hub's counters and gauges, and their Prometheus text exposition (`GET
//! /metrics`): requests by route and status class, upload bytes, long-polls open,
//! commits, the database pool, and garbage collection. Counters live in memory: each
//! hub of a cluster reports its own, and a restart starts them at zero, as Prometheus
//! expects of counters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::gc::GcReport;

/// A series of requests: method, route pattern, status class such as "2xx".
type RequestSeries = (String, String, String);

/// What the hub counts.
#[derive(Default)]
pub struct Metrics {
    /// Each series' answers and the seconds they took.
    requests: Mutex<BTreeMap<RequestSeries, (u64, f64)>>,
    upload_bytes: AtomicU64,
    long_polls_open: AtomicI64,
    messages_committed: AtomicU64,
    records_committed: AtomicU64,
    gc_runs: AtomicU64,
    gc_freed: Mutex<BTreeMap<&'static str, (u64, u64)>>,
}

/// Holds one long-poll open in the gauge; dropping it closes it.
pub struct OpenPoll<'a>(&'a Metrics);

impl Drop for OpenPoll<'_> {
    fn drop(&mut self) {
        self.0.long_polls_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The database pool as the exposition shows it.
pub struct PoolState {
    pub engine: &'static str,
    pub open: u32,
    pub idle: usize,
    pub max: u32,
}

impl Metrics {
    pub fn answered(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut map) = self.requests.lock() {
            let class = format!("{}xx", status / 100);
            let entry = map
                .entry((method.to_string(), route.to_string(), class))
                .or_default();
            entry.0 += 1;
            entry.1 += seconds;
        }
    }

    pub fn uploaded(&self, bytes: u64) {
        self.upload_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn poll_opened(&self) -> OpenPoll<'_> {
        self.long_polls_open.fetch_add(1, Ordering::Relaxed);
        OpenPoll(self)
    }

    pub fn message_committed(&self) {
        self.messages_committed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_committed(&self) {
        self.records_committed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn collected(&self, report: &GcReport) {
        self.gc_runs.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut map) = self.gc_freed.lock() {
            for (kind, freed) in [
                ("unsealed", report.unsealed),
                ("unreferenced", report.unreferenced),
                ("orphan_part", report.orphan_parts),
            ] {
                let entry = map.entry(kind).or_default();
                entry.0 += freed.count;
                entry.1 += freed.bytes;
            }
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, pool: &PoolState) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP pigeon_hub_requests_total Requests answered, by method, route and status class.\n# TYPE pigeon_hub_requests_total counter"
        );
        let requests = self.requests.lock().map(|m| m.clone()).unwrap_or_default();
        for ((method, route, class), (count, _)) in &requests {
            let _ = writeln!(
                out,
                "pigeon_hub_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{class}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP pigeon_hub_request_seconds_total Time spent answering, by method, route and status class.\n# TYPE pigeon_hub_request_seconds_total counter"
        );
        for ((method, route, class), (_, seconds)) in &requests {
            let _ = writeln!(
                out,
                "pigeon_hub_request_seconds_total{{method=\"{method}\",route=\"{route}\",status=\"{class}\"}} {seconds:.6}"
            );
        }
        let simple = [
            (
                "pigeon_hub_upload_bytes_total",
                "counter",
                "Blob bytes received in chunks and stored.",
                self.upload_bytes.load(Ordering::Relaxed) as i64,
            ),
            (
                "pigeon_hub_long_polls_open",
                "gauge",
                "Long-polls (GET /v1/inbox/wait) waiting now.",
                self.long_polls_open.load(Ordering::Relaxed),
            ),
            (
                "pigeon_hub_messages_committed_total",
                "counter",
                "Messages this hub committed (retries of a committed message not counted).",
                self.messages_committed.load(Ordering::Relaxed) as i64,
            ),
            (
                "pigeon_hub_records_committed_total",
                "counter",
                "Records about messages this hub committed.",
                self.records_committed.load(Ordering::Relaxed) as i64,
            ),
            (
                "pigeon_hub_gc_runs_total",
                "counter",
                "Garbage collections this hub ran while serving.",
                self.gc_runs.load(Ordering::Relaxed) as i64,
            ),
        ];
        for (name, kind, help, value) in simple {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        let freed = self.gc_freed.lock().map(|m| m.clone()).unwrap_or_default();
        let _ = writeln!(
            out,
            "# HELP pigeon_hub_gc_freed_total Things garbage collection removed, by kind.\n# TYPE pigeon_hub_gc_freed_total counter"
        );
        for (kind, (count, _)) in &freed {
            let _ = writeln!(out, "pigeon_hub_gc_freed_total{{kind=\"{kind}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP pigeon_hub_gc_freed_bytes_total Bytes garbage collection removed, by kind.\n# TYPE pigeon_hub_gc_freed_bytes_total counter"
        );
        for (kind, (_, bytes)) in &freed {
            let _ = writeln!(
                out,
                "pigeon_hub_gc_freed_bytes_total{{kind=\"{kind}\"}} {bytes}"
            );
        }
        let engine = pool.engine;
        let _ = writeln!(
            out,
            "# HELP pigeon_hub_db_connections Connections of the database pool, by state.\n# TYPE pigeon_hub_db_connections gauge\n\
             pigeon_hub_db_connections{{engine=\"{engine}\",state=\"idle\"}} {}\n\
             pigeon_hub_db_connections{{engine=\"{engine}\",state=\"in_use\"}} {}\n\
             # HELP pigeon_hub_db_connections_max The pool's bound.\n# TYPE pigeon_hub_db_connections_max gauge\n\
             pigeon_hub_db_connections_max{{engine=\"{engine}\"}} {}",
            pool.idle,
            (pool.open as usize).saturating_sub(pool.idle),
            pool.max,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gc::Freed;

    #[test]
    fn the_exposition_is_prometheus_text() {
        let m = Metrics::default();
        m.answered("GET", "/v1/inbox", 200, 0.004);
        m.answered("GET", "/v1/inbox", 204, 0.001);
        m.answered("POST", "/v1/messages", 409, 0.01);
        m.uploaded(1000);
        let poll = m.poll_opened();
        m.collected(&GcReport {
            unsealed: Freed {
                count: 2,
                bytes: 300,
            },
            ..GcReport::default()
        });
        let text = m.render(&PoolState {
            engine: "sqlite",
            open: 3,
            idle: 1,
            max: 4,
        });
        assert!(
            text.contains(
                "pigeon_hub_requests_total{method=\"GET\",route=\"/v1/inbox\",status=\"2xx\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "pigeon_hub_requests_total{method=\"POST\",route=\"/v1/messages\",status=\"4xx\"} 1\n"
        ));
        assert!(text.contains("pigeon_hub_upload_bytes_total 1000\n"));
        assert!(text.contains("pigeon_hub_long_polls_open 1\n"));
        assert!(text.contains("pigeon_hub_gc_freed_bytes_total{kind=\"unsealed\"} 300\n"));
        assert!(text.contains("pigeon_hub_db_connections{engine=\"sqlite\",state=\"in_use\"} 2\n"));
        drop(poll);
        assert!(m
            .render(&PoolState {
                engine: "sqlite",
                open: 0,
                idle: 0,
                max: 4
            })
            .contains("pigeon_hub_long_polls_open 0\n"));
        // Every sample line belongs to a family declared before it.
        let mut declared = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap().to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(declared.contains(name), "{line}");
            }
        }
    }
}
