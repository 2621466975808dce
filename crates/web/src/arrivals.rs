//! Files of an opening that come after its first message: the page sends a
//! large folder in messages of [`crate::protocol::FILES_PER_MESSAGE`], and
//! the worker takes them in as they arrive, while the `Open` request waits
//! its turn or runs. Each is tagged with its opening, so files of one that
//! was cancelled before it ran never join a later one. Pure, so the policy
//! is tested natively.

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

/// What [`Arrivals::take`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival<T> {
    /// The opening's next files.
    Here(T),
    /// None yet; more may come.
    NotYet,
    /// Files of a later opening came first: none will come for this one.
    Never,
}

impl<T> Arrivals<T> {
    /// Files of `opening`, in the order sent.
    pub fn push(&mut self, opening: u32, files: T) {
        self.waiting.push_back((opening, files));
    }

    /// The next files of `opening`; those of earlier openings, left by an
    /// `Open` that never ran, are dropped.
    pub fn take(&mut self, opening: u32) -> Arrival<T> {
        while let Some(&(front, _)) = self.waiting.front() {
            if front == opening {
                let (_, files) = self.waiting.pop_front().expect("looked at");
                return Arrival::Here(files);
            }
            if front > opening {
                return Arrival::Never;
            }
            self.waiting.pop_front();
        }
        Arrival::NotYet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opening_takes_its_own_files_in_order() {
        let mut arrivals = Arrivals::default();
        assert_eq!(arrivals.take(1), Arrival::NotYet);
        arrivals.push(1, "b");
        arrivals.push(1, "c");
        assert_eq!(arrivals.take(1), Arrival::Here("b"));
        assert_eq!(arrivals.take(1), Arrival::Here("c"));
        assert_eq!(arrivals.take(1), Arrival::NotYet);
    }

    #[test]
    fn files_of_an_opening_that_never_ran_are_dropped() {
        let mut arrivals = Arrivals::default();
        // Opening 1 was cancelled while it waited its turn.
        arrivals.push(1, "stale");
        arrivals.push(2, "fresh");
        assert_eq!(arrivals.take(2), Arrival::Here("fresh"));
        assert_eq!(arrivals.take(2), Arrival::NotYet);
        // An opening that finds a later one's files will get no more.
        arrivals.push(3, "later");
        assert_eq!(arrivals.take(2), Arrival::Never);
        assert_eq!(arrivals.take(3), Arrival::Here("later"));
    }
}
