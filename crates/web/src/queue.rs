//! The worker's queue: requests run one at a time, in order, except that a
//! run of redraws (or of cursor readouts) collapses to its newest, since
//! the UI asks faster than a large volume redraws. Pure, so the policy is
//! tested natively.

use std::collections::VecDeque;
use std::mem::discriminant;

use crate::protocol::Request;

/// Requests waiting their turn, each with what came beside it.
#[derive(Debug)]
pub struct Queue<T> {
    waiting: VecDeque<(Request, T)>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Self {
            waiting: VecDeque::new(),
        }
    }
}

impl<T> Queue<T> {
    /// Adds a request at the back.
    pub fn push(&mut self, request: Request, extra: T) {
        self.waiting.push_back((request, extra));
    }

    /// Whether no request waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Drops the waiting requests a `Cancel` stops (one still waiting
    /// would clear the cancel as it starts); how many went.
    pub fn drop_cancellable(&mut self) -> usize {
        let before = self.waiting.len();
        self.waiting
            .retain(|(request, _)| !request.is_cancellable());
        before - self.waiting.len()
    }

    /// The next request when it is a redraw or a readout (collapsed as
    /// [`Queue::take_next`] does): what a long task serves between its
    /// steps, nothing reordered.
    pub fn take_next_view(&mut self) -> Option<(Request, T)> {
        if self.waiting.front()?.0.supersedes_its_kind() {
            self.take_next()
        } else {
            None
        }
    }

    /// The next request, unless it replaces the study (left waiting): what
    /// runs beside the open study serves the others as they come.
    pub fn take_next_beside_the_study(&mut self) -> Option<(Request, T)> {
        if self.study_replaced_next() {
            None
        } else {
            self.take_next()
        }
    }

    /// Whether the next request replaces the study.
    pub fn study_replaced_next(&self) -> bool {
        self.waiting
            .front()
            .is_some_and(|(request, _)| request.replaces_the_study())
    }

    /// The next request to run: the front one, or the newest of a run of
    /// superseding requests of its kind at the front (the others dropped).
    pub fn take_next(&mut self) -> Option<(Request, T)> {
        let mut next = self.waiting.pop_front()?;
        while next.0.supersedes_its_kind()
            && self
                .waiting
                .front()
                .is_some_and(|(r, _)| discriminant(r) == discriminant(&next.0))
        {
            next = self.waiting.pop_front().expect("checked");
        }
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insitu_volume::reslice::ViewAxis;

    fn probe(x: f64) -> Request {
        Request::Probe {
            axis: ViewAxis::Axial,
            world: [x, 0.0, 0.0],
        }
    }

    #[test]
    fn between_steps_only_the_redraws_and_readouts_in_front_are_taken() {
        let mut queue = Queue::default();
        queue.push(probe(1.0), 1);
        queue.push(probe(2.0), 2);
        queue.push(Request::LoadSeries { index: 1 }, 3);
        queue.push(probe(3.0), 4);
        assert!(matches!(
            queue.take_next_view(),
            Some((Request::Probe { .. }, 2))
        ));
        assert!(queue.take_next_view().is_none(), "a load is in front");
        assert!(matches!(
            queue.take_next(),
            Some((Request::LoadSeries { .. }, 3))
        ));
        assert!(matches!(
            queue.take_next_view(),
            Some((Request::Probe { .. }, 4))
        ));
    }

    #[test]
    fn beside_the_study_every_request_is_served_until_one_replaces_it() {
        let mut queue = Queue::default();
        queue.push(probe(1.0), 1);
        queue.push(Request::SegmentSurfaces, 2);
        queue.push(
            Request::OpenCached {
                key: "k".into(),
                clicked_at_ms: None,
            },
            3,
        );
        queue.push(probe(2.0), 4);
        assert!(!queue.study_replaced_next());
        assert!(matches!(queue.take_next_beside_the_study(), Some((_, 1))));
        assert!(matches!(
            queue.take_next_beside_the_study(),
            Some((Request::SegmentSurfaces, 2))
        ));
        assert!(queue.study_replaced_next());
        assert!(queue.take_next_beside_the_study().is_none());
        assert!(matches!(
            queue.take_next(),
            Some((Request::OpenCached { .. }, 3))
        ));
    }

    #[test]
    fn a_cancel_drops_the_loads_still_waiting_and_nothing_else() {
        let mut queue = Queue::default();
        queue.push(
            Request::Open {
                chosen_at_ms: None,
                opening: 0,
                files_in_all: None,
            },
            1,
        );
        queue.push(probe(1.0), 2);
        queue.push(Request::LoadSeries { index: 1 }, 3);
        assert_eq!(queue.drop_cancellable(), 2);
        assert!(matches!(
            queue.take_next(),
            Some((Request::Probe { .. }, 2))
        ));
        assert!(queue.is_empty());
        assert_eq!(queue.drop_cancellable(), 0);
    }

    #[test]
    fn runs_of_redraws_and_readouts_collapse_to_the_newest() {
        let mut queue = Queue::default();
        queue.push(
            Request::Render {
                views: vec![],
                overlay: Default::default(),
            },
            1,
        );
        queue.push(
            Request::Render {
                views: vec![],
                overlay: Default::default(),
            },
            2,
        );
        queue.push(probe(1.0), 3);
        queue.push(probe(2.0), 4);
        queue.push(
            Request::Render {
                views: vec![],
                overlay: Default::default(),
            },
            5,
        );
        queue.push(
            Request::Demo {
                variant: Default::default(),
            },
            6,
        );
        queue.push(
            Request::Demo {
                variant: Default::default(),
            },
            7,
        );
        let order: Vec<i32> = std::iter::from_fn(|| queue.take_next().map(|(_, n)| n)).collect();
        // Two redraws → the second; two probes → the second; a lone redraw;
        // loads never collapse.
        assert_eq!(order, [2, 4, 5, 6, 7]);
    }

    #[test]
    fn the_newest_readout_is_the_one_kept() {
        let mut queue = Queue::default();
        queue.push(probe(1.0), ());
        queue.push(probe(2.0), ());
        assert_eq!(queue.take_next().map(|(r, _)| r), Some(probe(2.0)));
        assert!(queue.take_next().is_none());
    }
}
