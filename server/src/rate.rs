//! Token buckets, keyed on an authenticated device or a peer address.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::config::Rate;

/// One bucket per key, refilled continuously on the relay's clock.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: u64,
}

impl RateLimiter {
    pub(crate) fn new(rate: Rate) -> Self {
        RateLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill_per_ms(&self) -> f64 {
        f64::from(self.rate.per_minute) / 60_000.0
    }

    /// Takes a token for `key`, or says in how many seconds one will be there.
    pub(crate) fn check(&self, key: &str, now_ms: u64) -> Result<(), u64> {
        let burst = f64::from(self.rate.burst.max(1));
        let per_ms = self.refill_per_ms();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at_ms: now_ms,
        });
        let elapsed = now_ms.saturating_sub(bucket.at_ms) as f64;
        bucket.tokens = (bucket.tokens + elapsed * per_ms).min(burst);
        bucket.at_ms = bucket.at_ms.max(now_ms);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if per_ms > 0.0 {
            let wait_ms = (1.0 - bucket.tokens) / per_ms;
            Err(((wait_ms / 1000.0).ceil() as u64).max(1))
        } else {
            Err(60)
        }
    }

    /// Forgets buckets that have filled up again: they are the same as no bucket.
    pub(crate) fn forget_idle(&self, now_ms: u64) {
        let burst = f64::from(self.rate.burst.max(1));
        let per_ms = self.refill_per_ms();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        buckets.retain(|_, b| b.tokens + now_ms.saturating_sub(b.at_ms) as f64 * per_ms < burst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = RateLimiter::new(Rate {
            burst: 3,
            per_minute: 60,
        });
        for _ in 0..3 {
            limiter.check("a", 0).unwrap();
        }
        assert_eq!(limiter.check("a", 0), Err(1));
        limiter
            .check("b", 0)
            .expect("another key has its own bucket");
        assert_eq!(limiter.check("a", 500), Err(1));
        limiter.check("a", 1_000).expect("one token a second");
        assert!(limiter.check("a", 1_000).is_err());

        // "b" is full again a second later; "a" is not.
        limiter.forget_idle(1_000);
        let kept: Vec<String> = limiter.buckets.lock().unwrap().keys().cloned().collect();
        assert_eq!(kept, vec!["a".to_owned()]);
        limiter.forget_idle(10_000);
        assert!(limiter.buckets.lock().unwrap().is_empty());
    }
}
