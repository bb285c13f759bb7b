//! A small seeded random-number generator (xorshift64*, Vigna 2016) for the controllers that
//! draw random numbers (.NET's sample intervals, Vegas' probe jitter) and the replay's noise:
//! the same seed gives the same run, so replays and tests are deterministic. Not for
//! anything that needs unpredictable numbers.

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators,
/// scrambled", 2016): 64 bits of state, never zero.
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator started from `seed` (any value; 0 is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> SeededRng {
        // splitmix64's finaliser spreads small seeds (1, 2, 3) over the whole state.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        SeededRng {
            state: if z == 0 { 0x2545_F491_4F6C_DD1D } else { z },
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `low..=high` (`low` when `high < low`).
    pub fn int_inclusive(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.next_u64() % (high - low + 1)
    }

    /// A standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]: ln is finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_ranges_hold() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        let mut c = SeededRng::new(8);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let again: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        let other: Vec<u64> = (0..5).map(|_| c.next_u64()).collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
        for _ in 0..1000 {
            let x = a.int_inclusive(10, 200);
            assert!((10..=200).contains(&x), "{x}");
            let f = a.next_f64();
            assert!((0.0..1.0).contains(&f), "{f}");
        }
        let mean = (0..20_000).map(|_| a.normal()).sum::<f64>() / 20_000.0;
        assert!(mean.abs() < 0.05, "{mean}");
    }
}
