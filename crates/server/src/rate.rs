//! Token buckets: a sustained rate and a burst per key (an address, a session).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use crate::limits::RATE_KEYS_MAX;

/// One bucket per key, refilled at `rate` per second up to `burst`.
#[derive(Debug)]
pub struct RateTable<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Eq + Hash> RateTable<K> {
    /// A table of buckets of `rate` per second and `burst` at once.
    #[must_use]
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket at `now`; false if it is empty.
    pub fn take(&self, key: K, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        if buckets.len() >= RATE_KEYS_MAX && !buckets.contains_key(&key) {
            buckets.clear();
        }
        let (tokens, last) = buckets.entry(key).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let table = RateTable::new(2.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(table.take("a", t0));
        }
        assert!(!table.take("a", t0), "the burst is spent");
        assert!(table.take("b", t0), "another key has its own bucket");
        assert!(
            table.take("a", t0 + Duration::from_millis(500)),
            "one token per half second"
        );
        assert!(!table.take("a", t0 + Duration::from_millis(500)));
    }
}
