//! Process memory: freed heap pages handed back to the operating system between stages.
//!
//! glibc's allocator keeps what a stage frees inside its arenas: the text frame of the
//! streaming read (≈ 3 GiB at 10 M stays) or the cluster feature matrix (1 GiB) stays
//! resident after it is dropped, and the next stage's allocations only partly reuse it.
//! `malloc_trim` returns the free pages (`madvise(MADV_DONTNEED)` on whole free pages, the
//! arenas' tops unmapped), so the run's resident memory follows what it actually holds.

/// Returns the heap's free pages to the operating system (glibc's `malloc_trim`); a no-op
/// with another allocator or C library. Costs tens of milliseconds after a multi-GiB stage.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer and only walks the allocator's own free
    // lists, under the allocator's locks; any thread may call it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
