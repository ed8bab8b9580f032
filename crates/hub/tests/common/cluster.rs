//! Several real hubs over one PostgreSQL database and one bucket, behind a real HAProxy
//! that sends each request to the next hub (round robin): what an organisation runs
//! when one machine is not enough.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::spawn_hub;

/// Hubs in a test cluster.
pub const CLUSTER_HUBS: usize = 3;

pub struct Cluster {
    /// The balancer's URL: what clients use.
    pub url: String,
    pub port: u16,
    /// Each hub's own URL (for tests that go around the balancer).
    pub hub_urls: Vec<String>,
    hubs: Vec<Option<Child>>,
    balancer: Option<Child>,
    config: PathBuf,
    data: PathBuf,
}

/// The status of `GET path` on a loopback port, over a plain socket (these checks run
/// outside any async runtime's reach).
pub fn get_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// The body of `GET path` on a loopback port.
pub fn get_body(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let mut all = String::new();
    let _ = s.read_to_string(&mut all);
    all.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// Starts `n` hubs with `config` (their data folders under `data`), then HAProxy on
    /// `port` (0: a free one) in front of them, and waits until it reaches every hub.
    pub fn start(config: &Path, data: &Path, port: u16, n: usize) -> Self {
        let mut hubs = Vec::new();
        let mut hub_urls = Vec::new();
        for i in 0..n {
            let (child, url) = spawn_hub(config, &data.join(format!("node-{i}")), 0);
            hubs.push(Some(child));
            hub_urls.push(url);
        }
        let port = if port == 0 { free_port() } else { port };
        let cfg = data.join("haproxy.cfg");
        let servers: String = hub_urls
            .iter()
            .enumerate()
            .map(|(i, url)| {
                format!(
                    "  server hub{i} {} check\n",
                    url.trim_start_matches("http://")
                )
            })
            .collect();
        // Long-polls last up to the hub's long_poll_max_secs (60 s): the server timeout
        // is longer. A hub that stops answering its health check is taken out within a
        // second; a request whose connection failed is sent to another hub.
        std::fs::write(
            &cfg,
            format!(
                "global\n  maxconn 9000\n\
                 defaults\n  mode http\n  timeout connect 1s\n  timeout client 120s\n  timeout server 120s\n  \
                 timeout http-keep-alive 10s\n  retries 3\n  option redispatch\n\
                 frontend hubs\n  bind 127.0.0.1:{port}\n  default_backend hubs\n\
                 backend hubs\n  balance roundrobin\n  option httpchk GET /livez\n  \
                 default-server inter 300ms fall 2 rise 1\n{servers}"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(data.join("haproxy.log")).unwrap();
        let balancer = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start haproxy (scripts/setup installs it)");
        let mut cluster = Cluster {
            url: format!("http://127.0.0.1:{port}"),
            port,
            hub_urls,
            hubs,
            balancer: Some(balancer),
            config: config.to_path_buf(),
            data: data.to_path_buf(),
        };
        cluster.wait_until_all_up();
        cluster
    }

    /// Waits until HAProxy has every hub that runs in its rotation (its health checks
    /// passed), by asking each through the balancer's own state.
    pub fn wait_until_all_up(&mut self) {
        let started = Instant::now();
        let running = self.hubs.iter().filter(|h| h.is_some()).count();
        loop {
            // Round robin: `running` answers in a row reach every hub.
            let ok = (0..running * 2)
                .filter(|_| get_status(self.port, "/livez") == Some(200))
                .count();
            if ok == running * 2 {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the balancer did not reach the hubs; see {}",
                self.data.join("haproxy.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid of hub `i`.
    pub fn hub_pid(&self, i: usize) -> u32 {
        self.hubs[i].as_ref().expect("hub running").id()
    }

    /// SIGKILL hub `i`: it finishes nothing.
    pub fn kill_hub(&mut self, i: usize) {
        if let Some(mut c) = self.hubs[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts hub `i` again on its port.
    pub fn restart_hub(&mut self, i: usize) {
        self.kill_hub(i);
        let port: u16 = self.hub_urls[i]
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let (child, _) = spawn_hub(&self.config, &self.data.join(format!("node-{i}")), port);
        self.hubs[i] = Some(child);
    }

    /// Stops every hub and the balancer.
    pub fn kill(&mut self) {
        for i in 0..self.hubs.len() {
            self.kill_hub(i);
        }
        if let Some(mut b) = self.balancer.take() {
            let _ = b.kill();
            let _ = b.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.kill();
    }
}
