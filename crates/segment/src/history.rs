//! Undo and redo by changes, not copies: each tool records the voxels it
//! changed as runs of consecutive voxels (start, length, old label, new
//! label), a few megabytes for a threshold of a whole spine where a copy
//! of the labelmap would be the volume's size again.

use crate::Labelmap;

/// Consecutive voxels that went from one label to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: u32,
    len: u32,
    old: u8,
    new: u8,
}

/// What one tool did to a labelmap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    runs: Vec<Run>,
}

impl Change {
    /// Sets voxel `index` of `map` to `new`, recording what it was.
    pub(crate) fn set(&mut self, map: &mut Labelmap, index: usize, new: u8) {
        let labels = map.labels_mut();
        let old = labels[index];
        if old == new {
            return;
        }
        labels[index] = new;
        let index = index as u32;
        if let Some(last) = self.runs.last_mut()
            && last.start + last.len == index
            && last.old == old
            && last.new == new
        {
            last.len += 1;
            return;
        }
        self.runs.push(Run {
            start: index,
            len: 1,
            old,
            new,
        });
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Voxels changed.
    pub fn voxels(&self) -> usize {
        self.runs.iter().map(|r| r.len as usize).sum()
    }

    /// Bytes this record takes.
    pub fn bytes(&self) -> usize {
        self.runs.len() * std::mem::size_of::<Run>()
    }

    fn write(&self, map: &mut Labelmap, forward: bool) {
        let labels = map.labels_mut();
        for run in &self.runs {
            let value = if forward { run.new } else { run.old };
            labels[run.start as usize..(run.start + run.len) as usize].fill(value);
        }
    }
}

/// The steps that can be undone and redone.
#[derive(Debug, Clone, Default)]
pub struct History {
    undo: Vec<Change>,
    redo: Vec<Change>,
}

impl History {
    /// Steps kept at most.
    pub const MOST_STEPS: usize = 50;
    /// Bytes of changes kept at most (the oldest steps go first; the newest
    /// [`History::LEAST_STEPS`] stay whatever they cost).
    pub const MOST_BYTES: usize = 128 << 20;
    /// Steps always kept.
    pub const LEAST_STEPS: usize = 20;

    /// Records a step (nothing when it changed nothing); the redo list
    /// is forgotten, as in every editor.
    pub fn record(&mut self, change: Change) {
        if change.is_empty() {
            return;
        }
        self.redo.clear();
        self.undo.push(change);
        let mut bytes: usize = self.undo.iter().map(Change::bytes).sum();
        while self.undo.len() > Self::LEAST_STEPS
            && (self.undo.len() > Self::MOST_STEPS || bytes > Self::MOST_BYTES)
        {
            bytes -= self.undo.remove(0).bytes();
        }
    }

    /// Undoes the last step; false when there is none.
    pub fn undo(&mut self, map: &mut Labelmap) -> bool {
        let Some(change) = self.undo.pop() else {
            return false;
        };
        change.write(map, false);
        self.redo.push(change);
        true
    }

    /// Redoes the last undone step; false when there is none.
    pub fn redo(&mut self, map: &mut Labelmap) -> bool {
        let Some(change) = self.redo.pop() else {
            return false;
        };
        change.write(map, true);
        self.undo.push(change);
        true
    }

    /// Steps that can be undone.
    pub fn undo_steps(&self) -> usize {
        self.undo.len()
    }

    /// Steps that can be redone.
    pub fn redo_steps(&self) -> usize {
        self.redo.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_and_undo_restores_the_exact_labelmap() {
        let mut map = Labelmap::new([10, 10, 10]);
        let before = map.clone();
        let mut history = History::default();
        let mut change = Change::default();
        for n in 100..400 {
            change.set(&mut map, n, 3);
        }
        // Already 3: not recorded.
        change.set(&mut map, 150, 3);
        assert_eq!(change.runs.len(), 1, "one run of 300 voxels");
        assert_eq!(change.voxels(), 300);
        history.record(change);
        let after = map.clone();
        let mut second = Change::default();
        for n in (0..1000).step_by(7) {
            second.set(&mut map, n, 5);
        }
        history.record(second);
        assert!(history.undo(&mut map));
        assert_eq!(map, after);
        assert!(history.undo(&mut map));
        assert_eq!(map, before);
        assert!(!history.undo(&mut map));
        assert!(history.redo(&mut map) && history.redo(&mut map));
        assert_eq!(map.count(5), 143);
        assert!(!history.redo(&mut map));
    }

    #[test]
    fn at_least_twenty_steps_and_never_unbounded() {
        let mut map = Labelmap::new([64, 64, 64]);
        let mut history = History::default();
        for step in 0..80u32 {
            let mut change = Change::default();
            change.set(&mut map, step as usize, 1 + (step % 200) as u8);
            history.record(change);
        }
        assert_eq!(history.undo_steps(), History::MOST_STEPS);
        for _ in 0..History::LEAST_STEPS {
            assert!(history.undo(&mut map));
        }
        // A new step forgets what could be redone.
        let mut change = Change::default();
        change.set(&mut map, 5000, 9);
        history.record(change);
        assert_eq!(history.redo_steps(), 0);
    }
}
