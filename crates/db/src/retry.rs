//! Bounded retries with exponential backoff and jitter for transient conflicts.

use std::time::Duration;

/// How often and how patiently a transaction is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts_max: u32,
    /// Backoff before the second attempt; doubles each time.
    pub backoff_base_ms: u64,
    /// Longest single backoff.
    pub backoff_cap_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts_max: 12,
            backoff_base_ms: 2,
            backoff_cap_ms: 250,
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt` (1-based, so attempt 2 is the first retry):
    /// full jitter over an exponentially growing window.
    #[must_use]
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(2).min(16);
        let window = self
            .backoff_base_ms
            .saturating_mul(1 << exp)
            .min(self.backoff_cap_ms)
            .max(1);
        let mut bytes = [0u8; 8];
        // Jitter only spreads retries apart; without OS randomness the full window is used.
        let jitter = match getrandom::fill(&mut bytes) {
            Ok(()) => u64::from_le_bytes(bytes) % (window + 1),
            Err(_) => window,
        };
        Duration::from_millis(jitter)
    }
}
