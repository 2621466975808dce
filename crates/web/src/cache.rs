//! What the worker does with each answer of the cache: pure decisions,
//! tested natively; `worker::cache` carries them out against IndexedDB.
//!
//! A damaged entry is never shown as if valid: it is dropped and the series
//! decoded again, and the user is told. An entry the browser refuses to read
//! is not damage: it is left for next time. A write the browser refuses
//! (storage full) removes what was begun.

use insitu_store::StoreError;

use crate::protocol::{CacheOutcome, CacheWrite, Failure};

/// The IndexedDB database derived data is cached in.
pub const DATABASE: &str = "insitu-cache";

/// What a load does after looking its volume up.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterLookup {
    /// Found and verified: use it, decode nothing.
    Use,
    /// Decode; the outcome says why.
    Decode(CacheOutcome),
    /// Delete the damaged entry, then decode.
    DropAndDecode(CacheOutcome),
}

/// The load's decision on a lookup's result.
pub fn after_lookup<T>(found: &Result<Option<T>, StoreError>) -> AfterLookup {
    match found {
        Ok(Some(_)) => AfterLookup::Use,
        Ok(None) => AfterLookup::Decode(CacheOutcome::Miss),
        Err(StoreError::Corrupt(damage)) => AfterLookup::DropAndDecode(CacheOutcome::Rebuilt {
            damage: damage.clone(),
        }),
        // The browser refused the read: decoded now, the entry left alone.
        Err(_) => AfterLookup::Decode(CacheOutcome::Miss),
    }
}

/// What opening a volume from the Recent list could not do, and whether the
/// entry must be deleted.
pub fn recent_failure(found: &Result<Option<()>, StoreError>) -> Option<(Failure, bool)> {
    match found {
        Ok(Some(())) => None,
        Ok(None) => Some((Failure::NotCached, false)),
        Err(StoreError::Corrupt(damage)) => Some((Failure::CacheDamaged(damage.clone()), true)),
        Err(e) => Some((Failure::CacheRefused(e.clone()), false)),
    }
}

/// How a volume write ended, and whether what was begun must be removed.
pub fn after_write(written: Result<(), StoreError>) -> (CacheWrite, bool) {
    match written {
        Ok(()) => (CacheWrite::Stored, false),
        Err(e) => (CacheWrite::Failed(e), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_is_dropped_and_rebuilt_but_a_refusal_is_left_alone() {
        assert_eq!(after_lookup::<()>(&Ok(Some(()))), AfterLookup::Use);
        assert_eq!(
            after_lookup::<()>(&Ok(None)),
            AfterLookup::Decode(CacheOutcome::Miss)
        );
        assert_eq!(
            after_lookup::<()>(&Err(StoreError::Corrupt("chunk 3".into()))),
            AfterLookup::DropAndDecode(CacheOutcome::Rebuilt {
                damage: "chunk 3".into()
            })
        );
        let refused = StoreError::Idb {
            operation: "read".into(),
            message: "UnknownError".into(),
        };
        assert_eq!(
            after_lookup::<()>(&Err(refused)),
            AfterLookup::Decode(CacheOutcome::Miss)
        );
    }

    #[test]
    fn the_recent_list_says_what_happened_to_an_entry() {
        assert_eq!(recent_failure(&Ok(Some(()))), None);
        assert_eq!(recent_failure(&Ok(None)), Some((Failure::NotCached, false)));
        assert_eq!(
            recent_failure(&Err(StoreError::Corrupt("size".into()))),
            Some((Failure::CacheDamaged("size".into()), true))
        );
        assert_eq!(
            recent_failure(&Err(StoreError::BlockedByOlderTab)),
            Some((Failure::CacheRefused(StoreError::BlockedByOlderTab), false))
        );
    }

    #[test]
    fn a_refused_write_is_reported_and_cleaned_up() {
        assert_eq!(after_write(Ok(())), (CacheWrite::Stored, false));
        assert_eq!(
            after_write(Err(StoreError::QuotaFull)),
            (CacheWrite::Failed(StoreError::QuotaFull), true)
        );
    }
}
