//! The `ykien` binary: see `ykien --help`.

fn main() -> std::process::ExitCode {
    tune_allocator();
    ykien::cli::main()
}

/// Keeps the server's memory near what it uses. glibc gives each thread that allocates its own arena (up to 8 per
/// core) and serves large buffers from those arenas once a big one was freed (its mmap threshold rises up to
/// 32 MiB), keeping what was freed for the thread that freed it. Scoring runs on tokio's blocking threads, one page
/// of a commune's answers after another, so every blocking thread ended up holding tens of megabytes it no longer
/// used: the server peaked at 197 MB while scoring 100,000 stored responses. Two arenas (one per core of the
/// machines this runs on) and buffers over 128 KiB mapped and returned at once bring that peak to 93 MB, measured
/// with the same run (`bench/src/scores.rs`, "server peak RSS"; with one arena 90 MB, with the threshold alone
/// 108 MB). The environment's `MALLOC_ARENA_MAX` and `MALLOC_MMAP_THRESHOLD_` still win when set.
#[allow(unsafe_code)]
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
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
