//! Process memory: freed heap pages handed back to the operating system between stages.
//!
//! glibc's allocator keeps what a stage frees inside its arenas: the text frame of the
//! streaming read (≈ 3 GiB at 10 M stays) or the cluster fit rows' features (0.5 GiB) stay
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

/// Drops the pages of `bytes`, a slice of a read-only file mapping, from this process
/// (`madvise(MADV_DONTNEED)` on the whole pages inside it): they stop counting as its
/// resident memory, and a later read of them faults them in again from the page cache with
/// the same contents. A no-op off Linux.
///
/// # Safety
/// `bytes` must lie inside a read-only mapping of a file. On anonymous (heap) memory
/// `MADV_DONTNEED` would zero the pages under their owner.
pub unsafe fn release_mapped(bytes: &[u8]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf only reads a system constant.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            p if p > 0 => p as usize,
            _ => return,
        };
        let from = (bytes.as_ptr() as usize).next_multiple_of(page);
        let to = (bytes.as_ptr() as usize + bytes.len()) / page * page;
        if to > from {
            // SAFETY: [from, to) lies inside `bytes`, a read-only file mapping (the
            // caller's promise); there MADV_DONTNEED only unmaps pages, whose contents a
            // later access reads back unchanged from the file.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED);
            }
        }
    }
}
