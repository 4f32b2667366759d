//! Hybrid logical clock: wall-clock milliseconds, a counter, and the device id as tie-break.
//!
//! Timestamps are issued strictly increasing on a device even when its wall clock goes
//! backwards, and move past any timestamp received from another device, so a later edit always
//! orders after what the editor had already seen.

use std::cmp::Ordering;
use std::fmt;

use rand::RngCore;

use crate::error::{Error, Result};

/// A device's id: 16 random bytes, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(String);

impl DeviceId {
    /// A new random device id.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// Parses a stored device id.
    pub fn parse(s: &str) -> Result<Self> {
        if s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(
                "device id",
                "expected 32 lowercase hex digits",
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One hybrid-logical-clock timestamp. Orders by (milliseconds, counter, device).
///
/// Its text form is fixed-width, so text order is timestamp order and SQLite can compare them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (at least the wall clock when issued).
    pub millis: u64,
    /// Orders timestamps issued within the same millisecond.
    pub counter: u32,
    /// The issuing device: breaks ties between devices.
    pub device: DeviceId,
}

/// The largest millisecond value the 12-hex-digit text form holds (year 10889).
const MAX_MILLIS: u64 = 0xffff_ffff_ffff;

impl Hlc {
    /// The timestamp before every other, for a device that has issued none yet.
    pub fn zero(device: DeviceId) -> Self {
        Self {
            millis: 0,
            counter: 0,
            device,
        }
    }

    /// The next timestamp for a local change, given the wall clock in milliseconds.
    pub fn tick(&self, wall_millis: u64) -> Self {
        let wall = wall_millis.min(MAX_MILLIS);
        if wall > self.millis {
            Self {
                millis: wall,
                counter: 0,
                device: self.device.clone(),
            }
        } else {
            self.bump()
        }
    }

    /// This device's clock after seeing `remote`: never behind anything it has received.
    pub fn observe(&self, remote: &Hlc) -> Self {
        match (remote.millis, remote.counter).cmp(&(self.millis, self.counter)) {
            Ordering::Greater => Self {
                millis: remote.millis,
                counter: remote.counter,
                device: self.device.clone(),
            },
            _ => self.clone(),
        }
    }

    fn bump(&self) -> Self {
        match self.counter.checked_add(1) {
            Some(counter) => Self {
                millis: self.millis,
                counter,
                device: self.device.clone(),
            },
            // Four billion writes in one millisecond: borrow the next millisecond.
            None => Self {
                millis: self.millis + 1,
                counter: 0,
                device: self.device.clone(),
            },
        }
    }

    /// Parses the text form written by `Display`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::invalid("hlc", "malformed timestamp");
        let mut parts = s.split('.');
        let (Some(m), Some(c), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if m.len() != 12 || c.len() != 8 {
            return Err(bad());
        }
        let millis = u64::from_str_radix(m, 16).map_err(|_| bad())?;
        let counter = u32::from_str_radix(c, 16).map_err(|_| bad())?;
        Ok(Self {
            millis,
            counter,
            device: DeviceId::parse(d)?,
        })
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:012x}.{:08x}.{}",
            self.millis,
            self.counter,
            self.device.as_str()
        )
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, &self.device).cmp(&(other.millis, other.counter, &other.device))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn device(n: u8) -> DeviceId {
        DeviceId::parse(&format!("{n:032x}")).unwrap()
    }

    #[test]
    fn ticks_stay_monotonic_when_the_wall_clock_goes_back() {
        let t0 = Hlc::zero(device(1)).tick(10_000);
        let t1 = t0.tick(5_000);
        let t2 = t1.tick(5_000);
        assert!(t0 < t1 && t1 < t2);
        assert_eq!(t2.millis, 10_000);
        assert_eq!(t2.counter, 2);
        let t3 = t2.tick(20_000);
        assert_eq!((t3.millis, t3.counter), (20_000, 0));
    }

    #[test]
    fn observing_a_later_remote_moves_past_it() {
        let local = Hlc::zero(device(1)).tick(1_000);
        let remote = Hlc::zero(device(2)).tick(9_000).tick(9_000);
        let seen = local.observe(&remote);
        assert!(seen.tick(1_000) > remote);
    }

    proptest! {
        #[test]
        fn text_order_is_timestamp_order(a in 0u64..MAX_MILLIS, ac in any::<u32>(), b in 0u64..MAX_MILLIS, bc in any::<u32>(), da in 0u8..4, db in 0u8..4) {
            let x = Hlc { millis: a, counter: ac, device: device(da) };
            let y = Hlc { millis: b, counter: bc, device: device(db) };
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
            prop_assert_eq!(Hlc::parse(&x.to_string()).unwrap(), x);
        }
    }
}
