//! Files of an opening that come after its first message: the page sends a
//! large folder in messages of [`crate::protocol::FILES_PER_MESSAGE`], and
//! the worker takes them in as they arrive, while the `Open` request waits
//! its turn or runs. Each is tagged with its opening: files of one that
//! was cancelled before it ran never join a later one, and the parts of two
//! folders dropped one right after the other, sent interleaved, each go to
//! their own. Pure, so the policy is tested natively.

use std::collections::VecDeque;

/// Files waiting for the scan of their opening.
#[derive(Debug)]
pub struct Arrivals<T> {
    waiting: VecDeque<(u32, T)>,
}

impl<T> Default for Arrivals<T> {
    fn default() -> Self {
        Self {
            waiting: VecDeque::new(),
        }
    }
}

impl<T> Arrivals<T> {
    /// Files of `opening`, in the order sent.
    pub fn push(&mut self, opening: u32, files: T) {
        self.waiting.push_back((opening, files));
    }

    /// The next files of `opening`, if in; those of earlier openings (left
    /// by an `Open` that never ran: openings run one at a time, in order)
    /// are dropped, those of later ones kept.
    pub fn take(&mut self, opening: u32) -> Option<T> {
        self.waiting.retain(|&(of, _)| of >= opening);
        let at = self.waiting.iter().position(|&(of, _)| of == opening)?;
        self.waiting.remove(at).map(|(_, files)| files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opening_takes_its_own_files_in_order() {
        let mut arrivals = Arrivals::default();
        assert_eq!(arrivals.take(1), None);
        arrivals.push(1, "b");
        arrivals.push(1, "c");
        assert_eq!(arrivals.take(1), Some("b"));
        assert_eq!(arrivals.take(1), Some("c"));
        assert_eq!(arrivals.take(1), None);
    }

    #[test]
    fn files_of_an_opening_that_never_ran_are_dropped() {
        let mut arrivals = Arrivals::default();
        // Opening 1 was cancelled while it waited its turn.
        arrivals.push(1, "stale");
        arrivals.push(2, "fresh");
        assert_eq!(arrivals.take(2), Some("fresh"));
        assert_eq!(arrivals.take(2), None);
        assert_eq!(arrivals.take(1), None);
    }

    #[test]
    fn two_drops_sent_interleaved_each_get_their_own_files() {
        let mut arrivals = Arrivals::default();
        arrivals.push(3, "a1");
        arrivals.push(4, "b1");
        arrivals.push(3, "a2");
        arrivals.push(4, "b2");
        assert_eq!(arrivals.take(3), Some("a1"));
        assert_eq!(arrivals.take(3), Some("a2"));
        assert_eq!(arrivals.take(3), None);
        assert_eq!(arrivals.take(4), Some("b1"));
        assert_eq!(arrivals.take(4), Some("b2"));
    }
}
