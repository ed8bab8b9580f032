//! Search benchmark (not a test). Run: `cargo bench -p pigeon-library --bench search`.
//!
//! A library of 10,000 received messages, each with a transcript of 30 segments of
//! generated sentences (a fixed word list drawn by Zipf's law, so a few words are
//! everywhere and most are rare, as in speech; deterministic), indexed by the
//! library's own triggers as messages and transcripts are stored. Then a set of
//! queries as a user types them, each run many times on the read connection: p50 and
//! p95 in ms against the goal p50 <= 20 ms, and the database size.
// A benchmark, not a test: a failed step aborts the run with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use pigeon_library::Library;
use pigeon_store::protocol::{
    Attachment, BlobId, BlobKind, BlobRef, Message, MessageId, Receipt, Segment, Transcript,
    UserName, Word,
};
use rusqlite::{params, Connection};

const MESSAGES: usize = 10_000;
const SEGMENTS: usize = 30;
/// Results a face asks for at a time.
const LIMIT: usize = 50;
const RUNS: usize = 25;
const GOAL_P50_MS: f64 = 20.0;

/// Words of speech about work, most common first.
const WORDS: &[&str] = &[
    "the",
    "and",
    "to",
    "we",
    "a",
    "of",
    "is",
    "that",
    "it",
    "in",
    "so",
    "you",
    "this",
    "i",
    "for",
    "on",
    "be",
    "with",
    "can",
    "have",
    "just",
    "are",
    "will",
    "what",
    "if",
    "not",
    "do",
    "there",
    "our",
    "at",
    "they",
    "but",
    "about",
    "think",
    "all",
    "from",
    "one",
    "was",
    "now",
    "get",
    "like",
    "also",
    "here",
    "then",
    "make",
    "need",
    "see",
    "going",
    "want",
    "know",
    "next",
    "week",
    "team",
    "time",
    "work",
    "thing",
    "really",
    "look",
    "good",
    "new",
    "change",
    "people",
    "way",
    "back",
    "take",
    "first",
    "some",
    "today",
    "right",
    "still",
    "release",
    "review",
    "build",
    "test",
    "design",
    "plan",
    "customer",
    "question",
    "update",
    "meeting",
    "feature",
    "issue",
    "page",
    "screen",
    "button",
    "report",
    "number",
    "budget",
    "quarter",
    "launch",
    "deadline",
    "sprint",
    "branch",
    "server",
    "database",
    "query",
    "index",
    "search",
    "upload",
    "download",
    "folder",
    "settings",
    "account",
    "invoice",
    "contract",
    "hiring",
    "onboarding",
    "feedback",
    "roadmap",
    "priority",
    "estimate",
    "demo",
    "prototype",
    "sketch",
    "mockup",
    "layout",
    "colour",
    "font",
    "logo",
    "video",
    "audio",
    "camera",
    "microphone",
    "recording",
    "transcript",
    "caption",
    "player",
    "timeline",
    "marker",
    "comment",
    "thread",
    "reply",
    "message",
    "inbox",
    "reminder",
    "calendar",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "morning",
    "afternoon",
    "evening",
    "office",
    "remote",
    "travel",
    "flight",
    "hotel",
    "berlin",
    "lisbon",
    "tokyo",
    "toronto",
    "nairobi",
    "café",
    "kitchen",
    "coffee",
    "lunch",
    "dinner",
    "birthday",
    "holiday",
    "weather",
    "rain",
    "snow",
    "garden",
    "bicycle",
    "train",
    "parking",
    "printer",
    "laptop",
    "monitor",
    "keyboard",
    "battery",
    "charger",
    "cable",
    "network",
    "wifi",
    "password",
    "security",
    "privacy",
    "backup",
    "storage",
    "memory",
    "performance",
    "latency",
    "throughput",
    "benchmark",
    "profile",
    "crash",
    "bug",
    "fix",
    "patch",
    "version",
    "migration",
    "schema",
    "trigger",
    "table",
    "column",
    "row",
    "cursor",
    "sync",
    "offline",
    "online",
    "hub",
    "store",
    "blob",
    "seal",
    "record",
    "share",
    "export",
    "import",
    "archive",
    "delete",
    "rename",
    "move",
    "copy",
    "paste",
    "undo",
    "redo",
    "zoom",
    "scroll",
    "click",
    "drag",
    "drop",
    "shortcut",
    "tray",
    "window",
    "dialog",
    "notification",
    "badge",
    "icon",
    "theme",
    "dark",
    "light",
    "contrast",
    "accessibility",
    "keyboardless",
    "translation",
    "language",
    "english",
    "german",
    "french",
    "spanish",
    "japanese",
    "swahili",
    "résumé",
    "naïve",
    "façade",
    "jalapeño",
    "über",
    "pipeline",
    "deploy",
    "rollback",
    "incident",
    "postmortem",
    "oncall",
    "pager",
    "alert",
    "dashboard",
    "metric",
    "graph",
    "chart",
    "spreadsheet",
    "slide",
    "deck",
    "document",
    "draft",
    "proposal",
    "approval",
    "signature",
    "legal",
    "finance",
    "marketing",
    "sales",
    "support",
    "ticket",
    "escalation",
    "partner",
    "vendor",
    "supplier",
    "warehouse",
    "shipment",
    "delivery",
    "package",
    "label",
    "barcode",
    "scanner",
    "inventory",
    "forecast",
    "revenue",
    "margin",
    "cost",
    "price",
    "discount",
    "subscription",
    "renewal",
    "churn",
    "retention",
    "growth",
    "experiment",
    "hypothesis",
    "result",
    "insight",
    "summary",
    "decision",
    "risk",
    "blocker",
    "dependency",
    "milestone",
    "scope",
    "requirement",
    "specification",
    "interview",
    "candidate",
    "offer",
    "salary",
    "promotion",
    "mentor",
    "workshop",
    "conference",
    "keynote",
    "podcast",
    "newsletter",
    "blog",
    "tutorial",
    "walrus",
    "zeppelin",
    "quokka",
    "saxophone",
    "origami",
    "kayak",
    "volcano",
    "nebula",
];

/// A deterministic stream of numbers (xorshift64*) and words drawn from it: the same
/// library every run. Words follow Zipf's law (the word of rank r is drawn in
/// proportion to 1/r), as in speech: a few words are everywhere, most are rare.
struct Draw {
    state: u64,
    /// The cumulative Zipf weights of `WORDS`, ending at 1.
    cumulative: Vec<f64>,
}

impl Draw {
    fn new(seed: u64) -> Self {
        let total: f64 = (1..=WORDS.len()).map(|r| 1.0 / r as f64).sum();
        let mut sum = 0.0;
        let cumulative = (1..=WORDS.len())
            .map(|r| {
                sum += 1.0 / r as f64 / total;
                sum
            })
            .collect();
        Self {
            state: seed,
            cumulative,
        }
    }
    fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn word(&mut self) -> &'static str {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let rank = self.cumulative.partition_point(|&c| c < u);
        WORDS[rank.min(WORDS.len() - 1)]
    }
    fn sentence(&mut self, min: usize, max: usize) -> Vec<&'static str> {
        let n = min + self.below(max - min + 1);
        (0..n).map(|_| self.word()).collect()
    }
}

fn message(i: usize, draw: &mut Draw) -> Message {
    let blob = BlobRef {
        id: BlobId::parse("blob0000000000000001").unwrap(),
        kind: BlobKind::Clip,
        size: 1,
        sha256: "00".into(),
        content_type: "video/mp4".into(),
    };
    let id = MessageId::parse(format!("{i:016x}bench")).unwrap();
    let senders = [
        "alice", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    ];
    let sent_at = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap()
        + chrono::Duration::minutes(45 * i as i64);
    let subject = draw.sentence(2, 6).join(" ");
    Message {
        thread: id.clone(),
        id,
        sender: UserName::parse(senders[draw.below(senders.len())]).unwrap(),
        recipients: vec![UserName::parse("bob").unwrap()],
        subject,
        text: (draw.below(3) == 0).then(|| draw.sentence(5, 25).join(" ")),
        attachments: (0..draw.below(3))
            .map(|_| Attachment {
                blob: blob.clone(),
                name: format!("{}-{}.pdf", draw.word(), draw.word()),
            })
            .collect(),
        clip: Some(blob),
        poster: None,
        duration_ms: Some(SEGMENTS as u64 * 4000),
        respond_by: sent_at + chrono::Duration::hours(24),
        respond_by_tz: "UTC".into(),
        in_reply_to: None,
        sent_at,
        at_ms: None,
        chapter: None,
        chapters: vec![],
        acknowledge_only: false,
        deadlines: vec![],
        working_hours_each: None,
    }
}

fn transcript(draw: &mut Draw) -> Transcript {
    let segments = (0..SEGMENTS)
        .map(|s| {
            let start_ms = s as u64 * 4000;
            let words = draw.sentence(8, 18);
            Segment {
                start_ms,
                end_ms: start_ms + 3800,
                text: words.join(" "),
                words: words
                    .iter()
                    .enumerate()
                    .map(|(k, w)| Word {
                        start_ms: start_ms + 200 * k as u64,
                        end_ms: start_ms + 200 * k as u64 + 180,
                        text: format!(" {w}"),
                    })
                    .collect(),
            }
        })
        .collect();
    Transcript {
        language: "en".into(),
        model: "base.en".into(),
        duration_ms: SEGMENTS as u64 * 4000,
        segments,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// How many indexed rows hold the words of `typed` (all of them are ranked), by the
/// same quoting as the library's: each word a quoted phrase, the last a prefix.
fn matching_rows(conn: &Connection, typed: &str) -> i64 {
    let phrases: Vec<String> = typed
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    if phrases.is_empty() {
        return 0;
    }
    let query = format!("{}*", phrases.join(" "));
    conn.query_row(
        "SELECT COUNT(*) FROM search_text WHERE search_text MATCH ?1",
        [query],
        |r| r.get(0),
    )
    .unwrap()
}

fn main() {
    // `cargo test --all-targets` runs bench binaries without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("search benchmark: run with `cargo bench -p pigeon-library --bench search`");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // PIGEON_SEARCH_BENCH_DB=FILE keeps the library there (a new file) to look into.
    let db = std::env::var_os("PIGEON_SEARCH_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("library.sqlite"));
    let library = Library::open_at(&db, &dir.path().join("files")).unwrap();

    // Messages arrive as a sync stores them (pages of 500); transcripts are written as
    // received ones are, by another connection: the triggers index both.
    let mut draw = Draw::new(0x9e37_79b9_7f4a_7c15);
    let writer = Connection::open(&db).unwrap();
    writer.busy_timeout(Duration::from_secs(10)).unwrap();
    let started = Instant::now();
    let mut segment_words = 0usize;
    for first in (0..MESSAGES).step_by(500) {
        let page: Vec<_> = (first..(first + 500).min(MESSAGES))
            .map(|i| {
                let m = message(i, &mut draw);
                let receipt = Receipt::new(m.recipients[0].clone());
                (m, receipt)
            })
            .collect();
        library.store_received_page(&page, Utc::now()).unwrap();
        let tx = writer.unchecked_transaction().unwrap();
        for (m, _) in &page {
            let t = transcript(&mut draw);
            segment_words += t.segments.iter().map(|s| s.words.len()).sum::<usize>();
            tx.execute(
                "INSERT INTO transcripts (owner, state, origin, transcript, language, model, queued_at, done_at)
                 VALUES (?1, 'done', 'received', ?2, 'en', 'base.en', ?3, ?3)",
                params![
                    format!("message:{}", m.id.as_str()),
                    serde_json::to_string(&t).unwrap(),
                    m.sent_at.to_rfc3339()
                ],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let indexed = started.elapsed();
    writer
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let rows: i64 = writer
        .query_row("SELECT COUNT(*) FROM search_rows", [], |r| r.get(0))
        .unwrap();
    let size = std::fs::metadata(&db).unwrap().len();
    let index_bytes: i64 = writer
        .query_row(
            "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE 'search%'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(-1);
    println!(
        "library: {MESSAGES} received messages, {SEGMENTS} segments each ({segment_words} spoken words), \
         {rows} indexed rows, stored and indexed in {:.1} s",
        indexed.as_secs_f64()
    );
    println!(
        "database: {:.1} MB (search tables and index: {})",
        size as f64 / 1e6,
        if index_bytes >= 0 {
            format!("{:.1} MB", index_bytes as f64 / 1e6)
        } else {
            "n/a".into()
        }
    );

    let queries = [
        "budget",
        "walrus",
        "zeppelin kayak",
        "quokka",
        "nairobi",
        "release review",
        "customer feedback friday",
        "migr",
        "tr",
        "café",
        "CAFE",
        "resume",
        "alice",
        "pdf",
        "invoice-forecast",
        "deadline next week",
        "the",
        "\"NEAR(* -",
        "nothing-here-xyz",
    ];
    let mut all = Vec::new();
    println!(
        "{:<28} {:>8} {:>6} {:>9} {:>9}",
        "query", "matching", "hits", "p50 ms", "p95 ms"
    );
    for q in queries {
        // Once to warm the statement cache and the pages this query reads.
        let hits = library.search(q, LIMIT).unwrap().len();
        let matching = matching_rows(&writer, q);
        let mut times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(library.search(q, LIMIT).unwrap());
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "{:<28} {:>8} {:>6} {:>9.2} {:>9.2}",
            format!("{q:?}"),
            matching,
            hits,
            percentile(&times, 0.5),
            percentile(&times, 0.95)
        );
        all.extend(times);
    }
    all.sort();
    let p50 = percentile(&all, 0.5);
    println!(
        "all queries ({} runs, limit {LIMIT}): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; goal p50 <= {GOAL_P50_MS} ms: {}",
        all.len(),
        p50,
        percentile(&all, 0.95),
        all.last().unwrap().as_secs_f64() * 1000.0,
        if p50 <= GOAL_P50_MS { "met" } else { "NOT met" }
    );
}
