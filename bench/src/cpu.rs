//! Where the CPU went during a measured window: the server process, this process (the client, or the raw
//! writer), every `postgres` process of the machine, and the whole machine (the rest is anything else running),
//! from /proc, in percent of one core (a 2-core machine has 200%).

/// A snapshot of CPU time, in clock ticks (USER_HZ).
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    server: u64,
    client: u64,
    postgres: u64,
    busy: u64,
    total: u64,
}

/// CPU used between two snapshots, in percent of one core.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shares {
    pub server: f64,
    pub client: f64,
    /// Every process named `postgres` (the server's backends, and those of anyone else using it).
    pub postgres: f64,
    pub machine: f64,
    pub cores: usize,
}

/// utime + stime of a process (`self` or a pid).
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is the first, utime the 12th, stime the 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// utime + stime of every process named `postgres` (backends that ended between two snapshots are missed).
fn postgres_ticks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm.trim() == "postgres").then(|| process_ticks(&pid)).flatten()
        })
        .sum()
}

/// (busy, total) ticks of all CPUs together.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line.split_whitespace().filter_map(|v| v.parse().ok()).take(8).collect();
    let total: u64 = values.iter().sum();
    let idle = values.get(3)? + values.get(4)?;
    Some((total - idle, total))
}

impl Snapshot {
    pub fn take(server_pid: Option<u32>) -> Self {
        let (busy, total) = machine_ticks().unwrap_or_default();
        Self {
            server: server_pid.and_then(|p| process_ticks(&p.to_string())).unwrap_or(0),
            client: process_ticks("self").unwrap_or(0),
            postgres: postgres_ticks(),
            busy,
            total,
        }
    }

    /// The shares from `self` (earlier) to `later`.
    pub fn shares_until(&self, later: &Snapshot) -> Shares {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let total = later.total.saturating_sub(self.total).max(1) as f64;
        let share = |ticks: u64| ticks as f64 / total * cores as f64 * 100.0;
        Shares {
            server: share(later.server.saturating_sub(self.server)),
            client: share(later.client.saturating_sub(self.client)),
            postgres: share(later.postgres.saturating_sub(self.postgres)),
            machine: share(later.busy.saturating_sub(self.busy)),
            cores,
        }
    }
}
