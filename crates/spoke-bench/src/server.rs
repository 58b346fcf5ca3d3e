//! The `spoke serve` child process: token, start, readiness, memory, stop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `spoke token create` answered.
pub enum TokenOutcome {
    Token(String),
    /// This spoke build does not know the database URL's scheme.
    Unsupported(String),
}

/// Creates an all-scopes token (and the portal) with the CLI, before the server starts.
pub fn create_token(spoke: &Path, database: &str, portal: i64) -> Result<TokenOutcome, String> {
    let out = Command::new(spoke)
        .args(["token", "create", "--database", database, "--portal"])
        .arg(portal.to_string())
        .args(["--scopes", "all"])
        .env_remove("SPOKE_DATABASE_URL")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", spoke.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if !out.status.success() {
        if stderr.contains("unsupported database URL") {
            return Ok(TokenOutcome::Unsupported(stderr));
        }
        return Err(format!(
            "spoke token create failed ({}): {stderr}",
            out.status
        ));
    }
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(format!("spoke token create printed {token:?}, not a token"));
    }
    Ok(TokenOutcome::Token(token))
}

pub struct Server {
    child: Child,
    pub pid: u32,
    pub base: String,
    /// From spawn to the first `GET /healthz` answered 200.
    pub startup: Duration,
    log: PathBuf,
    /// The admin token the server was started with (`/_spoke/`).
    pub admin_token: String,
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The last lines of the server's log, for error messages.
pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl Server {
    /// Spawns `spoke serve` on a free local port and waits until `/healthz` answers 200.
    pub async fn start(spoke: &Path, database: &str, log: &Path) -> Result<Self, String> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let spawned = Instant::now();
        let admin_token = spoke_store::admin::new_admin_secret();
        let child = Command::new(spoke)
            .args(["serve", "--listen", &listen, "--database", database])
            .env("SPOKE_ADMIN_TOKEN", &admin_token)
            .env_remove("SPOKE_DATABASE_URL")
            .env_remove("SPOKE_LISTEN")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", spoke.display()))?;
        let mut server = Server {
            pid: child.id(),
            child,
            base: format!("http://{listen}"),
            startup: Duration::ZERO,
            log: log.to_owned(),
            admin_token,
        };
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("{}/healthz", server.base);
        loop {
            if let Ok(r) = probe.get(&url).send().await {
                if r.status().as_u16() == 200 {
                    server.startup = spawned.elapsed();
                    return Ok(server);
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "spoke serve exited ({status}) before it was ready:\n{}",
                    log_tail(&server.log)
                ));
            }
            if spawned.elapsed() > Duration::from_secs(60) {
                return Err(format!(
                    "spoke serve not ready after 60 s:\n{}",
                    log_tail(&server.log)
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Asks the server to shut down (SIGTERM, as a service manager would) and waits;
    /// kills it if it has not exited after 30 s.
    pub async fn stop(mut self) -> Result<(), String> {
        if !self.is_running() {
            return Err(format!(
                "spoke serve had exited on its own:\n{}",
                log_tail(&self.log)
            ));
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err("spoke serve did not exit within 30 s of SIGTERM; killed".into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Resident set size of a process in bytes (Linux `/proc/<pid>/status` VmRSS).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time (user + system) a process has used, in seconds; `None` for this process.
/// Linux `/proc/<pid>/stat`, in clock ticks of 1/100 s.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start with the state (field 3).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// CPU time the whole machine has been busy (all CPUs, `/proc/stat`), in seconds.
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|i| v.get(*i))
        .sum::<u64>();
    Some(busy as f64 / 100.0)
}

/// What a stretch of the run cost the machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resources {
    /// CPU cores the server used on average (CPU seconds per second).
    pub server_cores: f64,
    /// The same for the benchmark process itself (the load generator).
    pub client_cores: f64,
    /// Everything else running on the machine meanwhile (other processes, steal):
    /// anything well above zero means the figures were measured on a busy machine.
    pub other_cores: f64,
    /// The server's peak RSS during the stretch, in bytes.
    pub rss_peak: u64,
}

/// A started measurement of [`Resources`].
pub struct Stretch {
    started: Instant,
    server_cpu: Option<f64>,
    client_cpu: Option<f64>,
    machine_cpu: Option<f64>,
}

/// Samples a process's RSS every 100 ms until stopped; keeps the maximum, overall and
/// per stretch of the run.
pub struct RssSampler {
    pid: u32,
    stop: Arc<AtomicBool>,
    max: Arc<AtomicU64>,
    window: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicU64::new(0));
        let window = Arc::new(AtomicU64::new(0));
        let (s, m, w) = (stop.clone(), max.clone(), window.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Some(rss) = rss_bytes(pid) {
                    m.fetch_max(rss, Ordering::Relaxed);
                    w.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Self {
            pid,
            stop,
            max,
            window,
            task,
        }
    }

    /// Starts measuring a stretch of the run (a scenario).
    pub fn begin(&self) -> Stretch {
        self.window
            .store(rss_bytes(self.pid).unwrap_or(0), Ordering::Relaxed);
        Stretch {
            started: Instant::now(),
            server_cpu: cpu_seconds(Some(self.pid)),
            client_cpu: cpu_seconds(None),
            machine_cpu: machine_busy_seconds(),
        }
    }

    pub fn end(&self, stretch: Stretch) -> Resources {
        let wall = stretch.started.elapsed().as_secs_f64().max(1e-9);
        let cores = |before: Option<f64>, after: Option<f64>| match (before, after) {
            (Some(b), Some(a)) => (a - b).max(0.0) / wall,
            _ => 0.0,
        };
        let rss_now = rss_bytes(self.pid).unwrap_or(0);
        self.max.fetch_max(rss_now, Ordering::Relaxed);
        let server_cores = cores(stretch.server_cpu, cpu_seconds(Some(self.pid)));
        let client_cores = cores(stretch.client_cpu, cpu_seconds(None));
        let machine_cores = cores(stretch.machine_cpu, machine_busy_seconds());
        Resources {
            server_cores,
            client_cores,
            other_cores: (machine_cores - server_cores - client_cores).max(0.0),
            rss_peak: self.window.load(Ordering::Relaxed).max(rss_now),
        }
    }

    /// Stops sampling; the peak RSS in bytes (0 if `/proc` could not be read).
    pub async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.max.load(Ordering::Relaxed)
    }
}
