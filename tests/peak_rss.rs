//! The peak-RSS reading, alone in its own test binary (so its own process): peak RSS is
//! process-wide, and other tests allocating, freeing or resetting it in parallel would make
//! the check a matter of luck.

use pooltune::measure::{current_rss_bytes, peak_rss_bytes, reset_peak_rss};

#[test]
fn peak_rss_reset_sees_a_new_allocation_and_forgets_an_old_one() {
    if !reset_peak_rss() {
        return; // a kernel without /proc/self/clear_refs: the peak is the lifetime peak
    }
    let base = peak_rss_bytes();
    let block = vec![1u8; 64 << 20];
    std::hint::black_box(&block);
    let peak = peak_rss_bytes();
    assert!(
        peak >= base + (60 << 20),
        "peak {peak} after a 64 MiB touch, base {base}"
    );
    drop(block);
    // After the block is freed, a reset brings the peak back down to what is resident now.
    assert!(reset_peak_rss());
    let after = peak_rss_bytes();
    assert!(
        after + (32 << 20) < peak,
        "peak {after} after freeing and a reset (was {peak})"
    );
    assert!(
        after >= current_rss_bytes() / 2,
        "peak {after} below resident {}",
        current_rss_bytes()
    );
}
