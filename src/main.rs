//! The `ykien` binary: see `ykien --help`.

use ykien::cli::Workload;

fn main() -> std::process::ExitCode {
    ykien::cli::main(tune_allocator)
}

/// Keeps the server's memory near what it uses. glibc gives each thread that allocates its own arena (up to 8 per
/// core) and serves large buffers from those arenas once a big one was freed (its mmap threshold rises up to
/// 32 MiB), keeping what was freed for the thread that freed it. Scoring runs on tokio's blocking threads, one page
/// of a commune's answers after another, so every blocking thread ended up holding tens of megabytes it no longer
/// used: the server peaked at 197 MB while scoring 100,000 stored responses. Two arenas (one per core of the
/// machines this runs on) and buffers over 128 KiB mapped and returned at once bring that peak to 93 MB, measured
/// with the same run (`bench/src/scores.rs`, "server peak RSS"; with one arena 90 MB, with the threshold alone
/// 108 MB). The environment's `MALLOC_ARENA_MAX` and `MALLOC_MMAP_THRESHOLD_` still win when set.
///
/// Only for the server ([`Workload::Service`]). A command that works and exits keeps glibc's defaults: with the fixed
/// threshold every large buffer is mapped and unmapped again, and `ykien analyze` on 1,000,000 responses spent 10 s
/// of its 17 s in the kernel zeroing fresh pages (12–12.5 s in all without the fixed threshold, same machine).
/// mimalloc was tried instead of both: 20% more chat updates a second through the server and the same 12 s for
/// `analyze`, but the server peaked at 189 MB scoring 100,000 stored responses (156 MB with
/// `MIMALLOC_PURGE_DELAY=0`), over issue 17's 150 MB. Tried again with mimalloc v3 (crate 0.1.52, 2026-12-08):
/// the Telegram webhook 1,081 → 1,302 updates/s in one sitting, and with `purge_delay` 0 and `arena_eager_commit`
/// 0 the 100,000-response scoring peak was 86 MB (glibc as tuned here: 90 MB); but `ykien analyze` on 1,000,000
/// responses went from 4.9 s to 5.4 s and from 654 to 774 MB, and the chat bench's in-process dialogue, on the same
/// allocator, rose as much as the server (the webhook path stayed at 60% of it). Not kept.
#[allow(unsafe_code)]
fn tune_allocator(workload: Workload) {
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = workload;
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if workload == Workload::Service {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            // SAFETY: mallopt only changes the allocator's parameters; called before any other thread exists.
            unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            // SAFETY: as above.
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
        }
    }
}
